package synth

import (
	"fmt"
	"net/netip"
	"time"
)

// Bulk writes n calls of field-like traffic for benchmarks: INVITE with
// SDP, keep-alives of every method with every outcome, BYE, OPTIONS pings
// between the proxies, every tenth call over TCP. Call-IDs, tags and
// branches differ per call and the clock advances.
func Bulk(w *Writer, n int) error {
	methods := []string{"INFO", "UPDATE", "MESSAGE", "OPTIONS"}
	// answers cycles outcomes: mostly 200, some 481, 405, 501, unanswered
	answers := []int{200, 200, 200, 200, 200, 200, 200, 481, 405, 501, 0, 200}
	agents := []string{"Initech-Phone/2.3.1", "Acme-PBX/7.1.4", "Globex-SBC/4.0.2", "Umbrella-GW/9.0"}
	proxyA := &Party{User: "edge", Addr: netip.MustParseAddrPort("198.51.100.1:5060"), Agent: "Globex-SBC/4.0.2"}
	proxyB := &Party{User: "core", Addr: netip.MustParseAddrPort("198.51.100.2:5060"), Agent: "Acme-PBX/7.1.4"}
	for i := 0; i < n; i++ {
		a := &Party{User: fmt.Sprintf("u%d", i), Addr: hostAddr(10, i), Agent: agents[i%len(agents)]}
		b := &Party{User: fmt.Sprintf("v%d", i), Addr: hostAddr(20, i), Agent: agents[(i+1)%len(agents)]}
		c := w.NewCall(fmt.Sprintf("bulk-%d-%s@sipalive", i, tagOf(fmt.Sprint(i))), a, b)
		c.TCP = i%10 == 9
		if err := c.Invite(nil, nil); err != nil {
			return err
		}
		for k := 0; k < 3; k++ {
			w.Advance(time.Second)
			ans := answers[(i+k)%len(answers)]
			if c.TCP && ans == 0 {
				ans = 200
			}
			if err := c.Request(a, methods[(i+k)%len(methods)], "", ans); err != nil {
				return err
			}
		}
		w.Advance(time.Second)
		if err := c.Bye(a, 200); err != nil {
			return err
		}
		if i%20 == 0 {
			if err := w.OutOfDialog(proxyA, proxyB, "OPTIONS", fmt.Sprintf("ping-%d@sipalive", i), "", nil, 200); err != nil {
				return err
			}
		}
	}
	return nil
}

// hostAddr spreads hosts over 10.<net>.x.y so that flows differ per call.
func hostAddr(net byte, i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, net, byte(i >> 8), byte(i)}), 5060)
}
