//! NTLMSSP messages (MS-NLMP 2.2.1): NEGOTIATE, CHALLENGE, AUTHENTICATE.
//!
//! CONTRACT (filled in by the parser work).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NtlmVersion {
    /// Empty NT response (anonymous logon).
    Anonymous,
    /// 24-byte NT response.
    V1,
    /// NTLMv2 response (longer than 24 bytes).
    V2,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticate {
    pub flags: u32,
    pub domain: String,
    pub user: String,
    pub workstation: String,
    /// NTLMSSP_NEGOTIATE_ANONYMOUS set, or empty user with empty/1-byte LM and empty NT response.
    pub anonymous: bool,
    pub version: NtlmVersion,
    pub has_mic: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Negotiate { flags: u32 },
    Challenge { flags: u32, target_name: String },
    Authenticate(Authenticate),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    TooShort,
    BadSignature,
    UnknownMessageType(u32),
    /// A payload field points outside the message.
    FieldOutOfBounds,
}

/// Parses a message starting with "NTLMSSP\0"; payload offsets are relative to that start.
pub fn parse(_input: &[u8]) -> Result<Message, Error> {
    unimplemented!("contract")
}
