//! The protocol's fields, subtrees and expert infos. Their ids are written by epan at registration
//! and live for the whole process, as epan keeps pointers to them.
use std::os::raw::{c_char, c_int};
use std::ptr::{addr_of_mut, null, null_mut};

use wireshark_sys as ws;
use ws::ftenum;

/// Every field the tree shows; the discriminant indexes `HF`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hf {
    Stream,
    Pdu,
    Ptype,
    Identity,
    IdentityUnknown,
    IdentityChanged,
    IdentityFrame,
    Baseline,
    BaselineFrame,
    BaselinePartial,
    Security,
    AuthContextId,
    AuthType,
    AuthLevel,
    Interface,
    InterfaceUuid,
    CtxId,
    CallId,
    Opnum,
    History,
    HistoryEarlier,
    HistoryWithChange,
    HistoryWithAbort,
    HistoryFrame,
    ChangeFrame,
    FaultFrame,
    CallFrame,
    Status,
    Hresult,
    SinceChangeMs,
}

const HF_COUNT: usize = Hf::SinceChangeMs as usize + 1;

struct FieldSpec {
    hf: Hf,
    name: &'static std::ffi::CStr,
    abbrev: &'static std::ffi::CStr,
    kind: ftenum,
    display: c_int,
    blurb: &'static std::ffi::CStr,
}

const NONE: c_int = ws::field_display_e_BASE_NONE as c_int;
const DEC: c_int = ws::field_display_e_BASE_DEC as c_int;
const HEX: c_int = ws::field_display_e_BASE_HEX as c_int;

macro_rules! field {
    ($hf:ident, $name:literal, $abbrev:literal, $kind:ident, $display:expr, $blurb:literal) => {
        FieldSpec { hf: Hf::$hf, name: $name, abbrev: $abbrev, kind: ftenum::$kind, display: $display, blurb: $blurb }
    };
}

#[rustfmt::skip]
const FIELDS: [FieldSpec; HF_COUNT] = [
    field!(Stream, c"TCP stream", c"dcomauth.stream", FT_UINT32, DEC, c"tcp.stream of the association"),
    field!(Pdu, c"DCE/RPC PDU", c"dcomauth.pdu", FT_STRING, NONE, c"One DCE/RPC PDU of this frame"),
    field!(Ptype, c"PDU type", c"dcomauth.ptype", FT_UINT8, DEC, c"DCE/RPC packet type of the PDU (as dcerpc.pkt_type)"),
    field!(Identity, c"Identity", c"dcomauth.identity", FT_STRING, NONE, c"NTLMSSP identity (DOMAIN\\user) this PDU runs under"),
    field!(IdentityUnknown, c"Identity not visible", c"dcomauth.identity.unknown", FT_STRING, NONE, c"Why this PDU shows no NTLMSSP identity"),
    field!(IdentityChanged, c"Identity differs from baseline", c"dcomauth.identity.changed", FT_BOOLEAN, NONE, c"The identity is not the association's first"),
    field!(IdentityFrame, c"Identity established in", c"dcomauth.identity.frame", FT_FRAMENUM, NONE, c"Frame of the AUTHENTICATE that established this identity"),
    field!(Baseline, c"Baseline identity", c"dcomauth.baseline", FT_STRING, NONE, c"The association's first authenticated identity"),
    field!(BaselineFrame, c"Baseline established in", c"dcomauth.baseline.frame", FT_FRAMENUM, NONE, c"Frame of the baseline AUTHENTICATE"),
    field!(BaselinePartial, c"Baseline is partial", c"dcomauth.baseline.partial", FT_BOOLEAN, NONE, c"The capture started mid-association; an earlier identity may exist"),
    field!(Security, c"Security context", c"dcomauth.security", FT_STRING, NONE, c"auth_context_id, package and level"),
    field!(AuthContextId, c"auth_context_id", c"dcomauth.auth_context_id", FT_UINT32, DEC, c"Security context of this PDU"),
    field!(AuthType, c"Authentication package", c"dcomauth.auth_type", FT_STRING, NONE, c"NTLMSSP, SPNEGO, Kerberos …"),
    field!(AuthLevel, c"Authentication level", c"dcomauth.auth_level", FT_STRING, NONE, c"connect, packet integrity, packet privacy …"),
    field!(Interface, c"Interface", c"dcomauth.interface", FT_STRING, NONE, c"Interface of the presentation context"),
    field!(InterfaceUuid, c"Interface UUID", c"dcomauth.interface.uuid", FT_STRING, NONE, c"Abstract syntax UUID"),
    field!(CtxId, c"Presentation context", c"dcomauth.ctx_id", FT_UINT16, DEC, c"p_cont_id"),
    field!(CallId, c"Call ID", c"dcomauth.call_id", FT_UINT32, DEC, c"call_id of the PDU"),
    field!(Opnum, c"Opnum", c"dcomauth.opnum", FT_UINT16, DEC, c"Operation number of the call"),
    field!(History, c"Earlier associations", c"dcomauth.history", FT_STRING, NONE, c"Earlier associations between the same client and server"),
    field!(HistoryEarlier, c"Earlier associations of this pair", c"dcomauth.history.earlier", FT_UINT32, DEC, c""),
    field!(HistoryWithChange, c"Earlier associations with an identity change", c"dcomauth.history.with_change", FT_UINT32, DEC, c""),
    field!(HistoryWithAbort, c"Earlier associations with a server abort", c"dcomauth.history.with_abort", FT_UINT32, DEC, c""),
    field!(HistoryFrame, c"Last earlier change", c"dcomauth.history.frame", FT_FRAMENUM, NONE, c"Most recent earlier association's change or abort"),
    field!(ChangeFrame, c"Identity change in", c"dcomauth.change.frame", FT_FRAMENUM, NONE, c"Frame of the identity change"),
    field!(FaultFrame, c"Last fault in", c"dcomauth.fault.frame", FT_FRAMENUM, NONE, c"Frame of the last fault before the close"),
    field!(CallFrame, c"Request in", c"dcomauth.call.frame", FT_FRAMENUM, NONE, c"Frame of the request this fault answers"),
    field!(Status, c"Status", c"dcomauth.status", FT_UINT32, HEX, c"Fault status"),
    field!(Hresult, c"Client HRESULT", c"dcomauth.hresult", FT_UINT32, HEX, c"HRESULT the COM client sees"),
    field!(SinceChangeMs, c"Time since change (ms)", c"dcomauth.since_change_ms", FT_DOUBLE, NONE, c"Milliseconds from the identity change to the close"),
];

/// Expert infos: the tracker's `Expert` indexes them; names users filter on are stable.
pub use crate::track::Expert as Ei;

const EI_COUNT: usize = Ei::StateLimit as usize + 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ett {
    Main,
    Pdu,
    History,
}

const ETT_COUNT: usize = Ett::History as usize + 1;

static mut HF: [c_int; HF_COUNT] = [-1; HF_COUNT];
static mut ETT: [c_int; ETT_COUNT] = [-1; ETT_COUNT];
static mut EI: [ws::expert_field; EI_COUNT] = [ws::expert_field { ei: 0, hf: -1 }; EI_COUNT];
static mut PROTO: c_int = -1;

pub fn hf(f: Hf) -> c_int {
    // SAFETY: written once during registration on the main thread before any dissection.
    unsafe { HF[f as usize] }
}

pub fn ett(e: Ett) -> c_int {
    // SAFETY: as for `hf`.
    unsafe { ETT[e as usize] }
}

pub fn ei(e: Ei) -> *mut ws::expert_field {
    // SAFETY: a pointer into a static epan also holds; never turned into a Rust reference.
    unsafe { addr_of_mut!(EI[e as usize]) }
}

pub fn proto() -> c_int {
    // SAFETY: as for `hf`.
    unsafe { PROTO }
}

fn header(
    name: *const c_char,
    abbrev: *const c_char,
    kind: ftenum,
    display: c_int,
    blurb: *const c_char,
) -> ws::header_field_info {
    ws::header_field_info {
        name,
        abbrev,
        type_: kind,
        display,
        strings: null(),
        bitmask: 0,
        blurb,
        // HFILL
        id: -1,
        parent: 0,
        ref_type: ws::hf_ref_type_HF_REF_TYPE_NONE,
        same_name_prev_id: -1,
        same_name_next: null_mut(),
    }
}

/// Registers the protocol, its fields, subtrees and expert infos. Called once by epan.
pub fn register() -> c_int {
    // SAFETY: epan calls protocol registration once, single-threaded; the arrays handed over are
    // leaked (epan keeps pointers into them for the life of the process).
    unsafe {
        PROTO = ws::proto_register_protocol(
            c"DCOM Authentication Tracker".as_ptr(),
            c"DCOMAUTH".as_ptr(),
            c"dcomauth".as_ptr(),
        );

        let hfs: Vec<ws::hf_register_info> = FIELDS
            .iter()
            .map(|f| ws::hf_register_info {
                p_id: addr_of_mut!(HF[f.hf as usize]),
                hfinfo: header(f.name.as_ptr(), f.abbrev.as_ptr(), f.kind, f.display, f.blurb.as_ptr()),
            })
            .collect();
        let hfs = Box::leak(hfs.into_boxed_slice());
        ws::proto_register_field_array(PROTO, hfs.as_mut_ptr(), hfs.len() as c_int);

        let etts: Vec<*mut c_int> = (0..ETT_COUNT).map(|i| addr_of_mut!(ETT[i])).collect();
        let etts = Box::leak(etts.into_boxed_slice());
        ws::proto_register_subtree_array(etts.as_ptr(), etts.len() as c_int);

        let eis = [
            (
                Ei::IdentityChange,
                Ei::IdentityChange.name(),
                ws::PI_SECURITY,
                ws::PI_WARN,
                c"NTLMSSP identity changed inside the association",
            ),
            (
                Ei::FaultAfterChange,
                Ei::FaultAfterChange.name(),
                ws::PI_SECURITY,
                ws::PI_WARN,
                c"Fault answering a call made under a changed identity",
            ),
            (
                Ei::AbortAfterChange,
                Ei::AbortAfterChange.name(),
                ws::PI_SEQUENCE,
                ws::PI_ERROR,
                c"Server closed the association after an identity change",
            ),
            (
                Ei::AbortAfterFault,
                Ei::AbortAfterFault.name(),
                ws::PI_SEQUENCE,
                ws::PI_NOTE,
                c"Server closed the association after a fault",
            ),
            (
                Ei::ManagedObjectQi,
                Ei::ManagedObjectQi.name(),
                ws::PI_SECURITY,
                ws::PI_NOTE,
                c"RemQueryInterface for IManagedObject under a changed identity",
            ),
            (
                Ei::PossibleIdentityChange,
                Ei::PossibleIdentityChange.name(),
                ws::PI_SECURITY,
                ws::PI_NOTE,
                c"The identity may have changed; the wire cannot tell",
            ),
            (
                Ei::PairIdentityChange,
                Ei::PairIdentityChange.name(),
                ws::PI_SECURITY,
                ws::PI_NOTE,
                c"Identity differs from the same client's earlier association with the server",
            ),
            (
                Ei::StateLimit,
                Ei::StateLimit.name(),
                ws::PI_PROTOCOL,
                ws::PI_NOTE,
                c"A table of the tracker reached its cap",
            ),
        ];
        let infos: Vec<ws::ei_register_info> = eis
            .iter()
            .map(|(e, name, group, severity, summary)| ws::ei_register_info {
                ids: addr_of_mut!(EI[*e as usize]),
                eiinfo: ws::expert_field_info {
                    name: name.as_ptr(),
                    group: *group as c_int,
                    severity: *severity as c_int,
                    summary: summary.as_ptr(),
                    // EXPFILL
                    id: 0,
                    protocol: null(),
                    orig_severity: 0,
                    hf_info: ws::hf_register_info {
                        p_id: null_mut(),
                        hfinfo: header(null(), null(), ftenum::FT_NONE, NONE, null()),
                    },
                },
            })
            .collect();
        let infos = Box::leak(infos.into_boxed_slice());
        let module = ws::expert_register_protocol(PROTO);
        ws::expert_register_field_array(module, infos.as_mut_ptr(), infos.len() as c_int);
        PROTO
    }
}
