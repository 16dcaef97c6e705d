//! Bounded state under floods: a million tiny associations, and a million faults for one call,
//! keep the tracker's heap under a fixed budget (measured by a counting allocator).
use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicUsize, Ordering};

use capgen::ntlmssp::{self, Credentials, Server};
use capgen::rpc::{auth_level, result, uuids, Auth, ContextItem, ContextResult, Drep, Pdu};
use dcomauth::track::{CloseKind, Endpoint, Finding, FrameCtx, FrameVerdict, Tracker};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        // SAFETY: same layout as asked.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const MIB: usize = 1 << 20;

/// The counter is process-wide: one measurement at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn ep(host: u32, port: u16) -> Endpoint {
    Endpoint { addr: IpAddr::V4(Ipv4Addr::from(host)), port }
}

/// Runs `f` and returns how far the heap grew above where it started.
fn peak_growth(f: impl FnOnce()) -> usize {
    let start = CURRENT.load(Ordering::Relaxed);
    PEAK.store(start, Ordering::Relaxed);
    f();
    PEAK.load(Ordering::Relaxed) - start
}

#[test]
fn a_million_tiny_associations_stay_within_the_budget() {
    let _one = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let bind = Pdu::bind(Drep::Little, 1, 0, &[ContextItem::ndr(0, uuids::ISYSTEM_ACTIVATOR)]).bytes();
    let mut tracker = Tracker::new();
    let growth = peak_growth(|| {
        for i in 0..1_000_000u32 {
            // Each from its own client host: host pairs fill up too.
            let (client, server) = (ep(0x0a00_0000 + i, 50000), ep(0xc0a8_0001, 135));
            let ctx = FrameCtx { frame: 2 * i + 1, time_ns: i64::from(i) * 1000, stream: i, src: client, dst: server };
            let mut out = FrameVerdict::default();
            tracker.pdu(&ctx, &bind, &mut out);
            let fin = FrameCtx { frame: 2 * i + 2, ..ctx };
            tracker.close(&fin, CloseKind::Fin, &mut out);
        }
    });
    assert_eq!(tracker.associations().count(), 65536);
    // The caps (65 536 associations, 65 536 host pairs) hold the heap within the documented budget
    // of 256 MiB (measured: about 200 MiB, some 3 KiB per kept association with its pair).
    assert!(growth < 256 * MIB, "peak heap grew by {} MiB", growth / MIB);
}

#[test]
fn a_million_faults_for_one_call_stay_within_the_budget() {
    let _one = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let server = Server::standalone("WINPE");
    let ntlm = |ctx: u32, token: Vec<u8>| Auth::ntlmssp(auth_level::INTEGRITY, ctx, token);
    let d = Drep::Little;
    let items = [ContextItem::ndr(0, uuids::ISYSTEM_ACTIVATOR)];
    let accept =
        [ContextResult { result: result::ACCEPTANCE, reason: 0, transfer: ContextResult::accept_ndr().transfer }];
    let setup = [
        (true, Pdu::bind(d, 1, 0, &items).with_auth(ntlm(0, ntlmssp::negotiate(ntlmssp::NEGOTIATE_FLAGS)))),
        (false, Pdu::bind_ack(d, 1, 0x1234, "135", &accept).with_auth(ntlm(0, ntlmssp::challenge(&server, "s")))),
        (
            true,
            Pdu::auth3(d, 1)
                .with_auth(ntlm(0, ntlmssp::authenticate(&Credentials::new("", "administrator"), &server, "a"))),
        ),
        (
            true,
            Pdu::alter_context(d, 2, 0, &[ContextItem::ndr(1, uuids::IREMUNKNOWN2)])
                .with_auth(ntlm(1, ntlmssp::negotiate(ntlmssp::NEGOTIATE_FLAGS))),
        ),
        (false, Pdu::alter_context_resp(d, 2, 0x1234, &accept).with_auth(ntlm(1, ntlmssp::challenge(&server, "t")))),
        (
            true,
            Pdu::auth3(d, 2)
                .with_auth(ntlm(1, ntlmssp::authenticate(&Credentials::new("REDMOND", "jiangyue"), &server, "b"))),
        ),
        (true, Pdu::request(d, 3, 1, 3, vec![0; 64])),
    ];
    let (client, srv) = (ep(0x0a00_000a, 59916), ep(0x0a00_0014, 49157));
    let mut tracker = Tracker::new();
    let mut frame = 0;
    let mut feed = |tracker: &mut Tracker, from_client: bool, bytes: &[u8]| {
        frame += 1;
        let (src, dst) = if from_client { (client, srv) } else { (srv, client) };
        let ctx = FrameCtx { frame, time_ns: i64::from(frame) * 1000, stream: 0, src, dst };
        let mut out = FrameVerdict::default();
        tracker.pdu(&ctx, bytes, &mut out);
        out.findings.iter().filter(|f| matches!(f, Finding::FaultAfterChange { .. })).count()
    };
    for (from_client, pdu) in &setup {
        feed(&mut tracker, *from_client, &pdu.bytes());
    }
    let fault = Pdu::fault(d, 3, 1, 0x721).bytes();
    let mut findings = 0;
    // The first thousand are listed in the summary; measure the flood after them.
    for _ in 0..1000 {
        findings += feed(&mut tracker, false, &fault);
    }
    let growth = peak_growth(|| {
        for _ in 0..999_000 {
            findings += feed(&mut tracker, false, &fault);
        }
    });
    assert_eq!(findings, 1_000_000, "every fault answers the changed identity's call");
    let summary = tracker.associations().next().expect("one association");
    assert_eq!(summary.fault_count(), 1_000_000);
    assert_eq!(summary.faults.len(), 1000);
    // Nothing is kept per fault beyond the listed thousand: the flood's peak is one frame's work.
    assert!(growth < 64 * 1024, "peak heap grew by {growth} bytes during 999 000 faults");
}
