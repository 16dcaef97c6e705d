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
        2 => challenge(input, body),
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
    let mut all = vec![f.lm, f.nt, f.domain, f.user, f.workstation];
    all.extend(f.session_key);
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
    if flags & NTLMSSP_NEGOTIATE_UNICODE != 0 {
        // chunks_exact drops an odd trailing byte; each chunk is two bytes, low byte first.
        let units: Vec<u16> =
            bytes.chunks_exact(2).map(|c| c.iter().rev().fold(0u16, |acc, &b| (acc << 8) | u16::from(b))).collect();
        String::from_utf16_lossy(&units)
    } else {
        bytes.iter().map(|&b| char::from(b)).collect()
    }
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
mod tests {
    use super::*;

    use capgen::hex;

    fn utf16(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
    }

    /// Builds an AUTHENTICATE with the payload laid out after a header of `header_len` bytes
    /// (64: no version/MIC, 72: version, 88: version + MIC).
    struct AuthMsg {
        flags: u32,
        header_len: usize,
        lm: Vec<u8>,
        nt: Vec<u8>,
        domain: Vec<u8>,
        user: Vec<u8>,
        workstation: Vec<u8>,
        key: Vec<u8>,
        mic: [u8; 16],
    }

    impl AuthMsg {
        fn unicode(domain: &str, user: &str, nt: Vec<u8>) -> AuthMsg {
            AuthMsg {
                flags: NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_NEGOTIATE_VERSION | 0x0008_8200,
                header_len: 88,
                lm: vec![0; 24],
                nt,
                domain: utf16(domain),
                user: utf16(user),
                workstation: utf16("WS01"),
                key: vec![0x5a; 16],
                mic: [0x77; 16],
            }
        }

        fn build(&self) -> Vec<u8> {
            let mut m = Vec::new();
            m.extend_from_slice(SIGNATURE);
            m.extend_from_slice(&3u32.to_le_bytes());
            let parts = [&self.lm, &self.nt, &self.domain, &self.user, &self.workstation, &self.key];
            let mut offset = self.header_len;
            for p in parts {
                m.extend_from_slice(&(p.len() as u16).to_le_bytes());
                m.extend_from_slice(&(p.len() as u16).to_le_bytes());
                m.extend_from_slice(&(offset as u32).to_le_bytes());
                offset += p.len();
            }
            m.extend_from_slice(&self.flags.to_le_bytes());
            if self.header_len >= 72 {
                m.extend_from_slice(&[10, 0, 0x61, 0x4a, 0, 0, 0, 15]);
            }
            if self.header_len >= 88 {
                m.extend_from_slice(&self.mic);
            }
            for p in parts {
                m.extend_from_slice(p);
            }
            m
        }
    }

    /// An NTLMv2 response: NTProofStr, client challenge header, then the given AV pairs.
    fn ntlmv2(av: &[(u16, &[u8])]) -> Vec<u8> {
        let mut r = vec![0xAB; 16];
        r.extend_from_slice(&[1, 1, 0, 0, 0, 0, 0, 0]);
        r.extend_from_slice(&[0x11; 8]); // timestamp
        r.extend_from_slice(&[0x22; 8]); // client challenge
        r.extend_from_slice(&[0; 4]);
        for (id, v) in av {
            r.extend_from_slice(&id.to_le_bytes());
            r.extend_from_slice(&(v.len() as u16).to_le_bytes());
            r.extend_from_slice(v);
        }
        r.extend_from_slice(&[0; 4]);
        r
    }

    fn auth(bytes: &[u8]) -> Authenticate {
        match parse(bytes) {
            Ok(Message::Authenticate(a)) => a,
            other => panic!("not an AUTHENTICATE: {other:?}"),
        }
    }

    #[test]
    fn unicode_authenticate_ntlmv2_with_mic() {
        let nt = ntlmv2(&[(2, &utf16("CORP")), (6, &2u32.to_le_bytes())]);
        let a = auth(&AuthMsg::unicode("REDMOND", "jiangyue", nt).build());
        assert_eq!((a.domain.as_str(), a.user.as_str(), a.workstation.as_str()), ("REDMOND", "jiangyue", "WS01"));
        assert_eq!(a.version, NtlmVersion::V2);
        assert!(a.has_mic);
        assert!(!a.anonymous);
    }

    #[test]
    fn oem_authenticate_ntlmv1_is_latin1() {
        let mut m = AuthMsg::unicode("", "", vec![0x42; 24]);
        m.flags = 0x0000_8202; // OEM, NTLM
        m.header_len = 64;
        m.domain = b"WORKGROUP".to_vec();
        m.user = vec![b'J', b'o', b's', 0xE9];
        m.workstation = b"PC".to_vec();
        let a = auth(&m.build());
        assert_eq!((a.domain.as_str(), a.user.as_str()), ("WORKGROUP", "Jos\u{e9}"));
        assert_eq!(a.version, NtlmVersion::V1);
        assert!(!a.has_mic);
    }

    #[test]
    fn anonymous_by_flag_or_by_empty_user_and_nt_response() {
        let mut m = AuthMsg::unicode("", "", Vec::new());
        m.lm = vec![0];
        let a = auth(&m.build());
        assert!(a.anonymous);
        assert_eq!(a.version, NtlmVersion::Anonymous);

        let mut m = AuthMsg::unicode("D", "u", vec![0x42; 24]);
        m.flags |= NTLMSSP_NEGOTIATE_ANONYMOUS;
        assert!(auth(&m.build()).anonymous);
    }

    #[test]
    fn version_without_mic_when_the_payload_starts_at_72() {
        let mut m = AuthMsg::unicode("D", "u", ntlmv2(&[]));
        m.header_len = 72;
        assert!(!auth(&m.build()).has_mic);
    }

    #[test]
    fn zero_mic_with_av_flags_saying_no_mic_is_no_mic() {
        let mut m = AuthMsg::unicode("D", "u", ntlmv2(&[(6, &0u32.to_le_bytes())]));
        m.mic = [0; 16];
        assert!(!auth(&m.build()).has_mic);
        m.nt = ntlmv2(&[(6, &2u32.to_le_bytes())]);
        assert!(auth(&m.build()).has_mic);
    }

    #[test]
    fn odd_unicode_length_drops_the_last_byte() {
        let mut m = AuthMsg::unicode("DOM", "bob", vec![0x42; 24]);
        m.user.push(b'!');
        assert_eq!(auth(&m.build()).user, "bob");
    }

    #[test]
    fn fields_out_of_bounds() {
        let good = AuthMsg::unicode("D", "user", vec![0x42; 24]).build();
        // UserName offset (at 40) past the end.
        let mut bad = good.clone();
        bad[40..44].copy_from_slice(&(good.len() as u32).to_le_bytes());
        assert_eq!(parse(&bad), Err(Error::FieldOutOfBounds));
        // Session key length running past the end.
        let mut bad = good.clone();
        bad[52..54].copy_from_slice(&0xffffu16.to_le_bytes());
        assert_eq!(parse(&bad), Err(Error::FieldOutOfBounds));
        // Offset near u32::MAX must not wrap.
        let mut bad = good.clone();
        bad[32..36].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(parse(&bad), Err(Error::FieldOutOfBounds));
        // An empty field may point anywhere.
        let mut ok = AuthMsg::unicode("", "user", vec![0x42; 24]).build();
        ok[32..36].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(auth(&ok).user, "user");
    }

    #[test]
    fn malformed_av_pairs_do_not_fail_the_parse() {
        let mut nt = ntlmv2(&[(2, &utf16("CORP"))]);
        nt.truncate(nt.len() - 6); // unterminated, last pair cut short
        nt.extend_from_slice(&[9, 0, 0xff, 0xff]);
        let a = auth(&AuthMsg::unicode("CORP", "alice", nt).build());
        assert_eq!(a.user, "alice");
        assert!(a.has_mic);
    }

    #[test]
    fn short_and_foreign_input() {
        assert_eq!(parse(b"NTLM"), Err(Error::TooShort));
        assert_eq!(parse(b"NTLMSSP\0\x01\0"), Err(Error::TooShort));
        assert_eq!(parse(b"KERBEROS\x01\0\0\0"), Err(Error::BadSignature));
        assert_eq!(parse(b"NTLMSSP\0\x04\0\0\0\0\0\0\0"), Err(Error::UnknownMessageType(4)));
        let good = AuthMsg::unicode("D", "u", vec![0x42; 24]).build();
        for len in 0..good.len() {
            assert!(parse(&good[..len]).is_err(), "len {len}");
        }
    }

    // From zeek's dce_rpc_ntlm.pcapng: the NTLMSSP inside frames 4 (NEGOTIATE) and 6 (AUTHENTICATE).
    const ZEEK_NEGOTIATE: &str = "4e544c4d535350000100000097b218e20b000b003100000009000900280000000a00ba470000000f434254482d57532d31424c41434b434c4f564552";
    const ZEEK_AUTHENTICATE: &str = "4e544c4d5353500003000000180018009a0000007c017c01b200000016001600580000001a001a006e0000001200120088000000100010002e020000158298e20a00ba470000000f8073b2c30cece59739af7b615421827f42004c00410043004b0043004c004f00560045005200410064006d0069006e006900730074007200610074006f00720043004200540048002d00570053002d0031000000000000000000000000000000000000000000000000007b4e84d8226e07dba5badcc26d0450730101000000000000b629073c5721d7013b947faa2086d8fd000000000200160042004c00410043004b0043004c004f005600450052000100120043004200540048002d00570053002d0032000400220062006c00610063006b0063006c006f007600650072002e006c006f00630061006c000300360043004200540048002d00570053002d0032002e0062006c00610063006b0063006c006f007600650072002e006c006f00630061006c000500220062006c00610063006b0063006c006f007600650072002e006c006f00630061006c0007000800b629073c5721d7010600040002000000080030003000000000000000000000000030000055c060247f2e0dab86c1275889b0a78c302507853b0d46a061c36e83d35dff7d0a001000000000000000000000000000000000000900320042004c00410043004b0043004c004f005600450052005c00410064006d0069006e006900730074007200610074006f0072000000000000000000945e96ad5390cfb8ec91ebe8d0e7abe0";
    // From zeek's ntlm-empty-av-sequence.pcap frame 5: a CHALLENGE whose TargetInfo runs past the end.
    const ZEEK_CHALLENGE_BAD_TARGET_INFO: &str =
        "4e544c4d53535000020000000c000c003000000005828920b06a306d9fc9db090000000000000000240024003c00000043004e0041004d0049005300";

    #[test]
    fn real_negotiate_and_authenticate() {
        assert_eq!(parse(&hex(ZEEK_NEGOTIATE)), Ok(Message::Negotiate { flags: 0xe218_b297 }));
        let a = auth(&hex(ZEEK_AUTHENTICATE));
        assert_eq!(
            (a.domain.as_str(), a.user.as_str(), a.workstation.as_str()),
            ("BLACKCLOVER", "Administrator", "CBTH-WS-1")
        );
        assert_eq!(a.version, NtlmVersion::V2);
        assert!(a.has_mic);
        assert!(!a.anonymous);
    }

    #[test]
    fn real_challenge_with_out_of_bounds_target_info_still_parses() {
        let Ok(Message::Challenge { target_name, flags }) = parse(&hex(ZEEK_CHALLENGE_BAD_TARGET_INFO)) else {
            panic!("challenge did not parse");
        };
        assert_eq!(target_name, "CNAMIS");
        assert_eq!(flags & NTLMSSP_NEGOTIATE_UNICODE, NTLMSSP_NEGOTIATE_UNICODE);
    }

    #[test]
    fn challenge_target_name_out_of_bounds_is_an_error() {
        let mut c = hex(ZEEK_CHALLENGE_BAD_TARGET_INFO);
        c[16..20].copy_from_slice(&0x100u32.to_le_bytes());
        assert_eq!(parse(&c), Err(Error::FieldOutOfBounds));
    }

    #[test]
    fn mutated_messages_never_panic() {
        let samples = [
            hex(ZEEK_AUTHENTICATE),
            hex(ZEEK_NEGOTIATE),
            hex(ZEEK_CHALLENGE_BAD_TARGET_INFO),
            AuthMsg::unicode("D", "u", ntlmv2(&[(6, &2u32.to_le_bytes())])).build(),
        ];
        let mut rng = crate::testutil::XorShift(0xDEAD_BEEF_CAFE_F00D);
        let mut next = move || rng.next();
        for _ in 0..20_000 {
            let mut b = samples[(next() % samples.len() as u64) as usize].clone();
            for _ in 0..1 + next() % 4 {
                // Favour the fixed header, where the lengths and offsets live.
                let span = if next() % 2 == 0 { b.len().min(88) } else { b.len() };
                let at = (next() % span.max(1) as u64) as usize;
                match next() % 6 {
                    0 => b.truncate(at),
                    _ => {
                        if let Some(x) = b.get_mut(at) {
                            *x = next() as u8;
                        }
                    }
                }
            }
            let _ = parse(&b);
        }
    }
}
