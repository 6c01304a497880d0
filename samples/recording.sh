# Sourced by samples/kamailio/record.sh and samples/baresip/record.sh: a
# network namespace of their own ($ns, its loopback up; nsx runs a command
# in it), a work directory ($work), and on exit the end of every process
# whose PID is in $pids, then of both (KEEP_LOGS=1 keeps the work
# directory and says where). Start background processes straight under
# `ip netns exec $ns`, not through nsx: a shell function runs in a
# subshell, whose PID is not theirs to end.
#
#   . samples/recording.sh NAME
ns=sipalive-$1$$
work=$(mktemp -d)
pids=()
keep=${KEEP_LOGS:-}
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  ip netns del $ns 2>/dev/null || true
  [ -n "${keep:-}" ] && echo "logs in $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT
ip netns add $ns
nsx() { ip netns exec $ns "$@"; }
nsx ip link set lo up
