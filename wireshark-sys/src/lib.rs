//! Raw bindings over the installed Wireshark's epan headers, generated at build time.
//!
//! The allowlist in `build.rs` is the contract: only what the plugin calls is declared, so nothing
//! here can name a symbol libwireshark does not export.
#![allow(non_upper_case_globals, non_camel_case_types, non_snake_case, dead_code, clippy::all)]

include!(concat!(env!("OUT_DIR"), "/bindings.rs"));

/// What epan's boolean preferences point at: GLib's `gboolean` in 4.0 (and 4.2), C99 `bool` from
/// 4.4 on, where epan moved off GLib's types.
#[cfg(any(wireshark_4_0, wireshark_4_2))]
pub type pref_bool = gboolean;
#[cfg(any(wireshark_4_0, wireshark_4_2))]
pub const PREF_FALSE: pref_bool = 0;
#[cfg(not(any(wireshark_4_0, wireshark_4_2)))]
pub type pref_bool = bool;
#[cfg(not(any(wireshark_4_0, wireshark_4_2)))]
pub const PREF_FALSE: pref_bool = false;

/// What a `stat_tap_ui.tap_init_cb` returns: nothing up to 4.4; from 4.6 on whether the statistic
/// could start (`false` makes tshark stop with an error).
#[cfg(any(wireshark_4_0, wireshark_4_2, wireshark_4_4))]
pub type stat_tap_init_result = ();
#[cfg(any(wireshark_4_0, wireshark_4_2, wireshark_4_4))]
pub const STAT_TAP_INIT_OK: stat_tap_init_result = ();
#[cfg(any(wireshark_4_0, wireshark_4_2, wireshark_4_4))]
pub const STAT_TAP_INIT_FAILED: stat_tap_init_result = ();
#[cfg(not(any(wireshark_4_0, wireshark_4_2, wireshark_4_4)))]
pub type stat_tap_init_result = bool;
#[cfg(not(any(wireshark_4_0, wireshark_4_2, wireshark_4_4)))]
pub const STAT_TAP_INIT_OK: stat_tap_init_result = true;
#[cfg(not(any(wireshark_4_0, wireshark_4_2, wireshark_4_4)))]
pub const STAT_TAP_INIT_FAILED: stat_tap_init_result = false;
