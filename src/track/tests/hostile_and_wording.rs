//! Byte orders, hostile input, bounded state, and the exact wording users read.
use super::*;

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
        request(
            o,
            WHOLE,
            (2, 1, 3),
            None,
            &rem_qi_stub(o, &[IMANAGEDOBJECT, IPROVIDECLASSINFO]),
            Some(&verifier(10, 3)),
        ),
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
        cap.c(request(o, WHOLE, (100 + i, (i % 600) as u16, 3), None, &[], Some(&verifier(10, i % 400))));
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

#[test]
fn a_cap_that_bites_is_noted_once_per_table() {
    let mut cap = Cap::new(LE);
    cap.t = Tracker::with_config(Config { max_calls: 4, max_associations: 2, ..Config::default() });
    cap.baseline(3, ISYSTEMACTIVATOR); // call 3 is the first call
    let o = cap.o;
    let mut notes = Vec::new();
    for call_id in 10..20 {
        let v = cap.c(request(o, WHOLE, (call_id, 0, 4), None, &[0; 4], Some(&verifier(10, 0))));
        notes.extend(v.findings.into_iter().map(|f| (call_id, f)));
    }
    assert_eq!(notes, [(13, Finding::StateLimit { table: Table::Calls, cap: 4 })]);
    assert_eq!(
        notes[0].1.message(),
        "State limit reached: more than 4 calls in one association; the oldest are forgotten and their answers no \
         longer matched (preference dcomauth.max_calls)"
    );
    assert_eq!(notes[0].1.expert(), Expert::StateLimit);
    // A third association pushes the oldest out: noted on its first PDU, once.
    let mut firsts = Vec::new();
    for stream in 1..5 {
        cap.connect(stream, 60000 + stream as u16);
        let v = cap.c(bind(o, WHOLE, 1, &[item(0, ISYSTEMACTIVATOR, ndr())], None));
        firsts.push(v.findings);
    }
    assert_eq!(firsts[0], []);
    assert_eq!(firsts[1], [Finding::StateLimit { table: Table::Associations, cap: 2 }]);
    assert!(firsts[2..].iter().all(Vec::is_empty));
    assert_eq!(cap.t.associations().count(), 2);
}
