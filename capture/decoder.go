package capture

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/sipalive/sipalive/capture/sip"
)

// Decoder turns packets into Messages. It decodes every layer into
// preallocated structs (gopacket's DecodingLayerParser), so a packet on the
// common path costs no allocation. Tunnels (IP-in-IP, GRE and PPTP's
// enhanced GRE with PPP inside, ERSPAN II and III, VXLAN, Geneve, GTP-U
// with its extension headers), MPLS label stacks and PPPoE sessions decode into the
// same structs, so the innermost packet is what is analysed.
// A Decoder is not safe for concurrent use.
type Decoder struct {
	// Emit receives every message. The *Message is reused: copy what you
	// keep, or have the next one built elsewhere (BuildInto).
	Emit func(*Message)

	Stats Stats

	eth          layers.Ethernet
	dot1q        layers.Dot1Q
	sll          layers.LinuxSLL
	sll2         layers.LinuxSLL2
	loop         layers.Loopback
	ip4          layers.IPv4
	ip6          layers.IPv6
	ip6ext       layers.IPv6ExtensionSkipper
	ip6frag      layers.IPv6Fragment
	udp          layers.UDP
	tcp          layers.TCP
	gre          layers.GRE
	vxlan        layers.VXLAN
	erspan       layers.ERSPANII
	geneve       layers.Geneve
	gtp          layers.GTPv1U // GTP-U on UDP 2152: a mobile core's user plane, IMS signalling inside
	ppp          pppFrame      // PPP in enhanced GRE (PPTP)
	mpls         mplsStack
	pppoe        pppoeSession
	parsers      map[gopacket.LayerType]*gopacket.DecodingLayerParser
	last         *gopacket.DecodingLayerParser // the parser of the previous packet
	lastType     gopacket.LayerType
	decoded      []gopacket.LayerType
	input        int
	packet       uint64   // index of the packet being decoded, 1-based per input
	inputPackets []uint64 // packets read so far of each input but the current one
	now          time.Time
	msg          *Message // where the next message is built: own, or the caller's (BuildInto)
	own          Message
	frames       [1]uint64
	cut          bool // the packet being decoded was cut short by the snap length
	defrag       *defragmenter
	streams      *streams // made at the first TCP segment
	lastTick     int64    // Unix nanoseconds of the last tick: compared on every packet
	tunnelPorts  *[1 << 16]bool
	slow         bool // decode every frame layer by layer (tests compare the two ways)
}

// NewDecoder returns a Decoder that sends messages to emit.
func NewDecoder(emit func(*Message)) *Decoder {
	d := &Decoder{Emit: emit, decoded: make([]gopacket.LayerType, 0, 16)}
	d.msg = &d.own
	d.parsers = make(map[gopacket.LayerType]*gopacket.DecodingLayerParser)
	d.defrag = newDefragmenter()
	d.tunnelPorts = tunnelPorts()
	return d
}

// BuildInto has the decoder build the messages it emits in m, from the
// next one on, until it is called again; nil goes back to the decoder's
// own. A pipeline that keeps every message in a batch has each built in
// its slot there, where a copy cost a tenth of the decoding.
func (d *Decoder) BuildInto(m *Message) {
	if m == nil {
		m = &d.own
	}
	d.msg = m
}

// message fills in the message the decoder builds next, field by field: a
// composite literal is built on the stack and copied over in 16-byte
// moves, which stall on its 8-byte stores.
func (d *Decoder) message(k Kind, now time.Time, src, dst netip.AddrPort, t Transport, payload []byte, frames []uint64) *Message {
	m := d.msg
	m.Kind, m.Time, m.Src, m.Dst, m.Transport = k, now, src, dst, t
	m.Payload, m.Frames, m.Input, m.Cut = payload, frames, d.input, false
	return m
}

func (d *Decoder) parser(first gopacket.LayerType) *gopacket.DecodingLayerParser {
	if d.last != nil && d.lastType == first {
		return d.last // a capture's frames nearly always share a link type
	}
	if p, ok := d.parsers[first]; ok {
		d.last, d.lastType = p, first
		return p
	}
	// A sparse array finds each layer's decoder by index: gopacket's
	// default container is a map, looked up once per layer per packet.
	p := gopacket.NewDecodingLayerParser(first)
	p.SetDecodingLayerContainer(gopacket.DecodingLayerSparse(nil))
	for _, l := range d.layers() {
		p.AddDecodingLayer(l)
	}
	p.IgnoreUnsupported = true
	d.parsers[first] = p
	d.last, d.lastType = p, first
	return p
}

// layers are the decoding layers of every parser. The extension skipper
// comes before the fragment header's own decoder, which takes the fragment
// type back from it.
func (d *Decoder) layers() []gopacket.DecodingLayer {
	return []gopacket.DecodingLayer{&d.eth, &d.dot1q, &d.sll, &d.sll2, &d.loop, &d.mpls, &d.pppoe,
		&d.ip4, &d.ip6, &d.ip6ext, &d.ip6frag, &d.udp, &d.tcp, &d.gre, &d.vxlan, &d.geneve, &d.erspan, &d.gtp, &d.ppp}
}

// tunnelPorts marks the UDP ports whose payload gopacket hands to one of
// the decoder's layers (VXLAN, Geneve): a datagram to or from one is
// decoded layer by layer, never by fastIPv4. Every decoder has the same
// layers, so the table is worked out once.
var tunnelPorts = sync.OnceValue(func() *[1 << 16]bool {
	var d Decoder
	var ports [1 << 16]bool
	for p := range ports {
		lt := layers.UDPPort(p).LayerType()
		if lt == gopacket.LayerTypePayload {
			continue
		}
		for _, l := range d.layers() {
			if l.CanDecode().Contains(lt) {
				ports[p] = true
			}
		}
	}
	return &ports
})

// fastIPv4 decodes the commonest frames, Ethernet with IPv4 (no options,
// no fragment) and UDP or TCP, straight from their bytes, as the layered
// decoding would: gopacket's dispatch between layers costs as much as the
// decoding itself. It returns false, having done nothing, for any other
// frame and for any the layered path would read differently (a cut one, a
// tunnel's port, a TCP header gopacket finds invalid); those take that
// path.
func (d *Decoder) fastIPv4(data []byte) bool {
	if len(data) < 14+20+8 || data[12] != 0x08 || data[13] != 0x00 {
		return false
	}
	ip := data[14:]
	total := int(binary.BigEndian.Uint16(ip[2:4]))
	if ip[0] != 0x45 || total < 28 || total > len(ip) || ip[6]&0x3f != 0 || ip[7] != 0 {
		return false // options, a length to check, or a fragment (MF or an offset)
	}
	src, dst := netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20]))
	switch ip[9] {
	case 17:
		u := ip[20:total]
		n := int(binary.BigEndian.Uint16(u[4:6]))
		sport, dport := binary.BigEndian.Uint16(u[0:2]), binary.BigEndian.Uint16(u[2:4])
		if n < 8 || n > len(u) || d.tunnelPorts[sport] || d.tunnelPorts[dport] {
			return false
		}
		d.datagram(netip.AddrPortFrom(src, sport), netip.AddrPortFrom(dst, dport), u[8:n], d.single())
		return true
	case 6:
		t := ip[20:total]
		if len(t) < 20 {
			return false
		}
		off := int(t[12]>>4) * 4
		if off < 20 || off > len(t) {
			return false
		}
		d.Stats.TCPSegments++
		sport, dport := binary.BigEndian.Uint16(t[0:2]), binary.BigEndian.Uint16(t[2:4])
		d.segment(netip.AddrPortFrom(src, sport), netip.AddrPortFrom(dst, dport),
			binary.BigEndian.Uint32(t[4:8]), t[13]&(tcpFIN|tcpSYN|tcpRST), t[off:])
		return true
	}
	return false
}

// firstLayer maps a pcap link type to the layer its frames start with.
func firstLayer(link layers.LinkType, data []byte) (gopacket.LayerType, bool) {
	switch link {
	case layers.LinkTypeEthernet:
		return layers.LayerTypeEthernet, true
	case layers.LinkTypeLinuxSLL:
		return layers.LayerTypeLinuxSLL, true
	case layers.LinkTypeLinuxSLL2:
		return layers.LayerTypeLinuxSLL2, true
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		return layers.LayerTypeLoopback, true
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6, 12, 14:
		if len(data) == 0 {
			return 0, false
		}
		switch data[0] >> 4 {
		case 4:
			return layers.LayerTypeIPv4, true
		case 6:
			return layers.LayerTypeIPv6, true
		}
		return 0, false
	}
	return 0, false
}

// SetInput says which input the following packets come from. Packet
// indices count per input from 1, so that inputs may interleave (a merge
// of several files) and each packet still names its place in its file.
func (d *Decoder) SetInput(i int) {
	if i == d.input {
		return
	}
	for len(d.inputPackets) <= max(i, d.input) {
		d.inputPackets = append(d.inputPackets, 0)
	}
	d.inputPackets[d.input] = d.packet
	d.input = i
	d.packet = d.inputPackets[i]
}

// Packet decodes one captured frame.
func (d *Decoder) Packet(data []byte, ci *gopacket.CaptureInfo, link layers.LinkType) {
	d.Stats.Packets++
	d.packet++
	d.now = ci.Timestamp
	d.cut = ci.CaptureLength < ci.Length
	if d.cut {
		d.Stats.SnapCut++
		d.Stats.SnapLength = max(d.Stats.SnapLength, ci.CaptureLength)
	}
	if ns := d.now.UnixNano(); ns-d.lastTick > int64(time.Second) || ns < d.lastTick {
		d.tick(ns)
	}
	if link == layers.LinkTypeEthernet && !d.cut && !d.slow && d.fastIPv4(data) {
		return
	}
	first, ok := firstLayer(link, data)
	if !ok {
		if _, known := linkNames[link]; known && len(data) == 0 {
			d.Stats.Undecodable++
		} else if known {
			d.Stats.NonIP++ // a raw-IP link carrying something else (ARP on "any")
		} else {
			d.Stats.UnsupportedLink++
			d.countLink(link)
		}
		return
	}
	d.decode(first, data, d.single(), 0, 0)
}

// decode decodes a frame from its first layer and dispatches the innermost
// IP packet. frames are the packets that carried data; ipv is the IP
// version around data when it starts past the IP header (a reassembled
// datagram). depth bounds the passes that nested tunnels and reassembled
// tunnel packets take.
func (d *Decoder) decode(first gopacket.LayerType, data []byte, frames []uint64, ipv, depth int) {
	err := d.parser(first).DecodeLayers(data, &d.decoded)
	var transport, last gopacket.LayerType
	frag4, frag6 := false, false
	for _, lt := range d.decoded {
		switch lt {
		case layers.LayerTypeIPv4:
			// gopacket stops at a fragment, so the last IPv4 decoded is
			// this one when it is a fragment
			ipv, transport, frag6 = 4, 0, false
			frag4 = d.ip4.Flags&layers.IPv4MoreFragments != 0 || d.ip4.FragOffset != 0
		case layers.LayerTypeIPv6:
			ipv, transport, frag4, frag6 = 6, 0, false, false
		case layers.LayerTypeIPv6Fragment:
			frag6 = true
		case layers.LayerTypeUDP, layers.LayerTypeTCP:
			transport = lt
		}
		last = lt
	}
	if last == layers.LayerTypeGRE && d.gre.Protocol == erspan3 && depth < maxDecodeDepth {
		if inner, ok := erspan3Payload(d.gre.Payload); ok {
			d.decode(layers.LayerTypeEthernet, inner, frames, 0, depth+1)
			return
		}
	}
	switch {
	case err == nil && last == layers.LayerTypeGTPv1U:
		// GTP-U that is no user data (echo, error indication) or holds
		// no IP: a UDP datagram the tool cannot open
		d.Stats.UDPOther++
		d.Stats.TunnelsUnopened++
	case frag4:
		d.fragment4(depth)
	case frag6:
		d.fragment6(depth)
	case transport == layers.LayerTypeUDP && err == nil:
		d.datagram(d.srcAddr(ipv, d.udp.SrcPort), d.dstAddr(ipv, d.udp.DstPort), d.udp.Payload, frames)
	case transport == layers.LayerTypeTCP && err == nil:
		d.Stats.TCPSegments++
		t := &d.tcp
		var flags uint8
		if t.FIN {
			flags |= tcpFIN
		}
		if t.SYN {
			flags |= tcpSYN
		}
		if t.RST {
			flags |= tcpRST
		}
		src := netip.AddrPortFrom(ipAddr(ipv, d.ip4.SrcIP, d.ip6.SrcIP).Unmap(), uint16(t.SrcPort))
		dst := netip.AddrPortFrom(ipAddr(ipv, d.ip4.DstIP, d.ip6.DstIP).Unmap(), uint16(t.DstPort))
		d.segment(src, dst, t.Seq, flags, t.Payload)
	case ipv == 4 && d.ip4.Protocol == sctpProto:
		d.sctp(4, d.ip4.Payload, frames)
	case ipv == 6 && d.ip6.NextHeader == sctpProto:
		d.sctp(6, d.ip6.Payload, frames)
	case err != nil:
		d.Stats.Undecodable++
	case ipv != 0:
		d.Stats.OtherIP++
		switch {
		case last == layers.LayerTypeGRE || last == layers.LayerTypePPP:
			d.Stats.TunnelsUnopened++ // a GRE protocol not opened, or PPP control
		case (ipv == 4 && d.ip4.Protocol == layers.IPProtocolESP) || (ipv == 6 && d.ip6.NextHeader == layers.IPProtocolESP):
			d.Stats.ESP++
		}
	default:
		d.Stats.NonIP++
	}
}

// maxDecodeDepth bounds the extra decoding passes of one packet (a tunnel
// in a reassembled tunnel packet in an ERSPAN III session...).
const maxDecodeDepth = 4

var linkNames = map[layers.LinkType]string{
	layers.LinkTypeEthernet: "EN10MB", layers.LinkTypeLinuxSLL: "LINUX_SLL",
	layers.LinkTypeLinuxSLL2: "LINUX_SLL2", layers.LinkTypeNull: "NULL",
	layers.LinkTypeLoop: "LOOP", layers.LinkTypeRaw: "RAW",
	layers.LinkTypeIPv4: "IPV4", layers.LinkTypeIPv6: "IPV6",
}

func (d *Decoder) countLink(link layers.LinkType) {
	if d.Stats.LinkTypes == nil {
		d.Stats.LinkTypes = map[string]uint64{}
	}
	name := link.String()
	if strings.HasPrefix(name, "Unknown") {
		name = fmt.Sprintf("link type %d", uint16(link))
	} else {
		name = fmt.Sprintf("%s (%d)", name, uint16(link))
	}
	d.Stats.LinkTypes[name]++
}

func (d *Decoder) single() []uint64 {
	d.frames[0] = d.packet
	return d.frames[:1]
}

func (d *Decoder) srcAddr(ipv int, port layers.UDPPort) netip.AddrPort {
	return netip.AddrPortFrom(ipAddr(ipv, d.ip4.SrcIP, d.ip6.SrcIP), uint16(port))
}

func (d *Decoder) dstAddr(ipv int, port layers.UDPPort) netip.AddrPort {
	return netip.AddrPortFrom(ipAddr(ipv, d.ip4.DstIP, d.ip6.DstIP), uint16(port))
}

func ipAddr(ipv int, v4, v6 []byte) netip.Addr {
	if ipv == 4 {
		if len(v4) == 4 {
			return netip.AddrFrom4([4]byte(v4))
		}
		return netip.Addr{}
	}
	if len(v6) == 16 {
		return netip.AddrFrom16([16]byte(v6))
	}
	return netip.Addr{}
}

// datagram classifies one whole UDP payload (after defragmentation).
func (d *Decoder) datagram(src, dst netip.AddrPort, payload []byte, frames []uint64) {
	m := d.message(0, d.now, src, dst, UDP, payload, frames)
	sipPayload := trimLeadingCRLF(payload)
	switch {
	case isNATKeepAlive(payload):
		d.Stats.UDPKeepAlive++
		m.Kind = NATKeepAlive
	case sip.IsStart(sipPayload):
		d.Stats.UDPSIP++
		m.Kind, m.Payload = SIP, sipPayload
	default:
		h, ok := parseHEP(payload)
		if inner := trimLeadingCRLF(h.payload); ok && sip.IsStart(inner) {
			// SIP carried by a HEP agent: analysed with the original
			// addresses and time.
			d.Stats.HEP++
			m.Kind, m.Src, m.Dst, m.Payload, m.Transport = SIP, h.src, h.dst, inner, h.transport()
			if !h.time.IsZero() {
				m.Time = h.time
			}
			break
		}
		d.Stats.UDPOther++
		if src.Port() == gtpControlPort || dst.Port() == gtpControlPort {
			d.Stats.GTPControl++
		}
		return
	}
	if d.cut && m.Kind == SIP {
		// The last line was cut mid-way: a half Call-ID or tag would make
		// up a call that never existed, so only whole lines are kept.
		m.Cut = true
		m.Payload = m.Payload[:bytes.LastIndexByte(m.Payload, '\n')+1]
	}
	d.Emit(m)
}

// isNATKeepAlive recognises the datagrams endpoints send to keep a NAT
// binding open: the RFC 5626 CRLF ping or pong, and the few blank or zero
// bytes some phones send.
func isNATKeepAlive(p []byte) bool {
	if len(p) > 4 {
		return false
	}
	for _, c := range p {
		switch c {
		case '\r', '\n', ' ', '\t', 0:
		default:
			return false
		}
	}
	return true
}

func trimLeadingCRLF(b []byte) []byte {
	for len(b) > 0 && (b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	return b
}

// tick runs housekeeping on capture time: fragments and TCP data held too
// long are released so that memory stays bounded.
func (d *Decoder) tick(ns int64) {
	d.lastTick = ns
	if d.defrag.pending() > 0 {
		d.defrag.expire(d, d.now)
	}
	if d.streams != nil && d.streams.count > 0 {
		d.streams.expire(d.now)
	}
}

// Flush ends the input: TCP data still buffered is framed, incomplete
// fragment lists are counted as pending.
func (d *Decoder) Flush() {
	if d.streams != nil {
		d.streams.flushAll()
	}
	d.Stats.FragmentsPending += uint64(d.defrag.pending())
	d.defrag.reset()
}

// gtpControlPort is GTP-C's UDP port (3GPP TS 29.274): a mobile core's
// control plane, which carries no SIP.
const gtpControlPort = 2123
