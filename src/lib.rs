//! dcomauth: a Wireshark post-dissector that shows which NTLMSSP identity each DCE/RPC call ran
//! under, flags identity changes inside an association, the faults they caused and the server abort
//! that followed.
//!
//! `proto`, `flow`, `track` and `session` are pure Rust (no FFI); `epan` is the only module that
//! talks to Wireshark. This file holds the symbols the plugin loader looks up, nothing else.
use std::os::raw::{c_char, c_int};

mod epan;
pub mod flow;
mod maps;
pub mod names;
pub mod proto;
pub mod session;
mod streams;
#[cfg(test)]
mod testutil;
pub mod track;
pub mod uuid;

include!(concat!(env!("OUT_DIR"), "/plugin_exports.rs"));

#[cfg(not(wireshark_4_0))]
use wireshark_sys::{WS_PLUGIN_DESC_DISSECTOR, WS_PLUGIN_DESC_TAP_LISTENER};
/// 4.0 has no `wsutil/plugins.h` and never calls `plugin_describe`; the values are those of 4.2+.
#[cfg(wireshark_4_0)]
const WS_PLUGIN_DESC_DISSECTOR: u32 = 1 << 0;
#[cfg(wireshark_4_0)]
const WS_PLUGIN_DESC_TAP_LISTENER: u32 = 1 << 4;

/// What the plugin provides, read by Wireshark 4.2 and later (`tshark -G plugins` prints the first
/// of dissector, file type, codec, epan, tap listener, dfilter that is set).
#[no_mangle]
pub extern "C" fn plugin_describe() -> u32 {
    WS_PLUGIN_DESC_DISSECTOR | WS_PLUGIN_DESC_TAP_LISTENER
}

/// Entry point the loader calls once: hands epan our registration routines.
#[no_mangle]
pub extern "C" fn plugin_register() {
    static PLUGIN: wireshark_sys::proto_plugin = wireshark_sys::proto_plugin {
        register_protoinfo: Some(epan::register_protoinfo),
        register_handoff: Some(epan::register_handoff),
    };
    static TAP: wireshark_sys::tap_plugin =
        wireshark_sys::tap_plugin { register_tap_listener: Some(epan::register_tap_listeners) };
    // SAFETY: epan keeps the pointers; both are static and never written.
    unsafe {
        wireshark_sys::proto_register_plugin(&PLUGIN);
        wireshark_sys::tap_register_plugin(&TAP);
    }
}
