#!/usr/bin/env python3
"""Turns a full capture into one started late: keeps only the frames after the one carrying the
log's PDU marked cut_after (so the capture starts after the first AUTH3 and its first call).

    cut.py CAPTURE.pcapng CLIENT_LOG.json     (rewrites CAPTURE in place)
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from expect import match, plain_tshark, tshark_rows  # noqa: E402

pcap, logfile = sys.argv[1:3]
with open(logfile) as f:
    log = json.load(f)
rows = tshark_rows(pcap, plain_tshark())
match(log, rows)
mark = next(p for p in log["pdus"] if p.get("cut_after"))
last = max(r[0] for r in rows)
total = int(subprocess.run(["capinfos", "-c", "-M", "-T", "-r", pcap], capture_output=True, text=True,
                           check=True).stdout.split("\t")[-1])
tmp = pcap + ".tmp"
subprocess.run(["editcap", "-r", pcap, tmp, f"{mark['frame'] + 1}-{total}"], check=True)
os.replace(tmp, pcap)
first = mark["frame"] + 1
log["cut"] = {"kept_from_frame": first, "of_frames": total,
              "why": "a capture started after the first AUTH3: the plugin sees alice's context only by its sec_trailers"}
for p in log["pdus"]:
    p.pop("frame", None)
    p.pop("time", None)
with open(logfile, "w") as f:
    json.dump(log, f, indent=1)
print(f"cut {pcap}: kept frames {first}-{total}")
