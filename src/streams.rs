//! TCP stream numbers remembered by address and port pair, so that most frames skip epan's
//! conversation lookup (about 1 100 instructions a frame: the largest single cost on dense captures).
//!
//! Wireshark starts a new stream on a 4-tuple it has seen only at a SYN (port reuse; 4.6 also at a
//! SYN-ACK), so such frames, frames whose TCP header was not found, and every frame while
//! conversations are deinterlaced (the 4.4+ preference `protocols.conversation_deinterlacing_key`
//! splits one 4-tuple by interface, MAC or VLAN) always ask epan. Slots are direct-mapped: two
//! connections sharing one only cost lookups.
use std::net::IpAddr;

use crate::proto::tcp;
use crate::track::Endpoint;

const SLOTS: usize = 1024;

#[derive(Debug, Clone, Copy)]
struct Slot {
    /// The lower endpoint of the pair, so both directions find the slot.
    low: Endpoint,
    high: Endpoint,
    stream: u32,
    /// The frame epan named it for: an earlier frame (dissected late) may belong to an older stream.
    frame: u32,
}

/// The slot of a pair: ports and the addresses' low 32 bits, multiplied (Fibonacci hashing). A
/// capture could make its connections share slots, which only costs it the lookups the cache saves.
fn slot_of(low: &Endpoint, high: &Endpoint) -> usize {
    fn low32(a: &IpAddr) -> u64 {
        let b = match a {
            IpAddr::V4(v4) => v4.octets(),
            IpAddr::V6(v6) => {
                let o = v6.octets();
                [o[12], o[13], o[14], o[15]]
            }
        };
        u64::from(u32::from_le_bytes(b))
    }
    let key = (low32(&low.addr) << 32 | u64::from(low.port) << 16 | u64::from(high.port)) ^ low32(&high.addr) << 7;
    (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 54) as usize % SLOTS
}

pub struct StreamCache {
    /// Empty until the first lookup: a capture without TCP never allocates them.
    slots: Vec<Option<Slot>>,
    enabled: bool,
    /// The latest frame asked about: an earlier one is dissected late (GUI refresh).
    latest: u32,
}

impl StreamCache {
    /// A cache that remembers nothing when `enabled` is false (conversations deinterlaced).
    pub fn new(enabled: bool) -> Self {
        StreamCache { slots: Vec::new(), enabled, latest: 0 }
    }

    /// The stream of a frame from `src` to `dst` with TCP `flags` (None: no TCP header found):
    /// the one remembered for the pair when the frame cannot start another, else `lookup()`'s.
    pub fn stream(
        &mut self,
        frame: u32,
        src: Endpoint,
        dst: Endpoint,
        flags: Option<u8>,
        lookup: impl FnOnce() -> Option<u32>,
    ) -> Option<u32> {
        if !self.enabled {
            return lookup();
        }
        let (low, high) = if src <= dst { (src, dst) } else { (dst, src) };
        let i = slot_of(&low, &high);
        let may_start = flags.is_none_or(|f| f & tcp::SYN != 0);
        let known = self.slots.get(i).copied().flatten().filter(|s| s.low == low && s.high == high);
        if let Some(s) = known.filter(|s| !may_start && frame >= s.frame) {
            return Some(s.stream);
        }
        let stream = lookup();
        if self.slots.is_empty() {
            self.slots = vec![None; SLOTS];
        }
        // A frame dissected late does not replace what later frames learned (in its slot, or in a
        // colliding pair's).
        if frame >= self.latest {
            self.latest = frame;
            if let Some(slot) = self.slots.get_mut(i) {
                *slot = stream.map(|stream| Slot { low, high, stream, frame });
            }
        }
        stream
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::net::{IpAddr, Ipv4Addr};

    const ACK: u8 = 0x10;
    const PSH_ACK: u8 = 0x18;

    fn ep(host: u8, port: u16) -> Endpoint {
        Endpoint { addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, host)), port }
    }

    /// Runs `frames` (src, dst, flags, epan's stream) through a cache; returns what it answered
    /// and how many times it asked epan.
    fn run(enabled: bool, frames: &[(Endpoint, Endpoint, Option<u8>, u32)]) -> (Vec<Option<u32>>, usize) {
        let mut cache = StreamCache::new(enabled);
        let asked = Cell::new(0);
        let answers = frames
            .iter()
            .enumerate()
            .map(|(n, &(src, dst, flags, epan))| {
                cache.stream(n as u32 + 1, src, dst, flags, || {
                    asked.set(asked.get() + 1);
                    Some(epan)
                })
            })
            .collect();
        (answers, asked.get())
    }

    #[test]
    fn one_connection_asks_epan_at_its_syn_only() {
        let (c, s) = (ep(1, 50000), ep(2, 135));
        let frames = [
            (c, s, Some(tcp::SYN), 7),
            (s, c, Some(tcp::SYN | ACK), 7),
            (c, s, Some(ACK), 7),
            (c, s, Some(PSH_ACK), 7),
            (s, c, Some(PSH_ACK), 7),
            (c, s, Some(tcp::FIN | ACK), 7),
        ];
        assert_eq!(run(true, &frames), (vec![Some(7); 6], 2));
    }

    #[test]
    fn a_connection_joined_midway_asks_once() {
        let (c, s) = (ep(1, 50000), ep(2, 135));
        let frames = [(s, c, Some(PSH_ACK), 3), (c, s, Some(PSH_ACK), 3), (s, c, Some(ACK), 3)];
        assert_eq!(run(true, &frames), (vec![Some(3); 3], 1));
    }

    #[test]
    fn a_port_reused_after_close_gets_the_new_stream() {
        let (c, s) = (ep(1, 50000), ep(2, 135));
        let frames =
            [(c, s, Some(PSH_ACK), 1), (c, s, Some(tcp::RST), 1), (c, s, Some(tcp::SYN), 9), (c, s, Some(PSH_ACK), 9)];
        assert_eq!(run(true, &frames).0, vec![Some(1), Some(1), Some(9), Some(9)]);
    }

    #[test]
    fn frames_without_a_tcp_header_found_always_ask() {
        let (c, s) = (ep(1, 50000), ep(2, 135));
        let frames = [(c, s, Some(ACK), 4), (c, s, None, 4), (c, s, None, 4)];
        assert_eq!(run(true, &frames).1, 3);
    }

    #[test]
    fn deinterlaced_conversations_ask_epan_for_every_frame() {
        let (c, s) = (ep(1, 50000), ep(2, 135));
        // One 4-tuple seen on two interfaces: epan keeps two streams apart, so the cache must not.
        let frames = [(c, s, Some(tcp::SYN), 1), (c, s, Some(PSH_ACK), 1), (c, s, Some(PSH_ACK), 2)];
        assert_eq!(run(false, &frames), (vec![Some(1), Some(1), Some(2)], 3));
    }

    #[test]
    fn many_connections_keep_their_own_streams() {
        let server = ep(2, 135);
        let frames: Vec<_> = (0..5000u16)
            .flat_map(|i| {
                let c = ep(1 + (i % 7) as u8, 40000 + i);
                [(c, server, Some(tcp::SYN), u32::from(i)), (server, c, Some(PSH_ACK), u32::from(i))]
            })
            .collect();
        let (answers, _) = run(true, &frames);
        let want: Vec<_> = frames.iter().map(|f| Some(f.3)).collect();
        assert_eq!(answers, want);
    }

    #[test]
    fn no_stream_is_not_remembered() {
        let (c, s) = (ep(1, 50000), ep(2, 135));
        let mut cache = StreamCache::new(true);
        assert_eq!(cache.stream(1, c, s, Some(ACK), || None), None);
        assert_eq!(cache.stream(2, c, s, Some(ACK), || Some(5)), Some(5));
    }

    #[test]
    fn a_frame_dissected_late_asks_epan_and_leaves_what_later_frames_learned() {
        // Frames 1-2 on stream 1; the port is reused from frame 10 (stream 2); frame 5 comes late.
        let (c, s) = (ep(1, 50000), ep(2, 135));
        let mut cache = StreamCache::new(true);
        assert_eq!(cache.stream(1, c, s, Some(tcp::SYN), || Some(1)), Some(1));
        assert_eq!(cache.stream(10, c, s, Some(tcp::SYN), || Some(2)), Some(2));
        assert_eq!(cache.stream(5, c, s, Some(PSH_ACK), || Some(1)), Some(1), "epan knows frame 5's stream");
        assert_eq!(cache.stream(11, c, s, Some(PSH_ACK), || panic!("frame 11 asked epan")), Some(2));
    }
}
