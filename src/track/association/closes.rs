//! How an association ends, and whether the server's close is blamed on a departed identity.

use super::{Association, Departure, Live, Step};
use crate::track::summary::{CloseSummary, Side};
use crate::track::{CloseKind, Finding};

impl Association {
    /// An identity departed from the baseline: later answers are judged against it.
    pub(super) fn depart(&mut self, departure: Departure) {
        let d = &mut self.departures;
        d.latest = Some(departure);
        d.last_answer_failed = false;
        d.succeeded = false;
        d.any_answer = false;
    }

    /// A fault (or rejection) answered a call or exchange made under `departure`.
    pub(super) fn departed_fault(&mut self, step: &Step<'_>, departure: Departure) {
        let d = &mut self.departures;
        d.last_fault = Some((departure, step.ctx.frame, step.ctx.time_ns));
        d.last_answer_failed = true;
        d.any_answer = true;
    }

    /// A call made under a departed identity succeeded.
    pub(super) fn departed_success(&mut self) {
        let d = &mut self.departures;
        d.succeeded = true;
        d.last_answer_failed = false;
        d.any_answer = true;
    }

    /// A call under the baseline was answered: it neither clears nor makes a departure's abort.
    pub(super) fn other_answer(&mut self) {
        self.departures.any_answer = true;
    }

    /// A FIN or RST; returns the abort finding when it is the server's first close.
    pub(crate) fn close(&mut self, step: &mut Step<'_>, kind: CloseKind) -> Option<Finding> {
        let ctx = step.ctx;
        let side = if ctx.src == self.summary.server {
            Side::Server
        } else if ctx.src == self.summary.client {
            Side::Client
        } else {
            return None;
        };
        self.summary.last_frame = self.summary.last_frame.max(ctx.frame);
        let close = CloseSummary { side, kind, frame: ctx.frame, time_ns: ctx.time_ns };
        if side == Side::Client {
            self.summary.client_close.get_or_insert(close);
            return None;
        }
        if self.summary.server_close.is_some() {
            return None;
        }
        self.summary.server_close = Some(close);
        if self.summary.client_close.is_some() {
            // The server answering the client's own close is no abort.
            return None;
        }
        let finding = if let Some(finding) = self.blamed_departure(step, kind) {
            finding
        } else if let Some((last_fault_frame, status)) = self.last_answer_fault {
            Finding::AbortAfterFault {
                close: kind,
                last_fault_frame,
                status,
                partial_baseline: self.summary.baseline_partial,
            }
        } else {
            return None;
        };
        step.events.abort_frame = Some(ctx.frame);
        self.summary.abort = Some(Box::new(finding.clone()));
        Some(finding)
    }

    /// A departure explains a server close when the last answer to a departed call was a fault, or
    /// when nothing at all was answered since it, and only within the abort window of that fault
    /// (or of the departure itself when nothing failed).
    fn blamed_departure(&self, step: &Step<'_>, close: CloseKind) -> Option<Finding> {
        let d = &self.departures;
        let latest = d.latest?;
        let now = step.ctx.time_ns;
        let (departure, anchor, last_fault_frame) = match d.last_fault {
            Some((departure, frame, time)) if d.last_answer_failed => (departure, time, Some(frame)),
            _ if !d.any_answer && !d.succeeded => (latest, latest.time_ns, None),
            _ => return None,
        };
        if now.saturating_sub(anchor) > step.cfg.abort_window_ns {
            return None;
        }
        Some(Finding::AbortAfterChange {
            kind: departure.kind,
            close,
            since_change_ns: now.saturating_sub(departure.time_ns),
            change_frame: departure.frame,
            last_fault_frame,
        })
    }

    /// Drops the state PDUs need once both sides closed (FIN or RST each: neither sends again; after
    /// one side's reset the other's answers may still be in flight); the summary stays, in as
    /// little room as it takes.
    pub(crate) fn trim_if_done(&mut self) {
        if self.summary.client_close.is_some() && self.summary.server_close.is_some() {
            self.trim();
        }
    }

    /// Drops that state whatever the closes: a reset connection long past its reset.
    pub(crate) fn trim(&mut self) {
        self.live = Live::default();
        self.summary.shrink();
    }
}
