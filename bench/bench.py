#!/usr/bin/env python3
"""The dcomauth benchmark: what the plugin adds to tshark, next to reference post-dissectors.

Run on demand (not in CI):  bench/bench.py            everything, results into bench/out/
                            bench/bench.py --help     what can be narrowed down

For every capture (bench/gen writes them with capgen) and job (`-q -z expert`, which builds no
tree; `-q -Y <filter>`, which does) it runs tshark with each variant:

  plain    no post-dissector of ours
  ours     target/release/libdcomauth.so
  nop      bench/c/nop.c: a C post-dissector that does nothing (the floor of any post-dissector)
  fields3  bench/c/fields3.c: a C post-dissector that wants 3 fields (so a tree is always built)
  transum  plain tshark with TRANSUM enabled on the DCE/RPC port, two passes (-2) -- compared
           against plain tshark with -2
  lua      bench/lua/dcomauth_bench.lua: a Lua post-dissector doing the same correlation
           (identity per association, change, fault after change, abort after change)

and measures instructions (callgrind, --cache-sim=no; the variant's startup on an empty capture
subtracted), the median wall-clock time of --runs native runs, and their peak RSS. Measurements
are kept in <out>/measurements.json, so a second run only redoes what was asked for
(`--variants ours --redo`), and <out>/table.md is rebuilt from all of them.

tshark ignores WIRESHARK_PLUGIN_DIR when it runs as root, so as root every run goes through
`setpriv` to nobody, as tests/harness does.
"""
import argparse
import concurrent.futures
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
FILES = ["nodce", "mixed", "dense", "big-dense"]
JOBS = {
    "expert": ["-q", "-z", "expert"],
    # A filter plain tshark accepts; tshark builds a tree (with these fields primed) for every frame.
    "filter": ["-q", "-Y", "dcerpc.pkt_type == 3 || tcp.flags.reset == 1"],
}
VARIANTS = ["plain", "ours", "nop", "fields3", "transum", "lua"]
DCERPC_PORT = "49157"
LOCK = threading.Lock()


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout


def ws_version():
    out = sh(["tshark", "--version"]).splitlines()[0]
    return out


def ws_plugin_subdir():
    v = sh(["pkg-config", "--modversion", "wireshark"]).strip().split(".")
    return f"{v[0]}.{v[1]}"


def prepare(out: Path, build: bool):
    """Captures, the C plugins, and one plugin folder per variant."""
    caps = out / "caps"
    target = ROOT / "target"
    if build:
        subprocess.run(["cargo", "build", "--release", "-p", "dcomauth"], cwd=ROOT, check=True)
    gen_target = target / "bench-gen"
    if not all((caps / f"{f}.pcapng").exists() for f in FILES + ["empty"]):
        subprocess.run(
            ["cargo", "build", "--release"],
            cwd=BENCH / "gen",
            check=True,
            env={**os.environ, "CARGO_TARGET_DIR": str(gen_target)},
        )
        subprocess.run([str(gen_target / "release" / "dcomauth-bench-gen"), str(caps)], check=True)
    plugins = out / "plugins"
    sub = ws_plugin_subdir()
    cflags = sh(["pkg-config", "--cflags", "wireshark"]).split()
    libs = sh(["pkg-config", "--libs", "wireshark"]).split()
    # TRANSUM is one of Wireshark's own plugins: its folder holds a copy of the installed one.
    so = {
        "ours": ROOT / "target" / "release" / "libdcomauth.so",
        "transum": Path(sh(["pkg-config", "--variable=plugindir", "wireshark"]).strip()) / "epan" / "transum.so",
    }
    for name, src in (("nop", "nop.c"), ("fields3", "fields3.c")):
        dst = out / f"bench_{name}.so"
        subprocess.run(
            ["gcc", "-O2", "-fPIC", "-shared", "-Wall", "-Wextra", *cflags, "-o", str(dst), str(BENCH / "c" / src), *libs],
            check=True,
        )
        so[name] = dst
    for v in VARIANTS:
        d = plugins / v / sub / "epan"
        if d.exists():
            shutil.rmtree(plugins / v)
        d.mkdir(parents=True)
        if v in so:
            shutil.copy(so[v], d / so[v].name)
    if (BENCH / "lua" / "dcomauth_bench.lua").exists():
        shutil.copy(BENCH / "lua" / "dcomauth_bench.lua", plugins / "lua" / "dcomauth_bench.lua")
    home = out / "home"
    home.mkdir(exist_ok=True)
    for p in [out, *out.rglob("*")]:
        p.chmod(0o777 if p.is_dir() else 0o755)
    return caps, plugins, home


def command(variant, job, plugins, home, cap):
    """argv and environment of one tshark run."""
    args = ["tshark", "-n", "-r", str(cap), *JOBS[job]]
    if variant == "transum":
        # TRANSUM ships disabled; its port list decides which TCP conversations it times.
        args += ["-2", "--enable-protocol", "transum", "-o", f"transum.tcp_port_ranges:{DCERPC_PORT}"]
    elif variant == "plain-2":
        args += ["-2"]
    if variant == "lua":
        args += ["-X", f"lua_script:{plugins / 'lua' / 'dcomauth_bench.lua'}"]
    folder = "plain" if variant in ("plain-2", "lua") else variant
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "WIRESHARK_CONFIG_DIR": str(home / "config" / "wireshark"),
        "WIRESHARK_PLUGIN_DIR": str(plugins / folder),
        "LC_ALL": "C.UTF-8",
    }
    prefix = []
    if os.geteuid() == 0:
        prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
    return prefix, args, env


def native(variant, job, plugins, home, cap):
    """(seconds, peak RSS KiB) of one run."""
    prefix, args, env = command(variant, job, plugins, home, cap)
    t0 = time.monotonic()
    p = subprocess.Popen(prefix + args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    elapsed = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    err = p.stderr.read().decode(errors="replace")
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({p.returncode}): {err}")
    return elapsed, usage.ru_maxrss


def callgrind(variant, job, plugins, home, cap, cgdir: Path):
    prefix, args, env = command(variant, job, plugins, home, cap)
    fd, outfile = tempfile.mkstemp(prefix="cg.", dir=cgdir)
    os.close(fd)
    os.chmod(outfile, 0o666)
    vg = ["valgrind", "--tool=callgrind", "--cache-sim=no", f"--callgrind-out-file={outfile}"]
    r = subprocess.run(prefix + vg + args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"callgrind {' '.join(args)} failed: {r.stderr[-2000:]}")
    total = None
    with open(outfile) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                total = int(line.split()[1])
    os.unlink(outfile)
    return total


def load(path):
    return json.loads(path.read_text()) if path.exists() else {}


def save(path, data):
    with LOCK:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        tmp.replace(path)


def table(data, meta):
    """Markdown: one row per file, job and variant."""
    base_of = {"transum": "plain-2"}
    lines = [
        f"Machine: {meta['machine']}; {meta['wireshark']}; commit {meta['commit']}; {meta['date']}.",
        "",
        "Instructions: callgrind totals minus the same variant's run on an empty capture (startup); "
        "ratio = added instructions over those of plain tshark in the same job (TRANSUM: over plain `-2`). "
        "Wall: median of native runs (a shared, loaded machine: only the instruction ratios are steady). "
        "RSS: peak resident set of those runs.",
        "",
        "| file | job | variant | instructions | per frame | ratio | wall s (median) | wall ratio | peak RSS MiB | RSS ratio |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    frames = meta.get("frames", {})
    for f in FILES:
        for job in JOBS:
            for v in VARIANTS + ["plain-2"]:
                m = data.get(f"{f}/{job}/{v}")
                if not m:
                    continue
                base = data.get(f"{f}/{job}/{base_of.get(v, 'plain')}", {})
                start = data.get(f"empty/{job}/{v}", {}).get("ir")
                bstart = data.get(f"empty/{job}/{base_of.get(v, 'plain')}", {}).get("ir")
                ir = ratio = per = ""
                if m.get("ir") is not None and start is not None:
                    added = m["ir"] - start
                    ir = f"{added / 1e6:,.0f} M"
                    if frames.get(f):
                        per = f"{added / frames[f]:,.0f}"
                    if base.get("ir") is not None and bstart is not None:
                        ratio = f"{added / (base['ir'] - bstart):.3f}×"
                wall = wr = rss = rr = ""
                if m.get("wall"):
                    w = statistics.median(m["wall"])
                    wall = f"{w:.2f}"
                    if base.get("wall"):
                        wr = f"{w / statistics.median(base['wall']):.2f}×"
                if m.get("rss"):
                    r = max(m["rss"])
                    rss = f"{r / 1024:.0f}"
                    if base.get("rss"):
                        rr = f"{r / max(base['rss']):.3f}×"
                lines.append(f"| {f} | {job} | {v} | {ir} | {per} | {ratio} | {wall} | {wr} | {rss} | {rr} |")
    return "\n".join(lines) + "\n"


def frame_count(cap):
    out = sh(["capinfos", "-c", "-M", str(cap)])
    for line in out.splitlines():
        if "Number of packets" in line:
            return int(line.split(":")[1].strip())
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(BENCH / "out"))
    ap.add_argument("--files", default="nodce,mixed,dense,big-dense")
    ap.add_argument("--jobs", default="expert,filter")
    ap.add_argument("--variants", default="plain,ours,nop,fields3")
    ap.add_argument("--runs", type=int, default=3, help="native runs per measurement (wall, RSS)")
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--callgrind-files", default="nodce,mixed,dense", help="big-dense is for memory only")
    ap.add_argument("--parallel", type=int, default=2, help="callgrind runs at once")
    ap.add_argument("--redo", action="store_true", help="measure again what is already measured")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--merge", action="append", default=[], help="fold in the measurements.json of another --out")
    ap.add_argument("--table-only", action="store_true", help="measure nothing, rebuild the table")
    ap.add_argument("--caps", help="folder of the captures (default <out>/caps)")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    mpath = out / "measurements.json"
    data = load(mpath)
    for other in a.merge:
        for key, m in load(Path(other)).items():
            data.setdefault(key, {}).update(m)
        save(mpath, data)
    if a.table_only:
        a.variants, a.no_callgrind = "", True
    if a.table_only:
        caps, plugins, home = Path(a.caps) if a.caps else out / "caps", None, None
    else:
        caps, plugins, home = prepare(out, not a.no_build)
    variants = [v for v in a.variants.split(",") if v]
    if "transum" in variants and "plain-2" not in variants:
        variants.append("plain-2")
    jobs = a.jobs.split(",")
    files = a.files.split(",")
    cgdir = out / "callgrind"
    cgdir.mkdir(exist_ok=True)
    cgdir.chmod(0o777)

    tasks = []
    for v in variants:
        for job in jobs:
            tasks.append(("empty", job, v))
            for f in files:
                tasks.append((f, job, v))

    # Native runs first, one at a time (they are short, and wall-clock wants no company of ours).
    for f, job, v in tasks:
        key = f"{f}/{job}/{v}"
        m = data.setdefault(key, {})
        if f == "empty" or (m.get("wall") and not a.redo):
            continue
        runs = [native(v, job, plugins, home, caps / f"{f}.pcapng") for _ in range(a.runs)]
        m["wall"] = [r[0] for r in runs]
        m["rss"] = [r[1] for r in runs]
        print(f"{key}: wall {statistics.median(m['wall']):.2f}s rss {max(m['rss']) // 1024} MiB", flush=True)
        save(mpath, data)

    if not a.no_callgrind:
        cg_files = set(a.callgrind_files.split(",")) | {"empty"}
        todo = [t for t in tasks if t[0] in cg_files and (a.redo or data.get("/".join(t), {}).get("ir") is None)]

        def run(t):
            f, job, v = t
            ir = callgrind(v, job, plugins, home, caps / f"{f}.pcapng", cgdir)
            with LOCK:
                data.setdefault("/".join(t), {})["ir"] = ir
            save(mpath, data)
            print(f"{'/'.join(t)}: {ir:,} instructions", flush=True)

        with concurrent.futures.ThreadPoolExecutor(a.parallel) as ex:
            for fut in [ex.submit(run, t) for t in todo]:
                fut.result()

    commit = sh(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT).strip()
    dirty = " (uncommitted changes)" if sh(["git", "status", "--porcelain", "--", "src"], cwd=ROOT).strip() else ""
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    meta = {
        "machine": f"{cpu}, {os.cpu_count()} cores, {sh(['uname', '-sr']).strip()}",
        "wireshark": ws_version(),
        "commit": commit + dirty,
        "date": time.strftime("%Y-%m-%d"),
        "frames": {f: frame_count(caps / f"{f}.pcapng") for f in FILES},
    }
    text = table(data, meta)
    (out / "table.md").write_text(text)
    print(text)


if __name__ == "__main__":
    sys.exit(main())
