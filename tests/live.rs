//! The live rig's captures (`tests/live/`): a real Samba AD DC answered scripted clients, and each
//! client logged what it sent and received. `tests/live/expected/<scenario>.tsv` holds what the
//! plugin must show, derived from that log by `tests/live/expect.py` with the plugin's documented
//! rules. This test runs the built plugin on the committed captures (no Samba needed) and compares,
//! per scenario, the expert entries (name, frame, severity) and the identity of every PDU.
//! `tests/live/run.sh --check` regenerates everything against a live DC first.
mod harness;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use harness::{tshark_with_plugin, Tshark};

/// Every expert info of ours: the expected tables name the ones a scenario must raise, so any
/// other one observed is a difference.
const NAMES: [&str; 7] = harness::EXPERT_NAMES;

type Entry = (String, u32, String);

#[derive(Debug, Default, PartialEq, Eq)]
struct Output {
    /// frame -> identities of its PDUs, in order, '|'-joined (frames without any are absent)
    pdus: BTreeMap<u32, String>,
    entries: BTreeSet<Entry>,
}

fn live() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/live")
}

fn scenarios() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(live().join("expected"))
        .expect("tests/live/expected")
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".tsv").map(str::to_owned))
        .collect();
    names.sort();
    names
}

fn expected(scenario: &str) -> Output {
    let path = live().join("expected").join(format!("{scenario}.tsv"));
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Output::default();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        match cols.as_slice() {
            ["pdu", frame, ids] => {
                out.pdus.insert(frame.parse().expect("frame"), (*ids).to_owned());
            }
            ["entry", name, frame, severity] => {
                assert!(NAMES.contains(name), "{scenario}: unknown expert name {name}");
                out.entries.insert(((*name).to_owned(), frame.parse().expect("frame"), (*severity).to_owned()));
            }
            _ => panic!("{}: bad line {line:?}", path.display()),
        }
    }
    out
}

fn severity(value: &str) -> String {
    match value.parse::<u32>().unwrap_or(0) {
        0x0080_0000 => "Error",
        0x0060_0000 => "Warning",
        0x0040_0000 => "Note",
        0x0020_0000 => "Chat",
        _ => "?",
    }
    .to_owned()
}

/// The value of a `"key": "value"` line of tshark's JSON, unescaped.
fn json_value(line: &str, key: &str) -> Option<String> {
    let rest = line.trim().strip_prefix(&format!("\"{key}\": \""))?;
    let value = rest.trim_end_matches(',').strip_suffix('"')?;
    Some(value.replace("\\\\", "\\").replace("\\\"", "\""))
}

/// What the plugin shows on `capture`: every `dcomauth.identity` and every expert entry of ours,
/// read from `tshark -T json` (an expert item is an object holding its name, message, severity).
fn observed(tshark: &Tshark, capture: &Path, two_pass: bool) -> Output {
    let path = capture.to_string_lossy();
    let mut args = vec!["-r", &*path, "-T", "json"];
    if two_pass {
        args.push("-2");
    }
    let json = tshark.run(&args);
    let mut out = Output::default();
    let mut frame = 0u32;
    let mut pending: Option<String> = None;
    for line in json.lines() {
        if let Some(v) = json_value(line, "frame.number") {
            frame = v.parse().expect("frame.number");
        } else if let Some(id) = json_value(line, "dcomauth.identity") {
            out.pdus
                .entry(frame)
                .and_modify(|s| {
                    s.push('|');
                    s.push_str(&id);
                })
                .or_insert(id);
        } else if let Some(name) = NAMES.iter().find(|n| json_value(line, n).is_some()) {
            pending = Some((*name).to_owned());
        } else if let Some(sev) = json_value(line, "_ws.expert.severity") {
            if let Some(name) = pending.take() {
                out.entries.insert((name, frame, severity(&sev)));
            }
        }
    }
    out
}

fn capture(tshark: &Tshark, scenario: &str) -> PathBuf {
    let src = live().join("captures").join(format!("{scenario}.pcapng"));
    let bytes = fs::read(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    tshark.capture(&format!("live-{scenario}.pcapng"), &bytes)
}

fn show(entries: &BTreeSet<Entry>) -> String {
    if entries.is_empty() {
        return "none".to_owned();
    }
    entries
        .iter()
        .map(|(n, f, s)| format!("{}@{f}({s})", n.trim_start_matches("dcomauth.")))
        .collect::<Vec<_>>()
        .join(", ")
}

#[test]
fn every_live_scenario_has_a_capture_a_client_log_and_an_expectation() {
    let names = scenarios();
    assert!(names.len() >= 17, "expected tables for the live scenarios, found {names:?}");
    for s in &names {
        assert!(live().join("captures").join(format!("{s}.pcapng")).exists(), "{s}: capture missing");
        assert!(live().join("logs").join(format!("{s}.json")).exists(), "{s}: client log missing");
    }
    // The scenarios that authenticate with NTLMSSP must expect identities (an unauthenticated or
    // Kerberos-only association shows none), the ones about changes must expect entries.
    for s in names.iter().filter(|s| !["unauthenticated", "kerberos"].contains(&s.as_str())) {
        assert!(!expected(s).pdus.is_empty(), "{s}: no PDU identities expected");
    }
    for s in ["second_identity_integrity", "second_auth3", "second_identity_wrong_password", "spnego_ntlm_alter"] {
        assert!(expected(s).entries.iter().any(|e| e.0 == "dcomauth.identity_change"), "{s}: no change expected");
    }
}

/// The committed tables are what expect.py derives from the committed logs and captures now: they
/// were not edited by hand to match the plugin.
#[test]
fn expected_tables_are_derived_from_the_client_logs() {
    let out = std::env::temp_dir().join(format!("dcomauth-live-expected-{}", std::process::id()));
    let _ = fs::remove_dir_all(&out);
    let status = Command::new("python3")
        .arg(live().join("expect.py"))
        .arg(live().join("logs"))
        .arg(live().join("captures"))
        .arg(&out)
        .output()
        .expect("python3 runs tests/live/expect.py");
    assert!(status.status.success(), "expect.py failed: {}", String::from_utf8_lossy(&status.stderr));
    for s in scenarios() {
        let fresh = fs::read_to_string(out.join(format!("{s}.tsv"))).expect("derived table");
        let committed = fs::read_to_string(live().join("expected").join(format!("{s}.tsv"))).expect("table");
        assert_eq!(fresh, committed, "{s}: tests/live/expected differs from what expect.py derives");
    }
    let _ = fs::remove_dir_all(&out);
}

#[test]
fn the_plugin_matches_the_client_logs_on_every_live_capture() {
    let mut report = String::from("scenario | expected entries | observed entries | PDU identities\n");
    let mut failures = Vec::new();
    let tshark = tshark_with_plugin();
    for s in scenarios() {
        let want = expected(&s);
        let cap = capture(&tshark, &s);
        let got = observed(&tshark, &cap, false);
        let got2 = observed(&tshark, &cap, true);
        let mut pdu_diff = Vec::new();
        let frames: BTreeSet<u32> = want.pdus.keys().chain(got.pdus.keys()).copied().collect();
        for f in frames {
            let (w, g) = (want.pdus.get(&f), got.pdus.get(&f));
            if w != g {
                pdu_diff.push(format!(
                    "frame {f}: expected {:?} observed {:?}",
                    w.map_or("-", |s| s.as_str()),
                    g.map_or("-", |s| s.as_str())
                ));
            }
        }
        let entries_ok = want.entries == got.entries;
        report.push_str(&format!(
            "{s} | {} | {}{} | {}\n",
            show(&want.entries),
            show(&got.entries),
            if entries_ok { "" } else { "  <-- MISMATCH" },
            if pdu_diff.is_empty() { format!("{} frames match", want.pdus.len()) } else { pdu_diff.join("; ") }
        ));
        if !entries_ok || !pdu_diff.is_empty() {
            failures.push(s.clone());
        }
        if got != got2 {
            report.push_str(&format!("{s}: one pass and -2 differ\n"));
            failures.push(format!("{s} (-2)"));
        }
    }
    println!("{report}");
    assert!(failures.is_empty(), "live scenarios that differ from their client logs: {failures:?}\n{report}");
}
