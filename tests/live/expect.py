#!/usr/bin/env python3
"""Derives the expected dcomauth output for each live capture from its client's log.

    expect.py LOGS_DIR CAPTURES_DIR EXPECTED_DIR

The client log says what was sent and received (connections by client port, PDUs in order per
direction, the account in each AUTHENTICATE, who closed). Plain tshark (dcomauth disabled) only
tells which frame carries which PDU: the log's PDUs are matched to the capture's, direction by
direction, and must agree on ptype and call_id. The plugin's documented rules are then applied to
the PDUs the capture holds, and EXPECTED_DIR/<scenario>.tsv gets:

    pdu     <frame>  <identities of the frame's PDUs that have one, '|'-joined>
    entry   <expert name>  <frame>  <severity>

Stdlib only; runs with any python3.
"""
import json
import os
import subprocess
import sys

PTYPE_NUM = {"request": 0, "response": 2, "fault": 3, "bind": 11, "bind_ack": 12, "bind_nak": 13,
             "alter_context": 14, "alter_context_resp": 15, "auth3": 16}
SEVERITY = {
    "dcomauth.identity_change": "Warning",
    "dcomauth.fault_after_change": "Warning",
    "dcomauth.abort_after_change": "Error",
    "dcomauth.abort_after_fault": "Note",
    "dcomauth.possible_identity_change": "Note",
    "dcomauth.pair_identity_change": "Note",
}
ABORT_WINDOW_S = 5.0  # "a server FIN/RST after a fault under the changed identity (within a few seconds)"


def plain_tshark():
    """tshark with dcomauth off when it is installed: the expectations come from the client logs
    alone. (tshark 4.4 and later refuse to disable a protocol they do not know.)"""
    protocols = subprocess.run(["tshark", "-G", "protocols"], capture_output=True, text=True).stdout
    known = any(line.split("\t")[2:3] == ["dcomauth"] for line in protocols.splitlines())
    return ["tshark"] + (["--disable-protocol", "dcomauth"] if known else [])


def tshark_rows(pcap, tshark):
    """(frame, time, srcport, dstport, [(ptype, call_id)...], fin, rst) for every TCP frame."""
    out = subprocess.run(
        tshark + ["-n", "-r", pcap, "-Y", "tcp",
         "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,",
         "-e", "frame.number", "-e", "frame.time_relative", "-e", "tcp.srcport", "-e", "tcp.dstport",
         "-e", "dcerpc.pkt_type", "-e", "dcerpc.cn_call_id", "-e", "tcp.flags.fin", "-e", "tcp.flags.reset"],
        capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        f, t, sp, dp, pt, cid, fin, rst = line.split("\t")
        pdus = list(zip(map(int, pt.split(",")), map(int, cid.split(",")))) if pt else []
        rows.append((int(f), float(t), int(sp), int(dp), pdus, fin in ("1", "True"), rst in ("1", "True")))
    return rows


def match(log, rows):
    """Assigns each log PDU / close event its frame. Log PDUs before the capture's first frame (a
    cut capture) get frame None. Raises when the log and the capture disagree."""
    for c in log["connections"]:
        port = c["client_port"]
        for direction in ("c2s", "s2c"):
            wire = [(f, p) for f, _, sp, dp, pdus, _, _ in rows
                    for p in pdus if (sp if direction == "c2s" else dp) == port]
            mine = [p for p in log["pdus"] if p["conn"] == c["conn"] and p["dir"] == direction and "ptype" in p]
            # A cut capture lacks a prefix of each direction.
            skip = len(mine) - len(wire)
            if skip < 0:
                raise SystemExit(f"{log['scenario']}: conn {c['conn']} {direction}: capture has "
                                 f"{len(wire)} PDUs, the log {len(mine)}")
            for p in mine[:skip]:
                p["frame"] = None
            for p, (frame, (ptype, call_id)) in zip(mine[skip:], wire):
                if (PTYPE_NUM[p["ptype"]], p["call_id"]) != (ptype, call_id):
                    raise SystemExit(f"{log['scenario']}: frame {frame}: log has {p['ptype']} call {p['call_id']}, "
                                     f"capture ptype {ptype} call {call_id}")
                p["frame"] = frame
        for p in log["pdus"]:
            if p["conn"] == c["conn"] and "event" in p:
                server = p["event"].startswith("server")
                frames = [(f, t) for f, t, sp, dp, _, fin, rst in rows
                          if (fin or rst) and (sp if not server else dp) == port]
                p["frame"], p["time"] = frames[0] if frames else (None, None)
    times = {f: t for f, t, *_ in rows}
    for p in log["pdus"]:
        if p.get("frame") is not None and "time" not in p:
            p["time"] = times[p["frame"]]


def account(identity):
    """(domain's first label, user), lowercase; a UPN with an empty domain names its own domain."""
    domain, user = identity.split("\\", 1)
    if "@" in user and not domain:
        user, domain = user.rsplit("@", 1)
    return domain.split(".")[0].lower(), user.lower()


def compare(a, b):
    """'same', 'different' or 'unknown' (same user, one domain empty: cannot be matched)."""
    (da, ua), (db, ub) = account(a), account(b)
    if (da, ua) == (db, ub):
        return "same"
    if ua == ub and (not da or not db):
        return "unknown"
    return "different"


class Assoc:
    def __init__(self, conn, partial):
        self.conn = conn
        self.partial = partial  # capture started after the bind
        self.sec = {}  # auth_context_id -> {"identity": str|None, "kind": "ntlm"|"krb"}
        self.first_sec = None
        self.pres = {}  # p_cont_id -> auth_context_id (None: unauthenticated)
        self.calls = {}  # call_id -> (identity, changed)
        self.baseline = None
        self.change_time = None
        self.last_answer_fault = None  # (time, changed)
        self.ok_since_change = False


def simulate(log):
    """The plugin's documented rules over the PDUs the capture holds, in frame order."""
    entries = []  # (name, frame)
    identities = {}  # frame -> [identity, ...]
    assocs = {}
    pair_last = []  # baselines of earlier associations between the two hosts, in order of their baselines
    events = sorted((p for p in log["pdus"] if p.get("frame") is not None),
                    key=lambda p: (p["frame"], p["t"]))
    for p in events:
        conn = p["conn"]
        if conn not in assocs:
            # A capture that lacks the connection's first PDU started mid-association.
            first = next(q for q in log["pdus"] if q["conn"] == conn)
            assocs[conn] = Assoc(conn, partial=first.get("frame") is None)
        a = assocs[conn]
        frame = p["frame"]
        if "event" in p:
            if p["event"].startswith("server") and a.last_answer_fault is not None:
                t_fault, fault_changed = a.last_answer_fault
                if a.change_time is not None and (fault_changed or not a.ok_since_change) \
                        and p["time"] - t_fault <= ABORT_WINDOW_S:
                    entries.append(("dcomauth.abort_after_change", frame))
                else:
                    entries.append(("dcomauth.abort_after_fault", frame))
            continue
        ptype = p["ptype"]
        actx = p.get("auth_context_id")
        identity = None
        if ptype in ("bind", "alter_context", "auth3"):
            if actx is not None:
                if actx not in a.sec:
                    kind = "krb" if p.get("kerberos") else "ntlm"
                    a.sec[actx] = {"identity": None, "kind": kind}
                    if a.first_sec is None:
                        a.first_sec = actx
                for c in p.get("ctx_ids", []):
                    a.pres[c] = actx
            else:
                for c in p.get("ctx_ids", []):
                    a.pres[c] = a.first_sec
            if p.get("ntlmssp") == "authenticate":
                acct = p["account"]
                s = a.sec[actx]
                others = [k for k in a.sec if k != actx]
                if a.baseline is None:
                    a.baseline = acct
                    if any(a.sec[k]["kind"] == "krb" for k in others) or (a.partial and others):
                        entries.append(("dcomauth.possible_identity_change", frame))
                    prev = pair_last[-1] if pair_last else None
                    if prev is not None and compare(prev, acct) != "same":
                        entries.append(("dcomauth.pair_identity_change", frame))
                    pair_last.append(acct)
                else:
                    verdict = compare(a.baseline, acct)
                    if verdict == "different":
                        entries.append(("dcomauth.identity_change", frame))
                        a.change_time = p["time"]
                        a.ok_since_change = False
                    elif verdict == "unknown" or any(a.sec[k]["kind"] == "krb" for k in others):
                        entries.append(("dcomauth.possible_identity_change", frame))
                s["identity"] = acct
            identity = a.sec[actx]["identity"] if actx is not None else (
                a.sec[a.first_sec]["identity"] if a.first_sec is not None else None)
            a.calls[p["call_id"]] = (identity, changed(a, identity))
        elif ptype == "request":
            if actx is not None:
                a.sec.setdefault(actx, {"identity": None, "kind": "ntlm"})
                owner = actx
            else:
                owner = a.pres.get(p["ctx_id"], a.first_sec)
            identity = a.sec[owner]["identity"] if owner is not None else None
            a.calls[p["call_id"]] = (identity, changed(a, identity))
        else:  # answers: bind_ack, alter_context_resp, bind_nak, response, fault
            identity, was_changed = a.calls.get(p["call_id"], (None, False))
            if ptype in ("bind_ack", "alter_context_resp") and actx is not None:
                identity = a.sec.get(actx, {}).get("identity")
            rejected = ptype in ("fault", "bind_nak") or (
                ptype in ("bind_ack", "alter_context_resp")
                and p.get("results") and all(r[0] not in (0, 3) for r in p["results"]))
            if rejected:
                if was_changed:
                    entries.append(("dcomauth.fault_after_change", frame))
                a.last_answer_fault = (p["time"], was_changed)
            else:
                a.last_answer_fault = None
                if a.change_time is not None and ptype == "response":
                    a.ok_since_change = True
        if not a.sec:
            identity = None  # an unauthenticated association shows nothing
        if identity:
            identities.setdefault(frame, []).append(identity)
    return entries, identities


def changed(a, identity):
    return identity is not None and a.baseline is not None and compare(a.baseline, identity) == "different"


def rpcclient_expectations(log, rows):
    """rpcclient logs no PDUs: its binding says which association authenticated as whom. On the samr
    association every PDU from the AUTH3 on runs under that account; the bind and bind_ack before
    it show none; the endpoint mapper's association is unauthenticated."""
    identities = {}
    idents = log["association_identities"]
    for port, acct in idents.items():
        if acct is None:
            continue
        authed = False
        for f, _, sp, dp, pdus, _, _ in rows:
            if int(port) not in (sp, dp):
                continue
            for ptype, _ in pdus:
                authed = authed or ptype == PTYPE_NUM["auth3"]
                if authed:
                    identities.setdefault(f, []).append(acct)
    return [], identities


def main():
    logs, captures, expected = sys.argv[1:4]
    os.makedirs(expected, exist_ok=True)
    tshark = plain_tshark()
    for name in sorted(os.listdir(logs)):
        if not name.endswith(".json"):
            continue
        scenario = name[:-5]
        with open(os.path.join(logs, name)) as f:
            log = json.load(f)
        rows = tshark_rows(os.path.join(captures, scenario + ".pcapng"), tshark)
        if "rpcclient" in log:
            entries, identities = rpcclient_expectations(log, rows)
        else:
            match(log, rows)
            entries, identities = simulate(log)
        with open(os.path.join(expected, scenario + ".tsv"), "w") as f:
            f.write(f"# {scenario}: derived by expect.py from logs/{scenario}.json and the frame numbers of "
                    f"captures/{scenario}.pcapng\n")
            for frame in sorted(identities):
                f.write(f"pdu\t{frame}\t{'|'.join(identities[frame])}\n")
            for n, frame in sorted(entries, key=lambda e: (e[1], e[0])):
                f.write(f"entry\t{n}\t{frame}\t{SEVERITY[n]}\n")
        listed = ", ".join(f"{n.split('.')[1]}@{fr}" for n, fr in entries) or "none"
        print(f"{scenario}: {len(identities)} frames with identities, entries: {listed}")


if __name__ == "__main__":
    main()
