//! DCE/RPC connection-oriented PDUs (C706 ch. 12, MS-RPCE 2.2.2), including the sec_trailer.
//!
//! CONTRACT (filled in by the parser work): types and signatures below are what `track` uses.

/// Byte order of the header's integers and of the body's, from `packed_drep[0]` bit 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteOrder {
    Big,
    Little,
}

/// A UUID stored in its canonical field order (as printed), whatever the wire byte order was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Uuid(pub [u8; 16]);

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

/// Parses one header; checks rpc_vers 5, minor 0/1, a known ptype, a sane drep and frag_length >= 16.
pub fn parse_header(_input: &[u8]) -> Result<Header, Error> {
    unimplemented!("contract")
}

/// Parses one whole PDU from the start of `input`; returns it and the bytes it used (`frag_length`).
pub fn parse_pdu(_input: &[u8]) -> Result<(Pdu<'_>, usize), Error> {
    unimplemented!("contract")
}
