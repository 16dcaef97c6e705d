//! DCE/RPC connection-oriented PDUs (C706 chapter 12, MS-RPCE 2.2.2) in either data representation.
//!
//! Every integer of the header, the body and the sec_trailer follows the PDU's `Drep`; auth tokens
//! (NTLMSSP, SPNEGO, Kerberos) are opaque bytes with their own encodings.

/// Integer representation of a PDU (byte 0 of the header's drep field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drep {
    Little,
    Big,
}

impl Drep {
    /// The 4-byte drep field: integer order, ASCII characters, IEEE floats.
    pub fn header_bytes(self) -> [u8; 4] {
        match self {
            Drep::Little => [0x10, 0, 0, 0],
            Drep::Big => [0x00, 0, 0, 0],
        }
    }
}

/// A UUID/GUID; encoded with its first three fields in the PDU's byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Guid {
    pub d1: u32,
    pub d2: u16,
    pub d3: u16,
    pub d4: [u8; 8],
}

const fn hex_nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => panic!("bad hex digit in GUID"),
    }
}

impl Guid {
    pub const NIL: Guid = Guid { d1: 0, d2: 0, d3: 0, d4: [0; 8] };

    /// Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (usable in constants).
    pub const fn parse(s: &str) -> Guid {
        let b = s.as_bytes();
        assert!(b.len() == 36, "GUID must be 36 characters");
        let mut raw = [0u8; 16];
        let mut i = 0;
        let mut n = 0;
        while i < b.len() {
            if b[i] == b'-' {
                i += 1;
                continue;
            }
            raw[n] = (hex_nibble(b[i]) << 4) | hex_nibble(b[i + 1]);
            n += 1;
            i += 2;
        }
        assert!(n == 16, "GUID must have 32 hex digits");
        Guid {
            d1: u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]),
            d2: u16::from_be_bytes([raw[4], raw[5]]),
            d3: u16::from_be_bytes([raw[6], raw[7]]),
            d4: [raw[8], raw[9], raw[10], raw[11], raw[12], raw[13], raw[14], raw[15]],
        }
    }

    /// A deterministic GUID made from a seed (for IPIDs, causality ids, object ids).
    pub fn from_seed(seed: &str) -> Guid {
        let b = crate::pseudo_random(seed, 16);
        Guid {
            d1: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            d2: u16::from_le_bytes([b[4], b[5]]),
            d3: (u16::from_le_bytes([b[6], b[7]]) & 0x0fff) | 0x4000,
            d4: [b[8] & 0x3f | 0x80, b[9], b[10], b[11], b[12], b[13], b[14], b[15]],
        }
    }

    /// The 16 bytes in printed (canonical, big-endian) order, as a UUID type stores them.
    pub const fn to_bytes(&self) -> [u8; 16] {
        let a = self.d1.to_be_bytes();
        let b = self.d2.to_be_bytes();
        let c = self.d3.to_be_bytes();
        let d = self.d4;
        [a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]
    }

    /// The wire form in `drep`: the first three fields in that byte order, the last 8 bytes as is.
    pub fn encode(&self, drep: Drep) -> [u8; 16] {
        let mut out = [0u8; 16];
        match drep {
            Drep::Little => {
                out[0..4].copy_from_slice(&self.d1.to_le_bytes());
                out[4..6].copy_from_slice(&self.d2.to_le_bytes());
                out[6..8].copy_from_slice(&self.d3.to_le_bytes());
            }
            Drep::Big => {
                out[0..4].copy_from_slice(&self.d1.to_be_bytes());
                out[4..6].copy_from_slice(&self.d2.to_be_bytes());
                out[6..8].copy_from_slice(&self.d3.to_be_bytes());
            }
        }
        out[8..16].copy_from_slice(&self.d4);
        out
    }
}

impl std::fmt::Display for Guid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = &self.d4;
        write!(
            f,
            "{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
            self.d1, self.d2, self.d3, d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]
        )
    }
}

/// Well-known interface and transfer-syntax UUIDs.
pub mod uuids {
    use super::Guid;
    pub const NDR: Guid = Guid::parse("8a885d04-1ceb-11c9-9fe8-08002b104860");
    pub const NDR64: Guid = Guid::parse("71710533-beba-4937-8319-b5dbef9ccc36");
    /// Bind time feature negotiation transfer syntax with an empty bitmask (MS-RPCE 3.3.1.5.3).
    pub const BIND_TIME_FEATURES: Guid = Guid::parse("6cb71c2c-9812-4540-0000-000000000000");
    pub const IENUM_WBEM_CLASS_OBJECT: Guid = Guid::parse("027947e1-d731-11ce-a357-000000000001");
    pub const IREMUNKNOWN2: Guid = Guid::parse("00000143-0000-0000-c000-000000000046");
    pub const IREMUNKNOWN: Guid = Guid::parse("00000131-0000-0000-c000-000000000046");
    pub const IWBEM_FETCH_SMART_ENUM: Guid = Guid::parse("1c1c45ee-4395-11d2-b60b-00104b703efd");
    pub const IWBEM_SERVICES: Guid = Guid::parse("9556dc99-828c-11cf-a37e-00aa003240c7");
    pub const IMANAGED_OBJECT: Guid = Guid::parse("c3fcc19e-a970-11d2-8b5a-00a0c9b7c9c4");
    pub const IPROVIDE_CLASS_INFO: Guid = Guid::parse("b196b283-bab4-101a-b69c-00aa00341d07");
    pub const IUNKNOWN: Guid = Guid::parse("00000000-0000-0000-c000-000000000046");
    pub const ISYSTEM_ACTIVATOR: Guid = Guid::parse("000001a0-0000-0000-c000-000000000046");
}

/// Packet types (C706 12.6.4.1).
pub mod ptype {
    pub const REQUEST: u8 = 0;
    pub const RESPONSE: u8 = 2;
    pub const FAULT: u8 = 3;
    pub const BIND: u8 = 11;
    pub const BIND_ACK: u8 = 12;
    pub const BIND_NAK: u8 = 13;
    pub const ALTER_CONTEXT: u8 = 14;
    pub const ALTER_CONTEXT_RESP: u8 = 15;
    pub const AUTH3: u8 = 16;
    pub const SHUTDOWN: u8 = 17;
    pub const CO_CANCEL: u8 = 18;
    pub const ORPHANED: u8 = 19;
}

/// pfc_flags bits.
pub mod pfc {
    pub const FIRST_FRAG: u8 = 0x01;
    pub const LAST_FRAG: u8 = 0x02;
    pub const PENDING_CANCEL: u8 = 0x04;
    pub const SUPPORT_HEADER_SIGN: u8 = 0x04;
    pub const CONC_MPX: u8 = 0x10;
    pub const DID_NOT_EXECUTE: u8 = 0x20;
    pub const MAYBE: u8 = 0x40;
    pub const OBJECT_UUID: u8 = 0x80;
    pub const WHOLE: u8 = FIRST_FRAG | LAST_FRAG;
}

/// sec_trailer auth_type values.
pub mod auth_type {
    pub const NONE: u8 = 0;
    pub const SPNEGO: u8 = 9;
    pub const NTLMSSP: u8 = 10;
    pub const KERBEROS: u8 = 16;
    pub const NETLOGON: u8 = 68;
}

/// sec_trailer auth_level values.
pub mod auth_level {
    pub const NONE: u8 = 1;
    pub const CONNECT: u8 = 2;
    pub const CALL: u8 = 3;
    pub const PKT: u8 = 4;
    pub const INTEGRITY: u8 = 5;
    pub const PRIVACY: u8 = 6;
}

/// Fault status codes used by the scenarios.
pub mod status {
    /// nca_s_fault_sec_pkg_error / nca_s_fault_sec_pkg_error: "A security package specific error occurred."
    pub const SEC_PKG_ERROR: u32 = 0x0000_0721;
    /// nca_s_fault_access_denied / ERROR_ACCESS_DENIED.
    pub const ACCESS_DENIED: u32 = 0x0000_0005;
    pub const NCA_S_OP_RNG_ERROR: u32 = 0x1c01_0002;
}

/// bind_ack / alter_context_resp result values and provider rejection reasons.
pub mod result {
    pub const ACCEPTANCE: u16 = 0;
    pub const USER_REJECTION: u16 = 1;
    pub const PROVIDER_REJECTION: u16 = 2;
    /// MS-RPCE: answer to a bind time feature negotiation item.
    pub const NEGOTIATE_ACK: u16 = 3;
    pub const REASON_NOT_SPECIFIED: u16 = 0;
    pub const ABSTRACT_SYNTAX_NOT_SUPPORTED: u16 = 1;
    pub const PROPOSED_TRANSFER_SYNTAXES_NOT_SUPPORTED: u16 = 2;
    pub const LOCAL_LIMIT_EXCEEDED: u16 = 3;
}

/// NDR marshalling buffer: integers in the drep's order, alignment relative to the buffer start.
#[derive(Debug, Clone)]
pub struct Ndr {
    pub drep: Drep,
    pub buf: Vec<u8>,
}

impl Ndr {
    pub fn new(drep: Drep) -> Self {
        Ndr { drep, buf: Vec::new() }
    }
    pub fn align(&mut self, n: usize) -> &mut Self {
        while !self.buf.len().is_multiple_of(n) {
            self.buf.push(0);
        }
        self
    }
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }
    pub fn u16(&mut self, v: u16) -> &mut Self {
        match self.drep {
            Drep::Little => self.buf.extend_from_slice(&v.to_le_bytes()),
            Drep::Big => self.buf.extend_from_slice(&v.to_be_bytes()),
        }
        self
    }
    pub fn u32(&mut self, v: u32) -> &mut Self {
        match self.drep {
            Drep::Little => self.buf.extend_from_slice(&v.to_le_bytes()),
            Drep::Big => self.buf.extend_from_slice(&v.to_be_bytes()),
        }
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        match self.drep {
            Drep::Little => self.buf.extend_from_slice(&v.to_le_bytes()),
            Drep::Big => self.buf.extend_from_slice(&v.to_be_bytes()),
        }
        self
    }
    /// Aligned u16 / u32 / u64 (NDR primitives align to their size).
    pub fn a16(&mut self, v: u16) -> &mut Self {
        self.align(2).u16(v)
    }
    pub fn a32(&mut self, v: u32) -> &mut Self {
        self.align(4).u32(v)
    }
    pub fn a64(&mut self, v: u64) -> &mut Self {
        self.align(8).u64(v)
    }
    pub fn guid(&mut self, g: &Guid) -> &mut Self {
        let d = self.drep;
        self.align(4).bytes(&g.encode(d))
    }
    /// A p_syntax_id_t: UUID, then one u32 version with the major number in its low 16 bits and
    /// the minor in its high 16 (C706 12.6.3.1).
    pub fn syntax(&mut self, g: &Guid, major: u16, minor: u16) -> &mut Self {
        self.guid(g).u32(u32::from(major) | (u32::from(minor) << 16))
    }
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(b);
        self
    }
    pub fn len(&self) -> usize {
        self.buf.len()
    }
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    pub fn finish(&self) -> Vec<u8> {
        self.buf.clone()
    }
}

/// One presentation context offered in a bind or alter_context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextItem {
    pub id: u16,
    pub abstract_syntax: Guid,
    pub version: u16,
    pub version_minor: u16,
    pub transfer: Vec<(Guid, u32)>,
}

impl ContextItem {
    /// Interface `iface` v0.0 over NDR 2.0.
    pub fn ndr(id: u16, iface: Guid) -> Self {
        ContextItem { id, abstract_syntax: iface, version: 0, version_minor: 0, transfer: vec![(uuids::NDR, 2)] }
    }
    /// Interface `iface` v0.0 over NDR64 1.0 (Windows servers reject it for DCOM).
    pub fn ndr64(id: u16, iface: Guid) -> Self {
        ContextItem { transfer: vec![(uuids::NDR64, 1)], ..Self::ndr(id, iface) }
    }
    /// MS-RPCE 3.3.1.5.3 bind time feature negotiation item for `iface`: transfer syntax
    /// 6cb71c2c-9812-4540-XX00-000000000000 v1.0 with the bitmask `bits` in XX (0x01 security
    /// context multiplexing, 0x02 keep connection on orphan).
    pub fn bind_time_features(id: u16, iface: Guid, bits: u8) -> Self {
        let mut ts = uuids::BIND_TIME_FEATURES;
        ts.d4[0] = bits;
        ContextItem { transfer: vec![(ts, 1)], ..Self::ndr(id, iface) }
    }
    pub fn version(mut self, major: u16, minor: u16) -> Self {
        self.version = major;
        self.version_minor = minor;
        self
    }
}

/// One result of a bind_ack / alter_context_resp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextResult {
    pub result: u16,
    pub reason: u16,
    pub transfer: (Guid, u32),
}

impl ContextResult {
    pub fn accept_ndr() -> Self {
        ContextResult { result: result::ACCEPTANCE, reason: 0, transfer: (uuids::NDR, 2) }
    }
    /// Answer to a bind time feature item: result 3 with the accepted bitmask in the reason field.
    pub fn negotiate_ack(bits: u16) -> Self {
        ContextResult { result: result::NEGOTIATE_ACK, reason: bits, transfer: (Guid::NIL, 0) }
    }
    /// Provider rejection with `reason` (e.g. PROPOSED_TRANSFER_SYNTAXES_NOT_SUPPORTED).
    pub fn provider_reject(reason: u16) -> Self {
        ContextResult { result: result::PROVIDER_REJECTION, reason, transfer: (Guid::NIL, 0) }
    }
}

/// The sec_trailer fields plus the auth token that follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth {
    pub auth_type: u8,
    pub level: u8,
    pub context_id: u32,
    pub token: Vec<u8>,
}

impl Auth {
    pub fn new(auth_type: u8, level: u8, context_id: u32, token: Vec<u8>) -> Self {
        Auth { auth_type, level, context_id, token }
    }
    pub fn ntlmssp(level: u8, context_id: u32, token: Vec<u8>) -> Self {
        Self::new(auth_type::NTLMSSP, level, context_id, token)
    }
    pub fn spnego(level: u8, context_id: u32, token: Vec<u8>) -> Self {
        Self::new(auth_type::SPNEGO, level, context_id, token)
    }
    pub fn kerberos(level: u8, context_id: u32, token: Vec<u8>) -> Self {
        Self::new(auth_type::KERBEROS, level, context_id, token)
    }
}

/// The PDU-specific part of a PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// Already-encoded body (bind, bind_ack, auth3, ...).
    Raw(Vec<u8>),
    Request {
        ctx_id: u16,
        opnum: u16,
        object: Option<Guid>,
        stub: Vec<u8>,
    },
    Response {
        ctx_id: u16,
        stub: Vec<u8>,
    },
    Fault {
        ctx_id: u16,
        status: u32,
        stub: Vec<u8>,
    },
}

/// One connection-oriented PDU; `bytes()` computes frag_length, auth_length and auth padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pdu {
    pub drep: Drep,
    pub ptype: u8,
    pub flags: u8,
    pub call_id: u32,
    pub body: Body,
    pub auth: Option<Auth>,
    /// alloc_hint of request/response/fault; None: the stub length (what Windows sends).
    pub alloc_hint: Option<u32>,
    /// Auth padding (length, fill byte) instead of what Windows sends (see `bytes`).
    pub auth_pad: Option<(u8, u8)>,
}

fn context_list(w: &mut Ndr, items: &[ContextItem]) {
    w.u8(items.len() as u8).u8(0).u16(0);
    for it in items {
        w.u16(it.id).u8(it.transfer.len() as u8).u8(0);
        w.syntax(&it.abstract_syntax, it.version, it.version_minor);
        for (ts, v) in &it.transfer {
            w.guid(ts).u32(*v);
        }
    }
}

/// bind_ack / alter_context_resp body: limits, assoc group, sec_addr (+ padding), results.
fn ack_body(drep: Drep, assoc_group: u32, sec_addr: &str, results: &[ContextResult]) -> Vec<u8> {
    let mut w = Ndr::new(drep);
    w.u16(5840).u16(5840).u32(assoc_group);
    if sec_addr.is_empty() {
        w.u16(0);
    } else {
        w.u16(sec_addr.len() as u16 + 1).bytes(sec_addr.as_bytes()).u8(0);
    }
    // port_spec is followed by padding to a 4-byte boundary of the PDU (header is 16 bytes).
    w.align(4);
    w.u8(results.len() as u8).u8(0).u16(0);
    for r in results {
        w.u16(r.result).u16(r.reason).guid(&r.transfer.0).u32(r.transfer.1);
    }
    w.finish()
}

impl Pdu {
    /// A PDU of any type whose body is already encoded (FIRST|LAST set): for bodies no other
    /// constructor writes, e.g. a deliberately odd one in a parser test.
    pub fn new(drep: Drep, ptype: u8, call_id: u32, body: Vec<u8>) -> Pdu {
        Pdu {
            drep,
            ptype,
            flags: pfc::WHOLE,
            call_id,
            body: Body::Raw(body),
            auth: None,
            alloc_hint: None,
            auth_pad: None,
        }
    }

    /// bind offering `items`, max_xmit/max_recv 5840.
    pub fn bind(drep: Drep, call_id: u32, assoc_group: u32, items: &[ContextItem]) -> Pdu {
        let mut w = Ndr::new(drep);
        w.u16(5840).u16(5840).u32(assoc_group);
        context_list(&mut w, items);
        Self::new(drep, ptype::BIND, call_id, w.finish())
    }

    /// alter_context offering `items`.
    pub fn alter_context(drep: Drep, call_id: u32, assoc_group: u32, items: &[ContextItem]) -> Pdu {
        let mut p = Self::bind(drep, call_id, assoc_group, items);
        p.ptype = ptype::ALTER_CONTEXT;
        p
    }

    /// bind_ack with the server's secondary address (e.g. "49157") and one result per item.
    pub fn bind_ack(drep: Drep, call_id: u32, assoc_group: u32, sec_addr: &str, results: &[ContextResult]) -> Pdu {
        Self::new(drep, ptype::BIND_ACK, call_id, ack_body(drep, assoc_group, sec_addr, results))
    }

    /// alter_context_resp (empty secondary address, as Windows sends it).
    pub fn alter_context_resp(drep: Drep, call_id: u32, assoc_group: u32, results: &[ContextResult]) -> Pdu {
        Self::new(drep, ptype::ALTER_CONTEXT_RESP, call_id, ack_body(drep, assoc_group, "", results))
    }

    /// bind_nak with `reason` and protocol version 5.0 supported.
    pub fn bind_nak(drep: Drep, call_id: u32, reason: u16) -> Pdu {
        let mut w = Ndr::new(drep);
        w.u16(reason).u8(1).u8(5).u8(0).u8(0).u16(0);
        Self::new(drep, ptype::BIND_NAK, call_id, w.finish())
    }

    /// auth3: four pad bytes, then the sec_trailer the caller attaches.
    pub fn auth3(drep: Drep, call_id: u32) -> Pdu {
        Self::new(drep, ptype::AUTH3, call_id, vec![0; 4])
    }

    pub fn request(drep: Drep, call_id: u32, ctx_id: u16, opnum: u16, stub: Vec<u8>) -> Pdu {
        Pdu {
            drep,
            ptype: ptype::REQUEST,
            flags: pfc::WHOLE,
            call_id,
            body: Body::Request { ctx_id, opnum, object: None, stub },
            auth: None,
            alloc_hint: None,
            auth_pad: None,
        }
    }

    pub fn response(drep: Drep, call_id: u32, ctx_id: u16, stub: Vec<u8>) -> Pdu {
        Pdu {
            body: Body::Response { ctx_id, stub },
            ptype: ptype::RESPONSE,
            ..Self::request(drep, call_id, 0, 0, Vec::new())
        }
    }

    /// fault with `status` and no stub (Windows sets DID_NOT_EXECUTE for security faults).
    pub fn fault(drep: Drep, call_id: u32, ctx_id: u16, status: u32) -> Pdu {
        Pdu {
            body: Body::Fault { ctx_id, status, stub: Vec::new() },
            ptype: ptype::FAULT,
            flags: pfc::WHOLE | pfc::DID_NOT_EXECUTE,
            ..Self::request(drep, call_id, 0, 0, Vec::new())
        }
    }

    pub fn with_auth(mut self, auth: Auth) -> Pdu {
        self.auth = Some(auth);
        self
    }

    /// Pads the body with `len` bytes of `fill` before the sec_trailer (and says `len` in it),
    /// whatever Windows would have sent.
    pub fn with_auth_pad(mut self, len: u8, fill: u8) -> Pdu {
        self.auth_pad = Some((len, fill));
        self
    }

    pub fn with_flags(mut self, flags: u8) -> Pdu {
        self.flags = flags;
        self
    }

    /// Adds the given pfc flags (e.g. CONC_MPX, SUPPORT_HEADER_SIGN) to the current ones.
    pub fn add_flags(mut self, flags: u8) -> Pdu {
        self.flags |= flags;
        self
    }

    /// Sets the object UUID of a request (PFC_OBJECT_UUID).
    pub fn with_object(mut self, uuid: Guid) -> Pdu {
        match &mut self.body {
            Body::Request { object, .. } => *object = Some(uuid),
            _ => panic!("only requests carry an object UUID"),
        }
        self
    }

    fn stub(&self) -> &[u8] {
        match &self.body {
            Body::Raw(_) => &[],
            Body::Request { stub, .. } | Body::Response { stub, .. } | Body::Fault { stub, .. } => stub,
        }
    }

    /// Splits a request/response into fragments whose stubs have the given sizes (the rest goes
    /// in a last fragment); each fragment carries a copy of the auth trailer.
    ///
    /// With auth, sizes must be multiples of 16 like Windows cuts them, so that only the last
    /// fragment needs auth padding (Wireshark 4.0 keeps inner padding in the reassembled stub).
    pub fn fragments(&self, sizes: &[usize]) -> Vec<Pdu> {
        let stub = self.stub().to_vec();
        assert!(self.auth.is_none() || sizes.iter().all(|s| s % 16 == 0), "fragment sizes {sizes:?} not 16-aligned");
        let mut cuts = sizes.to_vec();
        let used: usize = sizes.iter().sum();
        assert!(used <= stub.len(), "fragment sizes exceed the stub");
        if used < stub.len() {
            cuts.push(stub.len() - used);
        }
        let mut out = Vec::new();
        let mut off = 0;
        for (i, n) in cuts.iter().enumerate() {
            let mut f = self.clone();
            let part = stub[off..off + n].to_vec();
            f.alloc_hint = Some((stub.len() - off) as u32);
            match &mut f.body {
                Body::Request { stub, .. } | Body::Response { stub, .. } | Body::Fault { stub, .. } => *stub = part,
                Body::Raw(_) => panic!("only requests/responses/faults are fragmented"),
            }
            f.flags &= !pfc::WHOLE;
            if i == 0 {
                f.flags |= pfc::FIRST_FRAG;
            }
            if i + 1 == cuts.len() {
                f.flags |= pfc::LAST_FRAG;
            }
            out.push(f);
            off += n;
        }
        out
    }

    /// Wire bytes of the PDU.
    pub fn bytes(&self) -> Vec<u8> {
        let mut flags = self.flags;
        let mut body = Ndr::new(self.drep);
        match &self.body {
            Body::Raw(b) => {
                body.bytes(b);
            }
            Body::Request { ctx_id, opnum, object, stub } => {
                body.u32(self.alloc_hint.unwrap_or(stub.len() as u32)).u16(*ctx_id).u16(*opnum);
                if let Some(o) = object {
                    flags |= pfc::OBJECT_UUID;
                    body.guid(o);
                }
                body.bytes(stub);
            }
            Body::Response { ctx_id, stub } => {
                body.u32(self.alloc_hint.unwrap_or(stub.len() as u32)).u16(*ctx_id).u8(0).u8(0);
                body.bytes(stub);
            }
            Body::Fault { ctx_id, status, stub } => {
                // alloc_hint, p_cont_id, cancel_count, fault_flags, status, reserved.
                body.u32(self.alloc_hint.unwrap_or(32)).u16(*ctx_id).u8(0).u8(0);
                body.u32(*status).u32(0);
                body.bytes(stub);
            }
        }
        let mut body = body.buf;
        let mut auth_len = 0usize;
        if let Some(a) = &self.auth {
            // Windows pads a call's stub to a multiple of 16 bytes; other PDUs to 4 (PDU-relative).
            let (pad, fill) = match (&self.body, self.auth_pad) {
                (_, Some((len, fill))) => (usize::from(len), fill),
                (Body::Raw(_), None) => ((4 - (16 + body.len()) % 4) % 4, 0),
                (_, None) => ((16 - self.stub().len() % 16) % 16, 0),
            };
            body.resize(body.len() + pad, fill);
            let mut t = Ndr::new(self.drep);
            t.u8(a.auth_type).u8(a.level).u8(pad as u8).u8(0).u32(a.context_id);
            body.extend_from_slice(&t.buf);
            body.extend_from_slice(&a.token);
            auth_len = a.token.len();
        }
        let mut h = Ndr::new(self.drep);
        h.u8(5).u8(0).u8(self.ptype).u8(flags).bytes(&self.drep.header_bytes());
        h.u16((16 + body.len()) as u16).u16(auth_len as u16).u32(self.call_id);
        let mut out = h.buf;
        out.extend_from_slice(&body);
        out
    }
}

/// Concatenates PDUs, e.g. several in one TCP segment.
pub fn concat(pdus: &[Pdu]) -> Vec<u8> {
    pdus.iter().flat_map(|p| p.bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_prints_as_parsed_and_encodes_the_first_three_fields_in_the_drep() {
        let g = Guid::parse("e1af8308-5d1f-11c9-91a4-08002b14a0fa");
        assert_eq!(g.to_string(), "e1af8308-5d1f-11c9-91a4-08002b14a0fa");
        assert_eq!(g.to_bytes(), crate::hex("e1af83085d1f11c991a408002b14a0fa").as_slice());
        assert_eq!(g.encode(Drep::Big), g.to_bytes());
        assert_eq!(g.encode(Drep::Little).as_slice(), crate::hex("0883afe11f5dc91191a408002b14a0fa"));
    }

    #[test]
    fn a_signed_call_pads_its_stub_to_16_and_counts_trailer_and_token() {
        let token = vec![7; 16];
        let p = Pdu::request(Drep::Little, 9, 1, 3, vec![1; 20]).with_auth(Auth::ntlmssp(5, 79232, token.clone()));
        let b = p.bytes();
        // header 16, request fields 8, stub 20 + pad 12, sec_trailer 8, token 16.
        assert_eq!(b.len(), 16 + 8 + 32 + 8 + 16);
        assert_eq!(u16::from_le_bytes([b[8], b[9]]) as usize, b.len(), "frag_length");
        assert_eq!(u16::from_le_bytes([b[10], b[11]]), 16, "auth_length");
        let trailer = &b[b.len() - 24..b.len() - 16];
        assert_eq!(trailer, [10, 5, 12, 0, 0x80, 0x35, 0x01, 0x00]);
        assert_eq!(&b[b.len() - 16..], token.as_slice());
    }

    #[test]
    fn an_explicit_auth_pad_replaces_the_windows_one() {
        let b = Pdu::request(Drep::Big, 1, 0, 0, vec![1, 2, 3])
            .with_auth(Auth::ntlmssp(6, 1, vec![0; 16]))
            .with_auth_pad(1, 0xAA)
            .bytes();
        assert_eq!(b.len(), 16 + 8 + 3 + 1 + 8 + 16);
        assert_eq!(b[16 + 8 + 3], 0xAA);
        assert_eq!(b[16 + 8 + 4 + 2], 1, "auth_pad_length");
    }

    #[test]
    fn a_context_item_version_is_one_u32_major_low() {
        let item = ContextItem::ndr(0, uuids::IREMUNKNOWN2).version(3, 7);
        for (drep, v) in [(Drep::Little, [3, 0, 7, 0]), (Drep::Big, [0, 7, 0, 3])] {
            let b = Pdu::alter_context(drep, 1, 0, std::slice::from_ref(&item)).bytes();
            assert_eq!(b[2], ptype::ALTER_CONTEXT);
            assert_eq!(b[16 + 12 + 4 + 16..16 + 12 + 4 + 20], v);
        }
    }
}
