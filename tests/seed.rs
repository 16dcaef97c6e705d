//! The case study as the user meets it: the WinPE capture gets the identity changes, the faults
//! they caused and the server aborts; the full OS the changes and faults but no abort; the
//! hotfixed client nothing. Exact entries, in one pass and with `-2`.
mod harness;

use capgen::net::Capture;
use capgen::scenarios;
use harness::pinned::{Pinned, BLESS};
use harness::{tshark_with_plugin, Entry};

const WARN_SECURITY: &str = "Warning/Security";
const NOTE_SECURITY: &str = "Note/Security";
const ERROR_SEQUENCE: &str = "Error/Sequence";
const CALL_FAILED: &str = "client will see RPC_S_CALL_FAILED (0x800706BE) or RPC_S_CALL_FAILED_DNE (0x800706BF)";

fn entry(name: &'static str, frame: u32, class: &str, message: String) -> (&'static str, Entry) {
    (name, Entry { frame, class: class.to_owned(), message })
}

fn change(cap: &Capture, at: &str, auth_ctx: u32, iface: &str, baseline: &str) -> (&'static str, Entry) {
    let message = format!(
        "Identity changed inside the association: REDMOND\\jiangyue (auth ctx {auth_ctx}, {iface}) after \
         \\administrator (frame {}); security context multiplexing not negotiated",
        cap.frame(baseline)
    );
    entry("dcomauth.identity_change", cap.frame(at), WARN_SECURITY, message)
}

fn fault(cap: &Capture, at: &str, status: &str, hresult: u32, target: &str, call: &str) -> (&'static str, Entry) {
    let message = format!(
        "Fault under changed identity REDMOND\\jiangyue: {status} to {target} in frame {}; caller sees 0x{hresult:08X}",
        cap.frame(call)
    );
    entry("dcomauth.fault_after_change", cap.frame(at), WARN_SECURITY, message)
}

fn managed_qi(cap: &Capture, at: &str) -> (&'static str, Entry) {
    let message = "RemQueryInterface for IManagedObject under changed identity REDMOND\\jiangyue: the known .NET \
                   before 4.0 pattern (QI issued without the caller's security blanket; KB967622, KB974893)"
        .to_owned();
    entry("dcomauth.managed_object_qi", cap.frame(at), NOTE_SECURITY, message)
}

fn abort(cap: &Capture, at: &str, changed: &str, last_fault: &str) -> (&'static str, Entry) {
    let (fin, chg) = (cap.frame(at), cap.frame(changed));
    let tenths_ms = (cap.frame_time_us(fin) - cap.frame_time_us(chg) + 50) / 100;
    let message = format!(
        "Server closed the association (FIN) {}.{} ms after the identity change (frame {chg}); last fault frame {}; \
         {CALL_FAILED}",
        tenths_ms / 10,
        tenths_ms % 10,
        cap.frame(last_fault)
    );
    entry("dcomauth.abort_after_change", fin, ERROR_SEQUENCE, message)
}

/// Runs tshark in one pass and with `-2` and checks both give exactly `expected` (by name, then frame).
fn assert_entries(name: &str, cap: &Capture, mut expected: Vec<(&'static str, Entry)>) {
    let tshark = tshark_with_plugin();
    let path = tshark.capture(name, &cap.bytes());
    expected.sort_by_key(|(n, e)| (harness::EXPERT_NAMES.iter().position(|x| x == n), e.frame));
    for two_pass in [false, true] {
        let got = tshark.entries(&path, two_pass);
        assert_eq!(got, expected, "{name}, two_pass={two_pass}");
    }
}

/// WinPE: both changes, the four faults they caused, both server aborts, the IManagedObject QI.
fn winpe_expected(cap: &Capture) -> Vec<(&'static str, Entry)> {
    vec![
        change(cap, "a1_change", 79232, "IRemUnknown2", "a1_auth"),
        change(cap, "a2_change", 79234, "IWbemFetchSmartEnum", "a2_auth"),
        fault(
            cap,
            "a1_fault_721",
            "nca_s_fault_sec_pkg_error (0x00000721)",
            0x8007_0721,
            "IRemUnknown2::RemQueryInterface(IManagedObject)",
            "a1_qi_managed",
        ),
        fault(
            cap,
            "a1_fault_5",
            "nca_s_fault_access_denied (0x00000005)",
            0x8007_0005,
            "IRemUnknown2::RemQueryInterface(IProvideClassInfo)",
            "a1_qi_pci",
        ),
        fault(
            cap,
            "a2_fault_721",
            "nca_s_fault_sec_pkg_error (0x00000721)",
            0x8007_0721,
            "IWbemFetchSmartEnum::GetSmartEnum",
            "a2_getsmartenum",
        ),
        fault(
            cap,
            "a2_fault_5",
            "nca_s_fault_access_denied (0x00000005)",
            0x8007_0005,
            "IWbemFetchSmartEnum::GetSmartEnum",
            "a2_getsmartenum2",
        ),
        abort(cap, "a1_server_fin", "a1_change", "a1_fault_5"),
        abort(cap, "a2_server_fin", "a2_change", "a2_fault_5"),
        managed_qi(cap, "a1_qi_managed"),
    ]
}

#[test]
fn winpe_gets_changes_faults_and_server_aborts() {
    let cap = scenarios::seed_winpe();
    assert_entries("seed-winpe.pcapng", &cap, winpe_expected(&cap));
}

/// At auth level CONNECT (what Windows DCOM uses) calls carry no sec_trailer: the same entries,
/// and ctx 0 keeps running as the administrator after the change.
#[test]
fn winpe_at_connect_level_gets_the_same_entries_and_ctx_0_stays_the_administrator() {
    let cap = scenarios::seed_winpe_connect();
    assert_entries("seed-winpe-connect.pcapng", &cap, winpe_expected(&cap));
    assert_ctx0_is_administrator_after("seed-winpe-connect-ctx0.pcapng", &cap, "a2_change", 1);
}

/// Full OS: the same changes and faults, no abort.
fn fullos_expected(cap: &Capture) -> Vec<(&'static str, Entry)> {
    vec![
        change(cap, "change1", 79232, "IRemUnknown2", "auth"),
        change(cap, "change2", 79233, "IWbemFetchSmartEnum", "auth"),
        fault(
            cap,
            "fault1_721",
            "nca_s_fault_sec_pkg_error (0x00000721)",
            0x8007_0721,
            "IRemUnknown2::RemQueryInterface(IManagedObject)",
            "qi_managed",
        ),
        fault(
            cap,
            "fault1_5",
            "nca_s_fault_access_denied (0x00000005)",
            0x8007_0005,
            "IRemUnknown2::RemQueryInterface(IProvideClassInfo)",
            "p1_qi_pci",
        ),
        fault(
            cap,
            "fault2_721",
            "nca_s_fault_sec_pkg_error (0x00000721)",
            0x8007_0721,
            "IWbemFetchSmartEnum::GetSmartEnum",
            "p2_getsmartenum",
        ),
        fault(
            cap,
            "fault2_5",
            "nca_s_fault_access_denied (0x00000005)",
            0x8007_0005,
            "IWbemFetchSmartEnum::GetSmartEnum",
            "p2_getsmartenum2",
        ),
        managed_qi(cap, "qi_managed"),
    ]
}

#[test]
fn full_os_gets_changes_and_faults_but_no_abort() {
    let cap = scenarios::seed_fullos();
    assert_entries("seed-fullos.pcapng", &cap, fullos_expected(&cap));
}

#[test]
fn full_os_at_connect_level_gets_the_same_entries_and_ctx_0_stays_the_administrator() {
    let cap = scenarios::seed_fullos_connect();
    assert_entries("seed-fullos-connect.pcapng", &cap, fullos_expected(&cap));
    assert_ctx0_is_administrator_after("seed-fullos-connect-ctx0.pcapng", &cap, "change2", 0);
}

/// Every PDU on presentation context 0 of `stream` after the change at `mark` runs as
/// `\administrator` (one pass and `-2`): the server ran those calls under the baseline.
fn assert_ctx0_is_administrator_after(name: &str, cap: &Capture, mark: &str, stream: u32) {
    let tshark = tshark_with_plugin();
    let path = tshark.capture(name, &cap.bytes());
    let filter = format!("tcp.stream == {stream} && frame.number > {} && dcomauth.ctx_id == 0", cap.frame(mark));
    for two_pass in [false, true] {
        let rows = tshark.fields(&path, two_pass, &filter, &["dcomauth.identity", "dcomauth.identity.changed"]);
        assert!(rows.len() >= 2, "{name}: only {} ctx 0 PDUs after the change", rows.len());
        for row in &rows {
            assert_eq!(row, "\\administrator\t0", "{name}, two_pass={two_pass}: {rows:?}");
        }
    }
}

#[test]
fn hotfixed_client_gets_nothing() {
    assert_entries("seed-hotfix.pcapng", &scenarios::seed_hotfix(), vec![]);
}

#[test]
fn the_changed_frames_list_the_wrong_identity() {
    let cap = scenarios::seed_winpe();
    let tshark = tshark_with_plugin();
    let path = tshark.capture("seed-winpe-ids.pcapng", &cap.bytes());
    for two_pass in [false, true] {
        let rows = tshark.fields(&path, two_pass, "dcomauth.identity_change", &["frame.number", "dcomauth.identity"]);
        let expected = vec![
            format!("{}\tREDMOND\\jiangyue", cap.frame("a1_change")),
            format!("{}\tREDMOND\\jiangyue", cap.frame("a2_change")),
        ];
        assert_eq!(rows, expected, "two_pass={two_pass}");
    }
}

#[test]
fn every_authenticated_pdu_shows_its_identity_and_the_third_association_its_history() {
    let cap = scenarios::seed_winpe();
    let tshark = tshark_with_plugin();
    let path = tshark.capture("seed-winpe-tree.pcapng", &cap.bytes());
    let q = |frame: &str, field: &str| -> String {
        let filter = format!("frame.number == {}", cap.frame(frame));
        tshark.fields(&path, false, &filter, &[field]).concat()
    };
    assert_eq!(q("a1_qi_managed", "dcomauth.identity"), "REDMOND\\jiangyue");
    assert_eq!(q("a1_qi_managed", "dcomauth.baseline"), "\\administrator");
    assert_eq!(q("a1_qi_managed", "dcomauth.identity.changed"), "1");
    assert_eq!(q("a2_next", "dcomauth.identity"), "\\administrator");
    assert_eq!(q("a2_next", "dcomauth.identity.changed"), "0");
    assert_eq!(q("a3_auth", "dcomauth.identity"), "\\administrator");
    assert_eq!(q("a3_auth", "dcomauth.history.earlier"), "2");
    assert_eq!(q("a3_auth", "dcomauth.history.with_change"), "2");
    assert_eq!(q("a3_auth", "dcomauth.history.with_abort"), "2");
}

/// The report a user pastes into a bug: pinned in `tests/golden/seed-winpe.summary.txt` (reviewed;
/// rewrite with `DCOMAUTH_BLESS=1`). One pass and `-2` print the same.
#[test]
fn the_winpe_summary_lists_three_associations_with_identities_changes_faults_and_endings() {
    let cap = scenarios::seed_winpe();
    let tshark = tshark_with_plugin();
    let path = tshark.capture("seed-winpe-summary.pcapng", &cap.bytes());
    let p = path.to_string_lossy();
    let [one, two] = [false, true].map(|two_pass| {
        let mut args = vec!["-r", &p, "-q", "-z", "dcomauth,summary", "-z", "dcomauth,table"];
        args.extend(harness::passes(two_pass));
        tshark.run(&args)
    });
    assert_eq!(one, two);
    for needle in [
        "Association 1: TCP stream 0, client 10.0.0.10:59916 -> server 10.0.0.20:49157".to_owned(),
        "Association 3: TCP stream 2, client 10.0.0.10:59918 -> server 10.0.0.20:49157".to_owned(),
        format!("Ended:                                server FIN in frame {}", cap.frame("a1_server_fin")),
        format!("Ended:                                server FIN in frame {}", cap.frame("a2_server_fin")),
        format!("Ended:                                client RST in frame {}", cap.frame("a3_client_rst")),
        format!(
            "frame {}  auth ctx 79232  \\administrator -> REDMOND\\jiangyue  (IRemUnknown2)",
            cap.frame("a1_change")
        ),
    ] {
        assert!(one.contains(&needle), "summary lacks {needle:?}:\n{one}");
    }
    let mut pinned = Pinned::from_env(BLESS);
    pinned.text(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/seed-winpe.summary.txt"), &one);
    pinned.finish();
}
