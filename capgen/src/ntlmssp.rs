//! NTLMSSP messages (MS-NLMP 2.2): NEGOTIATE, CHALLENGE, AUTHENTICATE and the 16-byte verifier.
//!
//! Cryptographic fields (NTProofStr, session key, checksums) are deterministic pseudo-random
//! bytes: Wireshark cannot check them without the password, and the plugin never looks at them.

use crate::pseudo_random;

pub const NTLMSSP_NEGOTIATE_UNICODE: u32 = 0x0000_0001;
pub const NTLMSSP_NEGOTIATE_OEM: u32 = 0x0000_0002;
pub const NTLMSSP_REQUEST_TARGET: u32 = 0x0000_0004;
pub const NTLMSSP_NEGOTIATE_SIGN: u32 = 0x0000_0010;
pub const NTLMSSP_NEGOTIATE_SEAL: u32 = 0x0000_0020;
pub const NTLMSSP_NEGOTIATE_LM_KEY: u32 = 0x0000_0080;
pub const NTLMSSP_NEGOTIATE_NTLM: u32 = 0x0000_0200;
pub const NTLMSSP_NEGOTIATE_ANONYMOUS: u32 = 0x0000_0800;
pub const NTLMSSP_NEGOTIATE_ALWAYS_SIGN: u32 = 0x0000_8000;
pub const NTLMSSP_TARGET_TYPE_DOMAIN: u32 = 0x0001_0000;
pub const NTLMSSP_TARGET_TYPE_SERVER: u32 = 0x0002_0000;
pub const NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY: u32 = 0x0008_0000;
pub const NTLMSSP_NEGOTIATE_TARGET_INFO: u32 = 0x0080_0000;
pub const NTLMSSP_NEGOTIATE_VERSION: u32 = 0x0200_0000;
pub const NTLMSSP_NEGOTIATE_128: u32 = 0x2000_0000;
pub const NTLMSSP_NEGOTIATE_KEY_EXCH: u32 = 0x4000_0000;
pub const NTLMSSP_NEGOTIATE_56: u32 = 0x8000_0000;

/// Flags a Windows 7 RPC client offers (0xe2088297).
pub const NEGOTIATE_FLAGS: u32 = NTLMSSP_NEGOTIATE_56
    | NTLMSSP_NEGOTIATE_KEY_EXCH
    | NTLMSSP_NEGOTIATE_128
    | NTLMSSP_NEGOTIATE_VERSION
    | NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY
    | NTLMSSP_NEGOTIATE_ALWAYS_SIGN
    | NTLMSSP_NEGOTIATE_NTLM
    | NTLMSSP_NEGOTIATE_LM_KEY
    | NTLMSSP_NEGOTIATE_SEAL
    | NTLMSSP_NEGOTIATE_SIGN
    | NTLMSSP_REQUEST_TARGET
    | NTLMSSP_NEGOTIATE_OEM
    | NTLMSSP_NEGOTIATE_UNICODE;

/// Flags the server answers with (0xe28a8215).
pub const CHALLENGE_FLAGS: u32 = NTLMSSP_NEGOTIATE_56
    | NTLMSSP_NEGOTIATE_KEY_EXCH
    | NTLMSSP_NEGOTIATE_128
    | NTLMSSP_NEGOTIATE_VERSION
    | NTLMSSP_NEGOTIATE_TARGET_INFO
    | NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY
    | NTLMSSP_TARGET_TYPE_SERVER
    | NTLMSSP_NEGOTIATE_ALWAYS_SIGN
    | NTLMSSP_NEGOTIATE_NTLM
    | NTLMSSP_NEGOTIATE_SIGN
    | NTLMSSP_REQUEST_TARGET
    | NTLMSSP_NEGOTIATE_UNICODE;

/// Flags of the AUTHENTICATE message (0xe2888215).
pub const AUTHENTICATE_FLAGS: u32 = CHALLENGE_FLAGS & !NTLMSSP_TARGET_TYPE_SERVER;

/// MsvAvId values (MS-NLMP 2.2.2.1).
pub mod av {
    pub const EOL: u16 = 0;
    pub const NB_COMPUTER_NAME: u16 = 1;
    pub const NB_DOMAIN_NAME: u16 = 2;
    pub const DNS_COMPUTER_NAME: u16 = 3;
    pub const DNS_DOMAIN_NAME: u16 = 4;
    pub const DNS_TREE_NAME: u16 = 5;
    pub const FLAGS: u16 = 6;
    pub const TIMESTAMP: u16 = 7;
    pub const SINGLE_HOST: u16 = 8;
    pub const TARGET_NAME: u16 = 9;
    pub const CHANNEL_BINDINGS: u16 = 10;
}

/// 2010-06-01 10:00:05 UTC as a FILETIME (100 ns since 1601), used for NTLM timestamps.
pub const FILETIME: u64 = (1_275_386_405 + 11_644_473_600) * 10_000_000;

/// UTF-16LE without terminator, as NTLMSSP carries Unicode strings.
pub fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

/// Windows 7 SP1 version field (6.1 build 7601, NTLM revision 15).
pub fn version() -> [u8; 8] {
    let b = 7601u16.to_le_bytes();
    [6, 1, b[0], b[1], 0, 0, 0, 15]
}

/// One AV pair.
pub fn av_pair(id: u16, value: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&id.to_le_bytes());
    v.extend_from_slice(&(value.len() as u16).to_le_bytes());
    v.extend_from_slice(value);
    v
}

/// Security buffer descriptor (length, max length, offset).
fn sec_buf(out: &mut Vec<u8>, len: usize, offset: usize) {
    out.extend_from_slice(&(len as u16).to_le_bytes());
    out.extend_from_slice(&(len as u16).to_le_bytes());
    out.extend_from_slice(&(offset as u32).to_le_bytes());
}

/// NEGOTIATE_MESSAGE with `flags`, no domain/workstation, with version.
pub fn negotiate(flags: u32) -> Vec<u8> {
    let mut m = b"NTLMSSP\0".to_vec();
    m.extend_from_slice(&1u32.to_le_bytes());
    m.extend_from_slice(&flags.to_le_bytes());
    sec_buf(&mut m, 0, 0);
    sec_buf(&mut m, 0, 0);
    m.extend_from_slice(&version());
    m
}

/// The server a CHALLENGE comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub nb_domain: String,
    pub nb_computer: String,
    pub dns_domain: String,
    pub dns_computer: String,
}

impl Server {
    /// A stand-alone machine (workgroup): the domain names are the computer name.
    pub fn standalone(name: &str) -> Self {
        Server {
            nb_domain: name.to_string(),
            nb_computer: name.to_string(),
            dns_domain: name.to_string(),
            dns_computer: name.to_string(),
        }
    }

    /// The target info AV list of its CHALLENGE (ends with MsvAvEOL).
    pub fn target_info(&self) -> Vec<u8> {
        let mut t = Vec::new();
        t.extend(av_pair(av::NB_DOMAIN_NAME, &utf16le(&self.nb_domain)));
        t.extend(av_pair(av::NB_COMPUTER_NAME, &utf16le(&self.nb_computer)));
        t.extend(av_pair(av::DNS_DOMAIN_NAME, &utf16le(&self.dns_domain)));
        t.extend(av_pair(av::DNS_COMPUTER_NAME, &utf16le(&self.dns_computer)));
        t.extend(av_pair(av::TIMESTAMP, &FILETIME.to_le_bytes()));
        t.extend(av_pair(av::EOL, &[]));
        t
    }
}

/// CHALLENGE_MESSAGE from `server`; `seed` varies the server challenge.
pub fn challenge(server: &Server, seed: &str) -> Vec<u8> {
    let target_name = utf16le(&server.nb_domain);
    let info = server.target_info();
    let mut m = b"NTLMSSP\0".to_vec();
    m.extend_from_slice(&2u32.to_le_bytes());
    sec_buf(&mut m, target_name.len(), 56);
    m.extend_from_slice(&CHALLENGE_FLAGS.to_le_bytes());
    m.extend_from_slice(&pseudo_random(&format!("challenge/{seed}"), 8));
    m.extend_from_slice(&[0; 8]);
    sec_buf(&mut m, info.len(), 56 + target_name.len());
    m.extend_from_slice(&version());
    m.extend_from_slice(&target_name);
    m.extend_from_slice(&info);
    m
}

/// Which challenge responses an AUTHENTICATE carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    /// NTLMv2: NTProofStr + blob; LMv2 all zero (MsvAvTimestamp present).
    V2,
    /// NTLMv1 (with extended session security): 24-byte LM and NT responses.
    V1,
    /// Anonymous logon: empty user, empty NT response, 1-byte zero LM response.
    Anonymous,
}

/// Parameters of an AUTHENTICATE_MESSAGE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub domain: String,
    pub user: String,
    pub workstation: String,
    pub response: Response,
    /// Add a MIC (and MsvAvFlags 0x2 in the NTLMv2 blob).
    pub mic: bool,
}

impl Credentials {
    /// NTLMv2 credentials from workstation "WMICLIENT" with a MIC.
    pub fn new(domain: &str, user: &str) -> Self {
        Credentials {
            domain: domain.to_string(),
            user: user.to_string(),
            workstation: "WMICLIENT".to_string(),
            response: Response::V2,
            mic: true,
        }
    }
    pub fn anonymous() -> Self {
        Credentials {
            domain: String::new(),
            user: String::new(),
            workstation: "WMICLIENT".to_string(),
            response: Response::Anonymous,
            mic: false,
        }
    }
    pub fn v1(mut self) -> Self {
        self.response = Response::V1;
        self.mic = false;
        self
    }
    pub fn without_mic(mut self) -> Self {
        self.mic = false;
        self
    }
    /// `DOMAIN\user` as shown to users.
    pub fn display(&self) -> String {
        format!("{}\\{}", self.domain, self.user)
    }
}

/// The NTLMv2 response for `creds` against `server` (NTProofStr, blob, trailing 4 zero bytes).
pub fn ntlmv2_response(creds: &Credentials, server: &Server, target_spn: &str, seed: &str) -> Vec<u8> {
    let mut r = pseudo_random(&format!("ntproof/{seed}/{}", creds.display()), 16);
    r.extend_from_slice(&[1, 1, 0, 0, 0, 0, 0, 0]);
    r.extend_from_slice(&FILETIME.to_le_bytes());
    r.extend_from_slice(&pseudo_random(&format!("cchal/{seed}"), 8));
    r.extend_from_slice(&[0; 4]);
    let mut info = server.target_info();
    info.truncate(info.len() - 4); // drop MsvAvEOL, re-added after the client's pairs
    r.extend(info);
    if creds.mic {
        r.extend(av_pair(av::FLAGS, &2u32.to_le_bytes()));
    }
    let mut single_host = Vec::new();
    single_host.extend_from_slice(&48u32.to_le_bytes());
    single_host.extend_from_slice(&[0; 4]);
    single_host.extend_from_slice(&[0, 0x20, 0, 0]);
    single_host.extend_from_slice(&[0; 4]);
    single_host.extend(pseudo_random(&format!("machine/{}", creds.workstation), 32));
    r.extend(av_pair(av::SINGLE_HOST, &single_host));
    r.extend(av_pair(av::CHANNEL_BINDINGS, &[0; 16]));
    r.extend(av_pair(av::TARGET_NAME, &utf16le(target_spn)));
    r.extend(av_pair(av::EOL, &[]));
    r.extend_from_slice(&[0; 4]);
    r
}

/// AUTHENTICATE_MESSAGE for `creds` answering `server`'s CHALLENGE; `seed` varies the crypto bytes.
pub fn authenticate(creds: &Credentials, server: &Server, seed: &str) -> Vec<u8> {
    let (lm, nt, mut flags) = match creds.response {
        Response::V2 => (
            vec![0u8; 24],
            ntlmv2_response(creds, server, &format!("host/{}", server.dns_computer), seed),
            AUTHENTICATE_FLAGS,
        ),
        Response::V1 => {
            (pseudo_random(&format!("lm/{seed}"), 24), pseudo_random(&format!("nt/{seed}"), 24), AUTHENTICATE_FLAGS)
        }
        Response::Anonymous => (vec![0u8], Vec::new(), AUTHENTICATE_FLAGS | NTLMSSP_NEGOTIATE_ANONYMOUS),
    };
    let key = if creds.response == Response::Anonymous {
        flags &= !NTLMSSP_NEGOTIATE_KEY_EXCH;
        Vec::new()
    } else {
        pseudo_random(&format!("key/{seed}"), 16)
    };
    let domain = utf16le(&creds.domain);
    let user = utf16le(&creds.user);
    let ws = utf16le(&creds.workstation);
    let header = if creds.mic { 88 } else { 72 };
    let mut m = b"NTLMSSP\0".to_vec();
    m.extend_from_slice(&3u32.to_le_bytes());
    // Payload order as Windows writes it: domain, user, workstation, LM, NT, session key.
    let o_domain = header;
    let o_user = o_domain + domain.len();
    let o_ws = o_user + user.len();
    let o_lm = o_ws + ws.len();
    let o_nt = o_lm + lm.len();
    let o_key = o_nt + nt.len();
    sec_buf(&mut m, lm.len(), o_lm);
    sec_buf(&mut m, nt.len(), o_nt);
    sec_buf(&mut m, domain.len(), o_domain);
    sec_buf(&mut m, user.len(), o_user);
    sec_buf(&mut m, ws.len(), o_ws);
    sec_buf(&mut m, key.len(), o_key);
    m.extend_from_slice(&flags.to_le_bytes());
    m.extend_from_slice(&version());
    if creds.mic {
        m.extend(pseudo_random(&format!("mic/{seed}"), 16));
    }
    assert_eq!(m.len(), header);
    for part in [&domain, &user, &ws, &lm, &nt, &key] {
        m.extend_from_slice(part);
    }
    m
}

/// NTLMSSP message verifier (extended session security): version 1, checksum, sequence number.
pub fn verifier(seq: u32, seed: &str) -> Vec<u8> {
    let mut v = 1u32.to_le_bytes().to_vec();
    v.extend(pseudo_random(&format!("verf/{seed}/{seq}"), 8));
    v.extend_from_slice(&seq.to_le_bytes());
    v
}
