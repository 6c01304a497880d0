// Package synth writes synthetic SIP captures: real Ethernet/IP/UDP/TCP
// frames serialised with gopacket into pcap files, with timestamps that
// advance. The sample generator and the tests build their captures with it.
package synth

import (
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
	Ethernet Link = iota
	EthernetVLAN
	LinuxSLL2
	RawIP
)

// Options shape the capture.
type Options struct {
	Link Link
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
	case LinuxSLL2:
		link = layers.LinkTypeLinuxSLL2
	case RawIP:
		link = layers.LinkTypeRaw
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

// frame serialises the link layer plus the given layers and writes it.
func (w *Writer) frame(ipv6 bool, ls ...gopacket.SerializableLayer) error {
	etherType := layers.EthernetTypeIPv4
	if ipv6 {
		etherType = layers.EthernetTypeIPv6
	}
	var all []gopacket.SerializableLayer
	switch w.opts.Link {
	case Ethernet:
		all = append(all, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: etherType})
	case EthernetVLAN:
		all = append(all, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeDot1Q},
			&layers.Dot1Q{VLANIdentifier: 100, Type: etherType})
	case LinuxSLL2:
		all = append(all, &sll2{proto: etherType})
	}
	all = append(all, ls...)
	if err := gopacket.SerializeLayers(w.buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, all...); err != nil {
		return err
	}
	data := w.buf.Bytes()
	w.Packets++
	return w.pw.WritePacket(gopacket.CaptureInfo{Timestamp: w.Now, CaptureLength: len(data), Length: len(data)}, data)
}

// UDP writes one datagram, fragmenting it when it exceeds the MTU.
func (w *Writer) UDP(src, dst netip.AddrPort, payload []byte) error {
	ipl, nl := w.network(src.Addr(), dst.Addr(), layers.IPProtocolUDP)
	udp := &layers.UDP{SrcPort: layers.UDPPort(src.Port()), DstPort: layers.UDPPort(dst.Port())}
	if err := udp.SetNetworkLayerForChecksum(nl); err != nil {
		return err
	}
	ip4, isV4 := ipl.(*layers.IPv4)
	if w.opts.MTU == 0 || !isV4 || 20+8+len(payload) <= w.opts.MTU {
		return w.frame(!isV4, ipl, udp, gopacket.Payload(payload))
	}
	// Serialise the whole datagram, then cut its IP payload in 8-byte units.
	dg := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(dg, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, udp, gopacket.Payload(payload)); err != nil {
		return err
	}
	whole := append([]byte(nil), dg.Bytes()...)
	chunk := (w.opts.MTU - 20) &^ 7
	for off := 0; off < len(whole); off += chunk {
		end := min(off+chunk, len(whole))
		frag := *ip4
		frag.Flags = 0
		if end < len(whole) {
			frag.Flags = layers.IPv4MoreFragments
		}
		frag.FragOffset = uint16(off / 8)
		if err := w.frame(false, &frag, gopacket.Payload(whole[off:end])); err != nil {
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

// sll2 is the Linux cooked v2 header (what tcpdump -i any writes).
type sll2 struct{ proto layers.EthernetType }

func (s *sll2) LayerType() gopacket.LayerType { return layers.LayerTypeLinuxSLL2 }

func (s *sll2) SerializeTo(b gopacket.SerializeBuffer, _ gopacket.SerializeOptions) error {
	h, err := b.PrependBytes(20)
	if err != nil {
		return err
	}
	for i := range h {
		h[i] = 0
	}
	h[0], h[1] = byte(s.proto>>8), byte(s.proto)
	h[7] = 2          // interface index
	h[8], h[9] = 0, 1 // ARPHRD_ETHER
	h[10] = 0         // packet to us
	h[11] = 6         // address length
	copy(h[12:], macA)
	return nil
}
