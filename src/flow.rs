//! Where DCE/RPC PDUs start in a TCP byte stream, one direction at a time.
//!
//! Wireshark hands the post-dissector the frame and, when a PDU spanned segments, the
//! "Reassembled TCP" bytes; it does not say where in this segment the next PDU header starts.
//! This module remembers that per direction from sequence numbers, and recognises retransmitted
//! segments so a change, fault or close is never counted twice.
use std::collections::HashMap;

use crate::proto::dcerpc;

/// Most directions remembered at once; beyond this the oldest state is dropped (a resync follows).
const MAX_DIRECTIONS: usize = 1 << 16;

/// Position in a serial-number space (RFC 1982): `a` is before `b`.
fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// Holes remembered per direction: ranges skipped by a segment that arrived early.
const MAX_HOLES: usize = 8;

#[derive(Debug, Clone, Copy, Default)]
struct Direction {
    /// Sequence number where the next PDU header starts, when known.
    next_pdu: Option<u32>,
    /// One past the highest sequence number seen with data.
    high: Option<u32>,
    /// Byte ranges [start, end) not seen yet below `high`: data landing there is out of order, not
    /// retransmitted.
    holes: [Option<(u32, u32)>; MAX_HOLES],
    /// Slot the next hole overwrites when all are in use.
    next_hole: usize,
}

impl Direction {
    fn add_hole(&mut self, start: u32, end: u32) {
        let slot = self.holes.iter().position(Option::is_none).unwrap_or(self.next_hole % MAX_HOLES);
        self.holes[slot] = Some((start, end));
        self.next_hole = (slot + 1) % MAX_HOLES;
    }

    /// Takes [seq, end) out of the hole containing it; false when no hole contains it.
    fn fill_hole(&mut self, seq: u32, end: u32) -> bool {
        let Some(slot) = self.holes.iter().position(|h| h.is_some_and(|(hs, he)| !before(seq, hs) && !before(he, end)))
        else {
            return false;
        };
        let Some((hs, he)) = self.holes[slot].take() else { return false };
        if before(hs, seq) {
            self.holes[slot] = Some((hs, seq));
        }
        if before(end, he) {
            self.add_hole(end, he);
        }
        true
    }
}

/// What to do with one segment's payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Old data sent again: ignore it and anything reassembled in this frame.
    Retransmission,
    /// Whole PDUs found in the payload, as (offset, length) within it.
    Pdus(Vec<(usize, usize)>),
}

#[derive(Debug, Default)]
pub struct Flows {
    dirs: HashMap<(u32, bool), Direction>,
}

impl Flows {
    pub fn clear(&mut self) {
        self.dirs.clear();
    }

    /// Plans one segment of `stream` (`forward` tells the direction) starting at `seq`.
    pub fn segment(&mut self, stream: u32, forward: bool, seq: u32, payload: &[u8]) -> Plan {
        if self.dirs.len() >= MAX_DIRECTIONS && !self.dirs.contains_key(&(stream, forward)) {
            self.dirs.clear();
        }
        let dir = self.dirs.entry((stream, forward)).or_default();
        let len = payload.len() as u32;
        if len == 0 {
            return Plan::Pdus(Vec::new());
        }
        let end = seq.wrapping_add(len);
        if let Some(high) = dir.high {
            if !before(high, end) {
                if !dir.fill_hole(seq, end) {
                    return Plan::Retransmission;
                }
                // Late data for a hole: whole PDUs only, and the head of the stream keeps its state.
                return Plan::Pdus(whole_pdus(payload, 0).0);
            }
            if before(high, seq) {
                dir.add_hole(high, seq);
            }
        }
        dir.high = Some(end);

        let start = match dir.next_pdu {
            // The next header lies inside this segment.
            Some(next) if !before(next, seq) && before(next, end) => Some(next.wrapping_sub(seq) as usize),
            // Still inside a PDU that began earlier: Wireshark reassembles it.
            Some(next) if !before(next, end) => None,
            // Unknown or skipped over (capture start, gap): resync if a header starts the segment.
            _ => dcerpc::parse_header(payload).is_ok().then_some(0),
        };
        let Some(off) = start else {
            return Plan::Pdus(Vec::new());
        };
        let (pdus, next) = whole_pdus(payload, off);
        dir.next_pdu = next.map(|n| seq.wrapping_add(n as u32));
        Plan::Pdus(pdus)
    }
}

/// Whole PDUs from `off` on, and the payload offset where the next header starts (beyond the end
/// for a PDU that continues in later segments; None when a header was expected but not found).
fn whole_pdus(payload: &[u8], mut off: usize) -> (Vec<(usize, usize)>, Option<usize>) {
    let mut pdus = Vec::new();
    while let Some(rest) = payload.get(off..).filter(|r| !r.is_empty()) {
        let Ok(header) = dcerpc::parse_header(rest) else {
            // Not a header where one should be: lose sync until a segment starts with one.
            return (pdus, None);
        };
        let frag = usize::from(header.frag_length);
        if frag > rest.len() {
            return (pdus, Some(off + frag));
        }
        pdus.push((off, frag));
        off += frag;
    }
    (pdus, Some(off))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A little-endian request PDU of `len` bytes (header + zero body).
    fn pdu(len: u16, call_id: u32) -> Vec<u8> {
        let mut p = vec![5, 0, 0, 3, 0x10, 0, 0, 0];
        p.extend_from_slice(&len.to_le_bytes());
        p.extend_from_slice(&0u16.to_le_bytes());
        p.extend_from_slice(&call_id.to_le_bytes());
        p.resize(usize::from(len), 0);
        p
    }

    #[test]
    fn whole_pdus_in_one_segment_are_found_in_order() {
        let mut flows = Flows::default();
        let payload = [pdu(24, 1), pdu(40, 2), pdu(32, 3)].concat();
        assert_eq!(flows.segment(0, true, 1000, &payload), Plan::Pdus(vec![(0, 24), (24, 40), (64, 32)]));
    }

    #[test]
    fn a_pdu_split_over_segments_is_left_to_reassembly_and_the_next_header_is_found_after_its_tail() {
        let mut flows = Flows::default();
        let big = pdu(100, 1);
        let next = pdu(24, 2);
        assert_eq!(flows.segment(0, true, 1, &big[..60]), Plan::Pdus(vec![]));
        let second = [&big[60..], &next[..]].concat();
        assert_eq!(flows.segment(0, true, 61, &second), Plan::Pdus(vec![(40, 24)]));
    }

    #[test]
    fn a_retransmitted_segment_is_recognised_and_yields_nothing() {
        let mut flows = Flows::default();
        let p = pdu(24, 1);
        assert_eq!(flows.segment(3, false, 500, &p), Plan::Pdus(vec![(0, 24)]));
        assert_eq!(flows.segment(3, false, 500, &p), Plan::Retransmission);
    }

    #[test]
    fn directions_and_streams_are_independent() {
        let mut flows = Flows::default();
        let p = pdu(24, 1);
        assert_eq!(flows.segment(1, true, 10, &p), Plan::Pdus(vec![(0, 24)]));
        assert_eq!(flows.segment(1, false, 10, &p), Plan::Pdus(vec![(0, 24)]));
        assert_eq!(flows.segment(2, true, 10, &p), Plan::Pdus(vec![(0, 24)]));
    }

    #[test]
    fn after_a_gap_the_stream_resyncs_on_a_segment_that_starts_with_a_header() {
        let mut flows = Flows::default();
        let big = pdu(100, 1);
        assert_eq!(flows.segment(0, true, 1, &big[..50]), Plan::Pdus(vec![]));
        // Bytes 51..=100 are never captured; the next segment starts a new PDU.
        assert_eq!(flows.segment(0, true, 201, &pdu(24, 2)), Plan::Pdus(vec![(0, 24)]));
    }

    #[test]
    fn mid_stream_start_without_a_header_waits_for_one() {
        let mut flows = Flows::default();
        assert_eq!(flows.segment(0, true, 77, &[0xAB; 30]), Plan::Pdus(vec![]));
        assert_eq!(flows.segment(0, true, 107, &pdu(24, 9)), Plan::Pdus(vec![(0, 24)]));
    }

    #[test]
    fn a_segment_arriving_late_into_a_hole_is_not_a_retransmission() {
        let mut flows = Flows::default();
        let (a, b, c) = (pdu(24, 1), pdu(24, 2), pdu(24, 3));
        assert_eq!(flows.segment(0, true, 100, &a), Plan::Pdus(vec![(0, 24)]));
        // b (124..148) is late; c arrives first.
        assert_eq!(flows.segment(0, true, 148, &c), Plan::Pdus(vec![(0, 24)]));
        assert_eq!(flows.segment(0, true, 124, &b), Plan::Pdus(vec![(0, 24)]));
        // Now everything up to 172 was seen: b again is a retransmission.
        assert_eq!(flows.segment(0, true, 124, &b), Plan::Retransmission);
        assert_eq!(flows.segment(0, true, 172, &pdu(24, 4)), Plan::Pdus(vec![(0, 24)]));
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut flows = Flows::default();
        let p = [pdu(24, 1), pdu(24, 2)].concat();
        assert_eq!(flows.segment(0, true, u32::MAX - 10, &p), Plan::Pdus(vec![(0, 24), (24, 24)]));
        assert_eq!(flows.segment(0, true, 37, &pdu(24, 3)), Plan::Pdus(vec![(0, 24)]));
        assert_eq!(flows.segment(0, true, u32::MAX - 10, &p), Plan::Retransmission);
    }
}
