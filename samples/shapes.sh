# Sourced by bench.sh: generates (once) the traffic shapes of the memory
# and flood benchmarks under samples/ and lists them in $shapes, one
# "label|file" per line. Each shape comes at 1/16, 1/4 and the full size,
# to show whether memory stays flat as a file grows.
#
#   rate     1,000 calls/s, 20 s holds, for 30 minutes of capture time
#   invites  1 M INVITEs never answered, 10,000/s, a Call-ID each
#   pings    1 M OPTIONS answered 200, 10,000/s, a Call-ID each
#   udp/tcp  100 calls/s, 20 s holds, 10 minutes, over UDP and over one
#            TCP connection (a segment per message): the cost of TCP
shapes=""
gen_shape() { # label file gen-args...
  local label=$1 out=$2
  shift 2
  if [ ! -f "$out" ]; then
    echo "generating $out..." >&2
    go run ./samples/gen "$@" -o "$out"
  fi
  shapes+="$label|$out"$'\n'
}
for part in 16 4 1; do
  secs=$((1800 / part))
  gen_shape "rate 1000/s, ${secs}s" "samples/big-rate-$secs.pcap" -rate 1000 -hold 20s -duration "${secs}s"
done
for part in 16 4 1; do
  n=$((1000000 / part))
  gen_shape "INVITE flood, $n" "samples/big-invites-$n.pcap" -flood INVITE -n "$n" -rate 10000
done
for part in 16 4 1; do
  n=$((1000000 / part))
  gen_shape "OPTIONS + 200, $n" "samples/big-pings-$n.pcap" -flood OPTIONS -answer 200 -n "$n" -rate 10000
done
gen_shape "calls over UDP" "samples/big-udp.pcap" -rate 100 -hold 20s -duration 10m
gen_shape "calls over TCP" "samples/big-tcp.pcap" -rate 100 -hold 20s -duration 10m -tcp
if [ -n "${REAL:-}" ]; then
  # ../shared/tools/real-trunk.sh OUTDIR writes OUTDIR/big.pcap (root, sipp, tcpdump)
  shapes+="real sipp trunk|$REAL"$'\n'
fi
