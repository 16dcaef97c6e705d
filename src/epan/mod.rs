//! Everything that talks to Wireshark: registration, the post-dissector, tree items and expert
//! infos. The only module with `unsafe` besides `wireshark-sys`. Every `extern "C"` entry catches
//! panics, and epan calls are made from small functions that hold no lock.
mod dissect;
mod fields;
mod json;
mod prefs;
mod render;
mod shim;
mod stats;

pub use stats::register_tap_listeners;

use std::os::raw::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use wireshark_sys as ws;

/// Protocol ids looked up at handoff (-1 when that protocol is absent).
static PROTO_DCERPC: AtomicI32 = AtomicI32::new(-1);
static PROTO_TCP: AtomicI32 = AtomicI32::new(-1);
/// Our tap: frames with a verdict queue their association's stream for the Statistics table.
static TAP: AtomicI32 = AtomicI32::new(-1);

/// Runs `f`, turning a panic into `fallback`: a panic crossing the C ABI would abort Wireshark.
fn guard<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// Text for epan: interior NULs (hostile usernames) become U+FFFD instead of truncating.
fn c_text(text: &str) -> std::ffi::CString {
    // One copy in the usual case; the replacement only for text that has a NUL.
    std::ffi::CString::new(text)
        .unwrap_or_else(|_| std::ffi::CString::new(text.replace('\0', "\u{fffd}")).unwrap_or_default())
}

/// Says once, on stderr, that the plugin hit an internal error; dissection goes on without it.
fn report_panics_once() {
    static REPORTED: AtomicBool = AtomicBool::new(false);
    std::panic::set_hook(Box::new(|info| {
        if !REPORTED.swap(true, Ordering::Relaxed) {
            eprintln!(
                "dcomauth: internal error ({info}); the frame's findings are skipped and dissection goes on. \
                 Please report this with the capture."
            );
        }
    }));
}

/// `proto_plugin.register_protoinfo`.
pub extern "C" fn register_protoinfo() {
    guard((), || {
        report_panics_once();
        let proto = fields::register();
        prefs::register(proto);
        // SAFETY: plain epan registration calls with a static function and our protocol id.
        unsafe {
            shim::dcomauth_register_postdissector(Some(dissect::postdissector), proto);
            TAP.store(ws::register_tap(stats::TAP_NAME.as_ptr()), Ordering::Relaxed);
            ws::register_init_routine(Some(init_routine));
            ws::register_cleanup_routine(Some(cleanup_routine));
        }
    })
}

/// `proto_plugin.register_handoff`: other protocols exist by now.
pub extern "C" fn register_handoff() {
    guard((), || {
        // SAFETY: lookups by static NUL-terminated names.
        unsafe {
            PROTO_DCERPC.store(ws::proto_get_id_by_filter_name(c"dcerpc".as_ptr()), Ordering::Relaxed);
            PROTO_TCP.store(ws::proto_get_id_by_filter_name(c"tcp".as_ptr()), Ordering::Relaxed);
        }
    })
}

/// A new capture (or a re-read) starts: forget everything.
extern "C" fn init_routine() {
    guard((), dissect::reset)
}

extern "C" fn cleanup_routine() {
    guard((), dissect::reset)
}

fn proto_dcerpc() -> c_int {
    PROTO_DCERPC.load(Ordering::Relaxed)
}

fn proto_tcp() -> c_int {
    PROTO_TCP.load(Ordering::Relaxed)
}

fn tap_id() -> c_int {
    TAP.load(Ordering::Relaxed)
}

/// What a tapped frame hands its listeners: the association's stream, carried in the pointer's
/// value (plus one, so never NULL) rather than in memory that would have to outlive the frame.
fn tap_data(stream: u32) -> *const std::os::raw::c_void {
    std::ptr::without_provenance(stream as usize + 1)
}

/// The stream `tap_data` carried; None for a NULL pointer.
fn tap_stream(data: *const std::os::raw::c_void) -> Option<u32> {
    (data as usize).checked_sub(1).and_then(|s| u32::try_from(s).ok())
}
