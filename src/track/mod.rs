//! The identity tracker: turns parsed DCE/RPC PDUs and TCP closes into per-frame verdicts.
//!
//! `epan` feeds frames in first-pass order and stores the returned `FrameVerdict`; it never calls
//! back into the tracker for a frame it has seen.
use std::net::IpAddr;

use crate::proto::dcerpc::PacketType;
use crate::uuid::Uuid;

mod association;
mod config;
mod expert_text;
mod finding;
mod identity;
mod json;
mod pairs;
mod summary;
mod tracker;

#[cfg(test)]
mod tests;

pub use config::{Config, DEFAULT_ABORT_WINDOW_MS};
pub use finding::{ChangeKind, Doubt, Expert, Finding, Rejection, Table};
pub use identity::{Comparison, Identity, Match};
pub use summary::{
    AssociationSummary, BindState, CloseSummary, FaultDetail, FaultSummary, FindingRecord, IdentityChangeSummary,
    IdentitySummary, InterfaceSummary, Side, TableRow, MAX_FINDINGS,
};
pub use tracker::Tracker;

/// (call_id, opnum) of a request that makes a debug build panic inside the tracker: how the tests
/// prove a panic never crosses the C ABI. Release builds have no such request.
#[cfg(debug_assertions)]
pub const PANIC_TRIGGER: (u32, u16) = (0xdcdc_dcdc, 0x0fff);

/// One side of a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    pub addr: IpAddr,
    pub port: u16,
}

/// What `epan` knows about the frame a PDU or close came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameCtx {
    pub frame: u32,
    /// Absolute capture time in nanoseconds.
    pub time_ns: i64,
    /// Wireshark's `tcp.stream`: one association.
    pub stream: u32,
    pub src: Endpoint,
    pub dst: Endpoint,
}

/// How a TCP connection was torn down by one side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseKind {
    Fin,
    Rst,
}

/// The `auth_type` of a security context, as far as the plugin cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthType {
    Ntlmssp,
    /// SPNEGO that carried NTLMSSP.
    SpnegoNtlmssp,
    /// SPNEGO that carried Kerberos, or raw Kerberos (auth_type 16).
    Kerberos,
    Netlogon,
    Other(u8),
}

/// The security context a PDU runs under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityView {
    pub auth_context_id: u32,
    pub auth_type: AuthType,
    pub auth_level: u8,
    /// Frame whose AUTHENTICATE (or Kerberos token) established this context; None when not seen.
    pub established_frame: Option<u32>,
}

/// The presentation context (interface) a PDU belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterfaceView {
    pub ctx_id: u16,
    pub uuid: Uuid,
    pub version: u16,
    pub version_minor: u16,
}

/// Earlier associations between the same client and server hosts (ports ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PairHistory {
    pub earlier: u32,
    pub with_change: u32,
    pub with_abort: u32,
    /// Last frame of the most recent earlier association that saw a change (its change or abort frame).
    pub last_change_frame: Option<u32>,
}

/// What the tree shows for one DCE/RPC PDU of an association.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PduView {
    pub ptype: PacketType,
    pub call_id: u32,
    pub opnum: Option<u16>,
    /// Identity the PDU runs under (None: unauthenticated, Kerberos, or not yet known).
    pub identity: Option<Identity>,
    pub security: Option<SecurityView>,
    /// The association's first authenticated identity and where it was established.
    pub baseline: Option<Identity>,
    pub baseline_frame: Option<u32>,
    /// True when the capture started mid-association (no bind seen): the baseline may not be the first.
    pub baseline_partial: bool,
    /// How the PDU's identity departs from the baseline, when it does.
    pub change: Option<ChangeKind>,
    pub interface: Option<InterfaceView>,
    pub history: PairHistory,
}

impl PduView {
    /// The identity is known to differ from the baseline.
    pub fn changed(&self) -> bool {
        self.change == Some(ChangeKind::Changed)
    }
}

/// Everything the plugin shows for one frame; stored on the first pass and replayed afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FrameVerdict {
    pub stream: Option<u32>,
    pub pdus: Vec<PduView>,
    pub findings: Vec<Finding>,
}

impl FrameVerdict {
    pub fn is_empty(&self) -> bool {
        self.pdus.is_empty() && self.findings.is_empty()
    }
}
