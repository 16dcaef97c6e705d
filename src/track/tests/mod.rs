//! Scenarios that read as the case study: the tracker fed PDUs and closes in capture order.
mod binding_and_history;
mod builder;
mod departures;
mod hostile_and_wording;

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

    /// Several client PDUs in one frame.
    fn c_all(&mut self, pdus: &[Vec<u8>]) -> FrameVerdict {
        let ctx = self.next(true);
        let mut out = FrameVerdict::default();
        for bytes in pdus {
            self.t.pdu(&ctx, bytes, &mut out);
        }
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
        self.c(request(o, WHOLE, (call_id, 0, 4), None, &[0; 32], Some(&verifier(10, 0))));
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
        self.c(request(o, WHOLE, (call_id, 1, 3), ipid, &stub, Some(&verifier(10, auth_ctx))))
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
    assert_eq!(
        f.findings[0].message(),
        "Fault under an identity not on the wire, possibly changed: nca_s_fault_access_denied (0x00000005) to \
         IRemUnknown2::RemQueryInterface(IManagedObject) in frame 9; caller sees 0x80070005 (identity not verified)"
    );
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
    cap.c(request(o, WHOLE, (4, 0, 3), None, &[0; 8], Some(&verifier(10, 0))));
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
    cap.c(request(o, WHOLE, (4, 0, 3), None, &[0; 8], Some(&verifier(10, 0))));
    cap.s(fault(o, 4, 0, 5));
    cap.c(request(o, WHOLE, (5, 0, 3), None, &[0; 8], Some(&verifier(10, 0))));
    cap.s(response(o, 5, 0, &[0; 8], Some(&verifier(10, 0))));
    assert!(cap.close(true, CloseKind::Fin).is_empty());
}

#[test]
fn a_server_close_long_after_calls_succeeded_again_is_not_blamed_on_the_change() {
    let mut cap = Cap::new(LE);
    cap.baseline(3, ISYSTEMACTIVATOR);
    cap.reauth(8, 79232, "REDMOND", "jiangyue");
    let o = cap.o;
    cap.c(request(o, WHOLE, (9, 0, 3), None, &[0; 8], Some(&verifier(10, 0))));
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
fn an_association_frees_its_calls_and_contexts_once_both_sides_closed() {
    let mut cap = Cap::new(LE);
    cap.baseline(3, ISYSTEMACTIVATOR);
    cap.reauth(8, 79232, "REDMOND", "jiangyue");
    assert_eq!(cap.t.live_associations(), 1);
    cap.close(true, CloseKind::Fin);
    assert_eq!(cap.t.live_associations(), 1, "the client may still send after the server's FIN");
    cap.close(false, CloseKind::Fin);
    assert_eq!(cap.t.live_associations(), 0);
    // The summary stays whole.
    let s = cap.summary(0);
    assert_eq!((s.identities.len(), s.changes.len()), (2, 1));
    assert!(s.server_close.is_some() && s.client_close.is_some());
}

#[test]
fn a_reset_association_keeps_its_calls_for_answers_in_flight_then_frees_them() {
    let mut cap = Cap::new(LE);
    cap.baseline(3, ISYSTEMACTIVATOR);
    cap.reauth(8, 79232, "REDMOND", "jiangyue");
    cap.rem_qi(9, 79232, IPROVIDECLASSINFO);
    cap.close(false, CloseKind::Rst); // the client resets
                                      // The server's fault was already on the wire: it still finds its call.
    let f = cap.fault(9, 5);
    assert!(matches!(f.findings.as_slice(), [Finding::FaultAfterChange { .. }]), "{:?}", f.findings);
    assert_eq!(cap.t.live_associations(), 1);
    // Another association three seconds later: the late answer re-armed the wait.
    cap.now += 3_000_000_000;
    cap.connect(1, 59920);
    cap.baseline(3, ISYSTEMACTIVATOR);
    assert_eq!(cap.t.live_associations(), 2);
    // Quiet for another three seconds: the reset one keeps its summary only.
    cap.now += 3_000_000_000;
    let o = cap.o;
    cap.c(request(o, WHOLE, (4, 0, 4), None, &[0; 32], Some(&verifier(10, 80001))));
    assert_eq!(cap.t.live_associations(), 1, "only the new association");
    let s = cap.summary(0);
    assert_eq!((s.changes.len(), s.faults.len()), (1, 1));
}

#[test]
fn a_reset_the_peer_ignored_keeps_the_association_whole() {
    let mut cap = Cap::new(LE);
    cap.baseline(3, ISYSTEMACTIVATOR);
    cap.close(false, CloseKind::Rst); // e.g. an out-of-window RST the server drops
    cap.now += 1_000_000_000;
    let o = cap.o;
    cap.c(request(o, WHOLE, (4, 0, 4), None, &[0; 32], Some(&verifier(10, 0))));
    cap.now += 3_000_000_000;
    cap.connect(1, 59920);
    cap.baseline(3, ISYSTEMACTIVATOR); // time passes elsewhere
    cap.connect(0, 59916);
    let answer = cap.s(response(o, 4, 0, &[0; 32], Some(&verifier(10, 0))));
    assert_eq!(answer.pdus[0].opnum, Some(4), "the call is still known");
    assert_eq!(answer.pdus[0].identity, Some(admin()));
}

#[test]
fn resets_sent_again_are_queued_once() {
    let mut cap = Cap::new(LE);
    cap.baseline(3, ISYSTEMACTIVATOR);
    for _ in 0..10_000 {
        cap.close(false, CloseKind::Rst);
    }
    assert_eq!(cap.t.reset_queue_len(), 1);
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
