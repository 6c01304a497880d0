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
set -euo pipefail
cd "$(dirname "$0")/.."
. samples/bigcapture.sh "$@"
bin=$(mktemp -d)
CGO_ENABLED=0 go build -o "$bin/sipalive" ./cmd/sipalive
CGO_ENABLED=0 go build -o "$bin/floor" ./samples/floor

python3 - "$file" "$bin" <<'PY'
import os, resource, shutil, subprocess, sys, time, json, platform, datetime
path, bindir = sys.argv[1], sys.argv[2]

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

out = subprocess.run([f"{bindir}/sipalive", "analyze", "--format", "json", "-q", path], capture_output=True, text=True, check=True)
packets = json.loads(out.stdout)["overview"]["packets"]
size = os.path.getsize(path)
rows = [("floor (read + decode)", [f"{bindir}/floor", path]),
        ("floor, pcapgo reader", [f"{bindir}/floor", "-gopacket", path]),
        ("sipalive analyze", [f"{bindir}/sipalive", "analyze", "-q", path]),
        ("sipalive analyze --workers 1", [f"{bindir}/sipalive", "analyze", "-q", "--workers", "1", path])]
if shutil.which("tshark") and not os.environ.get("NO_TSHARK"):
    rows.append(("tshark -q -z sip,stat", ["tshark", "-n", "-q", "-z", "sip,stat", "-r", path]))
repeat = int(os.environ.get("REPEAT", "3"))
cpu = platform.processor() or platform.machine()
try:
    cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
except (OSError, StopIteration):
    pass
print(f"{path}: {size/2**20:.0f} MiB, {packets} packets; {os.cpu_count()} cores, {cpu}, {datetime.date.today()}")
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
print(f"sipalive / floor time: {s/res['floor (read + decode)'][0]:.2f}x (target <= 3x); "
      f"CPU time: {res['sipalive analyze'][2]/res['floor (read + decode)'][2]:.2f}x over both cores; "
      f"against the floor with gopacket's pcapgo reader: {s/res['floor, pcapgo reader'][0]:.2f}x")
if "tshark -q -z sip,stat" in res:
    print(f"sipalive speed / tshark speed: {res['tshark -q -z sip,stat'][0]/s:.0f}x (target >= 100x)")
PY
