// Package synth writes synthetic SIP captures: real Ethernet/IP/UDP/TCP
// frames serialised with gopacket into pcap files, with timestamps that
// advance. The sample generator and the tests build their captures with it.
package synth

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Link chooses how frames are wrapped.
type Link int

// Link layers the writer can produce.
const (
	Ethernet       Link = iota
	EthernetVLAN        // one 802.1Q tag
	EthernetQinQ        // 802.1ad outer tag and 802.1Q inner tag
	LinuxSLL            // Linux cooked v1
	LinuxSLL2           // Linux cooked v2 (tcpdump -i any)
	RawIP               // no link header
	Loopback            // BSD null/loopback
	EthernetMPLS        // two MPLS labels, then IP (a provider's core link)
	EthernetMPLSPW      // an MPLS label and a pseudowire control word, then Ethernet
	EthernetPPPoE       // a PPPoE session (a DSL router's WAN side)
)

// Tunnel wraps every packet in an outer IPv4 packet, as mirrored and cloud
// traffic arrives.
type Tunnel int

// Tunnels the writer can produce.
const (
	NoTunnel Tunnel = iota
	IPIP            // IP-in-IP (protocol 4 or 41)
	GRE             // GRE carrying IP
	ERSPAN2         // GRE + ERSPAN type II + Ethernet
	ERSPAN3         // GRE + ERSPAN type III + Ethernet
	VXLAN           // UDP 4789 + VXLAN + Ethernet
	Geneve          // UDP 6081 + Geneve with an option + Ethernet
)

// Options shape the capture.
type Options struct {
	Link   Link
	Tunnel Tunnel
	// TunnelIPv6 carries the tunnel over IPv6 instead of IPv4 (IP-in-IP,
	// GRE and VXLAN).
	TunnelIPv6 bool
	// IPv6Extensions puts a hop-by-hop and a destination options header
	// between an unfragmented IPv6 header and UDP or TCP.
	IPv6Extensions bool
	// TunnelMTU fragments a tunnel's outer packets above this many bytes
	// (0: never).
	TunnelMTU int
	// MTU above which UDP datagrams are sent as IP fragments (0: never).
	MTU int
	// MSS cuts TCP payloads into segments of at most this many bytes (0: one segment per message).
	MSS int
	// Start is the time of the first packet.
	Start time.Time
}

// Writer writes frames to a pcap file.
type Writer struct {
	pw    *pcapgo.Writer
	opts  Options
	Now   time.Time
	ipID  uint16
	conns map[[2]netip.AddrPort]*tcpConn
	buf   gopacket.SerializeBuffer
	// Packets counts the frames written.
	Packets int
}

type tcpConn struct {
	seq [2]uint32 // next sequence number from each side (0: client, 1: server)
}

// NewWriter starts a pcap on w.
func NewWriter(w io.Writer, opts Options) (*Writer, error) {
	pw := pcapgo.NewWriterNanos(w)
	link := layers.LinkTypeEthernet
	switch opts.Link {
	case LinuxSLL:
		link = layers.LinkTypeLinuxSLL
	case LinuxSLL2:
		link = layers.LinkTypeLinuxSLL2
	case RawIP:
		link = layers.LinkTypeRaw
	case Loopback:
		link = layers.LinkTypeNull
	}
	if err := pw.WriteFileHeader(262144, link); err != nil {
		return nil, err
	}
	if opts.Start.IsZero() {
		opts.Start = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	}
	return &Writer{pw: pw, opts: opts, Now: opts.Start, conns: map[[2]netip.AddrPort]*tcpConn{}, buf: gopacket.NewSerializeBuffer()}, nil
}

// Advance moves the clock forward.
func (w *Writer) Advance(d time.Duration) { w.Now = w.Now.Add(d) }

var (
	macA = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0a}
	macB = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0b}
)

// network builds the IP layer for src → dst.
func (w *Writer) network(src, dst netip.Addr, proto layers.IPProtocol) (gopacket.SerializableLayer, gopacket.NetworkLayer) {
	if src.Is4() {
		w.ipID++
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: w.ipID, Protocol: proto,
			SrcIP: src.AsSlice(), DstIP: dst.AsSlice(), Flags: layers.IPv4DontFragment}
		return ip, ip
	}
	ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
	return ip, ip
}

var serialize = gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}

// frame serialises the IP packet made of ls, wraps it in the tunnel and
// the link layer, and writes it.
func (w *Writer) frame(ipv6 bool, ls ...gopacket.SerializableLayer) error {
	if ip, ok := ls[0].(*layers.IPv6); ok && w.opts.IPv6Extensions && ip.NextHeader != layers.IPProtocolIPv6Fragment {
		// hop-by-hop, then destination options, each padded to 8 bytes with PadN
		ext := rawHeader{byte(layers.IPProtocolIPv6Destination), 0, 1, 4, 0, 0, 0, 0,
			byte(ip.NextHeader), 0, 1, 4, 0, 0, 0, 0}
		ip.NextHeader = layers.IPProtocolIPv6HopByHop
		ls = append([]gopacket.SerializableLayer{ip, ext}, ls[1:]...)
	}
	pkt := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(pkt, serialize, ls...); err != nil {
		return err
	}
	inner := pkt.Bytes()
	if w.opts.Tunnel != NoTunnel {
		outer, err := w.tunnel(inner, ipv6)
		if err != nil {
			return err
		}
		for _, f := range w.fragmentOuter(outer) {
			if err := w.link(w.opts.TunnelIPv6, f); err != nil {
				return err
			}
		}
		return nil
	}
	return w.link(ipv6, inner)
}

// fragmentOuter cuts a tunnel's outer packet into fragments of at most
// TunnelMTU bytes, as the underlay of a mirror session does when the
// mirrored frame plus the encapsulation exceed its MTU.
func (w *Writer) fragmentOuter(pkt []byte) [][]byte {
	mtu := w.opts.TunnelMTU
	if mtu == 0 || len(pkt) <= mtu {
		return [][]byte{pkt}
	}
	var out [][]byte
	w.ipID++
	if !w.opts.TunnelIPv6 {
		hdr, payload := pkt[:20], pkt[20:]
		chunk := (mtu - 20) &^ 7
		for off := 0; off < len(payload); off += chunk {
			end := min(off+chunk, len(payload))
			f := append(append([]byte{}, hdr...), payload[off:end]...)
			binary.BigEndian.PutUint16(f[2:], uint16(len(f)))
			binary.BigEndian.PutUint16(f[4:], w.ipID)
			fo := uint16(off / 8)
			if end < len(payload) {
				fo |= 0x2000 // more fragments
			}
			binary.BigEndian.PutUint16(f[6:], fo)
			f[10], f[11] = 0, 0
			binary.BigEndian.PutUint16(f[10:], ipv4Checksum(f[:20]))
			out = append(out, f)
		}
		return out
	}
	hdr, payload := pkt[:40], pkt[40:]
	next := hdr[6]
	chunk := (mtu - 48) &^ 7
	for off := 0; off < len(payload); off += chunk {
		end := min(off+chunk, len(payload))
		f := append([]byte{}, hdr...)
		f[6] = byte(layers.IPProtocolIPv6Fragment)
		fo := uint16(off/8) << 3
		if end < len(payload) {
			fo |= 1
		}
		f = append(f, next, 0, byte(fo>>8), byte(fo), 0, 0, byte(w.ipID>>8), byte(w.ipID))
		f = append(f, payload[off:end]...)
		binary.BigEndian.PutUint16(f[4:], uint16(len(f)-40))
		out = append(out, f)
	}
	return out
}

// ipv4Checksum is the header checksum of an IPv4 header whose checksum
// field is zero.
func ipv4Checksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(h[i])<<8 | uint32(h[i+1])
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// link wraps an IP packet in the configured link layer and writes it.
func (w *Writer) link(ipv6 bool, inner []byte) error {
	etherType := layers.EthernetTypeIPv4
	if ipv6 {
		etherType = layers.EthernetTypeIPv6
	}
	var hdr []gopacket.SerializableLayer
	switch w.opts.Link {
	case Ethernet:
		hdr = append(hdr, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: etherType})
	case EthernetVLAN:
		hdr = append(hdr, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeDot1Q},
			&layers.Dot1Q{VLANIdentifier: 100, Type: etherType})
	case EthernetQinQ:
		hdr = append(hdr, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeQinQ},
			&layers.Dot1Q{VLANIdentifier: 200, Type: layers.EthernetTypeDot1Q},
			&layers.Dot1Q{VLANIdentifier: 100, Type: etherType})
	case EthernetMPLS:
		hdr = append(hdr, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeMPLSUnicast},
			rawHeader{0x00, 0x3e, 0x80, 0x40, 0x00, 0x01, 0x01, 0x40}) // labels 1000 and 16 (bottom)
	case EthernetMPLSPW:
		pw := []byte{0x00, 0x3e, 0x81, 0x40, 0, 0, 0, 0} // label 1000 (bottom), control word
		pw = append(append(append(pw, macB...), macA...), byte(etherType>>8), byte(etherType))
		hdr = append(hdr, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeMPLSUnicast},
			rawHeader(pw))
	case EthernetPPPoE:
		proto := []byte{0x00, 0x21}
		if ipv6 {
			proto = []byte{0x00, 0x57}
		}
		n := len(inner) + 2
		hdr = append(hdr, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypePPPoESession},
			rawHeader(append([]byte{0x11, 0x00, 0x12, 0x34, byte(n >> 8), byte(n)}, proto...)))
	case LinuxSLL:
		hdr = append(hdr, rawHeader(sllHeader(etherType)))
	case LinuxSLL2:
		hdr = append(hdr, rawHeader(sll2Header(etherType)))
	case Loopback:
		family := byte(2)
		if ipv6 {
			family = 24
		}
		hdr = append(hdr, rawHeader([]byte{family, 0, 0, 0}))
	}
	hdr = append(hdr, gopacket.Payload(inner))
	if err := gopacket.SerializeLayers(w.buf, serialize, hdr...); err != nil {
		return err
	}
	data := w.buf.Bytes()
	w.Packets++
	return w.pw.WritePacket(gopacket.CaptureInfo{Timestamp: w.Now, CaptureLength: len(data), Length: len(data)}, data)
}

var (
	tunnelSrc  = netip.MustParseAddr("10.99.0.1")
	tunnelDst  = netip.MustParseAddr("10.99.0.2")
	tunnelSrc6 = netip.MustParseAddr("2001:db8:99::1")
	tunnelDst6 = netip.MustParseAddr("2001:db8:99::2")
)

// outer is the tunnel's outer IP header.
func (w *Writer) outer(proto layers.IPProtocol) (gopacket.SerializableLayer, gopacket.NetworkLayer) {
	if w.opts.TunnelIPv6 {
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: tunnelSrc6.AsSlice(), DstIP: tunnelDst6.AsSlice()}
		return ip, ip
	}
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, SrcIP: tunnelSrc.AsSlice(), DstIP: tunnelDst.AsSlice()}
	return ip, ip
}

// tunnel wraps an IP packet in the configured tunnel's outer IPv4 packet.
func (w *Writer) tunnel(inner []byte, ipv6 bool) ([]byte, error) {
	innerType := layers.EthernetTypeIPv4
	if ipv6 {
		innerType = layers.EthernetTypeIPv6
	}
	eth := func(b []byte) []byte { // an Ethernet header in front of the inner packet
		h := append(append(append([]byte{}, macB...), macA...), byte(innerType>>8), byte(innerType))
		return append(h, b...)
	}
	var proto layers.IPProtocol
	var payload []byte
	switch w.opts.Tunnel {
	case IPIP:
		proto, payload = layers.IPProtocolIPv4, inner
		if ipv6 {
			proto = layers.IPProtocolIPv6
		}
	case GRE:
		proto = layers.IPProtocolGRE
		payload = append([]byte{0, 0, byte(innerType >> 8), byte(innerType)}, inner...)
	case ERSPAN2, ERSPAN3:
		proto = layers.IPProtocolGRE
		w.ipID++
		seq := []byte{0, 0, byte(w.ipID >> 8), byte(w.ipID)}
		if w.opts.Tunnel == ERSPAN2 {
			payload = append([]byte{0x10, 0x00, 0x88, 0xbe}, seq...)
			payload = append(payload, 0x10, 0x64, 0x00, 0x01, 0, 0, 0, 0) // version 1, VLAN 100, session 1
		} else {
			payload = append([]byte{0x10, 0x00, 0x22, 0xeb}, seq...)
			payload = append(payload, 0x20, 0x64, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0) // version 2, VLAN 100, session 1
		}
		payload = append(payload, eth(inner)...)
	case VXLAN, Geneve:
		udp := &layers.UDP{SrcPort: 49152, DstPort: 4789}
		ip, nl := w.outer(layers.IPProtocolUDP)
		_ = udp.SetNetworkLayerForChecksum(nl)
		vx := append([]byte{0x08, 0, 0, 0, 0, 0x10, 0x00, 0}, eth(inner)...) // VNI 4096
		if w.opts.Tunnel == Geneve {
			udp.DstPort = 6081
			// version 0, one 8-byte option (class 0x0103, type 1, 4 bytes
			// of data), Ethernet inside, VNI 4096
			vx = append([]byte{0x02, 0, 0x65, 0x58, 0, 0x10, 0x00, 0, 0x01, 0x03, 0x01, 0x01, 0xde, 0xad, 0xbe, 0xef}, eth(inner)...)
		}
		b := gopacket.NewSerializeBuffer()
		err := gopacket.SerializeLayers(b, serialize, ip, udp, gopacket.Payload(vx))
		return b.Bytes(), err
	}
	ip, _ := w.outer(proto)
	b := gopacket.NewSerializeBuffer()
	err := gopacket.SerializeLayers(b, serialize, ip, gopacket.Payload(payload))
	return b.Bytes(), err
}

// rawHeader is a link header written as it is.
type rawHeader []byte

func (h rawHeader) LayerType() gopacket.LayerType { return gopacket.LayerTypePayload }

func (h rawHeader) SerializeTo(b gopacket.SerializeBuffer, _ gopacket.SerializeOptions) error {
	dst, err := b.PrependBytes(len(h))
	copy(dst, h)
	return err
}

// sllHeader is a Linux cooked v1 header.
func sllHeader(proto layers.EthernetType) []byte {
	h := []byte{0, 0, 0, 1, 0, 6}
	h = append(h, macA...)
	return append(h, 0, 0, byte(proto>>8), byte(proto))
}

// sll2Header is a Linux cooked v2 header (what tcpdump -i any writes).
func sll2Header(proto layers.EthernetType) []byte {
	h := []byte{byte(proto >> 8), byte(proto), 0, 0, 0, 0, 0, 2, 0, 1, 0, 6}
	return append(append(h, macA...), 0, 0)
}

// UDP writes one datagram, fragmenting it when it exceeds the MTU.
func (w *Writer) UDP(src, dst netip.AddrPort, payload []byte) error {
	ipl, nl := w.network(src.Addr(), dst.Addr(), layers.IPProtocolUDP)
	udp := &layers.UDP{SrcPort: layers.UDPPort(src.Port()), DstPort: layers.UDPPort(dst.Port())}
	if err := udp.SetNetworkLayerForChecksum(nl); err != nil {
		return err
	}
	ip4, isV4 := ipl.(*layers.IPv4)
	hdrLen := 20
	if !isV4 {
		hdrLen = 48 // IPv6 and its fragment header
	}
	if w.opts.MTU == 0 || hdrLen+8+len(payload) <= w.opts.MTU {
		return w.frame(!isV4, ipl, udp, gopacket.Payload(payload))
	}
	// Serialise the whole datagram, then cut its IP payload in 8-byte units.
	dg := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(dg, serialize, udp, gopacket.Payload(payload)); err != nil {
		return err
	}
	whole := append([]byte(nil), dg.Bytes()...)
	chunk := (w.opts.MTU - hdrLen) &^ 7
	w.ipID++
	id := w.ipID // one per datagram: writing a fragment may take IDs of its own
	for off := 0; off < len(whole); off += chunk {
		end := min(off+chunk, len(whole))
		more := end < len(whole)
		var err error
		if isV4 {
			frag := *ip4
			frag.Flags = 0
			if more {
				frag.Flags = layers.IPv4MoreFragments
			}
			frag.FragOffset = uint16(off / 8)
			err = w.frame(false, &frag, gopacket.Payload(whole[off:end]))
		} else {
			ip6 := *(ipl.(*layers.IPv6))
			ip6.NextHeader = layers.IPProtocolIPv6Fragment
			fo := uint16(off/8) << 3
			if more {
				fo |= 1
			}
			fh := []byte{byte(layers.IPProtocolUDP), 0, byte(fo >> 8), byte(fo), 0, 0, byte(id >> 8), byte(id)}
			err = w.frame(true, &ip6, gopacket.Payload(append(fh, whole[off:end]...)))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// TCP writes a payload from src to dst on their connection, opening it with
// a handshake the first time. The payload is cut into MSS-sized segments.
func (w *Writer) TCP(src, dst netip.AddrPort, payload []byte) error {
	c, side := w.conn(src, dst)
	if c == nil {
		var err error
		if c, side, err = w.open(src, dst); err != nil {
			return err
		}
	}
	mss := w.opts.MSS
	if mss == 0 {
		mss = len(payload)
	}
	for off := 0; off < len(payload); off += mss {
		end := min(off+mss, len(payload))
		if err := w.segment(src, dst, c, side, payload[off:end], false); err != nil {
			return err
		}
	}
	return nil
}

// Retransmit writes the last n bytes src sent again, as a TCP retransmission.
func (w *Writer) Retransmit(src, dst netip.AddrPort, data []byte) error {
	c, side := w.conn(src, dst)
	if c == nil {
		return fmt.Errorf("no connection %s → %s", src, dst)
	}
	return w.segment(src, dst, c, side, data, true)
}

func (w *Writer) conn(src, dst netip.AddrPort) (*tcpConn, int) {
	if c, ok := w.conns[[2]netip.AddrPort{src, dst}]; ok {
		return c, 0
	}
	if c, ok := w.conns[[2]netip.AddrPort{dst, src}]; ok {
		return c, 1
	}
	return nil, 0
}

func (w *Writer) open(src, dst netip.AddrPort) (*tcpConn, int, error) {
	c := &tcpConn{seq: [2]uint32{1000, 5000}}
	w.conns[[2]netip.AddrPort{src, dst}] = c
	for _, step := range []struct {
		from, to netip.AddrPort
		syn, ack bool
		side     int
	}{{src, dst, true, false, 0}, {dst, src, true, true, 1}, {src, dst, false, true, 0}} {
		ipl, nl := w.network(step.from.Addr(), step.to.Addr(), layers.IPProtocolTCP)
		t := &layers.TCP{SrcPort: layers.TCPPort(step.from.Port()), DstPort: layers.TCPPort(step.to.Port()),
			Seq: c.seq[step.side], Ack: c.seq[1-step.side], SYN: step.syn, ACK: step.ack, Window: 65535}
		if !step.ack {
			t.Ack = 0
		}
		_ = t.SetNetworkLayerForChecksum(nl)
		if err := w.frame(!step.from.Addr().Is4(), ipl, t); err != nil {
			return nil, 0, err
		}
		if step.syn {
			c.seq[step.side]++
		}
	}
	return c, 0, nil
}

func (w *Writer) segment(src, dst netip.AddrPort, c *tcpConn, side int, data []byte, again bool) error {
	ipl, nl := w.network(src.Addr(), dst.Addr(), layers.IPProtocolTCP)
	seq := c.seq[side]
	if again {
		seq -= uint32(len(data))
	}
	t := &layers.TCP{SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()),
		Seq: seq, Ack: c.seq[1-side], ACK: true, PSH: true, Window: 65535}
	_ = t.SetNetworkLayerForChecksum(nl)
	if err := w.frame(!src.Addr().Is4(), ipl, t, gopacket.Payload(data)); err != nil {
		return err
	}
	if !again {
		c.seq[side] += uint32(len(data))
	}
	return nil
}

// IP writes one IP packet of protocol proto carrying payload as it is
// (SCTP, anything the writer has no helper for).
func (w *Writer) IP(src, dst netip.Addr, proto layers.IPProtocol, payload []byte) error {
	ipl, _ := w.network(src, dst, proto)
	return w.frame(!src.Is4(), ipl, gopacket.Payload(payload))
}
