//! SPNEGO (RFC 4178) just deep enough to find the mechanism token inside.
//!
//! CONTRACT (filled in by the parser work).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inner<'a> {
    /// An NTLMSSP message (starts with "NTLMSSP\0").
    Ntlmssp(&'a [u8]),
    /// Kerberos (the mech OID or an AP-REQ/AP-REP token): identity not visible on the wire.
    Kerberos,
    /// A valid SPNEGO token with no mechToken/responseToken (e.g. a bare negState).
    Empty,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    Truncated,
    NotSpnego,
    TooDeep,
    BadLength,
}

/// Finds the mechanism token in a NegTokenInit (0x60 / 0xa0) or NegTokenResp (0xa1).
pub fn inner_token(_input: &[u8]) -> Result<Inner<'_>, Error> {
    unimplemented!("contract")
}
