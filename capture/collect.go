package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Collector is a HEP collector (Homer's role): it listens on one address
// for HEP from capture agents (Kamailio's siptrace, OpenSIPS's proto_hep,
// FreeSWITCH, Asterisk's res_hep, heplify): HEP3 over UDP and TCP, HEP
// versions 1 and 2 over UDP. Each HEP packet it receives is handed on as
// the IP/UDP datagram that carried it from the agent to the collector
// (raw IP), so the decoder reads it as it reads HEP in a capture, with the
// original addresses and times, and -w writes a capture that analyses the
// same. Each agent (by source address) is an input of its own, so the
// report lists them; a Collector is a Source.
type Collector struct {
	udp   *net.UDPConn
	tcp   net.Listener
	local netip.AddrPort
	ch    chan collected
	done  chan struct{}
	wg    sync.WaitGroup
	poll  time.Duration

	mu      sync.Mutex
	agents  []agentState
	byAddr  map[netip.Addr]int
	dropped uint64 // packets the analysis could not keep up with
	refused uint64 // TCP streams that were not HEP3

	buf []byte // the frame Next returned last
	ci  gopacket.CaptureInfo
}

type collected struct {
	from    netip.AddrPort
	payload []byte
	at      time.Time
}

// agentState is one capture agent: what it sent, and the capture id it
// gives itself in HEP3 (chunk 12; Kamailio's hep_capture_id), if any.
type agentState struct {
	addr      netip.Addr
	packets   uint64
	captureID uint32
	hasID     bool
}

// hepCaptureID reads a HEP3 packet's capture agent id (chunk 12).
func hepCaptureID(b []byte) (uint32, bool) {
	if len(b) < hep3HeaderLen || string(b[:4]) != string(hep3) {
		return 0, false
	}
	for off := hep3HeaderLen; off+hep3ChunkLen <= len(b); {
		vendor, typ := binary.BigEndian.Uint16(b[off:]), binary.BigEndian.Uint16(b[off+2:])
		n := int(binary.BigEndian.Uint16(b[off+4:]))
		if n < hep3ChunkLen || off+n > len(b) {
			return 0, false
		}
		if vendor == 0 && typ == 12 && n == hep3ChunkLen+4 {
			return binary.BigEndian.Uint32(b[off+hep3ChunkLen:]), true
		}
		off += n
	}
	return 0, false
}

// maxAgents bounds the agents listed; later ones share the last input.
const maxAgents = 1024

// collectQueue is how many received packets wait for the analysis; past
// it packets are counted as dropped, as a kernel ring drops.
const collectQueue = 1 << 14

// ListenHEP starts a collector on addr (host:port; the same port over UDP
// and TCP).
func ListenHEP(addr string) (*Collector, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("collect %s: %w", addr, err)
	}
	udp, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("collect %s: %w", addr, err)
	}
	local := udp.LocalAddr().(*net.UDPAddr).AddrPort()
	tcp, err := net.Listen("tcp", net.JoinHostPort(local.Addr().String(), fmt.Sprint(local.Port())))
	if err != nil {
		udp.Close()
		return nil, fmt.Errorf("collect %s (TCP): %w", addr, err)
	}
	c := &Collector{udp: udp, tcp: tcp, local: local, ch: make(chan collected, collectQueue), done: make(chan struct{}),
		byAddr: map[netip.Addr]int{}, poll: 200 * time.Millisecond}
	udp.SetReadBuffer(4 << 20)
	c.wg.Add(2)
	go c.readUDP()
	go c.acceptTCP()
	return c, nil
}

// Addr is the address the collector listens on.
func (c *Collector) Addr() netip.AddrPort { return c.local }

func (c *Collector) readUDP() {
	defer c.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, from, err := c.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			return // closed
		}
		c.queue(from, append([]byte(nil), buf[:n]...))
	}
}

func (c *Collector) acceptTCP() {
	defer c.wg.Done()
	for {
		conn, err := c.tcp.Accept()
		if err != nil {
			return // closed
		}
		c.wg.Add(1)
		go c.readTCP(conn)
	}
}

// readTCP reads HEP3 packets off one agent's stream: "HEP3", the total
// length, the rest. A stream that is not HEP3 is closed and counted.
func (c *Collector) readTCP(conn net.Conn) {
	defer c.wg.Done()
	defer conn.Close()
	go func() {
		<-c.done
		conn.Close()
	}()
	from := conn.RemoteAddr().(*net.TCPAddr).AddrPort()
	var hdr [hep3HeaderLen]byte
	for {
		if _, err := io.ReadFull(conn, hdr[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(hdr[4:]))
		if string(hdr[:4]) != string(hep3) || n < hep3HeaderLen {
			c.mu.Lock()
			c.refused++
			c.mu.Unlock()
			return
		}
		p := make([]byte, n)
		copy(p, hdr[:])
		if _, err := io.ReadFull(conn, p[hep3HeaderLen:]); err != nil {
			return
		}
		c.queue(from, p)
	}
}

// queue hands a received HEP packet to the analysis, or counts it dropped
// when the analysis is that far behind.
func (c *Collector) queue(from netip.AddrPort, p []byte) {
	select {
	case c.ch <- collected{from, p, time.Now()}:
	case <-c.done:
	default:
		c.mu.Lock()
		c.dropped++
		c.mu.Unlock()
	}
}

// Next returns the next HEP packet as a raw IP datagram from its agent to
// the collector; ErrNoPacket after a quiet poll interval; io.EOF once
// closed.
func (c *Collector) Next() (input int, data []byte, ci *gopacket.CaptureInfo, link layers.LinkType, err error) {
	var p collected
	select {
	case p = <-c.ch:
	case <-c.done:
		return 0, nil, nil, 0, io.EOF
	case <-time.After(c.poll):
		return 0, nil, nil, 0, ErrNoPacket
	}
	input = c.agent(p.from.Addr(), p.payload)
	c.buf = datagram(c.buf[:0], p.from, c.local, p.payload)
	c.ci = gopacket.CaptureInfo{Timestamp: p.at, CaptureLength: len(c.buf), Length: len(c.buf), InterfaceIndex: input}
	return input, c.buf, &c.ci, layers.LinkTypeRaw, nil
}

// agent returns the input index of the agent at addr, adding it; hep is
// what it sent, for its capture id.
func (c *Collector) agent(addr netip.Addr, hep []byte) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.byAddr[addr]
	if !ok {
		i = min(len(c.agents), maxAgents-1)
		if i == len(c.agents) {
			c.agents = append(c.agents, agentState{addr: addr})
		}
		c.byAddr[addr] = i
	}
	a := &c.agents[i]
	a.packets++
	if !a.hasID {
		a.captureID, a.hasID = hepCaptureID(hep)
	}
	return i
}

// datagram builds the IPv4 or IPv6 and UDP headers of payload from src to
// dst in b (no checksums: the decoder does not check them).
func datagram(b []byte, src, dst netip.AddrPort, payload []byte) []byte {
	udpLen := 8 + len(payload)
	if src.Addr().Is4() || src.Addr().Is4In6() {
		s, d := src.Addr().Unmap().As4(), dst.Addr().Unmap().As4()
		if !dst.Addr().Unmap().Is4() {
			d = [4]byte{127, 0, 0, 1}
		}
		total := 20 + udpLen
		b = append(b, 0x45, 0, byte(total>>8), byte(total), 0, 0, 0, 0, 64, 17, 0, 0)
		b = append(b, s[:]...)
		b = append(b, d[:]...)
	} else {
		s, d := src.Addr().As16(), dst.Addr().As16()
		b = append(b, 0x60, 0, 0, 0, byte(udpLen>>8), byte(udpLen), 17, 64)
		b = append(b, s[:]...)
		b = append(b, d[:]...)
	}
	b = append(b, byte(src.Port()>>8), byte(src.Port()), byte(dst.Port()>>8), byte(dst.Port()), byte(udpLen>>8), byte(udpLen), 0, 0)
	return append(b, payload...)
}

// Block implements Source: each packet is built in a buffer the next one
// reuses.
func (c *Collector) Block() *Block { return nil }

// Describe lists the agents, in the order they first sent.
func (c *Collector) Describe() []InputState {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.agents) == 0 {
		return []InputState{{Path: "hep:" + c.local.String(), Format: "live"}}
	}
	out := make([]InputState, len(c.agents))
	for i, a := range c.agents {
		path := "hep agent " + a.addr.String()
		if a.hasID {
			path += fmt.Sprintf(" (capture id %d)", a.captureID)
		}
		if i == maxAgents-1 {
			path += " and later agents"
		}
		out[i] = InputState{Path: path, Format: "live", Packets: a.packets}
	}
	return out
}

// CountInto adds the packets the collector dropped: the analysis was
// behind by collectQueue packets.
func (c *Collector) CountInto(s *Stats) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s.KernelDrops += c.dropped
}

// Refused is how many TCP streams were closed for not being HEP3.
func (c *Collector) Refused() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.refused
}

// Close stops listening; Next returns io.EOF once what was queued is read.
func (c *Collector) Close() error {
	select {
	case <-c.done:
		return nil
	default:
	}
	close(c.done)
	err := errors.Join(c.udp.Close(), c.tcp.Close())
	c.wg.Wait()
	return err
}
