#!/usr/bin/env bash
# Records what a real user agent answers to in-dialog keep-alives: sipp
# calls baresip (Debian: baresip-core), which answers at once, then sends
# one request of each keep-alive method without a body (UPDATE, INFO,
# OPTIONS, MESSAGE; uac-keepalives.xml) and hangs up. baresip 1.0 answers
# UPDATE 501, an empty INFO 488, OPTIONS 200 (with SDP) and an empty
# MESSAGE 415: the vendor audit's case.
#
#   caller 10.9.0.2:5060 (sipp) -> callee 10.9.0.3:5060 (baresip)
#
# baresip takes no loopback address for its own, so both addresses sit on
# a veth pair in a network namespace this script creates and removes; the
# traffic between them still runs over the namespace's loopback, where it
# is recorded.
#
# usage: sudo samples/baresip/record.sh [OUT.pcap]
#        (default capture/testdata/baresip/keepalive-methods.pcap)
# Needs root, iproute2, tcpdump, baresip and sipp. Every process it starts
# is ended by PID.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
out=${1:-capture/testdata/baresip/keepalive-methods.pcap}
mkdir -p "$(dirname "$out")"
[ "$(id -u)" = 0 ] || { echo "record.sh: needs root (network namespace, tcpdump)" >&2; exit 2; }
for c in ip tcpdump baresip sipp; do command -v $c >/dev/null || { echo "record.sh: needs $c" >&2; exit 2; }; done

. samples/recording.sh bsip
nsx ip link add sipalive0 type veth peer name sipalive1
nsx ip addr add 10.9.0.2/24 dev sipalive0
nsx ip addr add 10.9.0.3/24 dev sipalive1
nsx ip link set sipalive0 up
nsx ip link set sipalive1 up
cp "$here/config" "$here/accounts" "$work/"

ip netns exec $ns tcpdump -i lo -n -s 0 -U -w "$work/cap.pcap" port 5060 2>"$work/tcpdump.log" &
pids+=($!)
ip netns exec $ns baresip -f "$work" -t 60 >"$work/baresip.log" 2>&1 &
pids+=($!)
sleep 2 # tcpdump and baresip listening
# timeout bounds the call: sipp's own -timeout does not end one stuck waiting
if ! nsx timeout 90 sipp -sf "$here/uac-keepalives.xml" -s callee -t u1 -i 10.9.0.2 -p 5060 -m 1 -nostdin -timeout 40s 10.9.0.3:5060 >"$work/uac.log" 2>&1; then
  echo "record.sh: the call failed" >&2
  tail -n 20 "$work/uac.log" "$work/baresip.log" >&2
  exit 1
fi
sleep 1 # the last packets reach the file
kill "${pids[0]}"
wait "${pids[0]}" 2>/dev/null || true
cp "$work/cap.pcap" "$out"
echo "record.sh: wrote $out"
