//! DCE/RPC connection-oriented PDUs (C706 ch. 12, MS-RPCE 2.2.2), including the sec_trailer.
//!
//! Every integer after `packed_drep` (header lengths, call_id, body fields, the sec_trailer's
//! auth_context_id) is read in the byte order the sender declared in `packed_drep[0]`.
use nom::bytes::complete::take;
use nom::number::complete::{u16 as nom_u16, u32 as nom_u32, u8 as nom_u8};
use nom::number::Endianness;
use nom::IResult;

use crate::names::interfaces::BIND_TIME_FEATURE_PREFIX;
use crate::uuid::Uuid;

/// Byte order of the header's integers and of the body's, from `packed_drep[0]` bit 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteOrder {
    Big,
    Little,
}

impl ByteOrder {
    fn endianness(self) -> Endianness {
        match self {
            ByteOrder::Big => Endianness::Big,
            ByteOrder::Little => Endianness::Little,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntaxId {
    pub uuid: Uuid,
    pub version: u16,
    pub version_minor: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketType {
    Request,
    Response,
    Fault,
    Bind,
    BindAck,
    BindNak,
    AlterContext,
    AlterContextResp,
    Auth3,
    Shutdown,
    CoCancel,
    Orphaned,
}

impl PacketType {
    /// The connection-oriented ptype numbers (C706 12.6.4, MS-RPCE 2.2.2.1); others are not ours.
    pub fn from_u8(v: u8) -> Option<PacketType> {
        Some(match v {
            0 => PacketType::Request,
            2 => PacketType::Response,
            3 => PacketType::Fault,
            11 => PacketType::Bind,
            12 => PacketType::BindAck,
            13 => PacketType::BindNak,
            14 => PacketType::AlterContext,
            15 => PacketType::AlterContextResp,
            16 => PacketType::Auth3,
            17 => PacketType::Shutdown,
            18 => PacketType::CoCancel,
            19 => PacketType::Orphaned,
            _ => return None,
        })
    }

    pub fn to_u8(self) -> u8 {
        match self {
            PacketType::Request => 0,
            PacketType::Response => 2,
            PacketType::Fault => 3,
            PacketType::Bind => 11,
            PacketType::BindAck => 12,
            PacketType::BindNak => 13,
            PacketType::AlterContext => 14,
            PacketType::AlterContextResp => 15,
            PacketType::Auth3 => 16,
            PacketType::Shutdown => 17,
            PacketType::CoCancel => 18,
            PacketType::Orphaned => 19,
        }
    }
}

impl SyntaxId {
    /// MS-RPCE 3.3.1.5.3: a transfer syntax whose UUID starts 6CB71C2C-9812-4540, version 1.0, offers
    /// bind time features; the next octet starts the BindTimeFeatureNegotiationBitmask (2.2.2.14).
    pub fn bind_time_features(&self) -> Option<u8> {
        let (prefix, bitmask) = self.uuid.0.split_at(8);
        if prefix != BIND_TIME_FEATURE_PREFIX || self.version != 1 || self.version_minor != 0 {
            return None;
        }
        bitmask.first().copied()
    }
}

/// BindTimeFeatureNegotiationBitmask bit: security context multiplexing (MS-RPCE 2.2.2.14).
pub const FEATURE_SECURITY_CONTEXT_MULTIPLEXING: u8 = 0x01;

/// p_cont_def_result_t values (C706 12.6.3.1).
pub const RESULT_ACCEPTANCE: u16 = 0;
pub const RESULT_NEGOTIATE_ACK: u16 = 3;

/// pfc_flags bits (C706 12.6.3.1, MS-RPCE 2.2.2.3).
pub const PFC_FIRST_FRAG: u8 = 0x01;
pub const PFC_LAST_FRAG: u8 = 0x02;
/// On bind/alter_context this bit is PFC_SUPPORT_HEADER_SIGN instead of pending-cancel.
pub const PFC_PENDING_CANCEL: u8 = 0x04;
pub const PFC_CONC_MPX: u8 = 0x10;
pub const PFC_DID_NOT_EXECUTE: u8 = 0x20;
pub const PFC_MAYBE: u8 = 0x40;
pub const PFC_OBJECT_UUID: u8 = 0x80;

/// Size of the common header every connection-oriented PDU starts with.
pub const HEADER_LEN: usize = 16;
/// Size of the sec_trailer that precedes the auth token.
pub const SEC_TRAILER_LEN: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub rpc_vers_minor: u8,
    pub ptype: PacketType,
    pub pfc_flags: u8,
    pub byte_order: ByteOrder,
    pub frag_length: u16,
    pub auth_length: u16,
    pub call_id: u32,
}

/// sec_trailer (MS-RPCE 2.2.2.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecTrailer {
    pub auth_type: u8,
    pub auth_level: u8,
    pub auth_pad_length: u8,
    pub auth_context_id: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Auth<'a> {
    pub trailer: SecTrailer,
    pub token: &'a [u8],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextElement {
    pub ctx_id: u16,
    pub abstract_syntax: SyntaxId,
    pub transfer_syntaxes: Vec<SyntaxId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    pub max_xmit_frag: u16,
    pub max_recv_frag: u16,
    pub assoc_group_id: u32,
    pub contexts: Vec<ContextElement>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextResult {
    /// 0 acceptance, 1 user rejection, 2 provider rejection, 3 negotiate_ack.
    pub result: u16,
    pub reason: u16,
    pub transfer_syntax: SyntaxId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindAck {
    pub max_xmit_frag: u16,
    pub max_recv_frag: u16,
    pub assoc_group_id: u32,
    pub results: Vec<ContextResult>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    pub alloc_hint: u32,
    pub ctx_id: u16,
    pub opnum: u16,
    pub object: Option<Uuid>,
    pub stub: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response<'a> {
    pub alloc_hint: u32,
    pub ctx_id: u16,
    pub cancel_count: u8,
    pub stub: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    pub alloc_hint: u32,
    pub ctx_id: u16,
    pub cancel_count: u8,
    pub status: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BindNak {
    pub reject_reason: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body<'a> {
    Request(Request<'a>),
    Response(Response<'a>),
    Fault(Fault),
    Bind(Bind),
    BindAck(BindAck),
    BindNak(BindNak),
    AlterContext(Bind),
    AlterContextResp(BindAck),
    Auth3,
    Shutdown,
    CoCancel,
    Orphaned,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pdu<'a> {
    pub header: Header,
    pub body: Body<'a>,
    pub auth: Option<Auth<'a>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// Fewer bytes than the header or `frag_length` says.
    Incomplete {
        needed: usize,
    },
    NotDceRpc,
    UnknownPacketType(u8),
    BadLength,
    Malformed,
}

/// nom with a unit error: the callers only need "did not fit", and it costs nothing.
type Res<'a, T> = IResult<&'a [u8], T, ()>;

fn rd_u8(i: &[u8]) -> Res<'_, u8> {
    nom_u8(i)
}

fn rd_u16(i: &[u8], order: ByteOrder) -> Res<'_, u16> {
    nom_u16(order.endianness())(i)
}

fn rd_u32(i: &[u8], order: ByteOrder) -> Res<'_, u32> {
    nom_u32(order.endianness())(i)
}

fn skip(i: &[u8], n: usize) -> Res<'_, ()> {
    let (i, _) = take(n)(i)?;
    Ok((i, ()))
}

/// Reads a UUID as NDR marshals it: u32, u16, u16 in `order`, then 8 bytes as they are.
pub fn uuid_from_wire(bytes: &[u8], order: ByteOrder) -> Option<Uuid> {
    wire_uuid(bytes, order).ok().map(|(_, u)| u)
}

fn wire_uuid(i: &[u8], order: ByteOrder) -> Res<'_, Uuid> {
    let (i, d1) = rd_u32(i, order)?;
    let (i, d2) = rd_u16(i, order)?;
    let (i, d3) = rd_u16(i, order)?;
    let (i, d4) = take(8usize)(i)?;
    let d4: [u8; 8] = d4.try_into().map_err(|_| nom::Err::Error(()))?;
    Ok((i, Uuid::from_fields(d1, d2, d3, d4)))
}

/// p_syntax_id_t: the u32 `if_version` carries the major version in its low 16 bits.
fn syntax_id(i: &[u8], order: ByteOrder) -> Res<'_, SyntaxId> {
    let (i, uuid) = wire_uuid(i, order)?;
    let (i, v) = rd_u32(i, order)?;
    let version = (v & 0xffff) as u16;
    let version_minor = (v >> 16) as u16;
    Ok((i, SyntaxId { uuid, version, version_minor }))
}

/// Rejects bytes that cannot start a connection-oriented PDU, looking only at what is present.
fn check_prefix(input: &[u8]) -> Result<(), Error> {
    if let Some(&vers) = input.first() {
        if vers != 5 {
            return Err(Error::NotDceRpc);
        }
    }
    if let Some(&minor) = input.get(1) {
        if minor > 1 {
            return Err(Error::NotDceRpc);
        }
    }
    if let Some(&drep0) = input.get(4) {
        // High nibble: integer order (0 big, 1 little); low nibble: character set (ASCII/EBCDIC).
        if drep0 >> 4 > 1 || drep0 & 0x0f > 1 {
            return Err(Error::NotDceRpc);
        }
    }
    if let Some(&drep1) = input.get(5) {
        // IEEE, VAX, Cray, IBM.
        if drep1 > 3 {
            return Err(Error::NotDceRpc);
        }
    }
    if let Some(&ptype) = input.get(2) {
        if PacketType::from_u8(ptype).is_none() {
            return Err(Error::UnknownPacketType(ptype));
        }
    }
    Ok(())
}

/// Parses one header; checks rpc_vers 5, minor 0/1, a known ptype, a sane drep and frag_length >= 16.
pub fn parse_header(input: &[u8]) -> Result<Header, Error> {
    check_prefix(input)?;
    let bytes = input.get(..HEADER_LEN).ok_or(Error::Incomplete { needed: HEADER_LEN })?;
    let (_, raw) = raw_header(bytes).map_err(|_| Error::Incomplete { needed: HEADER_LEN })?;
    let ptype = PacketType::from_u8(raw.ptype).ok_or(Error::UnknownPacketType(raw.ptype))?;
    let frag = usize::from(raw.frag_length);
    if frag < HEADER_LEN {
        return Err(Error::BadLength);
    }
    // The token, its sec_trailer and the header must all fit in the fragment.
    if raw.auth_length > 0 && HEADER_LEN + SEC_TRAILER_LEN + usize::from(raw.auth_length) > frag {
        return Err(Error::BadLength);
    }
    Ok(Header {
        rpc_vers_minor: raw.rpc_vers_minor,
        ptype,
        pfc_flags: raw.pfc_flags,
        byte_order: raw.byte_order,
        frag_length: raw.frag_length,
        auth_length: raw.auth_length,
        call_id: raw.call_id,
    })
}

/// The 16 header bytes as read, before any check beyond the prefix ones.
struct RawHeader {
    rpc_vers_minor: u8,
    ptype: u8,
    pfc_flags: u8,
    byte_order: ByteOrder,
    frag_length: u16,
    auth_length: u16,
    call_id: u32,
}

fn raw_header(i: &[u8]) -> Res<'_, RawHeader> {
    let (i, _rpc_vers) = rd_u8(i)?;
    let (i, rpc_vers_minor) = rd_u8(i)?;
    let (i, ptype) = rd_u8(i)?;
    let (i, pfc_flags) = rd_u8(i)?;
    let (i, drep0) = rd_u8(i)?;
    // drep[1] is the float format (checked in check_prefix), drep[2..4] are reserved.
    let (i, ()) = skip(i, 3)?;
    let byte_order = if drep0 >> 4 == 1 { ByteOrder::Little } else { ByteOrder::Big };
    let (i, frag_length) = rd_u16(i, byte_order)?;
    let (i, auth_length) = rd_u16(i, byte_order)?;
    let (i, call_id) = rd_u32(i, byte_order)?;
    Ok((i, RawHeader { rpc_vers_minor, ptype, pfc_flags, byte_order, frag_length, auth_length, call_id }))
}

/// Parses one whole PDU from the start of `input`; returns it and the bytes it used (`frag_length`).
pub fn parse_pdu(input: &[u8]) -> Result<(Pdu<'_>, usize), Error> {
    let header = parse_header(input)?;
    let frag = usize::from(header.frag_length);
    let pdu = input.get(..frag).ok_or(Error::Incomplete { needed: frag })?;
    let (body_end, auth) = split_auth(pdu, &header)?;
    let body_bytes = pdu.get(HEADER_LEN..body_end).ok_or(Error::Malformed)?;
    let pad = auth.map_or(0, |a| usize::from(a.trailer.auth_pad_length));
    let body = parse_body(&header, body_bytes, pad)?;
    Ok((Pdu { header, body, auth }, frag))
}

/// Splits off the sec_trailer and token at the end of the fragment; returns where the body ends.
fn split_auth<'a>(pdu: &'a [u8], header: &Header) -> Result<(usize, Option<Auth<'a>>), Error> {
    if header.auth_length == 0 {
        return Ok((pdu.len(), None));
    }
    let token_start = pdu.len().checked_sub(usize::from(header.auth_length)).ok_or(Error::BadLength)?;
    let trailer_start = token_start.checked_sub(SEC_TRAILER_LEN).ok_or(Error::BadLength)?;
    if trailer_start < HEADER_LEN {
        return Err(Error::BadLength);
    }
    let trailer_bytes = pdu.get(trailer_start..token_start).ok_or(Error::BadLength)?;
    let token = pdu.get(token_start..).ok_or(Error::BadLength)?;
    let trailer = sec_trailer(trailer_bytes, header.byte_order).map_err(|_| Error::Malformed)?;
    Ok((trailer_start, Some(Auth { trailer, token })))
}

fn sec_trailer(i: &[u8], order: ByteOrder) -> Result<SecTrailer, nom::Err<()>> {
    let (i, auth_type) = rd_u8(i)?;
    let (i, auth_level) = rd_u8(i)?;
    let (i, auth_pad_length) = rd_u8(i)?;
    let (i, _reserved) = rd_u8(i)?;
    let (_, auth_context_id) = rd_u32(i, order)?;
    Ok(SecTrailer { auth_type, auth_level, auth_pad_length, auth_context_id })
}

/// `body` runs from the end of the header to the sec_trailer (or the end of the fragment).
fn parse_body<'a>(header: &Header, body: &'a [u8], auth_pad: usize) -> Result<Body<'a>, Error> {
    let order = header.byte_order;
    let malformed = |_| Error::Malformed;
    Ok(match header.ptype {
        PacketType::Request => {
            let object = header.pfc_flags & PFC_OBJECT_UUID != 0;
            Body::Request(request(body, order, object, auth_pad)?)
        }
        PacketType::Response => Body::Response(response(body, order, auth_pad)?),
        PacketType::Fault => Body::Fault(fault(body, order).map_err(malformed)?),
        PacketType::Bind => Body::Bind(bind(body, order).map_err(malformed)?),
        PacketType::AlterContext => Body::AlterContext(bind(body, order).map_err(malformed)?),
        PacketType::BindAck => Body::BindAck(bind_ack(body, order).map_err(malformed)?),
        PacketType::AlterContextResp => Body::AlterContextResp(bind_ack(body, order).map_err(malformed)?),
        PacketType::BindNak => {
            let (_, reject_reason) = rd_u16(body, order).map_err(malformed)?;
            Body::BindNak(BindNak { reject_reason })
        }
        // auth3 carries 4 pad bytes before the trailer; nothing else of interest.
        PacketType::Auth3 => Body::Auth3,
        PacketType::Shutdown => Body::Shutdown,
        PacketType::CoCancel => Body::CoCancel,
        PacketType::Orphaned => Body::Orphaned,
    })
}

/// Stub data ends before the auth padding that aligns the sec_trailer.
fn stub_without_pad(rest: &[u8], auth_pad: usize) -> Result<&[u8], Error> {
    let end = rest.len().checked_sub(auth_pad).ok_or(Error::Malformed)?;
    rest.get(..end).ok_or(Error::Malformed)
}

fn request(body: &[u8], order: ByteOrder, has_object: bool, auth_pad: usize) -> Result<Request<'_>, Error> {
    let fields = |i| -> Res<'_, (u32, u16, u16, Option<Uuid>)> {
        let (i, alloc_hint) = rd_u32(i, order)?;
        let (i, ctx_id) = rd_u16(i, order)?;
        let (i, opnum) = rd_u16(i, order)?;
        let (i, object) = if has_object {
            let (i, u) = wire_uuid(i, order)?;
            (i, Some(u))
        } else {
            (i, None)
        };
        Ok((i, (alloc_hint, ctx_id, opnum, object)))
    };
    let (rest, (alloc_hint, ctx_id, opnum, object)) = fields(body).map_err(|_| Error::Malformed)?;
    let stub = stub_without_pad(rest, auth_pad)?;
    Ok(Request { alloc_hint, ctx_id, opnum, object, stub })
}

fn response(body: &[u8], order: ByteOrder, auth_pad: usize) -> Result<Response<'_>, Error> {
    let fields = |i| -> Res<'_, (u32, u16, u8)> {
        let (i, alloc_hint) = rd_u32(i, order)?;
        let (i, ctx_id) = rd_u16(i, order)?;
        let (i, cancel_count) = rd_u8(i)?;
        let (i, _reserved) = rd_u8(i)?;
        Ok((i, (alloc_hint, ctx_id, cancel_count)))
    };
    let (rest, (alloc_hint, ctx_id, cancel_count)) = fields(body).map_err(|_| Error::Malformed)?;
    let stub = stub_without_pad(rest, auth_pad)?;
    Ok(Response { alloc_hint, ctx_id, cancel_count, stub })
}

fn fault(i: &[u8], order: ByteOrder) -> Result<Fault, nom::Err<()>> {
    let (i, alloc_hint) = rd_u32(i, order)?;
    let (i, ctx_id) = rd_u16(i, order)?;
    let (i, cancel_count) = rd_u8(i)?;
    // MS-RPCE calls this byte fault_flags (extended error info present); not needed here.
    let (i, _reserved) = rd_u8(i)?;
    let (_, status) = rd_u32(i, order)?;
    Ok(Fault { alloc_hint, ctx_id, cancel_count, status })
}

/// Size of one p_cont_elem_t with a single transfer syntax: the least a context can take.
const MIN_CONTEXT_LEN: usize = 4 + 20 + 20;
const SYNTAX_LEN: usize = 20;
const RESULT_LEN: usize = 4 + SYNTAX_LEN;

fn bind(i: &[u8], order: ByteOrder) -> Result<Bind, nom::Err<()>> {
    let (i, max_xmit_frag) = rd_u16(i, order)?;
    let (i, max_recv_frag) = rd_u16(i, order)?;
    let (i, assoc_group_id) = rd_u32(i, order)?;
    let (i, n_context_elem) = rd_u8(i)?;
    let (mut i, ()) = skip(i, 3)?;
    let mut contexts = Vec::with_capacity(usize::from(n_context_elem).min(i.len() / MIN_CONTEXT_LEN));
    for _ in 0..n_context_elem {
        let (rest, ctx) = context_element(i, order)?;
        contexts.push(ctx);
        i = rest;
    }
    Ok(Bind { max_xmit_frag, max_recv_frag, assoc_group_id, contexts })
}

fn context_element(i: &[u8], order: ByteOrder) -> Res<'_, ContextElement> {
    let (i, ctx_id) = rd_u16(i, order)?;
    let (i, n_transfer_syn) = rd_u8(i)?;
    let (i, _reserved) = rd_u8(i)?;
    let (mut i, abstract_syntax) = syntax_id(i, order)?;
    let mut transfer_syntaxes = Vec::with_capacity(usize::from(n_transfer_syn).min(i.len() / SYNTAX_LEN));
    for _ in 0..n_transfer_syn {
        let (rest, ts) = syntax_id(i, order)?;
        transfer_syntaxes.push(ts);
        i = rest;
    }
    Ok((i, ContextElement { ctx_id, abstract_syntax, transfer_syntaxes }))
}

fn bind_ack(i: &[u8], order: ByteOrder) -> Result<BindAck, nom::Err<()>> {
    let (i, max_xmit_frag) = rd_u16(i, order)?;
    let (i, max_recv_frag) = rd_u16(i, order)?;
    let (i, assoc_group_id) = rd_u32(i, order)?;
    let (i, sec_addr_len) = rd_u16(i, order)?;
    let (i, _sec_addr) = take(usize::from(sec_addr_len))(i)?;
    // The result list is 4-aligned relative to the start of the PDU, not of the body.
    let end_of_addr = HEADER_LEN + 8 + 2 + usize::from(sec_addr_len);
    let (i, ()) = skip(i, (4 - end_of_addr % 4) % 4)?;
    let (i, n_results) = rd_u8(i)?;
    let (mut i, ()) = skip(i, 3)?;
    let mut results = Vec::with_capacity(usize::from(n_results).min(i.len() / RESULT_LEN));
    for _ in 0..n_results {
        let (rest, r) = context_result(i, order)?;
        results.push(r);
        i = rest;
    }
    Ok(BindAck { max_xmit_frag, max_recv_frag, assoc_group_id, results })
}

fn context_result(i: &[u8], order: ByteOrder) -> Res<'_, ContextResult> {
    let (i, result) = rd_u16(i, order)?;
    let (i, reason) = rd_u16(i, order)?;
    let (i, transfer_syntax) = syntax_id(i, order)?;
    Ok((i, ContextResult { result, reason, transfer_syntax }))
}

#[cfg(test)]
mod tests;
