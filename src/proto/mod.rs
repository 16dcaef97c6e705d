//! Pure parsers for the bytes a capture carries. No FFI, no allocation beyond the typed result;
//! every length and offset read from the wire is bounds-checked before use.
pub mod dcerpc;
pub mod dcom;
pub mod ntlmssp;
pub mod spnego;
pub mod tcp;
