//! One association (one TCP stream). Its state is split by concern: `binding` (presentation
//! contexts and bind/alter_context answers), `security` (security contexts, identities and their
//! changes), `calls` (requests, responses, faults) and `closes` (who tore it down and why).
use std::collections::VecDeque;

use super::identity::Names;
use super::pairs::{PairKey, Pairs};
use super::summary::AssociationSummary;
use super::{ChangeKind, Config, Endpoint, Finding, FrameCtx, Identity, InterfaceView, PairHistory, PduView, Table};
use crate::maps::{KeyedMap, KEYED};
use crate::proto::dcerpc::{Body, PacketType, Pdu};

mod binding;
mod calls;
mod closes;
mod security;

use binding::{Pending, Presentation};
use calls::Call;
use security::SecurityContext;

/// Presentation contexts per association.
pub(crate) const MAX_PRESENTATION: usize = 256;
/// Security contexts per association (MS-RPCE 3.3.1.5.4 lets clients build up to 2000).
pub(crate) const MAX_SECURITY: usize = 256;
/// Faults listed in the summary (the rest are counted).
pub(crate) const MAX_LISTED: usize = 1000;
/// Establishments and identity changes listed in the summary (the rest are counted).
pub(crate) const MAX_IDENTITIES: usize = 256;

/// The first identity of another association between the same hosts, for `pair_identity_change`.
#[derive(Debug, Clone)]
pub(crate) struct PairBaseline {
    pub(crate) identity: Identity,
    pub(crate) frame: u32,
    pub(crate) stream: u32,
}

/// Facts the tracker folds into the host-pair history.
#[derive(Default)]
pub(crate) struct PairEvents {
    pub(crate) change_frame: Option<u32>,
    pub(crate) first_change: bool,
    pub(crate) abort_frame: Option<u32>,
    /// This association's first identity was established in this frame.
    pub(crate) baseline: Option<(Identity, u32)>,
}

/// One frame's work on an association: where it happens, what it concludes, what the pair learns.
pub(crate) struct Step<'a> {
    pub(crate) ctx: &'a FrameCtx,
    pub(crate) cfg: &'a Config,
    pub(crate) findings: &'a mut Vec<Finding>,
    /// The capture's shared copies of account names.
    pub(crate) names: &'a mut Names,
    /// The host pairs and this association's key: looked up only when a new identity needs it.
    pub(crate) pairs: Option<(&'a Pairs, PairKey)>,
    pub(crate) events: PairEvents,
}

impl<'a> Step<'a> {
    /// The first identity another association of the same hosts established most recently.
    pub(crate) fn pair_baseline(&self) -> Option<&'a PairBaseline> {
        self.pairs.and_then(|(pairs, key)| pairs.baseline(&key))
    }
}

/// Who a PDU is attributed to: what its tree shows.
struct Attribution {
    opnum: Option<u16>,
    auth_context_id: Option<u32>,
    interface: Option<InterfaceView>,
}

/// A departure from the baseline: how sure, and the frame that showed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Departure {
    pub(crate) kind: ChangeKind,
    pub(crate) frame: u32,
    pub(crate) time_ns: i64,
}

/// What the association's departed calls did since the latest departure; decides whether a
/// server close is blamed on it.
#[derive(Default)]
struct Departures {
    /// The latest departure.
    latest: Option<Departure>,
    /// The last fault answering a call (or bind) made under a departed identity, and when.
    last_fault: Option<(Departure, u32, i64)>,
    /// The latest answer to a departed call was a fault.
    last_answer_failed: bool,
    /// A departed call succeeded since the latest departure.
    succeeded: bool,
    /// Any call, departed or not, was answered since the latest departure.
    any_answer: bool,
}

/// What only an open association needs: its contexts, pending binds and calls.
#[derive(Default)]
struct LiveState {
    security: KeyedMap<u32, SecurityContext>,
    presentation: KeyedMap<u16, Presentation>,
    pending: VecDeque<Pending>,
    calls: KeyedMap<u32, Call>,
    call_order: VecDeque<(u32, u64)>,
    generation: u64,
}

impl LiveState {
    const EMPTY: LiveState = LiveState {
        security: KeyedMap::with_hasher(KEYED),
        presentation: KeyedMap::with_hasher(KEYED),
        pending: VecDeque::new(),
        calls: KeyedMap::with_hasher(KEYED),
        call_order: VecDeque::new(),
        generation: 0,
    };
}

/// What an association read before it had any live state, or after it was freed.
static NO_LIVE_STATE: LiveState = LiveState::EMPTY;

/// An association's `LiveState`, allocated at its first write and freed once both sides closed
/// (`Association::trim_if_done`): the thousands of ended associations a capture keeps carry
/// only their summary.
#[derive(Default)]
struct Live(Option<Box<LiveState>>);

impl std::ops::Deref for Live {
    type Target = LiveState;

    fn deref(&self) -> &LiveState {
        self.0.as_deref().unwrap_or(&NO_LIVE_STATE)
    }
}

impl std::ops::DerefMut for Live {
    fn deref_mut(&mut self) -> &mut LiveState {
        self.0.get_or_insert_with(Box::default)
    }
}

pub(crate) struct Association {
    pub(crate) summary: AssociationSummary,
    first_bind_seen: bool,
    live: Live,
    /// The association's first security context: owner of presentation contexts added without one.
    first_security: Option<u32>,
    /// The baseline's own departure (a pair change or a possible one), shared by same-identity contexts.
    baseline_departure: Option<Departure>,
    /// First frame of a call on a presentation context whose binding the capture missed.
    unbound_call_frame: Option<u32>,
    departures: Departures,
    /// The last server answer (response or fault) was this fault: (frame, status).
    last_answer_fault: Option<(u32, u32)>,
    /// Tables whose cap bit since the tracker last asked (`Table::bit`).
    limits_hit: u8,
}

fn is_client_pdu(t: PacketType) -> bool {
    matches!(
        t,
        PacketType::Bind
            | PacketType::AlterContext
            | PacketType::Auth3
            | PacketType::Request
            | PacketType::CoCancel
            | PacketType::Orphaned
    )
}

impl Association {
    /// (client, server) of an association whose first PDU seen is `ptype` from `ctx.src`.
    pub(crate) fn endpoints(ctx: &FrameCtx, ptype: PacketType) -> (Endpoint, Endpoint) {
        if is_client_pdu(ptype) {
            (ctx.src, ctx.dst)
        } else {
            (ctx.dst, ctx.src)
        }
    }

    pub(crate) fn new(ctx: &FrameCtx, ptype: PacketType, history: PairHistory) -> Self {
        let (client, server) = Self::endpoints(ctx, ptype);
        Association {
            summary: AssociationSummary::new(ctx, client, server, ptype != PacketType::Bind, history),
            first_bind_seen: false,
            live: Live::default(),
            first_security: None,
            baseline_departure: None,
            unbound_call_frame: None,
            departures: Departures::default(),
            last_answer_fault: None,
            limits_hit: 0,
        }
    }

    pub(crate) fn client_addr(&self) -> Endpoint {
        self.summary.client
    }

    pub(crate) fn server_addr(&self) -> Endpoint {
        self.summary.server
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.summary.client_close.is_some() || self.summary.server_close.is_some()
    }

    /// Does it hold the state of an open association (freed once both sides closed)?
    pub(crate) fn is_live(&self) -> bool {
        self.live.0.is_some()
    }

    /// A capped table of this association refused or forgot an entry.
    pub(super) fn hit(&mut self, table: Table) {
        self.limits_hit |= table.bit();
    }

    /// The tables whose cap bit since the last call.
    pub(crate) fn take_limits(&mut self) -> u8 {
        std::mem::take(&mut self.limits_hit)
    }

    /// Did this association see a definite identity change?
    pub(crate) fn changed(&self) -> bool {
        !self.summary.changes.is_empty() || self.summary.changes_dropped > 0
    }

    /// Processes one parsed PDU; returns the view to show when the association is authenticated.
    pub(crate) fn pdu(&mut self, step: &mut Step<'_>, pdu: &Pdu<'_>) -> Option<PduView> {
        self.summary.last_frame = self.summary.last_frame.max(step.ctx.frame);
        let h = &pdu.header;
        let trailer_id = pdu.auth.as_ref().map(|a| a.trailer.auth_context_id);
        let control = |a: &Association, interface| Attribution {
            opnum: None,
            auth_context_id: trailer_id.or(a.first_security),
            interface,
        };
        let who = match &pdu.body {
            Body::Bind(b) | Body::AlterContext(b) => {
                let iface = self.bind(step, h.ptype, h.call_id, b, pdu.auth.as_ref());
                control(self, iface)
            }
            Body::Auth3 => {
                let iface = self.auth3(step, h.call_id, pdu.auth.as_ref());
                control(self, iface)
            }
            Body::BindAck(ack) | Body::AlterContextResp(ack) => {
                if let Some(auth) = &pdu.auth {
                    self.server_auth(step, auth);
                }
                let (iface, owner) = self.bind_ack(step, h.call_id, ack);
                Attribution {
                    opnum: None,
                    auth_context_id: trailer_id.or(owner).or(self.first_security),
                    interface: iface,
                }
            }
            Body::BindNak(nak) => {
                let (iface, owner) = self.bind_nak(step, h.call_id, nak.reject_reason);
                Attribution { opnum: None, auth_context_id: owner.or(self.first_security), interface: iface }
            }
            Body::Request(r) => self.request(step, h, r, pdu.auth.as_ref()),
            Body::Response(r) => {
                if let Some(auth) = &pdu.auth {
                    self.server_auth(step, auth);
                }
                self.response(h.call_id);
                self.answer_attribution(h.call_id, trailer_id, r.ctx_id)
            }
            Body::Fault(f) => {
                if let Some(auth) = &pdu.auth {
                    self.server_auth(step, auth);
                }
                let who = self.answer_attribution(h.call_id, trailer_id, f.ctx_id);
                self.fault(step, h.call_id, f.status, &who);
                who
            }
            Body::CoCancel | Body::Orphaned => match self.live.calls.get(&h.call_id) {
                Some(c) => {
                    Attribution { opnum: Some(c.opnum), auth_context_id: c.auth_context_id, interface: c.interface }
                }
                None => control(self, None),
            },
            Body::Shutdown => control(self, None),
        };
        if self.live.security.is_empty() {
            return None;
        }
        let sc = who.auth_context_id.and_then(|id| self.live.security.get(&id));
        let identity = sc.and_then(|s| s.identity.clone());
        let change = match self.live.calls.get(&h.call_id) {
            Some(c) if matches!(pdu.body, Body::Request(_) | Body::Response(_) | Body::Fault(_)) => c.departure,
            _ => sc.and_then(|s| s.departure),
        };
        Some(PduView {
            ptype: h.ptype,
            call_id: h.call_id,
            opnum: who.opnum,
            identity,
            security: who.auth_context_id.and_then(|id| self.security_view(id)),
            baseline: self.summary.baseline.clone(),
            baseline_frame: self.summary.baseline_frame,
            baseline_partial: self.summary.baseline_partial,
            change: change.map(|d| d.kind),
            interface: who.interface,
            history: self.summary.history,
        })
    }

    /// The security context a PDU without a sec_trailer runs under: the one that bound its
    /// presentation context (MS-RPCE 3.3.1.5.4 binds a context to the security context it was
    /// negotiated with; one added without a sec_trailer belongs to the association's first).
    fn owner_of(&self, ctx_id: u16) -> Option<u32> {
        self.live.presentation.get(&ctx_id).and_then(|p| p.owner.or(self.first_security))
    }

    /// What a response or fault shows: the call it answers, else the presentation context it names.
    fn answer_attribution(&self, call_id: u32, trailer_id: Option<u32>, ctx_id: u16) -> Attribution {
        match self.live.calls.get(&call_id) {
            Some(c) => Attribution { opnum: Some(c.opnum), auth_context_id: c.auth_context_id, interface: c.interface },
            None => Attribution {
                opnum: None,
                auth_context_id: trailer_id.or_else(|| self.owner_of(ctx_id)),
                interface: self.live.presentation.get(&ctx_id).map(|p| p.view),
            },
        }
    }
}

#[cfg(test)]
mod sizes {
    use std::mem::size_of;

    /// What every association keeps for the whole capture, open or closed (issue 10 asks for 512
    /// bytes per closed association), and what an open one adds: must not grow unnoticed.
    #[test]
    fn association_sizes_are_pinned() {
        assert_eq!(size_of::<super::Association>(), 472);
        assert_eq!(size_of::<crate::track::AssociationSummary>(), 360);
        assert_eq!(size_of::<super::LiveState>(), 168);
        assert_eq!(size_of::<super::SecurityContext>(), 96);
        assert_eq!(size_of::<super::calls::Call>(), 144);
    }
}
