//! `-z dcomauth,json`: one JSON object per association (JSON Lines), for machines. Pure Rust.
//!
//! Field names follow Zeek's `conn.log`/`dce_rpc.log`/`ntlm.log` where they mean the same thing
//! (`ts`, `uid`, `id.orig_h`, `id.resp_p`, `username`, `domainname`); the schema is
//! `docs/schema/associations.schema.json`. Times are seconds since the epoch with six decimals
//! (as Zeek writes them), durations milliseconds with three. Every string (user names are chosen
//! by whoever sent the AUTHENTICATE) goes through `escape`.
use std::fmt::Write as _;

use super::expert_text::{
    auth_level_name, bind_nak_reason_name, call_target, context_reason_name, context_result_name, interface_label,
    rejection_text, transfer_syntax_name,
};
use super::summary::{AssociationSummary, BindState, CloseSummary, FaultSummary, Side};
use super::{ChangeKind, Endpoint, Expert, Finding, Identity, InterfaceView, Rejection, Tracker};
use crate::names;

/// A JSON value whose objects keep their keys in the order written.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Int(i64),
    /// A number already written as a JSON number literal (fixed decimals).
    Number(String),
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(&'static str, Json)>),
}

impl From<bool> for Json {
    fn from(b: bool) -> Json {
        Json::Bool(b)
    }
}

impl From<u32> for Json {
    fn from(n: u32) -> Json {
        Json::Int(i64::from(n))
    }
}

impl From<u16> for Json {
    fn from(n: u16) -> Json {
        Json::Int(i64::from(n))
    }
}

impl From<u8> for Json {
    fn from(n: u8) -> Json {
        Json::Int(i64::from(n))
    }
}

impl From<String> for Json {
    fn from(s: String) -> Json {
        Json::Str(s)
    }
}

impl From<&str> for Json {
    fn from(s: &str) -> Json {
        Json::Str(s.to_string())
    }
}

impl<T: Into<Json>> From<Option<T>> for Json {
    fn from(v: Option<T>) -> Json {
        v.map_or(Json::Null, Into::into)
    }
}

/// Appends `s` as a JSON string: quotes, backslashes and every control character escaped (RFC 8259
/// section 7), DEL and the JavaScript line terminators U+2028/U+2029 too; everything else as UTF-8.
pub fn escape(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if c < '\u{20}' || c == '\u{7f}' || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl Json {
    fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Json::Number(n) => out.push_str(n),
            Json::Str(s) => escape(s, out),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Json::Object(fields) => {
                out.push('{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    escape(key, out);
                    out.push(':');
                    value.write(out);
                }
                out.push('}');
            }
        }
    }
}

/// `ns` divided by 10^`shift` with `decimals` digits, truncated toward zero, as a JSON number.
fn fixed(ns: i64, shift: u32, decimals: u32) -> Json {
    let unit = 10u64.pow(shift);
    let abs = ns.unsigned_abs();
    let frac = (abs % unit) / 10u64.pow(shift - decimals);
    let sign = if ns < 0 { "-" } else { "" };
    Json::Number(format!("{sign}{}.{frac:0width$}", abs / unit, width = decimals as usize))
}

/// Seconds since the epoch with microseconds, as Zeek's `ts`.
fn ts(ns: i64) -> Json {
    fixed(ns, 9, 6)
}

/// Milliseconds with microseconds.
fn ms(ns: i64) -> Json {
    fixed(ns, 6, 3)
}

fn host(e: &Endpoint) -> Json {
    Json::Str(e.addr.to_string())
}

fn identity(i: &Identity) -> Json {
    Json::Object(vec![
        ("name", i.to_string().into()),
        ("domainname", (*i.domain).into()),
        ("username", (*i.user).into()),
        ("anonymous", i.is_anonymous().into()),
    ])
}

fn opt_identity(i: Option<&Identity>) -> Json {
    i.map_or(Json::Null, identity)
}

fn change_kind(kind: Option<ChangeKind>) -> Json {
    match kind {
        None => Json::Null,
        Some(ChangeKind::Changed) => "changed".into(),
        Some(ChangeKind::Possible) => "possible".into(),
        Some(ChangeKind::Pair) => "pair".into(),
    }
}

/// The expert info a finding is filed under, as Wireshark's filter name.
pub fn expert_name(e: Expert) -> &'static str {
    e.name().to_str().unwrap_or_default()
}

/// A stable key for one association, in the shape of Zeek's connection uids: `C` and 16 hex
/// digits of FNV-1a over the capture label and the TCP stream. Unique across a batch as long as the
/// labels are; without a label, unique within one capture.
pub fn uid(capture: Option<&str>, stream: u32) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let label = capture.unwrap_or_default().as_bytes();
    for b in label.iter().chain(&[0u8]).chain(&stream.to_be_bytes()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("C{h:016x}")
}

fn interface_name(view: Option<&InterfaceView>) -> Json {
    view.map(|i| interface_label(&i.uuid)).into()
}

fn close(c: Option<&CloseSummary>) -> Json {
    c.map_or(Json::Null, |c| {
        Json::Object(vec![("close", c.kind.to_string().into()), ("frame", c.frame.into()), ("ts", ts(c.time_ns))])
    })
}

fn side(s: Side) -> &'static str {
    match s {
        Side::Client => "client",
        Side::Server => "server",
    }
}

fn rejection_fields(r: &Rejection, fields: &mut Vec<(&'static str, Json)>) {
    let (kind, status, name, hresult) = match *r {
        Rejection::Fault(code) => (
            "fault",
            Json::from(code),
            Json::from(names::status(code).map(|s| s.name)),
            Json::from(format!("0x{:08X}", names::hresult(code))),
        ),
        Rejection::BindNak(reason) => ("bind_nak", reason.into(), bind_nak_reason_name(reason).into(), Json::Null),
        Rejection::ContextRejected(result, reason) => (
            "context_rejected",
            reason.into(),
            format!("{}, {}", context_result_name(result), context_reason_name(reason)).into(),
            Json::Null,
        ),
    };
    let status_hex = match *r {
        Rejection::Fault(code) => Json::from(format!("0x{code:08X}")),
        _ => Json::Null,
    };
    fields.push(("type", kind.into()));
    fields.push(("status", status));
    fields.push(("status_hex", status_hex));
    fields.push(("status_name", name));
    fields.push(("status_text", rejection_text(r).into()));
    fields.push(("hresult", hresult));
}

impl AssociationSummary {
    /// The identity established in `frame` (the one a departure found there ran under).
    fn identity_in(&self, frame: u32) -> Option<&Identity> {
        self.identities.iter().find(|i| i.frame == frame).and_then(|i| i.identity.as_ref())
    }

    fn fault_json(&self, index: usize, f: &FaultSummary) -> Json {
        let detail = self.fault_details.get(index);
        let mut fields: Vec<(&'static str, Json)> = vec![
            ("frame", f.frame.into()),
            ("ts", detail.map_or(Json::Null, |d| ts(d.time_ns))),
            ("call_id", f.call_id.into()),
        ];
        rejection_fields(&f.rejection, &mut fields);
        fields.extend([
            ("call", call_target(f.interface.as_ref(), f.opnum, &f.requested_iids).into()),
            ("interface", interface_name(f.interface.as_ref())),
            ("opnum", f.opnum.into()),
            ("requested_iids", Json::Array(f.requested_iids.iter().map(|u| interface_label(u).into()).collect())),
            ("call_frame", f.call_frame.into()),
            ("identity", opt_identity(f.identity.as_ref())),
            ("changed", f.changed.into()),
            ("change", change_kind(detail.and_then(|d| d.change))),
        ]);
        Json::Object(fields)
    }

    /// Possible and host-pair identity changes, from the findings that raised them.
    fn possible_changes(&self) -> Json {
        let mut out = Vec::new();
        for r in &self.findings {
            let (kind, auth_context_id, who, earlier) = match &r.finding {
                Finding::PossibleIdentityChange { identity, auth_context_id, .. } => {
                    ("possible", Some(*auth_context_id), opt_identity(identity.as_ref()), Json::Null)
                }
                Finding::PairIdentityChange { identity: who, earlier, earlier_frame, earlier_stream } => {
                    let ctx = self.identities.iter().find(|i| i.frame == r.frame).map(|i| i.auth_context_id);
                    let earlier = Json::Object(vec![
                        ("identity", identity(earlier)),
                        ("frame", (*earlier_frame).into()),
                        ("tcp_stream", (*earlier_stream).into()),
                    ]);
                    ("pair", ctx, identity(who), earlier)
                }
                _ => continue,
            };
            out.push(Json::Object(vec![
                ("frame", r.frame.into()),
                ("ts", ts(r.time_ns)),
                ("kind", kind.into()),
                ("auth_context_id", auth_context_id.into()),
                ("identity", who),
                ("earlier", earlier),
                ("message", r.finding.message().into()),
            ]));
        }
        Json::Array(out)
    }

    fn ended_json(&self) -> Json {
        let Some(e) = self.ended() else { return Json::Null };
        let since = match self.abort.as_deref() {
            Some(Finding::AbortAfterChange { since_change_ns, .. }) if e.side == Side::Server => Some(*since_change_ns),
            _ => self.changes.last().map(|c| e.time_ns.saturating_sub(c.time_ns)),
        };
        Json::Object(vec![
            ("by", side(e.side).into()),
            ("close", e.kind.to_string().into()),
            ("frame", e.frame.into()),
            ("ts", ts(e.time_ns)),
            ("since_change_ms", since.map_or(Json::Null, ms)),
        ])
    }

    fn abort_json(&self) -> Json {
        let Some(abort) = self.abort.as_deref() else { return Json::Null };
        let server = self.server_close.as_ref();
        let (since, change_frame, last_fault_frame, status, who) = match abort {
            Finding::AbortAfterChange { since_change_ns, change_frame, last_fault_frame, .. } => (
                ms(*since_change_ns),
                Json::from(*change_frame),
                Json::from(*last_fault_frame),
                Json::Null,
                opt_identity(self.identity_in(*change_frame)),
            ),
            Finding::AbortAfterFault { last_fault_frame, status, .. } => (
                Json::Null,
                Json::Null,
                Json::from(*last_fault_frame),
                Json::from(*status),
                opt_identity(
                    self.faults.iter().rev().find(|f| f.frame == *last_fault_frame).and_then(|f| f.identity.as_ref()),
                ),
            ),
            _ => (Json::Null, Json::Null, Json::Null, Json::Null, Json::Null),
        };
        Json::Object(vec![
            ("expert", expert_name(abort.expert()).into()),
            ("close", server.map(|c| c.kind.to_string()).into()),
            ("frame", server.map(|c| c.frame).into()),
            ("ts", server.map_or(Json::Null, |c| ts(c.time_ns))),
            ("since_change_ms", since),
            ("change_frame", change_frame),
            ("last_fault_frame", last_fault_frame),
            ("status", status),
            ("identity", who),
            ("message", abort.message().into()),
        ])
    }

    fn to_json(&self, capture: Option<&str>) -> Json {
        let mut fields: Vec<(&'static str, Json)> = Vec::new();
        if let Some(c) = capture {
            fields.push(("capture", c.into()));
        }
        let interfaces = self
            .interfaces
            .iter()
            .map(|i| {
                let (state, result, reason) = match i.state {
                    BindState::Proposed => ("proposed", Json::Null, Json::Null),
                    BindState::Accepted => ("accepted", Json::Null, Json::Null),
                    BindState::Rejected { result, reason } => {
                        ("rejected", context_result_name(result).into(), context_reason_name(reason).into())
                    }
                };
                Json::Object(vec![
                    ("ctx_id", i.ctx_id.into()),
                    ("uuid", i.uuid.to_string().into()),
                    ("name", interface_label(&i.uuid).into()),
                    ("version", format!("{}.{}", i.version, i.version_minor).into()),
                    ("transfer_syntax", i.transfer_syntax.map(|t| transfer_syntax_name(&t)).into()),
                    ("frame", i.frame.into()),
                    ("state", state.into()),
                    ("reject_result", result),
                    ("reject_reason", reason),
                    ("auth_context_id", i.auth_context_id.into()),
                ])
            })
            .collect();
        let contexts = self
            .identities
            .iter()
            .enumerate()
            .map(|(n, i)| {
                Json::Object(vec![
                    ("auth_context_id", i.auth_context_id.into()),
                    ("auth_type", i.auth_type.to_string().into()),
                    ("auth_level", i.auth_level.into()),
                    ("auth_level_name", auth_level_name(i.auth_level).into()),
                    ("identity", opt_identity(i.identity.as_ref())),
                    ("frame", i.frame.into()),
                    ("ts", self.identity_times.get(n).map_or(Json::Null, |t| ts(*t))),
                    ("change", change_kind(i.change)),
                ])
            })
            .collect();
        let changes = self
            .changes
            .iter()
            .map(|c| {
                Json::Object(vec![
                    ("frame", c.frame.into()),
                    ("ts", ts(c.time_ns)),
                    ("auth_context_id", c.auth_context_id.into()),
                    ("from", identity(&c.from)),
                    ("to", identity(&c.to)),
                    ("interface", interface_name(c.interface.as_ref())),
                ])
            })
            .collect();
        let faults = self.faults.iter().enumerate().map(|(n, f)| self.fault_json(n, f)).collect();
        let findings = self
            .findings
            .iter()
            .map(|r| {
                Json::Object(vec![
                    ("frame", r.frame.into()),
                    ("ts", ts(r.time_ns)),
                    ("expert", expert_name(r.finding.expert()).into()),
                    ("message", r.finding.message().into()),
                ])
            })
            .collect();
        let h = &self.history;
        fields.extend([
            ("ts", ts(self.first_time_ns)),
            ("uid", uid(capture, self.stream).into()),
            ("tcp_stream", self.stream.into()),
            ("id.orig_h", host(&self.client)),
            ("id.orig_p", self.client.port.into()),
            ("id.resp_h", host(&self.server)),
            ("id.resp_p", self.server.port.into()),
            ("ts_last", ts(self.last_time_ns)),
            ("duration_ms", ms(self.last_time_ns.saturating_sub(self.first_time_ns))),
            ("first_frame", self.first_frame.into()),
            ("last_frame", self.last_frame.into()),
            ("baseline", opt_identity(self.baseline.as_ref())),
            ("baseline_frame", self.baseline_frame.into()),
            ("baseline_partial", self.baseline_partial.into()),
            ("multiplexing", self.multiplexing.into()),
            ("interfaces", Json::Array(interfaces)),
            ("contexts", Json::Array(contexts)),
            ("contexts_dropped", self.identities_dropped.into()),
            ("changes", Json::Array(changes)),
            ("changes_dropped", self.changes_dropped.into()),
            ("possible_changes", self.possible_changes()),
            ("faults", Json::Array(faults)),
            ("fault_count", Json::Int(i64::try_from(self.fault_count()).unwrap_or(i64::MAX))),
            ("faults_dropped", self.faults_dropped.into()),
            ("ended", self.ended_json()),
            ("client_close", close(self.client_close.as_ref())),
            ("server_close", close(self.server_close.as_ref())),
            ("abort", self.abort_json()),
            ("findings", Json::Array(findings)),
            ("findings_dropped", self.findings_dropped.into()),
            (
                "history",
                Json::Object(vec![
                    ("earlier", h.earlier.into()),
                    ("with_change", h.with_change.into()),
                    ("with_abort", h.with_abort.into()),
                    ("last_change_frame", h.last_change_frame.into()),
                ]),
            ),
        ]);
        Json::Object(fields)
    }

    /// This association as one JSON object on one line (no newline); `capture` labels it.
    pub fn json_line(&self, capture: Option<&str>) -> String {
        let mut out = String::new();
        self.to_json(capture).write(&mut out);
        out
    }
}

impl Tracker {
    /// Every association as JSON Lines (each line ends in a newline); empty when there are none.
    pub fn render_json(&self, capture: Option<&str>) -> String {
        let mut out = String::new();
        for a in self.associations() {
            out.push_str(&a.json_line(capture));
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::{escape, fixed, uid, Json};

    fn esc(s: &str) -> String {
        let mut out = String::new();
        escape(s, &mut out);
        out
    }

    #[test]
    fn escapes_what_json_requires_and_keeps_the_rest() {
        assert_eq!(esc(r#"EVIL\"a"#), r#""EVIL\\\"a""#);
        assert_eq!(esc("a\nb\r\t\u{8}\u{c}"), r#""a\nb\r\t\b\f""#);
        assert_eq!(esc("\u{0}\u{1f}\u{7f}"), r#""\u0000\u001f\u007f""#);
        assert_eq!(esc("x\u{2028}y\u{2029}"), r#""x\u2028y\u2029""#);
        assert_eq!(esc("jiangyué😀%s</script>"), "\"jiangyué😀%s</script>\"");
        assert_eq!(esc(""), "\"\"");
    }

    #[test]
    fn fixed_point_numbers_truncate_and_keep_the_sign() {
        let n = |ns, shift, d| match fixed(ns, shift, d) {
            Json::Number(s) => s,
            other => panic!("{other:?}"),
        };
        assert_eq!(n(1_234_567_891_999, 9, 6), "1234.567891");
        assert_eq!(n(5, 9, 6), "0.000000");
        assert_eq!(n(-1_500_000, 6, 3), "-1.500");
        assert_eq!(n(6_000_123, 6, 3), "6.000");
        assert_eq!(n(0, 6, 3), "0.000");
    }

    #[test]
    fn uids_differ_by_capture_and_stream_and_are_stable() {
        assert_eq!(uid(Some("a.pcap"), 1), uid(Some("a.pcap"), 1));
        assert_ne!(uid(Some("a.pcap"), 1), uid(Some("a.pcap"), 2));
        assert_ne!(uid(Some("a.pcap"), 1), uid(Some("b.pcap"), 1));
        assert_ne!(uid(None, 1), uid(Some("x"), 1));
        assert_eq!(uid(None, 0).len(), 17);
        assert!(uid(None, 0).starts_with('C'));
    }

    #[test]
    fn objects_keep_key_order_and_nest() {
        let mut out = String::new();
        Json::Object(vec![
            ("b", Json::Int(-1)),
            ("a", Json::Array(vec![Json::Null, true.into(), "q\"".into()])),
            ("id.orig_h", Json::Object(vec![])),
        ])
        .write(&mut out);
        assert_eq!(out, r#"{"b":-1,"a":[null,true,"q\""],"id.orig_h":{}}"#);
    }
}
