package synth

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"
)

// waveSize is how many calls are up at once in a bulk capture.
const waveSize = 1000

// Bulk writes n calls of trunk-like traffic for benchmarks, in waves of
// concurrent calls: INVITE with SDP, three rounds of keep-alives of every
// method with every outcome, BYE, and OPTIONS pings between the proxies.
// Every tenth call runs over the one TCP connection between the proxies.
// Call-IDs, tags and branches differ per call and the clock advances, about
// 100 packets per second of capture time.
func Bulk(w *Writer, n int) error {
	methods := []string{"INFO", "UPDATE", "MESSAGE", "OPTIONS"}
	// answers cycles outcomes: mostly 200, some 481, 405, 501, unanswered
	answers := []int{200, 200, 200, 200, 200, 200, 200, 481, 405, 501, 0, 200}
	agents := []string{"Initech-Phone/2.3.1", "Acme-PBX/7.1.4", "Globex-SBC/4.0.2", "Umbrella-GW/9.0"}
	proxyA := &Party{User: "edge", Addr: netip.MustParseAddrPort("198.51.100.1:5060"), Agent: "Globex-SBC/4.0.2"}
	proxyB := &Party{User: "core", Addr: netip.MustParseAddrPort("198.51.100.2:5060"), Agent: "Acme-PBX/7.1.4"}
	const step = 10 * time.Millisecond // between two calls' messages
	for first := 0; first < n; first += waveSize {
		wave := make([]*Call, 0, waveSize)
		for i := first; i < min(first+waveSize, n); i++ {
			a := &Party{User: fmt.Sprintf("u%d", i), Addr: hostAddr(10, i), Agent: agents[i%len(agents)]}
			b := &Party{User: fmt.Sprintf("v%d", i), Addr: hostAddr(20, i), Agent: agents[(i+1)%len(agents)]}
			if i%10 == 9 {
				// over the proxies' TCP connection
				a = &Party{User: a.User, Addr: proxyA.Addr, Agent: a.Agent}
				b = &Party{User: b.User, Addr: proxyB.Addr, Agent: b.Agent}
			}
			c := w.NewCall(fmt.Sprintf("bulk-%d-%s@sipalive", i, tagOf(fmt.Sprint(i))), a, b)
			c.TCP = i%10 == 9
			wave = append(wave, c)
		}
		for _, c := range wave {
			if err := c.Invite(nil, nil); err != nil {
				return err
			}
			w.Advance(step)
		}
		for k := 0; k < 3; k++ {
			for j, c := range wave {
				i := first + j
				ans := answers[(i+k)%len(answers)]
				if c.TCP && ans == 0 {
					ans = 200 // TCP does not retransmit
				}
				if err := c.Request(c.Caller, methods[(i+k)%len(methods)], "", ans); err != nil {
					return err
				}
				w.Advance(step)
			}
			if err := w.OutOfDialog(proxyA, proxyB, "OPTIONS", fmt.Sprintf("ping-%d-%d@sipalive", first, k), "", nil, 200); err != nil {
				return err
			}
		}
		for _, c := range wave {
			if err := c.Bye(c.Caller, 200); err != nil {
				return err
			}
			w.Advance(step)
		}
	}
	return nil
}

// hostAddr spreads hosts over 10.<net>.x.y so that flows differ per call.
func hostAddr(net byte, i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, net, byte(i >> 8), byte(i)}), 5060)
}

// BulkPcap returns a classic pcap of Bulk's traffic for n calls, for
// tests and benchmarks that read a trunk capture from memory or a file.
func BulkPcap(n int) ([]byte, error) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Options{})
	if err != nil {
		return nil, err
	}
	if err := Bulk(w, n); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// BulkFile writes BulkPcap's capture of n calls as bulk.pcap in dir and
// returns its path.
func BulkFile(dir string, n int) (string, error) {
	raw, err := BulkPcap(n)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "bulk.pcap")
	return path, os.WriteFile(path, raw, 0o644)
}
