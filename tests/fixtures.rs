//! The generated captures mean what the scenarios say, according to tshark's own dissectors
//! (plain tshark, no dcomauth plugin), and the committed seed captures are the generator's output.
//!
//! Rewrite the committed captures with `DCOMAUTH_REGENERATE=1 cargo test --test fixtures`.
mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::net::Capture;
use common::rpc::{status, uuids};
use common::scenarios::{self, SERVER_PORT};
use common::tshark::{self, TempCapture};

/// How tshark prints an empty NTLMSSP domain or user.
const EMPTY: &str = "NULL";
const RST: &str = "Connection reset (RST)";
const ACKED_UNSEEN: &str = "ACKed segment that wasn't captured (common at capture start)";
const PREVIOUS_NOT_CAPTURED: &str = "Previous segment(s) not captured (common at capture start)";
const OUT_OF_ORDER: &str = "This frame is a (suspected) out-of-order segment";
const BIND_NAK: &str = "Bind not acknowledged";

fn write(name: &str, cap: &Capture) -> TempCapture {
    TempCapture::new(name, &cap.bytes())
}

/// (frame, domain, user) of every NTLMSSP AUTHENTICATE, SPNEGO-wrapped or not.
fn authenticates(path: &Path) -> Vec<(u32, String, String)> {
    tshark::fields(path, "ntlmssp.messagetype == 3", &["frame.number", "ntlmssp.auth.domain", "ntlmssp.auth.username"])
        .into_iter()
        .map(|r| (r[0].parse().expect("frame"), r[1].clone(), r[2].clone()))
        .collect()
}

fn auth(frame: u32, domain: &str, user: &str) -> (u32, String, String) {
    (frame, domain.to_string(), user.to_string())
}

/// (frame, status) of every DCE/RPC fault; a frame with two faults appears twice.
fn faults(path: &Path) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    for r in tshark::fields(path, "dcerpc.pkt_type == 3", &["frame.number", "dcerpc.cn_status"]) {
        for s in r[1].split('|') {
            out.push((
                r[0].parse().expect("frame"),
                u32::from_str_radix(s.trim_start_matches("0x"), 16).expect("status"),
            ));
        }
    }
    out
}

/// (frame, source port) of the first FIN or RST of every TCP stream: who closed it.
fn first_closes(path: &Path, flag: &str) -> Vec<(u32, u16)> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for r in tshark::fields(path, &format!("tcp.flags.{flag} == 1"), &["frame.number", "tcp.stream", "tcp.srcport"]) {
        if seen.insert(r[1].clone()) {
            out.push((r[0].parse().expect("frame"), r[2].parse().expect("port")));
        }
    }
    out
}

fn stream_count(path: &Path) -> usize {
    tshark::fields(path, "tcp", &["tcp.stream"]).into_iter().map(|r| r[0].clone()).collect::<BTreeSet<_>>().len()
}

/// IIDs Wireshark's IRemUnknown2 dissector read from the RemQueryInterface in `frame`.
fn iids(path: &Path, frame: u32) -> Vec<String> {
    tshark::values(path, frame, "dcom.iid")
}

fn dcerpc_frames(path: &Path) -> Vec<u32> {
    tshark::frames(path, "dcerpc")
}

/// The case study's association 1 as seen by tshark, marks prefixed with `p`.
fn assert_association_1(path: &Path, cap: &Capture, p: &str) {
    let m = |n: &str| cap.frame(&format!("{p}{n}"));
    let auths: Vec<_> = authenticates(path).into_iter().filter(|a| a.0 == m("auth") || a.0 == m("change")).collect();
    assert_eq!(auths, vec![auth(m("auth"), EMPTY, "administrator"), auth(m("change"), "REDMOND", "jiangyue")]);
    let f: Vec<_> = faults(path).into_iter().filter(|f| f.0 == m("fault_721") || f.0 == m("fault_5")).collect();
    assert_eq!(f, vec![(m("fault_721"), status::SEC_PKG_ERROR), (m("fault_5"), status::ACCESS_DENIED)]);
    assert!(iids(path, m("qi_managed")).contains(&uuids::IMANAGED_OBJECT.to_string()));
    assert!(iids(path, m("qi_pci")).contains(&uuids::IPROVIDE_CLASS_INFO.to_string()));
    assert_eq!(tshark::values(path, m("qi_managed"), "dcerpc.auth_ctx_id").first().map(String::as_str), Some("79232"));
    assert_eq!(tshark::values(path, m("server_fin"), "tcp.flags.fin"), ["1"]);
    assert_eq!(tshark::values(path, m("server_fin"), "tcp.srcport"), [SERVER_PORT.to_string()]);
}

/// Warnings and errors tshark is expected to raise for each scenario, by mark.
fn expected_problems(name: &str, cap: &Capture) -> Vec<(u32, String)> {
    let p = |mark: &str, msg: &str| (cap.frame(mark), msg.to_string());
    match name {
        "seed-winpe" => vec![p("a3_client_rst", RST)],
        // The client acknowledges the lost bytes twice before the server sends past the hole;
        // tshark 4.4 and 4.6 flag only the first of the two.
        "capture-gap" if env!("DCOMAUTH_WIRESHARK_VERSION") != "4.0" => {
            vec![p("alter", ACKED_UNSEEN), p("alter_resp", PREVIOUS_NOT_CAPTURED)]
        }
        "capture-gap" => {
            vec![p("alter", ACKED_UNSEEN), p("alter_resp", PREVIOUS_NOT_CAPTURED), p("change", ACKED_UNSEEN)]
        }
        "out-of-order" => vec![p("qi_pci", PREVIOUS_NOT_CAPTURED), p("qi_managed", OUT_OF_ORDER)],
        "bind-nak" => vec![p("bind_nak", BIND_NAK)],
        _ => Vec::new(),
    }
}

fn expected_streams(name: &str) -> usize {
    match name {
        "seed-winpe" | "seed-hotfix" => 3,
        "interleaved-associations" | "two-clients" => 2,
        _ => 1,
    }
}

#[test]
fn every_scenario_is_clean_deterministic_and_well_marked() {
    for (name, build) in scenarios::all() {
        let cap = build();
        assert_eq!(cap.bytes(), build().bytes(), "{name}: two runs differ");
        for (mark, &frame) in cap.marks() {
            assert!(frame >= 1 && frame <= cap.frame_count(), "{name}: mark {mark} = {frame}");
        }
        let f = write(name, &cap);
        assert_eq!(tshark::problems(&f.path), expected_problems(name, &cap), "{name}: expert warnings");
        assert_eq!(stream_count(&f.path), expected_streams(name), "{name}: tcp.stream count");
        let frames = tshark::frames(&f.path, "frame");
        assert_eq!(frames.len() as u32, cap.frame_count(), "{name}: frame count");
        // Wireshark does not check checksums by default; turn it on to prove ours are right.
        let bad = tshark::fields_with(
            &f.path,
            &["ip.check_checksum:TRUE", "tcp.check_checksum:TRUE"],
            "ip.checksum.status == 0 || tcp.checksum.status == 0",
            &["frame.number"],
        );
        assert!(bad.is_empty(), "{name}: bad checksums in {bad:?}");
    }
}

#[test]
fn seed_winpe_is_the_case_study() {
    let cap = scenarios::seed_winpe();
    let f = write("seed-winpe", &cap);
    let m = |n: &str| cap.frame(n);
    assert_eq!(
        authenticates(&f.path),
        vec![
            auth(m("a1_auth"), EMPTY, "administrator"),
            auth(m("a1_change"), "REDMOND", "jiangyue"),
            auth(m("a2_auth"), EMPTY, "administrator"),
            auth(m("a2_change"), "REDMOND", "jiangyue"),
            auth(m("a3_auth"), EMPTY, "administrator"),
        ]
    );
    assert_eq!(
        faults(&f.path),
        vec![
            (m("a1_fault_721"), status::SEC_PKG_ERROR),
            (m("a1_fault_5"), status::ACCESS_DENIED),
            (m("a2_fault_721"), status::SEC_PKG_ERROR),
            (m("a2_fault_5"), status::ACCESS_DENIED),
        ]
    );
    assert_eq!(iids(&f.path, m("a1_qi_managed")), [uuids::IMANAGED_OBJECT.to_string()]);
    assert_eq!(iids(&f.path, m("a1_qi_pci")), [uuids::IPROVIDE_CLASS_INFO.to_string()]);
    assert_eq!(iids(&f.path, m("a2_qi_smartenum")), [uuids::IWBEM_FETCH_SMART_ENUM.to_string()]);
    // DCOM requests name the interface's IPID as object UUID.
    assert_eq!(tshark::values(&f.path, m("a1_qi_managed"), "dcerpc.cn_flags.object"), ["1"]);
    // The changed identities run under their own auth contexts, the ordinary calls under the first.
    for (mark, ctx) in
        [("a1_qi_managed", "79232"), ("a2_getsmartenum", "79234"), ("a2_next", "79233"), ("a2_getsmartenum2", "79234")]
    {
        assert_eq!(tshark::values(&f.path, m(mark), "dcerpc.auth_ctx_id"), [ctx], "{mark}");
    }
    // Association 2's plain alter_context: ctx 2 accepted, ctx 3 provider rejection reason 2.
    assert_eq!(tshark::values(&f.path, m("a2_alter_plain_resp"), "dcerpc.cn_ack_result"), ["0", "2"]);
    assert_eq!(tshark::values(&f.path, m("a2_alter_plain_resp"), "dcerpc.cn_ack_reason"), ["2"]);
    assert!(tshark::values(&f.path, m("a2_alter_plain"), "dcerpc.auth_type").is_empty());
    // The server closes associations 1 and 2; the client resets association 3.
    let server = SERVER_PORT;
    assert_eq!(first_closes(&f.path, "fin"), vec![(m("a1_server_fin"), server), (m("a2_server_fin"), server)]);
    assert_eq!(first_closes(&f.path, "reset"), vec![(m("a3_client_rst"), 59918)]);
    let gap = cap.frame_time_us(m("a3_bind")) - cap.frame_time_us(m("a2_server_fin"));
    assert!((1_270_000..1_300_000).contains(&gap), "association 3 starts {gap} µs after the abort");
}

#[test]
fn seed_fullos_keeps_one_association_open() {
    let cap = scenarios::seed_fullos();
    let f = write("seed-fullos", &cap);
    let m = |n: &str| cap.frame(n);
    assert_eq!(
        authenticates(&f.path),
        vec![
            auth(m("auth"), EMPTY, "administrator"),
            auth(m("change1"), "REDMOND", "jiangyue"),
            auth(m("change2"), "REDMOND", "jiangyue")
        ]
    );
    assert_eq!(
        faults(&f.path),
        vec![
            (m("fault1_721"), status::SEC_PKG_ERROR),
            (m("fault1_5"), status::ACCESS_DENIED),
            (m("fault2_721"), status::SEC_PKG_ERROR),
            (m("fault2_5"), status::ACCESS_DENIED),
        ]
    );
    assert_eq!(iids(&f.path, m("qi_managed")), [uuids::IMANAGED_OBJECT.to_string()]);
    assert_eq!(first_closes(&f.path, "fin"), vec![(m("client_fin"), 59916)]);
    assert!(first_closes(&f.path, "reset").is_empty());
    assert_eq!(m("client_fin"), cap.frame_count() - 3);
}

#[test]
fn seed_hotfix_has_no_wrong_identity_no_managed_object_and_no_fault() {
    let cap = scenarios::seed_hotfix();
    let f = write("seed-hotfix", &cap);
    let m = |n: &str| cap.frame(n);
    let admin = |mark: &str| auth(m(mark), EMPTY, "administrator");
    assert_eq!(
        authenticates(&f.path),
        vec![admin("a1_auth"), admin("a1_reauth"), admin("a2_auth"), admin("a2_reauth"), admin("a3_auth")]
    );
    assert!(faults(&f.path).is_empty());
    assert!(tshark::frames(&f.path, &format!("dcom.iid == {}", uuids::IMANAGED_OBJECT)).is_empty());
    let client_fins: Vec<_> = first_closes(&f.path, "fin").into_iter().map(|(frame, _)| frame).collect();
    assert_eq!(client_fins, vec![m("a1_client_fin"), m("a2_client_fin"), m("client_fin")]);
    for (frame, port) in first_closes(&f.path, "fin") {
        assert_ne!(port, SERVER_PORT, "frame {frame}: the server closed");
    }
}

#[test]
fn split_pdus_are_reassembled_on_their_last_segment() {
    let cap = scenarios::split_pdus();
    let f = write("split-pdus", &cap);
    assert_association_1(&f.path, &cap, "");
    let dissected = dcerpc_frames(&f.path);
    for seg in ["bind_seg1", "change_seg1", "change_seg2", "fault_721_seg1"] {
        assert!(!dissected.contains(&cap.frame(seg)), "{seg} should only be a TCP segment");
    }
    assert_eq!(cap.frame("change") - cap.frame("change_seg1"), 2);
}

#[test]
fn several_pdus_share_one_segment() {
    let cap = scenarios::pdus_in_one_segment();
    let f = write("pdus-in-one-segment", &cap);
    assert_association_1(&f.path, &cap, "");
    let change = cap.frame("change");
    assert_eq!(tshark::values(&f.path, change, "dcerpc.pkt_type"), ["16", "0", "0"]);
    assert_eq!(tshark::values(&f.path, change, "dcerpc.cn_call_id"), ["8", "8", "9"]);
    assert_eq!(cap.frame("fault_721"), cap.frame("fault_5"));

    let cap = scenarios::auth3_with_request();
    let f = write("auth3-with-request", &cap);
    assert_association_1(&f.path, &cap, "");
    assert_eq!(tshark::values(&f.path, cap.frame("change"), "dcerpc.pkt_type"), ["16", "0"]);
}

#[test]
fn retransmissions_are_not_dissected_again() {
    let cap = scenarios::retransmissions();
    let f = write("retransmissions", &cap);
    assert_association_1(&f.path, &cap, "");
    let retx: Vec<u32> = ["change_retx", "fault_721_retx", "server_fin_retx"].iter().map(|n| cap.frame(n)).collect();
    assert_eq!(tshark::frames(&f.path, "tcp.analysis.retransmission"), retx);
    let dissected = dcerpc_frames(&f.path);
    assert!(retx.iter().all(|r| !dissected.contains(r)), "tshark re-dissected a retransmission");
}

#[test]
fn out_of_order_segment_needs_the_reassembly_preference() {
    let cap = scenarios::out_of_order();
    let f = write("out-of-order", &cap);
    let (managed, pci) = (cap.frame("qi_managed"), cap.frame("qi_pci"));
    assert!(pci < managed);
    // Default preferences: the early segment (call 9) is dissected, the late one is not.
    assert_eq!(tshark::values(&f.path, pci, "dcerpc.cn_call_id"), ["9"]);
    assert!(tshark::values(&f.path, managed, "dcerpc.cn_call_id").is_empty());
    // With tcp.reassemble_out_of_order both requests come out, in sequence order, at the late frame.
    let rows = tshark::fields_with(
        &f.path,
        &["tcp.reassemble_out_of_order:TRUE"],
        "dcerpc",
        &["frame.number", "dcerpc.cn_call_id", "dcom.iid"],
    );
    let at_managed = rows.iter().find(|r| r[0] == managed.to_string()).expect("qi_managed dissected");
    assert_eq!(at_managed[1], "8|9");
    assert_eq!(at_managed[2], format!("{}|{}", uuids::IMANAGED_OBJECT, uuids::IPROVIDE_CLASS_INFO));
    assert_eq!(
        faults(&f.path),
        vec![(cap.frame("fault_721"), status::SEC_PKG_ERROR), (cap.frame("fault_5"), status::ACCESS_DENIED)]
    );
}

#[test]
fn fragmented_calls_are_reassembled_on_the_last_fragment() {
    let cap = scenarios::fragmented_calls();
    let f = write("fragmented-calls", &cap);
    assert_association_1(&f.path, &cap, "");
    for (call, flags) in [("qi_managed", ["0x81", "0x80", "0x82"]), ("clone_resp", ["0x01", "0x00", "0x02"])] {
        let frames = [cap.frame(&format!("{call}_frag1")), cap.frame(&format!("{call}_frag2")), cap.frame(call)];
        for (frame, flag) in frames.iter().zip(flags) {
            assert_eq!(tshark::values(&f.path, *frame, "dcerpc.cn_flags"), [flag], "{call} frame {frame}");
            assert_eq!(tshark::values(&f.path, *frame, "dcerpc.auth_type"), ["10"], "each fragment is signed");
        }
    }
    assert!(iids(&f.path, cap.frame("qi_managed_frag2")).is_empty());
}

#[test]
fn big_endian_ipv6_and_vlan_carry_association_1() {
    let cap = scenarios::big_endian();
    let f = write("big-endian", &cap);
    assert_association_1(&f.path, &cap, "");
    let orders: BTreeSet<_> =
        tshark::fields(&f.path, "dcerpc", &["dcerpc.drep.byteorder"]).into_iter().flatten().collect();
    assert_eq!(orders, BTreeSet::from(["0".to_string()]), "every PDU is big-endian");

    let cap = scenarios::ipv6();
    let f = write("ipv6", &cap);
    assert_association_1(&f.path, &cap, "");
    assert_eq!(tshark::values(&f.path, cap.frame("change"), "ipv6.src"), ["fd00::10"]);
    assert!(tshark::frames(&f.path, "ip").is_empty());

    let cap = scenarios::vlan();
    let f = write("vlan", &cap);
    assert_association_1(&f.path, &cap, "");
    assert_eq!(tshark::frames(&f.path, "vlan.id == 42").len() as u32, cap.frame_count());
}

#[test]
fn mid_association_capture_starts_with_unknown_identity() {
    let cap = scenarios::mid_association();
    let f = write("mid-association", &cap);
    let m = |n: &str| cap.frame(n);
    assert_eq!(m("unknown_call"), 1);
    assert!(tshark::frames(&f.path, "tcp.flags.syn == 1 || dcerpc.pkt_type == 11").is_empty());
    assert_eq!(tshark::values(&f.path, m("unknown_call"), "dcerpc.auth_ctx_id"), ["79231"]);
    assert_eq!(
        authenticates(&f.path),
        vec![auth(m("first_auth"), EMPTY, "administrator"), auth(m("change"), "REDMOND", "jiangyue")]
    );
    assert_eq!(iids(&f.path, m("qi_managed")), [uuids::IMANAGED_OBJECT.to_string()]);
    assert_eq!(faults(&f.path), vec![(m("fault_721"), status::SEC_PKG_ERROR), (m("fault_5"), status::ACCESS_DENIED)]);
    assert_eq!(first_closes(&f.path, "fin"), vec![(m("server_fin"), SERVER_PORT)]);
}

#[test]
fn capture_gap_loses_only_the_clone_response() {
    let cap = scenarios::capture_gap();
    let f = write("capture-gap", &cap);
    assert_association_1(&f.path, &cap, "");
    assert!(tshark::frames(&f.path, "dcerpc.pkt_type == 2 && dcerpc.cn_call_id == 7").is_empty());
    assert_eq!(tshark::frames(&f.path, "tcp.analysis.lost_segment"), [cap.frame("alter_resp")]);
}

#[test]
fn interleaved_associations_and_two_clients() {
    let cap = scenarios::interleaved_associations();
    let f = write("interleaved-associations", &cap);
    assert_association_1(&f.path, &cap, "a_");
    let b_auths: Vec<_> = authenticates(&f.path)
        .into_iter()
        .filter(|a| a.0 == cap.frame("b_auth") || a.0 == cap.frame("b_reauth"))
        .collect();
    assert_eq!(
        b_auths,
        vec![auth(cap.frame("b_auth"), EMPTY, "administrator"), auth(cap.frame("b_reauth"), EMPTY, "administrator")]
    );
    assert_eq!(faults(&f.path).len(), 2);
    assert_ne!(
        tshark::values(&f.path, cap.frame("a_auth"), "tcp.stream"),
        tshark::values(&f.path, cap.frame("b_auth"), "tcp.stream")
    );
    assert_eq!(cap.frame("b_bind"), cap.frame("a_bind") + 1, "steps alternate");

    let cap = scenarios::two_clients();
    let f = write("two-clients", &cap);
    assert_association_1(&f.path, &cap, "c1_");
    assert_eq!(tshark::values(&f.path, cap.frame("c2_auth"), "ip.src"), ["10.0.0.11"]);
    assert_eq!(faults(&f.path).len(), 2);
    assert_eq!(
        first_closes(&f.path, "fin"),
        vec![(cap.frame("c1_server_fin"), SERVER_PORT), (cap.frame("c2_client_fin"), 51000)]
    );
}

#[test]
fn same_user_machine_account_and_anonymous_identities() {
    let cap = scenarios::same_user_two_contexts();
    let f = write("same-user-two-contexts", &cap);
    assert_eq!(
        authenticates(&f.path),
        vec![auth(cap.frame("auth"), EMPTY, "administrator"), auth(cap.frame("reauth"), EMPTY, "Administrator")]
    );
    assert!(faults(&f.path).is_empty());
    assert_eq!(first_closes(&f.path, "fin"), vec![(cap.frame("client_fin"), 59916)]);

    let cap = scenarios::machine_account();
    let f = write("machine-account", &cap);
    assert_eq!(
        authenticates(&f.path),
        vec![auth(cap.frame("auth"), "CORP", "HOST$"), auth(cap.frame("reauth"), "corp", "host$")]
    );
    assert!(faults(&f.path).is_empty());

    let cap = scenarios::anonymous_logon();
    let f = write("anonymous-logon", &cap);
    let change = cap.frame("change");
    assert_eq!(
        authenticates(&f.path),
        vec![auth(cap.frame("auth"), EMPTY, "administrator"), auth(change, EMPTY, EMPTY)]
    );
    assert_eq!(tshark::values(&f.path, change, "ntlmssp.negotiateanonymous"), ["1"]);
    assert!(tshark::values(&f.path, change, "ntlmssp.ntlmv2_response").is_empty(), "no NT response");
    assert_eq!(faults(&f.path), vec![(cap.frame("fault_5"), status::ACCESS_DENIED)]);
    assert_eq!(first_closes(&f.path, "fin"), vec![(cap.frame("client_fin"), 59916)]);
}

#[test]
fn kerberos_contexts_carry_no_ntlmssp_identity() {
    let cap = scenarios::kerberos_and_ntlm();
    let f = write("kerberos-and-ntlm", &cap);
    let m = |n: &str| cap.frame(n);
    assert_eq!(authenticates(&f.path), vec![auth(m("auth"), EMPTY, "administrator")]);
    assert_eq!(tshark::values(&f.path, m("krb_alter"), "dcerpc.auth_type"), ["9"]);
    assert_eq!(tshark::values(&f.path, m("krb_alter"), "kerberos.msg_type"), ["14"]);
    assert_eq!(tshark::values(&f.path, m("krb_alter_resp"), "kerberos.msg_type"), ["15"]);
    assert_eq!(tshark::values(&f.path, m("krb_alter_resp"), "spnego.negResult"), ["0"]);
    assert_eq!(tshark::values(&f.path, m("krb_call"), "spnego.krb5.tok_id"), ["0x0404"]);
    // tshark 4.0 shows the auth_type 16 bind tokens only as "Kerberos SSP" without decoding them.
    assert_eq!(tshark::values(&f.path, m("krb16_alter"), "dcerpc.auth_type"), ["16"]);
    assert_eq!(tshark::values(&f.path, m("krb16_call"), "dcerpc.auth_ctx_id"), ["80003"]);
    assert!(faults(&f.path).is_empty());
}

#[test]
fn spnego_wrapped_ntlmssp_changes_identity_in_an_alter_context() {
    let cap = scenarios::spnego_change();
    let f = write("spnego-change", &cap);
    assert_association_1(&f.path, &cap, "");
    for mark in ["bind", "bind_ack", "auth", "auth_resp", "alter", "alter_resp", "change", "change_resp", "qi_managed"]
    {
        assert_eq!(tshark::values(&f.path, cap.frame(mark), "dcerpc.auth_type"), ["9"], "{mark}");
    }
    assert_eq!(tshark::values(&f.path, cap.frame("change"), "dcerpc.pkt_type"), ["14"]);
    assert_eq!(tshark::values(&f.path, cap.frame("change_resp"), "spnego.negResult"), ["0"]);
}

#[test]
fn bind_nak_carries_its_reason() {
    let cap = scenarios::bind_nak();
    let f = write("bind-nak", &cap);
    assert_eq!(tshark::values(&f.path, cap.frame("bind_nak"), "dcerpc.cn_reject_reason"), ["8"]);
    assert!(authenticates(&f.path).is_empty());
}

fn committed(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/captures").join(format!("{name}.pcapng"))
}

#[test]
fn committed_seed_captures_match_the_generator() {
    let regenerate = std::env::var("DCOMAUTH_REGENERATE").is_ok_and(|v| v == "1");
    for (name, build) in [
        ("seed-winpe", scenarios::seed_winpe as fn() -> Capture),
        ("seed-fullos", scenarios::seed_fullos),
        ("seed-hotfix", scenarios::seed_hotfix),
    ] {
        let path = committed(name);
        let bytes = build().bytes();
        if regenerate {
            std::fs::write(&path, &bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
            continue;
        }
        let on_disk = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        assert!(
            on_disk == bytes,
            "{} differs from the generator; rerun with DCOMAUTH_REGENERATE=1 if the change is intended",
            path.display()
        );
    }
}
