package synth

import (
	"fmt"
	"net/netip"
	"time"
)

// Scenario writes one sample capture.
type Scenario struct {
	Name  string // file name without .pcap
	About string
	Opts  Options
	Write func(w *Writer) error
}

// Parties of the samples. Product names are invented.
func parties() (phone, pbx, sbc, gw *Party) {
	phone = &Party{User: "alice", Addr: netip.MustParseAddrPort("192.0.2.10:5060"), Agent: "Initech-Phone/2.3.1 (sipalive sample)"}
	pbx = &Party{User: "pbx", Addr: netip.MustParseAddrPort("192.0.2.20:5060"), Agent: "Acme-PBX/7.1.4"}
	sbc = &Party{User: "trunk", Addr: netip.MustParseAddrPort("198.51.100.5:5080"), Agent: "Globex-SBC/4.0.2"}
	gw = &Party{User: "gw", Addr: netip.MustParseAddrPort("203.0.113.7:5060"), Agent: "Umbrella-GW/9.0"}
	return
}

// run executes steps in order, advancing the clock by gap after each.
func run(w *Writer, gap time.Duration, steps ...func() error) error {
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
		w.Advance(gap)
	}
	return nil
}

// healthyInfo: a call kept alive with body-less INFO every 30 s, all 200.
func healthyInfo(w *Writer, id string, a, b *Party) error {
	c := w.NewCall(id, a, b)
	steps := []func() error{func() error { return c.Invite(nil, nil) }}
	for i := 0; i < 3; i++ {
		steps = append(steps, func() error { return c.Request(a, "INFO", "", 200) })
	}
	steps = append(steps, func() error { return c.Bye(a, 200) })
	return run(w, 30*time.Second, steps...)
}

// lost481: the peer forgot the dialog: INFO 200, then INFO 481, then BYE 481.
func lost481(w *Writer, id string, a, b *Party) error {
	c := w.NewCall(id, a, b)
	return run(w, 30*time.Second,
		func() error { return c.Invite(nil, nil) },
		func() error { return c.Request(a, "INFO", "", 200) },
		func() error { return c.Request(a, "INFO", "", 481) },
		func() error { return c.Bye(a, 481) })
}

// unsupportedUpdate: UPDATE keep-alive answered 405 (Allow without UPDATE)
// or 501, then the sender falls back to INFO.
func unsupportedUpdate(w *Writer, id string, a, b *Party, code int) error {
	c := w.NewCall(id, a, b)
	var hdr []string
	if code == 405 {
		hdr = []string{"Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, INFO"}
	}
	return run(w, 30*time.Second,
		func() error { return c.Invite(nil, nil) },
		func() error { return c.Request(a, "UPDATE", "", code, hdr...) },
		func() error { return c.Request(a, "INFO", "", 200) },
		func() error { return c.Bye(a, 200) })
}

// unanswered: INFO 200, then an INFO never answered (4 copies), then BYE.
func unanswered(w *Writer, id string, a, b *Party) error {
	c := w.NewCall(id, a, b)
	return run(w, 30*time.Second,
		func() error { return c.Invite(nil, nil) },
		func() error { return c.Request(a, "INFO", "", 200) },
		func() error { return c.Request(a, "INFO", "", 0) },
		func() error { return c.Bye(a, 200) })
}

// pings: out-of-dialog OPTIONS from a to b every 30 s; answers in order.
func pings(w *Writer, a, b *Party, answers ...int) error {
	for i, code := range answers {
		if err := w.OutOfDialog(a, b, "OPTIONS", fmt.Sprintf("ping-%d-%s", i, tagOf(a.User+b.User)), "", nil, code); err != nil {
			return err
		}
		w.Advance(30 * time.Second)
	}
	return nil
}

// Scenarios are the bundled samples.
func Scenarios() []Scenario {
	phone, pbx, sbc, gw := parties()
	return []Scenario{
		{Name: "keepalive-healthy", About: "one call kept alive with INFO, all answered 200 OK", Write: func(w *Writer) error {
			return healthyInfo(w, "healthy-1@192.0.2.10", phone, pbx)
		}},
		{Name: "keepalive-481", About: "the peer lost the dialog: INFO answered 481, then BYE", Write: func(w *Writer) error {
			return lost481(w, "lost-1@192.0.2.10", phone, pbx)
		}},
		{Name: "update-unsupported", About: "UPDATE keep-alive answered 405 in one call and 501 in another; INFO fallback", Write: func(w *Writer) error {
			if err := unsupportedUpdate(w, "upd405-1@192.0.2.10", phone, pbx, 405); err != nil {
				return err
			}
			return unsupportedUpdate(w, "upd501-1@198.51.100.5", sbc, gw, 501)
		}},
		{Name: "keepalive-unanswered", About: "an INFO keep-alive never answered (retransmitted), then BYE", Write: func(w *Writer) error {
			return unanswered(w, "gone-1@192.0.2.10", phone, pbx)
		}},
		{Name: "keepalive-mix", About: "all of the above plus OPTIONS pings: the README's sample", Write: func(w *Writer) error {
			steps := []func() error{
				func() error { return pings(w, sbc, pbx, 200, 200) },
				func() error { return healthyInfo(w, "healthy-1@192.0.2.10", phone, pbx) },
				func() error { return lost481(w, "lost-1@192.0.2.10", phone, pbx) },
				func() error { return unsupportedUpdate(w, "upd405-1@192.0.2.10", phone, pbx, 405) },
				func() error { return unsupportedUpdate(w, "upd501-1@198.51.100.5", sbc, gw, 501) },
				func() error { return unanswered(w, "gone-1@192.0.2.10", phone, pbx) },
				func() error { return pings(w, sbc, pbx, 200, 0, 0, 200) },
			}
			return run(w, time.Second, steps...)
		}},
		{Name: "proxied", About: "a call kept alive with INFO, captured on the proxy between the parties: every message twice", Write: func(w *Writer) error {
			c := w.NewCall("proxied-1@192.0.2.10", phone, pbx)
			c.Proxy = &Party{User: "proxy", Addr: netip.MustParseAddrPort("192.0.2.1:5060"), Agent: "Hooli-Proxy/5.6"}
			return run(w, 30*time.Second,
				func() error { return c.Invite(nil, nil) },
				func() error { return c.Request(phone, "INFO", "", 200) },
				func() error { return c.Request(phone, "INFO", "", 200) },
				func() error { return c.Request(phone, "INFO", "", 481) },
				func() error { return c.Bye(phone, 481) })
		}},
		{Name: "proxy-keepalive", About: "the proxy keeps the dialog alive itself (Kamailio's dialog keep-alives): OPTIONS to each party every 30 s, until the phone answers 481 and the proxy ends the call", Write: func(w *Writer) error {
			c := w.NewCall("proxyka-1@192.0.2.10", phone, pbx)
			c.Proxy = &Party{User: "proxy", Addr: netip.MustParseAddrPort("192.0.2.1:5060"), Agent: "kamailio (5.6.3 (x86_64/linux))"}
			ping := func(phoneAnswer int) func() error {
				return func() error {
					if err := c.ProxyRequest(pbx, "OPTIONS", 200); err != nil {
						return err
					}
					return c.ProxyRequest(phone, "OPTIONS", phoneAnswer)
				}
			}
			return run(w, 30*time.Second,
				func() error { return c.Invite(nil, nil) },
				ping(200), ping(200), ping(481),
				func() error {
					if err := c.ProxyRequest(pbx, "BYE", 200); err != nil {
						return err
					}
					return c.ProxyRequest(phone, "BYE", 481)
				})
		}},
		{Name: "vendors", About: "three vendors: Umbrella-GW answers UPDATE 501, Globex-SBC answers 200 to a keep-alive for a dialog it ended, Initech-Phone misses its session refresh", Write: func(w *Writer) error {
			return vendorScenario(w, phone, pbx, sbc, gw)
		}},
	}
}

func vendorScenario(w *Writer, phone, pbx, sbc, gw *Party) error {
	// Umbrella-GW does not implement UPDATE.
	c1 := w.NewCall("v-update501@198.51.100.5", sbc, gw)
	// Globex-SBC keeps answering 200 after the dialog ended (it should say 481).
	c2 := w.NewCall("v-stale@192.0.2.20", pbx, sbc)
	// Initech-Phone is the refresher (uac, 90 s) and never refreshes.
	c3 := w.NewCall("v-expire@192.0.2.10", phone, pbx)
	st := []string{"Supported: timer", "Session-Expires: 90;refresher=uac", "Min-SE: 90"}
	stResp := []string{"Require: timer", "Session-Expires: 90;refresher=uac"}
	return run(w, 10*time.Second,
		func() error { return c1.Invite(nil, nil) },
		func() error { return c2.Invite(nil, nil) },
		func() error { return c3.Invite(st, stResp) },
		func() error { return c1.Request(sbc, "UPDATE", "", 501) },
		func() error { return c2.Request(pbx, "INFO", "", 200) },
		func() error { return c1.Request(sbc, "INFO", "", 200) },
		func() error { return c2.Bye(sbc, 200) },
		func() error { return c2.Request(pbx, "INFO", "", 200) }, // stale: the dialog is gone
		func() error { w.Advance(100 * time.Second); return c3.Request(phone, "INFO", "", 200) },
		func() error { return c3.Bye(pbx, 200) },
		func() error { return c1.Bye(sbc, 200) },
	)
}
