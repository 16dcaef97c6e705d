//! dcomauth: a Wireshark post-dissector that shows which NTLMSSP identity each DCE/RPC call ran
//! under, flags identity changes inside an association, the faults they caused and the server abort
//! that followed.
//!
//! `proto` and `track` are pure Rust (no FFI); `epan` is the only module that talks to Wireshark.
pub mod names;
pub mod proto;
pub mod track;
