//! SPNEGO (RFC 4178) just deep enough to find the mechanism token inside.
//!
//! A small DER walker: definite lengths only (short or long form up to 4 octets), every length
//! checked against the bytes that remain, and a bound on how deep it descends.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inner<'a> {
    /// An NTLMSSP message (starts with "NTLMSSP\0").
    Ntlmssp(&'a [u8]),
    /// Kerberos (the mech OID or an AP-REQ/AP-REP token): identity not visible on the wire.
    Kerberos,
    /// A negTokenResp whose supportedMech selects NTLMSSP, without an NTLMSSP token in it.
    NtlmsspSelected,
    /// A valid SPNEGO token with no mechToken/responseToken (e.g. a bare negState), or one whose
    /// token belongs to a mechanism the plugin does not read (e.g. NegoEx).
    Empty,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    Truncated,
    NotSpnego,
    TooDeep,
    BadLength,
}

use crate::proto::ntlmssp::SIGNATURE as NTLMSSP_SIGNATURE;

/// OID contents (without tag and length).
const OID_SPNEGO: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
/// 1.3.6.1.4.1.311.2.2.10: NTLMSSP.
const OID_NTLMSSP: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a];
/// 1.2.840.113554.1.2.2, 1.2.840.48018.1.2.2 (MS KRB5) and 1.2.840.113554.1.2.2.3 (user-to-user).
const OID_KERBEROS: &[&[u8]] = &[
    &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02],
    &[0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02],
    &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x03],
];

const TAG_GSS_API: u8 = 0x60;
const TAG_OID: u8 = 0x06;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_SEQUENCE: u8 = 0x30;
const TAG_NEG_TOKEN_INIT: u8 = 0xa0;
const TAG_NEG_TOKEN_RESP: u8 = 0xa1;
/// [2] in both NegTokenInit (mechToken) and NegTokenResp (responseToken).
const TAG_CTX_2: u8 = 0xa2;
/// [0] mechTypes in NegTokenInit; [1] supportedMech in NegTokenResp.
const TAG_CTX_0: u8 = 0xa0;
const TAG_CTX_1: u8 = 0xa1;
/// Raw Kerberos messages: AP-REQ, AP-REP, KRB-ERROR.
const TAG_KRB_AP_REQ: u8 = 0x6e;
const TAG_KRB_AP_REP: u8 = 0x6f;
const TAG_KRB_ERROR: u8 = 0x7e;

/// The fixed SPNEGO shape never nests deeper than 6; anything deeper is hostile.
const MAX_DEPTH: usize = 8;

/// One DER element: its tag, contents, and what follows it.
struct Tlv<'a> {
    tag: u8,
    value: &'a [u8],
    rest: &'a [u8],
}

fn tlv(input: &[u8]) -> Result<Tlv<'_>, Error> {
    let (&tag, after_tag) = input.split_first().ok_or(Error::Truncated)?;
    if tag & 0x1f == 0x1f {
        // High-tag-number form: nothing in SPNEGO uses it.
        return Err(Error::NotSpnego);
    }
    let (&first, after_len) = after_tag.split_first().ok_or(Error::Truncated)?;
    let (len, body) = match first {
        0..=0x7f => (usize::from(first), after_len),
        // Indefinite length is BER, not DER.
        0x80 => return Err(Error::BadLength),
        0x81..=0x84 => {
            let n = usize::from(first & 0x7f);
            let bytes = after_len.get(..n).ok_or(Error::Truncated)?;
            let len = bytes.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            (len, after_len.get(n..).ok_or(Error::Truncated)?)
        }
        _ => return Err(Error::BadLength),
    };
    if len > body.len() {
        return Err(Error::BadLength);
    }
    let (value, rest) = body.split_at(len);
    Ok(Tlv { tag, value, rest })
}

/// The next element, which must carry `tag`.
fn expect(input: &[u8], tag: u8) -> Result<Tlv<'_>, Error> {
    let t = tlv(input)?;
    if t.tag != tag {
        return Err(Error::NotSpnego);
    }
    Ok(t)
}

/// Guards each step into a constructed element.
fn deeper(depth: usize) -> Result<usize, Error> {
    if depth >= MAX_DEPTH {
        return Err(Error::TooDeep);
    }
    Ok(depth + 1)
}

fn is_kerberos_oid(oid: &[u8]) -> bool {
    OID_KERBEROS.contains(&oid)
}

/// A Kerberos GSS token (0x60 + krb5 OID) or a raw AP-REQ/AP-REP/KRB-ERROR.
fn is_kerberos_token(token: &[u8]) -> bool {
    match token.first() {
        Some(&TAG_KRB_AP_REQ | &TAG_KRB_AP_REP | &TAG_KRB_ERROR) => true,
        Some(&TAG_GSS_API) => {
            tlv(token).and_then(|gss| expect(gss.value, TAG_OID)).is_ok_and(|oid| is_kerberos_oid(oid.value))
        }
        _ => false,
    }
}

/// What a mechToken/responseToken holds, if the plugin can tell.
fn classify(token: &[u8]) -> Option<Inner<'_>> {
    if token.starts_with(NTLMSSP_SIGNATURE) {
        Some(Inner::Ntlmssp(token))
    } else if is_kerberos_token(token) {
        Some(Inner::Kerberos)
    } else {
        None
    }
}

/// Finds the mechanism token in a NegTokenInit (0x60 / 0xa0) or NegTokenResp (0xa1).
pub fn inner_token(input: &[u8]) -> Result<Inner<'_>, Error> {
    if input.starts_with(NTLMSSP_SIGNATURE) {
        // Some stacks put raw NTLMSSP where SPNEGO was negotiated.
        return Ok(Inner::Ntlmssp(input));
    }
    match input.first() {
        None => Err(Error::Truncated),
        Some(&TAG_GSS_API) => gss_token(input, 0),
        Some(&TAG_NEG_TOKEN_INIT | &TAG_NEG_TOKEN_RESP) => negotiation_token(input, 0),
        Some(&TAG_KRB_AP_REQ | &TAG_KRB_AP_REP) => Ok(Inner::Kerberos),
        Some(_) => Err(Error::NotSpnego),
    }
}

/// InitialContextToken: [APPLICATION 0] { thisMech OID, innerContextToken }.
fn gss_token(input: &[u8], depth: usize) -> Result<Inner<'_>, Error> {
    let depth = deeper(depth)?;
    let gss = expect(input, TAG_GSS_API)?;
    let oid = expect(gss.value, TAG_OID)?;
    if oid.value == OID_SPNEGO {
        negotiation_token(oid.rest, depth)
    } else if is_kerberos_oid(oid.value) {
        Ok(Inner::Kerberos)
    } else {
        Err(Error::NotSpnego)
    }
}

/// NegotiationToken ::= CHOICE { negTokenInit [0], negTokenResp [1] }.
fn negotiation_token(input: &[u8], depth: usize) -> Result<Inner<'_>, Error> {
    let depth = deeper(depth)?;
    let choice = tlv(input)?;
    let seq = expect(choice.value, TAG_SEQUENCE)?;
    let depth = deeper(depth)?;
    match choice.tag {
        TAG_NEG_TOKEN_INIT => neg_token_init(seq.value, depth),
        TAG_NEG_TOKEN_RESP => neg_token_resp(seq.value, depth),
        _ => Err(Error::NotSpnego),
    }
}

/// Walks the [n] fields of a SEQUENCE, returning the contents of `want` if present.
fn context_field(mut fields: &[u8], want: u8) -> Result<Option<&[u8]>, Error> {
    // Each element takes at least two bytes, so this ends within fields.len() / 2 rounds.
    while !fields.is_empty() {
        let t = tlv(fields)?;
        if t.tag == want {
            return Ok(Some(t.value));
        }
        fields = t.rest;
    }
    Ok(None)
}

/// The OCTET STRING inside a [2] mechToken/responseToken.
fn token_in(field: Option<&[u8]>, depth: usize) -> Result<Option<&[u8]>, Error> {
    match field {
        None => Ok(None),
        Some(v) => {
            deeper(depth)?;
            Ok(Some(expect(v, TAG_OCTET_STRING)?.value))
        }
    }
}

/// NegTokenInit ::= SEQUENCE { mechTypes [0], reqFlags [1], mechToken [2], mechListMIC [3] }.
fn neg_token_init(fields: &[u8], depth: usize) -> Result<Inner<'_>, Error> {
    if let Some(inner) = token_in(context_field(fields, TAG_CTX_2)?, depth)?.and_then(classify) {
        return Ok(inner);
    }
    // No readable token: the initiator's preferred (first) mechanism decides.
    let first_mech = match context_field(fields, TAG_CTX_0)? {
        Some(mech_types) => {
            deeper(depth)?;
            let list = expect(mech_types, TAG_SEQUENCE)?;
            if list.value.is_empty() {
                None
            } else {
                Some(expect(list.value, TAG_OID)?.value)
            }
        }
        None => None,
    };
    Ok(if first_mech.is_some_and(is_kerberos_oid) { Inner::Kerberos } else { Inner::Empty })
}

/// NegTokenResp ::= SEQUENCE { negState [0], supportedMech [1], responseToken [2], mechListMIC [3] }.
fn neg_token_resp(fields: &[u8], depth: usize) -> Result<Inner<'_>, Error> {
    if let Some(inner) = token_in(context_field(fields, TAG_CTX_2)?, depth)?.and_then(classify) {
        return Ok(inner);
    }
    let supported = match context_field(fields, TAG_CTX_1)? {
        Some(v) => Some(expect(v, TAG_OID)?.value),
        None => None,
    };
    Ok(match supported {
        Some(oid) if is_kerberos_oid(oid) => Inner::Kerberos,
        Some(oid) if oid == OID_NTLMSSP => Inner::NtlmsspSelected,
        _ => Inner::Empty,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use capgen::hex;

    use capgen::spnego::der;

    fn oid(contents: &[u8]) -> Vec<u8> {
        der(TAG_OID, contents)
    }

    const NTLM_NEGOTIATE: &[u8] = b"NTLMSSP\0\x01\0\0\0\x07\x82\x08\xa2";

    fn init(mechs: &[&[u8]], token: Option<&[u8]>) -> Vec<u8> {
        let list: Vec<u8> = mechs.iter().flat_map(|m| oid(m)).collect();
        let mut fields = der(TAG_CTX_0, &der(TAG_SEQUENCE, &list));
        if let Some(t) = token {
            fields.extend(der(TAG_CTX_2, &der(TAG_OCTET_STRING, t)));
        }
        der(TAG_NEG_TOKEN_INIT, &der(TAG_SEQUENCE, &fields))
    }

    fn wrapped(inner: &[u8]) -> Vec<u8> {
        let mut v = oid(OID_SPNEGO);
        v.extend_from_slice(inner);
        der(TAG_GSS_API, &v)
    }

    fn resp(state: Option<u8>, mech: Option<&[u8]>, token: Option<&[u8]>) -> Vec<u8> {
        let mut fields = Vec::new();
        if let Some(s) = state {
            fields.extend(der(TAG_CTX_0, &der(0x0a, &[s])));
        }
        if let Some(m) = mech {
            fields.extend(der(TAG_CTX_1, &oid(m)));
        }
        if let Some(t) = token {
            fields.extend(der(TAG_CTX_2, &der(TAG_OCTET_STRING, t)));
        }
        der(TAG_NEG_TOKEN_RESP, &der(TAG_SEQUENCE, &fields))
    }

    #[test]
    fn ntlmssp_in_a_gss_wrapped_neg_token_init() {
        let token = wrapped(&init(&[OID_NTLMSSP], Some(NTLM_NEGOTIATE)));
        assert_eq!(inner_token(&token), Ok(Inner::Ntlmssp(NTLM_NEGOTIATE)));
        let bare = init(&[OID_NTLMSSP], Some(NTLM_NEGOTIATE));
        assert_eq!(inner_token(&bare), Ok(Inner::Ntlmssp(NTLM_NEGOTIATE)));
    }

    #[test]
    fn ntlmssp_in_a_neg_token_resp() {
        let token = resp(Some(1), Some(OID_NTLMSSP), Some(NTLM_NEGOTIATE));
        assert_eq!(inner_token(&token), Ok(Inner::Ntlmssp(NTLM_NEGOTIATE)));
        let long = vec![0x41; 300];
        let mut big = NTLM_NEGOTIATE.to_vec();
        big.extend_from_slice(&long);
        assert_eq!(inner_token(&resp(None, None, Some(&big))), Ok(Inner::Ntlmssp(&big[..])));
    }

    #[test]
    fn raw_ntlmssp_is_accepted() {
        assert_eq!(inner_token(NTLM_NEGOTIATE), Ok(Inner::Ntlmssp(NTLM_NEGOTIATE)));
    }

    #[test]
    fn kerberos_is_recognised_by_mech_or_token() {
        let krb5 = OID_KERBEROS[0];
        let ms_krb5 = OID_KERBEROS[1];
        let mut ap_req_gss = oid(krb5);
        ap_req_gss.extend_from_slice(&[0x01, 0x00, 0x6e, 0x00]);
        let ap_req_gss = der(TAG_GSS_API, &ap_req_gss);
        assert_eq!(inner_token(&wrapped(&init(&[ms_krb5, krb5], Some(&ap_req_gss)))), Ok(Inner::Kerberos));
        assert_eq!(inner_token(&init(&[ms_krb5, OID_NTLMSSP], None)), Ok(Inner::Kerberos));
        assert_eq!(inner_token(&resp(Some(0), Some(krb5), Some(&[0x6f, 0x00]))), Ok(Inner::Kerberos));
        assert_eq!(inner_token(&resp(Some(0), Some(ms_krb5), None)), Ok(Inner::Kerberos));
        assert_eq!(inner_token(&ap_req_gss), Ok(Inner::Kerberos));
        assert_eq!(inner_token(&[0x6e, 0x00]), Ok(Inner::Kerberos));
    }

    #[test]
    fn no_token_is_empty_unless_the_answer_selects_ntlmssp() {
        assert_eq!(inner_token(&resp(Some(0), None, None)), Ok(Inner::Empty));
        assert_eq!(inner_token(&resp(Some(3), Some(OID_NTLMSSP), None)), Ok(Inner::NtlmsspSelected));
        assert_eq!(inner_token(&init(&[OID_NTLMSSP], None)), Ok(Inner::Empty));
        assert_eq!(inner_token(&init(&[], None)), Ok(Inner::Empty));
    }

    #[test]
    fn not_spnego() {
        assert_eq!(inner_token(&[]), Err(Error::Truncated));
        assert_eq!(inner_token(b"hello"), Err(Error::NotSpnego));
        assert_eq!(inner_token(&der(TAG_GSS_API, &oid(&[0x2b, 0x06, 0x01]))), Err(Error::NotSpnego));
        assert_eq!(inner_token(&der(TAG_NEG_TOKEN_INIT, &der(0x31, &[]))), Err(Error::NotSpnego));
    }

    #[test]
    fn lengths_that_lie_are_rejected() {
        let good = resp(Some(1), Some(OID_NTLMSSP), Some(NTLM_NEGOTIATE));
        // Outer length one past the end.
        let mut lie = good.clone();
        lie[1] += 1;
        assert_eq!(inner_token(&lie), Err(Error::BadLength));
        // Indefinite length.
        assert_eq!(inner_token(&[0xa1, 0x80, 0x30, 0x00, 0x00, 0x00]), Err(Error::BadLength));
        // Long form claiming 4 GiB.
        assert_eq!(inner_token(&[0xa1, 0x84, 0xff, 0xff, 0xff, 0xff, 0x30]), Err(Error::BadLength));
        // Long form with more than 4 length octets.
        assert_eq!(inner_token(&[0xa1, 0x85, 0, 0, 0, 0, 1, 0]), Err(Error::BadLength));
        // Long form cut inside the length octets.
        assert_eq!(inner_token(&[0xa1, 0x82, 0x01]), Err(Error::Truncated));
        for len in 0..good.len() {
            assert!(inner_token(&good[..len]).is_err(), "len {len}");
        }
    }

    #[test]
    fn a_nesting_bomb_is_refused_without_recursing() {
        // 0x60 { SPNEGO OID, 0x60 { SPNEGO OID, ... } } many levels down.
        let mut t = resp(Some(0), None, None);
        for _ in 0..2000 {
            t = wrapped(&t);
        }
        assert!(inner_token(&t).is_err());
        let mut nested = der(TAG_OCTET_STRING, NTLM_NEGOTIATE);
        for _ in 0..100 {
            nested = der(TAG_NEG_TOKEN_INIT, &der(TAG_SEQUENCE, &der(TAG_CTX_2, &nested)));
        }
        assert!(inner_token(&nested).is_err());
    }

    #[test]
    fn depth_limit_reports_too_deep() {
        assert_eq!(deeper(MAX_DEPTH), Err(Error::TooDeep));
        assert_eq!(deeper(0), Ok(1));
    }

    // Auth tokens of zeek's dce_rpc_ntlm.pcapng: frame 1 (Kerberos u2u NegTokenInit), frame 3
    // (NegTokenResp, request-mic, NTLMSSP supportedMech, no token), frame 4 (NegTokenResp + NEGOTIATE).
    const ZEEK_KRB_INIT: &str = "60818906062b0601050502a07f307da030302e06092a864882f71201020206092a864886f712010202060a2b06010401823702021e060a2b06010401823702020aa24904476045060a2a864886f7120102020304003035a003020105a103020110a21a3018a003020180a111300f1b0d41646d696e6973747261746f72a30d1b0b424c41434b434c4f564552";
    const ZEEK_RESP_NO_TOKEN: &str = "a1153013a0030a0103a10c060a2b06010401823702020a";
    const ZEEK_RESP_NEGOTIATE: &str = "a1473045a0030a0101a23e043c4e544c4d535350000100000097b218e20b000b003100000009000900280000000a00ba470000000f434254482d57532d31424c41434b434c4f564552";

    #[test]
    fn real_tokens() {
        assert_eq!(inner_token(&hex(ZEEK_KRB_INIT)), Ok(Inner::Kerberos));
        assert_eq!(inner_token(&hex(ZEEK_RESP_NO_TOKEN)), Ok(Inner::NtlmsspSelected));
        let t = hex(ZEEK_RESP_NEGOTIATE);
        match inner_token(&t) {
            Ok(Inner::Ntlmssp(m)) => assert_eq!(m.len(), 60),
            other => panic!("expected NTLMSSP, got {other:?}"),
        }
    }

    #[test]
    fn mutated_tokens_never_panic() {
        let samples = [
            hex(ZEEK_KRB_INIT),
            hex(ZEEK_RESP_NO_TOKEN),
            hex(ZEEK_RESP_NEGOTIATE),
            wrapped(&init(&[OID_NTLMSSP], Some(NTLM_NEGOTIATE))),
        ];
        let mut rng = crate::testutil::XorShift(0x0123_4567_89AB_CDEF);
        let mut next = move || rng.next();
        for _ in 0..20_000 {
            let mut b = samples[(next() % samples.len() as u64) as usize].clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() % b.len().max(1) as u64) as usize;
                match next() % 5 {
                    0 => b.truncate(at),
                    1 => {
                        if let Some(x) = b.get_mut(at) {
                            *x = [0x30, 0x60, 0xa0, 0xa1, 0xa2, 0x04, 0x06, 0x80, 0x84][(next() % 9) as usize];
                        }
                    }
                    _ => {
                        if let Some(x) = b.get_mut(at) {
                            *x = next() as u8;
                        }
                    }
                }
            }
            if let Ok(Inner::Ntlmssp(m)) = inner_token(&b) {
                assert!(m.starts_with(NTLMSSP_SIGNATURE));
            }
        }
    }
}
