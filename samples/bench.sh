#!/usr/bin/env bash
# Times sipalive on a large generated capture against the read-and-decode
# floor (samples/floor: sipalive's pcap reader and gopacket's decoder, and
# again with gopacket's own reader, pcapgo, as the performance issue put
# the floor) and, when installed, tshark -q -z sip,stat; prints
# wall time, packets/s and peak RSS of each, and the ratios.
#
#   samples/bench.sh [CALLS]        (default 200000 calls, about 1 GB)
#   BIG=file.pcap samples/bench.sh  (use an existing capture)
#   NO_TSHARK=1 samples/bench.sh    (skip tshark, which takes minutes)
#   REPEAT=5 samples/bench.sh       (rounds of runs of each program but
#                                    tshark, interleaved; the fastest counts,
#                                    as with hyperfine's min: a shared
#                                    machine only ever adds time)
#   BASE=REV samples/bench.sh       (also time sipalive built from git
#                                    revision REV, in the same rounds: a
#                                    change compared before and after)
#   DOC=docs/performance.md samples/bench.sh
#                                   (write the results as that page: the
#                                    command, the date, the machine)
#   SHAPES=0 samples/bench.sh       (skip the traffic shapes: a steady
#                                    call rate, floods, TCP against UDP,
#                                    each in table, JSON and CSV; see
#                                    samples/shapes.sh)
#   REAL=dir/big.pcap samples/bench.sh
#                                   (add the real-traffic capture that
#                                    ../shared/tools/real-trunk.sh writes)
set -euo pipefail
cd "$(dirname "$0")/.."
. samples/bigcapture.sh "$@"
shapes=""
if [ "${SHAPES:-1}" != 0 ]; then
  . samples/shapes.sh
fi
bin=$(mktemp -d)
CGO_ENABLED=0 go build -o "$bin/sipalive" ./cmd/sipalive
CGO_ENABLED=0 go build -o "$bin/floor" ./samples/floor
if [ -n "${BASE:-}" ]; then
  tree="$bin/base-tree"
  git worktree add -q --detach "$tree" "$BASE"
  (cd "$tree" && CGO_ENABLED=0 go build -o "$bin/sipalive-base" ./cmd/sipalive)
  git worktree remove --force "$tree"
fi

python3 - "$file" "$bin" "bench.sh $*" "$shapes" <<'PY'
import os, resource, shutil, struct, subprocess, sys, time, json, platform, datetime
path, bindir, command, shape_list = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]

def run(name, cmd):
    """Run cmd under a fresh, small python whose only child it is, and
    return wall seconds, the child's CPU seconds (user + system) and its
    peak RSS in MiB (RUSAGE_CHILDREN of that python: a forked child would
    inherit this process's high-water mark)."""
    probe = ("import resource, subprocess, sys, time; t = time.monotonic(); "
             "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
             "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
             "print(time.monotonic() - t, u.ru_utime + u.ru_stime, u.ru_maxrss, r.returncode)")
    out = subprocess.run([sys.executable, "-c", probe] + cmd, capture_output=True, text=True, check=True).stdout.split()
    wall, cpu, rss, rc = float(out[0]), float(out[1]), int(out[2]), int(out[3])
    if rc != 0:
        sys.exit(f"{name}: exit status {rc}")
    return wall, cpu, rss / 1024

def pcap_prefix(src, dst, n):
    """Write the first n packets of the classic pcap file src to dst."""
    with open(src, "rb") as r, open(dst, "wb") as w:
        head = r.read(24)
        order = "<" if head[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        w.write(head)
        for _ in range(n):
            rec = r.read(16)
            if len(rec) < 16:
                break
            w.write(rec + r.read(struct.unpack(order + "I", rec[8:12])[0]))

def warm(f):
    """Read f through once, so that the rounds that follow find it in the
    page cache: the shapes together are larger than this machine may keep
    cached, and a first run that reads from disk is not the program's
    time."""
    with open(f, "rb") as h:
        while h.read(1 << 24):
            pass

warm(path)
out = subprocess.run([f"{bindir}/sipalive", "analyze", "--format", "json", "-q", path], capture_output=True, text=True, check=True)
packets = json.loads(out.stdout)["overview"]["packets"]
size = os.path.getsize(path)
rows = [("floor (read + decode)", [f"{bindir}/floor", path]),
        ("floor, pcapgo reader", [f"{bindir}/floor", "-gopacket", path]),
        ("sipalive analyze", [f"{bindir}/sipalive", "analyze", "-q", path]),
        ("sipalive analyze --workers 1", [f"{bindir}/sipalive", "analyze", "-q", "--workers", "1", path])]
base = os.environ.get("BASE")
if base:
    rows.append((f"sipalive analyze, built from {base}", [f"{bindir}/sipalive-base", "analyze", "-q", path]))
if shutil.which("tshark") and not os.environ.get("NO_TSHARK"):
    rows.append(("tshark -q -z sip,stat", ["tshark", "-n", "-q", "-z", "sip,stat", "-r", path]))
repeat = int(os.environ.get("REPEAT", "3"))
model = platform.processor() or platform.machine()
try:
    model = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
except (OSError, StopIteration):
    pass
print(f"{path}: {size/2**20:.0f} MiB, {packets} packets; {os.cpu_count()} cores, {model}, {datetime.date.today()}")
print(f"wall and cpu (user + system): the least of {repeat} runs (tshark: 1); peak RSS: the highest")
print(f"{'program':32} {'wall s':>8} {'cpu s':>7} {'packets/s':>12} {'peak RSS MiB':>13}")
# Rounds rather than blocks: each round runs every program once, so that a
# machine that slows down or speeds up for a while (a VM's neighbours) weighs
# on all of them alike and the ratios stay fair.
runs = {name: [] for name, _ in rows}
for k in range(repeat):
    for name, cmd in rows:
        if k == 0 or not name.startswith("tshark"):
            runs[name].append(run(name, cmd))
res = {}
for name, _ in rows:
    wall, cpu, rss = min(w for w, _, _ in runs[name]), min(c for _, c, _ in runs[name]), max(r for _, _, r in runs[name])
    res[name] = (wall, rss, cpu)
    print(f"{name:32} {wall:8.2f} {cpu:7.2f} {packets/wall:12.0f} {rss:13.1f}")
s = res["sipalive analyze"][0]
print(f"sipalive / pcapgo floor time: {s/res['floor, pcapgo reader'][0]:.2f}x (target <= 3x); "
      f"against the strict floor: {s/res['floor (read + decode)'][0]:.2f}x, "
      f"and in CPU time {res['sipalive analyze'][2]/res['floor (read + decode)'][2]:.2f}x over both cores")
if "tshark -q -z sip,stat" in res:
    print(f"sipalive speed / tshark speed: {res['tshark -q -z sip,stat'][0]/s:.0f}x (target >= 100x)")
if base:
    b = res[f"sipalive analyze, built from {base}"][0]
    print(f"this build / {base}: {s/b:.3f}x wall time")

# The traffic shapes: each capture read by both floors and by sipalive in
# each format, in rounds as above. Targets: peak RSS <= 64 MiB (table) and
# <= 96 MiB (JSON, CSV); a flood's CPU per packet <= 1.5x that of the
# trunk above; TCP's CPU per message <= 1.3x UDP's.
shape_rows = []
trunk_cpu_per_packet = res["sipalive analyze"][2] / packets
udp = {l: g for l, g in (x.split("|", 1) for x in shape_list.splitlines() if x.strip())}.get("calls over UDP")
for line in shape_list.splitlines():
    if not line.strip():
        continue
    label, f = line.split("|", 1)
    out = subprocess.run([f"{bindir}/sipalive", "analyze", "--format", "json", "-q", f], capture_output=True, text=True, check=True)
    n = json.loads(out.stdout)["overview"]["packets"]
    progs = [("floor", [f"{bindir}/floor", f]), ("floor pcapgo", [f"{bindir}/floor", "-gopacket", f])]
    for fmt in ("table", "json", "csv"):
        progs.append((fmt, [f"{bindir}/sipalive", "analyze", "-q", "--format", fmt, f]))
    if label.startswith(("INVITE flood", "OPTIONS")):
        # ordinary traffic of the same size, timed in the same rounds: the
        # trunk's first n packets
        ref = os.path.join(bindir, f"trunk-{n}.pcap")
        pcap_prefix(path, ref, n)
        progs.append(("trunk", [f"{bindir}/sipalive", "analyze", "-q", ref]))
    if label == "calls over TCP" and udp:
        # the same calls over UDP, timed in the same rounds: this
        # machine's speed drifts by a fifth between minutes, and shapes
        # timed minutes apart compared that drift
        progs.append(("udp", [f"{bindir}/sipalive", "analyze", "-q", udp]))
    got = {name: [] for name, _ in progs}
    warm(f)
    for k in range(repeat):
        for name, cmd in progs:
            got[name].append(run(name, cmd))
    best = {name: (min(w for w, _, _ in v), min(c for _, c, _ in v), max(r for _, _, r in v)) for name, v in got.items()}
    shape_rows.append((label, n, best))
print()
print(f"{'shape':26} {'packets':>10} {'format':>6} {'wall s':>7} {'cpu s':>7} {'µs cpu/pkt':>10} {'× floor':>8} {'× pcapgo':>8} {'RSS MiB':>8} {'target':>7}")
shape_lines = []
for label, n, best in shape_rows:
    fl, fg = best["floor"][0], best["floor pcapgo"][0]
    for fmt in ("table", "json", "csv"):
        w, c, r = best[fmt]
        limit = 64 if fmt == "table" else 96
        line = (label, n, fmt, w, c, c / n * 1e6, w / fl, w / fg, r, "ok" if r <= limit else f">{limit}")
        shape_lines.append(line)
        print(f"{label:26} {n:10} {fmt:>6} {w:7.2f} {c:7.2f} {c / n * 1e6:10.2f} {w / fl:8.2f} {w / fg:8.2f} {r:8.1f} {line[-1]:>7}")
ratios = []
for label, n, best in shape_rows:
    if label.startswith(("INVITE flood", "OPTIONS")):
        ratios.append(f"{label}: {best['table'][1] / best['trunk'][1]:.2f}x the CPU per packet of the trunk's first {n:,} packets "
                      f"in the same rounds (target <= 1.5x); {best['table'][1] / n / trunk_cpu_per_packet:.2f}x that of the whole trunk above")
by = {label: (n, best) for label, n, best in shape_rows}
if "calls over UDP" in by and "calls over TCP" in by:
    bt = by["calls over TCP"][1]
    # the same messages: per message, TCP's handshake packets aside
    ratios.append(f"TCP: {bt['table'][1] / bt['udp'][1]:.2f}x UDP's CPU for the same messages, timed in the same rounds (target <= 1.3x)")
for r in ratios:
    print(r)

doc = os.environ.get("DOC")
if doc:
    env = [f"{k}={os.environ[k]}" for k in ("REPEAT", "BASE", "NO_TSHARK", "SHAPES", "REAL") if os.environ.get(k)]
    go = subprocess.run(["go", "version"], capture_output=True, text=True).stdout.split()[2]
    with open(doc, "w") as f:
        f.write("# Performance\n\n")
        f.write("Written by `samples/bench.sh` with `DOC` set; run it again to refresh this page.\n\n")
        f.write(f"- command: `{' '.join(env + ['DOC=' + doc, 'samples/' + command]).strip()}`\n")
        f.write(f"- date: {datetime.date.today()}\n")
        f.write(f"- machine: {os.cpu_count()} cores, {model}, {round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30)} GiB, {platform.system()} {platform.release()}, {go}\n")
        f.write(f"- capture: `{path}`, {size/2**20:.0f} MiB, {packets:,} packets (`samples/gen`)\n")
        f.write(f"- wall and CPU time (user + system): the least of {repeat} interleaved rounds (tshark: one run); peak RSS: the highest\n\n")
        f.write("| program | wall s | CPU s | packets/s | peak RSS MiB |\n| --- | ---: | ---: | ---: | ---: |\n")
        for name, _ in rows:
            wall, rss, c = res[name]
            f.write(f"| `{name}` | {wall:.2f} | {c:.2f} | {packets/wall:,.0f} | {rss:.1f} |\n")
        f.write(f"\nRatios from the same run: sipalive takes {s/res['floor (read + decode)'][0]:.2f}x the wall time of the strict floor "
                f"(sipalive's reader and gopacket's decoder) and {s/res['floor, pcapgo reader'][0]:.2f}x that of the pcapgo floor (target: at most 3x)")
        if "tshark -q -z sip,stat" in res:
            f.write(f"; it runs {res['tshark -q -z sip,stat'][0]/s:.0f}x as fast as tshark")
        if base:
            f.write(f"; this build takes {s/b:.3f}x the wall time of the build from {base}")
        f.write(".\n\n")
        f.write("The floors read and decode every packet down to its UDP or TCP payload (`samples/floor`) and nothing else: "
                "sipalive cannot be faster. How the work is split over the two cores is in [design.md](design.md).\n")
        if shape_lines:
            f.write("\n## Traffic shapes\n\n")
            f.write("Captures `samples/gen` writes for the memory work (see `samples/shapes.sh`): a steady call rate, floods of requests "
                    "with a Call-ID each, and the same calls over UDP and over TCP; each at growing sizes, to show whether memory stays flat. "
                    f"Each is read through once, then by both floors and by `sipalive analyze` in each format in {repeat} interleaved rounds; "
                    "the least wall and CPU time count, as above. "
                    "Targets: peak RSS at most 64 MiB for tables and 96 MiB for JSON and CSV. "
                    "A flood's CPU per packet is set against that of ordinary traffic of the same size timed in the same rounds: "
                    "the generator's trunk cut to the flood's number of packets (a short capture pays the warm-up of the tables "
                    "and of the second core on fewer packets, and the machine's speed drifts between sections); "
                    "the ratio to the whole trunk of the first table is given beside it.")
            if os.environ.get("REAL"):
                f.write(" The real sipp trunk is `../shared/tools/real-trunk.sh`'s capture: sipp calls at 1,000 a second "
                        "through loopback, each with an INFO, an UPDATE and a MESSAGE inside the dialog, and OPTIONS pings beside them.")
            f.write("\n\n")
            f.write("| shape | packets | format | wall s | CPU s | µs CPU per packet | × floor | × pcapgo floor | peak RSS MiB | RSS target |\n")
            f.write("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n")
            for label, n, fmt, w, c, per, xf, xg, r, ok in shape_lines:
                f.write(f"| {label} | {n:,} | {fmt} | {w:.2f} | {c:.2f} | {per:.2f} | {xf:.2f} | {xg:.2f} | {r:.1f} | {ok} |\n")
            f.write("\n" + "".join(f"- {r}\n" for r in ratios))
    print(f"wrote {doc}")
PY
