//! Ethernet / 802.1Q / IPv4 / IPv6 / TCP framing and a `Capture` that drives TCP connections.
//!
//! Every TCP connection (`FlowId`) keeps correct sequence and acknowledgement numbers; frames from
//! all connections are interleaved in the order they are built, each stamped with a deterministic
//! time. Frame numbers are 1-based like Wireshark's, and `mark` names them for assertions.
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::pcapng::{PcapngWriter, LINKTYPE_ETHERNET, LINKTYPE_RAW};

pub const TCP_FIN: u8 = 0x01;
pub const TCP_SYN: u8 = 0x02;
pub const TCP_RST: u8 = 0x04;
pub const TCP_PSH: u8 = 0x08;
pub const TCP_ACK: u8 = 0x10;

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86DD;
pub const ETHERTYPE_VLAN: u16 = 0x8100;

/// Largest TCP payload per segment, like a 1500-byte Ethernet MTU.
pub const MSS: usize = 1460;
/// Window field on established connections; with window scale 8 Wireshark shows 131328.
pub const WINDOW: u16 = 513;
/// 2010-06-01 10:00:05.078086 UTC, the first frame's time unless changed.
pub const DEFAULT_START_US: u64 = 1_275_386_405_078_086;

/// Ethernet II header, with an 802.1Q tag when `vlan` is set.
pub fn ethernet(dst: [u8; 6], src: [u8; 6], vlan: Option<u16>, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(payload.len() + 18);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    if let Some(id) = vlan {
        f.extend_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
        f.extend_from_slice(&(id & 0x0fff).to_be_bytes());
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// The Internet checksum (RFC 1071) over `data`, continuing from `sum`.
pub fn inet_sum(mut sum: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

/// Folds a running sum into the final one's-complement checksum.
pub fn inet_fold(mut sum: u32) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// IPv4 header (DF set, no options) with a correct header checksum, followed by `payload`.
pub fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, id: u16, ttl: u8, proto: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0u8; 20];
    h[0] = 0x45;
    h[2..4].copy_from_slice(&((20 + payload.len()) as u16).to_be_bytes());
    h[4..6].copy_from_slice(&id.to_be_bytes());
    h[6..8].copy_from_slice(&0x4000u16.to_be_bytes());
    h[8] = ttl;
    h[9] = proto;
    h[12..16].copy_from_slice(&src.octets());
    h[16..20].copy_from_slice(&dst.octets());
    let ck = inet_fold(inet_sum(0, &h));
    h[10..12].copy_from_slice(&ck.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

/// IPv6 header (no extension headers) followed by `payload`.
pub fn ipv6(src: Ipv6Addr, dst: Ipv6Addr, hop_limit: u8, next: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0u8; 40];
    h[0] = 0x60;
    h[4..6].copy_from_slice(&(payload.len() as u16).to_be_bytes());
    h[6] = next;
    h[7] = hop_limit;
    h[8..24].copy_from_slice(&src.octets());
    h[24..40].copy_from_slice(&dst.octets());
    h.extend_from_slice(payload);
    h
}

/// One TCP segment as it appears in the TCP header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpSegment {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    /// Raw options, padded to 4 bytes by the caller.
    pub options: Vec<u8>,
    pub payload: Vec<u8>,
}

/// TCP header + payload with the checksum over the IPv4 or IPv6 pseudo-header.
pub fn tcp(src: IpAddr, dst: IpAddr, seg: &TcpSegment) -> Vec<u8> {
    assert!(seg.options.len().is_multiple_of(4), "TCP options must be padded to 4 bytes");
    let hlen = 20 + seg.options.len();
    let mut t = vec![0u8; 20];
    t[0..2].copy_from_slice(&seg.src_port.to_be_bytes());
    t[2..4].copy_from_slice(&seg.dst_port.to_be_bytes());
    t[4..8].copy_from_slice(&seg.seq.to_be_bytes());
    t[8..12].copy_from_slice(&seg.ack.to_be_bytes());
    t[12] = ((hlen / 4) as u8) << 4;
    t[13] = seg.flags;
    t[14..16].copy_from_slice(&seg.window.to_be_bytes());
    t.extend_from_slice(&seg.options);
    t.extend_from_slice(&seg.payload);
    let len = t.len() as u32;
    let mut sum = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let s = inet_sum(inet_sum(0, &s.octets()), &d.octets());
            s + 6 + len
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let s = inet_sum(inet_sum(0, &s.octets()), &d.octets());
            s + (len >> 16) + (len & 0xffff) + 6
        }
        _ => panic!("TCP endpoints of different IP versions"),
    };
    sum = inet_sum(sum, &t);
    let ck = inet_fold(sum);
    t[16..18].copy_from_slice(&ck.to_be_bytes());
    t
}

/// SYN options as Windows sends them: MSS 1460, NOP, WS 8, NOP, NOP, SACK permitted.
pub fn syn_options() -> Vec<u8> {
    let mut o = vec![2, 4];
    o.extend_from_slice(&(MSS as u16).to_be_bytes());
    o.extend_from_slice(&[1, 3, 3, 8, 1, 1, 4, 2]);
    o
}

/// A MAC address derived from an IP address, so every host keeps one MAC.
pub fn mac_for(addr: IpAddr) -> [u8; 6] {
    let o = match addr {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    };
    let n = o.len();
    [0x00, 0x15, 0x5d, o[n - 3], o[n - 2], o[n - 1]]
}

/// Addresses of one TCP connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowSpec {
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub vlan: Option<u16>,
    pub client_mac: [u8; 6],
    pub server_mac: [u8; 6],
}

impl FlowSpec {
    pub fn new(client: SocketAddr, server: SocketAddr) -> Self {
        FlowSpec { client, server, vlan: None, client_mac: mac_for(client.ip()), server_mac: mac_for(server.ip()) }
    }

    pub fn v4(client: [u8; 4], client_port: u16, server: [u8; 4], server_port: u16) -> Self {
        Self::new(
            SocketAddr::new(IpAddr::V4(client.into()), client_port),
            SocketAddr::new(IpAddr::V4(server.into()), server_port),
        )
    }

    pub fn v6(client: Ipv6Addr, client_port: u16, server: Ipv6Addr, server_port: u16) -> Self {
        Self::new(SocketAddr::new(IpAddr::V6(client), client_port), SocketAddr::new(IpAddr::V6(server), server_port))
    }

    /// Tags every frame of the connection with 802.1Q VLAN `id`.
    pub fn vlan(mut self, id: u16) -> Self {
        self.vlan = Some(id);
        self
    }
}

/// Which side of a connection sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    Client,
    Server,
}

impl Dir {
    pub fn other(self) -> Dir {
        match self {
            Dir::Client => Dir::Server,
            Dir::Server => Dir::Client,
        }
    }
}

/// Index of a connection inside its `Capture`.
pub type FlowId = usize;

/// A segment prepared for a connection; emitting it (once, twice, late or never) is up to the test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub flow: FlowId,
    pub dir: Dir,
    pub tcp: TcpSegment,
}

#[derive(Debug, Clone)]
struct FlowState {
    spec: FlowSpec,
    /// Next sequence number each side will send.
    client_next: u32,
    server_next: u32,
}

impl FlowState {
    fn next_mut(&mut self, dir: Dir) -> &mut u32 {
        match dir {
            Dir::Client => &mut self.client_next,
            Dir::Server => &mut self.server_next,
        }
    }
    fn next(&self, dir: Dir) -> u32 {
        match dir {
            Dir::Client => self.client_next,
            Dir::Server => self.server_next,
        }
    }
}

/// How frames are framed on the capture interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Ethernet,
    /// LINKTYPE_RAW: frames start with the IP header.
    RawIp,
}

#[derive(Debug, Clone)]
struct Frame {
    ts_us: u64,
    data: Vec<u8>,
    seg: Option<Segment>,
}

/// Frame numbers by name.
pub type Marks = BTreeMap<String, u32>;

/// A capture under construction: frames from several connections, deterministic times, marks.
#[derive(Debug, Clone)]
pub struct Capture {
    frames: Vec<Frame>,
    now_us: u64,
    steps: Vec<u64>,
    step_idx: usize,
    marks: Marks,
    pending_marks: Vec<String>,
    flows: Vec<FlowState>,
    ip_ids: HashMap<IpAddr, u16>,
    link: Link,
}

impl Default for Capture {
    fn default() -> Self {
        Self::new()
    }
}

impl Capture {
    /// An Ethernet capture starting at `DEFAULT_START_US`, 96–263 µs between frames.
    pub fn new() -> Self {
        Capture {
            frames: Vec::new(),
            now_us: DEFAULT_START_US,
            steps: vec![142, 263, 118, 205, 96, 231, 174],
            step_idx: 0,
            marks: Marks::new(),
            pending_marks: Vec::new(),
            flows: Vec::new(),
            ip_ids: HashMap::new(),
            link: Link::Ethernet,
        }
    }

    /// A capture whose frames have no link-layer header (LINKTYPE_RAW).
    pub fn raw_ip() -> Self {
        Capture { link: Link::RawIp, ..Self::new() }
    }

    /// Sets the time of the next frame (µs since the epoch).
    pub fn set_time_us(&mut self, ts_us: u64) {
        self.now_us = ts_us;
    }

    /// Every following frame comes `step_us` after the previous one.
    pub fn set_step_us(&mut self, step_us: u64) {
        self.steps = vec![step_us];
        self.step_idx = 0;
    }

    /// Following frames are spaced by these steps, cycled.
    pub fn set_step_pattern(&mut self, steps: &[u64]) {
        assert!(!steps.is_empty());
        self.steps = steps.to_vec();
        self.step_idx = 0;
    }

    /// Idle time before the next frame, on top of the usual step.
    pub fn wait_us(&mut self, us: u64) {
        self.now_us += us;
    }

    /// Time the next frame will carry.
    pub fn now_us(&self) -> u64 {
        self.now_us
    }

    /// Names the last frame built.
    pub fn mark(&mut self, name: &str) -> u32 {
        let n = self.last_frame();
        assert!(n > 0, "mark {name:?} before any frame");
        self.set_mark(name, n);
        n
    }

    /// Names the next frame built.
    pub fn mark_next(&mut self, name: &str) {
        self.pending_marks.push(name.to_string());
    }

    /// Names an already-built frame.
    pub fn mark_frame(&mut self, name: &str, frame: u32) {
        assert!(frame >= 1 && frame <= self.last_frame(), "mark {name:?}: no frame {frame}");
        self.set_mark(name, frame);
    }

    fn set_mark(&mut self, name: &str, frame: u32) {
        let old = self.marks.insert(name.to_string(), frame);
        assert!(old.is_none(), "mark {name:?} defined twice");
    }

    /// Frame number of a mark; panics with the known marks when it does not exist.
    pub fn frame(&self, name: &str) -> u32 {
        match self.marks.get(name) {
            Some(&n) => n,
            None => panic!("no mark {name:?}; marks: {:?}", self.marks.keys().collect::<Vec<_>>()),
        }
    }

    pub fn marks(&self) -> &Marks {
        &self.marks
    }

    /// Number of the last frame built (0 when none).
    pub fn last_frame(&self) -> u32 {
        self.frames.len() as u32
    }

    pub fn frame_count(&self) -> u32 {
        self.frames.len() as u32
    }

    /// Capture time of frame `n` (1-based), µs since the epoch.
    pub fn frame_time_us(&self, n: u32) -> u64 {
        self.frames[n as usize - 1].ts_us
    }

    /// The captured bytes of frame `n` (1-based), link layer included.
    pub fn frame_data(&self, n: u32) -> &[u8] {
        &self.frames[n as usize - 1].data
    }

    /// The TCP segment frame `n` carried, if it was built by a connection.
    pub fn segment_of(&self, n: u32) -> Option<&Segment> {
        self.frames[n as usize - 1].seg.as_ref()
    }

    pub fn flow_spec(&self, flow: FlowId) -> &FlowSpec {
        &self.flows[flow].spec
    }

    /// The whole capture as a pcapng file.
    pub fn bytes(&self) -> Vec<u8> {
        let mut w = PcapngWriter::new();
        let linktype = match self.link {
            Link::Ethernet => LINKTYPE_ETHERNET,
            Link::RawIp => LINKTYPE_RAW,
        };
        let iface = w.interface(linktype, 262_144);
        for f in &self.frames {
            w.packet(iface, f.ts_us, &f.data);
        }
        w.into_bytes()
    }

    /// Appends an arbitrary link-layer frame (not part of any connection); returns its number.
    pub fn raw_frame(&mut self, data: Vec<u8>) -> u32 {
        self.push(data, None)
    }

    fn push(&mut self, data: Vec<u8>, seg: Option<Segment>) -> u32 {
        let ts_us = self.now_us;
        self.now_us += self.steps[self.step_idx % self.steps.len()];
        self.step_idx += 1;
        self.frames.push(Frame { ts_us, data, seg });
        let n = self.last_frame();
        for name in std::mem::take(&mut self.pending_marks) {
            self.set_mark(&name, n);
        }
        n
    }

    fn ip_id(&mut self, addr: IpAddr) -> u16 {
        let start = match addr {
            IpAddr::V4(a) => 0x1000u16.wrapping_add(u16::from(a.octets()[3]) << 8),
            IpAddr::V6(_) => 0,
        };
        let id = self.ip_ids.entry(addr).or_insert(start);
        let v = *id;
        *id = id.wrapping_add(1);
        v
    }

    /// Builds the frame for `seg` and appends it; returns its number.
    pub fn emit(&mut self, seg: &Segment) -> u32 {
        let spec = self.flows[seg.flow].spec.clone();
        let (src, dst, src_mac, dst_mac) = match seg.dir {
            Dir::Client => (spec.client, spec.server, spec.client_mac, spec.server_mac),
            Dir::Server => (spec.server, spec.client, spec.server_mac, spec.client_mac),
        };
        let tcp_bytes = tcp(src.ip(), dst.ip(), &seg.tcp);
        let (ip, ethertype) = match (src.ip(), dst.ip()) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let id = self.ip_id(src.ip());
                (ipv4(s, d, id, 128, 6, &tcp_bytes), ETHERTYPE_IPV4)
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => (ipv6(s, d, 128, 6, &tcp_bytes), ETHERTYPE_IPV6),
            _ => panic!("mixed IP versions in one flow"),
        };
        let data = match self.link {
            Link::Ethernet => ethernet(dst_mac, src_mac, spec.vlan, ethertype, &ip),
            Link::RawIp => {
                assert!(spec.vlan.is_none(), "VLAN tags need an Ethernet capture");
                ip
            }
        };
        self.push(data, Some(seg.clone()))
    }

    /// Re-sends the segment of an earlier frame unchanged (new IP ID, new time); returns the new frame.
    pub fn retransmit(&mut self, frame: u32) -> u32 {
        let seg = self.segment_of(frame).unwrap_or_else(|| panic!("frame {frame} carries no TCP segment")).clone();
        self.emit(&seg)
    }

    /// Registers a connection whose handshake is not in the capture (it started earlier).
    pub fn open(&mut self, spec: FlowSpec) -> FlowId {
        let (cisn, sisn) = isns(&spec);
        self.flows.push(FlowState { spec, client_next: cisn.wrapping_add(1), server_next: sisn.wrapping_add(1) });
        self.flows.len() - 1
    }

    /// Opens a connection with SYN, SYN/ACK, ACK (Windows options, window scale 8).
    pub fn connect(&mut self, spec: FlowSpec) -> FlowId {
        let (cisn, sisn) = isns(&spec);
        self.handshake(spec, cisn, sisn)
    }

    /// Opens a new connection on the addresses and ports of an earlier, closed one (port reuse):
    /// its initial sequence numbers have moved on, as a real stack's would.
    pub fn reconnect(&mut self, spec: FlowSpec) -> FlowId {
        let (cisn, sisn) = isns(&spec);
        self.handshake(spec, cisn.wrapping_add(0x4000_0000), sisn.wrapping_add(0x4000_0000))
    }

    fn handshake(&mut self, spec: FlowSpec, cisn: u32, sisn: u32) -> FlowId {
        self.flows.push(FlowState { spec, client_next: cisn.wrapping_add(1), server_next: sisn.wrapping_add(1) });
        let f = self.flows.len() - 1;
        let syn = self.segment(f, Dir::Client, (cisn, 0), (TCP_SYN, 8192), syn_options(), Vec::new());
        self.emit(&syn);
        let synack = self.segment(
            f,
            Dir::Server,
            (sisn, cisn.wrapping_add(1)),
            (TCP_SYN | TCP_ACK, 8192),
            syn_options(),
            Vec::new(),
        );
        self.emit(&synack);
        self.ack(f, Dir::Client);
        f
    }

    /// One TCP segment of `flow` from `dir`: (seq, ack), (flags, window), options and payload.
    fn segment(
        &self,
        flow: FlowId,
        dir: Dir,
        (seq, ack): (u32, u32),
        (flags, window): (u8, u16),
        options: Vec<u8>,
        payload: Vec<u8>,
    ) -> Segment {
        let spec = &self.flows[flow].spec;
        let (src_port, dst_port) = match dir {
            Dir::Client => (spec.client.port(), spec.server.port()),
            Dir::Server => (spec.server.port(), spec.client.port()),
        };
        Segment { flow, dir, tcp: TcpSegment { src_port, dst_port, seq, ack, flags, window, options, payload } }
    }

    /// Prepares `bytes` from `dir` as segments of the given sizes (the rest, split at the MSS,
    /// follows), advancing the sequence numbers without emitting anything.
    pub fn segments(&mut self, flow: FlowId, dir: Dir, bytes: &[u8], sizes: &[usize]) -> Vec<Segment> {
        let total: usize = sizes.iter().sum();
        assert!(total <= bytes.len(), "segment sizes {sizes:?} exceed the {} bytes to send", bytes.len());
        let mut cuts: Vec<usize> = sizes.to_vec();
        let mut rest = bytes.len() - total;
        while rest > 0 {
            let n = rest.min(MSS);
            cuts.push(n);
            rest -= n;
        }
        let ack = self.flows[flow].next(dir.other());
        let mut out = Vec::new();
        let mut off = 0;
        for (i, &n) in cuts.iter().enumerate() {
            assert!(n > 0 && n <= MSS, "segment size {n} outside 1..={MSS}");
            let seq = self.flows[flow].next(dir);
            let flags = if i + 1 == cuts.len() { TCP_PSH | TCP_ACK } else { TCP_ACK };
            out.push(self.segment(flow, dir, (seq, ack), (flags, WINDOW), Vec::new(), bytes[off..off + n].to_vec()));
            let next = self.flows[flow].next_mut(dir);
            *next = next.wrapping_add(n as u32);
            off += n;
        }
        out
    }

    /// Sends `bytes` from `dir` (split at the MSS); returns the last frame number.
    pub fn send(&mut self, flow: FlowId, dir: Dir, bytes: &[u8]) -> u32 {
        self.send_split(flow, dir, bytes, &[])
    }

    /// Sends `bytes` from `dir` in segments of the given sizes, the rest after; returns the last frame.
    pub fn send_split(&mut self, flow: FlowId, dir: Dir, bytes: &[u8], sizes: &[usize]) -> u32 {
        let segs = self.segments(flow, dir, bytes, sizes);
        let mut last = self.last_frame();
        for s in &segs {
            last = self.emit(s);
        }
        last
    }

    pub fn client(&mut self, flow: FlowId, bytes: &[u8]) -> u32 {
        self.send(flow, Dir::Client, bytes)
    }

    pub fn server(&mut self, flow: FlowId, bytes: &[u8]) -> u32 {
        self.send(flow, Dir::Server, bytes)
    }

    pub fn client_split(&mut self, flow: FlowId, bytes: &[u8], sizes: &[usize]) -> u32 {
        self.send_split(flow, Dir::Client, bytes, sizes)
    }

    pub fn server_split(&mut self, flow: FlowId, bytes: &[u8], sizes: &[usize]) -> u32 {
        self.send_split(flow, Dir::Server, bytes, sizes)
    }

    /// A pure ACK from `dir` for everything the other side sent.
    pub fn ack(&mut self, flow: FlowId, dir: Dir) -> u32 {
        let st = &self.flows[flow];
        let seg =
            self.segment(flow, dir, (st.next(dir), st.next(dir.other())), (TCP_ACK, WINDOW), Vec::new(), Vec::new());
        self.emit(&seg)
    }

    /// FIN/ACK from `dir`.
    pub fn fin(&mut self, flow: FlowId, dir: Dir) -> u32 {
        let st = &self.flows[flow];
        let seg = self.segment(
            flow,
            dir,
            (st.next(dir), st.next(dir.other())),
            (TCP_FIN | TCP_ACK, WINDOW),
            Vec::new(),
            Vec::new(),
        );
        let next = self.flows[flow].next_mut(dir);
        *next = next.wrapping_add(1);
        self.emit(&seg)
    }

    /// RST/ACK from `dir` with a zero window, as Windows aborts a connection.
    pub fn rst(&mut self, flow: FlowId, dir: Dir) -> u32 {
        let st = &self.flows[flow];
        let seg = self.segment(
            flow,
            dir,
            (st.next(dir), st.next(dir.other())),
            (TCP_RST | TCP_ACK, 0),
            Vec::new(),
            Vec::new(),
        );
        self.emit(&seg)
    }

    /// Orderly close started by `dir`: FIN/ACK, ACK, FIN/ACK back, ACK. Returns the first FIN's frame.
    pub fn close_by(&mut self, flow: FlowId, dir: Dir) -> u32 {
        let fin = self.fin(flow, dir);
        self.ack(flow, dir.other());
        self.fin(flow, dir.other());
        self.ack(flow, dir);
        fin
    }
}

/// Deterministic initial sequence numbers derived from the ports.
fn isns(spec: &FlowSpec) -> (u32, u32) {
    let c = u32::from(spec.client.port()).wrapping_mul(2_654_435_761) ^ 0x5a5a_0000;
    let s = u32::from(spec.server.port()).wrapping_mul(40_503).wrapping_add(c.rotate_left(13));
    (c, s)
}
