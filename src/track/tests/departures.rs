//! The accuracy rules: which context a PDU runs under, which faults and closes a departed identity
//! explains, and the notes where the wire cannot tell.
use super::*;

/// A request on presentation context `ctx` without a sec_trailer (auth level CONNECT).
fn connect_call(cap: &mut Cap, call_id: u32, ctx: u16) -> FrameVerdict {
    let o = cap.o;
    cap.c(request(o, WHOLE, (call_id, ctx, 5), None, &[0; 4], None))
}

fn ok(cap: &mut Cap, call_id: u32, ctx: u16) -> FrameVerdict {
    let o = cap.o;
    cap.s(response(o, call_id, ctx, &[0; 4], None))
}

fn fin(cap: &mut Cap) -> Vec<Finding> {
    cap.close(true, CloseKind::Fin).findings
}

#[test]
fn connect_level_calls_run_under_the_context_that_bound_their_presentation_context() {
    let mut cap = Cap::new(LE);
    cap.baseline(3, ISYSTEMACTIVATOR);
    cap.reauth(8, 79232, "REDMOND", "jiangyue"); // binds ctx 1 and 2 under auth ctx 79232
                                                 // The case study's call 14: ctx 0 after the change still runs as the administrator.
    let v = connect_call(&mut cap, 14, 0);
    assert_eq!(v.pdus[0].identity, Some(admin()));
    assert_eq!(v.pdus[0].security.as_ref().map(|s| s.auth_context_id), Some(0));
    assert_eq!(v.pdus[0].change, None);
    let r = ok(&mut cap, 14, 0);
    assert_eq!(r.pdus[0].identity, Some(admin()));
    let v = connect_call(&mut cap, 15, 1);
    assert_eq!(v.pdus[0].identity, Some(jiangyue()));
    assert!(v.pdus[0].changed());
    // A fault on ctx 0 is the administrator's: no finding.
    assert!(connect_call(&mut cap, 16, 0).findings.is_empty());
    let o = cap.o;
    assert!(cap.s(fault(o, 16, 0, 5)).findings.is_empty());
    assert_eq!(cap.summary(0).faults[0].identity, Some(admin()));
}

#[test]
fn a_context_added_without_a_sec_trailer_belongs_to_the_first_security_context() {
    let mut cap = Cap::new(LE);
    cap.baseline(3, ISYSTEMACTIVATOR);
    cap.reauth(8, 79232, "REDMOND", "jiangyue");
    let o = cap.o;
    cap.c(alter(o, 9, &[item(4, IENUMWBEMCLASSOBJECT, ndr())], None));
    cap.s(alter_resp(o, 9, &[accept()], None));
    let v = connect_call(&mut cap, 10, 4);
    assert_eq!(v.pdus[0].identity, Some(admin()));
    assert_eq!(v.pdus[0].security.as_ref().map(|s| s.auth_context_id), Some(0));
}

#[test]
fn a_fault_with_no_call_of_ours_follows_its_presentation_context() {
    let mut cap = Cap::new(LE);
    cap.baseline(3, ISYSTEMACTIVATOR);
    cap.reauth(8, 79232, "REDMOND", "jiangyue");
    let o = cap.o;
    let f = cap.s(fault(o, 77, 1, 0x721));
    assert!(matches!(
        f.findings.as_slice(),
        [Finding::FaultAfterChange { kind: ChangeKind::Changed, call_frame: 9, .. }]
    ));
    assert!(cap.s(fault(o, 78, 0, 0x721)).findings.is_empty());
}

#[test]
fn a_fault_answering_the_changed_auth3_is_a_fault_after_change() {
    let mut cap = Cap::new(LE);
    cap.baseline(3, ISYSTEMACTIVATOR);
    cap.reauth(8, 79232, "REDMOND", "jiangyue"); // AUTH3 in frame 8
    let o = cap.o;
    let f = cap.s(fault(o, 8, 0, 0x1c01_000b));
    assert_eq!(
        f.findings.iter().map(Finding::message).collect::<Vec<_>>(),
        ["Fault under changed identity REDMOND\\jiangyue: nca_proto_error (0x1C01000B) to IRemUnknown2 in frame 8; \
          caller sees 0x800706C0"]
    );
    match fin(&mut cap).as_slice() {
        [Finding::AbortAfterChange { kind: ChangeKind::Changed, change_frame: 8, last_fault_frame: Some(9), .. }] => {}
        other => panic!("expected an abort after the change, got {other:?}"),
    }
}

#[test]
fn a_success_on_a_baseline_context_does_not_clear_the_changed_fault() {
    let mut cap = Cap::new(LE);
    winpe_until_faults(&mut cap); // faults in frames 10 and 12 under REDMOND\jiangyue
    connect_call(&mut cap, 14, 0);
    ok(&mut cap, 14, 0);
    match fin(&mut cap).as_slice() {
        [Finding::AbortAfterChange {
            kind: ChangeKind::Changed, change_frame: 8, last_fault_frame: Some(12), ..
        }] => {}
        other => panic!("expected an abort after the change, got {other:?}"),
    }
}

#[test]
fn a_failure_on_a_baseline_context_does_not_make_an_abort_after_change() {
    let mut cap = Cap::new(LE);
    cap.baseline(3, ISYSTEMACTIVATOR);
    cap.reauth(8, 79232, "REDMOND", "jiangyue");
    connect_call(&mut cap, 9, 1);
    ok(&mut cap, 9, 1); // the changed identity's call succeeds
    connect_call(&mut cap, 11, 0);
    let o = cap.o;
    cap.s(fault(o, 11, 0, 5)); // frame 12, the administrator's
    assert_eq!(
        fin(&mut cap),
        [Finding::AbortAfterFault { close: CloseKind::Fin, last_fault_frame: 12, status: 5, partial_baseline: false }]
    );
}

#[test]
fn a_close_past_the_abort_window_is_at_most_an_abort_after_fault() {
    let mut cap = Cap::new(LE);
    winpe_until_faults(&mut cap);
    cap.now += 6_000_000_000;
    assert!(matches!(fin(&mut cap).as_slice(), [Finding::AbortAfterFault { last_fault_frame: 12, status: 5, .. }]));
    // A longer window set as a preference blames it again.
    let mut cap = Cap::new(LE);
    cap.t = Tracker::with_config(Config { abort_window_ns: 10_000_000_000, ..Config::default() });
    winpe_until_faults(&mut cap);
    cap.now += 6_000_000_000;
    assert!(matches!(fin(&mut cap).as_slice(), [Finding::AbortAfterChange { .. }]));
}

#[test]
fn a_capture_that_starts_mid_association_says_a_change_is_possible() {
    let mut cap = Cap::new(LE);
    let o = cap.o;
    // Frame 1: a call on auth ctx 0, whose AUTHENTICATE happened before the capture.
    cap.c(request(o, WHOLE, (20, 0, 4), None, &[0; 4], Some(&verifier(10, 0))));
    cap.s(response(o, 20, 0, &[0; 4], Some(&verifier(10, 0))));
    cap.reauth(21, 1, "REDMOND", "jiangyue"); // frames 3-5
    let v = cap.c(request(o, WHOLE, (22, 1, 3), None, &[0; 4], Some(&verifier(10, 1))));
    assert_eq!(v.pdus[0].change, Some(ChangeKind::Possible));
    let s = cap.summary(0);
    assert!(s.baseline_partial && s.changes.is_empty());
    let mut cap2 = Cap::new(LE);
    cap2.c(request(o, WHOLE, (20, 0, 4), None, &[0; 4], Some(&verifier(10, 0))));
    cap2.s(response(o, 20, 0, &[0; 4], Some(&verifier(10, 0))));
    let items = [item(1, IREMUNKNOWN2, ndr())];
    cap2.c(alter(o, 21, &items, Some(&ntlm(1, ntlm_negotiate()))));
    cap2.s(alter_resp(o, 21, &[accept()], Some(&ntlm(1, ntlm_challenge()))));
    let a = cap2.c(auth3(o, 21, &ntlm(1, ntlm_authenticate("REDMOND", "jiangyue"))));
    assert_eq!(a.findings[0].expert(), Expert::PossibleIdentityChange);
    assert_eq!(
        a.findings[0].message(),
        "Possible identity change: REDMOND\\jiangyue (auth ctx 1, IRemUnknown2) authenticated while auth ctx 0, in \
         use since frame 1, ran under an identity the capture did not see (it starts mid-association) (identity not \
         verified)"
    );
    let f = cap2.s(fault(o, 21, 0, 0x721));
    assert_eq!(
        f.findings[0].message(),
        "Fault under possibly changed identity REDMOND\\jiangyue: nca_s_fault_sec_pkg_error (0x00000721) to \
         IRemUnknown2 in frame 5; caller sees 0x80070721 (identity not verified)"
    );
    assert_eq!(f.findings[0].expert(), Expert::PossibleIdentityChange);
}

#[test]
fn contexts_first_seen_in_one_frame_name_the_lowest_id_whatever_the_map_order() {
    // Found by the session fuzzer: the earlier context was whichever a hash map listed first, so
    // two passes over one capture could name different ones.
    let mut cap = Cap::new(LE);
    let o = cap.o;
    let calls: Vec<Vec<u8>> =
        (0..8u32).map(|i| request(o, WHOLE, (20 + i, 0, 4), None, &[0; 4], Some(&verifier(10, 90 - i)))).collect();
    cap.c_all(&calls); // frame 1: calls on auth ctx 90..83, authenticated before the capture
    let items = [item(1, IREMUNKNOWN2, ndr())];
    cap.c(alter(o, 40, &items, Some(&ntlm(1, ntlm_negotiate()))));
    cap.s(alter_resp(o, 40, &[accept()], Some(&ntlm(1, ntlm_challenge()))));
    let a = cap.c(auth3(o, 40, &ntlm(1, ntlm_authenticate("REDMOND", "jiangyue"))));
    assert!(
        matches!(
            a.findings.as_slice(),
            [Finding::PossibleIdentityChange {
                doubt: Doubt::CaptureStartedLate { earlier_ctx: Some(83), earlier_frame: 1 },
                ..
            }]
        ),
        "{:?}",
        a.findings
    );
}

#[test]
fn spellings_the_rule_cannot_match_are_a_note_not_a_warning() {
    let mut cap = Cap::new(LE);
    cap.baseline(3, ISYSTEMACTIVATOR); // \administrator
    let o = cap.o;
    let items = [item(1, IREMUNKNOWN2, ndr())];
    cap.c(alter(o, 8, &items, Some(&ntlm(1, ntlm_negotiate()))));
    cap.s(alter_resp(o, 8, &[accept()], Some(&ntlm(1, ntlm_challenge()))));
    let a = cap.c(auth3(o, 8, &ntlm(1, ntlm_authenticate("WINPE", "Administrator"))));
    assert_eq!(
        a.findings.iter().map(Finding::message).collect::<Vec<_>>(),
        ["Possible identity change: WINPE\\Administrator (auth ctx 1, IRemUnknown2) may or may not be the account of \
          \\administrator (frame 3): the spellings cannot be matched (identity not verified)"]
    );
    assert!(cap.summary(0).changes.is_empty());
    // Two NetBIOS domains are two accounts: a local account and a domain account of one name.
    let mut local = Cap::new(LE);
    local.c(bind(o, WHOLE, 1, &[item(0, ISYSTEMACTIVATOR, ndr())], Some(&ntlm(0, ntlm_negotiate()))));
    local.s(bind_ack(o, WHOLE, 1, &[accept()], Some(&ntlm(0, ntlm_challenge()))));
    assert!(local.c(auth3(o, 1, &ntlm(0, ntlm_authenticate("HOST", "alice")))).findings.is_empty());
    let c = local.c(auth3(o, 1, &ntlm(1, ntlm_authenticate("CORP", "alice"))));
    assert!(matches!(c.findings.as_slice(), [Finding::IdentityChange { .. }]), "{c:?}");
}

#[test]
fn the_user_name_rule_treats_one_name_in_two_domains_as_one_identity() {
    let mut cap = Cap::new(LE);
    cap.t = Tracker::with_config(Config { comparison: Comparison::UserName, ..Config::default() });
    cap.baseline(3, ISYSTEMACTIVATOR);
    let o = cap.o;
    let a = cap.c(auth3(o, 3, &ntlm(1, ntlm_authenticate("REDMOND", "ADMINISTRATOR"))));
    assert!(a.findings.is_empty());
}

#[test]
fn a_new_connection_under_another_identity_is_a_pair_change() {
    let mut cap = Cap::new(LE);
    cap.baseline(3, ISYSTEMACTIVATOR); // stream 0, \administrator in frame 3
    cap.close(false, CloseKind::Fin);
    cap.connect(1, 59917);
    let o = cap.o;
    cap.c(bind(o, WHOLE, 1, &[item(0, ISYSTEMACTIVATOR, ndr())], Some(&ntlm(0, ntlm_negotiate()))));
    cap.s(bind_ack(o, WHOLE, 1, &[accept()], Some(&ntlm(0, ntlm_challenge()))));
    let a = cap.c(auth3(o, 1, &ntlm(0, ntlm_authenticate("REDMOND", "jiangyue")))); // frame 9
    assert_eq!(
        a.findings.iter().map(Finding::message).collect::<Vec<_>>(),
        ["Identity differs from this client's earlier association with the server: REDMOND\\jiangyue here, \
          \\administrator in TCP stream 0 (frame 3)"]
    );
    assert_eq!(a.findings[0].expert(), Expert::PairIdentityChange);
    assert_eq!(a.pdus[0].change, Some(ChangeKind::Pair));
    cap.c(request(o, WHOLE, (2, 0, 4), None, &[0; 4], None));
    let f = cap.s(fault(o, 2, 0, 5));
    assert_eq!(
        f.findings.iter().map(Finding::message).collect::<Vec<_>>(),
        ["Fault under REDMOND\\jiangyue, new on this host pair: nca_s_fault_access_denied (0x00000005) to \
          ISystemActivator::RemoteCreateInstance in frame 10; caller sees 0x80070005"]
    );
    let closes = fin(&mut cap);
    assert!(matches!(closes.as_slice(), [Finding::AbortAfterChange { kind: ChangeKind::Pair, change_frame: 9, .. }]));
    assert_eq!(closes[0].expert(), Expert::PairIdentityChange);
    // The summary and the table say so too.
    let s = cap.summary(1);
    assert!(s.render(2).contains("REDMOND\\jiangyue  [new on this host pair]"), "{}", s.render(2));
    assert_eq!(s.table_row().identities, "REDMOND\\jiangyue (frame 9) [new on this host pair]");
    // The same identity again on a third connection is nothing new.
    cap.connect(2, 59918);
    cap.c(bind(o, WHOLE, 1, &[item(0, ISYSTEMACTIVATOR, ndr())], Some(&ntlm(0, ntlm_negotiate()))));
    cap.s(bind_ack(o, WHOLE, 1, &[accept()], Some(&ntlm(0, ntlm_challenge()))));
    assert!(cap.c(auth3(o, 1, &ntlm(0, ntlm_authenticate("redmond", "JiangYue")))).findings.is_empty());
}

#[test]
fn a_late_capture_at_connect_level_says_the_first_identity_seen_may_not_be_the_first() {
    let mut cap = Cap::new(LE);
    let o = cap.o;
    connect_call(&mut cap, 20, 0); // frame 1: ctx 0 was bound before the capture started
    ok(&mut cap, 20, 0);
    let items = [item(1, IREMUNKNOWN2, ndr())];
    cap.c(alter(o, 21, &items, Some(&ntlm(1, ntlm_negotiate()))));
    cap.s(alter_resp(o, 21, &[accept()], Some(&ntlm(1, ntlm_challenge()))));
    let a = cap.c(auth3(o, 21, &ntlm(1, ntlm_authenticate("REDMOND", "jiangyue"))));
    assert_eq!(
        a.findings.iter().map(Finding::message).collect::<Vec<_>>(),
        ["Possible identity change: REDMOND\\jiangyue (auth ctx 1, IRemUnknown2) authenticated after calls from \
          frame 1 on contexts bound before the capture started, under an identity it did not see (identity not \
          verified)"]
    );
    // The call on ctx 0 after it stays unattributed: its context's identity was never on the wire.
    let v = connect_call(&mut cap, 22, 0);
    assert_eq!(v.pdus[0].identity, None);
}
