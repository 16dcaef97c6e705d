//! NTLMSSP messages (MS-NLMP 2.2.1): NEGOTIATE, CHALLENGE, AUTHENTICATE.
//!
//! Only the fields the plugin shows are decoded. Payload fields (len u16, maxlen u16, offset u32)
//! are bounds-checked against the message before use; fields the plugin does not read (the
//! CHALLENGE's TargetInfo, AV pairs) never make a parse fail.
use nom::bytes::complete::{tag, take};
use nom::number::complete::{le_u16, le_u32};
use nom::IResult;

pub const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";

/// NegotiateFlags bits used here (MS-NLMP 2.2.2.5).
pub const NTLMSSP_NEGOTIATE_UNICODE: u32 = 0x0000_0001;
pub const NTLMSSP_NEGOTIATE_ANONYMOUS: u32 = 0x0000_0800;
pub const NTLMSSP_NEGOTIATE_VERSION: u32 = 0x0200_0000;

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
    /// NTLMSSP_NEGOTIATE_ANONYMOUS set, or an empty user with an empty NT response.
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

type Res<'a, T> = IResult<&'a [u8], T, ()>;

/// A payload field descriptor: where its bytes are, relative to the message start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Field {
    len: u16,
    offset: u32,
}

impl Field {
    /// The field's bytes; an empty field is fine wherever it points.
    fn bytes<'a>(&self, msg: &'a [u8]) -> Result<&'a [u8], Error> {
        if self.len == 0 {
            return Ok(&[]);
        }
        let start = usize::try_from(self.offset).map_err(|_| Error::FieldOutOfBounds)?;
        let end = start.checked_add(usize::from(self.len)).ok_or(Error::FieldOutOfBounds)?;
        msg.get(start..end).ok_or(Error::FieldOutOfBounds)
    }
}

fn field(i: &[u8]) -> Res<'_, Field> {
    let (i, len) = le_u16(i)?;
    let (i, _max_len) = le_u16(i)?;
    let (i, offset) = le_u32(i)?;
    Ok((i, Field { len, offset }))
}

fn header(i: &[u8]) -> Res<'_, u32> {
    let (i, _) = tag(&SIGNATURE[..])(i)?;
    le_u32(i)
}

/// MessageType of a CHALLENGE.
pub const CHALLENGE: u32 = 2;

/// The message type a token announces after its signature, the rest unread.
pub fn message_type(input: &[u8]) -> Option<u32> {
    let rest = input.strip_prefix(&SIGNATURE[..])?;
    Some(u32::from_le_bytes(rest.get(..4)?.try_into().ok()?))
}

/// Parses a message starting with "NTLMSSP\0"; payload offsets are relative to that start.
pub fn parse(input: &[u8]) -> Result<Message, Error> {
    match input.get(..SIGNATURE.len()) {
        None => return Err(Error::TooShort),
        Some(sig) if sig != SIGNATURE => return Err(Error::BadSignature),
        Some(_) => {}
    }
    let (body, message_type) = header(input).map_err(|_| Error::TooShort)?;
    match message_type {
        1 => negotiate(body),
        CHALLENGE => challenge(input, body),
        3 => authenticate(input, body).map(Message::Authenticate),
        other => Err(Error::UnknownMessageType(other)),
    }
}

/// NEGOTIATE: flags right after the header; the optional domain/workstation are not needed.
fn negotiate(body: &[u8]) -> Result<Message, Error> {
    let (_, flags) = le_u32::<_, ()>(body).map_err(|_| Error::TooShort)?;
    Ok(Message::Negotiate { flags })
}

/// CHALLENGE: TargetNameFields then NegotiateFlags; TargetInfo is deliberately not checked.
fn challenge(msg: &[u8], body: &[u8]) -> Result<Message, Error> {
    let fields = |i| -> Res<'_, (Field, u32)> {
        let (i, target) = field(i)?;
        let (i, flags) = le_u32(i)?;
        Ok((i, (target, flags)))
    };
    let (_, (target, flags)) = fields(body).map_err(|_| Error::TooShort)?;
    let target_name = decode(target.bytes(msg)?, flags);
    Ok(Message::Challenge { flags, target_name })
}

/// The six payload fields of an AUTHENTICATE, in wire order.
struct AuthFields {
    lm: Field,
    nt: Field,
    domain: Field,
    user: Field,
    workstation: Field,
    session_key: Option<Field>,
    flags: Option<u32>,
}

/// Everything before the session key is mandatory; the session key and NegotiateFlags (NT4 SP4
/// and later) are only there when the payload starts past them.
fn auth_fields(msg_len: usize, i: &[u8]) -> Res<'_, AuthFields> {
    let (i, lm) = field(i)?;
    let (i, nt) = field(i)?;
    let (i, domain) = field(i)?;
    let (i, user) = field(i)?;
    let (i, workstation) = field(i)?;
    if payload_start(&[lm, nt, domain, user, workstation], msg_len) < FLAGS_END {
        return Ok((i, AuthFields { lm, nt, domain, user, workstation, session_key: None, flags: None }));
    }
    let (i, session_key) = field(i)?;
    let (i, flags) = le_u32(i)?;
    Ok((i, AuthFields { lm, nt, domain, user, workstation, session_key: Some(session_key), flags: Some(flags) }))
}

/// Offset of the first payload byte: fixed fields (version, MIC) can only sit below it.
fn payload_start(fields: &[Field], msg_len: usize) -> usize {
    fields
        .iter()
        .filter(|f| f.len > 0)
        .filter_map(|f| usize::try_from(f.offset).ok())
        .min()
        .unwrap_or(msg_len)
        .min(msg_len)
}

/// Header (12) + six fields (48) + flags (4), then version (8) and MIC (16).
const FLAGS_END: usize = 64;
const MIC_END: usize = 88;
const MIC_START: usize = 72;

fn authenticate(msg: &[u8], body: &[u8]) -> Result<Authenticate, Error> {
    let (_, f) = auth_fields(msg.len(), body).map_err(|_| Error::TooShort)?;
    let key = f.session_key.unwrap_or(Field { len: 0, offset: 0 });
    let all = [f.lm, f.nt, f.domain, f.user, f.workstation, key];
    // Every field is checked even if unused: an AUTHENTICATE pointing outside itself is broken.
    f.lm.bytes(msg)?;
    let nt = f.nt.bytes(msg)?;
    let domain = f.domain.bytes(msg)?;
    let user = f.user.bytes(msg)?;
    let workstation = f.workstation.bytes(msg)?;
    if let Some(key) = f.session_key {
        key.bytes(msg)?;
    }
    // Without a flags field (pre-NT4 SP4), the strings' encoding has to be guessed.
    let flags = f.flags.unwrap_or_else(|| guess_unicode(&[domain, user, workstation]));
    let user = decode(user, flags);
    let version = match nt.len() {
        0 => NtlmVersion::Anonymous,
        1..=24 => NtlmVersion::V1,
        _ => NtlmVersion::V2,
    };
    let anonymous = flags & NTLMSSP_NEGOTIATE_ANONYMOUS != 0 || (user.is_empty() && nt.is_empty());
    let has_mic = has_mic(msg, &all, nt);
    Ok(Authenticate {
        flags,
        domain: decode(domain, flags),
        user,
        workstation: decode(workstation, flags),
        anonymous,
        version,
        has_mic,
    })
}

/// MIC present when the payload starts late enough to leave room for it (the usual heuristic),
/// unless the MIC bytes are zero and the NTLMv2 AV pairs say no MIC was computed.
fn has_mic(msg: &[u8], fields: &[Field], nt: &[u8]) -> bool {
    if payload_start(fields, msg.len()) < MIC_END {
        return false;
    }
    let mic_zero = msg.get(MIC_START..MIC_END).is_some_and(|m| m.iter().all(|&b| b == 0));
    match av_flags(nt) {
        Some(av) if mic_zero => av & MSV_AV_FLAG_MIC != 0,
        _ => true,
    }
}

const MSV_AV_EOL: u16 = 0;
const MSV_AV_FLAGS: u16 = 6;
const MSV_AV_FLAG_MIC: u32 = 0x2;
/// NTProofStr (16) + the fixed part of NTLMv2_CLIENT_CHALLENGE (28) precede the AV pairs.
const AV_PAIRS_START: usize = 44;

/// MsvAvFlags from an NTLMv2 response's AV pairs; None when absent or the list is malformed.
fn av_flags(nt: &[u8]) -> Option<u32> {
    let mut rest = nt.get(AV_PAIRS_START..)?;
    // Each pair takes at least 4 bytes, so this loop ends within rest.len() / 4 rounds.
    while rest.len() >= 4 {
        let (after, (id, value)) = av_pair(rest).ok()?;
        match id {
            MSV_AV_EOL => return None,
            MSV_AV_FLAGS => return value.get(..4).and_then(|v| v.try_into().ok()).map(u32::from_le_bytes),
            _ => rest = after,
        }
    }
    None
}

fn av_pair(i: &[u8]) -> Res<'_, (u16, &[u8])> {
    let (i, id) = le_u16(i)?;
    let (i, len) = le_u16(i)?;
    let (i, value) = take(usize::from(len))(i)?;
    Ok((i, (id, value)))
}

/// UTF-16LE when NTLMSSP_NEGOTIATE_UNICODE is set, else OEM bytes read as Latin-1.
fn decode(bytes: &[u8], flags: u32) -> String {
    if flags & NTLMSSP_NEGOTIATE_UNICODE == 0 {
        return bytes.iter().map(|&b| char::from(b)).collect();
    }
    // chunks_exact drops an odd trailing byte; each chunk is two bytes, low byte first.
    let units = bytes.chunks_exact(2);
    // Names are nearly always ASCII: their low bytes are the string.
    if units.clone().all(|c| c[1] == 0 && c[0].is_ascii()) {
        // ASCII bytes are valid UTF-8, so the conversion cannot fail.
        return String::from_utf8(units.map(|c| c[0]).collect()).unwrap_or_default();
    }
    char::decode_utf16(units.map(|c| u16::from_le_bytes([c[0], c[1]])))
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// Flags standing in for a missing NegotiateFlags: Unicode when every string looks like UTF-16LE.
fn guess_unicode(strings: &[&[u8]]) -> u32 {
    let utf16 = strings
        .iter()
        .filter(|s| !s.is_empty())
        .all(|s| s.len() % 2 == 0 && s.iter().skip(1).step_by(2).all(|&hi| hi == 0));
    if utf16 && strings.iter().any(|s| !s.is_empty()) {
        NTLMSSP_NEGOTIATE_UNICODE
    } else {
        0
    }
}

#[cfg(test)]
mod tests;
