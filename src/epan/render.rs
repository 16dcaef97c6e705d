//! Draws a stored verdict: the `dcomauth` subtree and its expert infos, identical on every pass.
use std::os::raw::c_int;
use std::ptr::null_mut;

use wireshark_sys as ws;

use super::fields::{ei, ett, hf, proto, Ett, Hf};
use super::shim;
use crate::names;
use crate::proto::dcerpc::PacketType;
use crate::track::{AuthType, Doubt, Finding, FrameVerdict, PduView, Rejection};

use super::c_text as c;

struct Tree {
    tvb: *mut ws::tvbuff_t,
    node: *mut ws::proto_tree,
}

impl Tree {
    fn text(&self, f: Hf, value: &str) -> *mut ws::proto_item {
        let value = c(value);
        // SAFETY: epan copies the string; a NULL tree makes this a no-op returning NULL.
        unsafe { shim::dcomauth_add_text(self.node, hf(f), self.tvb, value.as_ptr()) }
    }

    fn uint(&self, f: Hf, value: u32) -> *mut ws::proto_item {
        // SAFETY: as for `text`.
        unsafe { shim::dcomauth_add_uint(self.node, hf(f), self.tvb, value) }
    }

    fn boolean(&self, f: Hf, value: bool) -> *mut ws::proto_item {
        // SAFETY: as for `text`.
        unsafe { shim::dcomauth_add_bool(self.node, hf(f), self.tvb, c_int::from(value)) }
    }

    fn double(&self, f: Hf, value: f64) -> *mut ws::proto_item {
        // SAFETY: as for `text`.
        unsafe { shim::dcomauth_add_double(self.node, hf(f), self.tvb, value) }
    }

    fn subtree(&self, f: Hf, label: &str, e: Ett) -> (Tree, *mut ws::proto_item) {
        let label = c(label);
        let mut sub: *mut ws::proto_tree = null_mut();
        // SAFETY: as for `text`; `sub` receives the subtree (NULL when there is no tree).
        let item =
            unsafe { shim::dcomauth_add_subtree_label(self.node, hf(f), self.tvb, label.as_ptr(), ett(e), &mut sub) };
        (Tree { tvb: self.tvb, node: sub }, item)
    }
}

/// Filterable but not shown: the same fact is already in a visible line.
fn hidden(item: *mut ws::proto_item) {
    // SAFETY: accepts NULL.
    unsafe { shim::dcomauth_set_hidden(item) };
}

fn generated(item: *mut ws::proto_item) -> *mut ws::proto_item {
    // SAFETY: accepts NULL.
    unsafe { shim::dcomauth_set_generated(item) };
    item
}

fn append(item: *mut ws::proto_item, text: &str) {
    let text = c(text);
    // SAFETY: epan copies the text; NULL items are ignored.
    unsafe { shim::dcomauth_append_text(item, text.as_ptr()) };
}

/// # Safety
/// The pointers must be the ones epan passed to the post-dissector for this frame.
pub unsafe fn frame(
    tvb: *mut ws::tvbuff_t,
    pinfo: *mut ws::packet_info,
    tree: *mut ws::proto_tree,
    verdict: &FrameVerdict,
) {
    if tree.is_null() {
        // No tree is built (`tshark -z expert`, the first pass of `-2`): every item would be thrown
        // away, so nothing is formatted for them; only the expert infos, which need their message.
        for f in &verdict.findings {
            expert(pinfo, null_mut(), f);
        }
        return;
    }
    let mut sub = null_mut();
    // SAFETY: per the function contract; a NULL tree yields a NULL item and subtree.
    let top = unsafe { shim::dcomauth_add_protocol(tree, proto(), tvb, ett(Ett::Main), &mut sub) };
    let root = Tree { tvb, node: sub };
    if let Some(stream) = verdict.stream {
        generated(root.uint(Hf::Stream, stream));
    }
    // SAFETY: `tree` is this dissection's; the shim only asks epan's registrar.
    if unsafe { shim::dcomauth_tree_wants_details(tree, proto()) } != 0 {
        // SAFETY: `pinfo` is this dissection's.
        let frame_num = unsafe { shim::dcomauth_frame_num(pinfo) };
        append(top, &headline(verdict));
        if let [only] = verdict.pdus.as_slice() {
            pdu(&root, only, frame_num);
        } else {
            for p in &verdict.pdus {
                let (t, _) = root.subtree(Hf::Pdu, &pdu_label(p), Ett::Pdu);
                pdu(&t, p, frame_num);
            }
        }
    }
    // Findings are rare and their expert items must be in any tree a filter is run on.
    for f in &verdict.findings {
        finding(&root, pinfo, top, f);
    }
}

/// What the collapsed protocol line says: the identity of the frame's last PDU and its interface.
fn headline(v: &FrameVerdict) -> String {
    let Some(p) = v.pdus.last() else { return String::new() };
    let mut s = match &p.identity {
        Some(id) => format!(", {id}"),
        None => String::new(),
    };
    if p.changed() {
        s.push_str(" [changed]");
    }
    if let Some(name) = p.interface.and_then(|i| names::interface_name(&i.uuid)) {
        s.push_str(&format!(", {name}"));
    }
    s
}

/// The label of one PDU's subtree in a frame that carries several, in Wireshark's own words.
fn pdu_label(p: &PduView) -> String {
    let kind = match p.ptype {
        PacketType::Request => "Request",
        PacketType::Response => "Response",
        PacketType::Fault => "Fault",
        PacketType::Bind => "Bind",
        PacketType::BindAck => "Bind_ack",
        PacketType::BindNak => "Bind_nak",
        PacketType::AlterContext => "Alter_context",
        PacketType::AlterContextResp => "Alter_context_resp",
        PacketType::Auth3 => "AUTH3",
        PacketType::Shutdown => "Shutdown",
        PacketType::CoCancel => "Co_cancel",
        PacketType::Orphaned => "Orphaned",
    };
    match &p.identity {
        Some(id) => format!("{kind}: call_id {} as {id}", p.call_id),
        None => format!("{kind}: call_id {}", p.call_id),
    }
}

fn pdu(t: &Tree, p: &PduView, frame: u32) {
    match &p.identity {
        Some(id) => {
            let item = generated(t.text(Hf::Identity, &id.to_string()));
            if p.changed() {
                append(item, " [changed]");
            }
            hidden(t.boolean(Hf::IdentityChanged, p.changed()));
        }
        None => {
            let why = match p.security.as_ref().map(|s| s.auth_type) {
                Some(AuthType::Kerberos) => "Kerberos: the client's name is not visible on the wire",
                Some(AuthType::Netlogon) => "Netlogon secure channel: no user name on the wire",
                Some(_) => "authentication not completed yet",
                None => "unauthenticated PDU",
            };
            generated(t.text(Hf::IdentityUnknown, why));
        }
    }
    if let Some(sec) = &p.security {
        let label = format!(
            "auth_context_id {}, {}, {}",
            sec.auth_context_id,
            sec.auth_type,
            names::auth_level_name(sec.auth_level).unwrap_or("unknown level")
        );
        generated(t.text(Hf::Security, &label));
        hidden(t.uint(Hf::AuthContextId, sec.auth_context_id));
        hidden(t.text(Hf::AuthType, &sec.auth_type.to_string()));
        hidden(t.text(Hf::AuthLevel, names::auth_level_name(sec.auth_level).unwrap_or("unknown level")));
        // A link to the frame itself would lead nowhere.
        if let Some(established) = sec.established_frame.filter(|f| *f != frame) {
            generated(t.uint(Hf::IdentityFrame, established));
        }
    }
    if let Some(base) = &p.baseline {
        let item = generated(t.text(Hf::Baseline, &base.to_string()));
        if p.baseline_partial {
            append(item, " [partial: the capture starts mid-association]");
        }
        if let Some(established) = p.baseline_frame {
            generated(t.uint(Hf::BaselineFrame, established));
        }
        hidden(t.boolean(Hf::BaselinePartial, p.baseline_partial));
    }
    if let Some(iface) = &p.interface {
        let uuid = iface.uuid.to_string();
        let name = names::interface_name(&iface.uuid).unwrap_or("unknown interface");
        let label = format!("{name} ({uuid}) v{}.{}, ctx {}", iface.version, iface.version_minor, iface.ctx_id);
        generated(t.text(Hf::Interface, &label));
        hidden(t.text(Hf::InterfaceUuid, &uuid));
        hidden(t.uint(Hf::CtxId, u32::from(iface.ctx_id)));
    }
    generated(t.uint(Hf::CallId, p.call_id));
    hidden(t.uint(Hf::Ptype, u32::from(p.ptype.to_u8())));
    if let Some(op) = p.opnum {
        generated(t.uint(Hf::Opnum, u32::from(op)));
    }
    let h = &p.history;
    if h.earlier > 0 {
        let (ht, _) = t.subtree(Hf::History, &h.to_string(), Ett::History);
        generated(ht.uint(Hf::HistoryEarlier, h.earlier));
        generated(ht.uint(Hf::HistoryWithChange, h.with_change));
        generated(ht.uint(Hf::HistoryWithAbort, h.with_abort));
        if let Some(frame) = h.last_change_frame {
            generated(ht.uint(Hf::HistoryFrame, frame));
        }
    }
}

fn finding(t: &Tree, pinfo: *mut ws::packet_info, top: *mut ws::proto_item, f: &Finding) {
    match f {
        Finding::FaultAfterChange { rejection, call_frame, .. } => {
            if let Rejection::Fault(status) = rejection {
                status_items(t, *status);
            }
            // The change itself is linked from the PDU's "Identity established in".
            generated(t.uint(Hf::CallFrame, *call_frame));
        }
        Finding::AbortAfterChange { since_change_ns, change_frame, last_fault_frame, .. } => {
            generated(t.uint(Hf::ChangeFrame, *change_frame));
            if let Some(frame) = last_fault_frame {
                generated(t.uint(Hf::FaultFrame, *frame));
            }
            generated(t.double(Hf::SinceChangeMs, *since_change_ns as f64 / 1e6));
        }
        Finding::AbortAfterFault { last_fault_frame, status, .. } => {
            generated(t.uint(Hf::FaultFrame, *last_fault_frame));
            status_items(t, *status);
        }
        Finding::PossibleIdentityChange { doubt, .. } => {
            let earlier = match doubt {
                Doubt::CaptureStartedLate { earlier_frame, .. } => *earlier_frame,
                Doubt::NotVisible { baseline_frame, .. } | Doubt::Spelling { baseline_frame, .. } => *baseline_frame,
                Doubt::AfterHidden { hidden_frame, .. } => *hidden_frame,
            };
            generated(t.uint(Hf::ChangeFrame, earlier));
        }
        Finding::PairIdentityChange { earlier_frame, .. } => {
            generated(t.uint(Hf::ChangeFrame, *earlier_frame));
        }
        Finding::IdentityChange { .. } | Finding::ManagedObjectQi { .. } | Finding::StateLimit { .. } => {}
    }
    expert(pinfo, top, f);
}

/// The finding's expert info on `item` (NULL when there is no tree).
fn expert(pinfo: *mut ws::packet_info, item: *mut ws::proto_item, f: &Finding) {
    let text = c(&f.message());
    // SAFETY: `pinfo`/`item` are this dissection's (epan accepts a NULL item); the message goes
    // through "%s" in the shim.
    unsafe { shim::dcomauth_expert(pinfo, item, ei(f.expert()), text.as_ptr()) };
}

/// The fault status and the HRESULT the caller gets, each with its name.
fn status_items(t: &Tree, status: u32) {
    let name = names::status(status).map_or("unknown status", |s| s.name);
    append(generated(t.uint(Hf::Status, status)), &format!(" ({name})"));
    generated(t.uint(Hf::Hresult, names::hresult(status)));
}

#[cfg(test)]
mod tests {
    use super::c;

    #[test]
    fn text_for_epan_keeps_plain_text_and_replaces_interior_nuls() {
        assert_eq!(c("REDMOND\\jiangyue").as_bytes(), b"REDMOND\\jiangyue");
        assert_eq!(c("a\0b").to_str(), Ok("a\u{fffd}b"));
    }
}
