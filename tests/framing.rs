//! Our framing agrees with Wireshark's: in every TCP stream the plugin tracks, each frame carries
//! the same DCE/RPC PDUs (packet type, call_id) that Wireshark's own DCE/RPC dissector found in it.
mod harness;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use capgen::scenarios;
use harness::{plain_tshark, reference_captures, tshark_with_plugin, Tshark};

/// (frame, stream) → sorted (ptype, call_id) of the PDUs one run shows.
type Pdus = BTreeMap<(u32, u32), Vec<(String, String)>>;

/// Late segments: bytes first captured below what the direction already reached. Wireshark up
/// to 4.4 marks them out-of-order; 4.6 calls the same segment a "(suspected) retransmission", so
/// a flagged segment counts as late only when none of its bytes were captured before.
fn late_segments(plain: &Tshark, capture: &Path) -> BTreeSet<u32> {
    let path = capture.to_string_lossy();
    let mut args = vec!["-r", &path, "-n", "-o", "tcp.relative_sequence_numbers:FALSE", "-Y", "tcp.len > 0"];
    args.extend(["-T", "fields", "-e", "frame.number", "-e", "tcp.stream", "-e", "tcp.srcport", "-e", "tcp.seq"]);
    args.extend(["-e", "tcp.len", "-e", "tcp.analysis.out_of_order", "-e", "tcp.analysis.retransmission"]);
    let mut seen: BTreeMap<(u32, u32), Vec<(u64, u64)>> = BTreeMap::new();
    let mut late = BTreeSet::new();
    for line in plain.run_truncated_ok(&args).lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let num = |i: usize| cols.get(i).and_then(|c| c.trim().parse::<u64>().ok());
        let (Some(frame), Some(stream), Some(port), Some(seq), Some(len)) = (num(0), num(1), num(2), num(3), num(4))
        else {
            continue;
        };
        let flagged = cols.get(5..7).is_some_and(|c| c.iter().any(|f| !f.is_empty()));
        let ranges = seen.entry((stream as u32, port as u32)).or_default();
        // Sequence numbers wrap at 2^32; the captures we check stay far from it.
        let (start, end) = (seq, seq + len);
        if flagged && !ranges.iter().any(|&(s, e)| s < end && start < e) {
            late.insert(frame as u32);
        }
        ranges.push((start, end));
    }
    late
}

fn pdus(tshark: &Tshark, capture: &Path) -> Pdus {
    let path = capture.to_string_lossy();
    let (ptype, call_id) = if tshark.with_plugin() {
        ("dcomauth.ptype", "dcomauth.call_id")
    } else {
        ("dcerpc.pkt_type", "dcerpc.cn_call_id")
    };
    let mut args = vec!["-r", &path, "-n", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|"];
    args.extend(["-e", "frame.number", "-e", "tcp.stream", "-e", ptype, "-e", call_id]);
    let mut out = Pdus::new();
    for line in tshark.run_truncated_ok(&args).lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let [frame, stream, types, calls] = cols[..] else { continue };
        if types.is_empty() {
            continue;
        }
        let (Ok(frame), Ok(stream)) = (frame.parse(), stream.split('|').next().unwrap_or_default().parse()) else {
            continue;
        };
        let mut list: Vec<(String, String)> =
            types.split('|').map(str::to_owned).zip(calls.split('|').map(str::to_owned)).collect();
        list.sort();
        out.insert((frame, stream), list);
    }
    out
}

/// Differences between the plugin's PDUs and Wireshark's, in the streams the plugin tracks
/// (from the first frame it shows in each: PDUs before a stream authenticates carry no view).
/// One deliberate difference: a late segment filling a hole holds whole PDUs the server answered;
/// Wireshark does not dissect it in one pass, we read it.
fn differences(with_plugin: &Tshark, plain: &Tshark, capture: &Path) -> Vec<String> {
    let ours = pdus(with_plugin, capture);
    let theirs = pdus(plain, capture);
    let late = late_segments(plain, capture);
    let mut first: BTreeMap<u32, u32> = BTreeMap::new();
    for (frame, stream) in ours.keys() {
        first.entry(*stream).or_insert(*frame);
    }
    let keys: BTreeSet<(u32, u32)> = ours.keys().chain(theirs.keys()).copied().collect();
    let mut diffs = Vec::new();
    for key @ (frame, stream) in keys {
        if first.get(&stream).is_none_or(|f| frame < *f) {
            continue;
        }
        let (a, b) = (ours.get(&key), theirs.get(&key));
        if a != b && !(b.is_none() && late.contains(&frame)) {
            diffs.push(format!("{}: frame {frame} stream {stream}: ours {a:?}, Wireshark's {b:?}", capture.display()));
        }
    }
    diffs
}

/// Frames whose `dcomauth.stream` is not Wireshark's `tcp.stream`: the plugin remembers streams
/// by address and port pair between SYNs rather than asking epan on every frame (src/streams.rs).
/// Returns the mismatches and how many frames were compared.
fn stream_mismatches(ours: &Tshark, capture: &Path) -> (Vec<String>, usize) {
    stream_mismatches_with(ours, capture, &[])
}

fn stream_mismatches_with(ours: &Tshark, capture: &Path, extra: &[&str]) -> (Vec<String>, usize) {
    let rows = ours.rows(capture, extra, "dcomauth.stream", &["frame.number", "dcomauth.stream", "tcp.stream"]);
    let bad = rows
        .iter()
        // An ICMP error quoting a TCP header carries a second tcp.stream: the frame's own is the first.
        .filter(|r| r.get(2).and_then(|t| t.split('|').next()) != r.get(1).map(String::as_str))
        .map(|r| {
            format!("{}: frame {}: dcomauth.stream {:?}, tcp.stream {:?}", capture.display(), r[0], r.get(1), r.get(2))
        })
        .collect();
    (bad, rows.len())
}

fn files_in(dir: &Path, ext: &[&str]) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| ext.iter().any(|e| x == *e)))
        .collect();
    files.sort();
    files
}

#[test]
fn framing_matches_wireshark_on_every_generated_scenario() {
    let (ours, plain) = (tshark_with_plugin(), plain_tshark());
    let mut diffs = Vec::new();
    let (mut pdu_frames, mut stream_frames) = (0, 0);
    for (name, build) in scenarios::all() {
        let path = ours.capture(&format!("framing-{name}.pcapng"), &build().bytes());
        pdu_frames += pdus(&ours, &path).len();
        diffs.extend(differences(&ours, &plain, &path));
        let (bad, compared) = stream_mismatches(&ours, &path);
        diffs.extend(bad);
        stream_frames += compared;
    }
    assert!(pdu_frames > 300, "the scenarios show only {pdu_frames} frames with PDUs");
    assert!(stream_frames > 300, "only {stream_frames} frames name a stream");
    assert!(diffs.is_empty(), "framing differs from Wireshark's:\n{}", diffs.join("\n"));
}

/// Wireshark 4.4+ can split one address and port pair into several conversations; with that
/// preference set the plugin asks epan for every frame's stream, and still names the same ones.
#[test]
fn streams_match_wireshark_with_deinterlaced_conversations() {
    if env!("DCOMAUTH_WIRESHARK_VERSION") == "4.0" {
        return; // no such preference before 4.4
    }
    let ours = tshark_with_plugin();
    let mut diffs = Vec::new();
    let mut stream_frames = 0;
    for (name, build) in scenarios::all() {
        let path = ours.capture(&format!("deinterlaced-{name}.pcapng"), &build().bytes());
        let (bad, compared) =
            stream_mismatches_with(&ours, &path, &["-o", "protocols.conversation_deinterlacing_key:VMI"]);
        diffs.extend(bad);
        stream_frames += compared;
    }
    assert!(stream_frames > 300, "only {stream_frames} frames name a stream");
    assert!(diffs.is_empty(), "streams differ from Wireshark's:\n{}", diffs.join("\n"));
}

#[test]
fn framing_matches_wireshark_on_every_reference_and_live_capture() {
    let live = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/live/captures");
    let mut files = files_in(&reference_captures(), &["pcap", "pcapng", "cap"]);
    files.extend(files_in(&live, &["pcapng"]));
    let (ours, plain) = (tshark_with_plugin(), plain_tshark());
    let mut diffs = Vec::new();
    let (mut pdu_frames, mut stream_frames) = (0, 0);
    for file in &files {
        pdu_frames += pdus(&ours, file).len();
        diffs.extend(differences(&ours, &plain, file));
        let (bad, compared) = stream_mismatches(&ours, file);
        diffs.extend(bad);
        stream_frames += compared;
    }
    assert!(files.len() > 30 && pdu_frames > 500, "{} files, {pdu_frames} frames with PDUs", files.len());
    assert!(stream_frames > 500, "only {stream_frames} frames name a stream");
    assert!(diffs.is_empty(), "framing differs from Wireshark's:\n{}", diffs.join("\n"));
}
