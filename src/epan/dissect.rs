//! The post-dissector: gathers a frame's facts on the first pass, asks the session for a verdict,
//! and renders the stored verdict on every pass.
//!
//! It wants no fields: tshark decides once per file whether to build a tree, so fields wanted
//! later would be missing in exactly the runs (`-z expert`, the first pass of `-2`) that need them.
//! The PDUs come from the captured bytes instead, which costs nothing on frames without DCE/RPC.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::raw::{c_int, c_void};
use std::sync::{Mutex, MutexGuard};

use once_cell::sync::Lazy;
use wireshark_sys as ws;

use super::{guard, proto_dcerpc, proto_tcp, render, shim, tap_id};
use crate::proto::tcp;
use crate::session::{FrameInput, Session};
use crate::track::{Endpoint, FrameVerdict};

static SESSION: Lazy<Mutex<Session>> = Lazy::new(|| Mutex::new(Session::new()));

fn session() -> MutexGuard<'static, Session> {
    // A panic while holding the lock leaves state that is still memory-safe; keep going.
    SESSION.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `f` on the session outside any epan call.
pub fn with_session<T>(f: impl FnOnce(&Session) -> T) -> T {
    f(&session())
}

/// A new pass over a capture: forget everything, and take the preferences as they are now.
pub fn reset() {
    // SAFETY: reads a preference epan has applied; no dissection is running.
    let deinterlaced = unsafe { shim::dcomauth_conversations_deinterlaced() } != 0;
    *session() = Session::with_config(super::prefs::config()).conversations_deinterlaced(deinterlaced);
}

/// `dissector_t` registered as post-dissector.
pub unsafe extern "C" fn postdissector(
    tvb: *mut ws::tvbuff_t,
    pinfo: *mut ws::packet_info,
    tree: *mut ws::proto_tree,
    _data: *mut c_void,
) -> c_int {
    if tvb.is_null() || pinfo.is_null() {
        return 0;
    }
    guard((), || {
        let Some(verdict) = verdict_for(tvb, pinfo) else { return };
        // SAFETY: pointers come straight from epan for this dissection.
        unsafe { render::frame(tvb, pinfo, tree, &verdict) };
        if let Some(stream) = verdict.stream {
            // SAFETY: the tap data is the stream number itself, never dereferenced (see `tap_stream`).
            unsafe { ws::tap_queue_packet(tap_id(), pinfo, super::tap_data(stream)) };
        }
    });
    0
}

fn verdict_for(tvb: *mut ws::tvbuff_t, pinfo: *mut ws::packet_info) -> Option<FrameVerdict> {
    // SAFETY: `pinfo` is valid for this call; the shim only reads it.
    let (visited, frame) = unsafe { (shim::dcomauth_visited(pinfo) != 0, shim::dcomauth_frame_num(pinfo)) };
    if visited {
        return session().replay(frame);
    }
    // DCE/RPC right on top of TCP (not inside SMB pipes or HTTP, whose TCP payload is no PDU).
    // SAFETY: as above.
    let has_dcerpc = unsafe { shim::dcomauth_layers_has_after(pinfo, proto_dcerpc(), proto_tcp()) != 0 };
    if !has_dcerpc && !session().tracks_anything() {
        return None;
    }
    let (src, dst) = endpoints(pinfo)?;
    // SAFETY: a byte view epan owns for the rest of this dissection; nothing keeps it after it.
    let frame_bytes = unsafe {
        let mut len = 0u32;
        slice(shim::dcomauth_tvb_bytes(tvb, &mut len), len)?
    };
    let segment = tcp::locate(frame_bytes, src.addr, dst.addr, src.port, dst.port);
    let mut session = session();
    let stream = session.stream_of(frame, src, dst, segment.as_ref(), || tcp_stream(pinfo));
    if !session.wants(has_dcerpc, stream) {
        return None;
    }
    let stream = stream?;
    // SAFETY: as for the frame bytes; the time is read from `pinfo`.
    let (reassembled, time_ns) = unsafe {
        let mut rlen = 0u32;
        let rbytes = shim::dcomauth_reassembled_tcp(pinfo, &mut rlen);
        (slice(rbytes, rlen), shim::dcomauth_abs_time_ns(pinfo))
    };
    let input = FrameInput { frame, time_ns, stream, src, dst, frame_bytes, reassembled, has_dcerpc };
    session.first_pass_located(&input, segment)
}

/// # Safety
/// `ptr` must point at `len` readable bytes that outlive the returned slice's use.
unsafe fn slice<'a>(ptr: *const u8, len: u32) -> Option<&'a [u8]> {
    if ptr.is_null() || len == 0 {
        return None;
    }
    // SAFETY: per the function contract.
    Some(unsafe { std::slice::from_raw_parts(ptr, len as usize) })
}

fn tcp_stream(pinfo: *mut ws::packet_info) -> Option<u32> {
    let mut stream = 0u32;
    // SAFETY: `pinfo` is valid; the shim looks up TCP's conversation data without creating any.
    (unsafe { shim::dcomauth_tcp_stream(pinfo, proto_tcp(), &mut stream) } != 0).then_some(stream)
}

fn endpoints(pinfo: *mut ws::packet_info) -> Option<(Endpoint, Endpoint)> {
    let (mut src, mut dst) = ([0u8; 16], [0u8; 16]);
    let (mut sport, mut dport) = (0u16, 0u16);
    // SAFETY: 16-byte out buffers as the shim requires.
    let family =
        unsafe { shim::dcomauth_tcp_endpoints(pinfo, src.as_mut_ptr(), dst.as_mut_ptr(), &mut sport, &mut dport) };
    let addr = |b: [u8; 16]| match family {
        4 => Some(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))),
        6 => Some(IpAddr::V6(Ipv6Addr::from(b))),
        _ => None,
    };
    Some((Endpoint { addr: addr(src)?, port: sport }, Endpoint { addr: addr(dst)?, port: dport }))
}
