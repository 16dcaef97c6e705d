//! epan reports errors by THROW, a longjmp. Past `gui.max_tree_items` every `proto_tree_add_*`
//! throws; thrown through our Rust frames that would skip the rest of the post-dissector (its
//! expert infos, the Statistics tap) and their destructors. The shim catches it, stops adding to
//! the tree, still raises the expert infos, and re-throws in C once Rust has returned.
mod harness;

use std::path::Path;

use harness::{plain_tshark, tshark_with_plugin};

/// Our findings in the `-z expert` table, sorted (not the entry Wireshark adds for the re-thrown
/// exception under our protocol's name: group "Malformed" up to 4.2, "Dissector bug" from 4.4).
fn our_expert_lines(stdout: &str) -> Vec<String> {
    let mut lines: Vec<String> = stdout
        .lines()
        .filter(|l| l.contains(" DCOMAUTH ") && !l.contains(" Malformed ") && !l.contains(" Dissector bug "))
        .map(|l| l.trim().to_owned())
        .collect();
    lines.sort();
    lines
}

/// Frame numbers `-V` printed, in order.
fn printed_frames(stdout: &str) -> Vec<u32> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("Frame "))
        .filter_map(|l| l.split(':').next())
        .filter_map(|n| n.parse().ok())
        .collect()
}

#[test]
fn a_tree_item_limit_hit_inside_our_subtree_keeps_every_finding_and_every_frame() {
    let bytes = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/captures/seed-winpe.pcapng"))
        .expect("bundled capture");
    let tshark = tshark_with_plugin();
    let plain = plain_tshark();
    let capture = tshark.capture("exceptions-seed-winpe.pcapng", &bytes);
    let path = capture.to_string_lossy();

    let unlimited = tshark.run(&["-r", &path, "-V", "-z", "expert"]);
    let frames = printed_frames(&unlimited);
    let findings = our_expert_lines(&unlimited);
    assert!(frames.len() > 50 && findings.len() >= 9, "{} frames, findings {findings:?}", frames.len());

    // Where in a frame's tree the limit strikes depends on the Wireshark version's own dissectors,
    // so try a range; for each limit that strikes inside our subtree, no finding may be lost (the
    // verdicts come from the PDU bytes, so other dissectors hitting the limit change nothing as long
    // as DCE/RPC was called at all).
    let mut struck_ours = Vec::new();
    for limit in (100..=400).step_by(10) {
        let pref = format!("gui.max_tree_items:{limit}");
        let args = ["-r", &path, "-V", "-o", &pref, "-z", "expert"];
        let out = tshark.output(&args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() && !plain.output(&args).status.success() {
            // tshark 4.6 aborts on a limit this low by itself ("Unhandled exception ... frame.encoding",
            // thrown by the frame dissector outside any TRY): not ours to judge.
            continue;
        }
        // A longjmp gone wrong shows as a signal (no exit code) or a failure status.
        assert!(
            out.status.success(),
            "limit {limit}: tshark {:?}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(printed_frames(&stdout), frames, "limit {limit}: frames printed");
        // Wireshark's own report of the exception we re-threw: the limit struck inside our subtree.
        if stdout.contains("[Dissector bug, protocol DCOMAUTH: ") {
            assert_eq!(our_expert_lines(&stdout), findings, "limit {limit}: our expert infos");
            struck_ours.push(limit);
        }
    }
    assert!(!struck_ours.is_empty(), "no limit in 100..=400 struck inside the dcomauth subtree alone");
}
