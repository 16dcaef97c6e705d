//! The words users read: `Finding::message` and the names the summary shares with it.
use std::fmt;

use super::{AuthType, ChangeKind, CloseKind, Doubt, Finding, Identity, InterfaceView, Rejection, Table};
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

/// A table's name for `n`, else `unknown` with the number.
fn named(name: Option<&str>, unknown: &str, n: impl fmt::Display) -> String {
    name.map_or_else(|| format!("{unknown} ({n})"), str::to_string)
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
    named(names::bind_nak_reason(r), "Unknown reason", r)
}

/// p_cont_def_result_t.
pub(crate) fn context_result_name(r: u16) -> String {
    named(names::context_result(r), "Unknown result", r)
}

/// p_provider_reason_t.
pub(crate) fn context_reason_name(r: u16) -> String {
    named(names::provider_reason(r), "Unknown reason", r)
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

/// The one wording of an auth type, in the tree, the summary and the expert texts.
impl fmt::Display for AuthType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthType::Ntlmssp => f.write_str("NTLMSSP"),
            AuthType::SpnegoNtlmssp => f.write_str("SPNEGO/NTLMSSP"),
            AuthType::Kerberos => f.write_str("Kerberos"),
            AuthType::Netlogon => f.write_str("Netlogon"),
            AuthType::Other(n) => match names::auth_type_name(*n) {
                Some(name) => f.write_str(name),
                None => write!(f, "auth_type {n}"),
            },
        }
    }
}

/// MS-RPCE 2.2.1.1.8 authentication levels.
pub(crate) fn auth_level_name(l: u8) -> String {
    named(names::auth_level_name(l), "Unknown level", l)
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

/// ` (auth ctx N, IRemUnknown2)` for a security context and the interface it was negotiated with.
fn context_text(auth_context_id: u32, interface: &Option<InterfaceView>) -> String {
    let iface = interface.map(|i| format!(", {}", interface_label(&i.uuid))).unwrap_or_default();
    format!("auth ctx {auth_context_id}{iface}")
}

/// The identity a departed call ran under, as a fault message names it.
fn departed_identity(kind: ChangeKind, identity: &Option<Identity>) -> String {
    let Some(who) = identity else {
        // Kerberos and other mechanisms whose client name the wire does not carry.
        return "an identity not on the wire, possibly changed".to_string();
    };
    match kind {
        ChangeKind::Changed => format!("changed identity {who}"),
        ChangeKind::Possible => format!("possibly changed identity {who}"),
        ChangeKind::Pair => format!("{who}, new on this host pair"),
    }
}

/// What a departure is called in an abort message, and what qualifies it.
fn departure_words(kind: ChangeKind) -> (&'static str, &'static str) {
    match kind {
        ChangeKind::Changed => ("the identity change", ""),
        ChangeKind::Possible => ("the possible identity change", " (identity not verified)"),
        ChangeKind::Pair => ("the identity new on this host pair", ""),
    }
}

fn doubt_text(identity: &Option<Identity>, ctx: &str, doubt: &Doubt) -> String {
    let who = identity.as_ref().map(|i| format!("{i} ({ctx})")).unwrap_or_else(|| ctx.to_string());
    match doubt {
        Doubt::CaptureStartedLate { earlier_ctx: Some(earlier), earlier_frame } => format!(
            "{who} authenticated while auth ctx {earlier}, in use since frame {earlier_frame}, ran under an identity \
             the capture did not see (it starts mid-association)"
        ),
        Doubt::CaptureStartedLate { earlier_ctx: None, earlier_frame } => format!(
            "{who} authenticated after calls from frame {earlier_frame} on contexts bound before the capture \
             started, under an identity it did not see"
        ),
        Doubt::NotVisible { auth_type, baseline, baseline_frame } => format!(
            "{who} uses {}, whose client name is not on the wire, beside {baseline} (frame {baseline_frame})",
            auth_type
        ),
        Doubt::AfterHidden { auth_type, hidden_ctx, hidden_frame } => format!(
            "{who} authenticated after auth ctx {hidden_ctx} ({}, frame {hidden_frame}), whose client name is \
             not on the wire",
            auth_type
        ),
        Doubt::Spelling { baseline, baseline_frame } => format!(
            "{who} may or may not be the account of {baseline} (frame {baseline_frame}): the spellings cannot be \
             matched"
        ),
    }
}

/// What a capped table does once full, and how to raise the cap where a preference can.
fn limit_text(table: Table, cap: usize) -> String {
    match table {
        Table::Associations => format!(
            "more than {cap} associations; the oldest (closed first) are forgotten (preference dcomauth.max_associations)"
        ),
        Table::HostPairs => format!("more than {cap} client/server host pairs; the oldest pair's history is forgotten"),
        Table::Calls => format!(
            "more than {cap} calls in one association; the oldest are forgotten and their answers no longer matched \
             (preference dcomauth.max_calls)"
        ),
        Table::SecurityContexts => {
            format!("more than {cap} security contexts in one association; later ones are not tracked")
        }
        Table::PresentationContexts => {
            format!("more than {cap} presentation contexts in one association; later ones are not tracked")
        }
        Table::ListedFaults => format!("more than {cap} faults in one association; the rest are counted, not listed"),
        Table::ListedIdentities => {
            format!("more than {cap} authentications or changes in one association; the rest are counted, not listed")
        }
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
            } => format!(
                "Identity changed inside the association: {identity} ({}) after {baseline} (frame {baseline_frame}); \
                 security context multiplexing {}negotiated",
                context_text(*auth_context_id, interface),
                if *multiplexing { "" } else { "not " }
            ),
            Finding::PossibleIdentityChange { identity, auth_context_id, interface, doubt } => format!(
                "Possible identity change: {} (identity not verified)",
                doubt_text(identity, &context_text(*auth_context_id, interface), doubt)
            ),
            Finding::PairIdentityChange { identity, earlier, earlier_frame, earlier_stream } => format!(
                "Identity differs from this client's earlier association with the server: {identity} here, \
                 {earlier} in TCP stream {earlier_stream} (frame {earlier_frame})"
            ),
            Finding::FaultAfterChange {
                kind,
                identity,
                rejection,
                interface,
                opnum,
                requested_iids,
                call_frame,
                ..
            } => {
                let target = call_target(interface.as_ref(), *opnum, requested_iids)
                    .map(|t| format!(" to {t}"))
                    .unwrap_or_default();
                let caller = match rejection {
                    Rejection::Fault(code) => format!("; caller sees 0x{:08X}", names::hresult(*code)),
                    _ => String::new(),
                };
                format!(
                    "Fault under {}: {}{target} in frame {call_frame}{caller}{}",
                    departed_identity(*kind, identity),
                    rejection_text(rejection),
                    departure_words(*kind).1
                )
            }
            Finding::AbortAfterChange { kind, close, since_change_ns, change_frame, last_fault_frame } => {
                let fault =
                    last_fault_frame.map_or_else(|| "no fault seen".to_string(), |f| format!("last fault frame {f}"));
                let (what, qualifier) = departure_words(*kind);
                format!(
                    "Server closed the association ({close}) {} ms after {what} (frame {change_frame}); \
                     {fault}; client will see RPC_S_CALL_FAILED (0x800706BE) or RPC_S_CALL_FAILED_DNE (0x800706BF)\
                     {qualifier}",
                    fmt_ms(*since_change_ns)
                )
            }
            Finding::AbortAfterFault { close, last_fault_frame, status, partial_baseline } => format!(
                "Server closed the association ({close}) after a fault with no identity change seen{}: {} in frame \
                 {last_fault_frame}",
                if *partial_baseline { " (the capture starts mid-association)" } else { "" },
                status_text(*status)
            ),
            Finding::StateLimit { table, cap } => format!("State limit reached: {}", limit_text(*table, *cap)),
            Finding::ManagedObjectQi { identity } => format!(
                "RemQueryInterface for IManagedObject under changed identity {identity}: the known .NET before 4.0 \
                 pattern (QI issued without the caller's security blanket; KB967622, KB974893)"
            ),
        }
    }
}
