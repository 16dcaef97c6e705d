//! Turns fuzz bytes into a sequence of TCP segments and into whole Ethernet frames around them.
//!
//! Shared by the `flow` and `session` fuzz targets, the seed writer (`seeds.py` writes this
//! format) and `tests/fuzz_regressions.rs` (which includes this file by path), so a crashing input
//! replays the same way everywhere. Pure Rust, no libFuzzer.
//!
//! One record per segment, repeated until the bytes run out (at most `MAX_SEGMENTS`):
//!
//! ```text
//! b0   bits 0-1 stream (0..4), bit 2 server->client, bit 3 has_dcerpc,
//!      bits 4-5 TCP flags (0 PSH|ACK, 1 ACK, 2 FIN|ACK, 3 RST|ACK), bit 6 reassembled, bit 7 snaplen cut
//! b1   bits 0-2 sequence mode:
//!        0 next in order          1 the direction's previous segment again (same seq and bytes)
//!        2 gap of u8 bytes        3 overlap: u8 bytes back from the next
//!        4 absolute u32 LE        5 gap of u16 LE bytes
//!        6 near the wrap (0xffff_ff00 + u8)   7 next in order
//!      bits 3-7 time step in ms
//! [mode-specific: u8, u16 or u32]
//! u16 LE payload length (capped to what is left), payload
//! [reassembled: u16 LE L: the last L bytes this direction carried, this payload included]
//! [snaplen cut: u8 n: the captured frame loses its last n bytes]
//! ```
//!
//! Stream 3 runs over IPv6; streams 0 and 1 share a host pair, stream 2 has its own.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use dcomauth::track::Endpoint;

pub const MAX_SEGMENTS: usize = 64;
pub const STREAMS: usize = 4;

pub const FIN: u8 = 0x01;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seg {
    pub stream: u32,
    /// Server to client (false: client to server).
    pub from_server: bool,
    pub has_dcerpc: bool,
    pub flags: u8,
    pub seq: u32,
    pub time_ms: u64,
    pub payload: Vec<u8>,
    pub reassembled: Option<Vec<u8>>,
    /// Bytes the capture cut off the end of the frame (snaplen).
    pub cut: usize,
    /// This record asked for the direction's previous segment again, unchanged.
    pub repeat: bool,
}

struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.data.split_first()?;
        self.data = rest;
        Some(b)
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes([self.u8()?, self.u8()?]))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes([self.u8()?, self.u8()?, self.u8()?, self.u8()?]))
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }
}

/// Per direction: where the next in-order byte is, the last segment, and what was carried.
#[derive(Default, Clone)]
struct DirState {
    next: Option<u32>,
    last: Option<(u32, Vec<u8>)>,
    history: Vec<u8>,
}

/// Initial sequence number of a direction, distinct per stream and side.
fn isn(stream: u32, from_server: bool) -> u32 {
    0x1000_0000u32.wrapping_mul(stream + 1).wrapping_add(if from_server { 0x0800_0000 } else { 1 })
}

/// Decodes the segment records; a record cut short by the end of the bytes is dropped.
pub fn decode(data: &[u8]) -> Vec<Seg> {
    let mut r = Reader { data };
    let mut dirs: Vec<DirState> = vec![DirState::default(); STREAMS * 2];
    let mut out = Vec::new();
    let mut time_ms = 0u64;
    while out.len() < MAX_SEGMENTS {
        let Some(seg) = record(&mut r, &mut dirs, &mut time_ms) else { break };
        out.push(seg);
    }
    out
}

fn record(r: &mut Reader<'_>, dirs: &mut [DirState], time_ms: &mut u64) -> Option<Seg> {
    let b0 = r.u8()?;
    let b1 = r.u8()?;
    let stream = u32::from(b0 & 3);
    let from_server = b0 & 4 != 0;
    let has_dcerpc = b0 & 8 != 0;
    let flags = match (b0 >> 4) & 3 {
        0 => PSH | ACK,
        1 => ACK,
        2 => FIN | ACK,
        _ => RST | ACK,
    };
    let dir = &mut dirs[(stream as usize) * 2 + usize::from(from_server)];
    let next = dir.next.unwrap_or_else(|| isn(stream, from_server));
    *time_ms += u64::from(b1 >> 3);
    let mut repeat = false;
    let seq = match b1 & 7 {
        1 => match &dir.last {
            Some((seq, _)) => {
                repeat = true;
                *seq
            }
            None => next,
        },
        2 => next.wrapping_add(u32::from(r.u8()?)),
        3 => next.wrapping_sub(u32::from(r.u8()?)),
        4 => r.u32()?,
        5 => next.wrapping_add(u32::from(r.u16()?)),
        6 => 0xffff_ff00u32.wrapping_add(u32::from(r.u8()?)),
        _ => next,
    };
    let payload = if repeat {
        dir.last.as_ref().map(|(_, p)| p.clone()).unwrap_or_default()
    } else {
        let len = usize::from(r.u16()?);
        r.take(len).to_vec()
    };
    let reassembled = if b0 & 0x40 != 0 {
        let want = usize::from(r.u16()?);
        let mut hist = dir.history.clone();
        hist.extend_from_slice(&payload);
        let from = hist.len().saturating_sub(want);
        Some(hist[from..].to_vec())
    } else {
        None
    };
    let cut = if b0 & 0x80 != 0 { usize::from(r.u8()?) } else { 0 };
    // SYN and FIN each take one sequence number.
    let consumed = payload.len() as u32 + u32::from(flags & FIN != 0);
    let end = seq.wrapping_add(consumed);
    if dir.next.is_none() || (end.wrapping_sub(next) as i32) > 0 {
        dir.next = Some(end);
    }
    if !repeat {
        dir.history.extend_from_slice(&payload);
        // Wireshark never reassembles more than a PDU's frag_length (u16).
        let keep = dir.history.len().saturating_sub(1 << 16);
        dir.history.drain(..keep);
    }
    dir.last = Some((seq, payload.clone()));
    Some(Seg { stream, from_server, has_dcerpc, flags, seq, time_ms: *time_ms, payload, reassembled, cut, repeat })
}

/// Client and server of a stream.
pub fn endpoints(stream: u32) -> (Endpoint, Endpoint) {
    let v4 = |a, b, c, d| IpAddr::V4(Ipv4Addr::new(a, b, c, d));
    let (client, server) = match stream {
        0 => (Endpoint { addr: v4(10, 0, 0, 10), port: 59916 }, Endpoint { addr: v4(10, 0, 0, 20), port: 135 }),
        1 => (Endpoint { addr: v4(10, 0, 0, 10), port: 59917 }, Endpoint { addr: v4(10, 0, 0, 20), port: 49157 }),
        2 => (Endpoint { addr: v4(10, 0, 0, 11), port: 50000 }, Endpoint { addr: v4(10, 0, 0, 30), port: 49158 }),
        _ => {
            let c = IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0x10));
            let s = IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0x20));
            (Endpoint { addr: c, port: 50001 }, Endpoint { addr: s, port: 49159 })
        }
    };
    (client, server)
}

/// (src, dst) of a segment.
pub fn src_dst(seg: &Seg) -> (Endpoint, Endpoint) {
    let (c, s) = endpoints(seg.stream);
    if seg.from_server {
        (s, c)
    } else {
        (c, s)
    }
}

/// The captured bytes of the Ethernet/IP/TCP frame carrying `seg` (after any snaplen cut).
pub fn frame(seg: &Seg) -> Vec<u8> {
    let (src, dst) = src_dst(seg);
    let mut tcp = Vec::with_capacity(20 + seg.payload.len());
    tcp.extend_from_slice(&src.port.to_be_bytes());
    tcp.extend_from_slice(&dst.port.to_be_bytes());
    tcp.extend_from_slice(&seg.seq.to_be_bytes());
    tcp.extend_from_slice(&[0, 0, 0, 1, 0x50, seg.flags, 0x02, 0x01, 0, 0, 0, 0]);
    tcp.extend_from_slice(&seg.payload);
    let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1];
    match (src.addr, dst.addr) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            f.extend_from_slice(&[0x08, 0x00, 0x45, 0]);
            // A segment larger than an IPv4 packet can say is sent as with TSO: total length 0.
            let total = u16::try_from(20 + tcp.len()).unwrap_or(0);
            f.extend_from_slice(&total.to_be_bytes());
            f.extend_from_slice(&[0, 1, 0x40, 0, 128, 6, 0, 0]);
            f.extend_from_slice(&s.octets());
            f.extend_from_slice(&d.octets());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
            let plen = u16::try_from(tcp.len()).unwrap_or(0);
            f.extend_from_slice(&plen.to_be_bytes());
            f.extend_from_slice(&[6, 64]);
            f.extend_from_slice(&s.octets());
            f.extend_from_slice(&d.octets());
        }
        _ => unreachable!("endpoints of one stream share a family"),
    }
    f.extend_from_slice(&tcp);
    let keep = f.len().saturating_sub(seg.cut);
    f.truncate(keep);
    f
}
