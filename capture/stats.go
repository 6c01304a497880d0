package capture

import "reflect"

// Stats accounts for every packet read. Each packet lands in exactly one of
// the packet counters, so they add up to Packets (see Accounted).
type Stats struct {
	Packets uint64 `json:"packets"` // packets read

	// Packet counters: one per packet.
	UDPSIP          uint64 `json:"udp_sip"`             // UDP datagrams holding a SIP message
	UDPKeepAlive    uint64 `json:"udp_keepalive"`       // UDP datagrams holding a NAT keep-alive (CRLF, blank, zero bytes)
	UDPOther        uint64 `json:"udp_other"`           // UDP datagrams holding something else
	HEP             uint64 `json:"hep"`                 // UDP datagrams holding SIP inside HEP, version 1, 2 or 3 (heplify, Homer, siptrace)
	TCPSegments     uint64 `json:"tcp_segments"`        // TCP segments (their bytes go through stream reassembly)
	SCTPPackets     uint64 `json:"sctp_packets"`        // SCTP packets (their DATA chunks may hold SIP)
	Fragments       uint64 `json:"fragments"`           // IP fragments held for reassembly (the last one counts as its datagram)
	OtherIP         uint64 `json:"other_ip"`            // IP packets of other protocols (ICMP, ESP, ...)
	NonIP           uint64 `json:"non_ip"`              // frames without IP (ARP, LLDP, ...)
	Undecodable     uint64 `json:"undecodable"`         // frames too short or corrupt to decode
	UnsupportedLink uint64 `json:"unsupported_link"`    // frames of a link type the decoder does not know
	Duplicates      uint64 `json:"loopback_duplicates"` // second copies loopback delivers (live capture), dropped

	// Further detail, not part of the packet sum.
	FragmentsReassembled uint64            `json:"fragments_reassembled"` // datagrams rebuilt from fragments
	FragmentsPending     uint64            `json:"fragments_pending"`     // fragment lists still incomplete at the end or timed out
	TCPStreams           uint64            `json:"tcp_streams"`           // TCP connections that carried data
	TCPMessages          uint64            `json:"tcp_messages"`          // SIP messages framed out of TCP and WebSocket streams
	SCTPMessages         uint64            `json:"sctp_messages"`         // SIP messages in SCTP DATA chunks
	TCPKeepAlives        uint64            `json:"tcp_keepalives"`        // keep-alives on streams: CRLF, WebSocket ping and pong
	TCPBytesSkipped      uint64            `json:"tcp_bytes_skipped"`     // stream bytes that were not SIP (WebSocket handshakes, garbage, resynchronisation)
	TCPIncompleteSIP     uint64            `json:"tcp_sip_incomplete"`    // SIP messages over TCP cut off by missing bytes or the end of the capture
	TCPBytesMissing      uint64            `json:"tcp_bytes_missing"`     // stream bytes never captured (sequence gaps)
	TCPStreamsEvicted    uint64            `json:"tcp_streams_evicted"`   // TCP connections dropped to keep the table within its cap (65,536)
	TLSStreams           uint64            `json:"tls_streams"`           // TCP streams carrying TLS: cannot be read
	ESP                  uint64            `json:"esp"`                   // IPsec ESP packets (counted in other_ip): encrypted, cannot be read
	GTPControl           uint64            `json:"gtp_control"`           // GTP-C datagrams (UDP 2123, counted in udp_other): a mobile core's control plane
	TunnelsUnopened      uint64            `json:"tunnels_unopened"`      // GRE of a protocol not opened, PPP control, GTP-U without IP inside
	KernelDrops          uint64            `json:"kernel_drops"`          // live capture: packets the kernel dropped for the socket
	InterfaceDrops       uint64            `json:"interface_drops"`       // live capture: the interface's own drops during the run
	WSStreams            uint64            `json:"ws_streams"`            // TCP streams upgraded to WebSocket
	HEPStreams           uint64            `json:"hep_streams"`           // TCP streams carrying HEP3 (a capture agent to its collector)
	TCPHEPMessages       uint64            `json:"tcp_hep_messages"`      // SIP messages in HEP3 packets on TCP streams
	SnapCut              uint64            `json:"snap_cut"`              // packets cut short by the capture's snap length
	SnapLength           int               `json:"snap_length,omitempty"` // the longest such cut packet: the snap length in effect
	Truncated            bool              `json:"truncated"`             // the input ended in the middle of a packet record
	LinkTypes            map[string]uint64 `json:"unsupported_link_types,omitempty"`
}

// Accounted is the sum of the packet counters; it equals Packets.
func (s *Stats) Accounted() uint64 {
	return s.UDPSIP + s.UDPKeepAlive + s.UDPOther + s.HEP + s.TCPSegments + s.SCTPPackets + s.Fragments +
		s.OtherIP + s.NonIP + s.Undecodable + s.UnsupportedLink + s.Duplicates
}

// Add adds the counts of o (a report of another capture, merged): every
// counter adds, a snap length is the larger, truncated if either was.
func (s *Stats) Add(o *Stats) {
	sv, ov := reflect.ValueOf(s).Elem(), reflect.ValueOf(o).Elem()
	for i := range sv.NumField() {
		f, g := sv.Field(i), ov.Field(i)
		switch f.Kind() {
		case reflect.Uint64:
			f.SetUint(f.Uint() + g.Uint())
		case reflect.Bool:
			f.SetBool(f.Bool() || g.Bool())
		case reflect.Int:
			f.SetInt(max(f.Int(), g.Int()))
		}
	}
	for k, n := range o.LinkTypes {
		if s.LinkTypes == nil {
			s.LinkTypes = map[string]uint64{}
		}
		s.LinkTypes[k] += n
	}
}
