#!/usr/bin/env python3
"""Scripted DCE/RPC clients for the live rig (tests/live/run.sh).

Every scenario talks ncacn_ip_tcp to the Samba DC and writes a JSON log of exactly what it sent
and received, PDU by PDU: connection, direction, ptype, call_id, presentation context(s),
auth_context_id, auth type and level, which NTLMSSP message it carried and, for an AUTHENTICATE,
the account the client put in it (and whether the client knows the password was right). The
expectations (expect.py) are derived from these logs, never from the plugin.

impacket's DCERPC_v5 holds one security context per association, so the PDUs are built here with
struct and impacket's NTLMSSP/SPNEGO/Kerberos helpers and NDR request classes: that is what lets a
second identity authenticate on a new context of the same association, or send a second AUTH3.
"""
import argparse
import json
import os
import socket
import struct
import subprocess
import time

from impacket import ntlm
from impacket.dcerpc.v5 import epm, samr
from impacket.dcerpc.v5.dtypes import MAXIMUM_ALLOWED, NULL
import krb  # noqa: E402 - impacket's Kerberos with a TGS-REQ Samba's KDC accepts
from impacket.spnego import SPNEGO_NegTokenInit, SPNEGO_NegTokenResp, TypesMech
from impacket.uuid import uuidtup_to_bin
from Cryptodome.Cipher import ARC4

DC = os.environ.get("DCOMAUTH_LIVE_DC_IP", "10.53.0.1")
REALM = os.environ.get("DCOMAUTH_LIVE_REALM", "SAMDOM.EXAMPLE")
DOMAIN = os.environ.get("DCOMAUTH_LIVE_DOMAIN", "SAMDOM")
PASSWORDS = {"alice": "Alice-Pass.2024", "bob": "Bob-Pass.2024", "carol": "Carol-Pass.2024"}
# samr's ncacn_ip_tcp port, as the endpoint mapper names it (run.sh asks once: --resolve).
RPC_PORT = int(os.environ.get("DCOMAUTH_LIVE_SAMR_PORT", "49153"))

PTYPES = {0: "request", 2: "response", 3: "fault", 11: "bind", 12: "bind_ack", 13: "bind_nak",
          14: "alter_context", 15: "alter_context_resp", 16: "auth3", 17: "shutdown",
          18: "co_cancel", 19: "orphaned"}
SAMR = uuidtup_to_bin(("12345778-1234-ABCD-EF00-0123456789AC", "1.0"))
EPMAPPER = uuidtup_to_bin(("E1AF8308-5D1F-11C9-91A4-08002B14A0FA", "3.0"))
NDR = uuidtup_to_bin(("8a885d04-1ceb-11c9-9fe8-08002b104860", "2.0"))
# Bind time feature negotiation (MS-RPCE 3.3.1.5.3): security context multiplexing | keep on orphan.
BTFN = bytes.fromhex("2c1cb76c12984045030000000000000001000000")
AUTHN_WINNT, AUTHN_GSS_NEGOTIATE = 10, 9  # NTLMSSP, SPNEGO
LEVEL = {"connect": 2, "integrity": 5, "privacy": 6}
PFC_FIRST_LAST = 0x03


class Log:
    def __init__(self, scenario):
        self.doc = {"scenario": scenario, "dc": DC, "domain": DOMAIN, "realm": REALM,
                    "connections": [], "pdus": [], "notes": []}
        self.t0 = time.time()

    def pdu(self, **kw):
        kw["t"] = round(time.time() - self.t0, 3)
        self.doc["pdus"].append(kw)
        return kw

    def note(self, text):
        self.doc["notes"].append(text)
        print(text)


class Closed(Exception):
    pass


class NtlmCtx:
    """One NTLMSSP security context: the client's side of its keys and sequence numbers."""

    def __init__(self, user, password, domain=DOMAIN):
        self.user, self.password, self.domain = user, password, domain
        self.type1 = ntlm.getNTLMSSPType1("", "", signingRequired=True, use_ntlmv2=True)
        self.seq = 0
        self.flags = 0

    def negotiate(self):
        return self.type1.getData()

    def authenticate(self, challenge):
        type3, key = ntlm.getNTLMSSPType3(self.type1, challenge, self.user, self.password, self.domain,
                                          use_ntlmv2=True)
        self.flags = type3["flags"]
        self.csign = ntlm.SIGNKEY(self.flags, key)
        self.ssign = ntlm.SIGNKEY(self.flags, key, b"Server")
        self.cseal = ARC4.new(ntlm.SEALKEY(self.flags, key)).encrypt
        self.sseal = ARC4.new(ntlm.SEALKEY(self.flags, key, b"Server")).encrypt
        self.ckey = ntlm.SEALKEY(self.flags, key)
        self.skey = ntlm.SEALKEY(self.flags, key, b"Server")
        return type3.getData()

    def account(self):
        return f"{self.domain}\\{self.user}"


class Assoc:
    """One TCP connection = one DCE/RPC association."""

    def __init__(self, log, port=RPC_PORT, name=None):
        self.log = log
        self.sock = socket.create_connection((DC, port), timeout=10)
        self.conn = len(log.doc["connections"])
        local = self.sock.getsockname()
        log.doc["connections"].append({"conn": self.conn, "client_port": local[1], "server_port": port,
                                       "name": name, "closed_by": None})
        self.call_id = 1
        self.closed = False

    # --- wire --------------------------------------------------------------------------------
    def _send(self, ptype, body, call_id, trailer=None, auth=b"", flags=PFC_FIRST_LAST, **logkw):
        pad = b""
        sec = b""
        if trailer is not None:
            auth_type, level, ctx = trailer
            pad = b"\x00" * ((-len(body)) % 16) if ptype == 0 else b"\x00" * ((-(16 + len(body))) % 4)
            sec = struct.pack("<BBBBI", auth_type, level, len(pad), 0, ctx)
        frag_len = 16 + len(body) + len(pad) + len(sec) + len(auth)
        hdr = struct.pack("<BBBB4sHHI", 5, 0, ptype, flags, b"\x10\x00\x00\x00", frag_len, len(auth), call_id)
        pkt = hdr + body + pad + sec + auth
        self._sendall(pkt)
        entry = dict(conn=self.conn, dir="c2s", ptype=PTYPES[ptype], call_id=call_id, frag_len=frag_len)
        if trailer is not None:
            entry.update(auth_type=trailer[0], auth_level=trailer[1], auth_context_id=trailer[2])
        entry.update(logkw)
        return self.log.pdu(**entry)

    def _sendall(self, pkt):
        try:
            self.sock.sendall(pkt)
        except (BrokenPipeError, ConnectionResetError):
            # The server closed first: what it sent before closing is still to be read.
            self._closed("server_closed_before_send")
            raise Closed()

    def _recvn(self, n):
        data = b""
        while len(data) < n:
            try:
                chunk = self.sock.recv(n - len(data))
            except ConnectionResetError:
                chunk = b""
                self._closed("server_rst")
                raise Closed()
            if not chunk:
                self._closed("server_fin")
                raise Closed()
            data += chunk
        return data

    def _closed(self, how):
        if not self.closed:
            self.closed = True
            self.log.doc["connections"][self.conn]["closed_by"] = how
            self.log.pdu(conn=self.conn, dir="s2c", event=how)

    def recv(self, **logkw):
        hdr = self._recvn(16)
        _, _, ptype, flags, _, frag_len, auth_len, call_id = struct.unpack("<BBBB4sHHI", hdr)
        pkt = hdr + self._recvn(frag_len - 16)
        p = {"ptype": PTYPES.get(ptype, str(ptype)), "call_id": call_id, "raw": pkt, "auth_len": auth_len}
        entry = dict(conn=self.conn, dir="s2c", ptype=p["ptype"], call_id=call_id, frag_len=frag_len)
        if auth_len:
            t = pkt[frag_len - auth_len - 8:frag_len - auth_len]
            a_type, a_level, a_pad, _, a_ctx = struct.unpack("<BBBBI", t)
            p.update(auth_type=a_type, auth_level=a_level, auth_pad=a_pad, auth_context_id=a_ctx,
                     auth_data=pkt[frag_len - auth_len:])
            entry.update(auth_type=a_type, auth_level=a_level, auth_context_id=a_ctx)
        if ptype in (12, 15):  # bind_ack / alter_context_resp
            sec_len = struct.unpack("<H", pkt[24:26])[0]
            off = 26 + sec_len
            off += (-off) % 4
            n = pkt[off]
            results = []
            for i in range(n):
                res, reason = struct.unpack("<HH", pkt[off + 4 + 24 * i:off + 8 + 24 * i])
                results.append([res, reason])
            p["results"] = results
            entry["results"] = results
        elif ptype == 13:
            p["reason"] = struct.unpack("<H", pkt[16:18])[0]
            entry["reject_reason"] = p["reason"]
        elif ptype == 3:
            p["status"] = struct.unpack("<I", pkt[24:28])[0]
            p["ctx_id"] = struct.unpack("<H", pkt[20:22])[0]
            entry.update(status=f"0x{p['status']:08x}", ctx_id=p["ctx_id"])
        elif ptype == 2:
            p["ctx_id"] = struct.unpack("<H", pkt[20:22])[0]
            entry["ctx_id"] = p["ctx_id"]
        entry.update(logkw)
        p["log"] = self.log.pdu(**entry)
        return p

    def close(self):
        if not self.closed:
            self.closed = True
            self.log.doc["connections"][self.conn]["closed_by"] = "client_fin"
            self.log.pdu(conn=self.conn, dir="c2s", event="client_fin")
        self.sock.close()

    def next_call(self):
        c = self.call_id
        self.call_id += 1
        return c

    # --- PDUs ----------------------------------------------------------------------------------
    @staticmethod
    def _ctx_items(items):
        out = struct.pack("<B3x", len(items))
        for ctx_id, abstract, transfer in items:
            out += struct.pack("<HBx", ctx_id, 1) + abstract + transfer
        return out

    def bind_pdu(self, ptype, call_id, items, trailer=None, token=b"", **logkw):
        body = struct.pack("<HHI", 4280, 4280, 0) + self._ctx_items(items)
        ctx_ids = [c for c, _, _ in items]
        return self._send(ptype, body, call_id, trailer, token, ctx_ids=ctx_ids, **logkw)

    def auth3(self, call_id, trailer, token, **logkw):
        return self._send(16, b"\x00" * 4, call_id, trailer, token, **logkw)

    def request(self, ctx_id, opnum, stub, sec=None, call_id=None, **logkw):
        """A request on presentation context ctx_id, signed/sealed under sec = (NtlmCtx, level, id)."""
        call_id = call_id or self.next_call()
        body = struct.pack("<IHH", len(stub), ctx_id, opnum)
        if sec is None or sec[1] < LEVEL["integrity"]:
            return self._send(0, body + stub, call_id, ctx_id=ctx_id, opnum=opnum, **logkw), call_id
        nctx, level, auth_ctx = sec[:3]
        auth_type = sec[3] if len(sec) > 3 else AUTHN_WINNT
        pad = b"\x00" * ((-len(stub)) % 16)
        trailer = struct.pack("<BBBBI", auth_type, level, len(pad), 0, auth_ctx)
        frag_len = 16 + len(body) + len(stub) + len(pad) + 8 + 16
        hdr = struct.pack("<BBBB4sHHI", 5, 0, 0, PFC_FIRST_LAST, b"\x10\x00\x00\x00", frag_len, 16, call_id)
        plain = stub + pad
        to_sign = hdr + body + plain + trailer
        if level == LEVEL["privacy"]:
            sealed, sig = ntlm.SEAL(nctx.flags, nctx.csign, nctx.ckey, to_sign, plain, nctx.seq, nctx.cseal)
            pkt = hdr + body + sealed + trailer + sig.getData()
        else:
            sig = ntlm.SIGN(nctx.flags, nctx.csign, to_sign, nctx.seq, nctx.cseal)
            pkt = hdr + body + plain + trailer + sig.getData()
        nctx.seq += 1
        self._sendall(pkt)
        entry = dict(conn=self.conn, dir="c2s", ptype="request", call_id=call_id, frag_len=frag_len,
                     ctx_id=ctx_id, opnum=opnum, auth_type=auth_type, auth_level=level,
                     auth_context_id=auth_ctx)
        entry.update(logkw)
        return self.log.pdu(**entry), call_id

    def stub_of(self, p, sec=None):
        """The response stub, unsealed when the context is PRIVACY."""
        raw = p["raw"]
        frag_len = len(raw)
        end = frag_len - (p["auth_len"] + 8 if p["auth_len"] else 0)
        stub = raw[24:end]
        if p["auth_len"] and sec is not None and p.get("auth_level") == LEVEL["privacy"]:
            nctx = sec[0]
            stub, _ = ntlm.SEAL(nctx.flags, nctx.ssign, nctx.skey, stub, stub, 0, nctx.sseal)
        if p["auth_len"] and p.get("auth_pad"):
            stub = stub[:-p["auth_pad"]]
        return stub

    # --- what scenarios do ---------------------------------------------------------------------
    def ntlm_bind(self, nctx, level, ctx_id, auth_ctx, ptype=11, items=None, second_password=None):
        """Three-leg NTLMSSP on bind (ptype 11) or alter_context (14): NEGOTIATE, CHALLENGE, AUTH3."""
        items = items or [(ctx_id, SAMR, NDR)]
        call_id = self.next_call()
        trailer = (AUTHN_WINNT, level, auth_ctx)
        self.bind_pdu(ptype, call_id, items, trailer, nctx.negotiate(), ntlmssp="negotiate")
        ack = self.recv()
        if ack["ptype"] not in ("bind_ack", "alter_context_resp") or not ack.get("auth_data"):
            return ack
        ack["log"]["ntlmssp"] = "challenge"
        token = nctx.authenticate(ack["auth_data"])
        self.auth3(call_id, trailer, token, ntlmssp="authenticate", account=nctx.account(),
                   password_ok=PASSWORDS.get(nctx.user) == nctx.password)
        return ack

    def call(self, ctx_id, sec=None, **logkw):
        """SamrConnect (opnum 0): Samba answers it on ncacn_ip_tcp only at INTEGRITY or above, and
        then returns a server handle (the client logs the handle's NTSTATUS)."""
        req = samr.SamrConnect()
        req["ServerName"] = NULL
        req["DesiredAccess"] = MAXIMUM_ALLOWED
        entry, call_id = self.request(ctx_id, 0, req.getData(), sec, what="SamrConnect", **logkw)
        p = self.recv()
        if p["ptype"] == "response":
            try:
                r = samr.SamrConnectResponse(self.stub_of(p, sec))
                p["log"]["ntstatus"] = f"0x{r['ErrorCode']:08x}"
            except Exception as e:  # noqa: BLE001 - the log keeps what could not be decoded
                p["log"]["decode_error"] = str(e)
        return p


# --- scenarios -------------------------------------------------------------------------------------
# Samba answers SamrConnect on ncacn_ip_tcp only at INTEGRITY or PRIVACY (fault 5, access denied, at
# CONNECT), so the scenarios authenticate at INTEGRITY unless they are about the level.
SCENARIOS = {}


def scenario(fn):
    SCENARIOS[fn.__name__] = fn
    return fn


def first_bind(a, user="alice", level="integrity", password=None):
    """bind samr (ctx 0) + BTFN (ctx 1) as `user`, auth_context_id 1; one SamrConnect."""
    n = NtlmCtx(user, password or PASSWORDS[user])
    lv = LEVEL[level]
    a.ntlm_bind(n, lv, 0, 1, items=[(0, SAMR, NDR), (1, SAMR, BTFN)])
    sec = (n, lv, 1)
    a.call(0, sec)
    return sec


def tolerant(fn):
    """Runs fn; a server close ends the scenario (the log has it)."""
    try:
        fn()
    except Closed:
        pass


def wait_for_server_close(a, seconds):
    """Reads until the server closes or `seconds` pass: who closes, and when, is what we learn."""
    if a.closed:
        return
    a.sock.settimeout(seconds)
    try:
        while True:
            a.recv()
    except Closed:
        pass
    except socket.timeout:
        a.log.note(f"conn {a.conn}: server still open {seconds} s after the last call")


@scenario
def one_identity(log):
    a = Assoc(log)
    sec = first_bind(a)
    a.call(0, sec)
    a.close()


@scenario
def same_user_new_context(log):
    """alice again, on a new presentation and security context, spelled alice@samdom.example."""
    a = Assoc(log)
    sec = first_bind(a)

    def rest():
        n = NtlmCtx(f"alice@{REALM.lower()}", PASSWORDS["alice"], domain="")
        a.ntlm_bind(n, LEVEL["integrity"], 2, 2, ptype=14, items=[(2, SAMR, NDR)])
        a.call(2, (n, LEVEL["integrity"], 2))
        a.call(0, sec)
    tolerant(rest)
    a.close()


def second_identity(log, level):
    a = Assoc(log)
    lv = LEVEL[level]
    sec = first_bind(a, level=level)

    def rest():
        n = NtlmCtx("bob", PASSWORDS["bob"])
        a.ntlm_bind(n, lv, 2, 2, ptype=14, items=[(2, SAMR, NDR)])
        a.call(2, (n, lv, 2))
        a.call(0, sec)
        a.call(2, (n, lv, 2))
    tolerant(rest)
    wait_for_server_close(a, 1.0)
    a.close()


@scenario
def second_identity_connect(log):
    second_identity(log, "connect")


@scenario
def second_identity_integrity(log):
    second_identity(log, "integrity")


@scenario
def second_identity_privacy(log):
    second_identity(log, "privacy")


def second_identity_rejected(log, user, password):
    a = Assoc(log)
    sec = first_bind(a)

    def rest():
        n = NtlmCtx(user, password)
        a.ntlm_bind(n, LEVEL["integrity"], 2, 2, ptype=14, items=[(2, SAMR, NDR)])
        a.call(2, (n, LEVEL["integrity"], 2))
        a.call(0, sec)
    tolerant(rest)
    wait_for_server_close(a, 4.0)
    a.close()


@scenario
def second_identity_wrong_password(log):
    second_identity_rejected(log, "bob", "not-bobs-password")


@scenario
def second_identity_unknown_user(log):
    second_identity_rejected(log, "mallory", "Mallory-Pass.2024")


@scenario
def second_auth3(log):
    """After alice's bind + AUTH3, a second AUTH3 on the same auth_context_id, carrying bob."""
    a = Assoc(log)
    n = NtlmCtx("alice", PASSWORDS["alice"])
    call_id = a.next_call()
    lv = LEVEL["integrity"]
    trailer = (AUTHN_WINNT, lv, 1)
    a.bind_pdu(11, call_id, [(0, SAMR, NDR), (1, SAMR, BTFN)], trailer, n.negotiate(), ntlmssp="negotiate")
    ack = a.recv()
    ack["log"]["ntlmssp"] = "challenge"
    a.auth3(call_id, trailer, n.authenticate(ack["auth_data"]), ntlmssp="authenticate",
            account=n.account(), password_ok=True)
    sec = (n, lv, 1)

    def rest():
        a.call(0, sec)
        b = NtlmCtx("bob", PASSWORDS["bob"])
        b.type1 = n.type1
        a.auth3(call_id, trailer, b.authenticate(ack["auth_data"]), ntlmssp="authenticate",
                account=b.account(), password_ok=True, note="second AUTH3, same auth_context_id")
        time.sleep(0.3)
        a.call(0, sec)
        a.call(0, sec)
    tolerant(rest)
    wait_for_server_close(a, 3.0)
    a.close()


@scenario
def failed_first_auth(log):
    a = Assoc(log)

    def rest():
        sec = first_bind(a, password="not-alices-password")
        a.call(0, sec)
    tolerant(rest)
    wait_for_server_close(a, 4.0)
    a.close()


@scenario
def two_connections_two_users(log):
    """alice and bob on two associations open at the same time, calls interleaved."""
    a = Assoc(log)
    b = Assoc(log)
    sa = first_bind(a, "alice")
    sb = first_bind(b, "bob")
    a.call(0, sa)
    b.call(0, sb)
    a.close()
    b.close()


@scenario
def unauthenticated(log):
    a = Assoc(log)
    a.bind_pdu(11, a.next_call(), [(0, SAMR, NDR), (1, SAMR, BTFN)])
    a.recv()
    tolerant(lambda: (a.call(0), a.call(0)))
    a.close()


def krb_bind(a, user, auth_ctx, ptype, items):
    """SPNEGO/Kerberos (auth_type 9) at CONNECT on bind or alter_context: AP-REQ, AP-REP, third leg."""
    cipher, key, token = krb.getKerberosType1(user, PASSWORDS[user], REALM, "", "", "", None, None,
                                              targetName="dc1." + REALM.lower(), kdcHost=DC)
    call_id = a.next_call()
    trailer = (AUTHN_GSS_NEGOTIATE, LEVEL["connect"], auth_ctx)
    a.bind_pdu(ptype, call_id, items, trailer, token, kerberos="ap_req", principal=f"{user}@{REALM}")
    ack = a.recv()
    ack["log"]["kerberos"] = "ap_rep"
    cipher, key, resp = krb.getKerberosType3(cipher, key, ack["auth_data"])
    a.bind_pdu(14, call_id, items, trailer, resp, kerberos="third_leg")
    a.recv()


@scenario
def kerberos(log):
    """Kerberos alice at CONNECT (Samba then refuses SamrConnect: access denied)."""
    a = Assoc(log)
    krb_bind(a, "alice", 1, 11, [(0, SAMR, NDR), (1, SAMR, BTFN)])
    tolerant(lambda: (a.call(0), a.call(0)))
    a.close()


@scenario
def kerberos_then_ntlm(log):
    """Kerberos alice first, then NTLM bob on a new context: the identities cannot be compared."""
    a = Assoc(log)
    krb_bind(a, "alice", 1, 11, [(0, SAMR, NDR), (1, SAMR, BTFN)])

    def rest():
        a.call(0)
        n = NtlmCtx("bob", PASSWORDS["bob"])
        a.ntlm_bind(n, LEVEL["integrity"], 2, 2, ptype=14, items=[(2, SAMR, NDR)])
        a.call(2, (n, LEVEL["integrity"], 2))
    tolerant(rest)
    a.close()


@scenario
def same_user_empty_domain(log):
    """SAMDOM\\alice, then alice with an empty domain on a new context: spellings that cannot be
    matched (a local account of the same name would look the same)."""
    a = Assoc(log)
    sec = first_bind(a)

    def rest():
        n = NtlmCtx("alice", PASSWORDS["alice"], domain="")
        a.ntlm_bind(n, LEVEL["integrity"], 2, 2, ptype=14, items=[(2, SAMR, NDR)])
        a.call(2, (n, LEVEL["integrity"], 2))
        a.call(0, sec)
    tolerant(rest)
    a.close()


@scenario
def spnego_ntlm_alter(log):
    """NTLM alice on bind, then SPNEGO-wrapped NTLM bob in a 4-leg alter_context on a new context."""
    a = Assoc(log)
    sec = first_bind(a)

    def rest():
        n = NtlmCtx("bob", PASSWORDS["bob"])
        init = SPNEGO_NegTokenInit()
        init["MechTypes"] = [TypesMech["NTLMSSP - Microsoft NTLM Security Support Provider"]]
        init["MechToken"] = n.negotiate()
        call_id = a.next_call()
        lv = LEVEL["integrity"]
        trailer = (AUTHN_GSS_NEGOTIATE, lv, 2)
        a.bind_pdu(14, call_id, [(2, SAMR, NDR)], trailer, init.getData(), ntlmssp="negotiate", spnego="init")
        r = a.recv()
        r["log"]["ntlmssp"] = "challenge"
        challenge = SPNEGO_NegTokenResp(r["auth_data"])["ResponseToken"]
        resp = SPNEGO_NegTokenResp()
        resp["ResponseToken"] = n.authenticate(challenge)
        a.bind_pdu(14, call_id, [(2, SAMR, NDR)], trailer, resp.getData(), ntlmssp="authenticate",
                   spnego="resp", account=n.account(), password_ok=True)
        a.recv()
        a.call(2, (n, lv, 2, AUTHN_GSS_NEGOTIATE))
        a.call(0, sec)
    tolerant(rest)
    wait_for_server_close(a, 1.0)
    a.close()


@scenario
def cut_after_auth(log):
    """alice at INTEGRITY, calls; then bob on a new auth_context_id. run.sh keeps only the frames
    after the PDU marked cut_after (alice's first call's response): a capture started late."""
    a = Assoc(log)
    sec = first_bind(a)
    log.doc["pdus"][-1]["cut_after"] = True
    a.call(0, sec)

    def rest():
        n = NtlmCtx("bob", PASSWORDS["bob"])
        a.ntlm_bind(n, LEVEL["integrity"], 2, 2, ptype=14, items=[(2, SAMR, NDR)])
        a.call(2, (n, LEVEL["integrity"], 2))
        a.call(0, sec)
    tolerant(rest)
    wait_for_server_close(a, 1.0)
    a.close()


@scenario
def reconnect_as_other_user(log):
    """alice's association ends (client closes); the client reconnects as bob."""
    a = Assoc(log)
    first_bind(a, "alice")
    a.close()
    time.sleep(0.5)
    b = Assoc(log)
    first_bind(b, "bob")
    b.close()


@scenario
def rpcclient_one_identity(log):
    """Samba's own client: rpcclient, signed, over ncacn_ip_tcp (it asks the endpoint mapper first)."""
    cmd = ["rpcclient", f"ncacn_ip_tcp:{DC}[sign]", "-U", f"{DOMAIN}/alice%{PASSWORDS['alice']}",
           "-c", "enumdomains;enumdomains"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    log.doc["rpcclient"] = {"argv": cmd, "rc": out.returncode, "stdout": out.stdout, "stderr": out.stderr[-2000:]}
    # What rpcclient's binding says about its associations: the endpoint mapper on 135 without
    # authentication, then samr signed with NTLMSSP as SAMDOM\alice.
    log.doc["association_identities"] = {"135": None, str(RPC_PORT): f"{DOMAIN}\\alice"}
    print(out.stdout)
    if out.returncode != 0:
        raise SystemExit(f"rpcclient failed: {out.stderr}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--resolve", action="store_true", help="print lsarpc's ncacn_ip_tcp port")
    ap.add_argument("--dc")
    ap.add_argument("--scenario")
    ap.add_argument("--log")
    args = ap.parse_args()
    if args.list:
        print("\n".join(n for n in SCENARIOS if n != "rpcclient_one_identity"))
        return
    global DC
    DC = args.dc or DC
    if args.resolve:
        from impacket.dcerpc.v5 import epm
        print(epm.hept_map(DC, samr.MSRPC_UUID_SAMR, protocol="ncacn_ip_tcp").split("[")[1].rstrip("]"))
        return
    log = Log(args.scenario)
    try:
        SCENARIOS[args.scenario](log)
    finally:
        with open(args.log, "w") as f:
            json.dump(log.doc, f, indent=1)
    print(json.dumps(log.doc["pdus"], indent=None)[:4000])


if __name__ == "__main__":
    main()
