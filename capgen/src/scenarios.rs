//! Whole captures: the seed case study (WinPE, full OS, hotfix) and realism variants.
//!
//! Each scenario returns a `Capture`; `.bytes()` is the pcapng file and `.frame("mark")` the frame
//! number of a named frame. Every doc comment lists the marks and what the plugin must report;
//! "as association 1" means: `IdentityChange` (REDMOND\jiangyue vs baseline \administrator from
//! `auth`) at `change`, `ManagedObjectQi` at `qi_managed`, `FaultAfterChange` (0x721) at
//! `fault_721` and (5) at `fault_5`, and `AbortAfterChange{Fin}` at `server_fin`.
use std::net::Ipv6Addr;

use crate::dcom;
use crate::net::{Capture, Dir, FlowId, FlowSpec};
use crate::ntlmssp::Credentials;
use crate::rpc::{auth_level, result, status, uuids, ContextItem, ContextResult, Drep, Pdu};
pub use crate::session::*;

/// Auth context ids of the seed scenarios (the client numbers them sequentially).
pub const A1_ADMIN: u32 = 79231;
pub const A1_JIANGYUE: u32 = 79232;
pub const A2_ADMIN: u32 = 79233;
pub const A2_JIANGYUE: u32 = 79234;
pub const A3_ADMIN: u32 = 79235;

fn accept() -> ContextResult {
    ContextResult::accept_ndr()
}

fn reject_ts() -> ContextResult {
    ContextResult::provider_reject(result::PROPOSED_TRANSFER_SYNTAXES_NOT_SUPPORTED)
}

/// Whether the second security context of an association uses the wrong identity (the bug).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// .NET 3.5 SP1 unpatched: the IManagedObject QI runs as REDMOND\jiangyue and fails.
    Buggy,
    /// KB967622 installed: every context is \administrator, no IManagedObject QI, no faults.
    Hotfix,
}

/// Association 1 of the case study, bind to the last fault.
///
/// Steps: `bind`, `bind_ack`, `auth` (\administrator, ctx 79231), `clone`, `clone_resp`, `alter`
/// (ctx 1 IRemUnknown2 NDR, ctx 2 NDR64, new auth ctx 79232), `alter_resp` (ctx 2 rejected),
/// `change` (AUTH3; Hotfix: `reauth` as \administrator), then Buggy: `qi_managed`, `fault_721`,
/// `qi_pci`, `fault_5`; Hotfix: `qi_pci`, `qi_pci_resp`.
pub fn association_1(a: &mut Assoc, v: Variant) -> Vec<Step> {
    let mut s = vec![
        Step::client("bind", a.bind_negotiate_pdu(3, &[ContextItem::ndr(0, uuids::IENUM_WBEM_CLASS_OBJECT)], A1_ADMIN)),
        Step::server("bind_ack", a.bind_ack_challenge_pdu(3, &[accept()], A1_ADMIN)),
        Step::client("auth", a.auth3_pdu(3, A1_ADMIN, &administrator())),
    ];
    let req = a.orpc_stub(&[]);
    s.push(Step::client("clone", a.request_pdu(7, 0, dcom::OP_ENUM_CLONE, req, Some(A1_ADMIN))));
    let resp = a.clone_ok_stub();
    s.push(Step::server("clone_resp", a.response_pdu(7, 0, resp, Some(A1_ADMIN))).after_ack());
    let items = [ContextItem::ndr(1, uuids::IREMUNKNOWN2), ContextItem::ndr64(2, uuids::IREMUNKNOWN2)];
    s.push(Step::client("alter", a.alter_negotiate_pdu(8, &items, A1_JIANGYUE)));
    s.push(Step::server("alter_resp", a.alter_resp_challenge_pdu(8, &[accept(), reject_ts()], A1_JIANGYUE)));
    match v {
        Variant::Buggy => {
            s.push(Step::client("change", a.auth3_pdu(8, A1_JIANGYUE, &jiangyue())));
            let req = a.qi_stub(&[uuids::IMANAGED_OBJECT]);
            s.push(Step::client(
                "qi_managed",
                a.request_pdu(8, 1, dcom::OP_REM_QUERY_INTERFACE, req, Some(A1_JIANGYUE)),
            ));
            s.push(Step::server("fault_721", a.fault_pdu(8, 1, status::SEC_PKG_ERROR)).after_ack());
            let req = a.qi_stub(&[uuids::IPROVIDE_CLASS_INFO]);
            s.push(Step::client("qi_pci", a.request_pdu(9, 1, dcom::OP_REM_QUERY_INTERFACE, req, Some(A1_JIANGYUE))));
            s.push(Step::server("fault_5", a.fault_pdu(9, 1, status::ACCESS_DENIED)));
        }
        Variant::Hotfix => {
            s.push(Step::client("reauth", a.auth3_pdu(8, A1_JIANGYUE, &administrator())));
            let req = a.qi_stub(&[uuids::IPROVIDE_CLASS_INFO]);
            s.push(Step::client("qi_pci", a.request_pdu(8, 1, dcom::OP_REM_QUERY_INTERFACE, req, Some(A1_JIANGYUE))));
            let resp = a.qi_ok_stub("ipid/pci");
            s.push(Step::server("qi_pci_resp", a.response_pdu(8, 1, resp, Some(A1_JIANGYUE))).after_ack());
        }
    }
    s
}

/// Association 2 of the case study after its bind: Reset, plain alter_context + QI, re-auth,
/// GetSmartEnum, Next, GetSmartEnum.
///
/// `ctx` is the first new presentation context id (IRemUnknown2 NDR; `ctx+1` NDR64 rejected;
/// `ctx+2` IWbemFetchSmartEnum), `admin` the auth ctx of the calls as \administrator, `second`
/// the new one. Steps: `reset`, `reset_resp`, `alter_plain`, `alter_plain_resp`, `qi_smartenum`,
/// `qi_smartenum_resp`, `alter`, `alter_resp`, `change` (Hotfix: `reauth`), `getsmartenum`,
/// `fault_721` (Hotfix: `getsmartenum_resp`), `next`, `next_resp`, `getsmartenum2`, `fault_5`
/// (Hotfix: `getsmartenum2_resp`).
pub fn association_2_calls(a: &mut Assoc, v: Variant, ctx: u16, admin: u32, second: u32) -> Vec<Step> {
    let mut s = Vec::new();
    let req = a.orpc_stub(&[]);
    s.push(Step::client("reset", a.request_pdu(11, 0, dcom::OP_ENUM_RESET, req, Some(admin))));
    let resp = a.orpc_ok_stub();
    s.push(Step::server("reset_resp", a.response_pdu(11, 0, resp, Some(admin))).after_ack());
    let items = [ContextItem::ndr(ctx, uuids::IREMUNKNOWN2), ContextItem::ndr64(ctx + 1, uuids::IREMUNKNOWN2)];
    s.push(Step::client("alter_plain", Pdu::alter_context(a.drep, 12, a.assoc_group, &items)));
    s.push(Step::server(
        "alter_plain_resp",
        Pdu::alter_context_resp(a.drep, 12, a.assoc_group, &[accept(), reject_ts()]),
    ));
    let req = a.qi_stub(&[uuids::IWBEM_FETCH_SMART_ENUM]);
    s.push(Step::client("qi_smartenum", a.request_pdu(12, ctx, dcom::OP_REM_QUERY_INTERFACE, req, Some(admin))));
    let resp = a.qi_ok_stub("ipid/fetchsmartenum");
    s.push(Step::server("qi_smartenum_resp", a.response_pdu(12, ctx, resp, Some(admin))));

    let smart = ctx + 2;
    s.push(Step::client(
        "alter",
        a.alter_negotiate_pdu(13, &[ContextItem::ndr(smart, uuids::IWBEM_FETCH_SMART_ENUM)], second),
    ));
    s.push(Step::server("alter_resp", a.alter_resp_challenge_pdu(13, &[accept()], second)));
    let (name, creds) = match v {
        Variant::Buggy => ("change", jiangyue()),
        Variant::Hotfix => ("reauth", administrator()),
    };
    s.push(Step::client(name, a.auth3_pdu(13, second, &creds)));
    let req = a.orpc_stub(&[]);
    s.push(Step::client("getsmartenum", a.request_pdu(13, smart, dcom::OP_GET_SMART_ENUM, req, Some(second))));
    s.push(match v {
        Variant::Buggy => Step::server("fault_721", a.fault_pdu(13, smart, status::SEC_PKG_ERROR)).after_ack(),
        Variant::Hotfix => {
            let resp = a.orpc_ok_stub();
            Step::server("getsmartenum_resp", a.response_pdu(13, smart, resp, Some(second))).after_ack()
        }
    });
    let req = dcom::enum_next_req(a.drep, &a.cid, 0xffff_ffff, 1);
    s.push(Step::client("next", a.request_pdu(14, 0, dcom::OP_ENUM_NEXT, req, Some(admin))));
    let resp = dcom::orpc_blob_resp(a.drep, 3200, "wbem/next");
    s.push(Step::server("next_resp", a.response_pdu(14, 0, resp, Some(admin))));
    let req = a.orpc_stub(&[]);
    s.push(Step::client("getsmartenum2", a.request_pdu(15, smart, dcom::OP_GET_SMART_ENUM, req, Some(second))));
    s.push(match v {
        Variant::Buggy => Step::server("fault_5", a.fault_pdu(15, smart, status::ACCESS_DENIED)),
        Variant::Hotfix => {
            let resp = a.orpc_ok_stub();
            Step::server("getsmartenum2_resp", a.response_pdu(15, smart, resp, Some(second)))
        }
    });
    s
}

/// Association 2's bind (ctx 0 IEnumWbemClassObject NDR, ctx 1 NDR64 rejected) as \administrator.
/// Steps: `bind`, `bind_ack`, `auth`.
pub fn association_2_bind(a: &mut Assoc) -> Vec<Step> {
    let items =
        [ContextItem::ndr(0, uuids::IENUM_WBEM_CLASS_OBJECT), ContextItem::ndr64(1, uuids::IENUM_WBEM_CLASS_OBJECT)];
    vec![
        Step::client("bind", a.bind_negotiate_pdu(11, &items, A2_ADMIN)),
        Step::server("bind_ack", a.bind_ack_challenge_pdu(11, &[accept(), reject_ts()], A2_ADMIN)),
        Step::client("auth", a.auth3_pdu(11, A2_ADMIN, &administrator())),
    ]
}

/// Association 3: bind with 3 items for IRemUnknown2 (NDR; NDR64 rejected; bind time feature
/// negotiation offering and acknowledging 0x03, i.e. security context multiplexing) as
/// \administrator, RemRelease. Steps: `bind`, `bind_ack`, `auth`, `release`, `release_resp`.
pub fn association_3(a: &mut Assoc) -> Vec<Step> {
    let items = [
        ContextItem::ndr(0, uuids::IREMUNKNOWN2),
        ContextItem::ndr64(1, uuids::IREMUNKNOWN2),
        ContextItem::bind_time_features(2, uuids::IREMUNKNOWN2, 0x03),
    ];
    let results = [accept(), reject_ts(), ContextResult::negotiate_ack(0x03)];
    let mut s = vec![
        Step::client("bind", a.bind_negotiate_pdu(17, &items, A3_ADMIN)),
        Step::server("bind_ack", a.bind_ack_challenge_pdu(17, &results, A3_ADMIN)),
        Step::client("auth", a.auth3_pdu(17, A3_ADMIN, &administrator())),
    ];
    let req = dcom::rem_release_req(a.drep, &a.cid, &[(a.ipid, 5, 0)]);
    s.push(Step::client("release", a.request_pdu(17, 0, dcom::OP_REM_RELEASE, req, Some(A3_ADMIN))));
    let resp = dcom::orpc_hresult_resp(a.drep, 0);
    s.push(Step::server("release_resp", a.response_pdu(17, 0, resp, Some(A3_ADMIN))).after_ack());
    s
}

/// Bind as `creds` (auth ctx `auth_ctx`, ctx 0 IEnumWbemClassObject) and one Clone (call 4).
/// Steps: `bind`, `bind_ack`, `auth`, `clone`, `clone_resp`.
pub fn bind_and_clone(a: &mut Assoc, creds: &Credentials, auth_ctx: u32) -> Vec<Step> {
    let mut s = vec![
        Step::client("bind", a.bind_negotiate_pdu(3, &[ContextItem::ndr(0, uuids::IENUM_WBEM_CLASS_OBJECT)], auth_ctx)),
        Step::server("bind_ack", a.bind_ack_challenge_pdu(3, &[accept()], auth_ctx)),
        Step::client("auth", a.auth3_pdu(3, auth_ctx, creds)),
    ];
    let req = a.orpc_stub(&[]);
    s.push(Step::client("clone", a.request_pdu(4, 0, dcom::OP_ENUM_CLONE, req, Some(auth_ctx))));
    let resp = a.orpc_ok_stub();
    s.push(Step::server("clone_resp", a.response_pdu(4, 0, resp, Some(auth_ctx))));
    s
}

/// A client that never switches identity: `bind_and_clone` as `creds`, a second security
/// context (`auth_ctx + 1`) for IRemUnknown2 as `creds2`, QI IProvideClassInfo, Clone again.
/// Steps: `bind`, `bind_ack`, `auth`, `clone`, `clone_resp`, `alter`, `alter_resp`, `reauth`,
/// `qi_pci`, `qi_pci_resp`, `clone2`, `clone2_resp`.
pub fn steady_association(a: &mut Assoc, creds: &Credentials, creds2: &Credentials, auth_ctx: u32) -> Vec<Step> {
    let mut s = bind_and_clone(a, creds, auth_ctx);
    let second = auth_ctx + 1;
    s.push(Step::client("alter", a.alter_negotiate_pdu(5, &[ContextItem::ndr(1, uuids::IREMUNKNOWN2)], second)));
    s.push(Step::server("alter_resp", a.alter_resp_challenge_pdu(5, &[accept()], second)));
    s.push(Step::client("reauth", a.auth3_pdu(5, second, creds2)));
    let req = a.qi_stub(&[uuids::IPROVIDE_CLASS_INFO]);
    s.push(Step::client("qi_pci", a.request_pdu(5, 1, dcom::OP_REM_QUERY_INTERFACE, req, Some(second))));
    let resp = a.qi_ok_stub("ipid/pci");
    s.push(Step::server("qi_pci_resp", a.response_pdu(5, 1, resp, Some(second))).after_ack());
    let req = a.orpc_stub(&[]);
    s.push(Step::client("clone2", a.request_pdu(6, 0, dcom::OP_ENUM_CLONE, req, Some(auth_ctx))));
    let resp = a.orpc_ok_stub();
    s.push(Step::server("clone2_resp", a.response_pdu(6, 0, resp, Some(auth_ctx))));
    s
}

// ---- the seed case study -------------------------------------------------------------------------

/// The user's WinPE capture: the server aborts each association that switched identity.
///
/// Association 1 (tcp.stream 0, port 59916), marks `a1_<step>` of `association_1` (Buggy), then
/// `a1_server_fin`. Association 2 (stream 1, port 59917): `a2_bind`, `a2_bind_ack`, `a2_auth`,
/// then `a2_<step>` of `association_2_calls` (Buggy; the plain alter_context gets no auth, its
/// ctx 3 is rejected; the change is on ctx 4 IWbemFetchSmartEnum), then `a2_server_fin`.
/// Association 3 (stream 2, port 59918, 1.27 s later): `a3_<step>` of `association_3`, then the
/// client's RST `a3_client_rst`.
///
/// Expected findings: `IdentityChange` (REDMOND\jiangyue vs \administrator, baseline `a1_auth` /
/// `a2_auth`, interface IRemUnknown2 / IWbemFetchSmartEnum, multiplexing false) at `a1_change` and
/// `a2_change`; `ManagedObjectQi` at `a1_qi_managed`; `FaultAfterChange` at `a1_fault_721`
/// (0x721, RemQueryInterface [IManagedObject]), `a1_fault_5` (5, [IProvideClassInfo]),
/// `a2_fault_721` (0x721, GetSmartEnum), `a2_fault_5` (5); `AbortAfterChange{Fin}` at
/// `a1_server_fin` (last fault `a1_fault_5`) and `a2_server_fin` (last fault `a2_fault_5`);
/// nothing for association 3 (client RST, no change) whose `PairHistory` shows 2 earlier
/// associations, 2 with change, 2 with abort. Calls under \administrator (`a2_next`,
/// `a2_qi_smartenum`) are not `changed`.
pub fn seed_winpe() -> Capture {
    seed_winpe_at(auth_level::INTEGRITY)
}

/// `seed_winpe` with every security context at auth level CONNECT: the bind, alter_context and
/// AUTH3 PDUs (and bind_ack, alter_context_resp) carry their sec_trailer and tokens as before,
/// the requests, responses and faults none (so no auth_context_id says which context a call
/// uses). Marks as `seed_winpe`.
pub fn seed_winpe_connect() -> Capture {
    seed_winpe_at(auth_level::CONNECT)
}

fn seed_winpe_at(level: u8) -> Capture {
    let mut cap = Capture::new();
    let mut a1 = Assoc::connect(&mut cap, client_flow(59916), Drep::Little);
    a1.level = level;
    let steps = association_1(&mut a1, Variant::Buggy);
    play(&mut cap, a1.flow, &steps, "a1_");
    close(&mut cap, a1.flow, Dir::Server, "a1_server_fin");

    let mut a2 = Assoc::connect(&mut cap, client_flow(59917), Drep::Little);
    a2.level = level;
    let mut steps = association_2_bind(&mut a2);
    steps.extend(association_2_calls(&mut a2, Variant::Buggy, 2, A2_ADMIN, A2_JIANGYUE));
    play(&mut cap, a2.flow, &steps, "a2_");
    cap.ack(a2.flow, Dir::Client);
    close(&mut cap, a2.flow, Dir::Server, "a2_server_fin");

    cap.wait_us(1_270_000);
    let mut a3 = Assoc::connect(&mut cap, client_flow(59918), Drep::Little);
    a3.level = level;
    let steps = association_3(&mut a3);
    play(&mut cap, a3.flow, &steps, "a3_");
    cap.wait_us(1_300);
    cap.rst(a3.flow, Dir::Client);
    cap.mark("a3_client_rst");
    cap
}

/// The same client against a full OS: the server faults but never closes; one association.
///
/// One association (stream 0, port 59916): `association_1` (Buggy) with marks `p1_<step>`, then
/// `association_2_calls` (Buggy; new contexts 3–5, the calls as administrator under 79231, the
/// second jiangyue context is auth ctx 79233) with marks `p2_<step>`; the CLIENT closes
/// (`client_fin`). Aliases: `auth` = `p1_auth`, `change1`, `qi_managed`, `fault1_721`,
/// `fault1_5` (from p1_), `change2`, `fault2_721`, `fault2_5` (from p2_).
///
/// Expected findings: `IdentityChange` at `change1` and `change2` (baseline `auth`),
/// `ManagedObjectQi` at `qi_managed`, `FaultAfterChange` at the four faults, and no abort
/// finding (`client_fin` is the client's orderly close).
pub fn seed_fullos() -> Capture {
    seed_fullos_at(auth_level::INTEGRITY)
}

/// `seed_fullos` with every security context at auth level CONNECT (sec_trailers only on bind,
/// alter_context, AUTH3 and their answers). Marks as `seed_fullos`.
pub fn seed_fullos_connect() -> Capture {
    seed_fullos_at(auth_level::CONNECT)
}

fn seed_fullos_at(level: u8) -> Capture {
    let mut cap = Capture::new();
    let mut a = Assoc::connect(&mut cap, client_flow(59916), Drep::Little);
    a.level = level;
    let steps = association_1(&mut a, Variant::Buggy);
    play(&mut cap, a.flow, &steps, "p1_");
    // The second jiangyue context gets the next auth_context_id the client hands out.
    let steps = association_2_calls(&mut a, Variant::Buggy, 3, A1_ADMIN, 79233);
    play(&mut cap, a.flow, &steps, "p2_");
    cap.ack(a.flow, Dir::Client);
    close(&mut cap, a.flow, Dir::Client, "client_fin");
    for (alias, mark) in SEED_FULLOS_ALIASES {
        let f = cap.frame(mark);
        cap.mark_frame(alias, f);
    }
    cap
}

/// Short names `seed_fullos` gives to frames of its two parts: (alias, mark).
pub const SEED_FULLOS_ALIASES: [(&str, &str); 8] = [
    ("auth", "p1_auth"),
    ("change1", "p1_change"),
    ("qi_managed", "p1_qi_managed"),
    ("fault1_721", "p1_fault_721"),
    ("fault1_5", "p1_fault_5"),
    ("change2", "p2_change"),
    ("fault2_721", "p2_fault_721"),
    ("fault2_5", "p2_fault_5"),
];

/// The hotfixed client: the same three associations, every AUTHENTICATE is `\administrator`.
///
/// Association 1 (port 59916): `a1_<step>` of `association_1` (Hotfix: `a1_reauth` is the second
/// context's AUTH3, `a1_qi_pci` succeeds), client close `a1_client_fin`. Association 2 (port
/// 59917): `a2_bind`, `a2_bind_ack`, `a2_auth`, `a2_<step>` of `association_2_calls` (Hotfix),
/// client close `a2_client_fin`. Association 3 (port 59918): `a3_<step>` of `association_3`,
/// client close `a3_client_fin` (= `client_fin`).
///
/// Expected findings: none. No IManagedObject QI, no fault, the second security contexts carry
/// the baseline identity, and every close is the client's.
pub fn seed_hotfix() -> Capture {
    let mut cap = Capture::new();
    let mut a1 = Assoc::connect(&mut cap, client_flow(59916), Drep::Little);
    let steps = association_1(&mut a1, Variant::Hotfix);
    play(&mut cap, a1.flow, &steps, "a1_");
    close(&mut cap, a1.flow, Dir::Client, "a1_client_fin");

    let mut a2 = Assoc::connect(&mut cap, client_flow(59917), Drep::Little);
    let mut steps = association_2_bind(&mut a2);
    steps.extend(association_2_calls(&mut a2, Variant::Hotfix, 2, A2_ADMIN, A2_JIANGYUE));
    play(&mut cap, a2.flow, &steps, "a2_");
    cap.ack(a2.flow, Dir::Client);
    close(&mut cap, a2.flow, Dir::Client, "a2_client_fin");

    cap.wait_us(1_270_000);
    let mut a3 = Assoc::connect(&mut cap, client_flow(59918), Drep::Little);
    let steps = association_3(&mut a3);
    play(&mut cap, a3.flow, &steps, "a3_");
    close(&mut cap, a3.flow, Dir::Client, "a3_client_fin");
    let fin = cap.frame("a3_client_fin");
    cap.mark_frame("client_fin", fin);
    cap
}

// ---- realism variants ----------------------------------------------------------------------------

/// Plays association 1 (Buggy) on `spec` with `drep`, then the server's FIN (`server_fin`).
fn association_1_capture(spec: FlowSpec, drep: Drep) -> Capture {
    one_association(spec, drep, Dir::Server, |a| association_1(a, Variant::Buggy))
}

/// One association from `spec` in `drep` whose steps `script` builds, each marked with its name,
/// then an orderly close started by `closer` (`server_fin` or `client_fin`).
fn one_association(spec: FlowSpec, drep: Drep, closer: Dir, script: impl FnOnce(&mut Assoc) -> Vec<Step>) -> Capture {
    let mut cap = Capture::new();
    let mut a = Assoc::connect(&mut cap, spec, drep);
    let steps = script(&mut a);
    play(&mut cap, a.flow, &steps, "");
    let mark = if closer == Dir::Server { "server_fin" } else { "client_fin" };
    close(&mut cap, a.flow, closer, mark);
    cap
}

/// Orderly close of `flow` started by `dir`, its first FIN marked `mark`.
fn close(cap: &mut Capture, flow: FlowId, dir: Dir, mark: &str) {
    let fin = cap.close_by(flow, dir);
    cap.mark_frame(mark, fin);
}

/// Association 1 with PDUs split across TCP segments: the bind in 2 (`bind_seg1`, `bind`), the
/// changed AUTH3 in 3 (`change_seg1`, `change_seg2`, `change`), the 0x721 fault in 2 cut after
/// 20 bytes (`fault_721_seg1`, `fault_721`). A cut inside the 16-byte common header is avoided on
/// purpose: on a dynamic port Wireshark finds DCE/RPC only heuristically, and its heuristic needs
/// the whole header in one segment, so such a PDU would not be dissected at all.
///
/// Expected findings: as association 1, each on the segment that completes the PDU (`change`,
/// `fault_721`); nothing on the `_seg` frames.
pub fn split_pdus() -> Capture {
    let mut cap = Capture::new();
    let mut a = Assoc::connect(&mut cap, client_flow(59916), Drep::Little);
    for s in association_1(&mut a, Variant::Buggy) {
        match s.name {
            "bind" => {
                play_step_split(&mut cap, a.flow, &s, "", &[60]);
            }
            "change" => {
                play_step_split(&mut cap, a.flow, &s, "", &[100, 200]);
                let last = cap.frame("change");
                cap.mark_frame("change_seg2", last - 1);
            }
            "fault_721" => {
                play_step_split(&mut cap, a.flow, &s, "", &[20]);
            }
            _ => {
                play_step(&mut cap, a.flow, &s, "");
            }
        }
    }
    close(&mut cap, a.flow, Dir::Server, "server_fin");
    cap
}

/// Association 1 with several PDUs per TCP segment: the changed AUTH3 and both QIs in one client
/// segment (`change` = `qi_managed` = `qi_pci`), then both faults in one server segment
/// (`fault_721` = `fault_5`).
///
/// Expected findings: `IdentityChange` and `ManagedObjectQi` in frame `change`; both
/// `FaultAfterChange` (0x721 then 5) in frame `fault_721`; `AbortAfterChange` at `server_fin`.
pub fn pdus_in_one_segment() -> Capture {
    let mut cap = Capture::new();
    let mut a = Assoc::connect(&mut cap, client_flow(59916), Drep::Little);
    let steps = association_1(&mut a, Variant::Buggy);
    for s in &steps[..7] {
        play_step(&mut cap, a.flow, s, "");
    }
    let mut calls = step(&steps, "change").clone();
    calls.pdus.extend(step(&steps, "qi_managed").pdus.clone());
    calls.pdus.extend(step(&steps, "qi_pci").pdus.clone());
    let f = play_step(&mut cap, a.flow, &calls, "");
    cap.mark_frame("qi_managed", f);
    cap.mark_frame("qi_pci", f);
    let mut faults = step(&steps, "fault_721").clone();
    faults.pdus.extend(step(&steps, "fault_5").pdus.clone());
    let f = play_step(&mut cap, a.flow, &faults, "");
    cap.mark_frame("fault_5", f);
    close(&mut cap, a.flow, Dir::Server, "server_fin");
    cap
}

/// Association 1 on port 135 (where Wireshark reassembles DCE/RPC even when a segment cuts a PDU
/// header) with the client's AUTH3, both QIs and a third QI (IUnknown, call 10) sent back to back
/// in three segments: `change` ends 8 bytes into the IManagedObject QI's header; `qi_managed`
/// completes that QI and ends 20 bytes into the IProvideClassInfo QI; `qi_pci` (= `qi_iunknown`)
/// completes it and carries the whole IUnknown QI after it. The server faults all three.
///
/// Expected findings: as association 1, plus `FaultAfterChange` (5) at `fault_iunknown`: the
/// IUnknown QI sits behind two reassembled PDUs and must still be found.
pub fn split_header() -> Capture {
    let mut cap = Capture::new();
    let mut a = Assoc::connect(&mut cap, FlowSpec::v4(CLIENT_IP, 59916, SERVER_IP, 135), Drep::Little);
    let steps = association_1(&mut a, Variant::Buggy);
    for s in &steps[..7] {
        play_step(&mut cap, a.flow, s, "");
    }
    let req = a.qi_stub(&[uuids::IUNKNOWN]);
    let iunknown = a.request_pdu(10, 1, dcom::OP_REM_QUERY_INTERFACE, req, Some(A1_JIANGYUE));
    let auth3 = step(&steps, "change").bytes();
    let qi_managed = step(&steps, "qi_managed").bytes();
    let mut calls = step(&steps, "change").clone();
    calls.pdus.extend(step(&steps, "qi_managed").pdus.clone());
    calls.pdus.extend(step(&steps, "qi_pci").pdus.clone());
    calls.pdus.push(iunknown);
    let first = cap.last_frame() + 1;
    let last = cap.send_split(a.flow, Dir::Client, &calls.bytes(), &[auth3.len() + 8, qi_managed.len() - 8 + 20]);
    cap.mark_frame("change", first);
    cap.mark_frame("qi_managed", first + 1);
    cap.mark_frame("qi_pci", last);
    cap.mark_frame("qi_iunknown", last);
    play_step(&mut cap, a.flow, step(&steps, "fault_721"), "");
    play_step(&mut cap, a.flow, step(&steps, "fault_5"), "");
    let fault = Step::server("fault_iunknown", a.fault_pdu(10, 1, status::ACCESS_DENIED));
    play_step(&mut cap, a.flow, &fault, "");
    close(&mut cap, a.flow, Dir::Server, "server_fin");
    cap
}

/// Association 1 where the changed AUTH3 and the IManagedObject QI share one TCP segment (Windows
/// does this: AUTH3 has no answer). `change` = `qi_managed`.
///
/// Expected findings: as association 1, with `IdentityChange` and `ManagedObjectQi` both in frame
/// `change`.
pub fn auth3_with_request() -> Capture {
    let mut cap = Capture::new();
    let mut a = Assoc::connect(&mut cap, client_flow(59916), Drep::Little);
    let steps = association_1(&mut a, Variant::Buggy);
    for s in &steps {
        match s.name {
            "change" => {
                let mut both = s.clone();
                both.pdus.extend(step(&steps, "qi_managed").pdus.clone());
                let f = play_step(&mut cap, a.flow, &both, "");
                cap.mark_frame("qi_managed", f);
            }
            "qi_managed" => {}
            _ => {
                play_step(&mut cap, a.flow, s, "");
            }
        }
    }
    close(&mut cap, a.flow, Dir::Server, "server_fin");
    cap
}

/// Association 1 with TCP retransmissions 300 ms after the original: the changed AUTH3
/// (`change`, again as `change_retx`), the 0x721 fault (`fault_721`, `fault_721_retx`) and the
/// server's FIN (`server_fin`, `server_fin_retx`).
///
/// Expected findings: as association 1, on the original frames only; the `_retx` frames (which
/// Wireshark dissects again) add no finding and do not move `change_frame`/abort frames.
pub fn retransmissions() -> Capture {
    let mut cap = Capture::new();
    let mut a = Assoc::connect(&mut cap, client_flow(59916), Drep::Little);
    for s in association_1(&mut a, Variant::Buggy) {
        let f = play_step(&mut cap, a.flow, &s, "");
        if s.name == "change" || s.name == "fault_721" {
            cap.wait_us(300_000);
            let r = cap.retransmit(f);
            cap.mark_frame(&format!("{}_retx", s.name), r);
        }
    }
    let fin = cap.fin(a.flow, Dir::Server);
    cap.mark_frame("server_fin", fin);
    cap.wait_us(300_000);
    let r = cap.retransmit(fin);
    cap.mark_frame("server_fin_retx", r);
    cap.ack(a.flow, Dir::Client);
    cap.fin(a.flow, Dir::Client);
    cap.ack(a.flow, Dir::Server);
    cap
}

/// Association 1 where the capture sees the two pipelined QI requests in reverse order: `qi_pci`
/// (higher sequence number) is captured before `qi_managed`. Both are whole PDUs in their own
/// segments; the faults follow in order.
///
/// Expected findings: as association 1 (`ManagedObjectQi` at `qi_managed`, which comes after
/// `qi_pci` in frame order; each fault still answers its own call_id).
pub fn out_of_order() -> Capture {
    let mut cap = Capture::new();
    let mut a = Assoc::connect(&mut cap, client_flow(59916), Drep::Little);
    let steps = association_1(&mut a, Variant::Buggy);
    for s in &steps[..8] {
        play_step(&mut cap, a.flow, s, "");
    }
    let managed = cap.segments(a.flow, Dir::Client, &step(&steps, "qi_managed").bytes(), &[]);
    let pci = cap.segments(a.flow, Dir::Client, &step(&steps, "qi_pci").bytes(), &[]);
    let f = cap.emit(&pci[0]);
    cap.mark_frame("qi_pci", f);
    let f = cap.emit(&managed[0]);
    cap.mark_frame("qi_managed", f);
    play_step(&mut cap, a.flow, step(&steps, "fault_721"), "");
    play_step(&mut cap, a.flow, step(&steps, "fault_5"), "");
    close(&mut cap, a.flow, Dir::Server, "server_fin");
    cap
}

/// Association 1 with DCE/RPC fragmentation: the Clone response (48 + 48 + rest stub bytes) and
/// the IManagedObject QI (16 + 32 + 28) each in 3 fragments (each with its own verifier, each in its own TCP segment):
/// `clone_resp_frag1`, `clone_resp_frag2`, `clone_resp`; `qi_managed_frag1`, `qi_managed_frag2`,
/// `qi_managed`.
///
/// Expected findings: as association 1; the QI finding (`ManagedObjectQi`, IIDs [IManagedObject]
/// from the reassembled stub) on the last fragment `qi_managed`, none on the first two.
pub fn fragmented_calls() -> Capture {
    let mut cap = Capture::new();
    let mut a = Assoc::connect(&mut cap, client_flow(59916), Drep::Little);
    for s in association_1(&mut a, Variant::Buggy) {
        let (sizes, auth_ctx): (&[usize], u32) = match s.name {
            "clone_resp" => (&[48, 48], A1_ADMIN),
            "qi_managed" => (&[16, 32], A1_JIANGYUE),
            _ => {
                play_step(&mut cap, a.flow, &s, "");
                continue;
            }
        };
        if s.ack_first {
            cap.ack(a.flow, s.dir);
        }
        let frags = s.pdus[0].fragments(sizes);
        let n = frags.len();
        for (i, mut frag) in frags.into_iter().enumerate() {
            if i > 0 {
                // Every fragment is signed on its own, with the next sequence number.
                frag.auth = Some(a.verifier(auth_ctx, s.dir));
            }
            let f = cap.send(a.flow, s.dir, &frag.bytes());
            let name = if i + 1 == n { s.name.to_string() } else { format!("{}_frag{}", s.name, i + 1) };
            cap.mark_frame(&name, f);
        }
    }
    close(&mut cap, a.flow, Dir::Server, "server_fin");
    cap
}

/// Association 1 with big-endian data representation in every PDU (header, bodies, sec_trailer,
/// UUIDs, NDR stubs; NTLMSSP stays little-endian as it always is). Marks as `association_1`, plus
/// `server_fin`.
///
/// Expected findings: as association 1.
pub fn big_endian() -> Capture {
    association_1_capture(client_flow(59916), Drep::Big)
}

/// Client fd00::10 port 59916 → server fd00::20 port 49157 over IPv6; association 1.
///
/// Expected findings: as association 1.
pub fn ipv6() -> Capture {
    let c: Ipv6Addr = "fd00::10".parse().expect("ipv6");
    let s: Ipv6Addr = "fd00::20".parse().expect("ipv6");
    association_1_capture(FlowSpec::v6(c, 59916, s, SERVER_PORT), Drep::Little)
}

/// Association 1 with every frame tagged 802.1Q VLAN 42.
///
/// Expected findings: as association 1.
pub fn vlan() -> Capture {
    association_1_capture(client_flow(59916).vlan(42), Drep::Little)
}

/// A capture that starts in the middle of an association (no handshake, no bind, no AUTH3 for
/// the context in use): `unknown_call`/`unknown_call_resp` (Next, call 20) and `unknown_call2`
/// (Clone, call 21) run under auth ctx 79231 whose identity is never seen. Then an alter_context
/// (`alter1`, ctx 1 IRemUnknown2) + AUTH3 as \administrator under 79232 (`first_auth`, the first
/// identity seen), a QI as administrator (`qi_ok`, `qi_ok_resp`), alter_context (`alter2`, ctx 3
/// IWbemFetchSmartEnum) + AUTH3 as REDMOND\jiangyue under 79233 (`change`), `qi_managed` →
/// `fault_721`, GetSmartEnum (`getsmartenum`) → `fault_5`, and the server's FIN `server_fin`.
///
/// Expected: the calls before `first_auth` show no identity (security ctx 79231, established
/// frame None); baseline \administrator from `first_auth` with `baseline_partial` true;
/// `IdentityChange` at `change` (baseline_frame `first_auth`); `ManagedObjectQi` at
/// `qi_managed`; `FaultAfterChange` at `fault_721` and `fault_5`; `AbortAfterChange` at
/// `server_fin`.
pub fn mid_association() -> Capture {
    let mut cap = Capture::new();
    let mut a = Assoc::resume(&mut cap, client_flow(59916), Drep::Little);
    a.assoc_group = 0x0001_2a4f;
    a.assume_context(A1_ADMIN, Mech::Ntlmssp, auth_level::INTEGRITY, 17);
    let mut s = Vec::new();
    let req = dcom::enum_next_req(a.drep, &a.cid, 0xffff_ffff, 1);
    s.push(Step::client("unknown_call", a.request_pdu(20, 0, dcom::OP_ENUM_NEXT, req, Some(A1_ADMIN))));
    let resp = dcom::orpc_blob_resp(a.drep, 600, "wbem/next/mid");
    s.push(Step::server("unknown_call_resp", a.response_pdu(20, 0, resp, Some(A1_ADMIN))).after_ack());
    let req = a.orpc_stub(&[]);
    s.push(Step::client("unknown_call2", a.request_pdu(21, 0, dcom::OP_ENUM_CLONE, req, Some(A1_ADMIN))));
    let resp = a.orpc_ok_stub();
    s.push(Step::server("unknown_call2_resp", a.response_pdu(21, 0, resp, Some(A1_ADMIN))));
    let items = [ContextItem::ndr(1, uuids::IREMUNKNOWN2), ContextItem::ndr64(2, uuids::IREMUNKNOWN2)];
    s.push(Step::client("alter1", a.alter_negotiate_pdu(22, &items, A1_JIANGYUE)));
    s.push(Step::server("alter1_resp", a.alter_resp_challenge_pdu(22, &[accept(), reject_ts()], A1_JIANGYUE)));
    s.push(Step::client("first_auth", a.auth3_pdu(22, A1_JIANGYUE, &administrator())));
    let req = a.qi_stub(&[uuids::IWBEM_FETCH_SMART_ENUM]);
    s.push(Step::client("qi_ok", a.request_pdu(22, 1, dcom::OP_REM_QUERY_INTERFACE, req, Some(A1_JIANGYUE))));
    let resp = a.qi_ok_stub("ipid/fetchsmartenum");
    s.push(Step::server("qi_ok_resp", a.response_pdu(22, 1, resp, Some(A1_JIANGYUE))));
    s.push(Step::client(
        "alter2",
        a.alter_negotiate_pdu(23, &[ContextItem::ndr(3, uuids::IWBEM_FETCH_SMART_ENUM)], A2_ADMIN),
    ));
    s.push(Step::server("alter2_resp", a.alter_resp_challenge_pdu(23, &[accept()], A2_ADMIN)));
    s.push(Step::client("change", a.auth3_pdu(23, A2_ADMIN, &jiangyue())));
    let req = a.qi_stub(&[uuids::IMANAGED_OBJECT]);
    s.push(Step::client("qi_managed", a.request_pdu(23, 1, dcom::OP_REM_QUERY_INTERFACE, req, Some(A2_ADMIN))));
    s.push(Step::server("fault_721", a.fault_pdu(23, 1, status::SEC_PKG_ERROR)).after_ack());
    let req = a.orpc_stub(&[]);
    s.push(Step::client("getsmartenum", a.request_pdu(24, 3, dcom::OP_GET_SMART_ENUM, req, Some(A2_ADMIN))));
    s.push(Step::server("fault_5", a.fault_pdu(24, 3, status::ACCESS_DENIED)));
    play(&mut cap, a.flow, &s, "");
    close(&mut cap, a.flow, Dir::Server, "server_fin");
    cap
}

/// Association 1 with a capture gap: the segment carrying the Clone response was not captured
/// (the server's ACK before it was). The client's next segment (`alter`) acknowledges the unseen
/// bytes and the server's next one (`alter_resp`) follows the hole.
///
/// Expected findings: as association 1; state survives the gap (the lost frame had no auth
/// exchange).
pub fn capture_gap() -> Capture {
    let mut cap = Capture::new();
    let mut a = Assoc::connect(&mut cap, client_flow(59916), Drep::Little);
    for s in association_1(&mut a, Variant::Buggy) {
        if s.name == "clone_resp" {
            cap.ack(a.flow, s.dir);
            // Prepared (the sequence numbers advance) but never emitted: the capture missed it.
            let _lost = cap.segments(a.flow, s.dir, &s.bytes(), &[]);
            continue;
        }
        play_step(&mut cap, a.flow, &s, "");
    }
    close(&mut cap, a.flow, Dir::Server, "server_fin");
    cap
}

/// Two associations from one client (10.0.0.10) interleaved step by step: association 1 (Buggy)
/// from port 59916 with marks `a_<step>` and `a_server_fin`; a steady \administrator
/// association from port 59920 with marks `b_<step>` and `b_client_fin`.
///
/// Expected findings: as association 1 for the `a_` marks; nothing for the `b_` association, whose
/// PDUs all run under \administrator and are not `changed`.
pub fn interleaved_associations() -> Capture {
    let mut cap = Capture::new();
    let mut a = Assoc::connect(&mut cap, client_flow(59916), Drep::Little);
    let mut b = Assoc::connect(&mut cap, client_flow(59920), Drep::Little);
    let sa = association_1(&mut a, Variant::Buggy);
    let sb = steady_association(&mut b, &administrator(), &administrator(), 80001);
    play_interleaved(&mut cap, &[(a.flow, &sa, "a_"), (b.flow, &sb, "b_")]);
    close(&mut cap, a.flow, Dir::Server, "a_server_fin");
    close(&mut cap, b.flow, Dir::Client, "b_client_fin");
    cap
}

/// Two clients to the same server, interleaved: 10.0.0.10:59916 runs association 1 (Buggy,
/// marks `c1_<step>`, `c1_server_fin`); 10.0.0.11:51000 runs a steady \administrator
/// association (marks `c2_<step>`, `c2_client_fin`).
///
/// Expected findings: as association 1 for `c1_`; nothing for `c2_` (its PairHistory is its own:
/// no earlier association between 10.0.0.11 and the server).
pub fn two_clients() -> Capture {
    let mut cap = Capture::new();
    let mut c1 = Assoc::connect(&mut cap, client_flow(59916), Drep::Little);
    let mut c2 = Assoc::connect(&mut cap, FlowSpec::v4([10, 0, 0, 11], 51000, SERVER_IP, SERVER_PORT), Drep::Little);
    let s1 = association_1(&mut c1, Variant::Buggy);
    let s2 = steady_association(&mut c2, &administrator(), &administrator(), 80001);
    play_interleaved(&mut cap, &[(c1.flow, &s1, "c1_"), (c2.flow, &s2, "c2_")]);
    close(&mut cap, c1.flow, Dir::Server, "c1_server_fin");
    close(&mut cap, c2.flow, Dir::Client, "c2_client_fin");
    cap
}

/// Port reuse: association 1 (Buggy) from 10.0.0.10:59916 (marks `a_<step>`, `a_server_fin`);
/// after it closed, a new connection from the same port with new initial sequence numbers
/// (Wireshark's tcp.stream 1) runs a steady \administrator association (marks `b_<step>`,
/// `b_client_fin`).
///
/// Expected findings: as association 1 for `a_`; nothing for `b_`: a new association, whose
/// identity is the host pair's first.
pub fn port_reuse() -> Capture {
    let mut cap = Capture::new();
    let mut a = Assoc::connect(&mut cap, client_flow(59916), Drep::Little);
    let steps = association_1(&mut a, Variant::Buggy);
    play(&mut cap, a.flow, &steps, "a_");
    close(&mut cap, a.flow, Dir::Server, "a_server_fin");
    let mut b = Assoc::reconnect(&mut cap, client_flow(59916), Drep::Little);
    let steps = steady_association(&mut b, &administrator(), &administrator(), 80001);
    play(&mut cap, b.flow, &steps, "b_");
    close(&mut cap, b.flow, Dir::Client, "b_client_fin");
    cap
}

/// One association where the same user authenticates two security contexts: bind as
/// `\administrator` (auth ctx 80001, `auth`), then a second context (80002) as `\Administrator`
/// (other case, `reauth`); calls under both succeed; the client closes (`client_fin`).
/// Marks: `<step>` of `steady_association`.
///
/// Expected findings: none (identities compare case-insensitively); calls under 80002 show
/// \Administrator, not `changed`.
pub fn same_user_two_contexts() -> Capture {
    one_association(client_flow(59916), Drep::Little, Dir::Client, |a| {
        steady_association(a, &administrator(), &Credentials::new("", "Administrator"), 80001)
    })
}

/// One association with NTLMSSP and Kerberos security contexts: bind as \administrator
/// (NTLMSSP, 80001, `auth`), Clone (`clone`, `clone_resp`); alter_context with SPNEGO carrying a
/// Kerberos AP-REQ (auth ctx 80002, ctx 1 IRemUnknown2, `krb_alter`) → alter_context_resp with
/// SPNEGO accept-completed + AP-REP (`krb_alter_resp`); QI IProvideClassInfo under 80002
/// (`krb_call`, `krb_call_resp`); alter_context with raw Kerberos (auth_type 16, auth ctx 80003,
/// ctx 2 IRemUnknown, `krb16_alter`, `krb16_alter_resp`) and a RemRelease under it (`krb16_call`,
/// `krb16_call_resp`); Clone under 80001 (`clone2`, `clone2_resp`); client close (`client_fin`).
///
/// Expected findings: none. Kerberos contexts have no NTLMSSP identity to compare: calls under
/// 80002/80003 show identity None with auth_type Kerberos; calls under 80001 show \administrator.
pub fn kerberos_and_ntlm() -> Capture {
    one_association(client_flow(59916), Drep::Little, Dir::Client, |a| {
        let mut s = bind_and_clone(a, &administrator(), 80001);
        let tok = a.spnego_krb5_init_token(80002);
        s.push(Step::client(
            "krb_alter",
            a.alter_token_pdu(5, &[ContextItem::ndr(1, uuids::IREMUNKNOWN2)], 80002, Mech::SpnegoKerberos, tok),
        ));
        let tok = a.spnego_krb5_accept_token(80002);
        s.push(Step::server("krb_alter_resp", a.alter_resp_token_pdu(5, &[accept()], 80002, tok)));
        let req = a.qi_stub(&[uuids::IPROVIDE_CLASS_INFO]);
        s.push(Step::client("krb_call", a.request_pdu(5, 1, dcom::OP_REM_QUERY_INTERFACE, req, Some(80002))));
        let resp = a.qi_ok_stub("ipid/pci");
        s.push(Step::server("krb_call_resp", a.response_pdu(5, 1, resp, Some(80002))));
        let tok = crate::spnego::gss_krb5_ap_req("CORP.EXAMPLE", &["RPCSS", "server.corp.example"], "krb16");
        s.push(Step::client(
            "krb16_alter",
            a.alter_token_pdu(6, &[ContextItem::ndr(2, uuids::IREMUNKNOWN)], 80003, Mech::Kerberos, tok),
        ));
        let tok = crate::spnego::gss_krb5_ap_rep("krb16");
        s.push(Step::server("krb16_alter_resp", a.alter_resp_token_pdu(6, &[accept()], 80003, tok)));
        let req = dcom::rem_release_req(a.drep, &a.cid, &[(a.ipid, 1, 0)]);
        s.push(Step::client("krb16_call", a.request_pdu(6, 2, dcom::OP_REM_RELEASE, req, Some(80003))));
        let resp = dcom::orpc_hresult_resp(a.drep, 0);
        s.push(Step::server("krb16_call_resp", a.response_pdu(6, 2, resp, Some(80003))));
        let req = a.orpc_stub(&[]);
        s.push(Step::client("clone2", a.request_pdu(7, 0, dcom::OP_ENUM_CLONE, req, Some(80001))));
        let resp = a.orpc_ok_stub();
        s.push(Step::server("clone2_resp", a.response_pdu(7, 0, resp, Some(80001))));
        s
    })
}

/// An anonymous NTLMSSP logon after an administrator bind: bind as \administrator (80001,
/// `auth`), Clone, alter_context (ctx 1 IRemUnknown2) + AUTH3 with an anonymous AUTHENTICATE
/// (empty domain/user, empty NT response, 1-byte LM response, NEGOTIATE_ANONYMOUS; 80002,
/// `change`); QI IProvideClassInfo under it (`anon_call`) → fault 5 (`fault_5`); the client
/// closes (`client_fin`).
///
/// Expected findings: `IdentityChange` at `change` (identity `\` i.e. empty domain and user,
/// baseline \administrator); `FaultAfterChange(Fault(5))` at `fault_5`; no abort finding.
pub fn anonymous_logon() -> Capture {
    one_association(client_flow(59916), Drep::Little, Dir::Client, |a| {
        let mut s = bind_and_clone(a, &administrator(), 80001);
        s.push(Step::client("alter", a.alter_negotiate_pdu(5, &[ContextItem::ndr(1, uuids::IREMUNKNOWN2)], 80002)));
        s.push(Step::server("alter_resp", a.alter_resp_challenge_pdu(5, &[accept()], 80002)));
        s.push(Step::client("change", a.auth3_pdu(5, 80002, &Credentials::anonymous())));
        let req = a.qi_stub(&[uuids::IPROVIDE_CLASS_INFO]);
        s.push(Step::client("anon_call", a.request_pdu(6, 1, dcom::OP_REM_QUERY_INTERFACE, req, Some(80002))));
        s.push(Step::server("fault_5", a.fault_pdu(6, 1, status::ACCESS_DENIED)));
        s
    })
}

/// A hostile user name: the second security context authenticates as `EVIL\%s%n%s` (printf
/// directives must reach the user as text, never as a format). Steps as `steady_association`.
///
/// Expected findings: `IdentityChange` at `reauth` naming `EVIL\%s%n%s`; nothing else.
pub fn percent_in_user_name() -> Capture {
    one_association(client_flow(59916), Drep::Little, Dir::Client, |a| {
        steady_association(a, &administrator(), &Credentials::new("EVIL", "%s%n%s"), 80001)
    })
}

/// A machine account: bind as `CORP\HOST$` (80001, `auth`), a second context as `corp\host$`
/// (`reauth`); all calls succeed; the client closes (`client_fin`). Marks: `<step>` of
/// `steady_association`.
///
/// Expected findings: none; PDUs show the identity `CORP\HOST$`.
pub fn machine_account() -> Capture {
    one_association(client_flow(59916), Drep::Little, Dir::Client, |a| {
        steady_association(a, &Credentials::new("CORP", "HOST$"), &Credentials::new("corp", "host$"), 80001)
    })
}

/// NTLMSSP inside SPNEGO (auth_type 9), 4 legs each time. Bind (NegTokenInit NEGOTIATE, 79231,
/// `bind`) → bind_ack (NegTokenResp CHALLENGE, `bind_ack`) → alter_context (NegTokenResp
/// AUTHENTICATE \administrator, `auth`) → alter_context_resp (accept-completed, `auth_resp`);
/// Clone (`clone`, `clone_resp`); alter_context (ctx 1 IRemUnknown2, ctx 2 NDR64, NegTokenInit,
/// 79232, `alter`) → resp (CHALLENGE, `alter_resp`) → alter_context (AUTHENTICATE
/// REDMOND\jiangyue, `change`) → resp (accept-completed, `change_resp`); `qi_managed` →
/// `fault_721`; `qi_pci` → `fault_5`; server FIN `server_fin`.
///
/// Expected findings: as association 1 with auth_type SpnegoNtlmssp; the change is carried by
/// the alter_context at `change` (not an AUTH3).
pub fn spnego_change() -> Capture {
    one_association(client_flow(59916), Drep::Little, Dir::Server, |a| {
        let bind_items = [ContextItem::ndr(0, uuids::IENUM_WBEM_CLASS_OBJECT)];
        let mut s = Vec::new();
        let tok = a.spnego_negotiate_token();
        s.push(Step::client("bind", a.bind_token_pdu(3, &bind_items, A1_ADMIN, Mech::SpnegoNtlmssp, tok)));
        let tok = a.spnego_challenge_token(A1_ADMIN);
        s.push(Step::server("bind_ack", a.bind_ack_token_pdu(3, &[accept()], A1_ADMIN, tok)));
        let tok = a.spnego_authenticate_token(A1_ADMIN, &administrator());
        s.push(Step::client("auth", a.alter_token_pdu(3, &bind_items, A1_ADMIN, Mech::SpnegoNtlmssp, tok)));
        let tok = a.spnego_complete_token(A1_ADMIN);
        s.push(Step::server("auth_resp", a.alter_resp_token_pdu(3, &[accept()], A1_ADMIN, tok)));
        let req = a.orpc_stub(&[]);
        s.push(Step::client("clone", a.request_pdu(7, 0, dcom::OP_ENUM_CLONE, req, Some(A1_ADMIN))));
        let resp = a.clone_ok_stub();
        s.push(Step::server("clone_resp", a.response_pdu(7, 0, resp, Some(A1_ADMIN))).after_ack());
        let items = [ContextItem::ndr(1, uuids::IREMUNKNOWN2), ContextItem::ndr64(2, uuids::IREMUNKNOWN2)];
        let tok = a.spnego_negotiate_token();
        s.push(Step::client("alter", a.alter_token_pdu(8, &items, A1_JIANGYUE, Mech::SpnegoNtlmssp, tok)));
        let tok = a.spnego_challenge_token(A1_JIANGYUE);
        s.push(Step::server("alter_resp", a.alter_resp_token_pdu(8, &[accept(), reject_ts()], A1_JIANGYUE, tok)));
        let tok = a.spnego_authenticate_token(A1_JIANGYUE, &jiangyue());
        s.push(Step::client("change", a.alter_token_pdu(8, &items, A1_JIANGYUE, Mech::SpnegoNtlmssp, tok)));
        let tok = a.spnego_complete_token(A1_JIANGYUE);
        s.push(Step::server("change_resp", a.alter_resp_token_pdu(8, &[accept(), reject_ts()], A1_JIANGYUE, tok)));
        let req = a.qi_stub(&[uuids::IMANAGED_OBJECT]);
        s.push(Step::client("qi_managed", a.request_pdu(8, 1, dcom::OP_REM_QUERY_INTERFACE, req, Some(A1_JIANGYUE))));
        s.push(Step::server("fault_721", a.fault_pdu(8, 1, status::SEC_PKG_ERROR)).after_ack());
        let req = a.qi_stub(&[uuids::IPROVIDE_CLASS_INFO]);
        s.push(Step::client("qi_pci", a.request_pdu(9, 1, dcom::OP_REM_QUERY_INTERFACE, req, Some(A1_JIANGYUE))));
        s.push(Step::server("fault_5", a.fault_pdu(9, 1, status::ACCESS_DENIED)));
        s
    })
}

/// A bind the server refuses: bind with an NTLMSSP NEGOTIATE (79231, `bind`) answered by
/// bind_nak reason 8 "authentication type not recognized" (`bind_nak`); the client closes
/// (`client_fin`).
///
/// Expected findings: none (no AUTHENTICATE was sent, so there is no identity and no baseline).
pub fn bind_nak() -> Capture {
    one_association(client_flow(59916), Drep::Little, Dir::Client, |a| {
        vec![
            Step::client(
                "bind",
                a.bind_negotiate_pdu(3, &[ContextItem::ndr(0, uuids::IENUM_WBEM_CLASS_OBJECT)], A1_ADMIN),
            ),
            Step::server("bind_nak", Pdu::bind_nak(a.drep, 3, 8)),
        ]
    })
}

/// A request a debug build of the plugin panics on (call_id 0xdcdcdcdc, opnum 0xfff, after a bind
/// on its own connection, `trigger`), then the WinPE capture's first association on a new one
/// (marks `a1_…`). Not in `all()`: it is about the plugin surviving, not about the wire.
pub fn tracker_panic_then_winpe() -> Capture {
    let mut cap = Capture::new();
    let mut a0 = Assoc::connect(&mut cap, client_flow(59915), Drep::Little);
    let steps = vec![
        Step::client("bind", Pdu::bind(a0.drep, 1, 0, &[ContextItem::ndr(0, uuids::ISYSTEM_ACTIVATOR)])),
        Step::server("bind_ack", Pdu::bind_ack(a0.drep, 1, 0x1234, "49157", &[accept()])),
        Step::client("trigger", a0.request_pdu(0xdcdc_dcdc, 0, 0x0fff, vec![0; 8], None)),
    ];
    play(&mut cap, a0.flow, &steps, "");
    close(&mut cap, a0.flow, Dir::Client, "client_fin");
    let mut a1 = Assoc::connect(&mut cap, client_flow(59916), Drep::Little);
    let steps = association_1(&mut a1, Variant::Buggy);
    play(&mut cap, a1.flow, &steps, "a1_");
    close(&mut cap, a1.flow, Dir::Server, "a1_server_fin");
    cap
}

/// A scenario's file-friendly name and builder.
pub type Scenario = (&'static str, fn() -> Capture);

/// Every scenario by file-friendly name, for tests that check them all.
pub fn all() -> Vec<Scenario> {
    vec![
        ("seed-winpe", seed_winpe),
        ("seed-fullos", seed_fullos),
        ("seed-hotfix", seed_hotfix),
        ("seed-winpe-connect", seed_winpe_connect),
        ("seed-fullos-connect", seed_fullos_connect),
        ("split-pdus", split_pdus),
        ("split-header", split_header),
        ("pdus-in-one-segment", pdus_in_one_segment),
        ("auth3-with-request", auth3_with_request),
        ("retransmissions", retransmissions),
        ("out-of-order", out_of_order),
        ("fragmented-calls", fragmented_calls),
        ("big-endian", big_endian),
        ("ipv6", ipv6),
        ("vlan", vlan),
        ("mid-association", mid_association),
        ("capture-gap", capture_gap),
        ("interleaved-associations", interleaved_associations),
        ("two-clients", two_clients),
        ("port-reuse", port_reuse),
        ("same-user-two-contexts", same_user_two_contexts),
        ("kerberos-and-ntlm", kerberos_and_ntlm),
        ("anonymous-logon", anonymous_logon),
        ("percent-in-user-name", percent_in_user_name),
        ("machine-account", machine_account),
        ("spnego-change", spnego_change),
        ("bind-nak", bind_nak),
    ]
}
