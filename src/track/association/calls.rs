//! Calls: requests (and their fragments), the responses and faults that answer them.
use std::sync::Arc;

use super::{Association, Attribution, Departure, Step};
use crate::names::interfaces::IID_IMANAGEDOBJECT;
use crate::proto::dcerpc::{Auth, ByteOrder, Header, Request, PFC_FIRST_FRAG, PFC_LAST_FRAG};
use crate::proto::dcom;
use crate::track::summary::FaultSummary;
use crate::track::{ChangeKind, Finding, Identity, InterfaceView, Rejection, Table};
use crate::uuid::Uuid;

/// Largest RemQueryInterface stub collected across fragments; a real one is a few hundred bytes.
const MAX_QI_STUB: usize = 64 * 1024;
/// RemQueryInterface is opnum 3 of IRemUnknown and IRemUnknown2 (MS-DCOM 3.1.1.5.6).
const OPNUM_REM_QUERY_INTERFACE: u16 = 3;

pub(super) struct Call {
    generation: u64,
    frame: u32,
    pub(super) opnum: u16,
    pub(super) interface: Option<InterfaceView>,
    pub(super) auth_context_id: Option<u32>,
    identity: Option<Identity>,
    pub(super) departure: Option<Departure>,
    /// IIDs a RemQueryInterface asked for; shared with every fault that answers it.
    iids: Arc<[Uuid]>,
    /// Stub of a fragmented RemQueryInterface request, collected until its last fragment.
    qi_stub: Option<(Vec<u8>, ByteOrder)>,
}

impl Association {
    /// A request PDU (or a later fragment of one).
    pub(super) fn request(
        &mut self,
        step: &mut Step<'_>,
        h: &Header,
        r: &Request<'_>,
        auth: Option<&Auth<'_>>,
    ) -> Attribution {
        #[cfg(debug_assertions)]
        if (h.call_id, r.opnum) == crate::track::PANIC_TRIGGER {
            panic!("dcomauth test trigger: a panic inside the tracker");
        }
        if let Some(auth) = auth {
            let _ = self.security_entry(step.ctx.frame, auth);
        }
        let first_flag = h.pfc_flags & PFC_FIRST_FRAG != 0;
        let last = h.pfc_flags & PFC_LAST_FRAG != 0;
        let iids_known_now = if first_flag || !self.live.calls.contains_key(&h.call_id) {
            self.new_call(step, h, r, auth.map(|a| a.trailer.auth_context_id))
        } else {
            self.request_fragment(h.call_id, last, r.stub)
        };
        let Some(call) = self.live.calls.get(&h.call_id) else {
            return Attribution { opnum: Some(r.opnum), auth_context_id: None, interface: None };
        };
        if iids_known_now && call.departure.is_some_and(|d| d.kind == ChangeKind::Changed) {
            if let (Some(identity), true) = (&call.identity, call.iids.contains(&IID_IMANAGEDOBJECT)) {
                step.findings.push(Finding::ManagedObjectQi { identity: identity.clone() });
            }
        }
        Attribution { opnum: Some(call.opnum), auth_context_id: call.auth_context_id, interface: call.interface }
    }

    /// Records a call from its first request fragment; true when its requested IIDs are known now.
    fn new_call(&mut self, step: &mut Step<'_>, h: &Header, r: &Request<'_>, trailer_id: Option<u32>) -> bool {
        let (call_id, order) = (h.call_id, h.byte_order);
        let first_fragment = h.pfc_flags & PFC_FIRST_FRAG != 0;
        let last_fragment = h.pfc_flags & PFC_LAST_FRAG != 0;
        if trailer_id.is_none() && !self.live.presentation.contains_key(&r.ctx_id) && self.summary.baseline_partial {
            // A call on a presentation context bound before the capture started: its identity is unknown.
            self.unbound_call_frame.get_or_insert(step.ctx.frame);
        }
        let auth_context_id = trailer_id.or_else(|| self.owner_of(r.ctx_id));
        let sc = auth_context_id.and_then(|id| self.live.security.get(&id));
        let identity = sc.and_then(|s| s.identity.clone());
        let departure = sc.and_then(|s| s.departure);
        let interface = self.live.presentation.get(&r.ctx_id).map(|p| p.view);
        let mut iids: Arc<[Uuid]> = Arc::new([]);
        let mut qi_stub = None;
        let mut iids_known = false;
        if first_fragment
            && r.opnum == OPNUM_REM_QUERY_INTERFACE
            && interface.is_some_and(|i| dcom::is_rem_unknown(&i.uuid))
        {
            if last_fragment {
                iids = dcom::rem_query_interface_iids(r.stub, order).into();
                iids_known = true;
            } else {
                // The IIDs come at the end of the stub: wait for the last fragment.
                qi_stub = Some((r.stub.get(..MAX_QI_STUB).unwrap_or(r.stub).to_vec(), order));
            }
        }
        let live = &mut *self.live;
        live.generation += 1;
        let generation = live.generation;
        let call = Call {
            generation,
            frame: step.ctx.frame,
            opnum: r.opnum,
            interface,
            auth_context_id,
            identity,
            departure,
            iids,
            qi_stub,
        };
        live.calls.insert(call_id, call);
        live.call_order.push_back((call_id, generation));
        let max = step.cfg.max_calls;
        let mut forgot = false;
        while live.calls.len() > max || live.call_order.len() > 2 * max {
            let Some((old, generation)) = live.call_order.pop_front() else { break };
            if live.calls.get(&old).is_some_and(|c| c.generation == generation) {
                live.calls.remove(&old);
                forgot = true;
            }
        }
        if forgot {
            self.hit(Table::Calls);
        }
        iids_known
    }

    /// A later fragment of a request: completes a collected RemQueryInterface stub on the last one.
    fn request_fragment(&mut self, call_id: u32, last_fragment: bool, stub: &[u8]) -> bool {
        let Some(call) = self.live.calls.get_mut(&call_id) else { return false };
        let Some((collected, order)) = call.qi_stub.as_mut() else { return false };
        if collected.len() + stub.len() > MAX_QI_STUB {
            call.qi_stub = None;
            return false;
        }
        collected.extend_from_slice(stub);
        if !last_fragment {
            return false;
        }
        call.iids = dcom::rem_query_interface_iids(collected, *order).into();
        call.qi_stub = None;
        true
    }

    /// A successful response: it counts for the call's identity only.
    pub(super) fn response(&mut self, call_id: u32) {
        self.last_answer_fault = None;
        match self.live.calls.get(&call_id).and_then(|c| c.departure) {
            Some(_) => self.departed_success(),
            None => self.other_answer(),
        }
    }

    /// A fault: answers a call, or else a bind/alter_context/AUTH3 with that call_id.
    pub(super) fn fault(&mut self, step: &mut Step<'_>, call_id: u32, status: u32, who: &Attribution) {
        self.last_answer_fault = Some((step.ctx.frame, status));
        if !self.live.calls.contains_key(&call_id) && self.fault_on_binding(step, call_id, status) {
            return;
        }
        let rejection = Rejection::Fault(status);
        let call = self.live.calls.get(&call_id);
        // A fault with no call of ours: the context its p_cont_id names decides, by the same rule.
        let departure = match call {
            Some(c) => c.departure,
            None => who.auth_context_id.and_then(|id| self.live.security.get(&id)).and_then(|s| s.departure),
        };
        let identity = match call {
            Some(c) => c.identity.clone(),
            None => who.auth_context_id.and_then(|id| self.live.security.get(&id)).and_then(|s| s.identity.clone()),
        };
        let requested_iids = call.map(|c| c.iids.clone()).unwrap_or_default();
        let call_frame = call.map(|c| c.frame);
        self.record_fault(FaultSummary {
            frame: step.ctx.frame,
            call_id,
            rejection,
            identity: identity.clone(),
            changed: departure.is_some_and(|d| d.kind == ChangeKind::Changed),
            interface: who.interface,
            opnum: who.opnum,
            requested_iids: requested_iids.clone(),
            call_frame,
        });
        let Some(departure) = departure else {
            self.other_answer();
            return;
        };
        self.departed_fault(step, departure);
        step.findings.push(Finding::FaultAfterChange {
            kind: departure.kind,
            identity,
            rejection,
            interface: who.interface,
            opnum: who.opnum,
            requested_iids,
            call_frame: call_frame.unwrap_or(step.ctx.frame),
            change_frame: departure.frame,
        });
    }
}
