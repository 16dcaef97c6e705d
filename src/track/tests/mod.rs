//! Scenarios that read as the case study: the tracker fed PDUs and closes in capture order.
mod builder;
mod departures;

use std::net::{IpAddr, Ipv4Addr};

use self::builder::*;
use super::*;
use crate::proto::dcerpc::ByteOrder;

const LE: ByteOrder = ByteOrder::Little;
const BE: ByteOrder = ByteOrder::Big;

/// One capture: a tracker, a frame counter, a clock and the current TCP stream.
struct Cap {
    t: Tracker,
    frame: u32,
    now: i64,
    stream: u32,
    client: Endpoint,
    server: Endpoint,
    o: ByteOrder,
    times: Vec<i64>,
}

fn ep(last: u8, port: u16) -> Endpoint {
    Endpoint { addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)), port }
}

impl Cap {
    fn new(o: ByteOrder) -> Cap {
        Cap {
            t: Tracker::new(),
            frame: 0,
            now: 5_078_086_000,
            stream: 0,
            client: ep(1, 59916),
            server: ep(2, 49157),
            o,
            times: vec![0],
        }
    }

    /// A new TCP connection from the same client host.
    fn connect(&mut self, stream: u32, port: u16) {
        self.stream = stream;
        self.client.port = port;
    }

    fn next(&mut self, from_client: bool) -> FrameCtx {
        self.frame += 1;
        self.now += 100_000;
        self.times.push(self.now);
        let (src, dst) = if from_client { (self.client, self.server) } else { (self.server, self.client) };
        FrameCtx { frame: self.frame, time_ns: self.now, stream: self.stream, src, dst }
    }

    fn time_of(&self, frame: u32) -> i64 {
        self.times[frame as usize]
    }

    fn c(&mut self, bytes: Vec<u8>) -> FrameVerdict {
        let ctx = self.next(true);
        let mut out = FrameVerdict::default();
        self.t.pdu(&ctx, &bytes, &mut out);
        out
    }

    fn s(&mut self, bytes: Vec<u8>) -> FrameVerdict {
        let ctx = self.next(false);
        let mut out = FrameVerdict::default();
        self.t.pdu(&ctx, &bytes, &mut out);
        out
    }

    fn close(&mut self, from_server: bool, kind: CloseKind) -> FrameVerdict {
        let ctx = self.next(!from_server);
        let mut out = FrameVerdict::default();
        self.t.close(&ctx, kind, &mut out);
        out
    }

    fn summary(&self, stream: u32) -> AssociationSummary {
        self.t.associations().find(|a| a.stream == stream).cloned().expect("association")
    }

    // ---- the case study, step by step ----

    /// Frames +1..+5: bind/NEGOTIATE, bind_ack/CHALLENGE, AUTH3 \administrator, one call.
    fn baseline(&mut self, call_id: u32, iface: &str) {
        let o = self.o;
        self.c(bind(o, WHOLE, call_id, &[item(0, iface, ndr())], Some(&ntlm(0, ntlm_negotiate()))));
        self.s(bind_ack(o, WHOLE, call_id, &[accept()], Some(&ntlm(0, ntlm_challenge()))));
        self.c(auth3(o, call_id, &ntlm(0, ntlm_authenticate("", "administrator"))));
        self.c(request(o, WHOLE, call_id, 0, 4, None, &[0; 32], Some(&verifier(10, 0))));
        self.s(response(o, call_id, 0, &[0; 32], Some(&verifier(10, 0))));
    }

    /// Frames +1..+3: alter_context (IRemUnknown2 over NDR and NDR64) with a NEGOTIATE on a new
    /// auth context, alter_context_resp (NDR accepted, NDR64 rejected), AUTH3 as `domain\user`.
    fn reauth(&mut self, call_id: u32, auth_ctx: u32, domain: &str, user: &str) {
        let o = self.o;
        let items = [item(1, IREMUNKNOWN2, ndr()), item(2, IREMUNKNOWN2, ndr64())];
        self.c(alter(o, call_id, &items, Some(&ntlm(auth_ctx, ntlm_negotiate()))));
        self.s(alter_resp(o, call_id, &[accept(), provider_reject()], Some(&ntlm(auth_ctx, ntlm_challenge()))));
        self.c(auth3(o, call_id, &ntlm(auth_ctx, ntlm_authenticate(domain, user))));
    }

    /// RemQueryInterface for `iid` on ctx 1 under `auth_ctx`.
    fn rem_qi(&mut self, call_id: u32, auth_ctx: u32, iid: &str) -> FrameVerdict {
        let o = self.o;
        let stub = rem_qi_stub(o, &[iid]);
        let ipid = Some(uuid("00007c04-0b4c-0000-1234-56789abcdef0"));
        self.c(request(o, WHOLE, call_id, 1, 3, ipid, &stub, Some(&verifier(10, auth_ctx))))
    }

    fn fault(&mut self, call_id: u32, status: u32) -> FrameVerdict {
        let o = self.o;
        self.s(fault(o, call_id, 1, status))
    }
}

fn iface(ctx_id: u16, s: &str) -> InterfaceView {
    let u = uuid(s);
    InterfaceView { ctx_id, uuid: u, version: 0, version_minor: 0 }
}

fn who(domain: &str, user: &str) -> Identity {
    Identity { domain: domain.into(), user: user.into() }
}

fn admin() -> Identity {
    who("", "administrator")
}

fn jiangyue() -> Identity {
    who("REDMOND", "jiangyue")
}

/// Frames 1-12 of the WinPE capture: baseline, change to REDMOND\jiangyue, two faults.
fn winpe_until_faults(cap: &mut Cap) -> Vec<FrameVerdict> {
    cap.baseline(3, ISYSTEMACTIVATOR); // 1-5
    let mut v = Vec::new();
    cap.reauth(8, 79232, "REDMOND", "jiangyue"); // 6-8
    v.push(cap.rem_qi(8, 79232, IMANAGEDOBJECT)); // 9
    v.push(cap.fault(8, 0x721)); // 10
    v.push(cap.rem_qi(9, 79232, IPROVIDECLASSINFO)); // 11
    v.push(cap.fault(9, 5)); // 12
    v
}

fn all_findings(cap: &mut Cap, steps: impl FnOnce(&mut Cap) -> Vec<FrameVerdict>) -> Vec<Finding> {
    steps(cap).into_iter().flat_map(|v| v.findings).collect()
}

#[test]
fn winpe_change_qi_faults_and_server_fin_abort() {
    let mut cap = Cap::new(LE);
    cap.baseline(3, ISYSTEMACTIVATOR);
    let o = cap.o;
    let items = [item(1, IREMUNKNOWN2, ndr()), item(2, IREMUNKNOWN2, ndr64())];
    let f6 = cap.c(alter(o, 8, &items, Some(&ntlm(79232, ntlm_negotiate()))));
    let f7 = cap.s(alter_resp(o, 8, &[accept(), provider_reject()], Some(&ntlm(79232, ntlm_challenge()))));
    let f8 = cap.c(auth3(o, 8, &ntlm(79232, ntlm_authenticate("REDMOND", "jiangyue"))));
    assert!(f6.findings.is_empty() && f7.findings.is_empty(), "NDR64 rejection beside acceptance is normal");
    assert_eq!(
        f8.findings,
        vec![Finding::IdentityChange {
            identity: jiangyue(),
            baseline: admin(),
            baseline_frame: 3,
            auth_context_id: 79232,
            interface: Some(iface(1, IREMUNKNOWN2)),
            multiplexing: false,
        }]
    );
    // The AUTH3 shows the identity it just established.
    assert_eq!(f8.pdus.len(), 1);
    assert_eq!(f8.pdus[0].identity, Some(jiangyue()));
    assert!(f8.pdus[0].changed());
    assert_eq!(f8.stream, Some(0));

    let f9 = cap.rem_qi(8, 79232, IMANAGEDOBJECT);
    assert_eq!(f9.findings, vec![Finding::ManagedObjectQi { identity: jiangyue() }]);
    let view = &f9.pdus[0];
    assert_eq!(view.opnum, Some(3));
    assert_eq!(view.interface, Some(iface(1, IREMUNKNOWN2)));
    assert_eq!(view.baseline, Some(admin()));
    assert_eq!(view.baseline_frame, Some(3));
    assert!(view.changed() && !view.baseline_partial);
    assert_eq!(
        view.security,
        Some(SecurityView {
            auth_context_id: 79232,
            auth_type: AuthType::Ntlmssp,
            auth_level: 5,
            established_frame: Some(8)
        })
    );

    let f10 = cap.fault(8, 0x721);
    assert_eq!(
        f10.findings,
        vec![Finding::FaultAfterChange {
            kind: ChangeKind::Changed,
            identity: Some(jiangyue()),
            rejection: Rejection::Fault(0x721),
            interface: Some(iface(1, IREMUNKNOWN2)),
            opnum: Some(3),
            requested_iids: vec![uuid(IMANAGEDOBJECT)].into(),
            call_frame: 9,
            change_frame: 8,
        }]
    );
    assert_eq!(f10.pdus[0].identity, Some(jiangyue()));
    let f11 = cap.rem_qi(9, 79232, IPROVIDECLASSINFO);
    assert!(f11.findings.is_empty(), "IProvideClassInfo is not IManagedObject");
    let f12 = cap.fault(9, 5);
    assert!(matches!(
        f12.findings.as_slice(),
        [Finding::FaultAfterChange { rejection: Rejection::Fault(5), call_frame: 11, .. }]
    ));

    cap.now = cap.time_of(8) + 4_200_000 - 100_000;
    let f13 = cap.close(true, CloseKind::Fin);
    assert_eq!(
        f13.findings,
        vec![Finding::AbortAfterChange {
            kind: ChangeKind::Changed,
            close: CloseKind::Fin,
            since_change_ns: 4_200_000,
            change_frame: 8,
            last_fault_frame: Some(12),
        }]
    );
    assert_eq!(f13.stream, Some(0));
    assert!(f13.pdus.is_empty());
    // The client's FIN and a later server RST add nothing.
    assert!(cap.close(false, CloseKind::Fin).is_empty());
    assert!(cap.close(true, CloseKind::Rst).is_empty());

    let s = cap.summary(0);
    assert_eq!(s.server_close.map(|c| (c.kind, c.frame)), Some((CloseKind::Fin, 13)));
    assert_eq!(s.client_close.map(|c| (c.kind, c.frame)), Some((CloseKind::Fin, 14)));
    assert_eq!(s.ended().map(|c| c.side), Some(Side::Server));
    assert_eq!(s.faults.len(), 2);
    assert_eq!(s.changes.len(), 1);
    assert_eq!((s.first_frame, s.last_frame), (1, 15));
}

#[test]
fn full_os_same_faults_client_fin_is_no_abort() {
    let mut cap = Cap::new(LE);
    let findings = all_findings(&mut cap, winpe_until_faults);
    assert_eq!(findings.len(), 3, "ManagedObjectQi and two faults: {findings:?}");
    assert!(cap.close(false, CloseKind::Fin).is_empty());
    // The server answering the client's FIN is not an abort.
    assert!(cap.close(true, CloseKind::Fin).is_empty());
    assert_eq!(cap.summary(0).abort, None);
}

#[test]
fn hotfix_capture_has_no_findings() {
    let mut cap = Cap::new(LE);
    cap.baseline(11, IENUMWBEMCLASSOBJECT);
    let o = cap.o;
    // IRemUnknown2 bound under the same security context; QI for IProvideClassInfo only.
    let items = [item(1, IREMUNKNOWN2, ndr()), item(2, IREMUNKNOWN2, ndr64())];
    let mut all = vec![
        cap.c(alter(o, 12, &items, Some(&verifier(10, 0)))),
        cap.s(alter_resp(o, 12, &[accept(), provider_reject()], None)),
        cap.rem_qi(12, 0, IPROVIDECLASSINFO),
        cap.s(response(o, 12, 1, &[0; 16], Some(&verifier(10, 0)))),
    ];
    all.push(cap.close(false, CloseKind::Fin));
    all.push(cap.close(true, CloseKind::Fin));
    assert!(all.iter().all(|v| v.findings.is_empty()), "{all:?}");
    assert!(all.iter().take(4).all(|v| v.pdus.len() == 1 && !v.pdus[0].changed()));
}

#[test]
fn same_user_on_a_second_context_is_no_change() {
    let mut cap = Cap::new(LE);
    cap.baseline(3, ISYSTEMACTIVATOR);
    cap.reauth(8, 79232, "", "administrator");
    let v = cap.rem_qi(8, 79232, IMANAGEDOBJECT);
    assert!(v.findings.is_empty());
    assert!(!v.pdus[0].changed());
    assert!(cap.fault(8, 5).findings.is_empty());
    // Re-authenticating the baseline context itself as the same user is no change either.
    let o = cap.o;
    let v = cap.c(auth3(o, 10, &ntlm(0, ntlm_authenticate("", "Administrator"))));
    assert!(v.findings.is_empty());
    assert!(cap.summary(0).changes.is_empty());
}

#[test]
fn identity_compare_ignores_case() {
    let mut cap = Cap::new(LE);
    cap.baseline(3, ISYSTEMACTIVATOR);
    cap.reauth(8, 2, "redmond", "JiangYue");
    cap.reauth(9, 3, "REDMOND", "jiangyue");
    let s = cap.summary(0);
    assert_eq!(s.baseline, Some(admin()));
    // Both re-authentications differ from the baseline; they do not differ from each other.
    assert_eq!(s.changes.len(), 2);
    assert_eq!(who("ReDmOnD", "JIANGYUE").compare(&jiangyue(), Comparison::Account), Match::Same);
    assert_eq!(who("REDMOND", "jiangyue2").compare(&jiangyue(), Comparison::Account), Match::Different);
}

#[test]
fn kerberos_beside_an_ntlm_baseline_is_a_possible_change_once_the_server_picks_it() {
    let mut cap = Cap::new(LE);
    cap.baseline(3, ISYSTEMACTIVATOR);
    let o = cap.o;
    let items = [item(1, IREMUNKNOWN2, ndr())];
    // SPNEGO offering Kerberos first is not yet a Kerberos context: the server's answer decides.
    let v = cap.c(alter(o, 8, &items, Some(&spnego(5, spnego_kerberos()))));
    assert!(v.findings.is_empty());
    assert_eq!(v.pdus[0].security.as_ref().and_then(|s| s.established_frame), None);
    let r = cap.s(alter_resp(o, 8, &[accept()], Some(&spnego(5, spnego_resp(&[0x6f, 0x00], true)))));
    match r.findings.as_slice() {
        [Finding::PossibleIdentityChange {
            identity: None,
            auth_context_id: 5,
            doubt: Doubt::NotVisible { baseline, baseline_frame: 3, .. },
            ..
        }] => {
            assert_eq!(baseline, &admin())
        }
        other => panic!("expected a possible change, got {other:?}"),
    }
    let view = &r.pdus[0];
    assert_eq!(view.identity, None);
    assert_eq!(view.change, Some(ChangeKind::Possible));
    assert!(!view.changed());
    assert_eq!(view.security.as_ref().map(|s| s.auth_type), Some(AuthType::Kerberos));
    assert_eq!(view.security.as_ref().and_then(|s| s.established_frame), Some(6));
    // Raw Kerberos needs no answer to be what it is.
    let raw = cap.c(alter(o, 9, &items, Some(&Auth { auth_type: 16, level: 6, ctx_id: 6, token: vec![0x6e, 0] })));
    assert!(matches!(raw.findings.as_slice(), [Finding::PossibleIdentityChange { auth_context_id: 6, .. }]));
    // Calls under it: no IManagedObject note (no change is known), faults are Notes.
    assert!(cap.rem_qi(10, 5, IMANAGEDOBJECT).findings.is_empty());
    let f = cap.fault(10, 5);
    assert!(
        matches!(
            f.findings.as_slice(),
            [Finding::FaultAfterChange { kind: ChangeKind::Possible, identity: None, change_frame: 7, .. }]
        ),
        "{f:?}"
    );
    assert_eq!(f.findings[0].expert(), Expert::PossibleIdentityChange);
    assert!(f.findings[0].message().ends_with("(identity not verified)"), "{}", f.findings[0].message());
    let s = cap.summary(0);
    assert!(s.changes.is_empty());
    assert_eq!(s.identities.iter().filter(|i| i.auth_type == AuthType::Kerberos).count(), 2);
}

#[test]
fn spnego_that_settles_on_ntlm_is_never_kerberos() {
    let mut cap = Cap::new(LE);
    let o = cap.o;
    let items = [item(0, IREMUNKNOWN2, ndr())];
    cap.c(bind(o, WHOLE, 2, &items, Some(&spnego(0, spnego_kerberos()))));
    // The server's negTokenResp selects NTLMSSP (supportedMech) with its CHALLENGE.
    cap.s(bind_ack(o, WHOLE, 2, &[accept()], Some(&spnego(0, spnego_resp(&ntlm_challenge(), true)))));
    let a = cap.c(auth3(o, 2, &spnego(0, spnego_resp(&ntlm_authenticate("BLACKCLOVER", "Administrator"), false))));
    assert!(a.findings.is_empty(), "{:?}", a.findings);
    let s = cap.summary(0);
    assert_eq!(s.identities.len(), 1);
    assert_eq!(s.identities[0].auth_type, AuthType::SpnegoNtlmssp);
    assert_eq!(s.identities[0].frame, 3);
}

#[test]
fn anonymous_after_named_is_a_change_and_back() {
    let mut cap = Cap::new(LE);
    cap.baseline(3, ISYSTEMACTIVATOR);
    let o = cap.o;
    let v = cap.c(auth3(o, 8, &ntlm(4, ntlm_anonymous())));
    assert!(matches!(&v.findings[..], [Finding::IdentityChange { identity, .. }] if identity.is_anonymous()), "{v:?}");

    // And a named identity after an anonymous baseline.
    let mut cap = Cap::new(LE);
    cap.c(bind(o, WHOLE, 1, &[item(0, ISYSTEMACTIVATOR, ndr())], Some(&ntlm(0, ntlm_negotiate()))));
    cap.c(auth3(o, 1, &ntlm(0, ntlm_anonymous())));
    let v = cap.c(auth3(o, 2, &ntlm(1, ntlm_authenticate("REDMOND", "jiangyue"))));
    assert!(matches!(&v.findings[..], [Finding::IdentityChange { baseline, .. }] if baseline.is_anonymous()));
    assert!(v.findings[0].message().contains("after NT AUTHORITY\\ANONYMOUS LOGON (frame 2)"));
}

#[test]
fn fault_without_change_then_server_fin_is_abort_after_fault() {
    let mut cap = Cap::new(LE);
    cap.baseline(3, ISYSTEMACTIVATOR);
    let o = cap.o;
    cap.c(request(o, WHOLE, 4, 0, 3, None, &[0; 8], Some(&verifier(10, 0))));
    assert!(cap.s(fault(o, 4, 0, 0x721)).findings.is_empty());
    let v = cap.close(true, CloseKind::Rst);
    assert_eq!(
        v.findings,
        vec![Finding::AbortAfterFault {
            close: CloseKind::Rst,
            last_fault_frame: 7,
            status: 0x721,
            partial_baseline: false
        }]
    );
}

#[test]
fn fault_then_response_then_server_fin_is_quiet() {
    let mut cap = Cap::new(LE);
    cap.baseline(3, ISYSTEMACTIVATOR);
    let o = cap.o;
    cap.c(request(o, WHOLE, 4, 0, 3, None, &[0; 8], Some(&verifier(10, 0))));
    cap.s(fault(o, 4, 0, 5));
    cap.c(request(o, WHOLE, 5, 0, 3, None, &[0; 8], Some(&verifier(10, 0))));
    cap.s(response(o, 5, 0, &[0; 8], Some(&verifier(10, 0))));
    assert!(cap.close(true, CloseKind::Fin).is_empty());
}

#[test]
fn a_server_close_long_after_calls_succeeded_again_is_not_blamed_on_the_change() {
    let mut cap = Cap::new(LE);
    cap.baseline(3, ISYSTEMACTIVATOR);
    cap.reauth(8, 79232, "REDMOND", "jiangyue");
    let o = cap.o;
    cap.c(request(o, WHOLE, 9, 0, 3, None, &[0; 8], Some(&verifier(10, 0))));
    cap.s(response(o, 9, 0, &[0; 8], Some(&verifier(10, 0))));
    assert!(cap.close(true, CloseKind::Fin).is_empty());
}

#[test]
fn a_server_close_right_after_the_change_with_no_answer_is_an_abort() {
    let mut cap = Cap::new(LE);
    cap.baseline(3, ISYSTEMACTIVATOR);
    cap.reauth(8, 79232, "REDMOND", "jiangyue");
    let findings = cap.close(true, CloseKind::Rst);
    assert!(matches!(
        findings.findings.as_slice(),
        [Finding::AbortAfterChange { kind: ChangeKind::Changed, close: CloseKind::Rst, last_fault_frame: None, .. }]
    ));
}

#[test]
fn client_fin_after_change_is_no_abort() {
    let mut cap = Cap::new(LE);
    cap.baseline(3, ISYSTEMACTIVATOR);
    cap.reauth(8, 79232, "REDMOND", "jiangyue");
    assert!(cap.close(false, CloseKind::Fin).is_empty());
    assert!(cap.close(false, CloseKind::Rst).is_empty());
    let s = cap.summary(0);
    assert_eq!(s.client_close.map(|c| (c.kind, c.frame)), Some((CloseKind::Fin, 9)));
    assert_eq!(s.ended().map(|c| c.side), Some(Side::Client));
}

#[test]
fn second_server_close_does_not_repeat() {
    let mut cap = Cap::new(LE);
    cap.baseline(3, ISYSTEMACTIVATOR);
    cap.reauth(8, 79232, "REDMOND", "jiangyue");
    let first = cap.close(true, CloseKind::Fin);
    assert!(matches!(
        first.findings.as_slice(),
        [Finding::AbortAfterChange {
            kind: ChangeKind::Changed,
            close: CloseKind::Fin,
            change_frame: 8,
            last_fault_frame: None,
            ..
        }]
    ));
    assert!(cap.close(true, CloseKind::Fin).is_empty(), "retransmitted FIN");
    assert!(cap.close(true, CloseKind::Rst).is_empty(), "RST after FIN");
}

#[test]
fn close_on_unknown_stream_is_ignored() {
    let mut cap = Cap::new(LE);
    assert!(!cap.t.tracks(0));
    assert!(cap.close(true, CloseKind::Fin).is_empty());
    cap.baseline(3, ISYSTEMACTIVATOR);
    assert!(cap.t.tracks(0));
    assert!(!cap.t.tracks(1));
}

#[test]
fn ndr64_rejection_beside_acceptance_is_no_finding_but_total_rejection_is() {
    let mut cap = Cap::new(LE);
    cap.baseline(3, ISYSTEMACTIVATOR);
    cap.reauth(8, 79232, "REDMOND", "jiangyue");
    let o = cap.o;
    // An alter_context under the changed context: one of two rejected is normal.
    let items = [item(3, IENUMWBEMCLASSOBJECT, ndr()), item(4, IENUMWBEMCLASSOBJECT, ndr64())];
    cap.c(alter(o, 10, &items, Some(&verifier(10, 79232))));
    assert!(cap.s(alter_resp(o, 10, &[accept(), provider_reject()], None)).findings.is_empty());
    // Every item rejected under the changed identity is a failure.
    cap.c(alter(o, 11, &items, Some(&verifier(10, 79232))));
    let v = cap.s(alter_resp(o, 11, &[(2, 1, ndr()), provider_reject()], None));
    assert_eq!(
        v.findings,
        vec![Finding::FaultAfterChange {
            kind: ChangeKind::Changed,
            identity: Some(jiangyue()),
            rejection: Rejection::ContextRejected(2, 1),
            interface: Some(iface(3, IENUMWBEMCLASSOBJECT)),
            opnum: None,
            requested_iids: vec![].into(),
            call_frame: 11,
            change_frame: 8,
        }]
    );
    let s = cap.summary(0);
    let states: Vec<(u16, BindState)> = s.interfaces.iter().map(|i| (i.ctx_id, i.state)).collect();
    assert_eq!(
        states,
        vec![
            (0, BindState::Accepted),
            (1, BindState::Accepted),
            (2, BindState::Rejected { result: 2, reason: 2 }),
            (3, BindState::Rejected { result: 2, reason: 1 }),
            (4, BindState::Rejected { result: 2, reason: 2 }),
        ]
    );
}

#[test]
fn bind_nak_after_changed_spnego_authenticate() {
    let mut cap = Cap::new(LE);
    cap.baseline(3, ISYSTEMACTIVATOR);
    let o = cap.o;
    let items = [item(1, IREMUNKNOWN2, ndr())];
    cap.c(alter(o, 8, &items, Some(&spnego(7, spnego_init(&ntlm_negotiate())))));
    cap.s(alter_resp(o, 8, &[accept()], Some(&spnego(7, spnego_resp(&ntlm_challenge(), true)))));
    let v = cap.c(alter(o, 8, &items, Some(&spnego(7, spnego_resp(&ntlm_authenticate("REDMOND", "jiangyue"), false)))));
    assert!(
        matches!(&v.findings[..], [Finding::IdentityChange { auth_context_id: 7, interface: Some(i), .. }] if i.ctx_id == 1),
        "{v:?}"
    );
    assert_eq!(v.pdus[0].security.as_ref().map(|s| s.auth_type), Some(AuthType::SpnegoNtlmssp));
    let nak = cap.s(bind_nak(o, 8, 9));
    assert_eq!(
        nak.findings,
        vec![Finding::FaultAfterChange {
            kind: ChangeKind::Changed,
            identity: Some(jiangyue()),
            rejection: Rejection::BindNak(9),
            interface: Some(iface(1, IREMUNKNOWN2)),
            opnum: None,
            requested_iids: vec![].into(),
            call_frame: 8,
            change_frame: 8,
        }]
    );
    assert_eq!(cap.summary(0).faults.len(), 1);
}

#[test]
fn fault_answering_an_alter_context_under_changed_identity() {
    let mut cap = Cap::new(LE);
    cap.baseline(3, ISYSTEMACTIVATOR);
    let o = cap.o;
    let items = [item(1, IREMUNKNOWN2, ndr())];
    cap.c(alter(o, 8, &items, Some(&spnego(7, spnego_resp(&ntlm_authenticate("REDMOND", "jiangyue"), false)))));
    let v = cap.s(fault(o, 8, 0, 0x721));
    assert!(matches!(
        &v.findings[..],
        [Finding::FaultAfterChange { rejection: Rejection::Fault(0x721), opnum: None, call_frame: 6, .. }]
    ));
}

#[test]
fn mid_association_start_has_partial_baseline() {
    let mut cap = Cap::new(LE);
    let o = cap.o;
    // The capture starts with the server's answer: the client is its destination.
    let v = cap.s(response(o, 7, 0, &[0; 8], Some(&verifier(10, 0))));
    assert_eq!(v.pdus.len(), 1);
    assert_eq!(v.pdus[0].identity, None);
    assert!(v.pdus[0].baseline_partial);
    let s = cap.summary(0);
    assert_eq!((s.client, s.server), (cap.client, cap.server));
    assert!(s.baseline_partial);
    // The first identity seen becomes the baseline; a later different one is a change.
    cap.reauth(8, 79232, "REDMOND", "jiangyue");
    let v = cap.c(auth3(o, 9, &ntlm(79233, ntlm_authenticate("", "administrator"))));
    assert!(matches!(
        &v.findings[..],
        [Finding::IdentityChange { identity, baseline, baseline_frame: 4, .. }] if *identity == admin() && *baseline == jiangyue()
    ));
    assert!(v.pdus[0].baseline_partial);
}

#[test]
fn third_association_of_a_host_pair_carries_history() {
    let mut cap = Cap::new(LE);
    winpe_until_faults(&mut cap);
    cap.close(true, CloseKind::Fin); // 13
    cap.close(false, CloseKind::Fin);

    cap.connect(1, 59917);
    cap.baseline(11, IENUMWBEMCLASSOBJECT);
    let first = cap.c(request(cap.o, WHOLE, 12, 0, 3, None, &[0; 4], Some(&verifier(10, 0))));
    assert_eq!(
        first.pdus[0].history,
        PairHistory { earlier: 1, with_change: 1, with_abort: 1, last_change_frame: Some(13) }
    );
    cap.reauth(13, 2, "REDMOND", "jiangyue");
    let change = cap.frame;
    cap.rem_qi(13, 2, IMANAGEDOBJECT);
    cap.fault(13, 0x721);
    let abort = cap.close(true, CloseKind::Fin);
    assert!(matches!(&abort.findings[..], [Finding::AbortAfterChange { change_frame, .. }] if *change_frame == change));
    let abort_frame = cap.frame;

    // A different client host has its own history.
    cap.connect(5, 50000);
    cap.client.addr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9));
    cap.baseline(1, ISYSTEMACTIVATOR);
    assert_eq!(cap.summary(5).history, PairHistory::default());

    cap.client.addr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    cap.connect(2, 59918);
    cap.baseline(17, IREMUNKNOWN2);
    let v = cap.c(request(cap.o, WHOLE, 18, 0, 6, None, &[0; 4], Some(&verifier(10, 0))));
    assert_eq!(
        v.pdus[0].history,
        PairHistory { earlier: 2, with_change: 2, with_abort: 2, last_change_frame: Some(abort_frame) }
    );
    assert_eq!(cap.summary(2).history.earlier, 2);
}

#[test]
fn history_counts_a_change_of_a_still_open_association() {
    let mut cap = Cap::new(LE);
    cap.baseline(3, ISYSTEMACTIVATOR);
    cap.reauth(8, 2, "REDMOND", "jiangyue");
    cap.connect(1, 59917);
    cap.baseline(4, ISYSTEMACTIVATOR);
    assert_eq!(
        cap.summary(1).history,
        PairHistory { earlier: 1, with_change: 1, with_abort: 0, last_change_frame: Some(8) }
    );
}

#[test]
fn unauthenticated_association_gets_no_views_until_a_sec_trailer() {
    let mut cap = Cap::new(LE);
    let o = cap.o;
    let v = cap.c(bind(o, WHOLE, 1, &[item(0, ISYSTEMACTIVATOR, ndr())], None));
    assert!(v.is_empty() && v.stream.is_none());
    cap.s(bind_ack(o, WHOLE, 1, &[accept()], None));
    assert!(cap.c(request(o, WHOLE, 2, 0, 3, None, &[0; 4], None)).is_empty());
    assert!(cap.t.tracks(0));
    // The bind carrying a NEGOTIATE is shown: the association is authenticated from it on.
    let mut cap = Cap::new(LE);
    let v = cap.c(bind(o, WHOLE, 1, &[item(0, ISYSTEMACTIVATOR, ndr())], Some(&ntlm(0, ntlm_negotiate()))));
    assert_eq!(v.pdus.len(), 1);
    assert_eq!(v.pdus[0].identity, None);
    assert_eq!(v.pdus[0].interface, Some(iface(0, ISYSTEMACTIVATOR)));
    assert_eq!(
        v.pdus[0].security.as_ref().map(|s| (s.auth_type, s.established_frame)),
        Some((AuthType::Ntlmssp, None))
    );
}

#[test]
fn request_without_sec_trailer_runs_under_the_latest_context() {
    let mut cap = Cap::new(LE);
    cap.baseline(3, ISYSTEMACTIVATOR);
    cap.reauth(8, 79232, "REDMOND", "jiangyue");
    let o = cap.o;
    let v = cap.c(request(o, WHOLE, 9, 1, 5, None, &[0; 4], None));
    assert_eq!(v.pdus[0].identity, Some(jiangyue()));
    assert_eq!(v.pdus[0].security.as_ref().map(|s| s.auth_context_id), Some(79232));
    let r = cap.s(response(o, 9, 1, &[0; 4], None));
    assert_eq!(r.pdus[0].identity, Some(jiangyue()));
    assert_eq!(r.pdus[0].opnum, Some(5));
    // A call on the baseline context is not changed, though the association is.
    let v = cap.c(request(o, WHOLE, 10, 0, 5, None, &[0; 4], Some(&verifier(10, 0))));
    assert_eq!(v.pdus[0].identity, Some(admin()));
    assert!(!v.pdus[0].changed());
    assert!(cap.s(fault(o, 10, 0, 5)).findings.is_empty());
}

#[test]
fn a_fragmented_rem_query_interface_is_read_when_its_last_fragment_arrives() {
    let mut cap = Cap::new(LE);
    cap.baseline(3, ISYSTEMACTIVATOR);
    cap.reauth(8, 79232, "REDMOND", "jiangyue");
    let o = cap.o;
    let stub = rem_qi_stub(o, &[IMANAGEDOBJECT]);
    // The IID array is in the tail: nothing can be said on the first fragment.
    let (head, tail) = stub.split_at(stub.len() - 20);
    let a = cap.c(request(o, PFC_FIRST_FRAG, 9, 1, 3, None, head, Some(&verifier(10, 79232))));
    assert!(a.findings.is_empty());
    let b = cap.c(request(o, PFC_LAST_FRAG, 9, 1, 3, None, tail, Some(&verifier(10, 79232))));
    assert!(matches!(b.findings.as_slice(), [Finding::ManagedObjectQi { .. }]), "{:?}", b.findings);
    assert_eq!(b.pdus[0].interface, Some(iface(1, IREMUNKNOWN2)));
    assert_eq!(b.pdus[0].opnum, Some(3));
}

#[test]
fn multiplexing_follows_bind_time_feature_negotiation() {
    // PFC_CONC_MPX alone is not security context multiplexing (MS-RPCE 3.3.1.5.4).
    let mut cap = Cap::new(LE);
    let o = cap.o;
    cap.c(bind(o, WHOLE | PFC_CONC_MPX, 3, &[item(0, ISYSTEMACTIVATOR, ndr())], Some(&ntlm(0, ntlm_negotiate()))));
    cap.s(bind_ack(o, WHOLE | PFC_CONC_MPX, 3, &[accept()], Some(&ntlm(0, ntlm_challenge()))));
    assert!(!cap.summary(0).multiplexing);

    let mut cap = Cap::new(LE);
    let items = [
        item(0, ISYSTEMACTIVATOR, ndr()),
        Item { ctx_id: 1, abstract_syntax: syntax(ISYSTEMACTIVATOR, 0, 0), transfer: vec![bind_time_features(3)] },
    ];
    cap.c(bind(o, WHOLE, 3, &items, Some(&ntlm(0, ntlm_negotiate()))));
    cap.s(bind_ack(o, WHOLE, 3, &[accept(), (3, 1, ndr())], Some(&ntlm(0, ntlm_challenge()))));
    cap.c(auth3(o, 3, &ntlm(0, ntlm_authenticate("", "administrator"))));
    let s = cap.summary(0);
    assert!(s.multiplexing);
    assert_eq!(s.interfaces.len(), 1, "the feature item is no presentation context");
    cap.reauth(8, 79232, "REDMOND", "jiangyue");
    assert!(cap.t.associations().next().is_some());
    // The server declining the bit (reason 0) leaves it off.
    let mut cap = Cap::new(LE);
    cap.c(bind(o, WHOLE, 3, &items, Some(&ntlm(0, ntlm_negotiate()))));
    cap.s(bind_ack(o, WHOLE, 3, &[accept(), (3, 2, ndr())], Some(&ntlm(0, ntlm_challenge()))));
    assert!(!cap.summary(0).multiplexing);
}

#[test]
fn big_endian_association_is_tracked_like_little_endian() {
    let mut cap = Cap::new(BE);
    let findings = all_findings(&mut cap, winpe_until_faults);
    assert_eq!(findings.len(), 3, "{findings:?}");
    assert!(matches!(
        &findings[1],
        Finding::FaultAfterChange { rejection: Rejection::Fault(0x721), requested_iids, .. } if requested_iids[..] == [uuid(IMANAGEDOBJECT)]
    ));
    assert_eq!(cap.summary(0).changes[0].auth_context_id, 79232);
}

#[test]
fn garbage_and_truncated_pdus_are_ignored() {
    let mut cap = Cap::new(LE);
    assert!(cap.c(b"GET / HTTP/1.1\r\n\r\n".to_vec()).is_empty());
    assert!(cap.c(Vec::new()).is_empty());
    assert!(!cap.t.tracks(0));
    cap.baseline(3, ISYSTEMACTIVATOR);
    let o = cap.o;
    let whole = auth3(o, 8, &ntlm(79232, ntlm_authenticate("REDMOND", "jiangyue")));
    for cut in [1, 10, 16, 20, whole.len() - 1] {
        assert!(cap.c(whole[..cut].to_vec()).findings.is_empty());
    }
    assert!(cap.summary(0).changes.is_empty());
}

/// A small deterministic generator: no dependency, same bytes every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn hostile_bytes_never_panic() {
    let mut cap = Cap::new(LE);
    let o = cap.o;
    let seeds = [
        bind(o, WHOLE, 1, &[item(0, ISYSTEMACTIVATOR, ndr())], Some(&ntlm(0, ntlm_negotiate()))),
        bind_ack(o, WHOLE, 1, &[accept(), provider_reject()], Some(&ntlm(0, ntlm_challenge()))),
        auth3(o, 1, &ntlm(0, ntlm_authenticate("REDMOND", "jiangyue"))),
        alter(o, 2, &[item(1, IREMUNKNOWN2, ndr())], Some(&spnego(3, spnego_resp(&ntlm_anonymous(), false)))),
        request(o, WHOLE, 2, 1, 3, None, &rem_qi_stub(o, &[IMANAGEDOBJECT, IPROVIDECLASSINFO]), Some(&verifier(10, 3))),
        fault(o, 2, 1, 0x721),
        bind_nak(o, 2, 9),
    ];
    let mut rng = Lcg(0x5eed);
    for round in 0..20_000u32 {
        let mut bytes = seeds[round as usize % seeds.len()].clone();
        for _ in 0..(rng.next() % 6) {
            let at = rng.next() as usize % bytes.len();
            bytes[at] = rng.next() as u8;
        }
        if rng.next().is_multiple_of(4) {
            let keep = rng.next() as usize % (bytes.len() + 1);
            bytes.truncate(keep);
        }
        cap.stream = round % 7;
        if rng.next().is_multiple_of(50) {
            cap.close(rng.next().is_multiple_of(2), CloseKind::Fin);
        } else if rng.next().is_multiple_of(2) {
            cap.c(bytes);
        } else {
            cap.s(bytes);
        }
    }
    let _ = cap.t.render_summary();
}

#[test]
fn memory_stays_bounded_under_a_flood_of_calls_and_contexts() {
    let mut cap = Cap::new(LE);
    cap.baseline(3, ISYSTEMACTIVATOR);
    let o = cap.o;
    for i in 0..10_000u32 {
        cap.c(request(o, WHOLE, 100 + i, (i % 600) as u16, 3, None, &[], Some(&verifier(10, i % 400))));
        cap.s(fault(o, 100 + i, 0, 5));
    }
    for i in 0..400u16 {
        cap.c(alter(o, 20_000 + u32::from(i), &[item(i, IREMUNKNOWN2, ndr())], None));
    }
    let s = cap.summary(0);
    assert_eq!(s.faults.len(), association::MAX_LISTED);
    assert_eq!(s.fault_count(), 10_000);
    assert!(s.interfaces.len() <= association::MAX_PRESENTATION);
    assert!(cap.t.render_summary().contains("... and 9000 more"));
}

#[test]
fn messages_read_as_specified() {
    let mut cap = Cap::new(LE);
    let mut all = winpe_until_faults(&mut cap);
    cap.now = cap.time_of(8) + 4_200_000 - 100_000;
    all.push(cap.close(true, CloseKind::Fin));
    let messages: Vec<String> = all.iter().flat_map(|v| &v.findings).map(Finding::message).collect();
    assert_eq!(
        messages,
        [
            "RemQueryInterface for IManagedObject under changed identity REDMOND\\jiangyue: the known .NET before 4.0 \
             pattern (QI issued without the caller's security blanket; KB967622, KB974893)",
            "Fault under changed identity REDMOND\\jiangyue: nca_s_fault_sec_pkg_error (0x00000721) to \
             IRemUnknown2::RemQueryInterface(IManagedObject) in frame 9; caller sees 0x80070721",
            "Fault under changed identity REDMOND\\jiangyue: nca_s_fault_access_denied (0x00000005) to \
             IRemUnknown2::RemQueryInterface(IProvideClassInfo) in frame 11; caller sees 0x80070005",
            "Server closed the association (FIN) 4.2 ms after the identity change (frame 8); last fault frame 12; \
             client will see RPC_S_CALL_FAILED (0x800706BE) or RPC_S_CALL_FAILED_DNE (0x800706BF)",
        ]
    );

    let change = |multiplexing, interface| Finding::IdentityChange {
        identity: jiangyue(),
        baseline: admin(),
        baseline_frame: 6,
        auth_context_id: 79232,
        interface,
        multiplexing,
    };
    assert_eq!(
        change(false, Some(iface(1, IREMUNKNOWN2))).message(),
        "Identity changed inside the association: REDMOND\\jiangyue (auth ctx 79232, IRemUnknown2) after \
         \\administrator (frame 6); security context multiplexing not negotiated"
    );
    let unnamed = iface(1, "12345678-1234-1234-1234-123456789abc");
    assert_eq!(
        change(true, Some(unnamed)).message(),
        "Identity changed inside the association: REDMOND\\jiangyue (auth ctx 79232, \
         12345678-1234-1234-1234-123456789abc) after \\administrator (frame 6); security context multiplexing \
         negotiated"
    );
    assert!(change(true, None).message().contains("(auth ctx 79232) after"));

    let failed = |rejection, opnum, requested_iids: Vec<Uuid>| Finding::FaultAfterChange {
        kind: ChangeKind::Changed,
        identity: Some(jiangyue()),
        rejection,
        interface: Some(iface(1, IREMUNKNOWN2)),
        opnum,
        requested_iids: requested_iids.into(),
        call_frame: 12,
        change_frame: 10,
    };
    assert_eq!(
        failed(Rejection::Fault(0x721), Some(3), vec![uuid(IMANAGEDOBJECT), uuid(IPROVIDECLASSINFO)]).message(),
        "Fault under changed identity REDMOND\\jiangyue: nca_s_fault_sec_pkg_error (0x00000721) to \
         IRemUnknown2::RemQueryInterface(IManagedObject, IProvideClassInfo) in frame 12; caller sees 0x80070721"
    );
    assert_eq!(
        failed(Rejection::Fault(0x721), Some(3), vec![]).message(),
        "Fault under changed identity REDMOND\\jiangyue: nca_s_fault_sec_pkg_error (0x00000721) to \
         IRemUnknown2::RemQueryInterface in frame 12; caller sees 0x80070721"
    );
    assert_eq!(crate::names::status(0xbeef), None);
    assert_eq!(
        failed(Rejection::Fault(0xbeef), Some(77), vec![]).message(),
        "Fault under changed identity REDMOND\\jiangyue: unknown status (0x0000BEEF) to IRemUnknown2::opnum 77 in \
         frame 12; caller sees 0x8007BEEF"
    );
    assert_eq!(crate::names::status(0x1234_0001), None);
    assert!(failed(Rejection::Fault(0x1234_0001), Some(3), vec![]).message().ends_with(
        "unknown status (0x12340001) to IRemUnknown2::RemQueryInterface in frame 12; caller sees 0x12340001"
    ));
    assert_eq!(
        failed(Rejection::BindNak(9), None, vec![]).message(),
        "Fault under changed identity REDMOND\\jiangyue: bind_nak: Invalid checksum to IRemUnknown2 in frame 12"
    );
    assert_eq!(
        failed(Rejection::ContextRejected(2, 1), None, vec![]).message(),
        "Fault under changed identity REDMOND\\jiangyue: context rejected: Provider rejection, Abstract syntax not \
         supported to IRemUnknown2 in frame 12"
    );

    assert_eq!(
        Finding::AbortAfterChange {
            kind: ChangeKind::Changed,
            close: CloseKind::Rst,
            since_change_ns: 1_249_999,
            change_frame: 10,
            last_fault_frame: None
        }
        .message(),
        "Server closed the association (RST) 1.2 ms after the identity change (frame 10); no fault seen; client will \
         see RPC_S_CALL_FAILED (0x800706BE) or RPC_S_CALL_FAILED_DNE (0x800706BF)"
    );
    assert_eq!(
        Finding::AbortAfterFault { close: CloseKind::Fin, last_fault_frame: 12, status: 0x721, partial_baseline: false }.message(),
        "Server closed the association (FIN) after a fault with no identity change seen: nca_s_fault_sec_pkg_error (0x00000721) \
         in frame 12"
    );
}

#[test]
fn summary_text_is_pinned() {
    let mut cap = Cap::new(LE);
    winpe_until_faults(&mut cap);
    cap.now = cap.time_of(8) + 4_200_000 - 100_000;
    cap.close(true, CloseKind::Fin); // 13
    cap.close(false, CloseKind::Fin); // 14
    cap.connect(1, 59917);
    cap.baseline(11, IENUMWBEMCLASSOBJECT); // 15-19
    let expected = "\
Association 1: TCP stream 0, client 10.0.0.1:59916 -> server 10.0.0.2:49157, frames 1-14
  Baseline identity:                    \\administrator (frame 3)
  Security context multiplexing:        not negotiated
  Earlier associations of these hosts:  none
  Ended:                                server FIN in frame 13, then client FIN in frame 14
  Server abort:                         Server closed the association (FIN) 4.2 ms after the identity change (frame 8); last fault frame 12; client will see RPC_S_CALL_FAILED (0x800706BE) or RPC_S_CALL_FAILED_DNE (0x800706BF)
  Interfaces:
    ctx 0  ISystemActivator  v0.0  NDR    frame 1  accepted
    ctx 1  IRemUnknown2      v0.0  NDR    frame 6  accepted
    ctx 2  IRemUnknown2      v0.0  NDR64  frame 6  rejected: Provider rejection, Proposed transfer syntaxes not supported
  Security contexts established:
    frame 3  auth ctx 0      NTLMSSP  Packet integrity  \\administrator
    frame 8  auth ctx 79232  NTLMSSP  Packet integrity  REDMOND\\jiangyue  [changed]
  Identity changes:
    frame 8  auth ctx 79232  \\administrator -> REDMOND\\jiangyue  (IRemUnknown2)
  Faults (2, 2 listed under a changed identity):
    frame 10  call_id 8  nca_s_fault_sec_pkg_error (0x00000721)  to IRemUnknown2::RemQueryInterface(IManagedObject) in frame 9      REDMOND\\jiangyue [changed]
    frame 12  call_id 9  nca_s_fault_access_denied (0x00000005)  to IRemUnknown2::RemQueryInterface(IProvideClassInfo) in frame 11  REDMOND\\jiangyue [changed]

Association 2: TCP stream 1, client 10.0.0.1:59917 -> server 10.0.0.2:49157, frames 15-19
  Baseline identity:                    \\administrator (frame 17)
  Security context multiplexing:        not negotiated
  Earlier associations of these hosts:  1 (1 with an identity change, 1 with a server abort; last in frame 13)
  Ended:                                still open at capture end
  Interfaces:
    ctx 0  IEnumWbemClassObject  v0.0  NDR  frame 15  accepted
  Security contexts established:
    frame 17  auth ctx 0  NTLMSSP  Packet integrity  \\administrator
";
    let text = cap.t.render_summary();
    assert_eq!(text, expected, "\n{text}");
    assert_eq!(Tracker::new().render_summary(), "No DCE/RPC associations seen.\n");
}

#[test]
fn control_pdus_without_sec_trailer_show_the_current_identity() {
    let mut cap = Cap::new(LE);
    cap.baseline(3, ISYSTEMACTIVATOR);
    let o = cap.o;
    let items = [item(1, IREMUNKNOWN2, ndr())];
    let a = cap.c(alter(o, 8, &items, None));
    let r = cap.s(alter_resp(o, 8, &[accept()], None));
    for v in [&a, &r] {
        assert_eq!(v.pdus[0].identity, Some(admin()));
        assert_eq!(v.pdus[0].security.as_ref().map(|s| s.auth_context_id), Some(0));
        assert_eq!(v.pdus[0].interface, Some(iface(1, IREMUNKNOWN2)));
    }
}

#[test]
fn overlong_names_are_clipped() {
    let mut cap = Cap::new(LE);
    cap.baseline(3, ISYSTEMACTIVATOR);
    let o = cap.o;
    let long = "x".repeat(1000);
    let v = cap.c(auth3(o, 8, &ntlm(9, ntlm_authenticate(&long, &long))));
    let Some(Finding::IdentityChange { identity, .. }) = v.findings.first() else { panic!("{v:?}") };
    assert_eq!((identity.domain.chars().count(), identity.user.chars().count()), (256, 256));
}
