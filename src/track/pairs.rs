//! The history of each client host → server host pair: earlier associations, their changes and
//! aborts, and the first identity of the latest one.
use std::collections::VecDeque;
use std::net::IpAddr;

use super::association::{PairBaseline, PairEvents};
use super::PairHistory;
use crate::maps::KeyedMap;

/// Host pairs whose history is kept; the oldest-created pair goes first.
pub(crate) const MAX_PAIRS: usize = 65536;

pub(crate) type PairKey = (IpAddr, IpAddr);

#[derive(Default)]
struct Pair {
    created: u64,
    count: u32,
    with_change: u32,
    with_abort: u32,
    /// (association sequence, frame) of the latest change or abort of the most recent association.
    last_change: Option<(u64, u32)>,
    /// The most recently established first identity of one of the pair's associations.
    baseline: Option<PairBaseline>,
}

impl Pair {
    fn note_change(&mut self, seq: u64, frame: u32) {
        if self.last_change.is_none_or(|(s, _)| seq >= s) {
            self.last_change = Some((seq, frame));
        }
    }
}

#[derive(Default)]
pub(crate) struct Pairs {
    pairs: KeyedMap<PairKey, Pair>,
    order: VecDeque<(PairKey, u64)>,
}

impl Pairs {
    /// A new association `seq` of `key` starts: returns the history it inherits, and whether an
    /// older pair had to be forgotten to make room.
    pub(crate) fn start(&mut self, key: PairKey, seq: u64) -> (PairHistory, bool) {
        let mut evicted = false;
        if !self.pairs.contains_key(&key) {
            while self.pairs.len() >= MAX_PAIRS {
                let Some((old, created)) = self.order.pop_front() else { break };
                if self.pairs.get(&old).is_some_and(|p| p.created == created) {
                    self.pairs.remove(&old);
                    evicted = true;
                }
            }
            self.pairs.insert(key, Pair { created: seq, ..Pair::default() });
            self.order.push_back((key, seq));
        }
        let Some(pair) = self.pairs.get_mut(&key) else { return (PairHistory::default(), evicted) };
        let history = PairHistory {
            earlier: pair.count,
            with_change: pair.with_change,
            with_abort: pair.with_abort,
            last_change_frame: pair.last_change.map(|(_, f)| f),
        };
        pair.count = pair.count.saturating_add(1);
        (history, evicted)
    }

    /// The first identity another association of `key` established most recently.
    pub(crate) fn baseline(&self, key: &PairKey) -> Option<&PairBaseline> {
        self.pairs.get(key).and_then(|p| p.baseline.as_ref())
    }

    /// Folds what association `seq` (on `stream`) just did into its pair.
    pub(crate) fn record(&mut self, key: &PairKey, seq: u64, stream: u32, changed: bool, events: PairEvents) {
        if events.change_frame.is_none() && events.abort_frame.is_none() && events.baseline.is_none() {
            return; // most PDUs: nothing for the pair, so no lookup
        }
        let Some(pair) = self.pairs.get_mut(key) else { return };
        if let Some(frame) = events.change_frame {
            if events.first_change {
                pair.with_change = pair.with_change.saturating_add(1);
            }
            pair.note_change(seq, frame);
        }
        if let Some(frame) = events.abort_frame {
            pair.with_abort = pair.with_abort.saturating_add(1);
            if changed {
                pair.note_change(seq, frame);
            }
        }
        if let Some((identity, frame)) = events.baseline {
            pair.baseline = Some(PairBaseline { identity, frame, stream });
        }
    }
}
