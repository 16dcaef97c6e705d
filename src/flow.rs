//! Where DCE/RPC PDUs start in a TCP byte stream, one direction at a time.
//!
//! Wireshark hands the post-dissector the frame and, when a PDU spanned segments, the
//! "Reassembled TCP" bytes; it does not say where in this segment the next PDU header starts.
//! This module remembers that per direction from sequence numbers, and recognises retransmitted
//! segments so a change, fault or close is never counted twice.
//!
//! Wireshark behaviours it mimics (tests/framing.rs checks every capture we have against them):
//! - a PDU ends `frag_length` bytes after its header; several PDUs in one segment are each a PDU;
//! - a PDU that spans segments is whole in the frame where TCP reassembly completes it, as the
//!   "Reassembled TCP" data source, and in no earlier frame;
//! - a retransmitted segment is not dissected again;
//! - a header cut by a segment end is joined with the next segment (as on port 135);
//! - after a capture gap, PDUs resume at the next segment that starts with a valid header.
//!
//! One deliberate difference: a late (out-of-order) segment that fills a hole is read, because its
//! PDUs reached the server and were answered; Wireshark leaves it undissected in one pass.
use std::collections::VecDeque;

use crate::maps::SequenceMap;

use crate::proto::dcerpc;

/// Most directions remembered at once. Beyond this one direction is forgotten for each new one:
/// a direction of a closed stream if there is one, else the oldest (a resync follows if it speaks
/// again).
const MAX_DIRECTIONS: usize = 1 << 16;

/// Closed directions remembered (for retransmissions after a close) before the oldest goes.
const MAX_CLOSED: usize = 4096;

/// Position in a serial-number space (RFC 1982): `a` is before `b`.
fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// Holes remembered per direction: ranges skipped by a segment that arrived early.
const MAX_HOLES: usize = 8;

#[derive(Debug, Clone, Copy, Default)]
struct Direction {
    /// Which creation of this key it is: queue entries of a forgotten earlier one do not match.
    generation: u64,
    /// Its stream was closed (FIN or RST seen): the first to go when the table is full.
    closed: bool,
    /// Sequence number where the next PDU header starts, when known.
    next_pdu: Option<u32>,
    /// One past the highest sequence number seen with data.
    high: Option<u32>,
    /// Byte ranges [start, end) not seen yet below `high`: data landing there is out of order, not
    /// retransmitted.
    holes: [Option<(u32, u32)>; MAX_HOLES],
    /// Slot the next hole overwrites when all are in use.
    next_hole: usize,
    /// Where the PDU that continues past the last segment began: the start of what Wireshark
    /// will hand over as "Reassembled TCP".
    pending_start: Option<u32>,
    /// The first bytes of a header the last segment cut short (`partial_len` of them).
    partial: [u8; dcerpc::HEADER_LEN],
    partial_len: usize,
}

impl Direction {
    fn add_hole(&mut self, start: u32, end: u32) {
        let slot = self.holes.iter().position(Option::is_none).unwrap_or(self.next_hole % MAX_HOLES);
        self.holes[slot] = Some((start, end));
        self.next_hole = (slot + 1) % MAX_HOLES;
    }

    /// Forgets holes whose start is no longer behind `high`: once the stream has moved 2^31 bytes
    /// past a hole, serial comparisons place it ahead, and a later segment wrapping around onto its
    /// old numbers would be taken for late data instead of a retransmission.
    fn forget_stale_holes(&mut self, high: u32) {
        for hole in &mut self.holes {
            if hole.is_some_and(|(hs, _)| !before(hs, high)) {
                *hole = None;
            }
        }
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

/// Where a PDU's bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// In this segment's payload.
    Payload,
    /// In the bytes Wireshark reassembled from several segments and completed with this one.
    Reassembled,
}

/// What to do with one segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Old data sent again: ignore it and anything reassembled in this frame.
    Retransmission,
    /// Whole PDUs in stream order, as (source, offset, length).
    Pdus(Vec<(Source, usize, usize)>),
}

/// How the payload ends after its whole PDUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tail {
    /// The next header starts at this offset (the payload's length when nothing is left).
    Next(usize),
    /// A PDU starts at `start` and continues past the payload; the one after it starts at `next`.
    Partial { start: usize, next: usize },
    /// Fewer than 16 bytes of a header start at this offset.
    PartialHeader(usize),
    /// Bytes that are not a header where one should be: sync is lost.
    Lost,
}

type Key = (u32, bool);

#[derive(Debug)]
pub struct Flows {
    dirs: SequenceMap<Key, Direction>,
    /// Keys in the order they were created, with their generation: the oldest goes first.
    created: VecDeque<(Key, u64)>,
    /// Keys of closed streams in the order of their close.
    closed: VecDeque<(Key, u64)>,
    generations: u64,
    limit: usize,
}

impl Default for Flows {
    fn default() -> Self {
        Self::with_limit(MAX_DIRECTIONS)
    }
}

impl Flows {
    fn with_limit(limit: usize) -> Self {
        Flows { dirs: SequenceMap::default(), created: VecDeque::new(), closed: VecDeque::new(), generations: 0, limit }
    }

    /// Both directions of `stream` saw a FIN or RST: they are forgotten first when the table is full,
    /// and beyond the latest `MAX_CLOSED` closes. Until then a retransmission after the close is
    /// still recognised.
    pub fn close(&mut self, stream: u32) {
        for key in [(stream, false), (stream, true)] {
            if let Some(dir) = self.dirs.get_mut(&key).filter(|d| !d.closed) {
                dir.closed = true;
                self.closed.push_back((key, dir.generation));
            }
        }
        while self.closed.len() > MAX_CLOSED {
            if let Some((key, generation)) = self.closed.pop_front() {
                if self.dirs.get(&key).is_some_and(|d| d.generation == generation && d.closed) {
                    self.dirs.remove(&key);
                }
            }
        }
    }

    /// Makes room for one new direction: a closed one goes if there is one, else the oldest.
    fn evict_one(&mut self) {
        for (queue, closed_only) in [(&mut self.closed, true), (&mut self.created, false)] {
            while let Some((key, generation)) = queue.pop_front() {
                if self.dirs.get(&key).is_some_and(|d| d.generation == generation && (d.closed || !closed_only)) {
                    self.dirs.remove(&key);
                    return;
                }
            }
        }
    }

    fn direction(&mut self, key: Key) -> &mut Direction {
        if !self.dirs.contains_key(&key) {
            if self.dirs.len() >= self.limit {
                self.evict_one();
            }
            self.generations += 1;
            let generation = self.generations;
            self.created.push_back((key, generation));
            // Entries of directions forgotten through `closed` stay behind here; drop them now and
            // then, so the queue stays within a small multiple of the table.
            if self.created.len() > 2 * self.limit.max(1) {
                let dirs = &self.dirs;
                self.created.retain(|(k, g)| dirs.get(k).is_some_and(|d| d.generation == *g));
            }
            self.dirs.insert(key, Direction { generation, ..Direction::default() });
        }
        self.dirs.entry(key).or_default()
    }

    /// Plans one segment of `stream` (`forward` tells the direction) starting at `seq`, with the
    /// "Reassembled TCP" bytes Wireshark completed in the same frame, if any.
    pub fn segment(
        &mut self,
        stream: u32,
        forward: bool,
        seq: u32,
        payload: &[u8],
        reassembled: Option<&[u8]>,
    ) -> Plan {
        let dir = self.direction((stream, forward));
        // Data after a FIN or RST of the stream (a half-close): still in use, not among the closed.
        dir.closed = false;
        let len = payload.len() as u32;
        if len == 0 {
            return Plan::Pdus(Vec::new());
        }
        let end = seq.wrapping_add(len);
        let in_order = dir.high.is_none_or(|h| h == seq);
        if let Some(high) = dir.high {
            if !before(high, end) {
                if !dir.fill_hole(seq, end) {
                    return Plan::Retransmission;
                }
                // Late data for a hole: whole PDUs only, and the head of the stream keeps its state.
                let mut out = Vec::new();
                whole_pdus(payload, 0, Source::Payload, &mut out);
                return Plan::Pdus(out);
            }
            if before(high, seq) {
                dir.add_hole(high, seq);
            }
        }
        dir.high = Some(end);
        dir.forget_stale_holes(end);

        // PDUs completed by this segment come first in stream order.
        let mut out = Vec::new();
        let mut reassembled_end = None;
        if let Some(r) = reassembled {
            whole_pdus(r, 0, Source::Reassembled, &mut out);
            let used = out.last().map_or(0, |(_, o, l)| o + l);
            if let Some(ps) = dir.pending_start.filter(|_| used > 0) {
                reassembled_end = Some(ps.wrapping_add(used as u32));
            }
        }
        // A header cut short by the previous segment: complete it to learn where the next PDU starts.
        if dir.partial_len > 0 {
            if !in_order {
                dir.partial_len = 0;
            } else {
                let take = (dcerpc::HEADER_LEN - dir.partial_len).min(payload.len());
                dir.partial[dir.partial_len..dir.partial_len + take].copy_from_slice(&payload[..take]);
                dir.partial_len += take;
                if dir.partial_len < dcerpc::HEADER_LEN {
                    return Plan::Pdus(out);
                }
                dir.partial_len = 0;
                dir.next_pdu = match (dcerpc::parse_header(&dir.partial), dir.pending_start) {
                    (Ok(h), Some(ps)) => Some(ps.wrapping_add(u32::from(h.frag_length))),
                    _ => None,
                };
            }
        }
        // Wireshark may have reassembled past the PDU it waited for (it takes whole segments).
        if let Some(e) = reassembled_end.filter(|e| !before(*e, seq) && !before(end, *e)) {
            dir.next_pdu = Some(e);
        }

        let start = match dir.next_pdu {
            // The next header lies inside this segment.
            Some(next) if !before(next, seq) && before(next, end) => Some(next.wrapping_sub(seq) as usize),
            // Still inside a PDU that began earlier: Wireshark reassembles it.
            Some(next) if !before(next, end) => None,
            // Unknown or skipped over (capture start, gap): resync if a header starts the segment.
            _ => dcerpc::parse_header(payload).is_ok().then_some(0),
        };
        let Some(off) = start else {
            return Plan::Pdus(out);
        };
        let from_reassembled = out.len();
        let tail = whole_pdus(payload, off, Source::Payload, &mut out);
        let at = |o: usize| seq.wrapping_add(o as u32);
        (dir.next_pdu, dir.pending_start) = match tail {
            Tail::Next(n) => (Some(at(n)), None),
            Tail::Partial { start, next } => (Some(at(next)), Some(at(start))),
            Tail::PartialHeader(h) => {
                let cut = &payload[h..];
                dir.partial[..cut.len()].copy_from_slice(cut);
                dir.partial_len = cut.len();
                (None, Some(at(h)))
            }
            Tail::Lost => (None, None),
        };
        // A PDU Wireshark also handed over reassembled is fed once.
        if from_reassembled > 0 {
            let mut kept = from_reassembled;
            for i in from_reassembled..out.len() {
                let (_, o, l) = out[i];
                let own = payload.get(o..o + l);
                let fed = out[..from_reassembled]
                    .iter()
                    .any(|&(_, ro, rl)| own.is_some() && reassembled.and_then(|r| r.get(ro..ro + rl)) == own);
                if !fed {
                    out[kept] = out[i];
                    kept += 1;
                }
            }
            out.truncate(kept);
        }
        Plan::Pdus(out)
    }
}

/// Appends the whole PDUs of `payload` from `off` on to `out` (from `source`); returns how the
/// payload ends after them.
fn whole_pdus(payload: &[u8], mut off: usize, source: Source, out: &mut Vec<(Source, usize, usize)>) -> Tail {
    while let Some(rest) = payload.get(off..).filter(|r| !r.is_empty()) {
        if rest.len() < dcerpc::HEADER_LEN {
            // rpc_vers 5 and minor 0/1 as far as the bytes go: a header continued in the next segment.
            let looks_like_header = rest.first() == Some(&5) && rest.get(1).is_none_or(|m| *m <= 1);
            return if looks_like_header { Tail::PartialHeader(off) } else { Tail::Lost };
        }
        let Ok(header) = dcerpc::parse_header(rest) else {
            return Tail::Lost;
        };
        let frag = usize::from(header.frag_length);
        if frag > rest.len() {
            return Tail::Partial { start: off, next: off + frag };
        }
        out.push((source, off, frag));
        off += frag;
    }
    Tail::Next(off)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plan of PDUs all in the segment's own payload.
    fn payload(pdus: &[(usize, usize)]) -> Plan {
        Plan::Pdus(pdus.iter().map(|&(o, l)| (Source::Payload, o, l)).collect())
    }

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
        let bytes = [pdu(24, 1), pdu(40, 2), pdu(32, 3)].concat();
        assert_eq!(flows.segment(0, true, 1000, &bytes, None), payload(&[(0, 24), (24, 40), (64, 32)]));
    }

    #[test]
    fn a_pdu_split_over_segments_is_left_to_reassembly_and_the_next_header_is_found_after_its_tail() {
        let mut flows = Flows::default();
        let big = pdu(100, 1);
        let next = pdu(24, 2);
        assert_eq!(flows.segment(0, true, 1, &big[..60], None), payload(&[]));
        let second = [&big[60..], &next[..]].concat();
        assert_eq!(flows.segment(0, true, 61, &second, None), payload(&[(40, 24)]));
    }

    #[test]
    fn a_retransmitted_segment_is_recognised_and_yields_nothing() {
        let mut flows = Flows::default();
        let p = pdu(24, 1);
        assert_eq!(flows.segment(3, false, 500, &p, None), payload(&[(0, 24)]));
        assert_eq!(flows.segment(3, false, 500, &p, None), Plan::Retransmission);
    }

    #[test]
    fn directions_and_streams_are_independent() {
        let mut flows = Flows::default();
        let p = pdu(24, 1);
        assert_eq!(flows.segment(1, true, 10, &p, None), payload(&[(0, 24)]));
        assert_eq!(flows.segment(1, false, 10, &p, None), payload(&[(0, 24)]));
        assert_eq!(flows.segment(2, true, 10, &p, None), payload(&[(0, 24)]));
    }

    #[test]
    fn after_a_gap_the_stream_resyncs_on_a_segment_that_starts_with_a_header() {
        let mut flows = Flows::default();
        let big = pdu(100, 1);
        assert_eq!(flows.segment(0, true, 1, &big[..50], None), payload(&[]));
        // Bytes 51..=100 are never captured; the next segment starts a new PDU.
        assert_eq!(flows.segment(0, true, 201, &pdu(24, 2), None), payload(&[(0, 24)]));
    }

    #[test]
    fn mid_stream_start_without_a_header_waits_for_one() {
        let mut flows = Flows::default();
        assert_eq!(flows.segment(0, true, 77, &[0xAB; 30], None), payload(&[]));
        assert_eq!(flows.segment(0, true, 107, &pdu(24, 9), None), payload(&[(0, 24)]));
    }

    #[test]
    fn a_segment_arriving_late_into_a_hole_is_not_a_retransmission() {
        let mut flows = Flows::default();
        let (a, b, c) = (pdu(24, 1), pdu(24, 2), pdu(24, 3));
        assert_eq!(flows.segment(0, true, 100, &a, None), payload(&[(0, 24)]));
        // b (124..148) is late; c arrives first.
        assert_eq!(flows.segment(0, true, 148, &c, None), payload(&[(0, 24)]));
        assert_eq!(flows.segment(0, true, 124, &b, None), payload(&[(0, 24)]));
        // Now everything up to 172 was seen: b again is a retransmission.
        assert_eq!(flows.segment(0, true, 124, &b, None), Plan::Retransmission);
        assert_eq!(flows.segment(0, true, 172, &pdu(24, 4), None), payload(&[(0, 24)]));
    }

    /// Two segments of a PDU split over them: after the first, the direction must remember where
    /// the PDU continues, or the second yields nothing.
    fn split_state_survives(flows: &mut Flows, stream: u32) -> bool {
        let big = pdu(100, 1);
        let next = pdu(24, 2);
        let second = [&big[60..], &next[..]].concat();
        flows.segment(stream, true, 61, &second, None) == payload(&[(40, 24)])
    }

    fn start_split(flows: &mut Flows, stream: u32) {
        let big = pdu(100, 1);
        assert_eq!(flows.segment(stream, true, 1, &big[..60], None), payload(&[]));
    }

    #[test]
    fn a_full_table_forgets_a_closed_stream_first_and_keeps_the_others() {
        let mut flows = Flows::with_limit(4);
        for stream in 0..4 {
            start_split(&mut flows, stream);
        }
        flows.close(2);
        // A fifth direction: stream 2 (closed) makes room, nobody else.
        assert_eq!(flows.segment(7, true, 10, &pdu(24, 1), None), payload(&[(0, 24)]));
        assert_eq!(flows.dirs.len(), 4);
        assert!(!flows.dirs.contains_key(&(2, true)));
        for stream in [0, 1, 3] {
            assert!(split_state_survives(&mut flows, stream), "stream {stream} kept its state");
        }
    }

    #[test]
    fn a_full_table_without_closed_streams_forgets_only_the_oldest() {
        let mut flows = Flows::with_limit(3);
        for stream in 0..3 {
            start_split(&mut flows, stream);
        }
        start_split(&mut flows, 3);
        assert_eq!(flows.dirs.len(), 3);
        assert!(!flows.dirs.contains_key(&(0, true)), "the oldest direction went");
        for stream in [1, 2, 3] {
            assert!(split_state_survives(&mut flows, stream), "stream {stream} kept its state");
        }
        // The forgotten one resyncs on its next header instead of taking the tail for a PDU.
        assert_eq!(flows.segment(0, true, 201, &pdu(24, 5), None), payload(&[(0, 24)]));
    }

    #[test]
    fn eviction_queues_stay_bounded_under_churn() {
        let mut flows = Flows::with_limit(8);
        for stream in 0..10_000 {
            assert_eq!(flows.segment(stream, true, 1, &pdu(24, 1), None), payload(&[(0, 24)]));
            if stream % 2 == 0 {
                flows.close(stream);
            }
        }
        assert!(flows.dirs.len() <= 8);
        assert!(
            flows.created.len() <= 17 && flows.closed.len() <= 17,
            "{} {}",
            flows.created.len(),
            flows.closed.len()
        );
    }

    #[test]
    fn only_the_latest_closed_streams_are_remembered_for_their_retransmissions() {
        let mut flows = Flows::default();
        for stream in 0..10_000 {
            flows.segment(stream, true, 1, &pdu(24, 1), None);
            flows.close(stream);
        }
        flows.segment(10_000, true, 1, &pdu(24, 1), None);
        assert_eq!(flows.dirs.len(), MAX_CLOSED + 1, "the open stream and the latest closed ones");
        assert_eq!(flows.segment(9_999, true, 1, &pdu(24, 1), None), Plan::Retransmission);
        // An early stream was forgotten: the same bytes again read as new.
        assert_eq!(flows.segment(0, true, 1, &pdu(24, 1), None), payload(&[(0, 24)]));
    }

    #[test]
    fn a_direction_still_sending_after_its_stream_closed_is_not_forgotten_with_the_closed_ones() {
        let mut flows = Flows::default();
        flows.segment(0, true, 1, &pdu(24, 1), None);
        flows.close(0);
        // The peer's half of stream 0 goes on talking while thousands of other streams close.
        flows.segment(0, false, 1, &pdu(24, 2), None);
        for stream in 1..10_000 {
            flows.segment(stream, true, 1, &pdu(24, 1), None);
            flows.close(stream);
        }
        assert!(flows.dirs.contains_key(&(0, false)), "the talking direction stays");
        assert!(!flows.dirs.contains_key(&(0, true)), "the closed one went");
        assert_eq!(flows.segment(0, false, 1, &pdu(24, 2), None), Plan::Retransmission);
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut flows = Flows::default();
        let p = [pdu(24, 1), pdu(24, 2)].concat();
        assert_eq!(flows.segment(0, true, u32::MAX - 10, &p, None), payload(&[(0, 24), (24, 24)]));
        assert_eq!(flows.segment(0, true, 37, &pdu(24, 3), None), payload(&[(0, 24)]));
        assert_eq!(flows.segment(0, true, u32::MAX - 10, &p, None), Plan::Retransmission);
    }

    #[test]
    fn a_header_cut_by_the_segment_end_is_completed_by_the_next_segment() {
        let mut flows = Flows::default();
        let (a, b, c) = (pdu(24, 1), pdu(40, 2), pdu(24, 3));
        // a, then the first 10 bytes of b's header.
        let first = [&a[..], &b[..10]].concat();
        assert_eq!(flows.segment(0, true, 1, &first, None), payload(&[(0, 24)]));
        // The rest of b and all of c; Wireshark reassembles b and hands it over with this segment.
        let second = [&b[10..], &c[..]].concat();
        let plan = flows.segment(0, true, 35, &second, Some(&b));
        assert_eq!(plan, Plan::Pdus(vec![(Source::Reassembled, 0, 40), (Source::Payload, 30, 24)]));
    }

    #[test]
    fn pdus_wireshark_reassembled_together_are_fed_once() {
        let mut flows = Flows::default();
        let (a, b, c) = (pdu(24, 1), pdu(40, 2), pdu(24, 3));
        let first = [&a[..], &b[..10]].concat();
        assert_eq!(flows.segment(0, true, 1, &first, None), payload(&[(0, 24)]));
        // Wireshark asked for one more segment and reassembled b and c together.
        let second = [&b[10..], &c[..]].concat();
        let both = [&b[..], &c[..]].concat();
        let plan = flows.segment(0, true, 35, &second, Some(&both));
        assert_eq!(plan, Plan::Pdus(vec![(Source::Reassembled, 0, 40), (Source::Reassembled, 40, 24)]));
        assert_eq!(flows.segment(0, true, 89, &pdu(24, 4), None), payload(&[(0, 24)]));
    }

    #[test]
    fn a_one_byte_segment_at_a_pdu_start_does_not_lose_the_stream() {
        let mut flows = Flows::default();
        let b = pdu(24, 2);
        assert_eq!(flows.segment(0, true, 1, &pdu(24, 1), None), payload(&[(0, 24)]));
        assert_eq!(flows.segment(0, true, 25, &b[..1], None), payload(&[]));
        assert_eq!(flows.segment(0, true, 26, &b[1..], Some(&b)), Plan::Pdus(vec![(Source::Reassembled, 0, 24)]));
        assert_eq!(flows.segment(0, true, 49, &pdu(24, 3), None), payload(&[(0, 24)]));
    }
}
