//! Raw bindings over the installed Wireshark's epan headers, generated at build time.
//!
//! The allowlist in `build.rs` is the contract: only what the plugin calls is declared, so nothing
//! here can name a symbol libwireshark does not export.
#![allow(non_upper_case_globals, non_camel_case_types, non_snake_case, dead_code, clippy::all)]

include!(concat!(env!("OUT_DIR"), "/bindings.rs"));
