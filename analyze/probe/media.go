package probe

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// media is the probe's side of a call's audio: a UDP port the SDP offers,
// read and discarded (so that the device's RTP meets no ICMP error), and
// optionally PCMU silence sent to the device.
type media struct {
	conn *net.UDPConn
	host string
	stop chan struct{}
	once sync.Once
}

func newMedia(host string) (*media, error) {
	a, err := netip.ParseAddr(host)
	if err != nil {
		return nil, fmt.Errorf("media address %q: %w", host, err)
	}
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, 0)))
	if err != nil {
		return nil, fmt.Errorf("media port: %w", err)
	}
	m := &media{conn: conn, host: host, stop: make(chan struct{})}
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := conn.ReadFromUDP(buf); err != nil {
				return
			}
		}
	}()
	return m, nil
}

// offer is the SDP the probe offers (and answers re-INVITEs with): PCMU
// and telephone-event on the media port.
func (m *media) offer() []byte {
	family := "IP4"
	if strings.Contains(m.host, ":") {
		family = "IP6"
	}
	port := m.conn.LocalAddr().(*net.UDPAddr).Port
	return []byte(fmt.Sprintf("v=0\r\no=sipalive 1 1 IN %[1]s %[2]s\r\ns=sipalive probe\r\nc=IN %[1]s %[2]s\r\nt=0 0\r\n"+
		"m=audio %[3]d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n", family, m.host, port))
}

// answer reads the device's SDP answer and, with silence, sends PCMU
// silence every 20 ms to its audio port: only when that port is on the
// target's own host (the probe talks to no one else).
func (m *media) answer(sdp []byte, targetHost string, silence bool) {
	if !silence {
		return
	}
	addr, port := audioAddr(string(sdp))
	if port <= 0 || port > 65535 || addr != targetHost {
		return
	}
	to, err := net.ResolveUDPAddr("udp", net.JoinHostPort(addr, strconv.Itoa(port)))
	if err != nil {
		return
	}
	go m.silence(to)
}

// audioAddr finds the connection address and the audio port of an SDP.
func audioAddr(sdp string) (string, int) {
	var addr string
	port := 0
	for _, line := range strings.Split(sdp, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "c=IN "):
			if f := strings.Fields(line); len(f) == 3 && (addr == "" || port == 0) {
				addr = f[2]
			}
		case strings.HasPrefix(line, "m=audio ") && port == 0:
			if f := strings.Fields(line); len(f) > 1 {
				port, _ = strconv.Atoi(f[1])
			}
		}
	}
	return addr, port
}

// rtpHeader is RTP's fixed header (RFC 3550 5.1).
const rtpHeader = 12

func (m *media) silence(to *net.UDPAddr) {
	pkt := make([]byte, rtpHeader+160)
	pkt[0] = 0x80 // version 2
	binary.BigEndian.PutUint32(pkt[8:], 0x5a1a11fe)
	for i := rtpHeader; i < len(pkt); i++ {
		pkt[i] = 0xff // PCMU silence
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var seq uint16
	var ts uint32
	for {
		select {
		case <-m.stop:
			return
		case <-tick.C:
		}
		binary.BigEndian.PutUint16(pkt[2:], seq)
		binary.BigEndian.PutUint32(pkt[4:], ts)
		if _, err := m.conn.WriteToUDP(pkt, to); err != nil {
			return
		}
		seq++
		ts += 160
	}
}

func (m *media) close() {
	if m == nil {
		return
	}
	m.once.Do(func() {
		close(m.stop)
		m.conn.Close()
	})
}
