//! Finds the TCP segment of a frame in its captured bytes, given the addresses and ports
//! Wireshark already decoded; works for any link layer (Ethernet, VLAN, SLL, raw IP).

use std::net::IpAddr;

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;

/// A TCP segment located inside a frame's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub seq: u32,
    pub flags: u8,
    /// Offset and length of the payload inside the frame bytes (IP padding excluded).
    pub payload_offset: usize,
    pub payload_len: usize,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Locates the IP header carrying `src`→`dst` and the TCP header with the given ports after it.
/// The first match wins, so an outer tunnel header with other addresses is skipped.
pub fn locate(frame: &[u8], src: IpAddr, dst: IpAddr, sport: u16, dport: u16) -> Option<Segment> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => locate_v4(frame, &s.octets(), &d.octets(), sport, dport),
        (IpAddr::V6(s), IpAddr::V6(d)) => locate_v6(frame, &s.octets(), &d.octets(), sport, dport),
        _ => None,
    }
}

fn locate_v4(frame: &[u8], src: &[u8; 4], dst: &[u8; 4], sport: u16, dport: u16) -> Option<Segment> {
    // Candidate IPv4 headers: version 4 at ip, src at ip+12, dst at ip+16, protocol 6 at ip+9.
    let last = frame.len().checked_sub(40)?;
    (0..=last).find_map(|ip| {
        let vihl = *frame.get(ip)?;
        let ihl = usize::from(vihl & 0x0f) * 4;
        if vihl >> 4 != 4 || ihl < 20 || frame.get(ip + 9) != Some(&6) {
            return None;
        }
        if frame.get(ip + 12..ip + 16)? != src || frame.get(ip + 16..ip + 20)? != dst {
            return None;
        }
        let total = usize::from(be16(frame, ip + 2)?);
        // Total length 0 (or too small) is a host capturing its own offloaded send (TSO): the
        // payload runs to the end of the captured frame, as Wireshark assumes too.
        let ip_end = if total < ihl + 20 { frame.len() } else { (ip + total).min(frame.len()) };
        tcp_at(frame, ip + ihl, ip_end, sport, dport)
    })
}

fn locate_v6(frame: &[u8], src: &[u8; 16], dst: &[u8; 16], sport: u16, dport: u16) -> Option<Segment> {
    let last = frame.len().checked_sub(60)?;
    (0..=last).find_map(|ip| {
        if frame.get(ip)? >> 4 != 6 || !matches!(frame.get(ip + 6), Some(0 | 6 | 43 | 44 | 60)) {
            return None;
        }
        if frame.get(ip + 8..ip + 24)? != src || frame.get(ip + 24..ip + 40)? != dst {
            return None;
        }
        let payload = usize::from(be16(frame, ip + 4)?);
        // Payload length 0 with data behind it: a jumbogram or an offloaded send; use the frame.
        let ip_end = if payload == 0 { frame.len() } else { (ip + 40 + payload).min(frame.len()) };
        tcp_after_v6_extensions(frame, ip, ip_end, sport, dport)
    })
}

/// Follows IPv6 extension headers (hop-by-hop, routing, destination options, first fragments)
/// from the fixed header at `ip` to TCP.
fn tcp_after_v6_extensions(frame: &[u8], ip: usize, end: usize, sport: u16, dport: u16) -> Option<Segment> {
    let mut next = *frame.get(ip + 6)?;
    let mut at = ip + 40;
    for _ in 0..8 {
        match next {
            6 => return tcp_at(frame, at, end, sport, dport),
            0 | 43 | 60 => {
                next = *frame.get(at)?;
                at += (usize::from(*frame.get(at + 1)?) + 1) * 8;
            }
            // Fragment header: only a first fragment (offset 0) starts with the TCP header.
            44 => {
                if be16(frame, at + 2)? & 0xfff8 != 0 {
                    return None;
                }
                next = *frame.get(at)?;
                at += 8;
            }
            _ => return None,
        }
    }
    None
}

fn tcp_at(frame: &[u8], at: usize, end: usize, sport: u16, dport: u16) -> Option<Segment> {
    if be16(frame, at)? != sport || be16(frame, at + 2)? != dport {
        return None;
    }
    let hlen = usize::from(frame.get(at + 12)? >> 4) * 4;
    let payload_offset = at + hlen;
    if hlen < 20 || payload_offset > end {
        return None;
    }
    Some(Segment {
        seq: be32(frame, at + 4)?,
        flags: *frame.get(at + 13)?,
        payload_offset,
        payload_len: end - payload_offset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn tcp(sport: u16, dport: u16, seq: u32, flags: u8) -> Vec<u8> {
        let mut t = Vec::new();
        t.extend_from_slice(&sport.to_be_bytes());
        t.extend_from_slice(&dport.to_be_bytes());
        t.extend_from_slice(&seq.to_be_bytes());
        t.extend_from_slice(&[0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        t
    }

    fn ipv4_frame(payload: &[u8], flags: u8, pad: usize) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        let total = (20 + 20 + payload.len()) as u16;
        f.extend_from_slice(&[0x45, 0]);
        f.extend_from_slice(&total.to_be_bytes());
        f.extend_from_slice(&[0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 10, 10, 0, 0, 20]);
        f.extend_from_slice(&tcp(59916, 49157, 1000, flags));
        f.extend_from_slice(payload);
        f.extend(std::iter::repeat_n(0, pad));
        f
    }

    const C: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 10));
    const S: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 20));

    #[test]
    fn ethernet_ipv4_segment_payload_excludes_ethernet_padding() {
        let frame = ipv4_frame(b"", FIN | 0x10, 6);
        let seg = locate(&frame, C, S, 59916, 49157).expect("found");
        assert_eq!((seg.seq, seg.flags & FIN, seg.payload_len), (1000, FIN, 0));
    }

    #[test]
    fn payload_range_points_at_the_data() {
        let frame = ipv4_frame(b"\x05\x00\x0b", 0x18, 0);
        let seg = locate(&frame, C, S, 59916, 49157).expect("found");
        assert_eq!(&frame[seg.payload_offset..seg.payload_offset + seg.payload_len], b"\x05\x00\x0b");
    }

    #[test]
    fn wrong_direction_or_ports_do_not_match() {
        let frame = ipv4_frame(b"abc", 0x18, 0);
        assert_eq!(locate(&frame, S, C, 59916, 49157), None);
        assert_eq!(locate(&frame, C, S, 49157, 59916), None);
    }

    #[test]
    fn ipv6_segment() {
        let s6: Ipv6Addr = "fd00::10".parse().unwrap();
        let d6: Ipv6Addr = "fd00::20".parse().unwrap();
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0, 0, 23, 6, 64]);
        f.extend_from_slice(&s6.octets());
        f.extend_from_slice(&d6.octets());
        f.extend_from_slice(&tcp(1, 135, 7, 0x18));
        f.extend_from_slice(b"xyz");
        let seg = locate(&f, IpAddr::V6(s6), IpAddr::V6(d6), 1, 135).expect("found");
        assert_eq!((seg.seq, seg.payload_len), (7, 3));
    }

    #[test]
    fn truncated_frames_never_panic() {
        let frame = ipv4_frame(b"hello", 0x18, 0);
        for n in 0..frame.len() {
            let _ = locate(&frame[..n], C, S, 59916, 49157);
        }
    }

    #[test]
    fn an_offloaded_send_with_total_length_zero_runs_to_the_frame_end() {
        let mut frame = ipv4_frame(b"\x05\x00\x10", 0x18, 0);
        frame[16] = 0;
        frame[17] = 0;
        let seg = locate(&frame, C, S, 59916, 49157).expect("found");
        assert_eq!(seg.payload_len, 3);
    }

    #[test]
    fn ipv6_with_a_destination_options_header() {
        let s6: Ipv6Addr = "fd00::10".parse().unwrap();
        let d6: Ipv6Addr = "fd00::20".parse().unwrap();
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0, 0, 31, 60, 64]);
        f.extend_from_slice(&s6.octets());
        f.extend_from_slice(&d6.octets());
        f.extend_from_slice(&[6, 0, 1, 4, 0, 0, 0, 0]);
        f.extend_from_slice(&tcp(1, 135, 9, 0x18));
        f.extend_from_slice(b"xyz");
        let seg = locate(&f, IpAddr::V6(s6), IpAddr::V6(d6), 1, 135).expect("found");
        assert_eq!((seg.seq, seg.payload_len), (9, 3));
    }
}
