#!/usr/bin/env bash
# Records real Kamailio dialog keep-alives: sipp calls sipp through a
# Kamailio proxy whose dialog module pings both parties with in-dialog
# OPTIONS every 30 s (kamailio.cfg); the call lasts 65 s, so each party is
# pinged twice, answers 200 (sipp -aa), and the caller hangs up.
#
#   caller 127.0.0.2:5060 (sipp, uac.xml) -> proxy 127.0.0.1:5060 (kamailio)
#   -> callee 127.0.0.3:5060 (sipp -sn uas)
#
# Everything runs on the loopback of a network namespace this script creates
# and removes, so nothing else on the machine is reached or in the way.
#
# usage: sudo samples/kamailio/record.sh [OUT.pcap] [udp|tcp|timeout|register|register-auth|t38|ws|hep1|hep2|hep3|hep3tcp]
#        (default capture/testdata/kamailio/dialog-keepalive.pcap over UDP;
#        tcp carries both legs over TCP, Kamailio connecting to the callee
#        from a port of its own; timeout pings nobody and has Kamailio hang
#        up after its 60 s dialog timeout; register has a phone register
#        with Kamailio as registrar and refresh late, see uac-register.xml;
#        register-auth has it register with a registrar that asks for
#        digest credentials, answer the challenge with a wrong password
#        twice (challenged again each time), then with the right one,
#        see uac-register-auth.xml; t38 has the caller offer T.38 fax
#        in a re-INVITE, which the callee refuses 488, and fall back to
#        audio (uac-t38.xml, uas-t38.xml);
#        ws has the project's sender call over a WebSocket, RFC 7118, and
#        keep the call alive with SDP-less UPDATEs every 25 s, while
#        Kamailio pings it with OPTIONS in the dialog and with WebSocket
#        ping frames on the idle connection; hepN is the udp call as a
#        Homer collector sees it: only the copies Kamailio's siptrace
#        module sends to 127.0.0.1:9060 in HEP version N are recorded;
#        hep3tcp sends them over TCP, to a sink the project's sender runs;
#        with COLLECT=path/to/sipalive and COLLECT_OUT=report.json, hep3 and
#        hep3tcp have sipalive collect receive them instead, and its JSON
#        report lands in COLLECT_OUT)
# Needs root, iproute2, tcpdump, kamailio and sipp (Debian: kamailio,
# sip-tester); ws also go and kamailio-websocket-modules. Every process it
# starts is ended by PID.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
out=${1:-capture/testdata/kamailio/dialog-keepalive.pcap}
transport=${2:-udp}
define=() sippt=(-t u1) scenario=uac.xml
case $transport in
udp) ;;
tcp) define=(-A WITH_TCP) sippt=(-t t1) ;;
timeout) define=(-A WITH_TIMEOUT) scenario=uac-timeout.xml ;;
register) define=(-A WITH_REGISTRAR) scenario=uac-register.xml ;;
register-auth) define=(-A WITH_REGISTRAR -A WITH_AUTH) scenario=uac-register-auth.xml ;;
t38) scenario=uac-t38.xml ;;
ws) define=(-A WITH_WS) ;;
hep[123]) define=(-A WITH_HEP -A HEP_V${transport#hep}) ;;
hep3tcp) define=(-A WITH_HEP -A HEP_V3 -A HEP_TCP) ;;
*) echo "record.sh: udp, tcp, timeout, register, register-auth, t38, ws, hep1, hep2, hep3 or hep3tcp, not $transport" >&2; exit 2 ;;
esac
filter="port 5060 or port 8080"
case $transport in hep*) filter="port 9060" ;; esac
mkdir -p "$(dirname "$out")"
[ "$(id -u)" = 0 ] || { echo "record.sh: needs root (network namespace, tcpdump)" >&2; exit 2; }
for c in ip tcpdump kamailio sipp; do command -v $c >/dev/null || { echo "record.sh: needs $c" >&2; exit 2; }; done
case $transport in ws | hep3tcp)
  command -v go >/dev/null || { echo "record.sh: $transport needs go (to build samples/sender)" >&2; exit 2; } ;;
esac
if [ "$transport" = ws ]; then
  ls /usr/lib/*/kamailio/modules/websocket.so >/dev/null 2>&1 || { echo "record.sh: ws needs Kamailio's websocket module (Debian: kamailio-websocket-modules)" >&2; exit 2; }
fi

. samples/recording.sh kam

case $transport in ws | hep3tcp) # the project's sender calls over a WebSocket, or is the collector
  go build -o "$work/sender" ./samples/sender ;;
esac
ip netns exec $ns tcpdump -i lo -n -s 0 -U -w "$work/cap.pcap" $filter 2>"$work/tcpdump.log" &
pids+=($!)
collector=
if [ -n "${COLLECT:-}" ] && [ "${transport#hep3}" != "$transport" ]; then
  # sipalive collect is the HEP collector: its report of what it received
  # is compared with the analysis of the capture of the same packets
  ip netns exec $ns "$COLLECT" collect -q --format json --duration 200s 127.0.0.1:9060 >"$work/collect.json" 2>"$work/collect.log" &
  collector=$!
  pids+=($collector)
elif [ "$transport" = hep3tcp ]; then
  ip netns exec $ns "$work/sender" sink -listen 127.0.0.1:9060 -timeout 150s >"$work/sink.log" 2>&1 &
  pids+=($!)
fi
if [ "$transport" = register-auth ]; then
  # the subscriber table auth_db reads, in db_text's format
  mkdir -p "$work/db"
  printf 'table_name(string) table_version(int)\nsubscriber:7\n' >"$work/db/version"
  printf 'id(int,auto) username(string) domain(string) password(string) ha1(string,null) ha1b(string,null)\n1:alice:127.0.0.1:secret:NULL:NULL\n' >"$work/db/subscriber"
  define+=(-A "DBURL=\"text://$work/db\"")
fi
ip netns exec $ns kamailio -DD -E "${define[@]}" -f "$here/kamailio.cfg" -P "$work/kamailio.pid" -Y "$work" 2>"$work/kamailio.log" &
pids+=($!)
uas=
if [ "${transport#register}" = "$transport" ]; then # a registration calls nobody
  callee=(-sn uas)
  [ "$transport" = t38 ] && callee=(-sf "$here/uas-t38.xml")
  ip netns exec $ns sipp "${callee[@]}" -aa "${sippt[@]}" -i 127.0.0.3 -p 5060 -m 1 -nostdin -timeout 120s >"$work/uas.log" 2>&1 &
  uas=$!
  pids+=($uas)
fi
sleep 2 # tcpdump, kamailio and the callee listening
caller=(sipp -sf "$here/$scenario" -aa "${sippt[@]}" -i 127.0.0.2 -p 5060 -m 1 -nostdin -timeout 120s 127.0.0.1:5060)
if [ "$transport" = ws ]; then
  caller=("$work/sender" uac -ws ws://127.0.0.1:8080 -from 127.0.0.2:5070 -to 127.0.0.3:5060 -keepalive UPDATE -count 3 -interval 25s -wait 5s)
fi
# timeout bounds the call (the longest lasts 75 s): sipp's own -timeout
# does not end one stuck waiting
if ! nsx timeout 200 "${caller[@]}" >"$work/uac.log" 2>&1; then
  echo "record.sh: the call failed" >&2
  tail -n 20 "$work/uac.log" "$work/kamailio.log" >&2
  exit 1
fi
if [ -n "$uas" ]; then
  # sipp ends once it has answered the BYE; its -timeout does not end a
  # callee still waiting for a call, so the wait is bounded here
  for _ in $(seq 60); do kill -0 "$uas" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$uas" 2>/dev/null; then
    echo "record.sh: the callee never saw the call end" >&2
    tail -n 20 "$work/uas.log" "$work/kamailio.log" >&2
    exit 1
  fi
  wait "$uas" || true
fi
sleep 1 # the last packets reach the file
kill "${pids[0]}"
wait "${pids[0]}" 2>/dev/null || true
if [ -n "$collector" ]; then
  kill -TERM "$collector" # ends its run: it prints the report
  wait "$collector" 2>/dev/null || true
  cp "$work/collect.json" "$COLLECT_OUT"
fi
cp "$work/cap.pcap" "$out"
echo "record.sh: wrote $out"
