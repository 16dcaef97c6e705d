//! Deterministic capture generator for dcomauth's tests (pure std, no randomness, no dependency
//! on dcomauth): the bytes Windows DCOM clients and servers put on the wire, and whole pcapng
//! captures with named frames.
//!
//! - [`net`]: Ethernet / 802.1Q / IPv4 / IPv6 / TCP framing and a [`net::Capture`] that drives TCP
//!   connections (sequence numbers, handshakes, closes, retransmissions, marks);
//! - [`pcapng`]: the file writer;
//! - [`rpc`]: DCE/RPC connection-oriented PDUs ([`rpc::Pdu`]) in either data representation, with
//!   sec_trailer ([`rpc::Auth`]), the NDR writer [`rpc::Ndr`], UUIDs ([`rpc::Guid`], [`rpc::uuids`]);
//! - [`ntlmssp`], [`spnego`]: the auth tokens (NEGOTIATE / CHALLENGE / AUTHENTICATE, verifiers,
//!   NegTokenInit / NegTokenResp, Kerberos AP-REQ / AP-REP);
//! - [`dcom`]: NDR stubs of the DCOM and WMI calls;
//! - [`session`]: one client association ([`session::Assoc`]) and scripted [`session::Step`]s;
//! - [`scenarios`]: the whole captures the tests check, listed by [`scenarios::all`].
//!
//! Unit tests that feed bytes straight to a parser use the PDU and token builders:
//!
//! ```
//! use capgen::rpc::{auth_level, uuids, Auth, ContextItem, ContextResult, Drep, Pdu};
//! use capgen::ntlmssp::{self, Credentials, Server};
//!
//! let server = Server::standalone("WINPE");
//! let bind = Pdu::bind(Drep::Little, 3, 0, &[ContextItem::ndr(0, uuids::ISYSTEM_ACTIVATOR)])
//!     .with_auth(Auth::ntlmssp(auth_level::INTEGRITY, 0, ntlmssp::negotiate(ntlmssp::NEGOTIATE_FLAGS)));
//! let ack = Pdu::bind_ack(Drep::Little, 3, 0x1234, "49157", &[ContextResult::accept_ndr()])
//!     .with_auth(Auth::ntlmssp(auth_level::INTEGRITY, 0, ntlmssp::challenge(&server, "seed")));
//! let auth3 = Pdu::auth3(Drep::Little, 3).with_auth(Auth::ntlmssp(
//!     auth_level::INTEGRITY,
//!     0,
//!     ntlmssp::authenticate(&Credentials::new("", "administrator"), &server, "seed"),
//! ));
//! assert_eq!(bind.bytes()[2], 11);
//! assert_eq!(ack.bytes()[2], 12);
//! assert_eq!(auth3.bytes()[2], 16);
//! ```

pub mod dcom;
pub mod net;
pub mod ntlmssp;
pub mod pcapng;
pub mod rpc;
pub mod scenarios;
pub mod session;
pub mod spnego;

/// Deterministic bytes from a seed string (FNV-1a seeded xorshift); never for security.
pub fn pseudo_random(seed: &str, n: usize) -> Vec<u8> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        h ^= h << 13;
        h ^= h >> 7;
        h ^= h << 17;
        out.extend_from_slice(&h.to_le_bytes());
    }
    out.truncate(n);
    out
}

/// Bytes from hex digits; white space between them is ignored (`"0500 0b03"`). Panics on anything
/// else, or on an odd number of digits: the argument is always a literal in a test.
pub fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    assert!(digits.len().is_multiple_of(2), "odd number of hex digits in {s:?}");
    digits
        .chunks(2)
        .map(|p| {
            let pair = std::str::from_utf8(p).expect("ASCII hex");
            u8::from_str_radix(pair, 16).unwrap_or_else(|_| panic!("bad hex {pair:?} in {s:?}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_reads_pairs_and_skips_white_space() {
        assert_eq!(hex("0500 0b\n03"), [0x05, 0x00, 0x0b, 0x03]);
        assert_eq!(hex("DEADbeef"), [0xde, 0xad, 0xbe, 0xef]);
        assert!(hex("").is_empty());
    }

    #[test]
    #[should_panic(expected = "odd number of hex digits")]
    fn hex_refuses_an_odd_digit_count() {
        hex("abc");
    }

    #[test]
    #[should_panic(expected = "bad hex")]
    fn hex_refuses_non_hex() {
        hex("zz");
    }

    #[test]
    fn pseudo_random_is_a_pure_function_of_its_seed() {
        assert_eq!(pseudo_random("a", 20), pseudo_random("a", 20));
        assert_ne!(pseudo_random("a", 20), pseudo_random("b", 20));
        assert_eq!(pseudo_random("a", 20)[..7], pseudo_random("a", 7)[..]);
    }
}
