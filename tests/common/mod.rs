//! Deterministic capture generator for the integration tests (pure std, no randomness).
//!
//! `net` builds frames and TCP connections into a `Capture`, `rpc` builds DCE/RPC PDUs, `ntlmssp`
//! and `spnego` the auth tokens, `dcom` the call stubs, `session` one client association (`Assoc`,
//! scripted `Step`s), `scenarios` whole captures with named frames (marks), and `tshark` reads
//! captures back through Wireshark's own dissectors (plugin disabled).
#![allow(dead_code)]

pub mod dcom;
pub mod net;
pub mod ntlmssp;
pub mod pcapng;
pub mod rpc;
pub mod scenarios;
pub mod session;
pub mod spnego;
pub mod tshark;
