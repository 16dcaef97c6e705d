//! The unit tests' vocabulary for PDUs, written by the one capture generator (`capgen`): each
//! function names a PDU the way the tests read, and capgen puts it on the wire as Windows does.
use capgen::ntlmssp::{self as ntlm_msg, Credentials, Server};
use capgen::rpc::{self, ContextItem, ContextResult, Drep, Guid, Pdu};
use capgen::spnego::{self as sp, oid};

use crate::proto::dcerpc::{ByteOrder, SyntaxId};
use crate::uuid::Uuid;

pub const PFC_FIRST_FRAG: u8 = rpc::pfc::FIRST_FRAG;
pub const PFC_LAST_FRAG: u8 = rpc::pfc::LAST_FRAG;
pub const PFC_CONC_MPX: u8 = rpc::pfc::CONC_MPX;
pub const WHOLE: u8 = rpc::pfc::WHOLE;

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

fn drep(order: ByteOrder) -> Drep {
    match order {
        ByteOrder::Little => Drep::Little,
        ByteOrder::Big => Drep::Big,
    }
}

fn guid(u: &Uuid) -> Guid {
    let b = u.0;
    Guid {
        d1: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        d2: u16::from_be_bytes([b[4], b[5]]),
        d3: u16::from_be_bytes([b[6], b[7]]),
        d4: [b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]],
    }
}

fn transfer(s: &SyntaxId) -> (Guid, u32) {
    (guid(&s.uuid), u32::from(s.version) | (u32::from(s.version_minor) << 16))
}

/// A sec_trailer and its token.
#[derive(Clone)]
pub struct Auth {
    pub auth_type: u8,
    pub level: u8,
    pub ctx_id: u32,
    pub token: Vec<u8>,
}

impl Auth {
    fn trailer(&self) -> rpc::Auth {
        rpc::Auth::new(self.auth_type, self.level, self.ctx_id, self.token.clone())
    }
}

pub fn ntlm(ctx_id: u32, token: Vec<u8>) -> Auth {
    Auth { auth_type: rpc::auth_type::NTLMSSP, level: rpc::auth_level::INTEGRITY, ctx_id, token }
}

pub fn spnego(ctx_id: u32, token: Vec<u8>) -> Auth {
    Auth { auth_type: rpc::auth_type::SPNEGO, level: rpc::auth_level::INTEGRITY, ctx_id, token }
}

/// A request/response verifier (NTLMSSP signature): carries no identity.
pub fn verifier(auth_type: u8, ctx_id: u32) -> Auth {
    Auth { auth_type, level: rpc::auth_level::INTEGRITY, ctx_id, token: ntlm_msg::verifier(1, "unit") }
}

fn finish(pdu: Pdu, flags: u8, auth: Option<&Auth>) -> Vec<u8> {
    let pdu = pdu.with_flags(flags);
    match auth {
        Some(a) => pdu.with_auth(a.trailer()).bytes(),
        None => pdu.bytes(),
    }
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

fn items(list: &[Item]) -> Vec<ContextItem> {
    list.iter()
        .map(|i| ContextItem {
            id: i.ctx_id,
            abstract_syntax: guid(&i.abstract_syntax.uuid),
            version: i.abstract_syntax.version,
            version_minor: i.abstract_syntax.version_minor,
            transfer: i.transfer.iter().map(transfer).collect(),
        })
        .collect()
}

fn results(list: &[(u16, u16, SyntaxId)]) -> Vec<ContextResult> {
    list.iter()
        .map(|(result, reason, t)| ContextResult { result: *result, reason: *reason, transfer: transfer(t) })
        .collect()
}

pub fn bind(order: ByteOrder, flags: u8, call_id: u32, list: &[Item], auth: Option<&Auth>) -> Vec<u8> {
    finish(Pdu::bind(drep(order), call_id, 0, &items(list)), flags, auth)
}

pub fn alter(order: ByteOrder, call_id: u32, list: &[Item], auth: Option<&Auth>) -> Vec<u8> {
    finish(Pdu::alter_context(drep(order), call_id, 0, &items(list)), WHOLE, auth)
}

pub fn bind_ack(
    order: ByteOrder,
    flags: u8,
    call_id: u32,
    list: &[(u16, u16, SyntaxId)],
    auth: Option<&Auth>,
) -> Vec<u8> {
    finish(Pdu::bind_ack(drep(order), call_id, 0x1234, "49157", &results(list)), flags, auth)
}

pub fn alter_resp(order: ByteOrder, call_id: u32, list: &[(u16, u16, SyntaxId)], auth: Option<&Auth>) -> Vec<u8> {
    finish(Pdu::alter_context_resp(drep(order), call_id, 0x1234, &results(list)), WHOLE, auth)
}

pub fn accept() -> (u16, u16, SyntaxId) {
    (rpc::result::ACCEPTANCE, 0, ndr())
}

pub fn provider_reject() -> (u16, u16, SyntaxId) {
    let nil = SyntaxId { uuid: Uuid::NIL, version: 0, version_minor: 0 };
    (rpc::result::PROVIDER_REJECTION, rpc::result::PROPOSED_TRANSFER_SYNTAXES_NOT_SUPPORTED, nil)
}

pub fn bind_nak(order: ByteOrder, call_id: u32, reason: u16) -> Vec<u8> {
    finish(Pdu::bind_nak(drep(order), call_id, reason), WHOLE, None)
}

pub fn auth3(order: ByteOrder, call_id: u32, auth: &Auth) -> Vec<u8> {
    finish(Pdu::auth3(drep(order), call_id), WHOLE, Some(auth))
}

/// A request for `(call_id, ctx_id, opnum)`.
pub fn request(
    order: ByteOrder,
    flags: u8,
    (call_id, ctx_id, opnum): (u32, u16, u16),
    object: Option<Uuid>,
    stub: &[u8],
    auth: Option<&Auth>,
) -> Vec<u8> {
    let mut pdu = Pdu::request(drep(order), call_id, ctx_id, opnum, stub.to_vec());
    if let Some(o) = object {
        pdu = pdu.with_object(guid(&o));
    }
    let flags = pdu.flags & !WHOLE | flags;
    finish(pdu, flags, auth)
}

pub fn response(order: ByteOrder, call_id: u32, ctx_id: u16, stub: &[u8], auth: Option<&Auth>) -> Vec<u8> {
    finish(Pdu::response(drep(order), call_id, ctx_id, stub.to_vec()), WHOLE, auth)
}

pub fn fault(order: ByteOrder, call_id: u32, ctx_id: u16, status: u32) -> Vec<u8> {
    finish(Pdu::fault(drep(order), call_id, ctx_id, status), WHOLE | rpc::pfc::DID_NOT_EXECUTE, None)
}

/// RemQueryInterface [in] stub: ORPCTHIS, IPID, cRefs, cIids, conformant IID array (MS-DCOM 3.1.1.5.6.1.1).
pub fn rem_qi_stub(order: ByteOrder, iids: &[&str]) -> Vec<u8> {
    let iids: Vec<Guid> = iids.iter().map(|i| guid(&uuid(i))).collect();
    let cid = Guid::parse("11111111-2222-3333-4444-555555555555");
    let ipid = Guid::parse("00007c04-0b4c-0000-1234-56789abcdef0");
    capgen::dcom::rem_query_interface_req(drep(order), &cid, &ipid, 5, &iids)
}

// ---- NTLMSSP (MS-NLMP 2.2.1) and SPNEGO (RFC 4178) ----

fn server() -> Server {
    Server::standalone("WINPE")
}

pub fn ntlm_negotiate() -> Vec<u8> {
    ntlm_msg::negotiate(ntlm_msg::NEGOTIATE_FLAGS)
}

pub fn ntlm_challenge() -> Vec<u8> {
    ntlm_msg::challenge(&server(), "unit")
}

pub fn ntlm_authenticate(domain: &str, user: &str) -> Vec<u8> {
    ntlm_msg::authenticate(&Credentials::new(domain, user), &server(), "unit")
}

pub fn ntlm_anonymous() -> Vec<u8> {
    ntlm_msg::authenticate(&Credentials::anonymous(), &server(), "unit")
}

/// NegTokenInit carrying an NTLMSSP NEGOTIATE.
pub fn spnego_init(ntlm_token: &[u8]) -> Vec<u8> {
    sp::neg_token_init(&[oid::NTLMSSP], ntlm_token)
}

/// NegTokenResp carrying `token` (the server's CHALLENGE, selecting NTLMSSP, or the client's AUTHENTICATE).
pub fn spnego_resp(token: &[u8], server: bool) -> Vec<u8> {
    if server {
        sp::neg_token_resp(Some(sp::neg_state::ACCEPT_INCOMPLETE), Some(oid::NTLMSSP), Some(token), None)
    } else {
        sp::neg_token_resp(None, None, Some(token), None)
    }
}

/// NegTokenInit with a Kerberos AP-REQ mechToken.
pub fn spnego_kerberos() -> Vec<u8> {
    sp::neg_token_init(&[oid::KRB5], &sp::gss_krb5_ap_req("CORP.EXAMPLE", &["host", "winpe"], "unit"))
}
