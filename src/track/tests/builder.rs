//! Builds DCE/RPC, NTLMSSP and SPNEGO bytes the way Windows puts them on the wire.
use crate::proto::dcerpc::{ByteOrder, SyntaxId};
use crate::uuid::Uuid;

pub const PFC_FIRST_FRAG: u8 = 0x01;
pub const PFC_LAST_FRAG: u8 = 0x02;
pub const PFC_CONC_MPX: u8 = 0x10;
pub const PFC_OBJECT_UUID: u8 = 0x80;
pub const WHOLE: u8 = PFC_FIRST_FRAG | PFC_LAST_FRAG;

pub fn uuid(s: &str) -> Uuid {
    Uuid::parse(s).expect("test UUID")
}

pub fn syntax(s: &str, major: u16, minor: u16) -> SyntaxId {
    SyntaxId { uuid: uuid(s), version: major, version_minor: minor }
}

pub const NDR: &str = "8a885d04-1ceb-11c9-9fe8-08002b104860";
pub const NDR64: &str = "71710533-beba-4937-8319-b5dbef9ccc36";
pub const ISYSTEMACTIVATOR: &str = "000001a0-0000-0000-c000-000000000046";
pub const IREMUNKNOWN2: &str = "00000143-0000-0000-c000-000000000046";
pub const IENUMWBEMCLASSOBJECT: &str = "027947e1-d731-11ce-a357-000000000001";
pub const IMANAGEDOBJECT: &str = "c3fcc19e-a970-11d2-8b5a-00a0c9b7c9c4";
pub const IPROVIDECLASSINFO: &str = "b196b283-bab4-101a-b69c-00aa00341d07";

pub fn ndr() -> SyntaxId {
    syntax(NDR, 2, 0)
}

pub fn ndr64() -> SyntaxId {
    syntax(NDR64, 1, 0)
}

/// The bind time feature item's transfer syntax offering `bits` (MS-RPCE 3.3.1.5.3).
pub fn bind_time_features(bits: u8) -> SyntaxId {
    let mut u = uuid("6cb71c2c-9812-4540-0000-000000000000");
    u.0[8] = bits;
    SyntaxId { uuid: u, version: 1, version_minor: 0 }
}

/// Writes integers in one byte order.
pub struct W {
    pub order: ByteOrder,
    pub buf: Vec<u8>,
}

impl W {
    pub fn new(order: ByteOrder) -> W {
        W { order, buf: Vec::new() }
    }
    pub fn u8(&mut self, v: u8) -> &mut W {
        self.buf.push(v);
        self
    }
    pub fn u16(&mut self, v: u16) -> &mut W {
        match self.order {
            ByteOrder::Big => self.buf.extend_from_slice(&v.to_be_bytes()),
            ByteOrder::Little => self.buf.extend_from_slice(&v.to_le_bytes()),
        }
        self
    }
    pub fn u32(&mut self, v: u32) -> &mut W {
        match self.order {
            ByteOrder::Big => self.buf.extend_from_slice(&v.to_be_bytes()),
            ByteOrder::Little => self.buf.extend_from_slice(&v.to_le_bytes()),
        }
        self
    }
    pub fn bytes(&mut self, b: &[u8]) -> &mut W {
        self.buf.extend_from_slice(b);
        self
    }
    pub fn uuid(&mut self, id: &Uuid) -> &mut W {
        let b = id.0;
        self.u32(u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        self.u16(u16::from_be_bytes([b[4], b[5]]));
        self.u16(u16::from_be_bytes([b[6], b[7]]));
        self.bytes(&b[8..])
    }
    pub fn syntax(&mut self, s: &SyntaxId) -> &mut W {
        self.uuid(&s.uuid).u32(u32::from(s.version) | (u32::from(s.version_minor) << 16))
    }
}

/// A sec_trailer and its token.
#[derive(Clone)]
pub struct Auth {
    pub auth_type: u8,
    pub level: u8,
    pub ctx_id: u32,
    pub token: Vec<u8>,
}

pub fn ntlm(ctx_id: u32, token: Vec<u8>) -> Auth {
    Auth { auth_type: 10, level: 5, ctx_id, token }
}

pub fn spnego(ctx_id: u32, token: Vec<u8>) -> Auth {
    Auth { auth_type: 9, level: 5, ctx_id, token }
}

/// A request/response verifier (NTLMSSP signature): carries no identity.
pub fn verifier(auth_type: u8, ctx_id: u32) -> Auth {
    let mut token = vec![1, 0, 0, 0];
    token.extend_from_slice(&[0x5a; 12]);
    Auth { auth_type, level: 5, ctx_id, token }
}

/// Header, body, auth padding to a 4-byte boundary, sec_trailer, token.
pub fn pdu(order: ByteOrder, ptype: u8, flags: u8, call_id: u32, body: &[u8], auth: Option<&Auth>) -> Vec<u8> {
    let mut tail = W::new(order);
    let mut auth_len = 0u16;
    if let Some(a) = auth {
        let pad = (4 - (16 + body.len()) % 4) % 4;
        tail.bytes(&vec![0; pad]);
        tail.u8(a.auth_type).u8(a.level).u8(pad as u8).u8(0).u32(a.ctx_id).bytes(&a.token);
        auth_len = a.token.len() as u16;
    }
    let frag = (16 + body.len() + tail.buf.len()) as u16;
    let drep0 = if order == ByteOrder::Little { 0x10 } else { 0x00 };
    let mut w = W::new(order);
    w.u8(5).u8(0).u8(ptype).u8(flags).bytes(&[drep0, 0, 0, 0]);
    w.u16(frag).u16(auth_len).u32(call_id).bytes(body).bytes(&tail.buf);
    w.buf
}

/// One p_cont_elem_t.
pub struct Item {
    pub ctx_id: u16,
    pub abstract_syntax: SyntaxId,
    pub transfer: Vec<SyntaxId>,
}

pub fn item(ctx_id: u16, iface: &str, transfer: SyntaxId) -> Item {
    Item { ctx_id, abstract_syntax: syntax(iface, 0, 0), transfer: vec![transfer] }
}

fn bind_body(order: ByteOrder, items: &[Item]) -> Vec<u8> {
    let mut w = W::new(order);
    w.u16(5840).u16(5840).u32(0).u8(items.len() as u8).bytes(&[0, 0, 0]);
    for i in items {
        w.u16(i.ctx_id).u8(i.transfer.len() as u8).u8(0).syntax(&i.abstract_syntax);
        for t in &i.transfer {
            w.syntax(t);
        }
    }
    w.buf
}

pub fn bind(order: ByteOrder, flags: u8, call_id: u32, items: &[Item], auth: Option<&Auth>) -> Vec<u8> {
    pdu(order, 11, flags, call_id, &bind_body(order, items), auth)
}

pub fn alter(order: ByteOrder, call_id: u32, items: &[Item], auth: Option<&Auth>) -> Vec<u8> {
    pdu(order, 14, WHOLE, call_id, &bind_body(order, items), auth)
}

fn ack_body(order: ByteOrder, results: &[(u16, u16, SyntaxId)], sec_addr: &str) -> Vec<u8> {
    let mut w = W::new(order);
    w.u16(5840).u16(5840).u32(0x1234);
    let addr: Vec<u8> = if sec_addr.is_empty() { Vec::new() } else { format!("{sec_addr}\0").into_bytes() };
    w.u16(addr.len() as u16).bytes(&addr);
    let end = 16 + w.buf.len();
    w.bytes(&vec![0; (4 - end % 4) % 4]);
    w.u8(results.len() as u8).bytes(&[0, 0, 0]);
    for (result, reason, t) in results {
        w.u16(*result).u16(*reason).syntax(t);
    }
    w.buf
}

pub fn bind_ack(
    order: ByteOrder,
    flags: u8,
    call_id: u32,
    results: &[(u16, u16, SyntaxId)],
    auth: Option<&Auth>,
) -> Vec<u8> {
    pdu(order, 12, flags, call_id, &ack_body(order, results, "49157"), auth)
}

pub fn alter_resp(order: ByteOrder, call_id: u32, results: &[(u16, u16, SyntaxId)], auth: Option<&Auth>) -> Vec<u8> {
    pdu(order, 15, WHOLE, call_id, &ack_body(order, results, ""), auth)
}

pub fn accept() -> (u16, u16, SyntaxId) {
    (0, 0, ndr())
}

pub fn provider_reject() -> (u16, u16, SyntaxId) {
    (2, 2, SyntaxId { uuid: Uuid::NIL, version: 0, version_minor: 0 })
}

pub fn bind_nak(order: ByteOrder, call_id: u32, reason: u16) -> Vec<u8> {
    let mut w = W::new(order);
    w.u16(reason).u8(1).u8(5).u8(0).u8(0);
    pdu(order, 13, WHOLE, call_id, &w.buf, None)
}

pub fn auth3(order: ByteOrder, call_id: u32, auth: &Auth) -> Vec<u8> {
    pdu(order, 16, WHOLE, call_id, &[0; 4], Some(auth))
}

#[allow(clippy::too_many_arguments)]
pub fn request(
    order: ByteOrder,
    flags: u8,
    call_id: u32,
    ctx_id: u16,
    opnum: u16,
    object: Option<Uuid>,
    stub: &[u8],
    auth: Option<&Auth>,
) -> Vec<u8> {
    let mut w = W::new(order);
    w.u32(stub.len() as u32).u16(ctx_id).u16(opnum);
    let flags = if let Some(o) = object {
        w.uuid(&o);
        flags | PFC_OBJECT_UUID
    } else {
        flags
    };
    w.bytes(stub);
    pdu(order, 0, flags, call_id, &w.buf, auth)
}

pub fn response(order: ByteOrder, call_id: u32, ctx_id: u16, stub: &[u8], auth: Option<&Auth>) -> Vec<u8> {
    let mut w = W::new(order);
    w.u32(stub.len() as u32).u16(ctx_id).u8(0).u8(0).bytes(stub);
    pdu(order, 2, WHOLE, call_id, &w.buf, auth)
}

pub fn fault(order: ByteOrder, call_id: u32, ctx_id: u16, status: u32) -> Vec<u8> {
    let mut w = W::new(order);
    w.u32(0).u16(ctx_id).u8(0).u8(0).u32(status).u32(0);
    pdu(order, 3, WHOLE | 0x20, call_id, &w.buf, None)
}

/// RemQueryInterface [in] stub: ORPCTHIS, IPID, cRefs, cIids, conformant IID array (MS-DCOM 3.1.1.5.6.1.1).
pub fn rem_qi_stub(order: ByteOrder, iids: &[&str]) -> Vec<u8> {
    let mut w = W::new(order);
    // ORPCTHIS: COMVERSION 5.7, flags, reserved1, cid, NULL extensions.
    w.u16(5).u16(7).u32(0).u32(0).uuid(&uuid("11111111-2222-3333-4444-555555555555")).u32(0);
    w.uuid(&uuid("00007c04-0b4c-0000-1234-56789abcdef0"));
    w.u32(5).u16(iids.len() as u16).u16(0);
    w.u32(iids.len() as u32);
    for i in iids {
        w.uuid(&uuid(i));
    }
    w.buf
}

// ---- NTLMSSP (MS-NLMP 2.2.1) ----

const NTLM_FLAGS: u32 = 0xe288_8215;
const NTLMSSP_NEGOTIATE_ANONYMOUS: u32 = 0x0000_0800;

fn le16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_le_bytes());
}

fn le32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_le_bytes());
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

pub fn ntlm_negotiate() -> Vec<u8> {
    let mut v = b"NTLMSSP\0".to_vec();
    le32(&mut v, 1);
    le32(&mut v, 0xe208_8297);
    v.extend_from_slice(&[0; 16]);
    v.extend_from_slice(&[6, 1, 0xb1, 0x1d, 0, 0, 0, 0x0f]);
    v
}

pub fn ntlm_challenge() -> Vec<u8> {
    let target = utf16("WINPE");
    let mut v = b"NTLMSSP\0".to_vec();
    le32(&mut v, 2);
    le16(&mut v, target.len() as u16);
    le16(&mut v, target.len() as u16);
    le32(&mut v, 56);
    le32(&mut v, NTLM_FLAGS);
    v.extend_from_slice(&[0x11; 8]);
    v.extend_from_slice(&[0; 8]);
    le16(&mut v, 0);
    le16(&mut v, 0);
    le32(&mut v, 56 + target.len() as u32);
    v.extend_from_slice(&[6, 1, 0xb1, 0x1d, 0, 0, 0, 0x0f]);
    v.extend_from_slice(&target);
    v
}

fn authenticate(domain: &str, user: &str, lm: &[u8], nt: &[u8], flags: u32) -> Vec<u8> {
    let fields = [lm.to_vec(), nt.to_vec(), utf16(domain), utf16(user), utf16("CLIENT"), vec![0x22; 16]];
    let mut v = b"NTLMSSP\0".to_vec();
    le32(&mut v, 3);
    let mut offset = 88u32;
    for f in &fields {
        le16(&mut v, f.len() as u16);
        le16(&mut v, f.len() as u16);
        le32(&mut v, offset);
        offset += f.len() as u32;
    }
    le32(&mut v, flags);
    v.extend_from_slice(&[6, 1, 0xb1, 0x1d, 0, 0, 0, 0x0f]);
    v.extend_from_slice(&[0x33; 16]);
    for f in &fields {
        v.extend_from_slice(f);
    }
    v
}

pub fn ntlm_authenticate(domain: &str, user: &str) -> Vec<u8> {
    authenticate(domain, user, &[0; 24], &[0x44; 64], NTLM_FLAGS)
}

pub fn ntlm_anonymous() -> Vec<u8> {
    authenticate("", "", &[0], &[], NTLM_FLAGS | NTLMSSP_NEGOTIATE_ANONYMOUS)
}

// ---- SPNEGO (RFC 4178) ----

use crate::testutil::der;

const OID_SPNEGO: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
const OID_NTLM: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a];
const OID_KRB5: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];

fn neg_token_init(mech: &[u8], token: &[u8]) -> Vec<u8> {
    let mech_types = der(0xa0, &der(0x30, &der(0x06, mech)));
    let mech_token = der(0xa2, &der(0x04, token));
    let init = der(0xa0, &der(0x30, &[mech_types, mech_token].concat()));
    der(0x60, &[der(0x06, OID_SPNEGO), init].concat())
}

/// NegTokenInit carrying an NTLMSSP NEGOTIATE.
pub fn spnego_init(ntlm_token: &[u8]) -> Vec<u8> {
    neg_token_init(OID_NTLM, ntlm_token)
}

/// NegTokenResp carrying `token` (the server's CHALLENGE, or the client's AUTHENTICATE).
pub fn spnego_resp(token: &[u8], server: bool) -> Vec<u8> {
    let mut seq = Vec::new();
    if server {
        seq.extend(der(0xa0, &der(0x0a, &[1])));
        seq.extend(der(0xa1, &der(0x06, OID_NTLM)));
    }
    seq.extend(der(0xa2, &der(0x04, token)));
    der(0xa1, &der(0x30, &seq))
}

/// NegTokenInit with a Kerberos AP-REQ mechToken.
pub fn spnego_kerberos() -> Vec<u8> {
    let ap_req =
        der(0x60, &[der(0x06, OID_KRB5), vec![0x01, 0x00], der(0x6e, &der(0x30, &[0x02, 0x01, 0x05]))].concat());
    neg_token_init(OID_KRB5, &ap_req)
}
