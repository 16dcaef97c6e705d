//! Tables users read instead of numbers: interface UUIDs, RPC/NCA status codes, HRESULTs.
//!
//! `interfaces` holds the UUID constants (also used by `proto::dcom`), `status` the code tables.
use crate::uuid::Uuid;

pub mod interfaces;
mod status;

pub use interfaces::transfer_syntax_name;

/// Name of a well-known DCE/RPC or DCOM interface (ISystemActivator, IRemUnknown2, IWbemServices …).
pub fn interface_name(uuid: &Uuid) -> Option<&'static str> {
    interfaces::interface_name(uuid)
}

/// A fault/status code as users know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// e.g. "nca_s_fault_access_denied", "nca_s_fault_sec_pkg_error".
    pub name: &'static str,
    /// The HRESULT a COM client sees for it, e.g. 0x80070721 for 0x721. For the few NCA codes
    /// MS-RPCE leaves unmapped, the client sees the code itself, and so does this field.
    pub hresult: u32,
}

/// Win32 errors (< 0x10000), NCA codes (0x1c0xxxxx) and HRESULTs (high bit set); None if unknown.
pub fn status(code: u32) -> Option<Status> {
    status::status(code)
}

/// The HRESULT a COM caller sees for an RPC status: the table's mapping, else a Win32 code becomes
/// a FACILITY_WIN32 HRESULT and anything else passes through.
pub fn hresult(code: u32) -> u32 {
    status(code).map_or_else(|| if code < 0x1_0000 { 0x8007_0000 | code } else { code }, |s| s.hresult)
}

/// bind_nak reject reason, e.g. 8 → "Authentication type not recognized".
pub fn bind_nak_reason(reason: u16) -> Option<&'static str> {
    status::bind_nak_reason(reason)
}

/// bind_ack/alter_context_resp result: acceptance, user/provider rejection, negotiate ACK.
pub fn context_result(result: u16) -> Option<&'static str> {
    status::context_result(result)
}

/// Why a provider rejected a presentation context (meaningful when the result is 1 or 2).
pub fn provider_reason(reason: u16) -> Option<&'static str> {
    status::provider_reason(reason)
}

/// sec_trailer auth_level, e.g. 6 → "Packet privacy".
pub fn auth_level_name(level: u8) -> Option<&'static str> {
    status::auth_level_name(level)
}

/// sec_trailer auth_type, e.g. 9 → "SPNEGO", 10 → "NTLMSSP".
pub fn auth_type_name(auth_type: u8) -> Option<&'static str> {
    status::auth_type_name(auth_type)
}
