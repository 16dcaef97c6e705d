#!/usr/bin/env python3
"""Writes seed corpora for the fuzz targets from real captures.

Usage: fuzz/seeds.py OUT_DIR CAPTURE...

For every capture: the TCP frames (raw bytes from the file, flags and "Reassembled TCP" facts
from tshark), the DCE/RPC PDUs cut from each direction's byte stream by frag_length, and from
those the auth tokens (SPNEGO or raw NTLMSSP), NTLMSSP messages and RemQueryInterface stubs.
Writes OUT_DIR/<target>/<sha1> files; nothing here is committed (fuzz/.gitignore).

The `flow` and `session` seeds use the record format documented in fuzz/src/segments.rs.
Needs python3 and tshark only.
"""
import hashlib
import os
import struct
import subprocess
import sys

MAX_SEGMENTS = 64  # fuzz/src/segments.rs
FIN, SYN, RST, PSH = 0x01, 0x02, 0x04, 0x08


def read_capture(path):
    """Yields the captured bytes of every packet of a pcap or pcapng file, in order."""
    data = open(path, "rb").read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        off = 24
        while off + 16 <= len(data):
            _, _, incl, _ = struct.unpack(e + "IIII", data[off:off + 16])
            yield data[off + 16:off + 16 + incl]
            off += 16 + incl
        return
    if magic != b"\x0a\x0d\x0d\x0a":
        raise SystemExit(f"{path}: neither pcap nor pcapng")
    off, e = 0, "<"
    while off + 12 <= len(data):
        if data[off:off + 4] == b"\x0a\x0d\x0d\x0a":
            e = "<" if data[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
        btype, blen = struct.unpack(e + "II", data[off:off + 8])
        if blen < 12:
            break
        body = data[off + 8:off + blen - 4]
        if btype == 6:  # enhanced packet block
            caplen = struct.unpack(e + "I", body[12:16])[0]
            yield body[20:20 + caplen]
        elif btype == 3:  # simple packet block
            orig = struct.unpack(e + "I", body[:4])[0]
            yield body[4:4 + min(orig, len(body) - 4)]
        off += blen


def tshark_frames(path):
    """frame number -> (stream, srcport, dstport, seq, flags, payload, reassembled, has_dcerpc)."""
    fields = ["frame.number", "tcp.stream", "tcp.srcport", "tcp.dstport", "tcp.seq_raw", "tcp.flags",
              "tcp.payload", "tcp.reassembled.data", "frame.protocols"]
    cmd = ["tshark", "-r", path, "-Y", "tcp", "-T", "fields", "-E", "occurrence=f"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
    frames = {}
    for line in out.splitlines():
        c = line.split("\t")
        if len(c) < len(fields) or not c[1]:
            continue
        frames[int(c[0])] = dict(
            stream=int(c[1]), sport=int(c[2]), dport=int(c[3]), seq=int(c[4]), flags=int(c[5], 16),
            payload=bytes.fromhex(c[6].replace(":", "")),
            reassembled=bytes.fromhex(c[7].replace(":", "")) if c[7] else None,
            dcerpc=":dcerpc" in c[8])
    return frames


def pdus_of(stream_bytes):
    """Cuts whole PDUs from one direction's bytes (in sequence order) until sync is lost."""
    out, off = [], 0
    while off + 16 <= len(stream_bytes):
        b = stream_bytes[off:]
        if b[0] != 5 or b[1] > 1:
            break
        e = "<" if b[4] & 0x10 else ">"
        frag = struct.unpack(e + "H", b[8:10])[0]
        if frag < 16 or frag > len(b):
            break
        out.append(b[:frag])
        off += frag
    return out


def direction_bytes(segs):
    """Contiguous bytes of one direction from (seq, payload) pairs, retransmissions dropped."""
    buf, nxt = bytearray(), None
    for seq, payload in sorted(segs, key=lambda s: s[0]):
        if not payload:
            continue  # SYN and FIN take a sequence number but carry nothing
        if nxt is None:
            nxt = seq
        if seq > nxt:
            break  # a hole: stop where the capture lost bytes
        buf += payload[nxt - seq:]
        nxt = max(nxt, seq + len(payload))
    return bytes(buf)


def auth_of(pdu):
    """(ptype, order, body, token) of a PDU, token empty when unauthenticated."""
    e = "<" if pdu[4] & 0x10 else ">"
    auth_len = struct.unpack(e + "H", pdu[10:12])[0]
    token = pdu[len(pdu) - auth_len:] if auth_len and auth_len + 24 <= len(pdu) else b""
    body_end = len(pdu) - auth_len - 8 if token else len(pdu)
    return pdu[2], e, pdu[16:body_end], token


def record(stream_index, from_server, f, frame_len):
    flags = f["flags"]
    kind = 3 if flags & RST else 2 if flags & FIN else 0 if flags & PSH else 1
    payload = f["payload"][:0xffff]
    b0 = (stream_index & 3) | (from_server << 2) | (f["dcerpc"] << 3) | (kind << 4)
    reassembled = f["reassembled"]
    if reassembled is not None:
        b0 |= 0x40
    out = bytes([b0, 4]) + struct.pack("<IH", f["seq"], len(payload)) + payload
    if reassembled is not None:
        out += struct.pack("<H", min(len(reassembled), 0xffff))
    return out


def main():
    out_dir, captures = sys.argv[1], sys.argv[2:]
    seeds = {t: set() for t in ("dcerpc", "ntlmssp", "spnego", "dcom", "tcp", "flow", "session")}
    for path in captures:
        raw = list(read_capture(path))
        frames = tshark_frames(path)
        # Client of a stream: the side of its first frame (SYN or not).
        clients, dirs, per_stream = {}, {}, {}
        tcp_left = 40
        for n in sorted(frames):
            f = frames[n]
            clients.setdefault(f["stream"], f["sport"])
            from_server = int(f["sport"] != clients[f["stream"]])
            dirs.setdefault((f["stream"], from_server), []).append((f["seq"], f["payload"]))
            per_stream.setdefault(f["stream"], []).append((n, from_server, f))
            frame = raw[n - 1] if n - 1 < len(raw) else b""
            ip = next((i for i in range(min(len(frame), 64)) if frame[i] in (0x45, 0x46, 0x47, 0x60)
                       and i + 20 <= len(frame)), None)
            # Frames of the first streams only: a few hundred seeds cover the header shapes.
            if ip is not None and f["stream"] < 4 and (f["payload"] or f["flags"] & (FIN | RST)) and tcp_left:
                seeds["tcp"].add(bytes([ip]) + frame)
                tcp_left -= 1
        dce_streams = [s for s, fs in per_stream.items() if any(f["dcerpc"] for _, _, f in fs)]
        # One session/flow seed per DCE/RPC stream (its first frames), mapped to each stream slot
        # in turn, and one that interleaves the first four such streams.
        for i, s in enumerate(dce_streams):
            recs = [record(i % 4, fs, f, 0) for _, fs, f in per_stream[s][:MAX_SEGMENTS]]
            seeds["session"].add(b"".join(recs))
        mixed = sorted((n, dce_streams.index(s), fs, f) for s in dce_streams[:4] for n, fs, f in per_stream[s])
        if mixed:
            seeds["session"].add(b"".join(record(i, fs, f, 0) for _, i, fs, f in mixed[:MAX_SEGMENTS]))
        seeds["flow"] |= seeds["session"]
        for (s, _), segs in dirs.items():
            if s not in dce_streams:
                continue
            for pdu in pdus_of(direction_bytes(segs)):
                seeds["dcerpc"].add(pdu)
                ptype, order, body, token = auth_of(pdu)
                if token:
                    seeds["spnego"].add(token)
                    at = token.find(b"NTLMSSP\0")
                    if at >= 0:
                        seeds["ntlmssp"].add(token[at:])
                if ptype == 0 and len(body) >= 8:
                    opnum = struct.unpack(order + "H", body[6:8])[0]
                    obj = 16 if pdu[3] & 0x80 else 0
                    if opnum == 3:
                        seeds["dcom"].add(bytes([order == "<"]) + body[8 + obj:])
    for target, items in seeds.items():
        d = os.path.join(out_dir, target)
        os.makedirs(d, exist_ok=True)
        for item in items:
            with open(os.path.join(d, hashlib.sha1(item).hexdigest()), "wb") as fh:
                fh.write(item)
        print(f"{target}: {len(items)} seeds")


if __name__ == "__main__":
    main()
