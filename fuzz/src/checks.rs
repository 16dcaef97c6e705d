//! What each fuzz target asserts, one function per target. Every function panics on a finding.
//!
//! Included by path from `tests/fuzz_regressions.rs` too, so a regression test runs exactly the
//! checks the fuzzer ran. Pure Rust, no libFuzzer.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use dcomauth::flow::{Flows, Plan, Source};
use dcomauth::proto::dcerpc::{self, Body, ByteOrder};
use dcomauth::proto::{dcom, ntlmssp, spnego, tcp};
use dcomauth::session::{FrameInput, Session};
use dcomauth::track::FrameVerdict;

use crate::segments::{self, Seg};

/// `inner` lies inside `outer` (same allocation, in bounds).
fn within(outer: &[u8], inner: &[u8]) -> bool {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    inner.is_empty() || (i >= o && i + inner.len() <= o + outer.len())
}

/// DCE/RPC PDU + sec_trailer: lengths within the input, the header agrees with `parse_header`,
/// trailing bytes change nothing, and the auth token and stub point into the PDU.
pub fn dcerpc(data: &[u8]) {
    let header = dcerpc::parse_header(data);
    match dcerpc::parse_pdu(data) {
        Ok((pdu, used)) => {
            assert_eq!(used, usize::from(pdu.header.frag_length));
            assert!((dcerpc::HEADER_LEN..=data.len()).contains(&used), "used {used} of {}", data.len());
            assert_eq!(header, Ok(pdu.header));
            let bytes = &data[..used];
            if let Some(auth) = pdu.auth {
                assert_eq!(auth.token.len(), usize::from(pdu.header.auth_length));
                assert!(within(&bytes[dcerpc::HEADER_LEN + dcerpc::SEC_TRAILER_LEN..], auth.token));
                // What the tracker does with a token next.
                if let Ok(spnego::Inner::Ntlmssp(t)) = spnego::inner_token(auth.token) {
                    assert!(within(auth.token, t));
                    let _ = ntlmssp::parse(t);
                }
            }
            let stub = match &pdu.body {
                Body::Request(r) => Some(r.stub),
                Body::Response(r) => Some(r.stub),
                _ => None,
            };
            if let Some(stub) = stub {
                assert!(within(&bytes[dcerpc::HEADER_LEN..], stub));
                assert!(dcom::rem_query_interface_iids(stub, pdu.header.byte_order).len() <= stub.len() / 16);
            }
            // The PDU alone parses the same: nothing past frag_length is read.
            let (again, used_again) = dcerpc::parse_pdu(bytes).expect("the PDU's own bytes parse");
            assert_eq!((again, used_again), (pdu, used));
        }
        Err(dcerpc::Error::Incomplete { needed }) => {
            assert!(needed > data.len(), "Incomplete needs {needed}, {} there", data.len());
        }
        Err(_) => {}
    }
}

/// NTLMSSP: decoded strings are no longer than the message allows.
pub fn ntlmssp(data: &[u8]) {
    match ntlmssp::parse(data) {
        Ok(ntlmssp::Message::Authenticate(a)) => {
            assert!(data.starts_with(ntlmssp::SIGNATURE));
            for s in [&a.domain, &a.user, &a.workstation] {
                assert!(s.chars().count() <= data.len(), "{} chars from {} bytes", s.chars().count(), data.len());
            }
        }
        Ok(ntlmssp::Message::Challenge { target_name, .. }) => assert!(target_name.chars().count() <= data.len()),
        Ok(ntlmssp::Message::Negotiate { .. }) => assert!(data.len() >= 16),
        Err(_) => {}
    }
}

/// SPNEGO walk: an NTLMSSP token found is inside the input; bytes after a complete token change
/// nothing.
pub fn spnego(data: &[u8]) {
    let first = spnego::inner_token(data);
    if let Ok(spnego::Inner::Ntlmssp(t)) = first {
        assert!(within(data, t));
        assert!(t.starts_with(ntlmssp::SIGNATURE));
        ntlmssp(t);
    }
    if first.is_ok() && !data.starts_with(ntlmssp::SIGNATURE) {
        let mut longer = data.to_vec();
        longer.extend_from_slice(&[0xa2, 0x04, 0x04, 0x02, 0x00, 0x00]);
        assert_eq!(spnego::inner_token(&longer), first, "trailing bytes changed the walk");
    }
}

/// RemQueryInterface: at most 64 IIDs, each backed by 16 bytes of stub.
pub fn dcom(data: &[u8]) {
    let Some((&b0, stub)) = data.split_first() else { return };
    let order = if b0 & 1 == 1 { ByteOrder::Little } else { ByteOrder::Big };
    let iids = dcom::rem_query_interface_iids(stub, order);
    assert!(iids.len() <= 64 && iids.len() * 16 <= stub.len(), "{} IIDs from {} bytes", iids.len(), stub.len());
    for iid in &iids {
        let _ = dcom::method_name(iid, u16::from(b0));
    }
}

/// TCP/IP walk: `data[0]` says where (mod 64) the IP header whose addresses and ports are asked
/// for sits; the segment found has a TCP header with those ports right before its payload.
pub fn tcp(data: &[u8]) {
    let Some((&hint, frame)) = data.split_first() else { return };
    let ip = usize::from(hint & 0x3f);
    let get = |at: usize, n: usize| frame.get(at..at + n);
    let (src, dst, tcp_at) = match frame.get(ip).map(|b| b >> 4) {
        Some(6) => {
            let s: [u8; 16] = get(ip + 8, 16).and_then(|b| b.try_into().ok()).unwrap_or_default();
            let d: [u8; 16] = get(ip + 24, 16).and_then(|b| b.try_into().ok()).unwrap_or_default();
            (IpAddr::V6(Ipv6Addr::from(s)), IpAddr::V6(Ipv6Addr::from(d)), ip + 40)
        }
        _ => {
            let s: [u8; 4] = get(ip + 12, 4).and_then(|b| b.try_into().ok()).unwrap_or_default();
            let d: [u8; 4] = get(ip + 16, 4).and_then(|b| b.try_into().ok()).unwrap_or_default();
            let ihl = usize::from(frame.get(ip).map_or(5, |b| b & 0x0f)) * 4;
            (IpAddr::V4(Ipv4Addr::from(s)), IpAddr::V4(Ipv4Addr::from(d)), ip + ihl)
        }
    };
    let port = |at: usize| get(at, 2).map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
    let (sport, dport) = (port(tcp_at), port(tcp_at + 2));
    // bit 6: ask for the reverse direction, which must then be found elsewhere or not at all.
    let (src, dst, sport, dport) = if hint & 0x40 != 0 { (dst, src, dport, sport) } else { (src, dst, sport, dport) };
    let Some(seg) = tcp::locate(frame, src, dst, sport, dport) else { return };
    let end = seg.payload_offset.checked_add(seg.payload_len).expect("payload end overflows");
    assert!(end <= frame.len(), "payload {}+{} past {}", seg.payload_offset, seg.payload_len, frame.len());
    let min_headers = if src.is_ipv4() { 40 } else { 60 };
    assert!(seg.payload_offset >= min_headers, "payload at {}", seg.payload_offset);
    // Some TCP header with those ports ends exactly where the payload starts.
    let found = (0..=seg.payload_offset - 20).any(|t| {
        port(t) == sport
            && port(t + 2) == dport
            && frame.get(t + 12).is_some_and(|b| t + usize::from(b >> 4) * 4 == seg.payload_offset)
            && get(t + 4, 4).is_some_and(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) == seg.seq)
            && frame.get(t + 13) == Some(&seg.flags)
    });
    assert!(found, "no TCP header with ports {sport}->{dport} before the payload at {}", seg.payload_offset);
}

/// Every PDU a plan names is in its buffer, parses as a header of exactly that length, and the
/// PDUs of one buffer come in order without overlapping.
fn check_plan(plan: &Plan, payload: &[u8], reassembled: Option<&[u8]>) {
    let Plan::Pdus(pdus) = plan else { return };
    let mut ends = [0usize; 2];
    for &(source, off, len) in pdus {
        let (buf, slot) = match source {
            Source::Payload => (payload, 0),
            Source::Reassembled => (reassembled.expect("Reassembled without reassembled bytes"), 1),
        };
        let end = off.checked_add(len).expect("PDU end overflows");
        let bytes = buf.get(off..end).unwrap_or_else(|| panic!("PDU {off}+{len} outside {} bytes", buf.len()));
        let header = dcerpc::parse_header(bytes).expect("a planned PDU starts with a header");
        assert_eq!(usize::from(header.frag_length), len);
        assert!(off >= ends[slot], "PDU at {off} overlaps the one before (ended at {})", ends[slot]);
        ends[slot] = end;
    }
}

/// The flow layer over a segment sequence: plans stay in bounds, a direction's last segment sent
/// again unchanged is a retransmission, and a second run over the same segments plans the same.
pub fn flow(data: &[u8]) {
    let segs = segments::decode(data);
    let run = |check: bool| -> Vec<Plan> {
        let mut flows = Flows::default();
        segs.iter()
            .map(|s| {
                let plan = flows.segment(s.stream, !s.from_server, s.seq, &s.payload, s.reassembled.as_deref());
                if check {
                    check_plan(&plan, &s.payload, s.reassembled.as_deref());
                    if s.repeat && !s.payload.is_empty() {
                        assert_eq!(
                            plan,
                            Plan::Retransmission,
                            "segment sent again at seq {:#x} was taken as new",
                            s.seq
                        );
                    }
                }
                plan
            })
            .collect()
    };
    let first = run(true);
    assert_eq!(first, run(false), "the same segments planned differently");
}

/// Builds the frame input of a segment (`frame` is its captured bytes).
fn input<'a>(n: u32, seg: &'a Seg, frame: &'a [u8]) -> FrameInput<'a> {
    let (src, dst) = segments::src_dst(seg);
    FrameInput {
        frame: n,
        time_ns: i64::try_from(seg.time_ms).unwrap_or(i64::MAX).saturating_mul(1_000_000),
        stream: seg.stream,
        src,
        dst,
        frame_bytes: frame,
        reassembled: seg.reassembled.as_deref(),
        has_dcerpc: seg.has_dcerpc,
    }
}

/// The whole session over synthetic frames: the replay equals the first pass, a frame dissected
/// again keeps its verdict, a second session over the same frames agrees, every PDU view is
/// backed by bytes of the frame, and the reports render.
pub fn session(data: &[u8]) {
    let segs = segments::decode(data);
    let frames: Vec<Vec<u8>> = segs.iter().map(segments::frame).collect();
    let run = || -> (Session, Vec<Option<FrameVerdict>>) {
        let mut s = Session::new();
        let verdicts = segs
            .iter()
            .zip(&frames)
            .enumerate()
            .map(|(i, (seg, f))| s.first_pass(&input(i as u32 + 1, seg, f)))
            .collect();
        (s, verdicts)
    };
    let (mut s, verdicts) = run();
    for (i, ((seg, f), v)) in segs.iter().zip(&frames).zip(&verdicts).enumerate() {
        let n = i as u32 + 1;
        assert_eq!(s.replay(n), *v, "frame {n}: replay differs from the first pass");
        let Some(v) = v else { continue };
        // Each PDU view stands for a PDU of at least 16 bytes in this frame or its reassembled data.
        let room = f.len() + seg.reassembled.as_ref().map_or(0, Vec::len);
        assert!(v.pdus.len() * dcerpc::HEADER_LEN <= room, "frame {n}: {} PDUs from {room} bytes", v.pdus.len());
        if !v.is_empty() {
            assert_eq!(v.stream, Some(seg.stream), "frame {n}: verdict for another stream");
        }
        for finding in &v.findings {
            assert!(!finding.message().is_empty());
        }
        assert_eq!(s.first_pass(&input(n, seg, f)).as_ref(), Some(v), "frame {n}: dissected again, verdict changed");
    }
    let (other, again) = run();
    assert_eq!(verdicts, again, "a second session over the same frames disagrees");
    assert_eq!(s.tracker().render_summary(), other.tracker().render_summary());
    for a in s.tracker().associations() {
        let _ = a.table_row();
    }
}
