//! One capture's worth of state: the first pass turns frames into verdicts, every later pass
//! replays them. Pure Rust; `epan` fills a `FrameInput` from Wireshark and renders the verdict.
use std::collections::HashMap;
use std::sync::Arc;

use crate::flow::{Flows, Plan};
use crate::proto::tcp::{self, Segment};
use crate::track::{CloseKind, Endpoint, FrameCtx, FrameVerdict, Tracker};

/// Facts about one frame on its first dissection.
#[derive(Debug, Clone, Copy)]
pub struct FrameInput<'a> {
    pub frame: u32,
    pub time_ns: i64,
    pub stream: u32,
    pub src: Endpoint,
    pub dst: Endpoint,
    /// The frame's captured bytes (all layers).
    pub frame_bytes: &'a [u8],
    /// Bytes of a DCE/RPC PDU Wireshark reassembled from several segments, completed in this frame.
    pub reassembled: Option<&'a [u8]>,
    /// A DCE/RPC dissector ran on this frame.
    pub has_dcerpc: bool,
}

pub struct Session {
    tracker: Tracker,
    flows: Flows,
    verdicts: HashMap<u32, Arc<FrameVerdict>>,
    /// Some frame had DCE/RPC: until then every other frame is skipped without a look.
    seen_dcerpc: bool,
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

impl Session {
    pub fn new() -> Self {
        Session { tracker: Tracker::new(), flows: Flows::default(), verdicts: HashMap::new(), seen_dcerpc: false }
    }

    /// Has any frame carried DCE/RPC yet? Before that, no frame needs a second look.
    pub fn tracks_anything(&self) -> bool {
        self.seen_dcerpc
    }

    /// Cheap test the glue runs before gathering anything: is this frame worth a look?
    pub fn wants(&self, has_dcerpc: bool, stream: Option<u32>) -> bool {
        has_dcerpc || stream.is_some_and(|s| self.tracker.tracks(s))
    }

    /// The stored verdict of a frame already seen on the first pass.
    pub fn replay(&self, frame: u32) -> Option<Arc<FrameVerdict>> {
        self.verdicts.get(&frame).cloned()
    }

    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    /// First pass over one frame: feeds its PDUs and any close to the tracker, stores the verdict.
    pub fn first_pass(&mut self, input: &FrameInput<'_>) -> Option<Arc<FrameVerdict>> {
        if let Some(v) = self.verdicts.get(&input.frame) {
            // A frame dissected twice on the "first pass" (GUI live capture refresh) keeps its verdict.
            return Some(v.clone());
        }
        self.seen_dcerpc |= input.has_dcerpc;
        let segment = tcp::locate(input.frame_bytes, input.src.addr, input.dst.addr, input.src.port, input.dst.port)?;
        let ctx = FrameCtx {
            frame: input.frame,
            time_ns: input.time_ns,
            stream: input.stream,
            src: input.src,
            dst: input.dst,
        };
        let mut verdict = FrameVerdict::default();
        if input.has_dcerpc || self.tracker.tracks(input.stream) {
            self.feed_pdus(input, &segment, &ctx, &mut verdict);
        }
        if let Some(kind) = close_kind(&segment) {
            if self.tracker.tracks(input.stream) {
                self.tracker.close(&ctx, kind, &mut verdict);
                // The close belongs to the association even without a finding (statistics table, tree).
                verdict.stream = Some(input.stream);
            }
        }
        if verdict.is_empty() && verdict.stream.is_none() {
            return None;
        }
        let verdict = Arc::new(verdict);
        self.verdicts.insert(input.frame, verdict.clone());
        Some(verdict)
    }

    fn feed_pdus(&mut self, input: &FrameInput<'_>, seg: &Segment, ctx: &FrameCtx, out: &mut FrameVerdict) {
        let payload =
            input.frame_bytes.get(seg.payload_offset..seg.payload_offset + seg.payload_len).unwrap_or_default();
        let forward = (input.src.addr, input.src.port) < (input.dst.addr, input.dst.port);
        let pdus = match self.flows.segment(input.stream, forward, seg.seq, payload) {
            Plan::Retransmission => return,
            Plan::Pdus(pdus) => pdus,
        };
        // A PDU completed by this segment precedes the ones that start in it.
        if let Some(mut rest) = input.reassembled {
            while let Ok((_, used)) = crate::proto::dcerpc::parse_pdu(rest) {
                if used == 0 || used > rest.len() {
                    break;
                }
                let (pdu, tail) = rest.split_at(used);
                self.tracker.pdu(ctx, pdu, out);
                rest = tail;
            }
        }
        for (off, len) in pdus {
            if let Some(pdu) = payload.get(off..off + len) {
                self.tracker.pdu(ctx, pdu, out);
            }
        }
    }
}

fn close_kind(seg: &Segment) -> Option<CloseKind> {
    if seg.flags & tcp::RST != 0 {
        Some(CloseKind::Rst)
    } else if seg.flags & tcp::FIN != 0 {
        Some(CloseKind::Fin)
    } else {
        None
    }
}
