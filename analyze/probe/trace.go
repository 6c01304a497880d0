package probe

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Trace writes the SIP messages the probe sends and receives to a pcap
// file (-w): Ethernet, IP and UDP or TCP frames with the real addresses
// and times, so that sipalive analyze reads the probe's run like any
// capture. Over TLS the messages are written as the plaintext TCP they
// were inside the tunnel. It is a sip.SIPTracer.
type Trace struct {
	mu    sync.Mutex
	w     *pcapgo.Writer
	flows map[[2]netip.AddrPort]*[2]uint32 // TCP sequence numbers, by flow as first seen
	err   error
}

// NewTrace starts a pcap on w.
func NewTrace(w io.Writer) (*Trace, error) {
	pw := pcapgo.NewWriterNanos(w)
	if err := pw.WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
		return nil, err
	}
	return &Trace{w: pw, flows: map[[2]netip.AddrPort]*[2]uint32{}}, nil
}

// Err is the first write error, if any.
func (t *Trace) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

// SIPTraceRead records a message the probe received.
func (t *Trace) SIPTraceRead(transport, laddr, raddr string, msg []byte) {
	t.record(transport, raddr, laddr, msg)
}

// SIPTraceWrite records a message the probe sent.
func (t *Trace) SIPTraceWrite(transport, laddr, raddr string, msg []byte) {
	t.record(transport, laddr, raddr, msg)
}

// sipgo has one tracer per process; the routes send each message to the
// probe runs it belongs to: sent from or received on the run's listening
// address, or exchanged with its target (TCP connections the probe opens
// leave from other ports). A device on the same host, as in tests, is
// not traced twice.
var routes struct {
	sync.Mutex
	installed bool
	list      []*route
}

type route struct {
	local, target string
	t             sip.SIPTracer
}

func (r *route) matches(laddr, raddr string) bool { return laddr == r.local || raddr == r.target }

type dispatcher struct{}

func (dispatcher) SIPTraceRead(transport, laddr, raddr string, msg []byte) {
	for _, r := range matching(laddr, raddr) {
		r.t.SIPTraceRead(transport, laddr, raddr, msg)
	}
}

func (dispatcher) SIPTraceWrite(transport, laddr, raddr string, msg []byte) {
	for _, r := range matching(laddr, raddr) {
		r.t.SIPTraceWrite(transport, laddr, raddr, msg)
	}
}

func matching(laddr, raddr string) []*route {
	routes.Lock()
	defer routes.Unlock()
	var out []*route
	for _, r := range routes.list {
		if r.matches(laddr, raddr) {
			out = append(out, r)
		}
	}
	return out
}

// traceRun sends the messages of a run to t until the returned function
// is called.
func traceRun(local, target string, t sip.SIPTracer) func() {
	r := &route{local: local, target: target, t: t}
	routes.Lock()
	defer routes.Unlock()
	if !routes.installed {
		sip.SIPDebug = true
		sip.SIPDebugTracer(dispatcher{})
		routes.installed = true
	}
	routes.list = append(routes.list, r)
	return func() {
		routes.Lock()
		defer routes.Unlock()
		routes.list = slices.DeleteFunc(routes.list, func(x *route) bool { return x == r })
	}
}

var traceMAC = [2]net.HardwareAddr{{0x02, 0x5a, 0, 0, 0, 1}, {0x02, 0x5a, 0, 0, 0, 2}}

func (t *Trace) record(transport, from, to string, msg []byte) {
	src, err1 := netip.ParseAddrPort(from)
	dst, err2 := netip.ParseAddrPort(to)
	t.mu.Lock()
	defer t.mu.Unlock()
	if err1 != nil || err2 != nil {
		t.fail(fmt.Errorf("trace: addresses %q → %q", from, to))
		return
	}
	src, dst = netip.AddrPortFrom(src.Addr().Unmap(), src.Port()), netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	if transport == "UDP" {
		t.frame(src, dst, &layers.UDP{SrcPort: layers.UDPPort(src.Port()), DstPort: layers.UDPPort(dst.Port())}, msg)
		return
	}
	seq, dir := t.flow(src, dst)
	t.frame(src, dst, &layers.TCP{SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()),
		Seq: seq[dir], Ack: seq[1-dir], ACK: true, PSH: true, Window: 65535}, msg)
	seq[dir] += uint32(len(msg))
}

// flow returns a TCP flow's sequence numbers and the direction of
// src → dst, writing a handshake the first time the flow is seen.
func (t *Trace) flow(src, dst netip.AddrPort) (*[2]uint32, int) {
	if seq, ok := t.flows[[2]netip.AddrPort{src, dst}]; ok {
		return seq, 0
	}
	if seq, ok := t.flows[[2]netip.AddrPort{dst, src}]; ok {
		return seq, 1
	}
	seq := &[2]uint32{1000, 5000}
	t.flows[[2]netip.AddrPort{src, dst}] = seq
	t.frame(src, dst, &layers.TCP{SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()), Seq: seq[0] - 1, SYN: true, Window: 65535}, nil)
	t.frame(dst, src, &layers.TCP{SrcPort: layers.TCPPort(dst.Port()), DstPort: layers.TCPPort(src.Port()), Seq: seq[1] - 1, Ack: seq[0], SYN: true, ACK: true, Window: 65535}, nil)
	t.frame(src, dst, &layers.TCP{SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()), Seq: seq[0], Ack: seq[1], ACK: true, Window: 65535}, nil)
	return seq, 0
}

type transportLayer interface {
	gopacket.SerializableLayer
	SetNetworkLayerForChecksum(gopacket.NetworkLayer) error
}

func (t *Trace) frame(src, dst netip.AddrPort, tl transportLayer, payload []byte) {
	eth := &layers.Ethernet{SrcMAC: traceMAC[0], DstMAC: traceMAC[1], EthernetType: layers.EthernetTypeIPv4}
	proto := layers.IPProtocolUDP
	if _, ok := tl.(*layers.TCP); ok {
		proto = layers.IPProtocolTCP
	}
	var ip gopacket.NetworkLayer
	if src.Addr().Is4() {
		ip = &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
	} else {
		eth.EthernetType = layers.EthernetTypeIPv6
		ip = &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
	}
	_ = tl.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, ip.(gopacket.SerializableLayer), tl, gopacket.Payload(payload))
	if err != nil {
		t.fail(err)
		return
	}
	data := buf.Bytes()
	ci := gopacket.CaptureInfo{Timestamp: time.Now(), CaptureLength: len(data), Length: len(data)}
	if err := t.w.WritePacket(ci, data); err != nil {
		t.fail(err)
	}
}

func (t *Trace) fail(err error) {
	if t.err == nil {
		t.err = err
	}
}
