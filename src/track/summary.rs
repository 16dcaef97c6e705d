//! Per-association statistics for the tap, and the plain-text report a user pastes into a bug.
use std::fmt::Write as _;

use super::expert_text::{
    auth_level_name, call_target, context_reason_name, context_result_name, interface_label, rejection_text,
    transfer_syntax_name,
};
use std::sync::Arc;

use super::{ChangeKind, CloseKind, Endpoint, Finding, FrameCtx, Identity, PairHistory, Rejection};
use crate::proto::dcerpc::SyntaxId;
use crate::uuid::Uuid;

/// Which end of an association sent something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

/// The first FIN or RST one side sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseSummary {
    pub side: Side,
    pub kind: CloseKind,
    pub frame: u32,
    pub time_ns: i64,
}

/// What the server said about a proposed presentation context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindState {
    /// No bind_ack/alter_context_resp seen for it (yet).
    Proposed,
    Accepted,
    /// C706 p_cont_def_result_t and p_provider_reason_t.
    Rejected {
        result: u16,
        reason: u16,
    },
}

/// One presentation context (ctx_id) of the association, as last proposed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceSummary {
    pub ctx_id: u16,
    pub uuid: Uuid,
    pub version: u16,
    pub version_minor: u16,
    /// The accepted transfer syntax, or the first one proposed while not accepted.
    pub transfer_syntax: Option<SyntaxId>,
    pub state: BindState,
    /// Frame of the bind/alter_context that proposed it.
    pub frame: u32,
    /// auth_context_id of the bind/alter_context that proposed it, when it carried a sec_trailer.
    pub auth_context_id: Option<u32>,
}

/// A security context establishment: an NTLMSSP AUTHENTICATE or a Kerberos token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentitySummary {
    pub auth_context_id: u32,
    pub auth_type: super::AuthType,
    pub auth_level: u8,
    /// None for Kerberos (the identity is not visible on the wire).
    pub identity: Option<Identity>,
    pub frame: u32,
    /// How this identity departs from the baseline, when it does.
    pub change: Option<ChangeKind>,
}

/// An identity change: an AUTHENTICATE whose identity differs from the baseline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityChangeSummary {
    pub frame: u32,
    pub time_ns: i64,
    pub auth_context_id: u32,
    /// The baseline the change departs from.
    pub from: Identity,
    pub to: Identity,
    /// First context item of the bind/alter_context that started the new context's exchange.
    pub interface: Option<super::InterfaceView>,
}

/// A fault PDU, a bind_nak, or a bind_ack/alter_context_resp that accepted no context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultSummary {
    pub frame: u32,
    pub call_id: u32,
    pub rejection: Rejection,
    /// Identity of the call (or bind/alter_context) it answers, when known.
    pub identity: Option<Identity>,
    /// True when that identity differs from the baseline.
    pub changed: bool,
    pub interface: Option<super::InterfaceView>,
    pub opnum: Option<u16>,
    /// IIDs a RemQueryInterface asked for.
    pub requested_iids: Arc<[Uuid]>,
    /// Frame of the request (or bind/alter_context) it answers, when known.
    pub call_frame: Option<u32>,
}

/// When a listed fault was seen, and how the identity of the call it answers departs from the
/// baseline (the kind of its `FaultAfterChange`, when it raised one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultDetail {
    pub time_ns: i64,
    pub change: Option<ChangeKind>,
}

/// A finding raised on an association, with the frame and time it was raised in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingRecord {
    pub frame: u32,
    pub time_ns: i64,
    pub finding: Finding,
}

/// Everything the statistics tap shows for one association (one TCP stream).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssociationSummary {
    pub stream: u32,
    pub client: Endpoint,
    pub server: Endpoint,
    pub first_frame: u32,
    pub last_frame: u32,
    /// The capture started mid-association (the first PDU seen was not a bind).
    pub baseline_partial: bool,
    pub baseline: Option<Identity>,
    pub baseline_frame: Option<u32>,
    /// Security context multiplexing negotiated (MS-RPCE 3.3.1.5.3 bind time feature negotiation).
    pub multiplexing: bool,
    /// Earlier associations of the same client and server hosts when this one started.
    pub history: PairHistory,
    /// Presentation contexts in the order first proposed.
    pub interfaces: Vec<InterfaceSummary>,
    pub identities: Vec<IdentitySummary>,
    pub identities_dropped: u32,
    pub changes: Vec<IdentityChangeSummary>,
    pub changes_dropped: u32,
    pub faults: Vec<FaultSummary>,
    /// Faults seen beyond the listed ones.
    pub faults_dropped: u32,
    pub client_close: Option<CloseSummary>,
    pub server_close: Option<CloseSummary>,
    /// The AbortAfterChange/AbortAfterFault finding the server's close produced, if any.
    /// Boxed: a finding is 104 bytes, and most associations end without one.
    pub abort: Option<Box<Finding>>,
    /// Capture times (ns since the epoch) of `first_frame` and `last_frame`.
    pub first_time_ns: i64,
    pub last_time_ns: i64,
    /// When each entry of `identities` was seen established, in the same order.
    pub identity_times: Vec<i64>,
    /// Time and departure of each entry of `faults`, in the same order.
    pub fault_details: Vec<FaultDetail>,
    /// Every finding raised on this association in frame order (the first `MAX_FINDINGS`).
    pub findings: Vec<FindingRecord>,
    pub findings_dropped: u32,
}

/// Findings kept per association for the JSON report (the rest are counted).
pub const MAX_FINDINGS: usize = 1000;

impl AssociationSummary {
    /// Gives back the room its lists grew into: nothing more is added once the association ended.
    pub(crate) fn shrink(&mut self) {
        self.interfaces.shrink_to_fit();
        self.identities.shrink_to_fit();
        self.changes.shrink_to_fit();
        self.faults.shrink_to_fit();
        self.identity_times.shrink_to_fit();
        self.fault_details.shrink_to_fit();
        self.findings.shrink_to_fit();
    }

    /// A new association first seen in `ctx`; `partial` when the capture missed its first bind.
    pub(crate) fn new(ctx: &FrameCtx, client: Endpoint, server: Endpoint, partial: bool, history: PairHistory) -> Self {
        AssociationSummary {
            stream: ctx.stream,
            client,
            server,
            first_frame: ctx.frame,
            last_frame: ctx.frame,
            baseline_partial: partial,
            baseline: None,
            baseline_frame: None,
            multiplexing: false,
            history,
            interfaces: Vec::new(),
            identities: Vec::new(),
            identities_dropped: 0,
            changes: Vec::new(),
            changes_dropped: 0,
            faults: Vec::new(),
            faults_dropped: 0,
            client_close: None,
            server_close: None,
            abort: None,
            first_time_ns: ctx.time_ns,
            last_time_ns: ctx.time_ns,
            identity_times: Vec::new(),
            fault_details: Vec::new(),
            findings: Vec::new(),
            findings_dropped: 0,
        }
    }

    /// After the association processed a PDU or close of `ctx`: the times of what it listed in that
    /// frame, and the findings it raised there (`faults_before`: how many faults were listed before).
    pub(crate) fn record_step(&mut self, ctx: &FrameCtx, faults_before: usize, raised: &[Finding]) {
        if self.last_frame == ctx.frame {
            self.last_time_ns = ctx.time_ns;
        }
        while self.identity_times.len() < self.identities.len() {
            self.identity_times.push(ctx.time_ns);
        }
        // One PDU answers at most one call: a fault listed now raised at most one FaultAfterChange.
        let change = raised.iter().find_map(|f| match f {
            Finding::FaultAfterChange { kind, .. } => Some(*kind),
            _ => None,
        });
        for _ in faults_before.min(self.faults.len())..self.faults.len() {
            self.fault_details.push(FaultDetail { time_ns: ctx.time_ns, change });
        }
        for finding in raised {
            if self.findings.len() < MAX_FINDINGS {
                self.findings.push(FindingRecord { frame: ctx.frame, time_ns: ctx.time_ns, finding: finding.clone() });
            } else {
                self.findings_dropped = self.findings_dropped.saturating_add(1);
            }
        }
    }

    /// The close that ended the association (the earlier of the two sides); None: still open.
    pub fn ended(&self) -> Option<&CloseSummary> {
        match (&self.client_close, &self.server_close) {
            (Some(c), Some(s)) => Some(if s.frame < c.frame { s } else { c }),
            (c, s) => c.as_ref().or(s.as_ref()),
        }
    }

    /// Total faults seen, listed or not.
    pub fn fault_count(&self) -> u64 {
        self.faults.len() as u64 + u64::from(self.faults_dropped)
    }
}

fn endpoint(e: &Endpoint) -> String {
    match e.addr {
        std::net::IpAddr::V4(a) => format!("{a}:{}", e.port),
        std::net::IpAddr::V6(a) => format!("[{a}]:{}", e.port),
    }
}

fn close_text(c: &CloseSummary) -> String {
    let side = match c.side {
        Side::Client => "client",
        Side::Server => "server",
    };
    format!("{side} {} in frame {}", c.kind, c.frame)
}

/// Renders rows with every column but the last padded to its widest cell.
fn table(out: &mut String, indent: &str, rows: &[Vec<String>]) {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; cols];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    for row in rows {
        let mut line = String::from(indent);
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                let pad = widths.get(i).copied().unwrap_or(0).saturating_sub(cell.chars().count());
                line.extend(std::iter::repeat_n(' ', pad + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

/// How an establishment is marked in the report.
fn change_mark(change: Option<ChangeKind>) -> &'static str {
    match change {
        None => "",
        Some(ChangeKind::Changed) => "[changed]",
        Some(ChangeKind::Possible) => "[possible change]",
        Some(ChangeKind::Pair) => "[new on this host pair]",
    }
}

/// The one sentence for a host pair's history, in the summary and the tree.
impl std::fmt::Display for PairHistory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.earlier == 0 {
            return f.write_str("none");
        }
        write!(
            f,
            "{} ({} with an identity change, {} with a server abort",
            self.earlier, self.with_change, self.with_abort
        )?;
        if let Some(frame) = self.last_change_frame {
            write!(f, "; last in frame {frame}")?;
        }
        f.write_str(")")
    }
}

impl AssociationSummary {
    /// One block of the report; `index` is the association's 1-based position.
    pub fn render(&self, index: usize) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Association {index}: TCP stream {}, client {} -> server {}, frames {}-{}",
            self.stream,
            endpoint(&self.client),
            endpoint(&self.server),
            self.first_frame,
            self.last_frame
        );
        let baseline = match (&self.baseline, self.baseline_frame) {
            (Some(b), Some(f)) => format!("{b} (frame {f})"),
            (Some(b), None) => b.to_string(),
            _ => "none".to_string(),
        };
        let mut head: Vec<Vec<String>> = vec![
            vec!["Baseline identity:".into(), baseline],
            vec![
                "Security context multiplexing:".into(),
                if self.multiplexing { "negotiated" } else { "not negotiated" }.into(),
            ],
            vec!["Earlier associations of these hosts:".into(), self.history.to_string()],
            vec![
                "Ended:".into(),
                match (self.ended(), &self.client_close, &self.server_close) {
                    (None, _, _) => "still open at capture end".into(),
                    (Some(_), Some(c), Some(s)) if s.frame < c.frame => {
                        format!("{}, then {}", close_text(s), close_text(c))
                    }
                    (Some(_), Some(c), Some(s)) => format!("{}, then {}", close_text(c), close_text(s)),
                    (Some(e), _, _) => close_text(e),
                },
            ],
        ];
        if self.baseline_partial {
            head.insert(
                1,
                vec![String::new(), "(capture started mid-association: earlier identities not seen)".into()],
            );
        }
        if let Some(abort) = &self.abort {
            head.push(vec!["Server abort:".into(), abort.message()]);
        }
        table(&mut out, "  ", &head);

        if !self.interfaces.is_empty() {
            out.push_str("  Interfaces:\n");
            let rows: Vec<Vec<String>> = self
                .interfaces
                .iter()
                .map(|i| {
                    vec![
                        format!("ctx {}", i.ctx_id),
                        interface_label(&i.uuid),
                        format!("v{}.{}", i.version, i.version_minor),
                        i.transfer_syntax.map(|t| transfer_syntax_name(&t)).unwrap_or_default(),
                        format!("frame {}", i.frame),
                        match i.state {
                            BindState::Proposed => "no answer seen".into(),
                            BindState::Accepted => "accepted".into(),
                            BindState::Rejected { result, reason } => {
                                format!("rejected: {}, {}", context_result_name(result), context_reason_name(reason))
                            }
                        },
                    ]
                })
                .collect();
            table(&mut out, "    ", &rows);
        }

        if !self.identities.is_empty() {
            out.push_str("  Security contexts established:\n");
            let rows: Vec<Vec<String>> = self
                .identities
                .iter()
                .map(|i| {
                    vec![
                        format!("frame {}", i.frame),
                        format!("auth ctx {}", i.auth_context_id),
                        i.auth_type.to_string(),
                        auth_level_name(i.auth_level),
                        i.identity.as_ref().map_or_else(|| "(not visible)".into(), Identity::to_string),
                        change_mark(i.change).into(),
                    ]
                })
                .collect();
            table(&mut out, "    ", &rows);
            if self.identities_dropped > 0 {
                let _ = writeln!(out, "    ... and {} more", self.identities_dropped);
            }
        }

        if !self.changes.is_empty() {
            out.push_str("  Identity changes:\n");
            let rows: Vec<Vec<String>> = self
                .changes
                .iter()
                .map(|c| {
                    vec![
                        format!("frame {}", c.frame),
                        format!("auth ctx {}", c.auth_context_id),
                        format!("{} -> {}", c.from, c.to),
                        c.interface.map(|i| format!("({})", interface_label(&i.uuid))).unwrap_or_default(),
                    ]
                })
                .collect();
            table(&mut out, "    ", &rows);
            if self.changes_dropped > 0 {
                let _ = writeln!(out, "    ... and {} more", self.changes_dropped);
            }
        }

        if !self.faults.is_empty() {
            let changed = self.faults.iter().filter(|f| f.changed).count();
            let _ = writeln!(out, "  Faults ({}, {changed} listed under a changed identity):", self.fault_count());
            let rows: Vec<Vec<String>> = self
                .faults
                .iter()
                .map(|f| {
                    let target = call_target(f.interface.as_ref(), f.opnum, &f.requested_iids);
                    let call = match (target, f.call_frame) {
                        (Some(t), Some(frame)) => format!("to {t} in frame {frame}"),
                        (Some(t), None) => format!("to {t}"),
                        (None, Some(frame)) => format!("to frame {frame}"),
                        (None, None) => String::new(),
                    };
                    vec![
                        format!("frame {}", f.frame),
                        format!("call_id {}", f.call_id),
                        rejection_text(&f.rejection),
                        call,
                        match (&f.identity, f.changed) {
                            (Some(i), true) => format!("{i} [changed]"),
                            (Some(i), false) => i.to_string(),
                            (None, _) => String::new(),
                        },
                    ]
                })
                .collect();
            table(&mut out, "    ", &rows);
            if self.faults_dropped > 0 {
                let _ = writeln!(out, "    ... and {} more", self.faults_dropped);
            }
        }
        out
    }
}

/// One association as a row of the Statistics table (GUI and `tshark -z dcomauth,table`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRow {
    pub stream: u32,
    pub client: String,
    pub server: String,
    pub interfaces: String,
    pub identities: String,
    pub changes: u32,
    pub faults: u32,
    pub ended: String,
}

impl AssociationSummary {
    /// Changes whenever `table_row` would: a tapped frame whose association's key is unchanged
    /// needs no new row (no text built).
    pub fn row_key(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for i in &self.interfaces {
            (i.state == BindState::Accepted, i.uuid).hash(&mut h);
        }
        (self.identities.len(), self.identities.last().map(|i| (i.frame, i.change))).hash(&mut h);
        (self.changes.len(), self.changes_dropped, self.fault_count()).hash(&mut h);
        self.ended().map(|c| c.frame).hash(&mut h);
        h.finish()
    }

    pub fn table_row(&self) -> TableRow {
        let mut interfaces: Vec<String> = Vec::new();
        for i in &self.interfaces {
            let name = super::expert_text::interface_label(&i.uuid);
            if i.state == BindState::Accepted && !interfaces.contains(&name) {
                interfaces.push(name);
            }
        }
        let mut identities: Vec<String> = Vec::new();
        for i in &self.identities {
            let mut text = match &i.identity {
                Some(id) => format!("{id} (frame {})", i.frame),
                None => format!("{} (frame {})", i.auth_type, i.frame),
            };
            let mark = change_mark(i.change);
            if !mark.is_empty() {
                text.push(' ');
                text.push_str(mark);
            }
            identities.push(text);
        }
        TableRow {
            stream: self.stream,
            client: endpoint(&self.client),
            server: endpoint(&self.server),
            interfaces: interfaces.join(", "),
            identities: identities.join(", "),
            changes: (self.changes.len() as u32).saturating_add(self.changes_dropped),
            faults: u32::try_from(self.fault_count()).unwrap_or(u32::MAX),
            ended: self.ended().map_or_else(|| "open at capture end".to_string(), close_text),
        }
    }
}
