//! Tables users read instead of numbers: interface UUIDs, RPC/NCA status codes, HRESULTs.
//!
//! CONTRACT (filled in by the parser work).
use crate::proto::dcerpc::Uuid;

/// Name of a well-known DCE/RPC or DCOM interface (ISystemActivator, IRemUnknown2, IWbemServices …).
pub fn interface_name(_uuid: &Uuid) -> Option<&'static str> {
    unimplemented!("contract")
}

/// A fault/status code as users know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// e.g. "nca_s_fault_access_denied", "RPC_S_SEC_PKG_ERROR".
    pub name: &'static str,
    /// The HRESULT a COM client sees for it, e.g. 0x80070721 for 0x721.
    pub hresult: u32,
}

pub fn status(_code: u32) -> Option<Status> {
    unimplemented!("contract")
}
