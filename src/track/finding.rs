//! What the tracker concludes for users: expert findings. Their wording is in `expert_text`.
use std::sync::Arc;

use super::{AuthType, CloseKind, Identity, InterfaceView};
use crate::uuid::Uuid;

/// How sure the wire makes us that an identity departs from the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    /// The wire cannot tell whether the identity changed (`dcomauth.possible_identity_change`).
    Possible,
    /// A new association between the same hosts under another identity (`dcomauth.pair_identity_change`).
    Pair,
    /// Another account inside one association (`dcomauth.identity_change`).
    Changed,
}

/// Why a departure from the baseline is only possible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Doubt {
    /// The capture started mid-association: another security context was in use from `earlier_frame`
    /// (`earlier_ctx` None: calls on presentation contexts whose binding was not captured).
    CaptureStartedLate { earlier_ctx: Option<u32>, earlier_frame: u32 },
    /// The new context's identity is not on the wire (Kerberos, unknown auth type).
    NotVisible { auth_type: AuthType, baseline: Identity, baseline_frame: u32 },
    /// An NTLM identity after a context whose identity is not on the wire.
    AfterHidden { auth_type: AuthType, hidden_ctx: u32, hidden_frame: u32 },
    /// Spellings the comparison rule cannot match to the baseline.
    Spelling { baseline: Identity, baseline_frame: u32 },
}

/// A bounded table of the tracker (`dcomauth.state_limit` names the one whose cap bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Associations,
    HostPairs,
    Calls,
    SecurityContexts,
    PresentationContexts,
    ListedFaults,
    ListedIdentities,
}

impl Table {
    pub const ALL: [Table; 7] = [
        Table::Associations,
        Table::HostPairs,
        Table::Calls,
        Table::SecurityContexts,
        Table::PresentationContexts,
        Table::ListedFaults,
        Table::ListedIdentities,
    ];

    pub(crate) fn bit(self) -> u8 {
        1 << self as u8
    }
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
    /// `dcomauth.possible_identity_change`: a new security context the wire cannot compare.
    PossibleIdentityChange {
        /// None when the new context's identity is not on the wire.
        identity: Option<Identity>,
        auth_context_id: u32,
        interface: Option<InterfaceView>,
        doubt: Doubt,
    },
    /// `dcomauth.pair_identity_change`: this association's first identity differs from the one the
    /// same client host used with the same server host before.
    PairIdentityChange { identity: Identity, earlier: Identity, earlier_frame: u32, earlier_stream: u32 },
    /// A fault or rejection answering a call made under a departed identity: `dcomauth.fault_after_change`
    /// when `kind` is `Changed`, else a Note under the kind's own name.
    FaultAfterChange {
        kind: ChangeKind,
        identity: Option<Identity>,
        rejection: Rejection,
        interface: Option<InterfaceView>,
        opnum: Option<u16>,
        /// IIDs a RemQueryInterface asked for (IRemUnknown/IRemUnknown2 opnum 3), when parseable.
        requested_iids: Arc<[Uuid]>,
        call_frame: u32,
        change_frame: u32,
    },
    /// The server closed the association after a departed identity failed (`dcomauth.abort_after_change`
    /// when `kind` is `Changed`).
    AbortAfterChange {
        kind: ChangeKind,
        close: CloseKind,
        since_change_ns: i64,
        change_frame: u32,
        last_fault_frame: Option<u32>,
    },
    /// `dcomauth.abort_after_fault`: the server closed the association after a fault, no identity change.
    AbortAfterFault {
        close: CloseKind,
        last_fault_frame: u32,
        status: u32,
        /// The capture started mid-association: an earlier identity may have been missed.
        partial_baseline: bool,
    },
    /// `dcomauth.managed_object_qi`: RemQueryInterface for IManagedObject under a changed identity.
    ManagedObjectQi { identity: Identity },
    /// `dcomauth.state_limit`: a table reached its cap in this frame (once per table and capture).
    StateLimit { table: Table, cap: usize },
}

/// The expert info a finding is filed under (the discriminant indexes epan's registrations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expert {
    IdentityChange,
    FaultAfterChange,
    AbortAfterChange,
    AbortAfterFault,
    ManagedObjectQi,
    PossibleIdentityChange,
    PairIdentityChange,
    StateLimit,
}

impl Expert {
    /// The expert info's filter name, as users type it (`dcomauth.identity_change`, …).
    pub fn name(self) -> &'static std::ffi::CStr {
        match self {
            Expert::IdentityChange => c"dcomauth.identity_change",
            Expert::FaultAfterChange => c"dcomauth.fault_after_change",
            Expert::AbortAfterChange => c"dcomauth.abort_after_change",
            Expert::AbortAfterFault => c"dcomauth.abort_after_fault",
            Expert::ManagedObjectQi => c"dcomauth.managed_object_qi",
            Expert::PossibleIdentityChange => c"dcomauth.possible_identity_change",
            Expert::PairIdentityChange => c"dcomauth.pair_identity_change",
            Expert::StateLimit => c"dcomauth.state_limit",
        }
    }
}

impl Finding {
    pub fn expert(&self) -> Expert {
        let by_kind = |kind: &ChangeKind, definite: Expert| match kind {
            ChangeKind::Changed => definite,
            ChangeKind::Possible => Expert::PossibleIdentityChange,
            ChangeKind::Pair => Expert::PairIdentityChange,
        };
        match self {
            Finding::IdentityChange { .. } => Expert::IdentityChange,
            Finding::PossibleIdentityChange { .. } => Expert::PossibleIdentityChange,
            Finding::PairIdentityChange { .. } => Expert::PairIdentityChange,
            Finding::FaultAfterChange { kind, .. } => by_kind(kind, Expert::FaultAfterChange),
            Finding::AbortAfterChange { kind, .. } => by_kind(kind, Expert::AbortAfterChange),
            Finding::AbortAfterFault { .. } => Expert::AbortAfterFault,
            Finding::ManagedObjectQi { .. } => Expert::ManagedObjectQi,
            Finding::StateLimit { .. } => Expert::StateLimit,
        }
    }
}
