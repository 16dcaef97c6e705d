//! `tshark -z dcomauth,summary`: the per-association report a user pastes into a bug report,
//! printed when tshark finishes reading the capture.
use std::ffi::CString;
use std::os::raw::{c_char, c_void};
use std::ptr::null_mut;

use wireshark_sys as ws;

use super::{dissect, guard, shim};

/// The tap our post-dissector's listeners attach to; it never carries per-packet data for this report.
pub const TAP_NAME: &std::ffi::CStr = c"dcomauth";

/// `tap_plugin.register_tap_listener`: makes `-z dcomauth,summary` known to tshark.
pub extern "C" fn register_tap_listeners() {
    guard((), || {
        let ui = Box::leak(Box::new(ws::stat_tap_ui {
            group: ws::register_stat_group_e_REGISTER_STAT_GROUP_GENERIC,
            title: c"DCOM Authentication Tracker".as_ptr(),
            cli_string: c"dcomauth,summary".as_ptr(),
            tap_init_cb: Some(summary_init),
            nparams: 0,
            params: null_mut(),
        }));
        // SAFETY: `ui` is leaked, so it outlives epan's reference to it.
        unsafe { ws::register_stat_tap_ui(ui, null_mut()) };
    })
}

extern "C" fn summary_init(_opt_arg: *const c_char, _userdata: *mut c_void) {
    guard((), || {
        // SAFETY: static names and callbacks; a failure comes back as a GString we report and free.
        unsafe {
            let err = ws::register_tap_listener(
                TAP_NAME.as_ptr(),
                null_mut(),
                std::ptr::null(),
                ws::TL_REQUIRES_NOTHING,
                None,
                Some(no_packet),
                Some(summary_draw),
                None,
            );
            if !err.is_null() {
                ws::g_string_free(err, 1);
            }
        }
    })
}

unsafe extern "C" fn no_packet(
    _tapdata: *mut c_void,
    _pinfo: *mut ws::packet_info,
    _edt: *mut ws::epan_dissect_t,
    _data: *const c_void,
    _flags: ws::tap_flags_t,
) -> ws::tap_packet_status {
    ws::tap_packet_status_TAP_PACKET_DONT_REDRAW
}

extern "C" fn summary_draw(_tapdata: *mut c_void) {
    guard((), || {
        let text = dissect::with_session(|s| s.tracker().render_summary());
        let rule = "=".repeat(100);
        let out = format!("\n{rule}\nDCOM Authentication Tracker: associations\n{rule}\n{text}{rule}\n");
        let out = CString::new(out.replace('\0', "\u{fffd}")).unwrap_or_default();
        // SAFETY: NUL-terminated text; the shim writes it to stdout.
        unsafe { shim::dcomauth_print(out.as_ptr()) };
    })
}
