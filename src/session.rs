//! One capture's worth of state: the first pass turns frames into verdicts, every later pass
//! replays them. Pure Rust; `epan` fills a `FrameInput` from Wireshark and renders the verdict.

use crate::flow::{Flows, Plan, Source};
use crate::maps::{KeyedMap, SequenceMap};
use crate::proto::dcerpc::PacketType;
use crate::proto::tcp::{self, Segment};
use crate::streams::StreamCache;
use crate::track::{
    ChangeKind, CloseKind, Config, Endpoint, Finding, FrameCtx, FrameVerdict, Identity, InterfaceView, PairHistory,
    PduView, SecurityView, Tracker,
};

/// Facts about one frame on its first dissection.
#[derive(Debug, Clone, Copy)]
pub struct FrameInput<'a> {
    pub frame: u32,
    pub time_ns: i64,
    pub stream: u32,
    pub src: Endpoint,
    pub dst: Endpoint,
    /// The frame's captured bytes (all layers).
    pub frame_bytes: &'a [u8],
    /// Bytes of a DCE/RPC PDU Wireshark reassembled from several segments, completed in this frame.
    pub reassembled: Option<&'a [u8]>,
    /// A DCE/RPC dissector ran on this frame.
    pub has_dcerpc: bool,
}

pub struct Session {
    tracker: Tracker,
    flows: Flows,
    verdicts: Verdicts,
    /// Some frame had DCE/RPC: until then every other frame is skipped without a look.
    seen_dcerpc: bool,
    streams: StreamCache,
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

impl Session {
    pub fn new() -> Self {
        Self::with_config(Config::default())
    }

    /// A session whose tracker follows the user's preferences.
    pub fn with_config(cfg: Config) -> Self {
        Session {
            tracker: Tracker::with_config(cfg),
            flows: Flows::default(),
            verdicts: Verdicts::default(),
            seen_dcerpc: false,
            streams: StreamCache::new(true),
        }
    }

    /// Wireshark splits one address and port pair into several conversations (4.4+ preference
    /// `protocols.conversation_deinterlacing_key`): every frame's stream must come from epan.
    pub fn conversations_deinterlaced(mut self, deinterlaced: bool) -> Self {
        self.streams = StreamCache::new(!deinterlaced);
        self
    }

    /// The TCP stream of a frame on its first pass (`segment`: its TCP header, if located):
    /// remembered for its addresses and ports unless the frame could start a new one, else
    /// `lookup()` (epan's conversation lookup).
    pub fn stream_of(
        &mut self,
        frame: u32,
        src: Endpoint,
        dst: Endpoint,
        segment: Option<&Segment>,
        lookup: impl FnOnce() -> Option<u32>,
    ) -> Option<u32> {
        self.streams.stream(frame, src, dst, segment.map(|s| s.flags), lookup)
    }

    /// Has any frame carried DCE/RPC yet? Before that, no frame needs a second look.
    pub fn tracks_anything(&self) -> bool {
        self.seen_dcerpc
    }

    /// Cheap test the glue runs before gathering anything: is this frame worth a look?
    pub fn wants(&self, has_dcerpc: bool, stream: Option<u32>) -> bool {
        has_dcerpc || stream.is_some_and(|s| self.tracker.tracks(s))
    }

    /// The stored verdict of a frame already seen on the first pass.
    pub fn replay(&self, frame: u32) -> Option<FrameVerdict> {
        self.verdicts.get(frame)
    }

    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    /// First pass over one frame: feeds its PDUs and any close to the tracker, stores the verdict.
    pub fn first_pass(&mut self, input: &FrameInput<'_>) -> Option<FrameVerdict> {
        let segment = tcp::locate(input.frame_bytes, input.src.addr, input.dst.addr, input.src.port, input.dst.port);
        self.first_pass_located(input, segment)
    }

    /// `first_pass` with the frame's TCP segment already located (`tcp::locate`) by the caller.
    pub fn first_pass_located(&mut self, input: &FrameInput<'_>, segment: Option<Segment>) -> Option<FrameVerdict> {
        if self.verdicts.has(input.frame) {
            // A frame dissected twice on the "first pass" (GUI live capture refresh) keeps its verdict.
            return self.verdicts.get(input.frame);
        }
        self.seen_dcerpc |= input.has_dcerpc;
        let segment = segment?;
        let ctx = FrameCtx {
            frame: input.frame,
            time_ns: input.time_ns,
            stream: input.stream,
            src: input.src,
            dst: input.dst,
        };
        let mut verdict = FrameVerdict::default();
        if input.has_dcerpc || self.tracker.tracks(input.stream) {
            self.feed_pdus(input, &segment, &ctx, &mut verdict);
        }
        if let Some(kind) = close_kind(&segment) {
            self.flows.close(input.stream);
            self.verdicts.forget(input.stream);
            if self.tracker.tracks(input.stream) {
                self.tracker.close(&ctx, kind, &mut verdict);
                // The close belongs to the association even without a finding (statistics table, tree).
                verdict.stream = Some(input.stream);
            }
        }
        if verdict.is_empty() && verdict.stream.is_none() {
            return None;
        }
        self.verdicts.store(input.frame, &verdict);
        Some(verdict)
    }

    fn feed_pdus(&mut self, input: &FrameInput<'_>, seg: &Segment, ctx: &FrameCtx, out: &mut FrameVerdict) {
        let payload =
            input.frame_bytes.get(seg.payload_offset..seg.payload_offset + seg.payload_len).unwrap_or_default();
        let forward = (input.src.addr, input.src.port) < (input.dst.addr, input.dst.port);
        let pdus = match self.flows.segment(input.stream, forward, seg.seq, payload, input.reassembled) {
            Plan::Retransmission => return,
            Plan::Pdus(pdus) => pdus,
        };
        for (source, off, len) in pdus {
            let bytes = match source {
                Source::Payload => payload,
                Source::Reassembled => input.reassembled.unwrap_or_default(),
            };
            if let Some(pdu) = bytes.get(off..off + len) {
                self.tracker.pdu(ctx, pdu, out);
            }
        }
    }
}

/// An identity as stored: its index among the distinct identities seen (`NONE` for none).
type IdentityId = u32;
const NONE: u32 = u32::MAX;

/// What a PDU's view shares with its neighbours: stored once, and PDUs point at it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shared {
    identity: IdentityId,
    baseline: IdentityId,
    baseline_frame: Option<u32>,
    baseline_partial: bool,
    security: Option<SecurityView>,
    interface: Option<InterfaceView>,
    history: PairHistory,
}

/// What differs from one PDU to the next.
#[derive(Debug, Clone, Copy)]
struct PackedPdu {
    call_id: u32,
    shared: u32,
    opnum: Option<u16>,
    ptype: PacketType,
    change: Option<ChangeKind>,
}

/// One frame with a verdict: its PDUs are `pdus[first..first + count]`.
#[derive(Debug, Clone, Copy)]
struct FrameEntry {
    frame: u32,
    first: u32,
    /// The association's stream, when `has_stream` (an `Option` would take 8 bytes, not 5).
    stream: u32,
    count: u16,
    has_stream: bool,
    has_findings: bool,
}

impl FrameEntry {
    fn stream(&self) -> Option<u32> {
        self.has_stream.then_some(self.stream)
    }
}

/// Entries per chunk of a `Chunked` list.
const CHUNK: usize = 4096;

/// An append-only list in fixed-size chunks: growing never copies what is stored, nor holds the
/// old and the new copy at once as a doubling `Vec` does (a peak of three times the list).
struct Chunked<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Chunked { chunks: Vec::new(), len: 0 }
    }
}

impl<T> Chunked<T> {
    /// Appends `v`; returns its index.
    fn push(&mut self, v: T) -> usize {
        match self.chunks.last_mut() {
            Some(c) if c.len() < CHUNK => c.push(v),
            // A chunk grows like a Vec up to CHUNK (a power of two): a small capture stays small.
            _ => self.chunks.push(vec![v]),
        }
        self.len += 1;
        self.len - 1
    }

    fn get(&self, i: usize) -> Option<&T> {
        self.chunks.get(i / CHUNK)?.get(i % CHUNK)
    }

    fn len(&self) -> usize {
        self.len
    }
}

/// Shared views a stream used last, newest first: a new PDU mostly repeats one of them.
const RECENT: usize = 4;

/// Every frame's verdict, kept for the whole capture in a few bytes per frame (issue 10): frames
/// in first-pass order, so a lookup is a binary search; findings (rare) by frame.
#[derive(Default)]
struct Verdicts {
    frames: Chunked<FrameEntry>,
    /// The highest frame stored, frames past it being new.
    last_frame: Option<u32>,
    /// Frames stored after a later one (only a GUI refresh could do that).
    late: SequenceMap<u32, FrameEntry>,
    pdus: Chunked<PackedPdu>,
    shared: Chunked<Shared>,
    identities: Vec<Identity>,
    identity_ids: KeyedMap<Identity, IdentityId>,
    /// The identities looked up last (as the caller passed them), newest first.
    last_identities: [Option<(Identity, IdentityId)>; 2],
    recent: SequenceMap<u32, [u32; RECENT]>,
    findings: SequenceMap<u32, Box<[Finding]>>,
}

impl Verdicts {
    fn entry(&self, frame: u32) -> Option<&FrameEntry> {
        // The first pass asks about each new frame once: past the last one stored, it is not there.
        if self.last_frame.is_none_or(|last| frame > last) {
            return None;
        }
        let (mut lo, mut hi) = (0, self.frames.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let e = self.frames.get(mid)?;
            match e.frame.cmp(&frame) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(e),
            }
        }
        self.late.get(&frame)
    }

    fn has(&self, frame: u32) -> bool {
        self.entry(frame).is_some()
    }

    /// Keeps the verdict of `frame`, which the caller found not stored yet.
    fn store(&mut self, frame: u32, v: &FrameVerdict) {
        let first = self.pdus.len() as u32;
        let mut count = 0u16;
        for p in v.pdus.iter().take(usize::from(u16::MAX)) {
            let shared = self.share(v.stream, p);
            self.pdus.push(PackedPdu { call_id: p.call_id, shared, opnum: p.opnum, ptype: p.ptype, change: p.change });
            count += 1;
        }
        if !v.findings.is_empty() {
            self.findings.insert(frame, v.findings.clone().into_boxed_slice());
        }
        let entry = FrameEntry {
            frame,
            first,
            stream: v.stream.unwrap_or_default(),
            count,
            has_stream: v.stream.is_some(),
            has_findings: !v.findings.is_empty(),
        };
        if self.last_frame.is_none_or(|last| last < frame) {
            self.frames.push(entry);
            self.last_frame = Some(frame);
        } else {
            self.late.insert(frame, entry);
        }
    }

    fn identity_id(&mut self, identity: &Option<Identity>) -> IdentityId {
        let Some(identity) = identity else { return NONE };
        // Views of one context carry the same shared names (its identity and its baseline): a
        // pointer compare against the last two looked up spares the hash.
        for (seen, id) in self.last_identities.iter().flatten() {
            if seen.same_names(identity) {
                return *id;
            }
        }
        let id = match self.identity_ids.get(identity) {
            Some(&id) => id,
            None => {
                let id = self.identities.len() as IdentityId;
                self.identities.push(identity.clone());
                self.identity_ids.insert(identity.clone(), id);
                id
            }
        };
        self.last_identities = [Some((identity.clone(), id)), self.last_identities[0].take()];
        id
    }

    fn identity(&self, id: IdentityId) -> Option<Identity> {
        self.identities.get(id as usize).cloned()
    }

    /// The index of `p`'s shared view: one its stream used lately, or a new one.
    fn share(&mut self, stream: Option<u32>, p: &PduView) -> u32 {
        let view = Shared {
            identity: self.identity_id(&p.identity),
            baseline: self.identity_id(&p.baseline),
            baseline_frame: p.baseline_frame,
            baseline_partial: p.baseline_partial,
            security: p.security.clone(),
            interface: p.interface,
            history: p.history,
        };
        let recent = self.recent.entry(stream.unwrap_or(u32::MAX)).or_insert([u32::MAX; RECENT]);
        let hit = recent.iter().position(|&i| self.shared.get(i as usize) == Some(&view));
        let index = match hit {
            Some(k) => recent[k],
            None => self.shared.push(view) as u32,
        };
        // Move to the front, newest first.
        let k = hit.unwrap_or(RECENT - 1);
        recent.copy_within(0..k, 1);
        recent[0] = index;
        index
    }

    fn get(&self, frame: u32) -> Option<FrameVerdict> {
        let e = self.entry(frame)?;
        let pdus = (e.first as usize..e.first as usize + usize::from(e.count))
            .filter_map(|i| self.pdus.get(i))
            .filter_map(|p| self.unpack(p))
            .collect();
        let findings = match e.has_findings {
            true => self.findings.get(&frame).map(|f| f.to_vec()).unwrap_or_default(),
            false => Vec::new(),
        };
        Some(FrameVerdict { stream: e.stream(), pdus, findings })
    }

    fn unpack(&self, p: &PackedPdu) -> Option<PduView> {
        let s = self.shared.get(p.shared as usize)?;
        Some(PduView {
            ptype: p.ptype,
            call_id: p.call_id,
            opnum: p.opnum,
            identity: self.identity(s.identity),
            security: s.security.clone(),
            baseline: self.identity(s.baseline),
            baseline_frame: s.baseline_frame,
            baseline_partial: s.baseline_partial,
            change: p.change,
            interface: s.interface,
            history: s.history,
        })
    }

    /// A stream that ended reuses no more views: forget which it used.
    fn forget(&mut self, stream: u32) {
        self.recent.remove(&stream);
    }
}

fn close_kind(seg: &Segment) -> Option<CloseKind> {
    if seg.flags & tcp::RST != 0 {
        Some(CloseKind::Rst)
    } else if seg.flags & tcp::FIN != 0 {
        Some(CloseKind::Fin)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    const CLIENT: Endpoint = Endpoint { addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 10)), port: 59916 };
    const SERVER: Endpoint = Endpoint { addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 20)), port: 49157 };

    /// An Ethernet/IPv4/TCP frame from `src` to `dst` carrying `payload`.
    fn frame(src: Endpoint, dst: Endpoint, seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
        let (IpAddr::V4(s), IpAddr::V4(d)) = (src.addr, dst.addr) else { unreachable!() };
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00, 0x45, 0]);
        f.extend_from_slice(&((40 + payload.len()) as u16).to_be_bytes());
        f.extend_from_slice(&[0, 1, 0x40, 0, 64, 6, 0, 0]);
        f.extend_from_slice(&s.octets());
        f.extend_from_slice(&d.octets());
        f.extend_from_slice(&src.port.to_be_bytes());
        f.extend_from_slice(&dst.port.to_be_bytes());
        f.extend_from_slice(&seq.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 1, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        f.extend_from_slice(payload);
        f
    }

    /// A little-endian fault PDU for `call_id` with `status`.
    fn fault(call_id: u32, status: u32) -> Vec<u8> {
        let mut p = vec![5, 0, 3, 3, 0x10, 0, 0, 0, 32, 0, 0, 0];
        p.extend_from_slice(&call_id.to_le_bytes());
        p.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        p.extend_from_slice(&status.to_le_bytes());
        p.extend_from_slice(&[0, 0, 0, 0]);
        p
    }

    fn input<'a>(n: u32, src: Endpoint, dst: Endpoint, bytes: &'a [u8], has_dcerpc: bool) -> FrameInput<'a> {
        FrameInput {
            frame: n,
            time_ns: i64::from(n) * 1_000_000,
            stream: 0,
            src,
            dst,
            frame_bytes: bytes,
            reassembled: None,
            has_dcerpc,
        }
    }

    #[test]
    fn a_server_fin_right_after_a_fault_is_reported_once_and_replayed_unchanged() {
        let mut s = Session::new();
        let f1 = frame(SERVER, CLIENT, 500, 0x18, &fault(2, 0x721));
        assert!(s.first_pass(&input(1, SERVER, CLIENT, &f1, true)).is_none(), "an unauthenticated fault shows nothing");
        let fin = frame(SERVER, CLIENT, 532, 0x11, &[]);
        let v = s.first_pass(&input(2, SERVER, CLIENT, &fin, false)).expect("the FIN closes a tracked association");
        assert!(matches!(v.findings.as_slice(), [crate::track::Finding::AbortAfterFault { last_fault_frame: 1, .. }]));
        // The same FIN retransmitted, and the replay of frame 2, change nothing.
        let again = s.first_pass(&input(3, SERVER, CLIENT, &fin, false)).expect("still the association's frame");
        assert!(again.findings.is_empty());
        assert_eq!(s.replay(2), Some(v));
    }

    #[test]
    fn the_statistics_table_finds_an_association_by_its_stream() {
        let mut s = Session::new();
        for (n, stream) in [(1u32, 4u32), (2, 9)] {
            let f = frame(SERVER, CLIENT, 500, 0x18, &fault(n, 0x721));
            s.first_pass(&FrameInput { stream, ..input(n, SERVER, CLIENT, &f, true) });
        }
        for stream in [4, 9] {
            let scanned = s.tracker().associations().find(|a| a.stream == stream);
            assert!(scanned.is_some(), "stream {stream} is tracked");
            assert_eq!(s.tracker().association(stream), scanned);
        }
        assert_eq!(s.tracker().association(5), None);
    }

    /// Every stored verdict keeps these for the whole capture: they must not grow unnoticed
    /// (issue 10: at most 64 bytes per DCE/RPC frame, beside the views PDUs share).
    #[test]
    fn retained_sizes_are_pinned() {
        use std::mem::size_of;
        assert_eq!(size_of::<FrameEntry>(), 16);
        assert_eq!(size_of::<PackedPdu>(), 16);
        // Per view, shared by the PDUs of one context of one association.
        assert_eq!(size_of::<Shared>(), 80);
    }

    #[test]
    fn the_case_study_replays_as_first_seen_from_views_its_pdus_share() {
        let cap = capgen::scenarios::seed_winpe();
        let mut s = Session::new();
        let mut given = Vec::new();
        for n in 1..=cap.frame_count() {
            let Some(seg) = cap.segment_of(n) else { continue };
            let spec = cap.flow_spec(seg.flow);
            let (client, server) = (
                Endpoint { addr: spec.client.ip(), port: spec.client.port() },
                Endpoint { addr: spec.server.ip(), port: spec.server.port() },
            );
            let (src, dst) = if seg.dir == capgen::net::Dir::Client { (client, server) } else { (server, client) };
            let inp = FrameInput {
                stream: seg.flow as u32,
                has_dcerpc: !seg.tcp.payload.is_empty(),
                ..input(n, src, dst, cap.frame_data(n), false)
            };
            given.push((n, s.first_pass(&inp)));
        }
        let pdus: usize = given.iter().filter_map(|(_, v)| v.as_ref()).map(|v| v.pdus.len()).sum();
        assert!(pdus > 30, "the case study's PDUs reach the tracker: {pdus}");
        assert!(
            given.iter().filter_map(|(_, v)| v.as_ref()).any(|v| v.pdus.iter().any(|p| p.changed())),
            "and its change"
        );
        for (n, v) in &given {
            assert_eq!(s.replay(*n), *v, "frame {n}");
        }
        assert_eq!(s.replay(cap.frame_count() + 1), None);
        let views = s.verdicts.shared.len();
        assert!(views * 3 < pdus, "{views} views for {pdus} PDUs: shared, not one per PDU");
    }

    #[test]
    fn a_chunked_list_finds_every_entry_across_chunks_and_never_outgrows_a_chunk() {
        let mut list = Chunked::default();
        for i in 0..(2 * CHUNK + 5) {
            assert_eq!(list.push(i * 3), i);
        }
        assert_eq!(list.len(), 2 * CHUNK + 5);
        assert!((0..list.len()).all(|i| list.get(i) == Some(&(i * 3))));
        assert_eq!(list.get(list.len()), None);
        assert!(list.chunks.iter().all(|c| c.capacity() <= CHUNK));
    }

    #[test]
    fn frames_before_any_dcerpc_are_not_looked_at() {
        let s = Session::new();
        assert!(!s.tracks_anything());
        assert!(!s.wants(false, Some(0)));
        assert!(s.wants(true, None));
    }

    /// Hostile frames through the whole byte path (TCP location, PDU boundaries, parsers, tracker):
    /// mutated and truncated copies of a valid exchange must never panic.
    #[test]
    fn mutated_frames_never_panic() {
        let mut rng = crate::testutil::XorShift(0x2545_f491_4f6c_dd1d);
        let mut next = move || rng.next();
        let bind = [5, 0, 11, 3, 0x10, 0, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0];
        let base: [(Endpoint, Endpoint, u8, Vec<u8>); 3] = [
            (CLIENT, SERVER, 0x18, bind.to_vec()),
            (SERVER, CLIENT, 0x18, fault(1, 5)),
            (SERVER, CLIENT, 0x11, vec![]),
        ];
        let mut s = Session::new();
        let mut hits = 0usize;
        for n in 0..30_000u32 {
            let (src, dst, flags, payload) = &base[(next() % 3) as usize];
            // Fresh sequence numbers, so the flow layer does not take everything for a retransmission.
            let mut f = frame(*src, *dst, n * 64, *flags, payload);
            for _ in 0..(next() % 6) {
                // Mostly the DCE/RPC bytes after the 54 bytes of headers, sometimes the headers.
                let at = match f.len().checked_sub(54).filter(|n| *n > 0 && next() % 4 != 0) {
                    Some(body) => 54 + next() as usize % body,
                    None => next() as usize % f.len(),
                };
                f[at] = next() as u8;
            }
            if next() % 4 == 0 {
                f.truncate((next() as usize) % (f.len() + 1));
            }
            let reassembled = (next() % 4 == 0).then(|| &f[f.len() / 2..]);
            let inp = FrameInput {
                reassembled,
                stream: (next() % 3) as u32,
                ..input(n + 1, *src, *dst, &f, next() % 2 == 0)
            };
            hits += usize::from(s.first_pass(&inp).is_some());
        }
        // The run must reach the tracker, not stop at the TCP layer every time.
        assert!(hits > 2_000, "only {hits} frames produced a verdict");
    }
}
