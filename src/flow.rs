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

#[derive(Debug, Clone, Copy, Default)]
struct Direction {
    /// Sequence number where the next PDU header starts, when known.
    next_pdu: Option<u32>,
    /// One past the highest sequence number seen with data.
    high: Option<u32>,
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
                return Plan::Retransmission;
            }
        }
        dir.high = Some(end);

        let start = match dir.next_pdu {
            // The next header lies inside this segment.
            Some(next) if !before(next, seq) && before(next, end) => {
                Some(next.wrapping_sub(seq) as usize)
            }
            // Still inside a PDU that began earlier: Wireshark reassembles it.
            Some(next) if !before(next, end) => None,
            // Unknown or skipped over (capture start, gap): resync if a header starts the segment.
            _ => dcerpc::parse_header(payload).is_ok().then_some(0),
        };
        let Some(mut off) = start else {
            return Plan::Pdus(Vec::new());
        };
        let mut pdus = Vec::new();
        dir.next_pdu = None;
        while off < payload.len() {
            let Ok(header) = dcerpc::parse_header(&payload[off..]) else {
                // Not a header where one should be: lose sync until a segment starts with one.
                return Plan::Pdus(pdus);
            };
            let frag = usize::from(header.frag_length);
            if off + frag > payload.len() {
                dir.next_pdu = Some(seq.wrapping_add((off + frag) as u32));
                return Plan::Pdus(pdus);
            }
            pdus.push((off, frag));
            off += frag;
        }
        dir.next_pdu = Some(end);
        Plan::Pdus(pdus)
    }
}
