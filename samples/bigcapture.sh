# Sourced by bench.sh and pgo.sh from the project root: sets $file to the
# large generated capture they work on, $BIG if set, else
# samples/big-CALLS.pcap (CALLS: their first argument, default 200000),
# and generates it when it is missing (about 1 GB for the default).
calls=${1:-200000}
file=${BIG:-samples/big-$calls.pcap}
if [ ! -f "$file" ]; then
  echo "generating $file ($calls calls)..." >&2
  go run ./samples/gen -calls "$calls" -o "$file"
fi
