//! One association (one TCP stream): its security contexts, presentation contexts and calls.
use std::collections::{HashMap, VecDeque};

use super::summary::{
    AssociationSummary, BindState, CloseSummary, FaultSummary, IdentityChangeSummary, IdentitySummary,
    InterfaceSummary, Side,
};
use super::{
    AuthType, CloseKind, Endpoint, Finding, FrameCtx, Identity, InterfaceView, PairHistory, PduView, Rejection,
    SecurityView,
};
use crate::names::interfaces::{IID_IMANAGEDOBJECT, IID_IREMUNKNOWN, IID_IREMUNKNOWN2};
use crate::proto::dcerpc::{Auth, Bind, BindAck, Body, ByteOrder, PacketType, Pdu, SyntaxId};
use crate::proto::{dcom, ntlmssp, spnego};
use crate::uuid::Uuid;

/// Calls remembered per association (the oldest are forgotten first).
pub(crate) const MAX_CALLS: usize = 4096;
/// Presentation contexts per association.
pub(crate) const MAX_PRESENTATION: usize = 256;
/// Security contexts per association (MS-RPCE 3.3.1.5.4 lets clients build up to 2000).
pub(crate) const MAX_SECURITY: usize = 256;
/// Recent bind/alter_context PDUs kept to match their answers.
const MAX_PENDING: usize = 64;
/// Faults listed in the summary (the rest are counted).
pub(crate) const MAX_LISTED: usize = 1000;
/// Establishments and identity changes listed in the summary (the rest are counted).
pub(crate) const MAX_IDENTITIES: usize = 256;
/// Longest domain or user name kept, in characters (Windows names are far shorter); stops a
/// hostile AUTHENTICATE from being copied into every later PDU's view at full length.
const MAX_NAME_CHARS: usize = 256;
/// IIDs kept per RemQueryInterface.
const MAX_IIDS: usize = 64;

const PFC_FIRST_FRAG: u8 = 0x01;
const PFC_LAST_FRAG: u8 = 0x02;
/// Largest RemQueryInterface stub collected across fragments; a real one is a few hundred bytes.
const MAX_QI_STUB: usize = 64 * 1024;

/// RemQueryInterface is opnum 3 of IRemUnknown and IRemUnknown2 (MS-DCOM 3.1.1.5.6).
const OPNUM_REM_QUERY_INTERFACE: u16 = 3;

/// MS-RPCE 3.3.1.5.3: a transfer syntax whose UUID starts 6CB71C2C-9812-4540, version 1.0, offers
/// bind time features; the next eight octets are the BindTimeFeatureNegotiationBitmask (2.2.2.14).
const BIND_TIME_FEATURE_PREFIX: [u8; 8] = [0x6c, 0xb7, 0x1c, 0x2c, 0x98, 0x12, 0x45, 0x40];
const SECURITY_CONTEXT_MULTIPLEXING: u8 = 0x01;
/// p_cont_def_result_t values (C706 12.6.3.1).
const RESULT_ACCEPTANCE: u16 = 0;
const RESULT_NEGOTIATE_ACK: u16 = 3;

fn feature_bitmask(item_transfer: Option<&SyntaxId>) -> Option<u8> {
    let t = item_transfer?;
    let (prefix, bitmask) = t.uuid.0.split_at(8);
    if prefix != BIND_TIME_FEATURE_PREFIX || t.version != 1 || t.version_minor != 0 {
        return None;
    }
    bitmask.first().copied()
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

/// What a sec_trailer's token turned out to be.
enum Token {
    Negotiate,
    Authenticate(Identity),
    Kerberos,
    Other,
}

fn classify(auth: &Auth<'_>) -> (Option<AuthType>, Token) {
    fn ntlm(bytes: &[u8], ty: AuthType) -> (Option<AuthType>, Token) {
        match ntlmssp::parse(bytes) {
            Ok(ntlmssp::Message::Negotiate { .. }) => (Some(ty), Token::Negotiate),
            Ok(ntlmssp::Message::Authenticate(a)) => {
                let identity = if a.anonymous {
                    Identity { domain: "".into(), user: "".into() }
                } else {
                    Identity { domain: clip(a.domain).into(), user: clip(a.user).into() }
                };
                (Some(ty), Token::Authenticate(identity))
            }
            Ok(ntlmssp::Message::Challenge { .. }) | Err(_) => (Some(ty), Token::Other),
        }
    }
    match auth.trailer.auth_type {
        10 => ntlm(auth.token, AuthType::Ntlmssp),
        9 => match spnego::inner_token(auth.token) {
            Ok(spnego::Inner::Ntlmssp(inner)) => ntlm(inner, AuthType::SpnegoNtlmssp),
            Ok(spnego::Inner::Kerberos) => (Some(AuthType::Kerberos), Token::Kerberos),
            Ok(spnego::Inner::Empty) | Err(_) => (None, Token::Other),
        },
        16 if !auth.token.is_empty() => (Some(AuthType::Kerberos), Token::Kerberos),
        t => (Some(initial_auth_type(t)), Token::Other),
    }
}

fn clip(mut s: String) -> String {
    if let Some((at, _)) = s.char_indices().nth(MAX_NAME_CHARS) {
        s.truncate(at);
    }
    s
}

/// The auth type a sec_trailer alone tells (SPNEGO stays open until a token shows its mechanism).
fn initial_auth_type(t: u8) -> AuthType {
    match t {
        10 => AuthType::Ntlmssp,
        16 => AuthType::Kerberos,
        68 => AuthType::Netlogon,
        n => AuthType::Other(n),
    }
}

struct SecurityContext {
    auth_type: AuthType,
    auth_level: u8,
    identity: Option<Identity>,
    established_frame: Option<u32>,
    /// First context item of the bind/alter_context that started this context's exchange.
    interface: Option<InterfaceView>,
}

struct Call {
    generation: u64,
    frame: u32,
    ctx_id: u16,
    opnum: u16,
    interface: Option<InterfaceView>,
    auth_context_id: Option<u32>,
    identity: Option<Identity>,
    changed: bool,
    change_frame: Option<u32>,
    iids: Vec<Uuid>,
    /// Stub of a fragmented RemQueryInterface request, collected until its last fragment.
    qi_stub: Option<(Vec<u8>, ByteOrder)>,
}

/// A bind/alter_context waiting for (or matched with) its answer.
struct Pending {
    call_id: u32,
    frame: u32,
    /// ctx_id of each item, in order; None for a bind time feature item.
    items: Vec<Option<u16>>,
    /// Position of the feature item offering security context multiplexing (first bind only).
    mpx_item: Option<usize>,
    interface: Option<InterfaceView>,
    /// The changed identity this PDU ran under, and where that identity was established.
    changed: Option<(Identity, u32)>,
    answered: bool,
}

/// Facts the tracker folds into the host-pair history.
#[derive(Default)]
pub(crate) struct PairEvents {
    pub(crate) change_frame: Option<u32>,
    pub(crate) first_change: bool,
    pub(crate) abort_frame: Option<u32>,
}

pub(crate) struct Association {
    pub(crate) summary: AssociationSummary,
    first_bind_call: Option<u32>,
    security: HashMap<u32, SecurityContext>,
    current_security: Option<u32>,
    last_change: Option<(u32, i64)>,
    /// A successful response came after the most recent change: a later close is not its doing
    /// unless a fault came last.
    answered_since_change: bool,
    presentation: HashMap<u16, InterfaceView>,
    pending: VecDeque<Pending>,
    calls: HashMap<u32, Call>,
    call_order: VecDeque<(u32, u64)>,
    generation: u64,
    last_fault_frame: Option<u32>,
    /// The last server answer (response or fault) was this fault: (frame, status).
    last_answer_fault: Option<(u32, u32)>,
}

impl Association {
    pub(crate) fn new(ctx: &FrameCtx, ptype: PacketType, history: PairHistory) -> Self {
        let (client, server) = if is_client_pdu(ptype) { (ctx.src, ctx.dst) } else { (ctx.dst, ctx.src) };
        Association {
            summary: AssociationSummary {
                stream: ctx.stream,
                client,
                server,
                first_frame: ctx.frame,
                last_frame: ctx.frame,
                baseline_partial: ptype != PacketType::Bind,
                baseline: None,
                baseline_frame: None,
                multiplexing: false,
                history,
                interfaces: Vec::new(),
                identities: Vec::new(),
                identities_dropped: 0,
                changes: Vec::new(),
                changes_dropped: 0,
                faults: Vec::new(),
                faults_dropped: 0,
                client_close: None,
                server_close: None,
                abort: None,
            },
            first_bind_call: None,
            security: HashMap::new(),
            current_security: None,
            last_change: None,
            answered_since_change: false,
            presentation: HashMap::new(),
            pending: VecDeque::new(),
            calls: HashMap::new(),
            call_order: VecDeque::new(),
            generation: 0,
            last_fault_frame: None,
            last_answer_fault: None,
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

    fn is_changed(&self, identity: Option<&Identity>) -> bool {
        matches!((identity, &self.summary.baseline), (Some(i), Some(b)) if i != b)
    }

    fn security_view(&self, id: u32) -> Option<SecurityView> {
        self.security.get(&id).map(|s| SecurityView {
            auth_context_id: id,
            auth_type: s.auth_type,
            auth_level: s.auth_level,
            established_frame: s.established_frame,
        })
    }

    fn identity_of(&self, id: Option<u32>) -> Option<Identity> {
        id.and_then(|id| self.security.get(&id)).and_then(|s| s.identity.clone())
    }

    /// The security context for `auth`, created on first sight (None once the table is full).
    fn security_entry(&mut self, auth: &Auth<'_>) -> Option<&mut SecurityContext> {
        let id = auth.trailer.auth_context_id;
        if !self.security.contains_key(&id) && self.security.len() >= MAX_SECURITY {
            return None;
        }
        let entry = self.security.entry(id).or_insert_with(|| SecurityContext {
            auth_type: initial_auth_type(auth.trailer.auth_type),
            auth_level: auth.trailer.auth_level,
            identity: None,
            established_frame: None,
            interface: None,
        });
        entry.auth_level = auth.trailer.auth_level;
        Some(entry)
    }

    fn find_pending(&mut self, call_id: u32, unanswered: bool) -> Option<&mut Pending> {
        self.pending.iter_mut().rev().find(|p| p.call_id == call_id && !(unanswered && p.answered))
    }

    fn record_fault(&mut self, fault: FaultSummary) {
        if self.summary.faults.len() < MAX_LISTED {
            self.summary.faults.push(fault);
        } else {
            self.summary.faults_dropped = self.summary.faults_dropped.saturating_add(1);
        }
    }

    /// Processes one parsed PDU; returns the view to show when the association is authenticated.
    pub(crate) fn pdu(
        &mut self,
        ctx: &FrameCtx,
        pdu: &Pdu<'_>,
        findings: &mut Vec<Finding>,
        events: &mut PairEvents,
    ) -> Option<PduView> {
        self.summary.last_frame = self.summary.last_frame.max(ctx.frame);
        let h = &pdu.header;
        let trailer_id = pdu.auth.as_ref().map(|a| a.trailer.auth_context_id);
        // Control PDUs show their sec_trailer's context (read after processing), else the current one.
        let control_id = |a: &Association| trailer_id.or(a.current_security);
        // (opnum, identity, auth context, interface) the view shows.
        let (opnum, identity, sec_id, interface) = match &pdu.body {
            Body::Bind(b) | Body::AlterContext(b) => {
                let iface = self.bind(ctx, h.ptype, h.call_id, b, pdu.auth.as_ref(), findings, events);
                let id = control_id(self);
                (None, self.identity_of(id), id, iface)
            }
            Body::Auth3 => {
                let iface = self.find_pending(h.call_id, false).and_then(|p| p.interface);
                if let Some(auth) = &pdu.auth {
                    self.client_auth(ctx, auth, iface, findings, events);
                }
                let id = control_id(self);
                (None, self.identity_of(id), id, iface)
            }
            Body::BindAck(ack) | Body::AlterContextResp(ack) => {
                let iface = self.bind_ack(ctx, h.call_id, ack, findings);
                if let Some(auth) = &pdu.auth {
                    self.server_auth(auth);
                }
                let id = control_id(self);
                (None, self.identity_of(id), id, iface)
            }
            Body::BindNak(nak) => {
                let iface = self.bind_nak(ctx, h.call_id, nak.reject_reason, findings);
                let id = control_id(self);
                (None, self.identity_of(id), id, iface)
            }
            Body::Request(r) => {
                if let Some(auth) = &pdu.auth {
                    let _ = self.security_entry(auth);
                }
                let first = h.pfc_flags & PFC_FIRST_FRAG != 0 || !self.calls.contains_key(&h.call_id);
                let last = h.pfc_flags & PFC_LAST_FRAG != 0;
                let iids_known_now = if first {
                    self.request(ctx, h.call_id, h.pfc_flags & PFC_FIRST_FRAG != 0, last, r, h.byte_order, trailer_id)
                } else {
                    self.request_fragment(h.call_id, last, r.stub)
                };
                if iids_known_now {
                    if let Some(call) = self.calls.get(&h.call_id) {
                        if call.changed && call.iids.contains(&IID_IMANAGEDOBJECT) {
                            if let Some(identity) = call.identity.clone() {
                                findings.push(Finding::ManagedObjectQi { identity });
                            }
                        }
                    }
                }
                match self.calls.get(&h.call_id) {
                    Some(c) => (Some(c.opnum), c.identity.clone(), c.auth_context_id, c.interface),
                    None => (Some(r.opnum), None, trailer_id, self.presentation.get(&r.ctx_id).copied()),
                }
            }
            Body::Response(r) => {
                if let Some(auth) = &pdu.auth {
                    self.server_auth(auth);
                }
                self.last_answer_fault = None;
                self.answered_since_change = true;
                self.answer_view(h.call_id, trailer_id, r.ctx_id)
            }
            Body::Fault(f) => {
                if let Some(auth) = &pdu.auth {
                    self.server_auth(auth);
                }
                self.fault(ctx, h.call_id, f.status, findings);
                self.answer_view(h.call_id, trailer_id, f.ctx_id)
            }
            Body::Shutdown | Body::CoCancel | Body::Orphaned => {
                let id = control_id(self);
                (None, self.identity_of(id), id, None)
            }
        };
        if self.security.is_empty() {
            return None;
        }
        let changed = self.is_changed(identity.as_ref());
        Some(PduView {
            ptype: h.ptype,
            call_id: h.call_id,
            opnum,
            identity,
            security: sec_id.and_then(|id| self.security_view(id)),
            baseline: self.summary.baseline.clone(),
            baseline_frame: self.summary.baseline_frame,
            baseline_partial: self.summary.baseline_partial,
            changed,
            interface,
            history: self.summary.history,
        })
    }

    /// What a response or fault shows: the call it answers, else the context it names.
    fn answer_view(
        &self,
        call_id: u32,
        trailer_id: Option<u32>,
        ctx_id: u16,
    ) -> (Option<u16>, Option<Identity>, Option<u32>, Option<InterfaceView>) {
        match self.calls.get(&call_id) {
            Some(c) => (Some(c.opnum), c.identity.clone(), c.auth_context_id, c.interface),
            None => {
                let id = trailer_id.or(self.current_security);
                (None, self.identity_of(id), id, self.presentation.get(&ctx_id).copied())
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn bind(
        &mut self,
        ctx: &FrameCtx,
        ptype: PacketType,
        call_id: u32,
        b: &Bind,
        auth: Option<&Auth<'_>>,
        findings: &mut Vec<Finding>,
        events: &mut PairEvents,
    ) -> Option<InterfaceView> {
        let first_bind = ptype == PacketType::Bind && self.first_bind_call.is_none();
        if first_bind {
            self.first_bind_call = Some(call_id);
        }
        let auth_context_id = auth.map(|a| a.trailer.auth_context_id);
        let mut items = Vec::with_capacity(b.contexts.len());
        let mut mpx_item = None;
        for (pos, c) in b.contexts.iter().enumerate() {
            if let Some(bits) = feature_bitmask(c.transfer_syntaxes.first()) {
                if first_bind && bits & SECURITY_CONTEXT_MULTIPLEXING != 0 {
                    mpx_item = Some(pos);
                }
                items.push(None);
                continue;
            }
            items.push(Some(c.ctx_id));
            let view = InterfaceView {
                ctx_id: c.ctx_id,
                uuid: c.abstract_syntax.uuid,
                version: c.abstract_syntax.version,
                version_minor: c.abstract_syntax.version_minor,
            };
            let entry = InterfaceSummary {
                ctx_id: c.ctx_id,
                uuid: view.uuid,
                version: view.version,
                version_minor: view.version_minor,
                transfer_syntax: c.transfer_syntaxes.first().copied(),
                state: BindState::Proposed,
                frame: ctx.frame,
                auth_context_id,
            };
            if let Some(existing) = self.summary.interfaces.iter_mut().find(|i| i.ctx_id == c.ctx_id) {
                *existing = entry;
                self.presentation.insert(c.ctx_id, view);
            } else if self.summary.interfaces.len() < MAX_PRESENTATION {
                self.summary.interfaces.push(entry);
                self.presentation.insert(c.ctx_id, view);
            }
        }
        let interface = b.contexts.first().map(|c| InterfaceView {
            ctx_id: c.ctx_id,
            uuid: c.abstract_syntax.uuid,
            version: c.abstract_syntax.version,
            version_minor: c.abstract_syntax.version_minor,
        });
        if let Some(auth) = auth {
            self.client_auth(ctx, auth, interface, findings, events);
        }
        let changed = auth_context_id.and_then(|id| {
            let s = self.security.get(&id)?;
            let identity = s.identity.clone().filter(|i| self.is_changed(Some(i)))?;
            Some((identity, s.established_frame.unwrap_or(ctx.frame)))
        });
        if self.pending.len() >= MAX_PENDING {
            self.pending.pop_front();
        }
        self.pending.push_back(Pending {
            call_id,
            frame: ctx.frame,
            items,
            mpx_item,
            interface,
            changed,
            answered: false,
        });
        interface
    }

    /// A token the client sent in a bind, alter_context or auth3.
    fn client_auth(
        &mut self,
        ctx: &FrameCtx,
        auth: &Auth<'_>,
        interface: Option<InterfaceView>,
        findings: &mut Vec<Finding>,
        events: &mut PairEvents,
    ) {
        let id = auth.trailer.auth_context_id;
        let level = auth.trailer.auth_level;
        let (ty, token) = classify(auth);
        let Some(sc) = self.security_entry(auth) else { return };
        if let Some(ty) = ty {
            sc.auth_type = ty;
        }
        if matches!(token, Token::Negotiate) && interface.is_some() {
            // A NEGOTIATE starts a new exchange on this auth_context_id.
            sc.interface = interface;
        } else if sc.interface.is_none() {
            sc.interface = interface;
        }
        let identity = match token {
            Token::Authenticate(identity) => identity,
            Token::Kerberos => {
                if sc.established_frame.is_none() || sc.identity.is_some() {
                    sc.auth_type = AuthType::Kerberos;
                    sc.identity = None;
                    sc.established_frame = Some(ctx.frame);
                    self.current_security = Some(id);
                    self.list_identity(IdentitySummary {
                        auth_context_id: id,
                        auth_type: AuthType::Kerberos,
                        auth_level: level,
                        identity: None,
                        frame: ctx.frame,
                        changed: false,
                    });
                }
                return;
            }
            Token::Negotiate | Token::Other => return,
        };
        sc.identity = Some(identity.clone());
        sc.established_frame = Some(ctx.frame);
        let auth_type = sc.auth_type;
        let exchange_interface = sc.interface;
        self.current_security = Some(id);
        let changed = self.is_changed(Some(&identity));
        self.list_identity(IdentitySummary {
            auth_context_id: id,
            auth_type,
            auth_level: level,
            identity: Some(identity.clone()),
            frame: ctx.frame,
            changed,
        });
        let Some(baseline) = self.summary.baseline.clone() else {
            self.summary.baseline = Some(identity);
            self.summary.baseline_frame = Some(ctx.frame);
            return;
        };
        if !changed {
            return;
        }
        events.first_change = self.last_change.is_none();
        events.change_frame = Some(ctx.frame);
        self.last_change = Some((ctx.frame, ctx.time_ns));
        self.answered_since_change = false;
        if self.summary.changes.len() < MAX_IDENTITIES {
            self.summary.changes.push(IdentityChangeSummary {
                frame: ctx.frame,
                time_ns: ctx.time_ns,
                auth_context_id: id,
                from: baseline.clone(),
                to: identity.clone(),
                interface: exchange_interface,
            });
        } else {
            self.summary.changes_dropped = self.summary.changes_dropped.saturating_add(1);
        }
        findings.push(Finding::IdentityChange {
            identity,
            baseline,
            baseline_frame: self.summary.baseline_frame.unwrap_or(ctx.frame),
            auth_context_id: id,
            interface: exchange_interface,
            multiplexing: self.summary.multiplexing,
        });
    }

    fn list_identity(&mut self, entry: IdentitySummary) {
        if self.summary.identities.len() < MAX_IDENTITIES {
            self.summary.identities.push(entry);
        } else {
            self.summary.identities_dropped = self.summary.identities_dropped.saturating_add(1);
        }
    }

    /// A token the server sent: it only tells the mechanism.
    fn server_auth(&mut self, auth: &Auth<'_>) {
        let (ty, _) = classify(auth);
        if let (Some(sc), Some(ty)) = (self.security_entry(auth), ty) {
            // A request/response verifier never names SPNEGO's inner mechanism; keep what we know.
            if !matches!(ty, AuthType::Other(_)) || matches!(sc.auth_type, AuthType::Other(_)) {
                sc.auth_type = ty;
            }
        }
    }

    fn bind_ack(
        &mut self,
        ctx: &FrameCtx,
        call_id: u32,
        ack: &BindAck,
        findings: &mut Vec<Finding>,
    ) -> Option<InterfaceView> {
        let p = self.find_pending(call_id, true)?;
        p.answered = true;
        let (interface, frame, changed, mpx_item) = (p.interface, p.frame, p.changed.clone(), p.mpx_item);
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
                        && r.reason & u16::from(SECURITY_CONTEXT_MULTIPLEXING) != 0 =>
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
            self.reject(ctx, call_id, frame, Rejection::ContextRejected(result, reason), interface, changed, findings);
        }
        interface
    }

    fn bind_nak(
        &mut self,
        ctx: &FrameCtx,
        call_id: u32,
        reason: u16,
        findings: &mut Vec<Finding>,
    ) -> Option<InterfaceView> {
        let (frame, interface, changed) = match self.find_pending(call_id, true) {
            Some(p) => {
                p.answered = true;
                (p.frame, p.interface, p.changed.clone())
            }
            None => (ctx.frame, None, None),
        };
        self.reject(ctx, call_id, frame, Rejection::BindNak(reason), interface, changed, findings);
        interface
    }

    /// A bind/alter_context failed: list it, and flag it when it ran under a changed identity.
    #[allow(clippy::too_many_arguments)]
    fn reject(
        &mut self,
        ctx: &FrameCtx,
        call_id: u32,
        call_frame: u32,
        rejection: Rejection,
        interface: Option<InterfaceView>,
        changed: Option<(Identity, u32)>,
        findings: &mut Vec<Finding>,
    ) {
        self.last_fault_frame = Some(ctx.frame);
        self.record_fault(FaultSummary {
            frame: ctx.frame,
            call_id,
            rejection,
            identity: changed.as_ref().map(|c| c.0.clone()),
            changed: changed.is_some(),
            interface,
            opnum: None,
            requested_iids: Vec::new(),
            call_frame: Some(call_frame),
        });
        if let Some((identity, change_frame)) = changed {
            findings.push(Finding::FaultAfterChange {
                identity,
                rejection,
                interface,
                opnum: None,
                requested_iids: Vec::new(),
                call_frame,
                change_frame,
            });
        }
    }

    /// Records a call from its first request fragment; true when its requested IIDs are known now.
    #[allow(clippy::too_many_arguments)]
    fn request(
        &mut self,
        ctx: &FrameCtx,
        call_id: u32,
        first_fragment: bool,
        last_fragment: bool,
        r: &crate::proto::dcerpc::Request<'_>,
        order: ByteOrder,
        trailer_id: Option<u32>,
    ) -> bool {
        let auth_context_id = trailer_id.or(self.current_security);
        let identity = self.identity_of(auth_context_id);
        let changed = self.is_changed(identity.as_ref());
        let change_frame = if changed {
            auth_context_id
                .and_then(|id| self.security.get(&id))
                .and_then(|s| s.established_frame)
                .or(self.last_change.map(|c| c.0))
        } else {
            None
        };
        let interface = self.presentation.get(&r.ctx_id).copied();
        let mut iids = Vec::new();
        let mut qi_stub = None;
        let mut iids_known = false;
        if first_fragment
            && r.opnum == OPNUM_REM_QUERY_INTERFACE
            && interface.is_some_and(|i| i.uuid == IID_IREMUNKNOWN || i.uuid == IID_IREMUNKNOWN2)
        {
            if last_fragment {
                iids = dcom::rem_query_interface_iids(r.stub, order);
                iids.truncate(MAX_IIDS);
                iids_known = true;
            } else {
                // The IIDs come at the end of the stub: wait for the last fragment.
                qi_stub = Some((r.stub.get(..MAX_QI_STUB).unwrap_or(r.stub).to_vec(), order));
            }
        }
        self.generation += 1;
        let call = Call {
            generation: self.generation,
            frame: ctx.frame,
            ctx_id: r.ctx_id,
            opnum: r.opnum,
            interface,
            auth_context_id,
            identity,
            changed,
            change_frame,
            iids,
            qi_stub,
        };
        self.calls.insert(call_id, call);
        self.call_order.push_back((call_id, self.generation));
        while self.calls.len() > MAX_CALLS || self.call_order.len() > 2 * MAX_CALLS {
            let Some((old, generation)) = self.call_order.pop_front() else { break };
            if self.calls.get(&old).is_some_and(|c| c.generation == generation) {
                self.calls.remove(&old);
            }
        }
        iids_known
    }

    /// A later fragment of a request: completes a collected RemQueryInterface stub on the last one.
    fn request_fragment(&mut self, call_id: u32, last_fragment: bool, stub: &[u8]) -> bool {
        let Some(call) = self.calls.get_mut(&call_id) else { return false };
        let Some((collected, order)) = call.qi_stub.as_mut() else { return false };
        if collected.len() + stub.len() > MAX_QI_STUB {
            call.qi_stub = None;
            return false;
        }
        collected.extend_from_slice(stub);
        if !last_fragment {
            return false;
        }
        let mut iids = dcom::rem_query_interface_iids(collected, *order);
        iids.truncate(MAX_IIDS);
        call.iids = iids;
        call.qi_stub = None;
        true
    }

    fn fault(&mut self, ctx: &FrameCtx, call_id: u32, status: u32, findings: &mut Vec<Finding>) {
        self.last_answer_fault = Some((ctx.frame, status));
        let rejection = Rejection::Fault(status);
        if !self.calls.contains_key(&call_id) {
            // No request with this call_id: a fault can also answer a bind/alter_context.
            let pending = self.find_pending(call_id, true).map(|p| {
                p.answered = true;
                (p.frame, p.interface, p.changed.clone())
            });
            if let Some((frame, interface, changed)) = pending {
                self.reject(ctx, call_id, frame, rejection, interface, changed, findings);
                return;
            }
        }
        self.last_fault_frame = Some(ctx.frame);
        let call = self.calls.get(&call_id);
        self.record_fault(FaultSummary {
            frame: ctx.frame,
            call_id,
            rejection,
            identity: call.and_then(|c| c.identity.clone()),
            changed: call.is_some_and(|c| c.changed),
            interface: call.and_then(|c| c.interface),
            opnum: call.map(|c| c.opnum),
            requested_iids: call.map(|c| c.iids.clone()).unwrap_or_default(),
            call_frame: call.map(|c| c.frame),
        });
        let Some(call) = self.calls.get(&call_id) else { return };
        if !call.changed {
            return;
        }
        let Some(identity) = call.identity.clone() else { return };
        findings.push(Finding::FaultAfterChange {
            identity,
            rejection,
            interface: call.interface.or_else(|| self.presentation.get(&call.ctx_id).copied()),
            opnum: Some(call.opnum),
            requested_iids: call.iids.clone(),
            call_frame: call.frame,
            change_frame: call.change_frame.or(self.last_change.map(|c| c.0)).unwrap_or(call.frame),
        });
    }

    /// A FIN or RST; returns the abort finding when it is the server's first close.
    pub(crate) fn close(&mut self, ctx: &FrameCtx, kind: CloseKind, events: &mut PairEvents) -> Option<Finding> {
        let side = if ctx.src == self.summary.server {
            Side::Server
        } else if ctx.src == self.summary.client {
            Side::Client
        } else {
            return None;
        };
        self.summary.last_frame = self.summary.last_frame.max(ctx.frame);
        let close = CloseSummary { side, kind, frame: ctx.frame, time_ns: ctx.time_ns };
        if side == Side::Client {
            self.summary.client_close.get_or_insert(close);
            return None;
        }
        if self.summary.server_close.is_some() {
            return None;
        }
        self.summary.server_close = Some(close);
        if self.summary.client_close.is_some() {
            // The server answering the client's own close is no abort.
            return None;
        }
        // A change explains the close when the server's last answer was a fault or when nothing
        // succeeded since the change; a close long after calls went fine again is not blamed on it.
        let blamed_change =
            self.last_change.filter(|_| self.last_answer_fault.is_some() || !self.answered_since_change);
        let finding = if let Some((change_frame, change_time)) = blamed_change {
            Finding::AbortAfterChange {
                kind,
                since_change_ns: ctx.time_ns.saturating_sub(change_time),
                change_frame,
                last_fault_frame: self.last_fault_frame.filter(|f| *f >= change_frame),
            }
        } else if let Some((last_fault_frame, status)) = self.last_answer_fault {
            Finding::AbortAfterFault { kind, last_fault_frame, status, partial_baseline: self.summary.baseline_partial }
        } else {
            return None;
        };
        events.abort_frame = Some(ctx.frame);
        self.summary.abort = Some(finding.clone());
        Some(finding)
    }

    /// Did this association see an identity change?
    pub(crate) fn changed(&self) -> bool {
        self.last_change.is_some()
    }

    /// Drops per-call state once both sides closed; the summary stays.
    pub(crate) fn trim_if_done(&mut self) {
        if self.summary.client_close.is_some() && self.summary.server_close.is_some() {
            self.calls = HashMap::new();
            self.call_order = VecDeque::new();
            self.pending = VecDeque::new();
        }
    }
}
