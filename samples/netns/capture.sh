#!/usr/bin/env bash
# Records the same real SIP traffic (the project's sender: 2 calls, 3 INFO
# keep-alives each) over the paths a field capture meets, between network
# namespaces this script creates and removes:
#
#   plain.pcap        Ethernet on a veth (the reference)
#   any.pcap          tcpdump -i any (Linux cooked v2)
#   vlan.pcap         on an 802.1Q trunk between two switch-like relays
#   vxlan.pcap        through a VXLAN tunnel, captured underneath it
#   gre.pcap          through a GRE tunnel, captured underneath it
#   ipip.pcap         through an IP-in-IP tunnel, captured underneath it
#   frag.pcap         UDP with 3 KB INVITEs on an MTU-1400 link (IP fragments)
#   tcp.pcap          TCP with 3 KB INVITEs split over segments; the relay
#                     drops every 4th data segment, so TCP retransmits
#   plain.pcapng.gz   the reference as gzip'd pcapng (when editcap exists)
#
# The trunk, the GRE and IP-in-IP tunnels and the losses come from `sender
# relay` (AF_PACKET in user space: it encapsulates on one side of the trunk
# and decapsulates on the other), so kernels without VLAN, GRE, IP-in-IP,
# netem or tc actions can record them too.
#
# usage: sudo samples/netns/capture.sh [OUTDIR]   (default capture/testdata/netns)
# Needs root, iproute2, ethtool and tcpdump. Traffic stays inside the
# namespaces; every process it starts is ended by PID.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-capture/testdata/netns}
mkdir -p "$out"
[ "$(id -u)" = 0 ] || { echo "capture.sh: needs root (network namespaces)" >&2; exit 2; }
for c in ip ethtool tcpdump; do command -v $c >/dev/null || { echo "capture.sh: needs $c" >&2; exit 2; }; done

id=$$
A=sipalive-a$id B=sipalive-b$id M=sipalive-m$id N=sipalive-n$id
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  for ns in $A $B $M $N; do ip netns del $ns 2>/dev/null || true; done
}
trap cleanup EXIT

bin=$(mktemp -d)
CGO_ENABLED=0 go build -o "$bin/sender" ./samples/sender

# veth NS1 DEV1 NS2 DEV2: a link at MTU 1400 without offloads (so that
# packets on the wire are what a switch would see).
veth() {
  ip link add x$id type veth peer name y$id
  ip link set x$id netns $1 name $2 mtu 1400
  ip link set y$id netns $3 name $4 mtu 1400
  for side in "$1 $2" "$3 $4"; do
    set -- $side
    ip netns exec $1 ethtool -K $2 tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
    ip -n $1 link set $2 up
  done
}
for ns in $A $B $M $N; do ip netns add $ns; ip -n $ns link set lo up; done
veth $A va $B vb                      # direct path
ip -n $A addr add 10.198.0.1/24 dev va
ip -n $B addr add 10.198.0.2/24 dev vb
veth $A ta $M m0                      # relayed path: A - M =trunk= N - B
veth $M m1 $N n1
ip -n $M link set m1 mtu 1500             # room for the tunnel headers
ip -n $N link set n1 mtu 1500
veth $N n0 $B tb
ip -n $A addr add 10.198.100.1/24 dev ta
ip -n $B addr add 10.198.100.2/24 dev tb
ip -n $A link add vx0 type vxlan id 42 local 10.198.0.1 remote 10.198.0.2 dstport 4789 dev va
ip -n $B link add vx0 type vxlan id 42 local 10.198.0.2 remote 10.198.0.1 dstport 4789 dev vb
ip -n $A addr add 10.198.200.1/24 dev vx0
ip -n $B addr add 10.198.200.2/24 dev vx0
ip -n $A link set vx0 up
ip -n $B link set vx0 up

# relays FLAGS...: (re)start the two relays of the relayed path.
relays=()
relays() {
  for p in "${relays[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  relays=()
  rm -f "$bin/relay-m.out" "$bin/relay-n.out"
  ip netns exec $M "$bin/sender" relay -a m0 -b m1 -timeout 120s "$@" > "$bin/relay-m.out" &
  relays+=($!); pids+=($!)
  # the far relay mirrors the trunk's encoding (tag, tunnel), never the losses
  ip netns exec $N "$bin/sender" relay -a n0 -b n1 -timeout 120s $(echo "$@" | grep -o -- '-\(vlan\|tunnel\) [0-9a-z]*' || true) > "$bin/relay-n.out" &
  relays+=($!); pids+=($!)
  # a call sent before both relays listen is lost: wait until they say so
  for _ in $(seq 100); do
    grep -q ready "$bin/relay-m.out" 2>/dev/null && grep -q ready "$bin/relay-n.out" 2>/dev/null && break
    sleep 0.1
  done
}
sleep 1 # let the links settle

# record NAME NS IFACE UAS_ADDR UAC_ADDR [UAS_FLAGS [UAC_FLAGS]]: capture
# the traffic on IFACE in namespace NS.
record() {
  local name=$1 ns=$2 iface=$3 uas=$4 uac=$5 uasflags=${6:-} uacflags=${7:-}
  ip netns exec $ns tcpdump -i "$iface" -U -s 0 -w "$out/$name.pcap" "not ip6 and not arp" >/dev/null 2>&1 &
  local tpid=$!
  pids+=($tpid)
  sleep 1
  rm -f "$bin/uas.out" # the last recording's "ready" must not count
  ip netns exec $B "$bin/sender" uas -listen "$uas" -calls 2 -timeout 30s $uasflags > "$bin/uas.out" &
  local upid=$!
  pids+=($upid)
  for _ in $(seq 50); do grep -q ready "$bin/uas.out" 2>/dev/null && break; sleep 0.1; done
  ip netns exec $A "$bin/sender" uac -from "$uac" -to "$uas" -calls 2 -keepalive INFO -count 3 -interval 100ms -wait 5s $uacflags
  wait $upid || true
  sleep 1
  kill -INT $tpid
  wait $tpid || true
  echo "$out/$name.pcap: $(stat -c %s "$out/$name.pcap") bytes" >&2
}

record plain $A va 10.198.0.2:5060 10.198.0.1:5070
record any $A any 10.198.0.2:5060 10.198.0.1:5070
record vxlan $A va 10.198.200.2:5060 10.198.200.1:5070
record frag $A va 10.198.0.2:5060 10.198.0.1:5070 "" "-invite-size 3000"
relays -vlan 100
record vlan $M m1 10.198.100.2:5060 10.198.100.1:5070
relays -tunnel gre
record gre $M m1 10.198.100.2:5060 10.198.100.1:5070
relays -tunnel ipip
record ipip $M m1 10.198.100.2:5060 10.198.100.1:5070
relays -drop-every 4
record tcp $A ta 10.198.100.2:5060 10.198.100.1:5070 -tcp "-tcp -invite-size 3000"
if command -v editcap >/dev/null; then
  editcap -F pcapng "$out/plain.pcap" "$out/plain.pcapng"
  gzip -9 -n -f "$out/plain.pcapng"
  echo "$out/plain.pcapng.gz" >&2
fi
