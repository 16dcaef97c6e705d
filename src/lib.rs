//! dcomauth: a Wireshark post-dissector that shows which NTLMSSP identity each DCE/RPC call ran
//! under, flags identity changes inside an association, the faults they caused and the server abort
//! that followed.
//!
//! `proto`, `flow`, `track` and `session` are pure Rust (no FFI); `epan` is the only module that
//! talks to Wireshark. This file holds the symbols the plugin loader looks up, nothing else.
use std::os::raw::{c_char, c_int};

mod epan;
pub mod flow;
pub mod names;
pub mod proto;
pub mod session;
#[cfg(test)]
mod testutil;
pub mod track;
pub mod uuid;

include!(concat!(env!("OUT_DIR"), "/plugin_exports.rs"));

/// `WS_PLUGIN_DESC_DISSECTOR | WS_PLUGIN_DESC_TAP_LISTENER`, read by Wireshark 4.2 and later.
#[no_mangle]
pub extern "C" fn plugin_describe() -> u32 {
    1 | 1 << 3
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
