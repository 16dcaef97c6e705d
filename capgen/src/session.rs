//! One DCOM client association at a time: security contexts, PDU builders, scripted steps.
//!
//! An `Assoc` builds the PDUs of one association (keeping verifier sequence numbers per security
//! context); a `Step` is what one side sends in one go; `play` sends steps and marks their frames.
use std::collections::HashMap;

use crate::dcom;
use crate::net::{Capture, Dir, FlowId, FlowSpec};
use crate::ntlmssp::{self, Credentials, Server};
use crate::rpc::{auth_level, auth_type, concat, pfc, uuids, Auth, ContextItem, ContextResult, Drep, Guid, Pdu};
use crate::spnego;

pub const CLIENT_IP: [u8; 4] = [10, 0, 0, 10];
pub const SERVER_IP: [u8; 4] = [10, 0, 0, 20];
pub const SERVER_PORT: u16 = 49157;
/// Server's NetBIOS name in its CHALLENGE (a WinPE box has a generated name).
pub const SERVER_NAME: &str = "MININT-7Q3RE2B";

/// The local administrator of the target, as the .NET client authenticates: `\administrator`.
pub fn administrator() -> Credentials {
    Credentials::new("", "administrator")
}

/// The client thread's own token, wrongly used for the IManagedObject QI: `REDMOND\jiangyue`.
pub fn jiangyue() -> Credentials {
    Credentials::new("REDMOND", "jiangyue")
}

/// The WMI client's connection to the server from `client_port`.
pub fn client_flow(client_port: u16) -> FlowSpec {
    FlowSpec::v4(CLIENT_IP, client_port, SERVER_IP, SERVER_PORT)
}

/// How a security context on an association authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mech {
    /// auth_type 10.
    Ntlmssp,
    /// auth_type 9 carrying NTLMSSP.
    SpnegoNtlmssp,
    /// auth_type 9 carrying Kerberos.
    SpnegoKerberos,
    /// auth_type 16.
    Kerberos,
}

impl Mech {
    pub fn auth_type(self) -> u8 {
        match self {
            Mech::Ntlmssp => auth_type::NTLMSSP,
            Mech::SpnegoNtlmssp | Mech::SpnegoKerberos => auth_type::SPNEGO,
            Mech::Kerberos => auth_type::KERBEROS,
        }
    }
}

#[derive(Debug, Clone)]
struct SecCtx {
    mech: Mech,
    level: u8,
    client_seq: u32,
    server_seq: u32,
}

/// One DCE/RPC association (TCP connection) of the DCOM client, with its security contexts.
///
/// The builders only build PDUs (tokens: `*_token`); `Step`s and `play` put them on the wire.
#[derive(Debug, Clone)]
pub struct Assoc {
    pub flow: FlowId,
    pub drep: Drep,
    pub assoc_group: u32,
    pub server: Server,
    /// pfc_flags of bind/bind_ack besides FIRST|LAST: header signing, as Windows sends them.
    pub bind_flags: u8,
    /// ORPCTHIS causality id of the client's calls.
    pub cid: Guid,
    /// IPID of the remote object the IRemUnknown2 calls talk about.
    pub ipid: Guid,
    /// auth_level of the security contexts the bind and alter_context builders negotiate:
    /// INTEGRITY (what DCOM asks for by default) or CONNECT, where only bind, alter_context and
    /// AUTH3 (and their answers) carry a sec_trailer and requests, responses and faults none.
    pub level: u8,
    contexts: HashMap<u32, SecCtx>,
}

impl Assoc {
    fn with_flow(flow: FlowId, drep: Drep) -> Assoc {
        Assoc {
            flow,
            drep,
            assoc_group: 0,
            server: Server::standalone(SERVER_NAME),
            bind_flags: pfc::SUPPORT_HEADER_SIGN,
            cid: Guid::from_seed(&format!("cid/{flow}")),
            ipid: Guid::from_seed("ipid/wbem-enum"),
            level: auth_level::INTEGRITY,
            contexts: HashMap::new(),
        }
    }

    /// Opens the TCP connection (handshake in the capture).
    pub fn connect(cap: &mut Capture, spec: FlowSpec, drep: Drep) -> Assoc {
        let flow = cap.connect(spec);
        Self::with_flow(flow, drep)
    }

    /// A new association on the addresses and ports of an earlier, closed one (port reuse).
    pub fn reconnect(cap: &mut Capture, spec: FlowSpec, drep: Drep) -> Assoc {
        let flow = cap.reconnect(spec);
        Self::with_flow(flow, drep)
    }

    /// An association already running when the capture starts (no handshake, no bind seen).
    pub fn resume(cap: &mut Capture, spec: FlowSpec, drep: Drep) -> Assoc {
        let flow = cap.open(spec);
        Self::with_flow(flow, drep)
    }

    /// Declares a security context set up before the capture started.
    pub fn assume_context(&mut self, auth_ctx: u32, mech: Mech, level: u8, seq: u32) {
        self.contexts.insert(auth_ctx, SecCtx { mech, level, client_seq: seq, server_seq: seq });
    }

    /// Registers a security context negotiated in the capture (verifier sequence starts at 0).
    pub fn new_context(&mut self, auth_ctx: u32, mech: Mech, level: u8) {
        self.assume_context(auth_ctx, mech, level, 0);
    }

    fn ctx(&self, auth_ctx: u32) -> &SecCtx {
        self.contexts.get(&auth_ctx).unwrap_or_else(|| panic!("unknown auth_context_id {auth_ctx}"))
    }

    fn handshake_auth(&self, auth_ctx: u32, token: Vec<u8>) -> Auth {
        let c = self.ctx(auth_ctx);
        Auth::new(c.mech.auth_type(), c.level, auth_ctx, token)
    }

    fn seed(&self, auth_ctx: u32) -> String {
        format!("{}/{auth_ctx}", self.flow)
    }

    /// The sec_trailer a request (Client) or response (Server) carries under `auth_ctx`: its
    /// verifier, or none at all when the context is at auth level CONNECT (or NONE).
    pub fn call_auth(&mut self, auth_ctx: u32, dir: Dir) -> Option<Auth> {
        if self.ctx(auth_ctx).level <= auth_level::CONNECT {
            return None;
        }
        Some(self.verifier(auth_ctx, dir))
    }

    /// The verifier a request (Client) or response (Server) carries under `auth_ctx`.
    pub fn verifier(&mut self, auth_ctx: u32, dir: Dir) -> Auth {
        let seed = self.seed(auth_ctx);
        let c = self.contexts.get_mut(&auth_ctx).unwrap_or_else(|| panic!("unknown auth_context_id {auth_ctx}"));
        let seq = match dir {
            Dir::Client => &mut c.client_seq,
            Dir::Server => &mut c.server_seq,
        };
        let n = *seq;
        *seq += 1;
        let token = match c.mech {
            Mech::Ntlmssp | Mech::SpnegoNtlmssp => ntlmssp::verifier(n, &format!("{seed}/{dir:?}")),
            Mech::SpnegoKerberos | Mech::Kerberos => {
                spnego::krb5_cfx_mic_verifier(u64::from(n), dir == Dir::Server, &format!("{seed}/{dir:?}"))
            }
        };
        Auth::new(c.mech.auth_type(), c.level, auth_ctx, token)
    }

    // ---- PDU builders ---------------------------------------------------------------------

    /// bind carrying `token` for the new security context `auth_ctx`.
    pub fn bind_token_pdu(
        &mut self,
        call_id: u32,
        items: &[ContextItem],
        auth_ctx: u32,
        mech: Mech,
        token: Vec<u8>,
    ) -> Pdu {
        self.new_context(auth_ctx, mech, self.level);
        Pdu::bind(self.drep, call_id, self.assoc_group, items)
            .add_flags(self.bind_flags)
            .with_auth(self.handshake_auth(auth_ctx, token))
    }

    /// alter_context carrying `token` for security context `auth_ctx` (created when new).
    pub fn alter_token_pdu(
        &mut self,
        call_id: u32,
        items: &[ContextItem],
        auth_ctx: u32,
        mech: Mech,
        token: Vec<u8>,
    ) -> Pdu {
        if !self.contexts.contains_key(&auth_ctx) {
            self.new_context(auth_ctx, mech, self.level);
        }
        Pdu::alter_context(self.drep, call_id, self.assoc_group, items).with_auth(self.handshake_auth(auth_ctx, token))
    }

    /// bind_ack (sec_addr = server port) carrying `token`.
    pub fn bind_ack_token_pdu(
        &mut self,
        call_id: u32,
        results: &[ContextResult],
        auth_ctx: u32,
        token: Vec<u8>,
    ) -> Pdu {
        self.assoc_group = 0x0001_2a4f;
        Pdu::bind_ack(self.drep, call_id, self.assoc_group, &SERVER_PORT.to_string(), results)
            .add_flags(self.bind_flags)
            .with_auth(self.handshake_auth(auth_ctx, token))
    }

    /// alter_context_resp carrying `token`.
    pub fn alter_resp_token_pdu(
        &mut self,
        call_id: u32,
        results: &[ContextResult],
        auth_ctx: u32,
        token: Vec<u8>,
    ) -> Pdu {
        Pdu::alter_context_resp(self.drep, call_id, self.assoc_group, results)
            .with_auth(self.handshake_auth(auth_ctx, token))
    }

    /// bind carrying an NTLMSSP NEGOTIATE for a new context `auth_ctx` (at the association's level).
    pub fn bind_negotiate_pdu(&mut self, call_id: u32, items: &[ContextItem], auth_ctx: u32) -> Pdu {
        self.bind_token_pdu(call_id, items, auth_ctx, Mech::Ntlmssp, ntlmssp::negotiate(ntlmssp::NEGOTIATE_FLAGS))
    }

    /// alter_context carrying an NTLMSSP NEGOTIATE for a new context `auth_ctx`.
    pub fn alter_negotiate_pdu(&mut self, call_id: u32, items: &[ContextItem], auth_ctx: u32) -> Pdu {
        self.alter_token_pdu(call_id, items, auth_ctx, Mech::Ntlmssp, ntlmssp::negotiate(ntlmssp::NEGOTIATE_FLAGS))
    }

    /// bind_ack accepting the association with an NTLMSSP CHALLENGE.
    pub fn bind_ack_challenge_pdu(&mut self, call_id: u32, results: &[ContextResult], auth_ctx: u32) -> Pdu {
        let token = ntlmssp::challenge(&self.server, &self.seed(auth_ctx));
        self.bind_ack_token_pdu(call_id, results, auth_ctx, token)
    }

    /// alter_context_resp with an NTLMSSP CHALLENGE.
    pub fn alter_resp_challenge_pdu(&mut self, call_id: u32, results: &[ContextResult], auth_ctx: u32) -> Pdu {
        let token = ntlmssp::challenge(&self.server, &self.seed(auth_ctx));
        self.alter_resp_token_pdu(call_id, results, auth_ctx, token)
    }

    /// SPNEGO NegTokenInit { mechTypes [NTLMSSP], mechToken NEGOTIATE }.
    pub fn spnego_negotiate_token(&self) -> Vec<u8> {
        spnego::neg_token_init(&[spnego::oid::NTLMSSP], &ntlmssp::negotiate(ntlmssp::NEGOTIATE_FLAGS))
    }

    /// SPNEGO NegTokenResp { accept-incomplete, NTLMSSP, CHALLENGE }.
    pub fn spnego_challenge_token(&self, auth_ctx: u32) -> Vec<u8> {
        let ch = ntlmssp::challenge(&self.server, &self.seed(auth_ctx));
        spnego::neg_token_resp(Some(spnego::neg_state::ACCEPT_INCOMPLETE), Some(spnego::oid::NTLMSSP), Some(&ch), None)
    }

    /// SPNEGO NegTokenResp { responseToken AUTHENTICATE, mechListMIC } (the client's third leg).
    pub fn spnego_authenticate_token(&self, auth_ctx: u32, creds: &Credentials) -> Vec<u8> {
        let auth = ntlmssp::authenticate(creds, &self.server, &self.seed(auth_ctx));
        let mic = spnego::ntlm_mech_list_mic(&format!("{}/c", self.seed(auth_ctx)));
        spnego::neg_token_resp(None, None, Some(&auth), Some(&mic))
    }

    /// SPNEGO NegTokenResp { accept-completed, mechListMIC } (the server's last leg).
    pub fn spnego_complete_token(&self, auth_ctx: u32) -> Vec<u8> {
        let mic = spnego::ntlm_mech_list_mic(&format!("{}/s", self.seed(auth_ctx)));
        spnego::neg_token_resp(Some(spnego::neg_state::ACCEPT_COMPLETED), None, None, Some(&mic))
    }

    /// SPNEGO NegTokenInit { mechTypes [MS-KRB5, KRB5, NTLMSSP], mechToken AP-REQ } for RPCSS/server.
    pub fn spnego_krb5_init_token(&self, auth_ctx: u32) -> Vec<u8> {
        let ap_req = spnego::gss_krb5_ap_req("CORP.EXAMPLE", &["RPCSS", "server.corp.example"], &self.seed(auth_ctx));
        spnego::neg_token_init(&[spnego::oid::MS_KRB5, spnego::oid::KRB5, spnego::oid::NTLMSSP], &ap_req)
    }

    /// SPNEGO NegTokenResp { accept-completed, MS-KRB5, AP-REP }.
    pub fn spnego_krb5_accept_token(&self, auth_ctx: u32) -> Vec<u8> {
        let ap_rep = spnego::gss_krb5_ap_rep(&self.seed(auth_ctx));
        spnego::neg_token_resp(
            Some(spnego::neg_state::ACCEPT_COMPLETED),
            Some(spnego::oid::MS_KRB5),
            Some(&ap_rep),
            None,
        )
    }

    /// AUTH3 carrying the AUTHENTICATE for `creds`.
    pub fn auth3_pdu(&self, call_id: u32, auth_ctx: u32, creds: &Credentials) -> Pdu {
        let token = ntlmssp::authenticate(creds, &self.server, &self.seed(auth_ctx));
        Pdu::auth3(self.drep, call_id).with_auth(self.handshake_auth(auth_ctx, token))
    }

    /// The IPID a DCOM request on presentation context `ctx_id` is addressed to (its object UUID).
    pub fn object_for(&self, ctx_id: u16) -> Guid {
        Guid::from_seed(&format!("ipid/{}/ctx{ctx_id}", self.flow))
    }

    /// A DCOM request (object UUID = the interface's IPID) made under `auth_ctx` when given:
    /// signed, unless that context is at auth level CONNECT.
    pub fn request_pdu(&mut self, call_id: u32, ctx_id: u16, opnum: u16, stub: Vec<u8>, auth_ctx: Option<u32>) -> Pdu {
        let p = Pdu::request(self.drep, call_id, ctx_id, opnum, stub).with_object(self.object_for(ctx_id));
        self.sign(p, auth_ctx, Dir::Client)
    }

    /// A response under `auth_ctx` when given: signed, unless that context is at level CONNECT.
    pub fn response_pdu(&mut self, call_id: u32, ctx_id: u16, stub: Vec<u8>, auth_ctx: Option<u32>) -> Pdu {
        let p = Pdu::response(self.drep, call_id, ctx_id, stub);
        self.sign(p, auth_ctx, Dir::Server)
    }

    fn sign(&mut self, p: Pdu, auth_ctx: Option<u32>, dir: Dir) -> Pdu {
        match auth_ctx.and_then(|a| self.call_auth(a, dir)) {
            Some(auth) => p.with_auth(auth),
            None => p,
        }
    }

    /// A fault without auth trailer (the server could not use the caller's context).
    pub fn fault_pdu(&self, call_id: u32, ctx_id: u16, status: u32) -> Pdu {
        Pdu::fault(self.drep, call_id, ctx_id, status)
    }

    // ---- stubs ----------------------------------------------------------------------------

    /// RemQueryInterface for `iids` on the association's remote object.
    pub fn qi_stub(&self, iids: &[Guid]) -> Vec<u8> {
        dcom::rem_query_interface_req(self.drep, &self.cid, &self.ipid, 5, iids)
    }

    /// Successful RemQueryInterface answer for one IID.
    pub fn qi_ok_stub(&self, seed: &str) -> Vec<u8> {
        dcom::rem_query_interface_resp(
            self.drep,
            &[(0, Guid::from_seed(seed))],
            0x8d5e_11c2_a3a4_2f10,
            0x2f4b_77e0_61c0_0a01,
        )
    }

    /// A WMI call with no in-parameters besides ORPCTHIS.
    pub fn orpc_stub(&self, params: &[u32]) -> Vec<u8> {
        dcom::orpc_req(self.drep, &self.cid, params)
    }

    /// ORPCTHAT + a new IEnumWbemClassObject interface pointer + S_OK (what Clone returns).
    pub fn clone_ok_stub(&self) -> Vec<u8> {
        let ipid = Guid::from_seed(&format!("ipid/{}/clone", self.flow));
        let objref = dcom::objref_standard(
            &uuids::IENUM_WBEM_CLASS_OBJECT,
            &ipid,
            0x8d5e_11c2_a3a4_2f10,
            0x2f4b_77e0_61c0_0a02,
            "10.0.0.20",
        );
        dcom::interface_pointer_resp(self.drep, &objref)
    }

    /// ORPCTHAT + NULL out pointer + S_OK.
    pub fn orpc_ok_stub(&self) -> Vec<u8> {
        dcom::orpc_resp(self.drep, &[0], 0)
    }
}

/// What one side sends in one go (one or more PDUs), named for the mark its last frame gets.
#[derive(Debug, Clone)]
pub struct Step {
    pub name: &'static str,
    pub dir: Dir,
    pub pdus: Vec<Pdu>,
    /// The sender first sends a pure ACK (a slow call: the request is acknowledged before the answer).
    pub ack_first: bool,
}

impl Step {
    pub fn client(name: &'static str, pdu: Pdu) -> Step {
        Step { name, dir: Dir::Client, pdus: vec![pdu], ack_first: false }
    }
    pub fn server(name: &'static str, pdu: Pdu) -> Step {
        Step { dir: Dir::Server, ..Self::client(name, pdu) }
    }
    /// The same step preceded by the sender's pure ACK.
    pub fn after_ack(mut self) -> Step {
        self.ack_first = true;
        self
    }
    pub fn bytes(&self) -> Vec<u8> {
        concat(&self.pdus)
    }
}

/// Finds a step by name; panics when the script has none.
pub fn step<'a>(steps: &'a [Step], name: &str) -> &'a Step {
    steps.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no step {name:?}"))
}

/// Sends one step (split at the MSS) and marks its last frame `{prefix}{name}`.
pub fn play_step(cap: &mut Capture, flow: FlowId, s: &Step, prefix: &str) -> u32 {
    play_step_split(cap, flow, s, prefix, &[])
}

/// Sends one step in TCP segments of the given sizes; marks the last segment `{prefix}{name}` and,
/// when split, the first one `{prefix}{name}_seg1`.
pub fn play_step_split(cap: &mut Capture, flow: FlowId, s: &Step, prefix: &str, sizes: &[usize]) -> u32 {
    if s.ack_first {
        cap.ack(flow, s.dir);
    }
    let before = cap.last_frame();
    let f = cap.send_split(flow, s.dir, &s.bytes(), sizes);
    if f > before + 1 {
        cap.mark_frame(&format!("{prefix}{}_seg1", s.name), before + 1);
    }
    cap.mark_frame(&format!("{prefix}{}", s.name), f);
    f
}

/// Sends every step in order, marking each.
pub fn play(cap: &mut Capture, flow: FlowId, steps: &[Step], prefix: &str) {
    for s in steps {
        play_step(cap, flow, s, prefix);
    }
}

/// Sends several scripts on their connections alternately, one step each in turn.
pub fn play_interleaved(cap: &mut Capture, scripts: &[(FlowId, &[Step], &str)]) {
    let longest = scripts.iter().map(|(_, s, _)| s.len()).max().unwrap_or(0);
    for i in 0..longest {
        for (flow, steps, prefix) in scripts {
            if let Some(s) = steps.get(i) {
                play_step(cap, *flow, s, prefix);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::uuids;

    fn assoc(level: u8) -> (Capture, Assoc) {
        let mut cap = Capture::new();
        let mut a = Assoc::connect(&mut cap, FlowSpec::v4([10, 0, 0, 10], 50000, [10, 0, 0, 20], 135), Drep::Little);
        a.level = level;
        (cap, a)
    }

    #[test]
    fn at_connect_level_only_the_handshake_carries_a_sec_trailer() {
        let (_, mut a) = assoc(auth_level::CONNECT);
        let bind = a.bind_negotiate_pdu(1, &[ContextItem::ndr(0, uuids::IREMUNKNOWN2)], 5);
        let auth3 = a.auth3_pdu(1, 5, &Credentials::new("", "administrator"));
        assert_eq!(bind.auth.as_ref().map(|t| t.level), Some(auth_level::CONNECT));
        assert_eq!(auth3.auth.as_ref().map(|t| (t.level, t.context_id)), Some((auth_level::CONNECT, 5)));
        assert_eq!(a.request_pdu(2, 0, 3, vec![0; 8], Some(5)).auth, None);
        assert_eq!(a.response_pdu(2, 0, vec![0; 8], Some(5)).auth, None);
        assert_eq!(a.fault_pdu(2, 0, 5).auth, None);
    }

    #[test]
    fn at_integrity_level_calls_are_signed_with_rising_sequence_numbers() {
        let (_, mut a) = assoc(auth_level::INTEGRITY);
        a.bind_negotiate_pdu(1, &[ContextItem::ndr(0, uuids::IREMUNKNOWN2)], 5);
        let first = a.request_pdu(2, 0, 3, vec![0; 8], Some(5)).auth.expect("signed");
        let second = a.request_pdu(3, 0, 3, vec![0; 8], Some(5)).auth.expect("signed");
        assert_eq!((first.level, first.context_id), (auth_level::INTEGRITY, 5));
        // The NTLMSSP verifier ends with its sequence number.
        assert_eq!(first.token[12..], 0u32.to_le_bytes());
        assert_eq!(second.token[12..], 1u32.to_le_bytes());
    }
}
