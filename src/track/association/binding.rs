//! Presentation contexts: what bind/alter_context proposed, under which security context, and
//! what the server answered.
use super::{Association, Departure, Step, MAX_LISTED, MAX_PRESENTATION};
use crate::proto::dcerpc::{
    Auth, Bind, BindAck, ContextElement, PacketType, FEATURE_SECURITY_CONTEXT_MULTIPLEXING, RESULT_ACCEPTANCE,
    RESULT_NEGOTIATE_ACK,
};
use crate::track::summary::{BindState, FaultSummary, InterfaceSummary};
use crate::track::{Finding, Identity, InterfaceView, Rejection, Table};

/// Recent bind/alter_context PDUs kept to match their answers.
const MAX_PENDING: usize = 64;

/// A presentation context: its interface, and the security context that negotiated it
/// (None: proposed without a sec_trailer, so the association's first).
#[derive(Clone, Copy)]
pub(super) struct Presentation {
    pub(super) view: InterfaceView,
    pub(super) owner: Option<u32>,
}

/// A bind/alter_context waiting for (or matched with) its answer.
pub(super) struct Pending {
    call_id: u32,
    frame: u32,
    /// ctx_id of each item, in order; None for a bind time feature item.
    items: Vec<Option<u16>>,
    /// Position of the feature item offering security context multiplexing (first bind only).
    mpx_item: Option<usize>,
    interface: Option<InterfaceView>,
    auth_context_id: Option<u32>,
    /// The departed identity this exchange ran under (None inside: not visible on the wire).
    departed: Option<(Departure, Option<Identity>)>,
    answered: bool,
}

fn view(c: &ContextElement) -> InterfaceView {
    InterfaceView {
        ctx_id: c.ctx_id,
        uuid: c.abstract_syntax.uuid,
        version: c.abstract_syntax.version,
        version_minor: c.abstract_syntax.version_minor,
    }
}

impl Association {
    fn find_pending(&mut self, call_id: u32, unanswered: bool) -> Option<&mut Pending> {
        self.live.pending.iter_mut().rev().find(|p| p.call_id == call_id && !(unanswered && p.answered))
    }

    /// The departed identity context `id` runs under, if it departs from the baseline.
    fn departed(&self, id: Option<u32>) -> Option<(Departure, Option<Identity>)> {
        let s = self.live.security.get(&id?)?;
        Some((s.departure?, s.identity.clone()))
    }

    /// A bind or alter_context: proposes presentation contexts, maybe with a token.
    pub(super) fn bind(
        &mut self,
        step: &mut Step<'_>,
        ptype: PacketType,
        call_id: u32,
        b: &Bind,
        auth: Option<&Auth<'_>>,
    ) -> Option<InterfaceView> {
        let frame = step.ctx.frame;
        let first_bind = ptype == PacketType::Bind && !self.first_bind_seen;
        self.first_bind_seen |= ptype == PacketType::Bind;
        let auth_context_id = auth.map(|a| a.trailer.auth_context_id);
        let mut items = Vec::with_capacity(b.contexts.len());
        let mut mpx_item = None;
        for (pos, c) in b.contexts.iter().enumerate() {
            if let Some(bits) = c.transfer_syntaxes.first().and_then(|t| t.bind_time_features()) {
                if first_bind && bits & FEATURE_SECURITY_CONTEXT_MULTIPLEXING != 0 {
                    mpx_item = Some(pos);
                }
                items.push(None);
                continue;
            }
            items.push(Some(c.ctx_id));
            let view = view(c);
            let entry = InterfaceSummary {
                ctx_id: c.ctx_id,
                uuid: view.uuid,
                version: view.version,
                version_minor: view.version_minor,
                transfer_syntax: c.transfer_syntaxes.first().copied(),
                state: BindState::Proposed,
                frame,
                auth_context_id,
            };
            let known = self.summary.interfaces.iter_mut().find(|i| i.ctx_id == c.ctx_id);
            if let Some(existing) = known {
                *existing = entry;
            } else if self.summary.interfaces.len() < MAX_PRESENTATION {
                self.summary.interfaces.push(entry);
            } else {
                self.hit(Table::PresentationContexts);
                continue;
            }
            self.live.presentation.insert(c.ctx_id, Presentation { view, owner: auth_context_id });
        }
        let interface = b.contexts.first().map(view);
        if let Some(auth) = auth {
            self.client_auth(step, auth, interface);
        }
        if self.live.pending.len() >= MAX_PENDING {
            self.live.pending.pop_front();
        }
        let departed = self.departed(auth_context_id);
        self.live.pending.push_back(Pending {
            call_id,
            frame,
            items,
            mpx_item,
            interface,
            auth_context_id,
            departed,
            answered: false,
        });
        interface
    }

    /// An AUTH3 completes its bind/alter_context's exchange; a fault may answer it.
    pub(super) fn auth3(
        &mut self,
        step: &mut Step<'_>,
        call_id: u32,
        auth: Option<&Auth<'_>>,
    ) -> Option<InterfaceView> {
        let interface = self.find_pending(call_id, false).and_then(|p| p.interface);
        let Some(auth) = auth else { return interface };
        self.client_auth(step, auth, interface);
        let departed = self.departed(Some(auth.trailer.auth_context_id));
        let frame = step.ctx.frame;
        match self.find_pending(call_id, false) {
            // The exchange now runs under the AUTHENTICATE's identity: a fault may still answer it.
            Some(p) => {
                p.departed = departed;
                p.answered = false;
                p.frame = frame;
            }
            None => {
                if self.live.pending.len() >= MAX_PENDING {
                    self.live.pending.pop_front();
                }
                self.live.pending.push_back(Pending {
                    call_id,
                    frame,
                    items: Vec::new(),
                    mpx_item: None,
                    interface,
                    auth_context_id: Some(auth.trailer.auth_context_id),
                    departed,
                    answered: false,
                });
            }
        }
        interface
    }

    /// bind_ack/alter_context_resp: returns the interface and the security context of the exchange.
    pub(super) fn bind_ack(
        &mut self,
        step: &mut Step<'_>,
        call_id: u32,
        ack: &BindAck,
    ) -> (Option<InterfaceView>, Option<u32>) {
        let Some(p) = self.find_pending(call_id, true) else { return (None, None) };
        p.answered = true;
        let (interface, frame, owner, mpx_item) = (p.interface, p.frame, p.auth_context_id, p.mpx_item);
        let departed = p.departed.clone();
        let items = p.items.clone();
        let mut any_accepted = false;
        let mut first_rejection = None;
        let mut any_context = false;
        for (pos, r) in ack.results.iter().enumerate() {
            match items.get(pos) {
                // MS-RPCE 3.3.1.5.3: the server answers the first bind's feature item with negotiate_ack
                // and its bitmask in the reason field (Wireshark's hf_dcerpc_cn_ack_btfn reads it the
                // same way); 3.3.1.5.4: no security context multiplexing without that bit.
                Some(None)
                    if mpx_item == Some(pos)
                        && r.result == RESULT_NEGOTIATE_ACK
                        && r.reason & u16::from(FEATURE_SECURITY_CONTEXT_MULTIPLEXING) != 0 =>
                {
                    self.summary.multiplexing = true;
                }
                Some(Some(ctx_id)) => {
                    any_context = true;
                    let state = if r.result == RESULT_ACCEPTANCE {
                        any_accepted = true;
                        BindState::Accepted
                    } else {
                        first_rejection.get_or_insert((r.result, r.reason));
                        BindState::Rejected { result: r.result, reason: r.reason }
                    };
                    if let Some(i) = self.summary.interfaces.iter_mut().find(|i| i.ctx_id == *ctx_id) {
                        i.state = state;
                        if r.result == RESULT_ACCEPTANCE {
                            i.transfer_syntax = Some(r.transfer_syntax);
                        }
                    }
                }
                _ => {}
            }
        }
        if any_context && !any_accepted {
            let (result, reason) = first_rejection.unwrap_or((0, 0));
            self.reject(step, call_id, frame, Rejection::ContextRejected(result, reason), interface, departed);
        }
        (interface, owner)
    }

    pub(super) fn bind_nak(
        &mut self,
        step: &mut Step<'_>,
        call_id: u32,
        reason: u16,
    ) -> (Option<InterfaceView>, Option<u32>) {
        let (frame, interface, owner, departed) = match self.find_pending(call_id, true) {
            Some(p) => {
                p.answered = true;
                (p.frame, p.interface, p.auth_context_id, p.departed.clone())
            }
            None => (step.ctx.frame, None, None, None),
        };
        self.reject(step, call_id, frame, Rejection::BindNak(reason), interface, departed);
        (interface, owner)
    }

    /// A fault answering a bind/alter_context/AUTH3 rather than a request; false when none waits.
    pub(super) fn fault_on_binding(&mut self, step: &mut Step<'_>, call_id: u32, status: u32) -> bool {
        let Some(p) = self.find_pending(call_id, true) else { return false };
        p.answered = true;
        let (frame, interface, departed) = (p.frame, p.interface, p.departed.clone());
        self.reject(step, call_id, frame, Rejection::Fault(status), interface, departed);
        true
    }

    /// A bind/alter_context/AUTH3 failed: list it, and flag it when it ran under a departed identity.
    fn reject(
        &mut self,
        step: &mut Step<'_>,
        call_id: u32,
        call_frame: u32,
        rejection: Rejection,
        interface: Option<InterfaceView>,
        departed: Option<(Departure, Option<Identity>)>,
    ) {
        let changed = departed.as_ref().is_some_and(|(d, _)| d.kind == crate::track::ChangeKind::Changed);
        self.record_fault(FaultSummary {
            frame: step.ctx.frame,
            call_id,
            rejection,
            identity: departed.as_ref().and_then(|d| d.1.clone()),
            changed,
            interface,
            opnum: None,
            requested_iids: Default::default(),
            call_frame: Some(call_frame),
        });
        match departed {
            Some((departure, identity)) => {
                self.departed_fault(step, departure);
                step.findings.push(Finding::FaultAfterChange {
                    kind: departure.kind,
                    identity,
                    rejection,
                    interface,
                    opnum: None,
                    requested_iids: Default::default(),
                    call_frame,
                    change_frame: departure.frame,
                });
            }
            None => self.other_answer(),
        }
    }

    pub(super) fn record_fault(&mut self, fault: FaultSummary) {
        if self.summary.faults.len() < MAX_LISTED {
            self.summary.faults.push(fault);
        } else {
            self.hit(Table::ListedFaults);
            self.summary.faults_dropped = self.summary.faults_dropped.saturating_add(1);
        }
    }
}
