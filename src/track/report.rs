//! The words users read: `Finding::message` and the names the summary shares with it.
use std::fmt;

use super::{AuthType, CloseKind, Finding, InterfaceView, Rejection};
use crate::names;
use crate::proto::dcerpc::SyntaxId;
use crate::proto::dcom;
use crate::uuid::Uuid;

/// Canonical lower-case text form of a UUID.
pub(crate) fn fmt_uuid(u: &Uuid) -> String {
    u.to_string()
}

/// An interface or IID as users know it: its name, else its UUID.
pub(crate) fn interface_label(u: &Uuid) -> String {
    names::interface_name(u).map_or_else(|| fmt_uuid(u), str::to_string)
}

pub(crate) fn transfer_syntax_name(t: &SyntaxId) -> String {
    names::transfer_syntax_name(&t.uuid).map_or_else(|| interface_label(&t.uuid), str::to_string)
}

/// A table name, with the number appended when the table does not know it.
fn named(name: &str, n: impl fmt::Display) -> String {
    if name.starts_with("Unknown") {
        format!("{name} ({n})")
    } else {
        name.to_string()
    }
}

/// `NAME (0x0000XXXX)`, or `unknown status (0x…)`.
pub(crate) fn status_text(code: u32) -> String {
    match names::status(code) {
        Some(s) => format!("{} (0x{code:08X})", s.name),
        None => format!("unknown status (0x{code:08X})"),
    }
}

/// bind_nak reject reason (C706 12.6.3.1, MS-RPCE 2.2.2.5), as Wireshark words it.
pub(crate) fn bind_nak_reason_name(r: u16) -> String {
    named(names::bind_nak_reason(r), r)
}

/// p_cont_def_result_t.
pub(crate) fn context_result_name(r: u16) -> String {
    named(names::context_result(r), r)
}

/// p_provider_reason_t.
pub(crate) fn context_reason_name(r: u16) -> String {
    named(names::provider_reason(r), r)
}

/// The status part of a fault-after-change message.
pub(crate) fn rejection_text(r: &Rejection) -> String {
    match *r {
        Rejection::Fault(code) => status_text(code),
        Rejection::BindNak(reason) => format!("bind_nak: {}", bind_nak_reason_name(reason)),
        Rejection::ContextRejected(result, reason) => {
            format!("context rejected: {}, {}", context_result_name(result), context_reason_name(reason))
        }
    }
}

/// `IRemUnknown2::RemQueryInterface(IManagedObject)`, `IRemUnknown2`, `opnum 3`, or None.
pub(crate) fn call_target(iface: Option<&InterfaceView>, opnum: Option<u16>, iids: &[Uuid]) -> Option<String> {
    let mut s = match (iface, opnum) {
        (Some(i), Some(op)) => {
            let method = dcom::method_name(&i.uuid, op).map_or_else(|| format!("opnum {op}"), str::to_string);
            format!("{}::{method}", interface_label(&i.uuid))
        }
        (Some(i), None) => interface_label(&i.uuid),
        (None, Some(op)) => format!("opnum {op}"),
        (None, None) => return None,
    };
    if !iids.is_empty() {
        let list: Vec<String> = iids.iter().map(interface_label).collect();
        s.push('(');
        s.push_str(&list.join(", "));
        s.push(')');
    }
    Some(s)
}

pub(crate) fn auth_type_name(t: AuthType) -> String {
    match t {
        AuthType::Ntlmssp => "NTLMSSP".into(),
        AuthType::SpnegoNtlmssp => "SPNEGO/NTLMSSP".into(),
        AuthType::Kerberos => "Kerberos".into(),
        AuthType::Netlogon => "Netlogon".into(),
        AuthType::Other(9) => "SPNEGO".into(),
        AuthType::Other(n) => format!("auth_type {n}"),
    }
}

/// MS-RPCE 2.2.1.1.8 authentication levels.
pub(crate) fn auth_level_name(l: u8) -> String {
    named(names::auth_level_name(l), l)
}

/// Milliseconds with one decimal, rounded half away from zero.
pub(crate) fn fmt_ms(ns: i64) -> String {
    let tenths = (ns.unsigned_abs() + 50_000) / 100_000;
    let sign = if ns < 0 && tenths > 0 { "-" } else { "" };
    format!("{sign}{}.{}", tenths / 10, tenths % 10)
}

impl fmt::Display for CloseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CloseKind::Fin => "FIN",
            CloseKind::Rst => "RST",
        })
    }
}

impl Finding {
    /// The sentence Expert Information shows for this finding.
    pub fn message(&self) -> String {
        match self {
            Finding::IdentityChange {
                identity,
                baseline,
                baseline_frame,
                auth_context_id,
                interface,
                multiplexing,
            } => {
                let iface = interface.map(|i| format!(", {}", interface_label(&i.uuid))).unwrap_or_default();
                format!(
                    "Identity changed inside the association: {identity} (auth ctx {auth_context_id}{iface}) after \
                     {baseline} (frame {baseline_frame}); security context multiplexing {}negotiated",
                    if *multiplexing { "" } else { "not " }
                )
            }
            Finding::FaultAfterChange { identity, rejection, interface, opnum, requested_iids, call_frame, .. } => {
                let target = call_target(interface.as_ref(), *opnum, requested_iids)
                    .map(|t| format!(" to {t}"))
                    .unwrap_or_default();
                let caller = match rejection {
                    Rejection::Fault(code) => format!("; caller sees 0x{:08X}", names::hresult(*code)),
                    _ => String::new(),
                };
                format!(
                    "Fault under changed identity {identity}: {}{target} in frame {call_frame}{caller}",
                    rejection_text(rejection)
                )
            }
            Finding::AbortAfterChange { kind, since_change_ns, change_frame, last_fault_frame } => {
                let fault =
                    last_fault_frame.map_or_else(|| "no fault seen".to_string(), |f| format!("last fault frame {f}"));
                format!(
                    "Server closed the association ({kind}) {} ms after the identity change (frame {change_frame}); \
                     {fault}; client will see RPC_S_CALL_FAILED (0x800706BE) or RPC_S_CALL_FAILED_DNE (0x800706BF)",
                    fmt_ms(*since_change_ns)
                )
            }
            Finding::AbortAfterFault { kind, last_fault_frame, status, partial_baseline } => format!(
                "Server closed the association ({kind}) after a fault with no identity change seen{}: {} in frame \
                 {last_fault_frame}",
                if *partial_baseline { " (the capture starts mid-association)" } else { "" },
                status_text(*status)
            ),
            Finding::ManagedObjectQi { identity } => format!(
                "RemQueryInterface for IManagedObject under changed identity {identity}: the known .NET before 4.0 \
                 pattern (QI issued without the caller's security blanket; KB967622, KB974893)"
            ),
        }
    }
}
