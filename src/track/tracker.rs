//! The tracker: associations by TCP stream, and the history of each client/server host pair.
use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::association::{Association, PairEvents, Step, MAX_IDENTITIES, MAX_LISTED, MAX_PRESENTATION, MAX_SECURITY};
use super::identity::Names;
use super::pairs::{PairKey, Pairs, MAX_PAIRS};
use super::summary::AssociationSummary;
use super::{CloseKind, Config, Finding, FrameCtx, FrameVerdict, Table};
use crate::maps::SequenceMap;
use crate::proto::dcerpc;

/// How long after one side's RST the other side's answers may still arrive: a reset connection
/// keeps its calls and contexts this long (in capture time), then only its summary.
const LINGER_NS: i64 = 2_000_000_000;

/// Turns DCE/RPC PDUs and TCP closes, fed in capture order, into per-frame verdicts.
#[derive(Default)]
pub struct Tracker {
    cfg: Config,
    /// Boxed: keys only grow, so the map's leaves stay half full, and half-empty slots of a
    /// pointer cost far less than of a whole association.
    associations: BTreeMap<u64, Box<Association>>,
    by_stream: SequenceMap<u32, u64>,
    closed: BTreeSet<u64>,
    /// Associations reset by one side only, with the frame and time of their last activity then:
    /// their state goes once nothing the other side had in flight can still arrive (`LINGER_NS`),
    /// unless they went on (a reset the peer ignored).
    reset: VecDeque<(u64, u32, i64)>,
    /// The latest capture time seen: time stepping back (merged files) neither stalls nor hurries trims.
    latest_ns: i64,
    pairs: Pairs,
    names: Names,
    next_seq: u64,
    /// Tables whose cap has been reported (`Table::bit`): one Note per table and capture.
    limits_reported: u8,
    /// Tables whose cap bit while starting the current frame's association.
    limits_pending: u8,
}

impl Tracker {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_config(cfg: Config) -> Self {
        Tracker { cfg, ..Self::default() }
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Does this TCP stream carry an association? Never allocates.
    pub fn tracks(&self, stream: u32) -> bool {
        self.by_stream.contains_key(&stream)
    }

    /// The associations seen so far, in order of first appearance.
    pub fn associations(&self) -> impl Iterator<Item = &AssociationSummary> {
        self.associations.values().map(|a| &a.summary)
    }

    /// The summary of the association on `stream`, by index rather than by a scan of all of them
    /// (the Statistics table looks one up for every tapped frame).
    pub fn association(&self, stream: u32) -> Option<&AssociationSummary> {
        self.by_stream.get(&stream).and_then(|seq| self.associations.get(seq)).map(|a| &a.summary)
    }

    /// How many associations hold the state of an open one.
    #[cfg(test)]
    pub(crate) fn live_associations(&self) -> usize {
        self.associations.values().filter(|a| a.is_live()).count()
    }

    #[cfg(test)]
    pub(crate) fn reset_queue_len(&self) -> usize {
        self.reset.len()
    }

    /// One complete DCE/RPC PDU of `ctx.stream`; bytes that do not parse are ignored.
    pub fn pdu(&mut self, ctx: &FrameCtx, bytes: &[u8], out: &mut FrameVerdict) {
        self.trim_reset(ctx.time_ns);
        let Ok((pdu, _)) = dcerpc::parse_pdu(bytes) else { return };
        let seq = match self.by_stream.get(&ctx.stream) {
            Some(seq) => *seq,
            None => self.start(ctx, pdu.header.ptype),
        };
        let Some(assoc) = self.associations.get_mut(&seq) else { return };
        let key = pair_key(assoc);
        let before = out.findings.len();
        let faults_before = assoc.summary.faults.len();
        let mut step = Step {
            ctx,
            cfg: &self.cfg,
            findings: &mut out.findings,
            names: &mut self.names,
            pairs: Some((&self.pairs, key)),
            events: PairEvents::default(),
        };
        let view = assoc.pdu(&mut step, &pdu);
        let events = step.events;
        let hit = assoc.take_limits() | std::mem::take(&mut self.limits_pending);
        assoc.summary.record_step(ctx, faults_before, out.findings.get(before..).unwrap_or_default());
        let appended = view.is_some() || out.findings.len() > before;
        if let Some(view) = view {
            out.pdus.push(view);
        }
        if appended {
            out.stream = Some(ctx.stream);
        }
        let changed = assoc.changed();
        self.pairs.record(&key, seq, ctx.stream, changed, events);
        self.report_limits(hit, ctx.stream, out);
    }

    /// One `dcomauth.state_limit` Note per table whose cap bit for the first time in this capture.
    fn report_limits(&mut self, hit: u8, stream: u32, out: &mut FrameVerdict) {
        for table in Table::ALL {
            if hit & table.bit() == 0 || self.limits_reported & table.bit() != 0 {
                continue;
            }
            self.limits_reported |= table.bit();
            let cap = match table {
                Table::Associations => self.cfg.max_associations,
                Table::HostPairs => MAX_PAIRS,
                Table::Calls => self.cfg.max_calls,
                Table::SecurityContexts => MAX_SECURITY,
                Table::PresentationContexts => MAX_PRESENTATION,
                Table::ListedFaults => MAX_LISTED,
                Table::ListedIdentities => MAX_IDENTITIES,
            };
            out.findings.push(Finding::StateLimit { table, cap });
            out.stream = Some(stream);
        }
    }

    /// A FIN or RST from `ctx.src` on `ctx.stream`.
    pub fn close(&mut self, ctx: &FrameCtx, kind: CloseKind, out: &mut FrameVerdict) {
        self.trim_reset(ctx.time_ns);
        let Some(&seq) = self.by_stream.get(&ctx.stream) else { return };
        let Some(assoc) = self.associations.get_mut(&seq) else { return };
        let key = pair_key(assoc);
        let mut step = Step {
            ctx,
            cfg: &self.cfg,
            findings: &mut out.findings,
            names: &mut self.names,
            pairs: None,
            events: PairEvents::default(),
        };
        let faults_before = assoc.summary.faults.len();
        let finding = assoc.close(&mut step, kind);
        let events = step.events;
        assoc.summary.record_step(ctx, faults_before, finding.as_slice());
        if assoc.is_closed() {
            self.closed.insert(seq);
        }
        assoc.trim_if_done();
        // Once per side at most (its first close), so RSTs sent again cannot grow the queue.
        let first_reset = [assoc.summary.client_close, assoc.summary.server_close]
            .iter()
            .flatten()
            .any(|c| c.frame == ctx.frame && c.kind == CloseKind::Rst);
        let queue_reset = first_reset && assoc.is_live();
        if let Some(finding) = finding {
            out.findings.push(finding);
            out.stream = Some(ctx.stream);
        }
        let changed = assoc.changed();
        self.pairs.record(&key, seq, ctx.stream, changed, events);
        if queue_reset {
            self.reset.push_back((seq, ctx.frame, self.latest_ns));
            // Two entries per association at most, but associations come and go: keep it bounded.
            if self.reset.len() > 2 * self.cfg.max_associations {
                if let Some((old, _, _)) = self.reset.pop_front() {
                    if let Some(a) = self.associations.get_mut(&old) {
                        a.trim();
                    }
                }
            }
        }
    }

    /// Frees the calls and contexts of associations reset more than `LINGER_NS` ago and quiet since.
    fn trim_reset(&mut self, now: i64) {
        self.latest_ns = self.latest_ns.max(now);
        while let Some(&(seq, frame, at)) = self.reset.front() {
            if self.latest_ns.saturating_sub(at) <= LINGER_NS {
                break;
            }
            self.reset.pop_front();
            let Some(assoc) = self.associations.get_mut(&seq) else { continue };
            if assoc.summary.last_frame == frame {
                assoc.trim();
            } else if assoc.is_live() {
                // It went on after the reset: look again a while after its latest frame.
                self.reset.push_back((seq, assoc.summary.last_frame, self.latest_ns));
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

    /// Creates the association for a new stream with its host pair's history.
    fn start(&mut self, ctx: &FrameCtx, ptype: dcerpc::PacketType) -> u64 {
        if self.associations.len() >= self.cfg.max_associations {
            self.limits_pending |= Table::Associations.bit();
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
        let (client, server) = Association::endpoints(ctx, ptype);
        let (history, evicted) = self.pairs.start((client.addr, server.addr), seq);
        if evicted {
            self.limits_pending |= Table::HostPairs.bit();
        }
        self.associations.insert(seq, Box::new(Association::new(ctx, ptype, history)));
        self.by_stream.insert(ctx.stream, seq);
        seq
    }
}

fn pair_key(assoc: &Association) -> PairKey {
    (assoc.client_addr().addr, assoc.server_addr().addr)
}
