//! Messy but real: segmentation, retransmissions, fragments, byte order, IPv6/VLAN, captures that
//! start mid-association or have holes, several associations and clients, Kerberos and anonymous
//! logons. Each scenario's expert entries are checked exactly (name and frame, one pass and `-2`),
//! plus what the tree says where the scenario is about the tree.
mod common;
mod harness;

use common::net::Capture;
use common::scenarios;
use harness::tshark;

const CHANGE: &str = "dcomauth.identity_change";
const FAULT: &str = "dcomauth.fault_after_change";
const ABORT: &str = "dcomauth.abort_after_change";
const QI: &str = "dcomauth.managed_object_qi";

/// The case study's first association under `prefix`: change, IManagedObject QI, two faults, abort.
fn association_1(cap: &Capture, prefix: &str) -> Vec<(&'static str, u32)> {
    let f = |m: &str| cap.frame(&format!("{prefix}{m}"));
    vec![
        (CHANGE, f("change")),
        (FAULT, f("fault_721")),
        (FAULT, f("fault_5")),
        (ABORT, f("server_fin")),
        (QI, f("qi_managed")),
    ]
}

/// Checks the exact (expert name, frame) list in one pass and with `-2`, the severities per name,
/// and that every message names `identity`; returns the capture's path for further checks.
fn check(name: &str, cap: &Capture, mut expected: Vec<(&'static str, u32)>, identity: &str) -> std::path::PathBuf {
    let path = tshark().capture(&format!("{name}.pcapng"), &cap.bytes());
    expected.sort_by_key(|(n, f)| (harness::EXPERT_NAMES.iter().position(|x| x == n), *f));
    for two_pass in [false, true] {
        let entries = tshark().entries(&path, two_pass);
        let got: Vec<(&str, u32)> = entries.iter().map(|(n, e)| (*n, e.frame)).collect();
        assert_eq!(got, expected, "{name}: entries (two_pass={two_pass})");
        for (n, e) in &entries {
            let class = match *n {
                CHANGE | FAULT => "Warning/Security",
                ABORT => "Error/Sequence",
                QI => "Note/Security",
                _ => "Note/Sequence",
            };
            assert_eq!(e.class, class, "{name}: {n} in frame {}", e.frame);
            if *n != ABORT {
                assert!(e.message.contains(identity), "{name}: {n} message {:?} lacks {identity}", e.message);
            }
        }
    }
    path
}

/// One field of one frame, as `-T fields` prints it (all occurrences joined by `|`).
fn field(path: &std::path::Path, frame: u32, name: &str) -> String {
    tshark().fields(path, false, &format!("frame.number == {frame}"), &[name]).concat()
}

const JIANGYUE: &str = "REDMOND\\jiangyue";

#[test]
fn a_pdu_split_over_segments_is_reported_on_the_segment_that_completes_it() {
    let cap = scenarios::split_pdus();
    check("split_pdus", &cap, association_1(&cap, ""), JIANGYUE);
}

#[test]
fn a_pdu_header_cut_by_a_segment_end_loses_neither_it_nor_the_pdus_after_it() {
    let cap = scenarios::split_header();
    let mut expected = association_1(&cap, "");
    expected.push((FAULT, cap.frame("fault_iunknown")));
    let path = check("split_header", &cap, expected, JIANGYUE);
    // Wireshark's own reading: one request completes in each of the last two segments' frames,
    // and the IUnknown QI follows in the last one.
    let calls =
        |m: &str| tshark().fields(&path, false, &format!("frame.number == {}", cap.frame(m)), &["dcerpc.cn_call_id"]);
    assert_eq!(calls("qi_managed").concat(), "8");
    assert_eq!(calls("qi_pci").concat(), "9|10");
}

#[test]
fn several_pdus_in_one_segment_each_count() {
    let cap = scenarios::pdus_in_one_segment();
    check("pdus_in_one_segment", &cap, association_1(&cap, ""), JIANGYUE);
}

#[test]
fn auth3_and_the_next_request_in_one_segment() {
    let cap = scenarios::auth3_with_request();
    check("auth3_with_request", &cap, association_1(&cap, ""), JIANGYUE);
}

#[test]
fn retransmissions_do_not_count_twice() {
    let cap = scenarios::retransmissions();
    check("retransmissions", &cap, association_1(&cap, ""), JIANGYUE);
}

#[test]
fn out_of_order_requests_still_match_their_faults() {
    let cap = scenarios::out_of_order();
    check("out_of_order", &cap, association_1(&cap, ""), JIANGYUE);
}

#[test]
fn fragmented_calls_are_followed_across_fragments() {
    let cap = scenarios::fragmented_calls();
    check("fragmented_calls", &cap, association_1(&cap, ""), JIANGYUE);
}

#[test]
fn big_endian_data_representation() {
    let cap = scenarios::big_endian();
    check("big_endian", &cap, association_1(&cap, ""), JIANGYUE);
}

#[test]
fn ipv6() {
    let cap = scenarios::ipv6();
    check("ipv6", &cap, association_1(&cap, ""), JIANGYUE);
}

#[test]
fn vlan_tagged_frames() {
    let cap = scenarios::vlan();
    check("vlan", &cap, association_1(&cap, ""), JIANGYUE);
}

#[test]
fn a_capture_with_a_hole_keeps_its_state() {
    let cap = scenarios::capture_gap();
    check("capture_gap", &cap, association_1(&cap, ""), JIANGYUE);
}

#[test]
fn a_capture_that_starts_mid_association_takes_the_first_identity_seen_as_a_partial_baseline() {
    let cap = scenarios::mid_association();
    let f = |m: &str| cap.frame(m);
    let expected = vec![
        (CHANGE, f("change")),
        (FAULT, f("fault_721")),
        (FAULT, f("fault_5")),
        (ABORT, f("server_fin")),
        (QI, f("qi_managed")),
    ];
    let path = check("mid_association", &cap, expected, JIANGYUE);
    assert_eq!(field(&path, f("unknown_call"), "dcomauth.identity"), "");
    assert_eq!(field(&path, f("unknown_call"), "dcomauth.identity.unknown"), "authentication not completed yet");
    assert_eq!(field(&path, f("qi_ok"), "dcomauth.identity"), "\\administrator");
    assert_eq!(field(&path, f("qi_managed"), "dcomauth.baseline"), "\\administrator");
    assert_eq!(field(&path, f("qi_managed"), "dcomauth.baseline.partial"), "1");
    assert_eq!(field(&path, f("qi_managed"), "dcomauth.baseline.frame"), f("first_auth").to_string());
}

#[test]
fn interleaved_associations_from_one_client_are_kept_apart() {
    let cap = scenarios::interleaved_associations();
    let path = check("interleaved", &cap, association_1(&cap, "a_"), JIANGYUE);
    assert_eq!(field(&path, cap.frame("b_clone"), "dcomauth.identity"), "\\administrator");
    assert_eq!(field(&path, cap.frame("b_clone"), "dcomauth.identity.changed"), "0");
}

#[test]
fn two_clients_to_one_server_have_their_own_baselines_and_history() {
    let cap = scenarios::two_clients();
    let path = check("two_clients", &cap, association_1(&cap, "c1_"), JIANGYUE);
    assert_eq!(field(&path, cap.frame("c2_clone"), "dcomauth.identity"), "\\administrator");
    assert_eq!(field(&path, cap.frame("c2_clone"), "dcomauth.history.earlier"), "");
}

#[test]
fn the_same_user_on_a_second_security_context_is_not_a_change() {
    let cap = scenarios::same_user_two_contexts();
    let path = check("same_user", &cap, vec![], "");
    assert_eq!(field(&path, cap.frame("reauth"), "dcomauth.identity"), "\\Administrator");
    assert_eq!(field(&path, cap.frame("reauth"), "dcomauth.identity.changed"), "0");
}

#[test]
fn kerberos_contexts_are_shown_but_never_compared() {
    let cap = scenarios::kerberos_and_ntlm();
    let path = check("kerberos_and_ntlm", &cap, vec![], "");
    assert_eq!(field(&path, cap.frame("krb_call"), "dcomauth.identity"), "");
    assert_eq!(
        field(&path, cap.frame("krb_call"), "dcomauth.identity.unknown"),
        "Kerberos: the client's name is not visible on the wire"
    );
    assert_eq!(field(&path, cap.frame("clone2"), "dcomauth.identity"), "\\administrator");
}

#[test]
fn an_anonymous_logon_after_a_named_one_is_a_change() {
    let cap = scenarios::anonymous_logon();
    let expected = vec![(CHANGE, cap.frame("change")), (FAULT, cap.frame("fault_5"))];
    check("anonymous_logon", &cap, expected, "NT AUTHORITY\\ANONYMOUS LOGON");
}

#[test]
fn printf_directives_in_a_user_name_stay_text() {
    let cap = scenarios::percent_in_user_name();
    let path = check("percent_in_user_name", &cap, vec![(CHANGE, cap.frame("reauth"))], "EVIL\\%s%n%s");
    assert_eq!(field(&path, cap.frame("qi_pci"), "dcomauth.identity"), "EVIL\\%s%n%s");
}

#[test]
fn a_machine_account_is_an_identity_like_any_other() {
    let cap = scenarios::machine_account();
    let path = check("machine_account", &cap, vec![], "");
    assert_eq!(field(&path, cap.frame("clone"), "dcomauth.identity"), "CORP\\HOST$");
}

#[test]
fn ntlmssp_inside_spnego_changing_identity_in_an_alter_context() {
    let cap = scenarios::spnego_change();
    let path = check("spnego_change", &cap, association_1(&cap, ""), JIANGYUE);
    assert!(field(&path, cap.frame("qi_managed"), "dcomauth.security").contains("SPNEGO/NTLMSSP"));
}

#[test]
fn a_bind_nak_before_any_identity_is_quiet() {
    let cap = scenarios::bind_nak();
    check("bind_nak", &cap, vec![], "");
}
