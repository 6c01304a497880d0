#!/usr/bin/env bash
# Refreshes cmd/sipalive/default.pgo: the CPU profile that Go's
# profile-guided optimisation builds sipalive with (go build and go run pick
# it up by themselves; it made the 1 GB bench run about 5% faster in
# interleaved runs). The profile is of the generated trunk capture that
# samples/bench.sh times, analysed with two workers and with one, taken
# from a build without it; and, when REAL names it, of the real sipp trunk
# that ../shared/tools/real-trunk.sh writes, whose in-dialog keep-alives
# and sweeps take other paths than the generated calls.
#
#   samples/pgo.sh [CALLS]        (default 200000 calls, about 1 GB)
#   BIG=file.pcap samples/pgo.sh  (profile another capture)
#   REAL=dir/big.pcap samples/pgo.sh
#                                 (profile the real-traffic capture too)
set -euo pipefail
cd "$(dirname "$0")/.."
. samples/bigcapture.sh "$@"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -pgo=off -o "$tmp/sipalive" ./cmd/sipalive
"$tmp/sipalive" analyze -q --cpuprofile "$tmp/w2.prof" "$file" >/dev/null
"$tmp/sipalive" analyze -q --workers 1 --cpuprofile "$tmp/w1.prof" "$file" >/dev/null
profiles=("$tmp/w2.prof" "$tmp/w1.prof")
if [ -n "${REAL:-}" ]; then
  "$tmp/sipalive" analyze -q --cpuprofile "$tmp/r2.prof" "$REAL" >/dev/null
  "$tmp/sipalive" analyze -q --workers 1 --cpuprofile "$tmp/r1.prof" "$REAL" >/dev/null
  profiles+=("$tmp/r2.prof" "$tmp/r1.prof")
fi
go tool pprof -proto "${profiles[@]}" >cmd/sipalive/default.pgo 2>/dev/null
echo "wrote cmd/sipalive/default.pgo ($(wc -c <cmd/sipalive/default.pgo) bytes)"
