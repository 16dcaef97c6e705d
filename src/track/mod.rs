//! The identity tracker: turns parsed DCE/RPC PDUs and TCP closes into per-frame verdicts.
//!
//! CONTRACT (filled in by the tracker work). `epan` feeds frames in first-pass order and stores the
//! returned `FrameVerdict`; it never calls back into the tracker for a frame it has seen.
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use crate::proto::dcerpc::PacketType;
use crate::uuid::Uuid;

mod association;
mod report;
mod summary;
mod tracker;

#[cfg(test)]
mod tests;

pub use summary::{
    AssociationSummary, BindState, CloseSummary, FaultSummary, IdentityChangeSummary, IdentitySummary,
    InterfaceSummary, Side, TableRow,
};
pub use tracker::Tracker;

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

/// An NTLMSSP identity, shown as `DOMAIN\user` (`\user` with an empty domain); an empty user is
/// the anonymous logon. Compared case-insensitively as the account it names: a UPN
/// (`alice@dom.example` with an empty domain) and a DNS domain name (`dom.example\alice`) compare
/// by their first domain label, so `DOM\alice` is the same account.
/// The names are shared, not copied: every PDU view of an association carries them.
#[derive(Debug, Clone)]
pub struct Identity {
    pub domain: Arc<str>,
    pub user: Arc<str>,
}

impl Identity {
    pub fn is_anonymous(&self) -> bool {
        self.user.is_empty()
    }

    /// (NetBIOS-style domain, user), lowercase: the form two spellings of one account share.
    fn account(&self) -> (String, String) {
        let (domain, user) = match self.user.rsplit_once('@') {
            Some((user, suffix)) if self.domain.is_empty() => (suffix, user),
            _ => (&*self.domain, &*self.user),
        };
        let domain = domain.split('.').next().unwrap_or_default();
        (domain.to_lowercase(), user.to_lowercase())
    }
}

impl PartialEq for Identity {
    fn eq(&self, other: &Self) -> bool {
        self.account() == other.account()
    }
}
impl Eq for Identity {}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_anonymous() {
            return f.write_str("NT AUTHORITY\\ANONYMOUS LOGON");
        }
        write!(f, "{}\\{}", self.domain, self.user)
    }
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
    /// True when `identity` differs from the baseline.
    pub changed: bool,
    pub interface: Option<InterfaceView>,
    pub history: PairHistory,
}

/// Why a call under a changed identity failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// A fault PDU with its status.
    Fault(u32),
    /// bind_nak with its reject reason.
    BindNak(u16),
    /// bind_ack/alter_context_resp whose context was rejected: (result, reason).
    ContextRejected(u16, u16),
}

/// An expert finding. The wording users see is produced by `Finding::message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// `dcomauth.identity_change`: this PDU's AUTHENTICATE carries an identity other than the baseline.
    IdentityChange {
        identity: Identity,
        baseline: Identity,
        baseline_frame: u32,
        auth_context_id: u32,
        /// Interface of the presentation context the change was negotiated with (alter_context/bind).
        interface: Option<InterfaceView>,
        /// True when security context multiplexing was negotiated: MS-RPCE 3.3.1.5.4 ties it to the
        /// bind time feature bitmask (3.3.1.5.3, 2.2.2.14 bit 0x01) offered in the first bind and
        /// echoed in the bind_ack's negotiate_ack, not to PFC_CONC_MPX.
        multiplexing: bool,
    },
    /// `dcomauth.fault_after_change`: a fault or rejection answering a call made under a changed identity.
    FaultAfterChange {
        identity: Identity,
        rejection: Rejection,
        interface: Option<InterfaceView>,
        opnum: Option<u16>,
        /// IIDs a RemQueryInterface asked for (IRemUnknown/IRemUnknown2 opnum 3), when parseable.
        requested_iids: Vec<Uuid>,
        call_frame: u32,
        change_frame: u32,
    },
    /// `dcomauth.abort_after_change`: the server closed the association after an identity change.
    AbortAfterChange { kind: CloseKind, since_change_ns: i64, change_frame: u32, last_fault_frame: Option<u32> },
    /// `dcomauth.abort_after_fault`: the server closed the association after a fault, no identity change.
    AbortAfterFault {
        kind: CloseKind,
        last_fault_frame: u32,
        status: u32,
        /// The capture started mid-association: an earlier identity may have been missed.
        partial_baseline: bool,
    },
    /// `dcomauth.managed_object_qi`: RemQueryInterface for IManagedObject under a changed identity.
    ManagedObjectQi { identity: Identity },
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

#[cfg(test)]
mod identity_tests {
    use super::Identity;

    fn id(domain: &str, user: &str) -> Identity {
        Identity { domain: domain.into(), user: user.into() }
    }

    #[test]
    fn spellings_of_one_account_are_the_same_identity() {
        assert_eq!(id("DOM", "alice"), id("dom", "ALICE"));
        assert_eq!(id("", "alice@dom.example"), id("DOM", "alice"));
        assert_eq!(id("dom.example", "alice"), id("DOM", "Alice"));
    }

    #[test]
    fn other_accounts_are_other_identities() {
        assert_ne!(id("", "administrator"), id("REDMOND", "jiangyue"));
        // A local account (empty domain) is not the domain account of the same name.
        assert_ne!(id("", "administrator"), id("REDMOND", "administrator"));
        assert_ne!(id("", "alice@other.example"), id("DOM", "alice"));
        assert_ne!(id("", ""), id("", "administrator"));
    }
}
