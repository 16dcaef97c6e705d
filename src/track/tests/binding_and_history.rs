//! Presentation contexts, bind answers, partial captures, host-pair history and attribution.
use super::*;

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
    let first = cap.c(request(cap.o, WHOLE, (12, 0, 3), None, &[0; 4], Some(&verifier(10, 0))));
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
    let v = cap.c(request(cap.o, WHOLE, (18, 0, 6), None, &[0; 4], Some(&verifier(10, 0))));
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
    assert!(cap.c(request(o, WHOLE, (2, 0, 3), None, &[0; 4], None)).is_empty());
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
    let v = cap.c(request(o, WHOLE, (9, 1, 5), None, &[0; 4], None));
    assert_eq!(v.pdus[0].identity, Some(jiangyue()));
    assert_eq!(v.pdus[0].security.as_ref().map(|s| s.auth_context_id), Some(79232));
    let r = cap.s(response(o, 9, 1, &[0; 4], None));
    assert_eq!(r.pdus[0].identity, Some(jiangyue()));
    assert_eq!(r.pdus[0].opnum, Some(5));
    // A call on the baseline context is not changed, though the association is.
    let v = cap.c(request(o, WHOLE, (10, 0, 5), None, &[0; 4], Some(&verifier(10, 0))));
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
    let a = cap.c(request(o, PFC_FIRST_FRAG, (9, 1, 3), None, head, Some(&verifier(10, 79232))));
    assert!(a.findings.is_empty());
    let b = cap.c(request(o, PFC_LAST_FRAG, (9, 1, 3), None, tail, Some(&verifier(10, 79232))));
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
