//! `tshark -q -z dcomauth,json[,capture=LABEL]`: every association as one JSON line, printed when
//! tshark finishes reading the capture (see `track::json` for the format).
//!
//! A tap has no way to learn the capture's file name from epan (tshark keeps it in its own
//! `capture_file`; `cf_get_display_name` belongs to the GUI), so the name is whatever follows
//! `capture=`, taken verbatim (commas included) and written as each line's `"capture"`. Without it
//! the lines have no `"capture"` key; `scripts/dcomauth-batch` always passes the path.
use std::ffi::CStr;
use std::os::raw::{c_char, c_void};

use wireshark_sys as ws;

use super::stats::{listen_for_report, register_report};
use super::{c_text, dissect, guard, shim};

const CLI: &CStr = c"dcomauth,json";

/// What one `-z dcomauth,json...` asked for; leaked, one per request, read in `draw`.
struct Request {
    capture: Option<String>,
}

/// Registers `-z dcomauth,json` (called from the stat-tap registration).
pub fn register() {
    register_report(c"DCOM Authentication Tracker (JSON Lines)", CLI, Some(init));
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
        // Leaked: epan hands it back to `draw`, and the report may be drawn more than once.
        let request = Box::into_raw(Box::new(Request { capture })).cast::<c_void>();
        listen_for_report(request, Some(draw))
    })
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
