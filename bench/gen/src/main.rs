//! Writes the benchmark captures into the folder given as the only argument:
//!
//! - `nodce.pcapng`: >= 30 000 frames of DNS (UDP) and HTTP (TCP), no DCE/RPC at all;
//! - `mixed.pcapng`: >= 40 000 frames, about 4 % of them in DCE/RPC associations (identity
//!   changes with faults and a server FIN, steady ones, client RSTs), the rest DNS and HTTP;
//! - `dense.pcapng`: >= 15 000 frames, every one in one of >= 800 DCE/RPC associations;
//! - `big-dense.pcapng`: >= 100 000 frames of the same kind (for peak memory);
//! - `empty.pcapng`: no frames (tshark's startup).
//!
//! Everything comes from capgen and a counter: the same bytes on every run.
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use capgen::net::{ethernet, ipv4, mac_for, Capture, Dir, FlowSpec, ETHERTYPE_IPV4};
use capgen::rpc::Drep;
use capgen::scenarios::{
    administrator, association_1, bind_and_clone, play, steady_association, Assoc, Variant, SERVER_IP, SERVER_PORT,
};

const DNS_SERVER: [u8; 4] = [10, 9, 0, 53];
const WEB_SERVER: [u8; 4] = [10, 9, 0, 80];

/// A DNS query for `name` and its answer (one A record), as two UDP frames.
fn dns_exchange(cap: &mut Capture, client: [u8; 4], port: u16, id: u16, name: &str) {
    let mut qname = Vec::new();
    for label in name.split('.') {
        qname.push(label.len() as u8);
        qname.extend_from_slice(label.as_bytes());
    }
    qname.push(0);
    let mut query = Vec::new();
    query.extend_from_slice(&id.to_be_bytes());
    query.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    query.extend_from_slice(&qname);
    query.extend_from_slice(&[0, 1, 0, 1]);
    let mut answer = query.clone();
    answer[2] = 0x81;
    answer[3] = 0x80;
    answer[7] = 1;
    answer.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 10, 9, (id >> 8) as u8, id as u8]);
    udp_frame(cap, client, port, DNS_SERVER, 53, &query);
    udp_frame(cap, DNS_SERVER, 53, client, port, &answer);
}

fn udp_frame(cap: &mut Capture, src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, payload: &[u8]) {
    let mut udp = Vec::with_capacity(8 + payload.len());
    udp.extend_from_slice(&sport.to_be_bytes());
    udp.extend_from_slice(&dport.to_be_bytes());
    udp.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    // Checksum 0: "not computed", valid for UDP over IPv4.
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(payload);
    let ip = ipv4(Ipv4Addr::from(src), Ipv4Addr::from(dst), 0x4000, 64, 17, &udp);
    let frame = ethernet(mac_for(IpAddr::V4(dst.into())), mac_for(IpAddr::V4(src.into())), None, ETHERTYPE_IPV4, &ip);
    cap.raw_frame(frame);
}

/// One HTTP/1.1 GET and its answer on a fresh connection, closed by the client (about 10 frames).
fn http_exchange(cap: &mut Capture, client: [u8; 4], port: u16, n: u32) {
    let flow = cap.connect(FlowSpec::v4(client, port, WEB_SERVER, 80));
    let req = format!("GET /item/{n} HTTP/1.1\r\nHost: web.example\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n");
    cap.client(flow, req.as_bytes());
    let body = format!("{{\"item\":{n},\"status\":\"ok\",\"padding\":\"{}\"}}", "x".repeat((n % 200) as usize));
    let resp = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    cap.server(flow, resp.as_bytes());
    cap.ack(flow, Dir::Client);
    cap.close_by(flow, Dir::Client);
}

/// Client host and port of the n-th DCE/RPC association: 64 hosts, so host pairs have history.
fn dce_client(n: u32) -> ([u8; 4], u16) {
    ([10, 1, (n % 64 / 250) as u8, (n % 64 + 1) as u8], 49152 + (n / 64 % 16000) as u16)
}

/// The n-th DCE/RPC association, one of three kinds:
/// - every 5th: the case-study association 1 (identity change, IManagedObject QI, two faults)
///   then the server's FIN (an abort after the change);
/// - every 5th + 1: bind as administrator, one Clone, then the client's RST;
/// - the rest: a steady association with two security contexts, closed by the client.
fn dce_association(cap: &mut Capture, n: u32) -> u32 {
    let (client, port) = dce_client(n);
    let before = cap.frame_count();
    let spec = FlowSpec::v4(client, port, SERVER_IP, SERVER_PORT);
    let mut a = Assoc::connect(cap, spec, Drep::Little);
    let prefix = format!("d{n}_");
    match n % 5 {
        0 => {
            let steps = association_1(&mut a, Variant::Buggy);
            play(cap, a.flow, &steps, &prefix);
            cap.close_by(a.flow, Dir::Server);
        }
        1 => {
            let steps = bind_and_clone(&mut a, &administrator(), 90_000 + n);
            play(cap, a.flow, &steps, &prefix);
            cap.rst(a.flow, Dir::Client);
        }
        _ => {
            let steps = steady_association(&mut a, &administrator(), &administrator(), 90_000 + 2 * n);
            play(cap, a.flow, &steps, &prefix);
            cap.close_by(a.flow, Dir::Client);
        }
    }
    cap.frame_count() - before
}

/// DNS and HTTP only, until `frames`.
fn nodce(frames: u32) -> Capture {
    let mut cap = Capture::new();
    let mut n = 0u32;
    while cap.frame_count() < frames {
        other_traffic(&mut cap, n);
        n += 1;
    }
    cap
}

/// One unit of non-DCE/RPC traffic: three DNS lookups and an HTTP exchange (about 16 frames).
fn other_traffic(cap: &mut Capture, n: u32) {
    let client = [10, 2, (n / 200 % 250) as u8, (n % 200 + 1) as u8];
    for k in 0..3u32 {
        let id = (n.wrapping_mul(3) + k) as u16;
        dns_exchange(cap, client, 50_000 + (n * 3 + k) as u16 % 10_000, id, &format!("h{n}-{k}.corp.example"));
    }
    http_exchange(cap, client, 20_000 + (n % 30_000) as u16, n);
}

/// Other traffic with a DCE/RPC association whenever DCE/RPC frames fall below `share` of all.
fn mixed(frames: u32, share: f64) -> Capture {
    let mut cap = Capture::new();
    let (mut n, mut assocs, mut dce) = (0u32, 0u32, 0u32);
    while cap.frame_count() < frames {
        if f64::from(dce) < share * f64::from(cap.frame_count()) {
            dce += dce_association(&mut cap, assocs);
            assocs += 1;
        } else {
            other_traffic(&mut cap, n);
            n += 1;
        }
    }
    eprintln!("mixed: {} frames, {dce} in {assocs} DCE/RPC associations", cap.frame_count());
    cap
}

/// DCE/RPC associations only, until `frames` and `min_assocs` are both reached.
fn dense(frames: u32, min_assocs: u32) -> Capture {
    let mut cap = Capture::new();
    let mut n = 0u32;
    while cap.frame_count() < frames || n < min_assocs {
        dce_association(&mut cap, n);
        n += 1;
    }
    eprintln!("dense: {} frames in {n} associations", cap.frame_count());
    cap
}

fn main() {
    let out = std::env::args().nth(1).expect("usage: dcomauth-bench-gen <output folder>");
    let out = Path::new(&out);
    std::fs::create_dir_all(out).expect("create the output folder");
    let write = |name: &str, cap: Capture| {
        let path = out.join(name);
        std::fs::write(&path, cap.bytes()).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        eprintln!("{}: {} frames", path.display(), cap.frame_count());
    };
    // No frames: tshark's startup, subtracted from every measurement.
    write("empty.pcapng", Capture::new());
    write("nodce.pcapng", nodce(30_000));
    write("mixed.pcapng", mixed(40_000, 0.04));
    write("dense.pcapng", dense(15_000, 800));
    write("big-dense.pcapng", dense(100_000, 6_000));
}
