package analyze

import (
	"net/netip"
	"time"

	"github.com/sipalive/sipalive/capture"
)

// natTable counts the non-SIP keep-alives (CRLF pings and pongs, blank
// packets, WebSocket ping and pong frames) per source, destination and
// transport, in the order the pairs first appeared.
type natTable struct {
	m     map[natKey]*NATKeepAlive
	order []*NATKeepAlive
}

// NATKeepAlive counts the non-SIP keep-alives one endpoint sends another
// to hold a NAT binding open.
type NATKeepAlive struct {
	Src, Dst  netip.AddrPort
	Transport capture.Transport
	Kind      NATKind
	Count     int
	First     time.Time
	Last      time.Time
}

type natKey struct {
	src, dst netip.AddrPort
	t        capture.Transport
}

// add counts the keep-alive e.
func (n *natTable) add(e *Event) {
	k := natKey{e.Src, e.Dst, e.Transport}
	ka, ok := n.m[k]
	if !ok {
		ka = &NATKeepAlive{Src: e.Src, Dst: e.Dst, Transport: e.Transport, First: e.Time, Kind: e.NAT}
		n.m[k] = ka
		n.order = append(n.order, ka)
	}
	ka.Count++
	ka.Last = e.Time
}

func natKind(p []byte) NATKind {
	switch string(p) {
	case "\r\n\r\n":
		return NATCRLFPing
	case "\r\n":
		return NATCRLFPong
	case "":
		return NATEmpty
	}
	for _, c := range p {
		if c != 0 {
			return NATBlank
		}
	}
	return NATZeroBytes
}

func (n *natTable) reports(r *Report) {
	for _, n := range n.order {
		nr := NATReport{From: n.Src.String(), To: n.Dst.String(), Transport: n.Transport.String(), Kind: n.Kind, Count: n.Count}
		if n.Count > 1 {
			nr.IntervalAvg = round3(n.Last.Sub(n.First).Seconds() / float64(n.Count-1))
		}
		r.NAT = append(r.NAT, nr)
	}
}
