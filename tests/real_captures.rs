//! Real captures from Zeek, Suricata, OTRF and Scapy (`tests/captures/reference`): no false alarms, every
//! NTLM-authenticated association shows its identity, and the plugin's whole output per file is
//! frozen in `tests/golden/` (reviewed once; rewrite with `DCOMAUTH_BLESS=1` after a reviewed change).
mod harness;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use harness::{is_ours, reference_captures, tshark};

const ALARMS: &str = "dcomauth.identity_change || dcomauth.fault_after_change || dcomauth.abort_after_change";

fn captures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(reference_captures())
        .expect("read reference captures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng" || x == "cap"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 19, "the 19 reference captures of ORIGINS.tsv");
    files
}

fn name(path: &Path) -> String {
    path.file_name().expect("file name").to_string_lossy().into_owned()
}

/// The plugin's visible output for one capture: per frame its stream, identities, interfaces and
/// our expert entries; then the association summary.
fn plugin_output(path: &Path, two_pass: bool) -> String {
    let p = path.to_string_lossy();
    let mut args = vec!["-r", &p, "-Y", "dcomauth", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=\u{1f}"];
    if two_pass {
        args.push("-2");
    }
    for f in ["frame.number", "dcomauth.stream", "dcomauth.identity", "dcomauth.interface", "_ws.expert"] {
        args.extend(["-e", f]);
    }
    let mut out = String::new();
    for row in tshark().run_truncated_ok(&args).lines() {
        let cols: Vec<&str> = row.split('\t').collect();
        let ours: Vec<&str> = cols
            .get(4)
            .unwrap_or(&"")
            .split('\u{1f}')
            .filter_map(|e| e.strip_prefix("Expert Info ("))
            .filter(|e| e.split_once("): ").is_some_and(|(_, m)| harness::EXPERT_NAMES.iter().any(|n| is_ours(n, m))))
            .collect();
        let list = |i: usize| cols.get(i).unwrap_or(&"").replace('\u{1f}', " | ");
        out.push_str(&format!("{}\t{}\t{}\t{}", list(0), list(1), list(2), list(3)));
        for e in ours {
            out.push_str(&format!("\n\t({e}"));
        }
        out.push('\n');
    }
    let summary = tshark().run_truncated_ok(&["-r", &p, "-q", "-z", "dcomauth,summary"]);
    out.push_str(&summary);
    out
}

#[test]
fn every_reference_capture_matches_its_reviewed_golden_output_in_one_and_two_passes() {
    let bless = std::env::var_os("DCOMAUTH_BLESS").is_some();
    let mut mismatches = Vec::new();
    for path in captures() {
        let one = plugin_output(&path, false);
        let two = plugin_output(&path, true);
        assert_eq!(one, two, "{}: one pass and -2 differ", name(&path));
        let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(format!("{}.txt", name(&path)));
        if bless {
            fs::write(&golden, &one).expect("write golden");
        } else if fs::read_to_string(&golden).ok().as_deref() != Some(one.as_str()) {
            mismatches.push(format!("{}:\n{one}", golden.display()));
        }
    }
    assert!(mismatches.is_empty(), "output differs from the golden files:\n{}", mismatches.join("\n"));
}

#[test]
fn no_reference_capture_raises_a_change_fault_or_abort_after_change() {
    for path in captures() {
        let p = path.to_string_lossy();
        let hits = tshark().run_truncated_ok(&["-r", &p, "-Y", ALARMS, "-T", "fields", "-e", "frame.number"]);
        assert_eq!(hits, "", "{}: false alarm in frames {hits}", name(&path));
    }
}

/// (file, NTLM associations, identities) from ORIGINS.tsv; tshark spells an empty domain "NULL".
fn origins() -> Vec<(String, usize, BTreeSet<String>)> {
    let text = fs::read_to_string(reference_captures().join("ORIGINS.tsv")).expect("ORIGINS.tsv");
    text.lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            let ids = match c[6] {
                "-" => BTreeSet::new(),
                s => s.split(',').map(|i| i.trim().strip_prefix("NULL").unwrap_or(i.trim()).to_owned()).collect(),
            };
            (c[0].to_owned(), c[5].parse().expect("count"), ids)
        })
        .collect()
}

#[test]
fn every_ntlm_authenticated_association_shows_its_identity() {
    for (file, associations, identities) in origins() {
        let path = reference_captures().join(&file);
        let p = path.to_string_lossy();
        let rows = tshark().run_truncated_ok(&[
            "-r",
            &p,
            "-Y",
            "dcomauth.identity",
            "-T",
            "fields",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=\u{1f}",
            "-e",
            "dcomauth.stream",
            "-e",
            "dcomauth.identity",
        ]);
        let mut streams = BTreeSet::new();
        let mut seen = BTreeSet::new();
        for row in rows.lines() {
            let (streams_col, ids_col) = row.split_once('\t').unwrap_or((row, ""));
            for (stream, id) in streams_col.split('\u{1f}').zip(ids_col.split('\u{1f}')) {
                if id.contains('\\') {
                    streams.insert(stream.to_owned());
                    seen.insert(id.to_owned());
                }
            }
        }
        assert_eq!(streams.len(), associations, "{file}: NTLM associations with an identity");
        // The identities column also lists NTLM outside DCE/RPC over TCP (SMB session setup).
        if associations > 0 {
            assert_eq!(seen, identities, "{file}: identities");
        }
    }
}

#[test]
fn the_gap_capture_gets_only_the_abort_after_fault_note() {
    let path = reference_captures().join("sv_dce-gap-handling.pcap");
    for two_pass in [false, true] {
        let entries = tshark().entries(&path, two_pass);
        let expected = vec![(
            "dcomauth.abort_after_fault",
            harness::Entry {
                frame: 13,
                class: "Note/Sequence".to_owned(),
                message: "Server closed the association (FIN) after a fault with no identity change seen: \
                          nca_s_fault_sec_pkg_error (0x00000721) in frame 12"
                    .to_owned(),
            },
        )];
        assert_eq!(entries, expected, "two_pass={two_pass}");
    }
}
