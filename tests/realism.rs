//! Messy but real: segmentation, retransmissions, fragments, byte order, IPv6/VLAN, captures that
//! start mid-association or have holes, several associations and clients, Kerberos and anonymous
//! logons. One table says which expert entries (name and marked frame) each scenario of
//! `capgen::scenarios::all()` must get, checked exactly in one pass and with `-2`; the tests after
//! it check what the tree says where a scenario is about the tree.
mod harness;

use std::path::{Path, PathBuf};

use capgen::net::Capture;
use capgen::scenarios;
use harness::{tshark_with_plugin, Tshark};

const CHANGE: &str = "dcomauth.identity_change";
const FAULT: &str = "dcomauth.fault_after_change";
const ABORT: &str = "dcomauth.abort_after_change";
const QI: &str = "dcomauth.managed_object_qi";
const POSSIBLE: &str = "dcomauth.possible_identity_change";
const AFTER_FAULT: &str = "dcomauth.abort_after_fault";

const JIANGYUE: &str = "REDMOND\\jiangyue";

/// The case study's first association: the change, the IManagedObject QI, both faults, the abort.
const ASSOCIATION_1: &[(&str, &str)] =
    &[(CHANGE, "change"), (FAULT, "fault_721"), (FAULT, "fault_5"), (ABORT, "server_fin"), (QI, "qi_managed")];
/// The same, played with marks `a_<step>` beside a second association.
const A_ASSOCIATION_1: &[(&str, &str)] = &[
    (CHANGE, "a_change"),
    (FAULT, "a_fault_721"),
    (FAULT, "a_fault_5"),
    (ABORT, "a_server_fin"),
    (QI, "a_qi_managed"),
];

/// One scenario's expectations: every entry of ours as (expert name, mark of its frame), and the
/// identity every message but the abort's names.
struct Case {
    scenario: &'static str,
    entries: &'static [(&'static str, &'static str)],
    identity: &'static str,
}

const fn case(
    scenario: &'static str,
    entries: &'static [(&'static str, &'static str)],
    identity: &'static str,
) -> Case {
    Case { scenario, entries, identity }
}

const CASES: &[Case] = &[
    // Each finding on the segment that completes its PDU.
    case("split-pdus", ASSOCIATION_1, JIANGYUE),
    // The IUnknown QI behind two PDUs whose headers segments cut is still found.
    case(
        "split-header",
        &[
            (CHANGE, "change"),
            (FAULT, "fault_721"),
            (FAULT, "fault_5"),
            (FAULT, "fault_iunknown"),
            (ABORT, "server_fin"),
            (QI, "qi_managed"),
        ],
        JIANGYUE,
    ),
    case("pdus-in-one-segment", ASSOCIATION_1, JIANGYUE),
    case("auth3-with-request", ASSOCIATION_1, JIANGYUE),
    // Retransmitted frames add nothing.
    case("retransmissions", ASSOCIATION_1, JIANGYUE),
    // Each fault still answers its own call.
    case("out-of-order", ASSOCIATION_1, JIANGYUE),
    case("fragmented-calls", ASSOCIATION_1, JIANGYUE),
    case("big-endian", ASSOCIATION_1, JIANGYUE),
    case("ipv6", ASSOCIATION_1, JIANGYUE),
    case("vlan", ASSOCIATION_1, JIANGYUE),
    // State survives a hole in the capture.
    case("capture-gap", ASSOCIATION_1, JIANGYUE),
    case("mid-association", ASSOCIATION_1, JIANGYUE),
    case("interleaved-associations", A_ASSOCIATION_1, JIANGYUE),
    case(
        "two-clients",
        &[
            (CHANGE, "c1_change"),
            (FAULT, "c1_fault_721"),
            (FAULT, "c1_fault_5"),
            (ABORT, "c1_server_fin"),
            (QI, "c1_qi_managed"),
        ],
        JIANGYUE,
    ),
    // A new connection from the same port is a new association (Wireshark's new tcp.stream).
    case("port-reuse", A_ASSOCIATION_1, JIANGYUE),
    // Identities compare case-insensitively.
    case("same-user-two-contexts", &[], ""),
    // Kerberos contexts are shown, never compared.
    // Kerberos beside an NTLM identity: possible changes, once the server accepted SPNEGO's
    // Kerberos (its answer) and at once for raw Kerberos.
    case("kerberos-and-ntlm", &[(POSSIBLE, "krb_alter_resp"), (POSSIBLE, "krb16_alter")], ""),
    case("anonymous-logon", &[(CHANGE, "change"), (FAULT, "fault_5")], "NT AUTHORITY\\ANONYMOUS LOGON"),
    // printf directives in a user name reach the user as text.
    case("percent-in-user-name", &[(CHANGE, "reauth")], "EVIL\\%s%n%s"),
    case("machine-account", &[], ""),
    // The change is carried by an alter_context, not an AUTH3.
    case("spnego-change", ASSOCIATION_1, JIANGYUE),
    // No AUTHENTICATE: no identity, no baseline.
    case("bind-nak", &[], ""),
];

/// Scenarios whose entries `tests/seed.rs` checks message by message.
const IN_SEED_RS: &[&str] = &["seed-winpe", "seed-fullos", "seed-hotfix", "seed-winpe-connect", "seed-fullos-connect"];

fn build(scenario: &str) -> Capture {
    let (_, build) = scenarios::all()
        .into_iter()
        .find(|(name, _)| *name == scenario)
        .unwrap_or_else(|| panic!("no scenario {scenario:?} in capgen::scenarios::all()"));
    build()
}

/// The exact (expert name, frame) list in one pass and with `-2`, the severity of each name, and
/// the identity in every message but the abort's; the differences as text.
fn differences(tshark: &Tshark, case: &Case) -> Vec<String> {
    let name = case.scenario;
    let cap = build(name);
    let path = tshark.capture(&format!("{name}.pcapng"), &cap.bytes());
    let mut expected: Vec<(&str, u32)> = case.entries.iter().map(|(n, mark)| (*n, cap.frame(mark))).collect();
    expected.sort_by_key(|(n, f)| (harness::EXPERT_NAMES.iter().position(|x| x == n), *f));
    let mut out = Vec::new();
    for two_pass in [false, true] {
        let entries = tshark.entries(&path, two_pass);
        let got: Vec<(&str, u32)> = entries.iter().map(|(n, e)| (*n, e.frame)).collect();
        if got != expected {
            out.push(format!("{name} (two_pass={two_pass}): entries {got:?}, expected {expected:?}"));
        }
        for (n, e) in &entries {
            let class = match *n {
                CHANGE | FAULT => "Warning/Security",
                ABORT => "Error/Sequence",
                AFTER_FAULT => "Note/Sequence",
                _ => "Note/Security",
            };
            if e.class != class {
                out.push(format!("{name}: {n} in frame {} is {}, expected {class}", e.frame, e.class));
            }
            if *n != ABORT && !e.message.contains(case.identity) {
                out.push(format!("{name}: {n} message {:?} lacks {}", e.message, case.identity));
            }
        }
    }
    out
}

#[test]
fn every_scenario_gets_exactly_its_entries_in_one_and_two_passes() {
    let mut listed: Vec<&str> = CASES.iter().map(|c| c.scenario).chain(IN_SEED_RS.iter().copied()).collect();
    listed.sort();
    let mut all: Vec<&str> = scenarios::all().into_iter().map(|(name, _)| name).collect();
    all.sort();
    assert_eq!(listed, all, "every scenario has its expectations in exactly one place");

    // tshark runs dominate; spread the scenarios over the machine's cores.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).min(4);
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let tshark = tshark_with_plugin();
                    let mut out = Vec::new();
                    while let Some(case) = CASES.get(next.fetch_add(1, std::sync::atomic::Ordering::SeqCst)) {
                        out.extend(differences(&tshark, case));
                    }
                    out
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("worker")).collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A scenario's capture in a fresh plugin tshark's folder.
fn open(scenario: &str) -> (Capture, Tshark, PathBuf) {
    let cap = build(scenario);
    let tshark = tshark_with_plugin();
    let path = tshark.capture(&format!("{scenario}.pcapng"), &cap.bytes());
    (cap, tshark, path)
}

/// One field of one frame, as `-T fields` prints it (all occurrences joined by `|`).
fn field(tshark: &Tshark, path: &Path, frame: u32, name: &str) -> String {
    tshark.fields(path, false, &format!("frame.number == {frame}"), &[name]).concat()
}

#[test]
fn a_pdu_header_cut_by_a_segment_end_loses_neither_it_nor_the_pdus_after_it() {
    let (cap, tshark, path) = open("split-header");
    // Wireshark's own reading: one request completes in each of the last two segments' frames,
    // and the IUnknown QI follows in the last one.
    assert_eq!(field(&tshark, &path, cap.frame("qi_managed"), "dcerpc.cn_call_id"), "8");
    assert_eq!(field(&tshark, &path, cap.frame("qi_pci"), "dcerpc.cn_call_id"), "9|10");
}

#[test]
fn a_capture_that_starts_mid_association_takes_the_first_identity_seen_as_a_partial_baseline() {
    let (cap, tshark, path) = open("mid-association");
    let f = |m: &str| cap.frame(m);
    assert_eq!(field(&tshark, &path, f("unknown_call"), "dcomauth.identity"), "");
    assert_eq!(
        field(&tshark, &path, f("unknown_call"), "dcomauth.identity.unknown"),
        "authentication not completed yet"
    );
    assert_eq!(field(&tshark, &path, f("qi_ok"), "dcomauth.identity"), "\\administrator");
    assert_eq!(field(&tshark, &path, f("qi_managed"), "dcomauth.baseline"), "\\administrator");
    assert_eq!(field(&tshark, &path, f("qi_managed"), "dcomauth.baseline.partial"), "1");
    assert_eq!(field(&tshark, &path, f("qi_managed"), "dcomauth.baseline.frame"), f("first_auth").to_string());
}

#[test]
fn interleaved_associations_from_one_client_are_kept_apart() {
    let (cap, tshark, path) = open("interleaved-associations");
    assert_eq!(field(&tshark, &path, cap.frame("b_clone"), "dcomauth.identity"), "\\administrator");
    assert_eq!(field(&tshark, &path, cap.frame("b_clone"), "dcomauth.identity.changed"), "0");
}

#[test]
fn two_clients_to_one_server_have_their_own_baselines_and_history() {
    let (cap, tshark, path) = open("two-clients");
    assert_eq!(field(&tshark, &path, cap.frame("c2_clone"), "dcomauth.identity"), "\\administrator");
    assert_eq!(field(&tshark, &path, cap.frame("c2_clone"), "dcomauth.history.earlier"), "");
}

#[test]
fn the_same_user_on_a_second_security_context_is_not_a_change() {
    let (cap, tshark, path) = open("same-user-two-contexts");
    assert_eq!(field(&tshark, &path, cap.frame("reauth"), "dcomauth.identity"), "\\Administrator");
    assert_eq!(field(&tshark, &path, cap.frame("reauth"), "dcomauth.identity.changed"), "0");
}

#[test]
fn kerberos_contexts_are_shown_but_never_compared() {
    let (cap, tshark, path) = open("kerberos-and-ntlm");
    assert_eq!(field(&tshark, &path, cap.frame("krb_call"), "dcomauth.identity"), "");
    assert_eq!(
        field(&tshark, &path, cap.frame("krb_call"), "dcomauth.identity.unknown"),
        "Kerberos: the client's name is not visible on the wire"
    );
    assert_eq!(field(&tshark, &path, cap.frame("clone2"), "dcomauth.identity"), "\\administrator");
}

#[test]
fn printf_directives_in_a_user_name_stay_text() {
    let (cap, tshark, path) = open("percent-in-user-name");
    assert_eq!(field(&tshark, &path, cap.frame("qi_pci"), "dcomauth.identity"), "EVIL\\%s%n%s");
}

#[test]
fn a_machine_account_is_an_identity_like_any_other() {
    let (cap, tshark, path) = open("machine-account");
    assert_eq!(field(&tshark, &path, cap.frame("clone"), "dcomauth.identity"), "CORP\\HOST$");
}

#[test]
fn ntlmssp_inside_spnego_is_named_as_such() {
    let (cap, tshark, path) = open("spnego-change");
    assert!(field(&tshark, &path, cap.frame("qi_managed"), "dcomauth.security").contains("SPNEGO/NTLMSSP"));
}
