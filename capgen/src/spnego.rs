//! SPNEGO (RFC 4178) wrapping and a minimal Kerberos AP-REQ / AP-REP in GSS-API framing (DER).

/// DER TLV with a definite length.
pub fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else if n < 0x100 {
        out.extend_from_slice(&[0x81, n as u8]);
    } else {
        assert!(n < 0x1_0000, "DER value too long");
        out.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]);
    }
    out.extend_from_slice(content);
    out
}

/// Concatenation helper for SEQUENCE contents.
pub fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

/// DER INTEGER for small non-negative values.
pub fn der_int(v: u32) -> Vec<u8> {
    let mut b: Vec<u8> = v.to_be_bytes().to_vec();
    while b.len() > 1 && b[0] == 0 && b[1] & 0x80 == 0 {
        b.remove(0);
    }
    if b[0] & 0x80 != 0 {
        b.insert(0, 0);
    }
    der(0x02, &b)
}

/// Context-specific constructed tag [n].
pub fn ctx(n: u8, content: &[u8]) -> Vec<u8> {
    der(0xa0 | n, content)
}

/// OBJECT IDENTIFIER contents (already-encoded arcs below).
pub mod oid {
    /// 1.3.6.1.5.5.2 SPNEGO.
    pub const SPNEGO: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
    /// 1.3.6.1.4.1.311.2.2.10 NTLMSSP.
    pub const NTLMSSP: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a];
    /// 1.2.840.113554.1.2.2 Kerberos 5.
    pub const KRB5: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
    /// 1.2.840.48018.1.2.2 Microsoft's Kerberos 5 OID.
    pub const MS_KRB5: &[u8] = &[0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02];
}

pub fn der_oid(o: &[u8]) -> Vec<u8> {
    der(0x06, o)
}

/// negState values of NegTokenResp.
pub mod neg_state {
    pub const ACCEPT_COMPLETED: u8 = 0;
    pub const ACCEPT_INCOMPLETE: u8 = 1;
    pub const REJECT: u8 = 2;
    pub const REQUEST_MIC: u8 = 3;
}

/// GSS-API InitialContextToken carrying SPNEGO NegTokenInit { mechTypes, mechToken }.
pub fn neg_token_init(mechs: &[&[u8]], mech_token: &[u8]) -> Vec<u8> {
    let mech_list: Vec<u8> = mechs.iter().flat_map(|m| der_oid(m)).collect();
    let init = der(0x30, &cat(&[ctx(0, &der(0x30, &mech_list)), ctx(2, &der(0x04, mech_token))]));
    der(0x60, &cat(&[der_oid(oid::SPNEGO), ctx(0, &init)]))
}

/// NegTokenResp { negState, supportedMech?, responseToken?, mechListMIC? }.
pub fn neg_token_resp(
    state: Option<u8>,
    supported_mech: Option<&[u8]>,
    response_token: Option<&[u8]>,
    mic: Option<&[u8]>,
) -> Vec<u8> {
    let mut fields = Vec::new();
    if let Some(s) = state {
        fields.push(ctx(0, &der(0x0a, &[s])));
    }
    if let Some(m) = supported_mech {
        fields.push(ctx(1, &der_oid(m)));
    }
    if let Some(t) = response_token {
        fields.push(ctx(2, &der(0x04, t)));
    }
    if let Some(m) = mic {
        fields.push(ctx(3, &der(0x04, m)));
    }
    ctx(1, &der(0x30, &cat(&fields)))
}

/// NTLMSSP mechListMIC / NTLMSSP-in-SPNEGO verifier: 16 bytes like an NTLMSSP verifier.
pub fn ntlm_mech_list_mic(seed: &str) -> Vec<u8> {
    crate::ntlmssp::verifier(0, &format!("mechlistmic/{seed}"))
}

fn general_string(s: &str) -> Vec<u8> {
    der(0x1b, s.as_bytes())
}

/// EncryptedData { etype, kvno?, cipher } with pseudo-random cipher bytes.
fn encrypted_data(etype: u32, kvno: Option<u32>, cipher_len: usize, seed: &str) -> Vec<u8> {
    let mut f = vec![ctx(0, &der_int(etype))];
    if let Some(k) = kvno {
        f.push(ctx(1, &der_int(k)));
    }
    f.push(ctx(2, &der(0x04, &crate::pseudo_random(seed, cipher_len))));
    der(0x30, &cat(&f))
}

/// Kerberos AP-REQ for service `sname` (e.g. ["RPCSS", "server.corp.example"]) in `realm`.
pub fn krb5_ap_req(realm: &str, sname: &[&str], seed: &str) -> Vec<u8> {
    let names: Vec<u8> = sname.iter().flat_map(|s| general_string(s)).collect();
    let principal = der(0x30, &cat(&[ctx(0, &der_int(2)), ctx(1, &der(0x30, &names))]));
    let ticket_seq = der(
        0x30,
        &cat(&[
            ctx(0, &der_int(5)),
            ctx(1, &general_string(realm)),
            ctx(2, &principal),
            ctx(3, &encrypted_data(18, Some(3), 96, &format!("ticket/{seed}"))),
        ]),
    );
    let ticket = der(0x61, &ticket_seq);
    // ap-options: mutual-required (bit 2), 32-bit BIT STRING with 0 unused bits.
    let ap_options = der(0x03, &[0x00, 0x20, 0x00, 0x00, 0x00]);
    let ap_req = der(
        0x30,
        &cat(&[
            ctx(0, &der_int(5)),
            ctx(1, &der_int(14)),
            ctx(2, &ap_options),
            ctx(3, &ticket),
            ctx(4, &encrypted_data(18, None, 64, &format!("authenticator/{seed}"))),
        ]),
    );
    der(0x6e, &ap_req)
}

/// Kerberos AP-REP.
pub fn krb5_ap_rep(seed: &str) -> Vec<u8> {
    let ap_rep = der(
        0x30,
        &cat(&[
            ctx(0, &der_int(5)),
            ctx(1, &der_int(15)),
            ctx(2, &encrypted_data(18, None, 48, &format!("aprep/{seed}"))),
        ]),
    );
    der(0x6f, &ap_rep)
}

/// GSS-API framing of a krb5 token: [APPLICATION 0] { krb5 OID, TOK_ID, token }.
pub fn gss_krb5(tok_id: [u8; 2], token: &[u8]) -> Vec<u8> {
    der(0x60, &cat(&[der_oid(oid::KRB5), tok_id.to_vec(), token.to_vec()]))
}

/// GSS-API krb5 AP-REQ token (TOK_ID 0x0100).
pub fn gss_krb5_ap_req(realm: &str, sname: &[&str], seed: &str) -> Vec<u8> {
    gss_krb5([0x01, 0x00], &krb5_ap_req(realm, sname, seed))
}

/// GSS-API krb5 AP-REP token (TOK_ID 0x0200).
pub fn gss_krb5_ap_rep(seed: &str) -> Vec<u8> {
    gss_krb5([0x02, 0x00], &krb5_ap_rep(seed))
}

/// RFC 4121 MIC token (TOK_ID 04 04, 12-byte HMAC-SHA1-96 checksum), as a DCE/RPC verifier.
pub fn krb5_cfx_mic_verifier(seq: u64, from_acceptor: bool, seed: &str) -> Vec<u8> {
    // Flags: AcceptorSubkey, plus SentByAcceptor on the server's tokens; then 5 filler bytes.
    let flags = if from_acceptor { 0x05 } else { 0x04 };
    let mut t = vec![0x04, 0x04, flags, 0xff, 0xff, 0xff, 0xff, 0xff];
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend(crate::pseudo_random(&format!("krbcksum/{seed}/{seq}"), 12));
    t
}
