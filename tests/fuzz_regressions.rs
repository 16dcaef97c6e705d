//! Inputs the fuzz targets (fuzz/, `fuzz/run.sh`) found, replayed through the same checks the
//! fuzzer ran (fuzz/src/checks.rs, included by path). The inputs libFuzzer minimised are files
//! under tests/fuzz_regressions/, named after their target; next to each, the same finding written
//! out by hand in the segment record format of fuzz/src/segments.rs.
use std::fs;
use std::path::Path;

use dcomauth::flow::{Flows, Plan};

#[path = "../fuzz/src/segments.rs"]
mod segments;

#[path = "../fuzz/src/checks.rs"]
mod checks;

fn input(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions").join(name);
    fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A little-endian request PDU of `len` bytes (header + zero body).
fn pdu(len: u16) -> Vec<u8> {
    let mut p = vec![5, 0, 0, 3, 0x10, 0, 0, 0];
    p.extend_from_slice(&len.to_le_bytes());
    p.extend_from_slice(&[0, 0, 1, 0, 0, 0]);
    p.resize(usize::from(len), 0);
    p
}

/// A client-to-server segment record of stream 0 at an absolute sequence number.
fn at(seq: u32, payload: &[u8]) -> Vec<u8> {
    let mut r = vec![0, 4];
    r.extend_from_slice(&seq.to_le_bytes());
    r.extend_from_slice(&(payload.len() as u16).to_le_bytes());
    r.extend_from_slice(payload);
    r
}

/// The record "the direction's previous segment again, unchanged".
const AGAIN: [u8; 2] = [0, 1];

/// flow (found after 254 k executions): a hole stayed remembered while the stream moved on by more than 2^31 bytes; serial
/// comparisons then put its old numbers ahead again, and a segment sent twice after the sequence
/// numbers wrapped onto the hole was taken for late data the second time: its PDUs were fed twice
/// (an identity change or fault counted twice). Fixed by forgetting holes that fall 2^31 behind.
#[test]
fn flow_stale_hole_as_found() {
    checks::flow(&input("flow-stale-hole.bin"));
}

/// The same finding, written out.
#[test]
fn flow_a_hole_left_behind_by_wrapping_does_not_turn_a_retransmission_into_new_data() {
    let p = pdu(24);
    let step = 0x6000_0000u32;
    let s0 = 1000u32;
    // A PDU, then three jumps of 1.5 GiB each: the last lands inside the first hole's old range.
    let s1 = s0 + 24 + step;
    let s2 = s1.wrapping_add(24 + step);
    let s3 = s2.wrapping_add(24 + step);
    let data = [at(s0, &p), at(s1, &p), at(s2, &p), at(s3, &p), AGAIN.to_vec()].concat();
    let segs = segments::decode(&data);
    assert_eq!(segs.len(), 5);
    assert!(segs[4].repeat && segs[4].seq == s3);
    let mut flows = Flows::default();
    let plans: Vec<Plan> =
        segs.iter().map(|s| flows.segment(s.stream, !s.from_server, s.seq, &s.payload, None)).collect();
    assert_eq!(plans[3], Plan::Pdus(vec![(dcomauth::flow::Source::Payload, 0, 24)]));
    assert_eq!(plans[4], Plan::Retransmission);
    checks::flow(&data);
}

/// session (found after 1.98 M executions): two security contexts first seen in one frame before
/// the capture saw any identity; the "capture started late" note named whichever a hash map listed
/// first, so two passes over one capture could name different contexts. Fixed by naming the lowest
/// id. Fuzzing builds give every map keys of its own (src/maps.rs), which is how it showed; here
/// the maps share keys, so `contexts_first_seen_in_one_frame_name_the_lowest_id_whatever_the_map_order`
/// in src/track/tests/departures.rs is the test that would fail again.
#[test]
fn session_map_order_as_found() {
    checks::session(&input("session-map-order.bin"));
}
