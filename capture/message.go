// Package capture turns packets into SIP messages: it reads capture files
// (and, in sniff mode, live interfaces), decodes link, IP, UDP and TCP
// layers with gopacket, reassembles IP fragments and TCP streams, and frames
// SIP messages out of the payloads. It accounts for every packet it reads.
package capture

import (
	"net/netip"
	"time"
)

// Transport is the transport a SIP message travelled on.
type Transport uint8

// Transports.
const (
	UDP Transport = iota + 1
	TCP
	WS   // SIP over WebSocket (RFC 7118), clear text
	SCTP // SIP over SCTP (RFC 4168)
)

func (t Transport) String() string {
	switch t {
	case UDP:
		return "UDP"
	case TCP:
		return "TCP"
	case WS:
		return "WS"
	case SCTP:
		return "SCTP"
	}
	return "?"
}

// Kind says what a Message carries.
type Kind uint8

// Message kinds.
const (
	SIP          Kind = iota + 1 // a SIP request or response (possibly malformed)
	NATKeepAlive                 // RFC 5626 CRLF ping/pong, or a tiny blank UDP packet
	// WSPing and WSPong are WebSocket control frames (RFC 6455 section
	// 5.5.2, 5.5.3): SIP over WebSocket keeps its connection, and the NAT
	// binding under it, alive with them (RFC 7118 section 6) where
	// Kamailio's websocket module sends them, for one.
	WSPing
	WSPong
)

// Message is one SIP message, or one NAT keep-alive, found in the capture.
// It is reused for every message: Payload and Frames alias buffers that the
// next message overwrites, so a consumer copies what it keeps.
//
// The small fields come last, together: the analysis' pipeline holds a
// message per packet in flight, and each byte field alone would be
// padded to eight.
type Message struct {
	Time     time.Time
	Src, Dst netip.AddrPort
	Payload  []byte
	// Frames are the 1-based indices, in the input, of the packets that
	// carried the message (several for IP fragments or TCP segments).
	Frames []uint64
	// Input is the index of the capture file the message came from.
	Input     int
	Kind      Kind
	Transport Transport
	// Cut says the packet was cut short by the capture's snap length: the
	// message ends at its last whole line, and what followed is missing.
	Cut bool
}
