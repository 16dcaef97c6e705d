//! The tracker: associations by TCP stream, and the history of each client/server host pair.
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::IpAddr;

use super::association::{Association, PairEvents};
use super::summary::AssociationSummary;
use super::{CloseKind, FrameCtx, FrameVerdict, PairHistory};
use crate::proto::dcerpc;

/// Associations kept (for the summary and history); the oldest closed one goes first.
const MAX_ASSOCIATIONS: usize = 65536;
/// Host pairs whose history is kept; the oldest-created pair goes first.
const MAX_PAIRS: usize = 65536;

type PairKey = (IpAddr, IpAddr);

#[derive(Default)]
struct Pair {
    created: u64,
    count: u32,
    with_change: u32,
    with_abort: u32,
    /// (association sequence, frame) of the latest change or abort of the most recent association.
    last_change: Option<(u64, u32)>,
}

impl Pair {
    fn note_change(&mut self, seq: u64, frame: u32) {
        if self.last_change.is_none_or(|(s, _)| seq >= s) {
            self.last_change = Some((seq, frame));
        }
    }
}

/// Turns DCE/RPC PDUs and TCP closes, fed in capture order, into per-frame verdicts.
#[derive(Default)]
pub struct Tracker {
    associations: BTreeMap<u64, Association>,
    by_stream: HashMap<u32, u64>,
    closed: BTreeSet<u64>,
    pairs: HashMap<PairKey, Pair>,
    pair_order: VecDeque<(PairKey, u64)>,
    next_seq: u64,
}

impl Tracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Does this TCP stream carry an association? Never allocates.
    pub fn tracks(&self, stream: u32) -> bool {
        self.by_stream.contains_key(&stream)
    }

    /// The associations seen so far, in order of first appearance.
    pub fn associations(&self) -> impl Iterator<Item = &AssociationSummary> {
        self.associations.values().map(|a| &a.summary)
    }

    /// One complete DCE/RPC PDU of `ctx.stream`; bytes that do not parse are ignored.
    pub fn pdu(&mut self, ctx: &FrameCtx, bytes: &[u8], out: &mut FrameVerdict) {
        let Ok((pdu, _)) = dcerpc::parse_pdu(bytes) else { return };
        let seq = match self.by_stream.get(&ctx.stream) {
            Some(seq) => *seq,
            None => self.start(ctx, pdu.header.ptype),
        };
        let Some(assoc) = self.associations.get_mut(&seq) else { return };
        let mut events = PairEvents::default();
        let before = out.findings.len();
        let view = assoc.pdu(ctx, &pdu, &mut out.findings, &mut events);
        let key = (assoc.client_addr().addr, assoc.server_addr().addr);
        let appended = view.is_some() || out.findings.len() > before;
        if let Some(view) = view {
            out.pdus.push(view);
        }
        if appended {
            out.stream = Some(ctx.stream);
        }
        if let (Some(frame), Some(pair)) = (events.change_frame, self.pairs.get_mut(&key)) {
            if events.first_change {
                pair.with_change = pair.with_change.saturating_add(1);
            }
            pair.note_change(seq, frame);
        }
    }

    /// A FIN or RST from `ctx.src` on `ctx.stream`.
    pub fn close(&mut self, ctx: &FrameCtx, kind: CloseKind, out: &mut FrameVerdict) {
        let Some(&seq) = self.by_stream.get(&ctx.stream) else { return };
        let Some(assoc) = self.associations.get_mut(&seq) else { return };
        let mut events = PairEvents::default();
        let finding = assoc.close(ctx, kind, &mut events);
        let changed = assoc.changed();
        let key = (assoc.client_addr().addr, assoc.server_addr().addr);
        if assoc.is_closed() {
            self.closed.insert(seq);
        }
        assoc.trim_if_done();
        if let Some(finding) = finding {
            out.findings.push(finding);
            out.stream = Some(ctx.stream);
        }
        if let (Some(frame), Some(pair)) = (events.abort_frame, self.pairs.get_mut(&key)) {
            pair.with_abort = pair.with_abort.saturating_add(1);
            if changed {
                pair.note_change(seq, frame);
            }
        }
    }

    /// The report a user pastes into a bug: one block per association.
    pub fn render_summary(&self) -> String {
        let blocks: Vec<String> = self.associations().enumerate().map(|(i, a)| a.render(i + 1)).collect();
        if blocks.is_empty() {
            return "No DCE/RPC associations seen.\n".to_string();
        }
        blocks.join("\n")
    }

    /// Creates the association for a new stream and snapshots its host pair's history.
    fn start(&mut self, ctx: &FrameCtx, ptype: dcerpc::PacketType) -> u64 {
        if self.associations.len() >= MAX_ASSOCIATIONS {
            let victim = self.closed.iter().next().copied().or_else(|| self.associations.keys().next().copied());
            if let Some(victim) = victim {
                self.closed.remove(&victim);
                if let Some(old) = self.associations.remove(&victim) {
                    if self.by_stream.get(&old.summary.stream) == Some(&victim) {
                        self.by_stream.remove(&old.summary.stream);
                    }
                }
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let mut assoc = Association::new(ctx, ptype, PairHistory::default());
        let key = (assoc.client_addr().addr, assoc.server_addr().addr);
        if !self.pairs.contains_key(&key) {
            while self.pairs.len() >= MAX_PAIRS {
                let Some((old, created)) = self.pair_order.pop_front() else { break };
                if self.pairs.get(&old).is_some_and(|p| p.created == created) {
                    self.pairs.remove(&old);
                }
            }
            self.pairs.insert(key, Pair { created: seq, ..Pair::default() });
            self.pair_order.push_back((key, seq));
        }
        if let Some(pair) = self.pairs.get_mut(&key) {
            assoc.summary.history = PairHistory {
                earlier: pair.count,
                with_change: pair.with_change,
                with_abort: pair.with_abort,
                last_change_frame: pair.last_change.map(|(_, f)| f),
            };
            pair.count = pair.count.saturating_add(1);
        }
        self.associations.insert(seq, assoc);
        self.by_stream.insert(ctx.stream, seq);
        seq
    }
}
