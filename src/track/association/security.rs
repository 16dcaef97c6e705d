//! Security contexts: which mechanism, which identity, and how that identity departs from the baseline.
use super::{Association, Departure, Step, MAX_IDENTITIES, MAX_SECURITY};
use crate::proto::dcerpc::Auth;
use crate::proto::{ntlmssp, spnego};
use crate::track::summary::{IdentityChangeSummary, IdentitySummary};
use crate::track::{AuthType, ChangeKind, Doubt, Finding, Identity, InterfaceView, Match, SecurityView, Table};

/// Longest domain or user name kept, in characters (Windows names are far shorter); stops a
/// hostile AUTHENTICATE from being copied into every later PDU's view at full length.
const MAX_NAME_CHARS: usize = 256;

/// sec_trailer auth_type values (MS-RPCE 2.2.1.1.7).
pub(crate) const AUTH_TYPE_SPNEGO: u8 = 9;
pub(crate) const AUTH_TYPE_NTLMSSP: u8 = 10;
pub(crate) const AUTH_TYPE_KERBEROS: u8 = 16;
pub(crate) const AUTH_TYPE_NETLOGON: u8 = 68;

pub(super) struct SecurityContext {
    pub(super) auth_type: AuthType,
    pub(super) auth_level: u8,
    pub(super) identity: Option<Identity>,
    pub(super) established_frame: Option<u32>,
    /// Frame where the context was first seen on the wire.
    first_seen: u32,
    /// A bind/alter_context/AUTH3 of its exchange was captured (it did not start before the capture).
    exchange_seen: bool,
    /// The client's SPNEGO offered a Kerberos token in this frame; the server's answer decides.
    kerberos_offer: Option<u32>,
    /// First context item of the bind/alter_context that started this context's exchange.
    pub(super) interface: Option<InterfaceView>,
    /// How this context's identity departs from the baseline, when it does.
    pub(super) departure: Option<Departure>,
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
        // A CHALLENGE (every bind_ack) names no client: its target name is not worth decoding.
        if ntlmssp::message_type(bytes) == Some(ntlmssp::CHALLENGE) {
            return (Some(ty), Token::Other);
        }
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
        AUTH_TYPE_NTLMSSP => ntlm(auth.token, AuthType::Ntlmssp),
        AUTH_TYPE_SPNEGO => match spnego::inner_token(auth.token) {
            Ok(spnego::Inner::Ntlmssp(inner)) => ntlm(inner, AuthType::SpnegoNtlmssp),
            Ok(spnego::Inner::NtlmsspSelected) => (Some(AuthType::SpnegoNtlmssp), Token::Other),
            Ok(spnego::Inner::Kerberos) => (Some(AuthType::Kerberos), Token::Kerberos),
            Ok(spnego::Inner::Empty) | Err(_) => (None, Token::Other),
        },
        AUTH_TYPE_KERBEROS if !auth.token.is_empty() => (Some(AuthType::Kerberos), Token::Kerberos),
        t => (Some(AuthType::from_trailer(t)), Token::Other),
    }
}

fn clip(mut s: String) -> String {
    if let Some((at, _)) = s.char_indices().nth(MAX_NAME_CHARS) {
        s.truncate(at);
    }
    s
}

impl AuthType {
    /// The auth type a sec_trailer alone tells (SPNEGO stays open until a token shows its mechanism).
    pub fn from_trailer(t: u8) -> AuthType {
        match t {
            AUTH_TYPE_NTLMSSP => AuthType::Ntlmssp,
            AUTH_TYPE_KERBEROS => AuthType::Kerberos,
            AUTH_TYPE_NETLOGON => AuthType::Netlogon,
            n => AuthType::Other(n),
        }
    }
}

impl Association {
    pub(super) fn security_view(&self, id: u32) -> Option<SecurityView> {
        self.live.security.get(&id).map(|s| SecurityView {
            auth_context_id: id,
            auth_type: s.auth_type,
            auth_level: s.auth_level,
            established_frame: s.established_frame,
        })
    }

    /// The security context for `auth`, created on first sight (None once the table is full).
    pub(super) fn security_entry(&mut self, frame: u32, auth: &Auth<'_>) -> Option<&mut SecurityContext> {
        let id = auth.trailer.auth_context_id;
        if !self.live.security.contains_key(&id) {
            if self.live.security.len() >= MAX_SECURITY {
                self.hit(Table::SecurityContexts);
                return None;
            }
            self.first_security.get_or_insert(id);
        }
        let entry = self.live.security.entry(id).or_insert_with(|| SecurityContext {
            auth_type: AuthType::from_trailer(auth.trailer.auth_type),
            auth_level: auth.trailer.auth_level,
            identity: None,
            established_frame: None,
            first_seen: frame,
            exchange_seen: false,
            kerberos_offer: None,
            interface: None,
            departure: None,
        });
        entry.auth_level = auth.trailer.auth_level;
        Some(entry)
    }

    /// A token the client sent in a bind, alter_context or auth3.
    pub(super) fn client_auth(&mut self, step: &mut Step<'_>, auth: &Auth<'_>, interface: Option<InterfaceView>) {
        let id = auth.trailer.auth_context_id;
        let level = auth.trailer.auth_level;
        let frame = step.ctx.frame;
        let (ty, token) = classify(auth);
        let Some(sc) = self.security_entry(frame, auth) else { return };
        sc.exchange_seen = true;
        if let Some(ty) = ty {
            sc.auth_type = ty;
        }
        if matches!(token, Token::Negotiate) && interface.is_some() {
            // A NEGOTIATE starts a new exchange on this auth_context_id.
            sc.interface = interface;
        } else if sc.interface.is_none() {
            sc.interface = interface;
        }
        match token {
            Token::Authenticate(identity) => {
                let identity = step.names.share(identity);
                self.establish(step, id, level, identity)
            }
            // SPNEGO may offer Kerberos first and still settle on NTLMSSP: the server's answer decides.
            Token::Kerberos if auth.trailer.auth_type == AUTH_TYPE_SPNEGO => {
                if sc.established_frame.is_none() || sc.identity.is_some() {
                    sc.kerberos_offer = Some(frame);
                }
            }
            Token::Kerberos => {
                if sc.established_frame.is_none() || sc.identity.is_some() {
                    self.establish_hidden(step, id, level, frame);
                }
            }
            Token::Negotiate | Token::Other => {}
        }
    }

    /// A token the server sent: it tells the mechanism, and settles a Kerberos offer.
    pub(super) fn server_auth(&mut self, step: &mut Step<'_>, auth: &Auth<'_>) {
        let (ty, token) = classify(auth);
        let id = auth.trailer.auth_context_id;
        let Some(sc) = self.security_entry(step.ctx.frame, auth) else { return };
        if let Some(ty) = ty {
            // A request/response verifier never names SPNEGO's inner mechanism; keep what we know.
            if !matches!(ty, AuthType::Other(_)) || matches!(sc.auth_type, AuthType::Other(_)) {
                sc.auth_type = ty;
            }
        }
        let Some(offer) = sc.kerberos_offer.take() else { return };
        if matches!(ty, Some(AuthType::SpnegoNtlmssp | AuthType::Ntlmssp)) {
            return;
        }
        if matches!(token, Token::Kerberos) || ty.is_none() {
            let level = sc.auth_level;
            self.establish_hidden(step, id, level, offer);
        }
    }

    /// A context whose identity is not on the wire (Kerberos) was established in `frame`.
    fn establish_hidden(&mut self, step: &mut Step<'_>, id: u32, level: u8, frame: u32) {
        let baseline = self.summary.baseline.clone().zip(self.summary.baseline_frame);
        let Some(sc) = self.live.security.get_mut(&id) else { return };
        sc.auth_type = AuthType::Kerberos;
        sc.identity = None;
        sc.established_frame = Some(frame);
        let interface = sc.interface;
        // Beside an NTLM identity, a context the wire cannot name may be someone else.
        let departure = baseline.map(|(baseline, baseline_frame)| {
            step.findings.push(Finding::PossibleIdentityChange {
                identity: None,
                auth_context_id: id,
                interface,
                doubt: Doubt::NotVisible { auth_type: AuthType::Kerberos, baseline, baseline_frame },
            });
            Departure { kind: ChangeKind::Possible, frame: step.ctx.frame, time_ns: step.ctx.time_ns }
        });
        sc.departure = departure;
        if let Some(d) = departure {
            self.depart(d);
        }
        self.list_identity(IdentitySummary {
            auth_context_id: id,
            auth_type: AuthType::Kerberos,
            auth_level: level,
            identity: None,
            frame,
            change: departure.map(|d| d.kind),
        });
    }

    fn ignored(&self, step: &Step<'_>, identity: &Identity) -> bool {
        (step.cfg.ignore_anonymous && identity.is_anonymous())
            || (step.cfg.ignore_machine_accounts && identity.is_machine())
    }

    /// An NTLMSSP AUTHENTICATE established `identity` on context `id`.
    fn establish(&mut self, step: &mut Step<'_>, id: u32, level: u8, identity: Identity) {
        let frame = step.ctx.frame;
        let departure = if self.ignored(step, &identity) {
            None
        } else {
            match self.summary.baseline.clone().zip(self.summary.baseline_frame) {
                None => self.first_identity(step, id, &identity),
                Some((baseline, baseline_frame)) => self.later_identity(step, id, &identity, baseline, baseline_frame),
            }
        };
        let Some(sc) = self.live.security.get_mut(&id) else { return };
        sc.identity = Some(identity.clone());
        sc.established_frame = Some(frame);
        sc.departure = departure;
        let auth_type = sc.auth_type;
        self.list_identity(IdentitySummary {
            auth_context_id: id,
            auth_type,
            auth_level: level,
            identity: Some(identity),
            frame,
            change: departure.map(|d| d.kind),
        });
    }

    /// The association's first visible identity becomes its baseline; it departs from what the
    /// capture saw before it (contexts in use before the capture, a hidden context, the host pair).
    fn first_identity(&mut self, step: &mut Step<'_>, id: u32, identity: &Identity) -> Option<Departure> {
        let frame = step.ctx.frame;
        self.summary.baseline = Some(identity.clone());
        self.summary.baseline_frame = Some(frame);
        step.events.baseline = Some((identity.clone(), frame));
        let interface = self.live.security.get(&id).and_then(|s| s.interface);
        let possible = |doubt| Finding::PossibleIdentityChange {
            identity: Some(identity.clone()),
            auth_context_id: id,
            interface,
            doubt,
        };
        let unseen = self
            .live
            .security
            .iter()
            .filter(|(other, s)| **other != id && !s.exchange_seen)
            .map(|(other, s)| (Some(*other), s.first_seen))
            .chain(self.unbound_call_frame.map(|f| (None, f)))
            // Contexts first seen in one frame: the lowest id, whatever order the map keeps them in;
            // a context before a call on an unbound presentation context.
            .min_by_key(|&(ctx, f)| (f, ctx.is_none(), ctx));
        let hidden = self
            .live
            .security
            .iter()
            .filter(|(other, s)| **other != id && s.identity.is_none())
            .filter_map(|(other, s)| s.established_frame.map(|f| (*other, f, s.auth_type)))
            .min_by_key(|&(ctx, f, _)| (f, ctx));
        let (kind, finding) = if let Some((earlier_ctx, earlier_frame)) = unseen {
            (ChangeKind::Possible, possible(Doubt::CaptureStartedLate { earlier_ctx, earlier_frame }))
        } else if let Some((hidden_ctx, hidden_frame, auth_type)) = hidden {
            (ChangeKind::Possible, possible(Doubt::AfterHidden { auth_type, hidden_ctx, hidden_frame }))
        } else if let Some(pair) =
            step.pair_baseline().filter(|p| p.identity.compare(identity, step.cfg.comparison) != Match::Same)
        {
            let finding = Finding::PairIdentityChange {
                identity: identity.clone(),
                earlier: pair.identity.clone(),
                earlier_frame: pair.frame,
                earlier_stream: pair.stream,
            };
            (ChangeKind::Pair, finding)
        } else {
            return None;
        };
        step.findings.push(finding);
        let departure = Departure { kind, frame, time_ns: step.ctx.time_ns };
        self.baseline_departure = Some(departure);
        self.depart(departure);
        Some(departure)
    }

    /// A later identity: the same account keeps the baseline's standing, another one is a change.
    fn later_identity(
        &mut self,
        step: &mut Step<'_>,
        id: u32,
        identity: &Identity,
        baseline: Identity,
        baseline_frame: u32,
    ) -> Option<Departure> {
        let frame = step.ctx.frame;
        let interface = self.live.security.get(&id).and_then(|s| s.interface);
        let kind = match identity.compare(&baseline, step.cfg.comparison) {
            Match::Same => return self.baseline_departure,
            Match::Unsure => {
                step.findings.push(Finding::PossibleIdentityChange {
                    identity: Some(identity.clone()),
                    auth_context_id: id,
                    interface,
                    doubt: Doubt::Spelling { baseline, baseline_frame },
                });
                ChangeKind::Possible
            }
            Match::Different => {
                step.events.first_change = !self.changed();
                if self.summary.changes.len() < MAX_IDENTITIES {
                    self.summary.changes.push(IdentityChangeSummary {
                        frame,
                        time_ns: step.ctx.time_ns,
                        auth_context_id: id,
                        from: baseline.clone(),
                        to: identity.clone(),
                        interface,
                    });
                } else {
                    self.hit(Table::ListedIdentities);
                    self.summary.changes_dropped = self.summary.changes_dropped.saturating_add(1);
                }
                step.events.change_frame = Some(frame);
                step.findings.push(Finding::IdentityChange {
                    identity: identity.clone(),
                    baseline,
                    baseline_frame,
                    auth_context_id: id,
                    interface,
                    multiplexing: self.summary.multiplexing,
                });
                ChangeKind::Changed
            }
        };
        let departure = Departure { kind, frame, time_ns: step.ctx.time_ns };
        self.depart(departure);
        Some(departure)
    }

    fn list_identity(&mut self, entry: IdentitySummary) {
        if self.summary.identities.len() < MAX_IDENTITIES {
            self.summary.identities.push(entry);
        } else {
            self.hit(Table::ListedIdentities);
            self.summary.identities_dropped = self.summary.identities_dropped.saturating_add(1);
        }
    }
}
