#![no_main]
//! See `dcomauth_fuzz::checks::dcom` for what this target asserts.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| dcomauth_fuzz::checks::dcom(data));
