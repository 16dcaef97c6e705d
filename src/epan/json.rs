//! `tshark -q -z dcomauth,json[,capture=LABEL]`: every association as one JSON line, printed when
//! tshark finishes reading the capture (see `track::json` for the format).
//!
//! A tap has no way to learn the capture's file name from epan (tshark keeps it in its own
//! `capture_file`; `cf_get_display_name` belongs to the GUI), so the name is whatever follows
//! `capture=`, taken verbatim (commas included) and written as each line's `"capture"`. Without it
//! the lines have no `"capture"` key; `scripts/dcomauth-batch` always passes the path.
use std::ffi::CStr;
use std::os::raw::{c_char, c_void};
use std::ptr::null_mut;

use wireshark_sys as ws;

use super::{c_text, dissect, guard, shim, stats::TAP_NAME};

const CLI: &CStr = c"dcomauth,json";

/// What one `-z dcomauth,json...` asked for; leaked, one per request, read in `draw`.
struct Request {
    capture: Option<String>,
}

/// Registers `-z dcomauth,json` (called from the stat-tap registration).
pub fn register() {
    let ui = Box::leak(Box::new(ws::stat_tap_ui {
        group: ws::register_stat_group_e_REGISTER_STAT_GROUP_GENERIC,
        title: c"DCOM Authentication Tracker (JSON Lines)".as_ptr(),
        cli_string: CLI.as_ptr(),
        tap_init_cb: Some(init),
        nparams: 0,
        params: null_mut(),
    }));
    // SAFETY: `ui` is leaked, so it outlives epan's reference to it.
    unsafe { ws::register_stat_tap_ui(ui, null_mut()) };
}

/// The capture label in `-z` text: None for `dcomauth,json`, the rest after `,capture=`; Err for
/// anything else.
pub(crate) fn parse_arg(arg: &str) -> Result<Option<String>, String> {
    let rest = arg.strip_prefix("dcomauth,json").ok_or_else(|| format!("not a dcomauth,json request: {arg}"))?;
    if rest.is_empty() {
        return Ok(None);
    }
    match rest.strip_prefix(",capture=") {
        Some(label) => Ok(Some(label.to_string())),
        None => Err(format!("unknown argument {rest:?} (expected dcomauth,json or dcomauth,json,capture=LABEL)")),
    }
}

extern "C" fn init(opt_arg: *const c_char, _userdata: *mut c_void) -> ws::stat_tap_init_result {
    guard(ws::STAT_TAP_INIT_FAILED, || {
        let arg = if opt_arg.is_null() {
            String::new()
        } else {
            // SAFETY: epan passes the NUL-terminated -z text.
            unsafe { CStr::from_ptr(opt_arg) }.to_string_lossy().into_owned()
        };
        let capture = match parse_arg(&arg) {
            Ok(c) => c,
            Err(e) => {
                // tshark's own -z errors end the run; a typo here must not pass as an unlabelled report.
                eprintln!("tshark: -z {arg}: {e}");
                std::process::exit(1);
            }
        };
        let request = Box::into_raw(Box::new(Request { capture })).cast::<c_void>();
        // SAFETY: static names and callbacks; `request` is leaked for epan to hand back to `draw`; a
        // failure comes back as a GString we free.
        unsafe {
            let err = ws::register_tap_listener(
                TAP_NAME.as_ptr(),
                request,
                std::ptr::null(),
                ws::TL_REQUIRES_NOTHING,
                None,
                Some(no_packet),
                Some(draw),
                None,
            );
            if !err.is_null() {
                ws::g_string_free(err, 1);
                return ws::STAT_TAP_INIT_FAILED;
            }
        }
        ws::STAT_TAP_INIT_OK
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

extern "C" fn draw(tapdata: *mut c_void) {
    guard((), || {
        // SAFETY: `tapdata` is the Request leaked in `init`, never freed.
        let request = unsafe { tapdata.cast::<Request>().as_ref() };
        let capture = request.and_then(|r| r.capture.as_deref());
        let text = dissect::with_session(|s| s.tracker().render_json(capture));
        if text.is_empty() {
            return;
        }
        // JSON escapes NUL as \u0000: the text has none.
        let out = c_text(&text);
        // SAFETY: NUL-terminated text; the shim writes it to stdout.
        unsafe { shim::dcomauth_print(out.as_ptr()) };
    })
}

#[cfg(test)]
mod tests {
    use super::parse_arg;

    #[test]
    fn the_capture_label_is_taken_verbatim() {
        assert_eq!(parse_arg("dcomauth,json"), Ok(None));
        assert_eq!(parse_arg("dcomauth,json,capture=a,b=c.pcap"), Ok(Some("a,b=c.pcap".into())));
        assert_eq!(parse_arg("dcomauth,json,capture="), Ok(Some(String::new())));
        assert!(parse_arg("dcomauth,json,captur=x").is_err());
        assert!(parse_arg("dcomauth,jsonx").is_err());
    }
}
