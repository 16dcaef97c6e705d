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
fn the_message_type_is_read_without_parsing_the_rest() {
    assert_eq!(message_type(&hex(ZEEK_CHALLENGE_BAD_TARGET_INFO)), Some(CHALLENGE));
    assert_eq!(message_type(&hex(ZEEK_NEGOTIATE)), Some(1));
    assert_eq!(message_type(&hex(ZEEK_AUTHENTICATE)), Some(3));
    assert_eq!(message_type(b"NTLMSSP\0\x02\0\0"), None, "a type cut short");
    assert_eq!(message_type(b"NTLMSSQ\0\x02\0\0\0"), None, "another signature");
}

#[test]
fn unpaired_surrogates_decode_as_replacement_characters() {
    let mut m = AuthMsg::unicode("D", "u", ntlmv2(&[]));
    m.user = vec![b'a', 0, 0x00, 0xd8, b'b', 0];
    assert_eq!(auth(&m.build()).user, "a\u{fffd}b");
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
