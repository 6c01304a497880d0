package analyze

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sipalive/sipalive/capture"
	"github.com/sipalive/sipalive/capture/sip"
)

func TestClassify(t *testing.T) {
	const sdp = "Content-Type: application/sdp\r\nContent-Length: 5\r\n\r\nv=0\r\n"
	const text = "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi"
	tests := []struct {
		method string
		toTag  bool
		body   string
		want   Class
	}{
		{"INFO", true, "", ClassSessionKeepAlive},
		{"UPDATE", true, "", ClassSessionKeepAlive},
		{"MESSAGE", true, "", ClassSessionKeepAlive},
		{"MESSAGE", true, text, ClassSessionKeepAlive}, // a text body is no SDP
		{"OPTIONS", true, "", ClassSessionKeepAlive},
		{"UPDATE", true, sdp, ClassUpdateWithSDP},
		{"INFO", true, sdp, ClassInDialogWithSDP},
		{"INVITE", true, "", ClassReinviteNoSDP},
		{"INVITE", true, sdp, ClassReinviteWithSDP},
		{"INVITE", false, "", ClassOther}, // initial INVITE, late offer
		{"MESSAGE", false, text, ClassMessageOutOfDialog},
		{"OPTIONS", false, "", ClassDeviceKeepAlive},
		{"REGISTER", false, "", ClassDeviceKeepAlive},
		{"INFO", false, "", ClassOther},
		{"BYE", true, "", ClassOther},
		{"NOTIFY", true, "", ClassOther},
	}
	for _, tt := range tests {
		var m sip.Message
		raw := request(tt.method, "c1", 1, "b1", tt.toTag, "", tt.body)
		if err := sip.Parse([]byte(raw), &m); err != nil {
			t.Fatal(err)
		}
		if got := Classify(&m); got != tt.want {
			t.Errorf("%s toTag=%v body=%q: %s, want %s", tt.method, tt.toTag, tt.body, got.Key(), tt.want.Key())
		}
	}
}

func TestVendorName(t *testing.T) {
	tests := map[string]string{
		"Acme-PBX/7.1.4 (build 55)":        "Acme-PBX 7.1",
		"Initech-Phone/2.3":                "Initech-Phone 2.3",
		"Globex SBC 4.0.2":                 "Globex SBC 4.0",
		"FPBX-16.0.40(18.20.0)":            "FPBX 16.0",
		"  Umbrella-GW/9  ":                "Umbrella-GW 9",
		"":                                 "",
		"Asterisk PBX 18.20.0":             "Asterisk PBX 18.20",
		"Cisco-SIPGateway/IOS-15.x":        "Cisco-SIPGateway IOS-15.x",
		"PolycomVVX-VVX_411-UA/6.4.3.1234": "PolycomVVX-VVX_411-UA 6.4",
		"kamailio (5.6.3 (x86_64/linux))":  "kamailio 5.6",
		"OpenSIPS (3.4.2 (x86_64/linux))":  "OpenSIPS 3.4",
	}
	for in, want := range tests {
		if got := VendorName(in); got != want {
			t.Errorf("VendorName(%q) = %q, want %q", in, got, want)
		}
	}
}

// feeder drives an Analyzer with hand-written messages.
type feeder struct {
	a   *Analyzer
	now time.Time
}

var (
	addrA = netip.MustParseAddrPort("192.0.2.1:5060")
	addrB = netip.MustParseAddrPort("192.0.2.2:5060")
)

func newFeeder() *feeder {
	return &feeder{a: New(Options{}), now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (f *feeder) send(after time.Duration, src, dst netip.AddrPort, raw string) {
	f.now = f.now.Add(after)
	f.a.Message(&capture.Message{Kind: capture.SIP, Time: f.now, Src: src, Dst: dst, Transport: capture.UDP, Payload: []byte(raw)})
}

func request(method, callID string, cseq int, branch string, toTag bool, fromTag, body string) string {
	if fromTag == "" {
		fromTag = "ta"
	}
	to := "<sip:b@h>"
	if toTag {
		to += ";tag=tb"
	}
	if body == "" {
		body = "Content-Length: 0\r\n\r\n"
	}
	return fmt.Sprintf("%s sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK%s\r\nFrom: <sip:a@h>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\nUser-Agent: Tester/1.0\r\n%s",
		method, branch, fromTag, to, callID, cseq, method, body)
}

func response(code int, method, callID string, cseq int, branch, toTag string, extra ...string) string {
	h := ""
	for _, e := range extra {
		h += e + "\r\n"
	}
	return fmt.Sprintf("SIP/2.0 %d X\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK%s\r\nFrom: <sip:a@h>;tag=ta\r\nTo: <sip:b@h>;tag=%s\r\nCall-ID: %s\r\nCSeq: %d %s\r\nServer: Peer/2.0\r\n%sContent-Length: 0\r\n\r\n",
		code, branch, toTag, callID, cseq, method, h)
}

func TestTransactionsAndTimeout(t *testing.T) {
	f := newFeeder()
	f.send(0, addrA, addrB, request("INVITE", "c1", 1, "inv", false, "", ""))
	f.send(time.Second, addrB, addrA, response(200, "INVITE", "c1", 1, "inv", "tb"))
	// answered INFO, retransmitted once
	f.send(10*time.Second, addrA, addrB, request("INFO", "c1", 2, "k1", true, "", ""))
	f.send(500*time.Millisecond, addrA, addrB, request("INFO", "c1", 2, "k1", true, "", ""))
	f.send(10*time.Millisecond, addrB, addrA, response(200, "INFO", "c1", 2, "k1", "tb"))
	// answered too late: 40 s after the request, past Timer F
	f.send(10*time.Second, addrA, addrB, request("INFO", "c1", 3, "k2", true, "", ""))
	f.send(40*time.Second, addrB, addrA, response(200, "INFO", "c1", 3, "k2", "tb"))
	// never answered, but the capture ends 10 s later: pending, which the
	// totals count as unanswered and no finding calls the peer's silence
	f.send(10*time.Second, addrA, addrB, request("UPDATE", "c1", 4, "k3", true, "", ""))
	r := f.a.Finish(capture.Stats{})
	s := r.Summary
	if s.Calls != 1 || s.SIPMessages != 8 {
		t.Errorf("calls %d messages %d", s.Calls, s.SIPMessages)
	}
	info, upd := s.SessionKeepAlives["INFO"], s.SessionKeepAlives["UPDATE"]
	if info == nil || info.Sent != 2 || info.OK != 1 || info.Unanswered != 1 || upd == nil || upd.Unanswered != 1 {
		t.Errorf("INFO %+v UPDATE %+v", info, upd)
	}
	kinds := map[string]int{}
	for _, fd := range r.Findings {
		kinds[fd.Kind.String()]++
	}
	if kinds["unanswered"] != 1 {
		t.Errorf("findings %v, want the INFO answered too late alone", r.Findings)
	}
}

// TestResponseBeforeItsRequest feeds answers ahead of their requests, as
// a HEP collector records a proxy's own pings (Kamailio mirrors a request
// it sent after the answer the other process received): the request takes
// its answer when it comes. An answer whose request never comes, or whose
// branch names another transaction, stays without one.
func TestResponseBeforeItsRequest(t *testing.T) {
	f := newFeeder()
	f.send(0, addrA, addrB, request("INVITE", "ro", 1, "inv", false, "", ""))
	f.send(time.Second, addrB, addrA, response(200, "INVITE", "ro", 1, "inv", "tb"))
	// The 200 to an OPTIONS 40 µs before the OPTIONS; a 481 to an INFO
	// with its provisional first.
	f.send(30*time.Second, addrA, addrB, response(200, "OPTIONS", "ro", 2, "o1", "tb"))
	f.send(40*time.Microsecond, addrB, addrA, request("OPTIONS", "ro", 2, "o1", true, "", ""))
	f.send(30*time.Second, addrA, addrB, response(100, "INFO", "ro", 3, "i1", "tb"))
	f.send(time.Microsecond, addrA, addrB, response(481, "INFO", "ro", 3, "i1", "tb"))
	f.send(time.Microsecond, addrB, addrA, request("INFO", "ro", 3, "i1", true, "", ""))
	// An answer to another branch: no request of its own ever comes.
	f.send(30*time.Second, addrA, addrB, response(200, "UPDATE", "ro", 4, "gone", "tb"))
	f.send(time.Millisecond, addrB, addrA, request("UPDATE", "ro", 4, "u1", true, "", ""))
	r := f.a.Finish(capture.Stats{})
	ka := r.Summary.SessionKeepAlives
	if o, i, u := ka["OPTIONS"], ka["INFO"], ka["UPDATE"]; o == nil || o.OK != 1 || i == nil || i.C481 != 1 || u == nil || u.Unanswered != 1 {
		t.Errorf("OPTIONS %+v INFO %+v UPDATE %+v: want 200, 481, unanswered", o, i, u)
	}
	if r.Overview.OrphanResponses != 1 {
		t.Errorf("%d responses without their request, want 1 (the UPDATE's other branch)", r.Overview.OrphanResponses)
	}
}

func TestForkedAndMidCallDialogs(t *testing.T) {
	f := newFeeder()
	// One INVITE, two 2xx with different To tags: two dialogs, two calls.
	f.send(0, addrA, addrB, request("INVITE", "fork", 1, "inv", false, "", ""))
	f.send(time.Second, addrB, addrA, response(200, "INVITE", "fork", 1, "inv", "x1"))
	f.send(time.Millisecond, addrB, addrA, response(200, "INVITE", "fork", 1, "inv", "x2"))
	// A capture that starts mid-call: an INFO with both tags makes a dialog.
	f.send(time.Second, addrB, addrA, request("INFO", "mid", 7, "m1", true, "", ""))
	f.send(time.Millisecond, addrA, addrB, response(481, "INFO", "mid", 7, "m1", "tb"))
	r := f.a.Finish(capture.Stats{})
	if r.Summary.Calls != 2 || r.Overview.Dialogs != 3 {
		t.Errorf("calls %d dialogs %d", r.Summary.Calls, r.Overview.Dialogs)
	}
	if len(r.Dialogs) != 1 || !r.Dialogs[0].MidCall || r.Dialogs[0].LastCode != 481 {
		t.Errorf("dialog reports %+v", r.Dialogs)
	}
}

func TestSessionTimerVerdicts(t *testing.T) {
	tests := []struct {
		name     string
		refresh  []time.Duration // refresh times after the 2xx
		end      time.Duration
		state    TimerState
		expired  bool
		byeAfter bool
	}{
		{"on time", []time.Duration{40 * time.Second, 80 * time.Second}, 100 * time.Second, TimerOK, false, false},
		{"late", []time.Duration{55 * time.Second}, 90 * time.Second, TimerLate, false, false},
		{"expired then BYE", nil, 120 * time.Second, TimerExpiredThenBye, true, true},
	}
	for _, tt := range tests {
		f := newFeeder()
		f.send(0, addrA, addrB, request("INVITE", "st", 1, "inv", false, "", "Session-Expires: 90;refresher=uac\r\nMin-SE: 90\r\nContent-Length: 0\r\n\r\n"))
		f.send(time.Second, addrB, addrA, response(200, "INVITE", "st", 1, "inv", "tb", "Session-Expires: 90;refresher=uac", "Require: timer"))
		start := f.now
		for i, at := range tt.refresh {
			f.now = start
			f.send(at, addrA, addrB, request("UPDATE", "st", 2+i, fmt.Sprint("u", i), true, "", ""))
			f.send(10*time.Millisecond, addrB, addrA, response(200, "UPDATE", "st", 2+i, fmt.Sprint("u", i), "tb", "Session-Expires: 90;refresher=uac"))
		}
		f.now = start
		f.send(tt.end, addrA, addrB, request("BYE", "st", 9, "bye", true, "", ""))
		r := f.a.Finish(capture.Stats{})
		if len(r.Timers) != 1 {
			t.Fatalf("%s: %d timers", tt.name, len(r.Timers))
		}
		tr := r.Timers[0]
		if tr.State != tt.state || tr.Expired != tt.expired || tr.ByeAfterExpiry != tt.byeAfter ||
			tr.SessionExpires != 90 || tr.Refresher != "uac" || tr.MinSE != 90 || tr.Refreshes != len(tt.refresh) {
			t.Errorf("%s: %+v", tt.name, tr)
		}
		if got := r.Summary.SessionTimers; len(got) != 1 || got[0].Refreshes != len(tt.refresh) {
			t.Errorf("%s: summary %+v", tt.name, got)
		}
	}
}

func TestMalformedIsCounted(t *testing.T) {
	f := newFeeder()
	f.send(0, addrA, addrB, "INFO sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n\r\n")
	r := f.a.Finish(capture.Stats{})
	if r.Overview.Malformed != 1 || r.Summary.SIPMessages != 1 || !strings.Contains(fmt.Sprint(r.Overview.MalformedReasons), "Call-ID") {
		t.Errorf("overview %+v", r.Overview)
	}
}

// TestCaptureOnAProxy feeds a call as a capture on a proxy sees it: every
// request twice, caller to proxy and proxy to callee, under two branches.
// The keep-alive totals count transactions (hops); the dialog and vendor
// tables count requests, and the caller is the first hop's sender.
func TestCaptureOnAProxy(t *testing.T) {
	caller := netip.MustParseAddrPort("192.0.2.10:5060")
	proxy := netip.MustParseAddrPort("192.0.2.1:5060")
	callee := netip.MustParseAddrPort("192.0.2.20:5060")
	f := newFeeder()
	relay := func(after time.Duration, method string, cseq int, b1, b2 string, toTag bool) {
		f.send(after, caller, proxy, request(method, "px", cseq, b1, toTag, "", ""))
		f.send(time.Millisecond, proxy, callee, request(method, "px", cseq, b2, toTag, "", ""))
		f.send(time.Millisecond, callee, proxy, response(200, method, "px", cseq, b2, "tb"))
		f.send(time.Millisecond, proxy, caller, response(200, method, "px", cseq, b1, "tb"))
	}
	relay(0, "INVITE", 1, "i1", "i2", false)
	// each relay takes 3 ms: the INFOs leave the caller 30 s apart
	relay(30*time.Second-3*time.Millisecond, "INFO", 2, "k1", "k2", true)
	relay(30*time.Second-3*time.Millisecond, "INFO", 3, "k3", "k4", true)
	relay(30*time.Second-3*time.Millisecond, "INFO", 4, "k5", "k6", true)
	relay(time.Second, "BYE", 5, "y1", "y2", true)
	r := f.a.Finish(capture.Stats{})
	if got := r.Summary.SessionKeepAlives["INFO"]; got == nil || got.Sent != 6 || got.OK != 6 {
		t.Errorf("INFO totals %+v, want 6 transactions answered 200", got)
	}
	if r.Overview.RelayedKeepAlives != 3 || r.Overview.Dialogs != 1 || r.Summary.Calls != 1 {
		t.Errorf("overview %+v", r.Overview)
	}
	if len(r.Dialogs) != 1 {
		t.Fatalf("dialogs %+v", r.Dialogs)
	}
	d := r.Dialogs[0]
	if d.Count != 3 || d.IntervalMin != 30 || d.IntervalMax != 30 || d.Caller != caller.String() || d.Callee != callee.String() {
		t.Errorf("dialog %+v, want 3 INFO 30 s apart from %v to %v", d, caller, callee)
	}
	for _, v := range r.Vendors {
		if v.Agent == "Tester 1.0" && (v.Sent["INFO"] != 3 || v.Interval["INFO"] != 30) {
			t.Errorf("vendor %+v, want 3 INFO every 30 s", v)
		}
	}
}

// TestRepeatedCSeqIsNotARelay feeds what Kamailio's dialog keep-alive
// sends: in-dialog OPTIONS from the proxy with the same CSeq every round.
// Rounds are requests of their own, not relayed hops, whether the last one
// was answered or not.
func TestRepeatedCSeqIsNotARelay(t *testing.T) {
	f := newFeeder()
	f.send(0, addrA, addrB, request("INVITE", "ka", 1, "i1", false, "", ""))
	f.send(time.Millisecond, addrB, addrA, response(200, "INVITE", "ka", 1, "i1", "tb"))
	f.send(30*time.Second, addrA, addrB, request("OPTIONS", "ka", 1, "o1", true, "", ""))
	f.send(30*time.Second, addrA, addrB, request("OPTIONS", "ka", 1, "o2", true, "", ""))
	f.send(time.Millisecond, addrB, addrA, response(200, "OPTIONS", "ka", 1, "o2", "tb"))
	f.send(30*time.Second, addrA, addrB, request("OPTIONS", "ka", 1, "o3", true, "", ""))
	f.send(time.Millisecond, addrB, addrA, response(200, "OPTIONS", "ka", 1, "o3", "tb"))
	r := f.a.Finish(capture.Stats{})
	if r.Overview.RelayedKeepAlives != 0 || len(r.Dialogs) != 1 || r.Dialogs[0].Count != 3 {
		t.Errorf("relayed %d, dialogs %+v: want 3 keep-alives, none relayed", r.Overview.RelayedKeepAlives, r.Dialogs)
	}
}

// TestProxyOwnRequests feeds a capture on a proxy that keeps the dialog
// alive itself, as Kamailio's dialog module does (ka-src, ka-dst): it
// sends OPTIONS to each party in turn, written as if the other party had
// sent it, under its own Via and User-Agent, and ends the call with a BYE
// to each party when its dialog timeout fires. The keep-alives are the
// proxy's, towards each party, and the parties keep their own names.
func TestProxyOwnRequests(t *testing.T) {
	caller := netip.MustParseAddrPort("192.0.2.10:5060")
	proxy := netip.MustParseAddrPort("192.0.2.1:5060")
	callee := netip.MustParseAddrPort("192.0.2.20:5060")
	viaProxy := func(msg, branch string) string {
		return strings.Replace(msg, "Via: ", "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK"+branch+".px\r\nVia: ", 1)
	}
	callerAgent := func(msg string) string { return strings.Replace(msg, "Tester/1.0", "Caller/1.0", 1) }
	calleeAgent := func(msg string) string { return strings.Replace(msg, "Peer/2.0", "Callee/2.0", 1) }
	// own writes a request of the proxy's to a party: towards the caller,
	// From carries the callee's tag and To the caller's.
	own := func(method string, cseq int, branch string, toCaller bool) string {
		msg := strings.Replace(request(method, "pk", cseq, branch, true, "", ""), "Tester/1.0", "kamailio (5.6.3 (x86_64/linux))", 1)
		if toCaller {
			msg = strings.Replace(msg, ";tag=ta", ";tag=XX", 1)
			msg = strings.Replace(msg, ";tag=tb", ";tag=ta", 1)
			msg = strings.Replace(msg, ";tag=XX", ";tag=tb", 1)
		}
		return msg
	}
	answer := func(req string, code int) string {
		resp := strings.Replace(req, strings.SplitN(req, "\r\n", 2)[0], fmt.Sprintf("SIP/2.0 %d X", code), 1)
		return strings.Replace(resp, "User-Agent: kamailio (5.6.3 (x86_64/linux))", "Server: Party/3.0", 1)
	}
	// Over TCP the proxy reaches the callee from a port of its own
	// connection, and never relays a request towards the caller in this
	// call: it is known there as the address the INVITE went to.
	for _, legs := range []struct {
		name    string
		in, out netip.AddrPort
	}{
		{"one address and port", proxy, proxy},
		{"a port per leg", proxy, netip.MustParseAddrPort("192.0.2.1:40123")},
	} {
		t.Run(legs.name, func(t *testing.T) {
			f := newFeeder()
			inv := callerAgent(request("INVITE", "pk", 1, "i1", false, "", ""))
			f.send(0, caller, legs.in, inv)
			f.send(time.Millisecond, legs.out, callee, viaProxy(inv, "i1"))
			ok := calleeAgent(response(200, "INVITE", "pk", 1, "i1", "tb"))
			f.send(time.Millisecond, callee, legs.out, viaProxy(ok, "i1"))
			f.send(time.Millisecond, legs.in, caller, ok)
			for round := 0; round < 2; round++ {
				toCallee, toCaller := own("OPTIONS", 10+round, fmt.Sprintf("kb%d", round), false), own("OPTIONS", 20+round, fmt.Sprintf("ka%d", round), true)
				f.send(30*time.Second, legs.out, callee, toCallee)
				f.send(time.Millisecond, legs.in, caller, toCaller)
				f.send(time.Millisecond, callee, legs.out, answer(toCallee, 200))
				f.send(time.Millisecond, caller, legs.in, answer(toCaller, 200))
			}
			byeCallee, byeCaller := own("BYE", 12, "yb", false), own("BYE", 22, "ya", true)
			f.send(30*time.Second, legs.out, callee, byeCallee)
			f.send(time.Millisecond, legs.in, caller, byeCaller)
			f.send(time.Millisecond, callee, legs.out, answer(byeCallee, 200))
			f.send(time.Millisecond, caller, legs.in, answer(byeCaller, 200))
			r := f.a.Finish(capture.Stats{})
			if len(r.Dialogs) != 1 {
				t.Fatalf("dialogs %+v, want 1", r.Dialogs)
			}
			d := r.Dialogs[0]
			dirs := d.CountsByDirection()
			if want := map[string]int{"proxy to caller": 2, "proxy to callee": 2}; !reflect.DeepEqual(dirs, want) || d.ByProxy() != 4 {
				t.Errorf("directions %v (%d by proxy), want %v", dirs, d.ByProxy(), want)
			}
			if r.FindingCounts[FindingProxyBye] != 1 {
				t.Errorf("findings %v, want the proxy's BYE named", r.FindingCounts)
			}
			if d.CallerAgent != "Caller 1.0" || d.CalleeAgent != "Callee 2.0" || d.EndedBy != "proxy" {
				t.Errorf("caller %q, callee %q, ended by %q: want the parties' own agents and a BYE by the proxy", d.CallerAgent, d.CalleeAgent, d.EndedBy)
			}
			for _, v := range r.Vendors {
				if v.Sent["OPTIONS"] > 0 && (v.Agent != "kamailio 5.6" || v.Sent["OPTIONS"] != 4) {
					t.Errorf("%s sent %d OPTIONS; want kamailio 5.6, 4", v.Agent, v.Sent["OPTIONS"])
				}
			}
		})
	}
}

// TestAgentsPerPort runs a PBX on 5080 and a proxy on 5060 of one address:
// a keep-alive the PBX never answers is laid at the PBX's door, not at the
// proxy's, which spoke last from that address.
func TestAgentsPerPort(t *testing.T) {
	phone := netip.MustParseAddrPort("192.0.2.10:5060")
	pbx := netip.MustParseAddrPort("192.0.2.2:5080")
	proxy := netip.MustParseAddrPort("192.0.2.2:5060")
	f := newFeeder()
	f.send(0, phone, pbx, request("INVITE", "pp", 1, "i1", false, "", ""))
	f.send(time.Millisecond, pbx, phone, response(200, "INVITE", "pp", 1, "i1", "tb"))
	f.send(time.Second, proxy, phone, strings.Replace(request("OPTIONS", "ping", 1, "o1", false, "px", ""), "Tester/1.0", "Proxy/3.0", 1))
	f.send(30*time.Second, phone, pbx, request("INFO", "pp", 2, "k1", true, "", ""))
	f.send(time.Minute, phone, pbx, request("BYE", "pp", 3, "b1", true, "", ""))
	r := f.a.Finish(capture.Stats{})
	for _, v := range r.Vendors {
		if o := v.Answered["INFO"]; o != nil && v.Agent != "Peer 2.0" {
			t.Errorf("%s answered INFO %+v; want the PBX, Peer 2.0", v.Agent, o)
		}
	}
}

// TestLongCallHoldsADigest keeps a call up for 200 keep-alives: the
// dialog holds only its recent transactions (the rest are folded into its
// digest as they settle), and its row is the one the whole history gives.
func TestLongCallHoldsADigest(t *testing.T) {
	f := newFeeder()
	f.send(0, addrA, addrB, request("INVITE", "long", 1, "i1", false, "", ""))
	f.send(time.Millisecond, addrB, addrA, response(200, "INVITE", "long", 1, "i1", "tb"))
	most := 0
	h1, h2 := idHash([]byte("long"))
	for i := 0; i < 200; i++ {
		b := fmt.Sprintf("k%d", i)
		f.send(30*time.Second-time.Millisecond, addrA, addrB, request("INFO", "long", 2+i, b, true, "", ""))
		code := 200
		if i == 100 {
			code = 481 // one failure: kept whole for its finding
		}
		f.send(time.Millisecond, addrB, addrA, response(code, "INFO", "long", 2+i, b, "tb"))
		most = max(most, len(f.a.store.lookupCall(&Event{CallID: []byte("long"), CallHash: h1, CallHash2: h2}).dialogs[0].Transactions))
	}
	f.send(time.Second, addrA, addrB, request("BYE", "long", 300, "bye", true, "", ""))
	r := f.a.Finish(capture.Stats{})
	if most > 2*compactAfter {
		t.Errorf("the dialog held up to %d transactions", most)
	}
	if len(r.Dialogs) != 1 {
		t.Fatalf("dialogs %+v", r.Dialogs)
	}
	d := r.Dialogs[0]
	if d.Count != 200 || d.IntervalMin != 30 || d.IntervalMax != 30 || d.Directions[0].Count != 200 || d.LastCode != 200 {
		t.Errorf("dialog %+v", d)
	}
	if r.FindingCounts[FindingLost] != 1 || r.Summary.SessionKeepAlives["INFO"].Sent != 200 {
		t.Errorf("findings %v, INFO %+v", r.FindingCounts, r.Summary.SessionKeepAlives["INFO"])
	}
}

// TestCutMessageIsCountedAsCut checks that a message that lacks what the
// analysis needs because its packet was cut short by the snap length is
// reported as cut, not as a peer's malformed SIP; a cut message that has
// it all is analysed.
func TestCutMessageIsCountedAsCut(t *testing.T) {
	f := newFeeder()
	whole := request("OPTIONS", "c1", 1, "b1", false, "", "")
	f.a.Message(&capture.Message{Kind: capture.SIP, Time: f.now, Src: addrA, Dst: addrB, Transport: capture.UDP,
		Payload: []byte(whole[:strings.Index(whole, "Call-ID")]), Cut: true})
	f.a.Message(&capture.Message{Kind: capture.SIP, Time: f.now, Src: addrA, Dst: addrB, Transport: capture.UDP,
		Payload: []byte(whole[:strings.Index(whole, "User-Agent")]), Cut: true})
	r := f.a.Finish(capture.Stats{})
	if r.Overview.Malformed != 1 || r.Overview.MalformedReasons[errCutBySnapLength] != 1 || r.Overview.Requests != 1 {
		t.Errorf("overview %+v", r.Overview)
	}
}

// TestSnapshotShowsLiveStateAndChangesNothing feeds the same messages to
// two analyzers, one of them snapshotted along the way: the snapshot shows
// the live keep-alives, and both final reports are identical.
func TestSnapshotShowsLiveStateAndChangesNothing(t *testing.T) {
	script := func(f *feeder, mid func()) {
		f.send(0, addrA, addrB, request("INVITE", "s1", 1, "inv", false, "", ""))
		f.send(time.Second, addrB, addrA, response(200, "INVITE", "s1", 1, "inv", "tb"))
		f.send(time.Second, addrA, addrB, request("INFO", "s1", 2, "k1", true, "", ""))
		f.send(10*time.Millisecond, addrB, addrA, response(200, "INFO", "s1", 2, "k1", "tb"))
		f.send(time.Second, addrA, addrB, request("OPTIONS", "p1", 1, "o1", false, "", ""))
		mid()
		f.send(100*time.Second, addrA, addrB, request("INFO", "s1", 3, "k2", true, "", ""))
		f.send(10*time.Millisecond, addrB, addrA, response(481, "INFO", "s1", 3, "k2", "tb"))
		f.send(time.Second, addrA, addrB, request("BYE", "s1", 4, "bye", true, "", ""))
	}
	plain, snapped := newFeeder(), newFeeder()
	script(plain, func() {})
	var snap *Report
	script(snapped, func() { snap = snapped.a.Snapshot(capture.Stats{}) })
	if info := snap.Summary.SessionKeepAlives["INFO"]; info == nil || info.Sent != 1 || info.OK != 1 {
		t.Errorf("snapshot INFO %+v, want the live one answered 200", info)
	}
	if opts := snap.Summary.DeviceKeepAlives["OPTIONS"]; opts == nil || opts.Unanswered != 1 {
		t.Errorf("snapshot OPTIONS %+v, want one still unanswered", opts)
	}
	if snap.Summary.Calls != 1 || len(snap.Dialogs) != 1 || snap.Dialogs[0].LastCode != 200 {
		t.Errorf("snapshot calls %d dialogs %+v", snap.Summary.Calls, snap.Dialogs)
	}
	a, b := plain.a.Finish(capture.Stats{}), snapped.a.Finish(capture.Stats{})
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Errorf("a snapshot changed the final report:\n%s\n%s", ja, jb)
	}
	if a.Summary.SessionKeepAlives["INFO"].C481 != 1 || a.Dialogs[0].LastCode != 481 {
		t.Errorf("final %+v", a.Summary.SessionKeepAlives["INFO"])
	}
}

// TestRegisterExpiryFromContact registers the way real stacks do: the
// phone asks with an Expires header, Kamailio-style registrars answer with
// the granted expiry as the binding's Contact parameter only, and list the
// other bindings of the address of record too. The binding's parameter
// settles when the refresh is due (RFC 3261 sections 10.2.1.1, 10.3).
func TestRegisterExpiryFromContact(t *testing.T) {
	phone := netip.MustParseAddrPort("192.0.2.10:5060")
	registrar := netip.MustParseAddrPort("192.0.2.1:5060")
	register := func(cseq int, branch, contact string) string {
		return fmt.Sprintf("REGISTER sip:h SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK%s\r\nFrom: <sip:a@h>;tag=ta\r\nTo: <sip:a@h>\r\nCall-ID: reg-1\r\nCSeq: %d REGISTER\r\n%s\r\nUser-Agent: Phone/1.0\r\nContent-Length: 0\r\n\r\n",
			branch, cseq, contact)
	}
	ok := func(cseq int, branch, contacts string) string {
		return fmt.Sprintf("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK%s\r\nFrom: <sip:a@h>;tag=ta\r\nTo: <sip:a@h>;tag=tr\r\nCall-ID: reg-1\r\nCSeq: %d REGISTER\r\n%sServer: kamailio (5.6.3 (x86_64/linux))\r\nContent-Length: 0\r\n\r\n",
			branch, cseq, contacts)
	}
	tests := []struct {
		name      string
		ask       string // the REGISTER's Contact and Expires headers
		grant     string // the 2xx's Contact headers
		refresh   time.Duration
		wantGrant int
		wantLate  int
	}{
		{"granted less than asked, in the binding's parameter: a refresh on the asked schedule is late",
			"Contact: <sip:a@192.0.2.10:5060>\r\nExpires: 3600", "Contact: <sip:a@192.0.2.10:5060>;expires=60\r\n", 1800 * time.Second, 60, 1},
		{"the other bindings of the address of record are not ours",
			"Contact: <sip:a@192.0.2.10:5060>\r\nExpires: 3600", "Contact: <sip:a@198.51.100.7:5060>;expires=10, <sip:a@192.0.2.10:5060>;expires=120\r\n", 100 * time.Second, 120, 0},
		{"the contact's parameter overrides the Expires header of the request",
			"Contact: <sip:a@192.0.2.10:5060>;expires=90\r\nExpires: 3600", "", 200 * time.Second, 90, 1},
		{"an Expires header alone, both ways, as before",
			"Contact: <sip:a@192.0.2.10:5060>\r\nExpires: 300", "Expires: 300\r\n", 250 * time.Second, 300, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFeeder()
			f.send(0, phone, registrar, register(1, "r1", tt.ask))
			f.send(10*time.Millisecond, registrar, phone, ok(1, "r1", tt.grant))
			f.send(tt.refresh, phone, registrar, register(2, "r2", tt.ask))
			f.send(10*time.Millisecond, registrar, phone, ok(2, "r2", tt.grant))
			r := f.a.Finish(capture.Stats{})
			if len(r.Devices) != 1 {
				t.Fatalf("devices %+v", r.Devices)
			}
			if d := r.Devices[0]; d.Expires != tt.wantGrant || d.LateRefresh != tt.wantLate {
				t.Errorf("granted %d, late refreshes %d; want %d, %d", d.Expires, d.LateRefresh, tt.wantGrant, tt.wantLate)
			}
		})
	}
}

// TestSDPInAnswerToUpdate: a 2xx with SDP to an UPDATE keep-alive that
// made no offer is an answer to nothing (RFC 3311 section 5.2): the
// answering vendor is named, the finding kept; a 2xx without SDP, or SDP
// in a 2xx to an INFO, is no such finding.
func TestSDPInAnswerToUpdate(t *testing.T) {
	sdp := "Content-Type: application/sdp\r\nContent-Length: 33\r\n\r\nv=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\n"
	f := newFeeder()
	f.send(0, addrA, addrB, request("INVITE", "ua", 1, "i1", false, "", ""))
	f.send(time.Millisecond, addrB, addrA, response(200, "INVITE", "ua", 1, "i1", "tb"))
	f.send(30*time.Second, addrA, addrB, request("UPDATE", "ua", 2, "u1", true, "", ""))
	f.send(time.Millisecond, addrB, addrA, strings.Replace(response(200, "UPDATE", "ua", 2, "u1", "tb"), "Content-Length: 0\r\n\r\n", sdp, 1))
	f.send(30*time.Second, addrA, addrB, request("UPDATE", "ua", 3, "u2", true, "", ""))
	f.send(time.Millisecond, addrB, addrA, response(200, "UPDATE", "ua", 3, "u2", "tb"))
	f.send(30*time.Second, addrA, addrB, request("INFO", "ua", 4, "n1", true, "", ""))
	f.send(time.Millisecond, addrB, addrA, strings.Replace(response(200, "INFO", "ua", 4, "n1", "tb"), "Content-Length: 0\r\n\r\n", sdp, 1))
	r := f.a.Finish(capture.Stats{})
	if r.FindingCounts[FindingSDPInAnswer] != 1 {
		t.Fatalf("finding counts %v, want one sdp-in-answer", r.FindingCounts)
	}
	for _, v := range r.Vendors {
		want := 0
		if v.Agent == "Peer 2.0" {
			want = 1
		}
		if v.SDPAnswers != want {
			t.Errorf("%s: %d SDP answers; want %d", v.Agent, v.SDPAnswers, want)
		}
	}
}

// TestTimerAddedByProxy: the callee's 2xx carries no session timer, and
// the proxy puts one into the 2xx it relays to the caller (RFC 4028
// section 8.1; Kamailio's sst module does so), making the caller the
// refresher. The caller never refreshes: the timer is the one the caller
// was given, and it expired.
func TestTimerAddedByProxy(t *testing.T) {
	caller := netip.MustParseAddrPort("192.0.2.10:5060")
	proxy := netip.MustParseAddrPort("192.0.2.1:5060")
	callee := netip.MustParseAddrPort("192.0.2.20:5060")
	viaProxy := func(msg string) string {
		return strings.Replace(msg, "Via: ", "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKi1.px\r\nVia: ", 1)
	}
	f := newFeeder()
	inv := request("INVITE", "st", 1, "i1", false, "", "")
	f.send(0, caller, proxy, inv)
	f.send(time.Millisecond, proxy, callee, viaProxy(strings.Replace(inv, "User-Agent:", "Session-Expires: 90\r\nUser-Agent:", 1)))
	ok := response(200, "INVITE", "st", 1, "i1", "tb")
	f.send(time.Millisecond, callee, proxy, viaProxy(ok))
	f.send(time.Millisecond, proxy, caller, response(200, "INVITE", "st", 1, "i1", "tb", "Session-Expires: 90;refresher=uac"))
	f.send(100*time.Second, caller, proxy, request("BYE", "st", 2, "b1", true, "", ""))
	r := f.a.Finish(capture.Stats{})
	if len(r.Timers) != 1 {
		t.Fatalf("session timers %+v, want the one the proxy gave the caller", r.Timers)
	}
	if st := r.Timers[0]; st.SessionExpires != 90 || st.Refresher != "uac" || st.Requested != 0 || !st.Expired {
		t.Errorf("timer %+v, want 90 s, refresher uac, not asked for by the caller, expired", st)
	}
}

// TestProxyPerDialog: whether a sender is a proxy is known per dialog. An
// SBC that relays one call (its INVITE leaves with two Vias) and is a
// party to another (a B2BUA leg it starts itself, one Via) sends its own
// keep-alive and BYE in the second as a party; on a capture of the
// relayed call's outer leg alone, its own keep-alive there is a proxy's.
func TestProxyPerDialog(t *testing.T) {
	sbc := netip.MustParseAddrPort("198.51.100.1:5060")
	pbx := netip.MustParseAddrPort("198.51.100.2:5060")
	relayed := func(msg string) string {
		return strings.Replace(msg, "Via: ", "Via: SIP/2.0/UDP 198.51.100.1;branch=z9hG4bKsbc\r\nVia: ", 1)
	}
	f := newFeeder()
	// the relayed call, seen only between the SBC and the PBX
	f.send(0, sbc, pbx, relayed(request("INVITE", "relayed", 1, "r1", false, "", "")))
	f.send(time.Millisecond, pbx, sbc, relayed(response(200, "INVITE", "relayed", 1, "r1", "tb")))
	// the SBC's own call
	f.send(time.Second, sbc, pbx, request("INVITE", "b2b", 1, "b1", false, "", ""))
	f.send(time.Millisecond, pbx, sbc, response(200, "INVITE", "b2b", 1, "b1", "tb"))
	f.send(30*time.Second, sbc, pbx, request("OPTIONS", "relayed", 2, "k1", true, "", ""))
	f.send(time.Millisecond, pbx, sbc, response(200, "OPTIONS", "relayed", 2, "k1", "tb"))
	f.send(time.Millisecond, sbc, pbx, request("OPTIONS", "b2b", 2, "k2", true, "", ""))
	f.send(time.Millisecond, pbx, sbc, response(200, "OPTIONS", "b2b", 2, "k2", "tb"))
	f.send(time.Second, sbc, pbx, request("BYE", "b2b", 3, "y2", true, "", ""))
	f.send(time.Millisecond, pbx, sbc, response(200, "BYE", "b2b", 3, "y2", "tb"))
	r := f.a.Finish(capture.Stats{})
	want := map[string]string{"relayed": "proxy to callee", "b2b": "caller"}
	for _, d := range r.Dialogs {
		if len(d.Directions) != 1 || d.Directions[0].From != want[d.CallID] {
			t.Errorf("%s: directions %+v, want from %s", d.CallID, d.Directions, want[d.CallID])
		}
		if d.CallID == "b2b" && d.EndedBy != "caller" {
			t.Errorf("b2b ended by %q, want the caller", d.EndedBy)
		}
	}
	if len(r.Dialogs) != 2 || r.FindingCounts[FindingProxyBye] != 0 {
		t.Errorf("%d dialogs, findings %v: want 2, no proxy-bye", len(r.Dialogs), r.FindingCounts)
	}
}

// TestRequestTimeoutEndsTheSession: a keep-alive answered 408 is lost, as
// with 481 (RFC 4028 section 10), and the BYE after it dropped the call;
// one answered 488 was only refused.
func TestRequestTimeoutEndsTheSession(t *testing.T) {
	f := newFeeder()
	f.send(0, addrA, addrB, request("INVITE", "rt", 1, "inv", false, "", ""))
	f.send(time.Second, addrB, addrA, response(200, "INVITE", "rt", 1, "inv", "tb"))
	f.send(30*time.Second, addrA, addrB, request("INFO", "rt", 2, "i1", true, "", ""))
	f.send(time.Millisecond, addrB, addrA, response(488, "INFO", "rt", 2, "i1", "tb"))
	f.send(30*time.Second, addrA, addrB, request("INFO", "rt", 3, "i2", true, "", ""))
	f.send(time.Millisecond, addrB, addrA, response(408, "INFO", "rt", 3, "i2", "tb"))
	f.send(time.Second, addrA, addrB, request("BYE", "rt", 4, "bye", true, "", ""))
	r := f.a.Finish(capture.Stats{})
	if fc := r.FindingCounts; fc[FindingRefused] != 1 || fc[FindingLost] != 1 || fc[FindingDropped] != 1 {
		t.Errorf("findings %v: want the 488 refused, the 408 lost and the BYE after it a drop", fc)
	}
	if len(r.Dialogs) != 1 || r.Dialogs[0].LastCode != 408 || !r.Dialogs[0].Dropped {
		t.Errorf("dialogs %+v", r.Dialogs)
	}
}

// TestFlowMarksAnswersBeforeTheirRequest: in the call flow, an answer
// recorded before its keep-alive request is marked as the keep-alive's.
func TestFlowMarksAnswersBeforeTheirRequest(t *testing.T) {
	fc := NewFlowCollector("fl")
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, raw := range []string{
		response(200, "OPTIONS", "fl", 2, "o1", "tb"),
		request("OPTIONS", "fl", 2, "o1", true, "", ""),
		response(200, "BYE", "fl", 3, "b1", "tb"),
	} {
		fc.Message(&capture.Message{Kind: capture.SIP, Time: at.Add(time.Duration(i) * time.Millisecond), Src: addrA, Dst: addrB, Payload: []byte(raw)})
	}
	f := fc.flows["fl"]
	if f == nil || len(f.Messages) != 3 || !f.Messages[0].KeepAlive || !f.Messages[1].KeepAlive || f.Messages[2].KeepAlive {
		t.Fatalf("flow %+v: want the early 200 and the OPTIONS marked, not the BYE's 200", f)
	}
}

// TestRefreshNeedsSessionExpiresIn2xx: a session refresh is a re-INVITE or
// UPDATE whose 2xx carries Session-Expires (RFC 4028 sections 7.4 and
// 8.1); one answered without it did not refresh the timer, switched it
// off, and is reported with who sent it. A refresh by the side that is not
// the refresher is a refresh all the same. Either way an SDP-less UPDATE
// is a keep-alive.
func TestRefreshNeedsSessionExpiresIn2xx(t *testing.T) {
	fromCallee := func(method string, cseq int, branch, extra string) string {
		return fmt.Sprintf("%s sip:a@h SIP/2.0\r\nVia: SIP/2.0/UDP h2;branch=z9hG4bK%s\r\nFrom: <sip:b@h>;tag=tb\r\nTo: <sip:a@h>;tag=ta\r\nCall-ID: se\r\nCSeq: %d %s\r\nUser-Agent: Peer/2.0\r\n%sContent-Length: 0\r\n\r\n",
			method, branch, cseq, method, extra)
	}
	toCallee := func(code int, method string, cseq int, branch, extra string) string {
		return fmt.Sprintf("SIP/2.0 %d OK\r\nVia: SIP/2.0/UDP h2;branch=z9hG4bK%s\r\nFrom: <sip:b@h>;tag=tb\r\nTo: <sip:a@h>;tag=ta\r\nCall-ID: se\r\nCSeq: %d %s\r\nServer: Tester/1.0\r\n%sContent-Length: 0\r\n\r\n",
			code, branch, cseq, method, extra)
	}
	for _, tt := range []struct {
		name                      string
		reqSE, respSE             string
		refreshes, byOther, notRe int
		off                       bool
	}{
		{"2xx without Session-Expires", "", "", 0, 0, 2, true},
		{"request asks, 2xx drops it", "Session-Expires: 600\r\n", "", 0, 0, 2, true},
		// the first refresh is the callee's while the caller is the
		// refresher; its 2xx's refresher=uac makes the callee (the UAC of
		// that UPDATE) the refresher for the second
		{"refresh by the other side", "Session-Expires: 600;refresher=uac\r\n", "Session-Expires: 600;refresher=uac\r\n", 2, 1, 0, false},
	} {
		f := newFeeder()
		f.send(0, addrA, addrB, request("INVITE", "se", 1, "inv", false, "", "Session-Expires: 600;refresher=uac\r\nContent-Length: 0\r\n\r\n"))
		f.send(time.Second, addrB, addrA, response(200, "INVITE", "se", 1, "inv", "tb", "Session-Expires: 600;refresher=uac"))
		f.send(100*time.Second, addrB, addrA, fromCallee("UPDATE", 1, "u1", tt.reqSE))
		f.send(10*time.Millisecond, addrA, addrB, toCallee(200, "UPDATE", 1, "u1", tt.respSE))
		f.send(100*time.Second, addrB, addrA, fromCallee("UPDATE", 2, "u2", tt.reqSE))
		f.send(10*time.Millisecond, addrA, addrB, toCallee(200, "UPDATE", 2, "u2", tt.respSE))
		f.send(50*time.Second, addrA, addrB, request("BYE", "se", 2, "bye", true, "", ""))
		r := f.a.Finish(capture.Stats{})
		if len(r.Timers) != 1 || len(r.Summary.SessionTimers) != 1 {
			t.Fatalf("%s: timers %+v", tt.name, r.Timers)
		}
		tc := r.Timers[0].TimerCheck
		if tc.Refreshes != tt.refreshes || tc.ByOther != tt.byOther || tc.NotRefreshing != tt.notRe || r.Summary.SessionTimers[0].Refreshes != tt.refreshes {
			t.Errorf("%s: %+v, summary %+v", tt.name, tc, r.Summary.SessionTimers[0])
		}
		if off := tc.SwitchedOff; (off != nil) != tt.off || (off != nil && (off.Sender != "callee" || off.CSeq != 1)) {
			t.Errorf("%s: switched off %+v, want %v by the callee's first UPDATE", tt.name, off, tt.off)
		}
		if got := r.FindingCounts[FindingTimerOff]; got != map[bool]int{true: 1}[tt.off] {
			t.Errorf("%s: %d timer-off findings", tt.name, got)
		}
		if u := r.Summary.SessionKeepAlives["UPDATE"]; u == nil || u.Sent != 2 || u.OK != 2 {
			t.Errorf("%s: UPDATE keep-alives %+v, want 2 answered: a keep-alive whether or not it refreshes", tt.name, u)
		}
	}
}

// TestRFC2543RequestsWithoutBranch: old ATAs send Via without a branch
// (RFC 2543); their requests are told apart by CSeq (RFC 3261 section
// 17.2.3's rules for requests without the magic cookie), so two
// keep-alives stay two transactions and a retransmission stays one.
func TestRFC2543RequestsWithoutBranch(t *testing.T) {
	noBranch := func(s string) string { return strings.Replace(s, ";branch=z9hG4bK", ";received=", 1) }
	f := newFeeder()
	f.send(0, addrA, addrB, noBranch(request("INVITE", "old", 1, "x", false, "", "")))
	f.send(time.Second, addrB, addrA, noBranch(response(200, "INVITE", "old", 1, "x", "tb")))
	for i, cseq := range []int{2, 2, 3} { // CSeq 2 retransmitted
		f.send(30*time.Second, addrA, addrB, noBranch(request("INFO", "old", cseq, "x", true, "", "")))
		if i != 0 {
			f.send(10*time.Millisecond, addrB, addrA, noBranch(response(200, "INFO", "old", cseq, "x", "tb")))
		}
	}
	r := f.a.Finish(capture.Stats{})
	if info := r.Summary.SessionKeepAlives["INFO"]; info == nil || info.Sent != 2 || info.OK != 2 {
		t.Errorf("INFO %+v: want 2 transactions, both answered", info)
	}
}

// TestReinvitePurposes: what a re-INVITE with SDP is for is told from its
// offer (a T.38 switch by m=image, hold and resume by the direction
// attribute, RFC 3264 8.4), a refused one is a finding that says what the
// call did next, and none is a session refresh without a timer.
func TestReinvitePurposes(t *testing.T) {
	sdp := func(extra string) string {
		body := "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n" + extra
		return fmt.Sprintf("Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	}
	f := newFeeder()
	f.send(0, addrA, addrB, request("INVITE", "fax", 1, "inv", false, "", sdp("m=audio 4000 RTP/AVP 0\r\n")))
	f.send(time.Second, addrB, addrA, response(200, "INVITE", "fax", 1, "inv", "tb"))
	offers := []struct {
		media string
		code  int
	}{
		{"m=image 4002 udptl t38\r\n", 488},
		{"m=audio 4000 RTP/AVP 8\r\n", 200},
		{"m=audio 4000 RTP/AVP 8\r\na=sendonly\r\n", 200},
		{"m=audio 4000 RTP/AVP 8\r\na=sendrecv\r\n", 200},
	}
	for i, o := range offers {
		f.send(10*time.Second, addrA, addrB, request("INVITE", "fax", 2+i, fmt.Sprint("re", i), true, "", sdp(o.media)))
		f.send(10*time.Millisecond, addrB, addrA, response(o.code, "INVITE", "fax", 2+i, fmt.Sprint("re", i), "tb"))
	}
	f.send(10*time.Second, addrA, addrB, request("BYE", "fax", 9, "bye", true, "", ""))
	r := f.a.Finish(capture.Stats{})
	var got []Purpose
	for _, n := range r.NotKeepAlives {
		got = append(got, n.Purpose)
		if n.Refresh {
			t.Errorf("%+v: a session refresh without a session timer", n)
		}
	}
	if want := []Purpose{PurposeT38, PurposeRenegotiation, PurposeHold, PurposeResume}; !slices.Equal(got, want) {
		t.Errorf("purposes %v, want %v", got, want)
	}
	if r.FindingCounts[FindingOfferRefused] != 1 {
		t.Fatalf("findings %v, want the refused T.38 offer", r.FindingCounts)
	}
	for _, fd := range r.Findings {
		if fd.Kind == FindingOfferRefused && (fd.Facts.Code != 488 || fd.Facts.Purpose != PurposeT38 || fd.Facts.Ender != "caller" || fd.Facts.Seconds < 39) {
			t.Errorf("refused offer %+v: want 488 to the T.38 offer, the caller's BYE 40 s later", fd.Facts)
		}
	}
}

// TestFailingRegistration: a registrar that challenges the phone's
// answer to its challenge, forbids it, loops its REGISTERs (483) or finds
// the expiry too brief (423, with Min-Expires) raises one finding per way
// of failing, with the count and the first and last time; a first
// challenge alone is how digest authentication goes, no failure.
func TestFailingRegistration(t *testing.T) {
	f := newFeeder()
	reg := func(cseq int, code int, extra ...string) {
		b := fmt.Sprint("r", cseq)
		f.send(10*time.Second, addrA, addrB, request("REGISTER", "reg", cseq, b, false, "", "Contact: <sip:a@192.0.2.1>\r\nExpires: 60\r\nContent-Length: 0\r\n\r\n"))
		f.send(10*time.Millisecond, addrB, addrA, response(code, "REGISTER", "reg", cseq, b, "tr", extra...))
	}
	reg(1, 401) // a challenge: normal
	reg(2, 200)
	reg(3, 401)
	reg(4, 401) // the credentials refused
	reg(5, 403)
	for i := 6; i < 9; i++ {
		reg(i, 483)
	}
	reg(9, 423, "Min-Expires: 3600")
	r := f.a.Finish(capture.Stats{})
	if n := r.FindingCounts[FindingRegisterFailed]; n != 4 {
		t.Fatalf("%d register-failed findings, want 4: %+v", n, r.Findings)
	}
	got := map[int]FindingFacts{}
	for _, fd := range r.Findings {
		if fd.Kind == FindingRegisterFailed {
			got[fd.Facts.Code] = fd.Facts
		}
	}
	if x := got[401]; !x.Rechallenged || x.Pings != 1 {
		t.Errorf("401: %+v, want one challenge answered by another", x)
	}
	if x := got[483]; x.Pings != 3 || !x.Until.After(r.Findings[0].Time) {
		t.Errorf("483: %+v, want 3 and the last time", x)
	}
	if x := got[423]; x.Limit != 3600 {
		t.Errorf("423: %+v, want Min-Expires 3600", x)
	}
	if x := got[403]; x.Pings != 1 || x.Agent != "Peer 2.0" {
		t.Errorf("403: %+v, want once, from the registrar Peer 2.0", x)
	}
}

// TestEndOfCaptureIsNoAnswer: a request the capture ends on, still within
// its transaction timeout, is pending at capture end: counted as the
// corpus schema counts it (unanswered), but no finding, no down window,
// no dropped call, and the dialog's verdict says so.
func TestEndOfCaptureIsNoAnswer(t *testing.T) {
	f := newFeeder()
	f.send(0, addrA, addrB, request("INVITE", "end", 1, "inv", false, "", ""))
	f.send(time.Second, addrB, addrA, response(200, "INVITE", "end", 1, "inv", "tb"))
	f.send(30*time.Second, addrA, addrB, request("OPTIONS", "ping", 1, "p1", false, "", ""))
	f.send(10*time.Millisecond, addrB, addrA, response(200, "OPTIONS", "ping", 1, "p1", "tp"))
	f.send(20*time.Second, addrA, addrB, request("INFO", "end", 2, "k1", true, "", ""))
	f.send(time.Millisecond, addrA, addrB, request("OPTIONS", "ping", 2, "p2", false, "", ""))
	r := f.a.Finish(capture.Stats{})
	if info := r.Summary.SessionKeepAlives["INFO"]; info == nil || info.Unanswered != 1 {
		t.Errorf("INFO %+v: the schema counts it unanswered", info)
	}
	if n := len(r.Findings); n != 0 {
		t.Errorf("findings %+v: the end of the capture is no answer of the peer's", r.Findings)
	}
	if len(r.Dialogs) != 1 || !r.Dialogs[0].LastPending {
		t.Errorf("dialogs %+v: want the last keep-alive pending", r.Dialogs)
	}
	if len(r.Devices) != 1 || len(r.Devices[0].DownWindows) != 0 || r.Devices[0].Codes["pending"] != 1 {
		t.Errorf("devices %+v: want the last ping pending, no down window", r.Devices)
	}
}

// TestRegistrationWindows follows one phone's registrations: refused at
// first (the credentials are challenged twice), then registered for 60 s
// and refreshed in time, refreshed too late (a gap while the binding had
// expired), unregistered with Expires 0, and silent to the capture's end.
func TestRegistrationWindows(t *testing.T) {
	f := newFeeder()
	reg := func(after time.Duration, cseq, code int, expires string) {
		f.send(after, addrA, addrB, request("REGISTER", "reg", cseq, fmt.Sprint("r", cseq), false, "", "Expires: "+expires+"\r\nContent-Length: 0\r\n\r\n"))
		f.send(10*time.Millisecond, addrB, addrA, response(code, "REGISTER", "reg", cseq, fmt.Sprint("r", cseq), "tr", "Expires: "+expires))
	}
	start := f.now
	reg(0, 1, 401, "60")
	reg(time.Second, 2, 401, "60") // the credentials refused
	reg(5*time.Second, 3, 200, "60")
	registered := f.now
	reg(50*time.Second, 4, 200, "60") // in time: extends to +60 s from here
	refreshed := f.now
	reg(80*time.Second, 5, 200, "60") // 20 s after the binding ran out
	late := f.now
	reg(30*time.Second, 6, 200, "0") // unregisters
	gone := f.now
	f.send(100*time.Second, addrA, addrB, request("OPTIONS", "other", 1, "o", false, "", "")) // the capture goes on
	r := f.a.Finish(capture.Stats{})
	var d *DeviceReport
	for i := range r.Devices {
		if r.Devices[i].Method == "REGISTER" {
			d = &r.Devices[i]
		}
	}
	if d == nil {
		t.Fatal("no REGISTER row")
	}
	want := []RegWindow{{Start: start, End: registered, Why: RegGapRefused},
		{Start: refreshed.Add(60 * time.Second), End: late, Why: RegGapExpired},
		{Start: gone, End: f.now, Why: RegGapUnregistered, Open: true}}
	if fmt.Sprint(d.Unregistered) != fmt.Sprint(want) {
		t.Errorf("unregistered windows\n%v, want\n%v", d.Unregistered, want)
	}
	if len(d.Registered) != 2 || !d.Registered[0].Start.Equal(registered) || !d.Registered[0].End.Equal(refreshed.Add(60*time.Second)) ||
		!d.Registered[1].Start.Equal(late) || !d.Registered[1].End.Equal(gone) {
		t.Errorf("registered windows %v", d.Registered)
	}
}

// TestSnapshotSaysWhatTheEndWill: a live view of a call still up shows it
// in progress, its keep-alive answered 501 as a finding and a problem, and
// a keep-alive still within its timeout as pending, not unanswered.
func TestSnapshotSaysWhatTheEndWill(t *testing.T) {
	f := newFeeder()
	f.send(0, addrA, addrB, request("INVITE", "lv", 1, "inv", false, "", ""))
	f.send(time.Second, addrB, addrA, response(200, "INVITE", "lv", 1, "inv", "tb"))
	f.send(time.Second, addrA, addrB, request("UPDATE", "lv", 2, "u1", true, "", ""))
	f.send(10*time.Millisecond, addrB, addrA, response(501, "UPDATE", "lv", 2, "u1", "tb"))
	f.send(30*time.Second, addrA, addrB, request("INFO", "lv", 3, "i1", true, "", ""))
	f.send(2*time.Second, addrA, addrB, request("OPTIONS", "other", 1, "o", false, "", "")) // the clock moves on
	snap := f.a.Snapshot(capture.Stats{})
	if len(snap.Dialogs) != 1 || !snap.Dialogs[0].InProgress || !snap.Dialogs[0].LastPending {
		t.Fatalf("live dialogs %+v, want one in progress with its last keep-alive pending", snap.Dialogs)
	}
	if snap.Overview.ProblemDialogs != 1 || snap.FindingCounts[FindingUnsupported] != 1 || snap.FindingCounts[FindingUnanswered] != 0 {
		t.Errorf("problems %d, findings %v: want the 501 alone", snap.Overview.ProblemDialogs, snap.FindingCounts)
	}
	if len(snap.Findings) != 1 || snap.Findings[0].Kind != FindingUnsupported {
		t.Errorf("findings %+v", snap.Findings)
	}
}

// TestRequestSeenAtTwoTaps: a capture taken at two taps of an SBC sees a
// phone's in-dialog OPTIONS twice, NATed between the taps (other source
// and destination, the same branch and CSeq). It is one request, not a
// retransmission, and the phone, which names itself nowhere, is one
// vendor row with one interval, whichever tap its later pings were seen at.
func TestRequestSeenAtTwoTaps(t *testing.T) {
	f := newFeeder()
	tap1, tap2 := netip.MustParseAddrPort("10.35.40.25:5060"), netip.MustParseAddrPort("10.35.60.72:5060")
	sbc1, sbc2 := netip.MustParseAddrPort("10.35.40.1:5060"), netip.MustParseAddrPort("10.35.60.1:5060")
	noUA := func(s string) string { return strings.Replace(s, "User-Agent: Tester/1.0\r\n", "", 1) }
	f.send(0, tap1, sbc1, noUA(request("INVITE", "tap", 1, "inv", false, "", "")))
	f.send(time.Millisecond, sbc1, tap1, response(200, "INVITE", "tap", 1, "inv", "tb"))
	for i := range 3 {
		branch := fmt.Sprint("o", i)
		if i < 2 {
			f.send(30*time.Second, tap1, sbc1, noUA(request("OPTIONS", "tap", 2+i, branch, true, "", "")))
			f.send(time.Millisecond, tap2, sbc2, noUA(request("OPTIONS", "tap", 2+i, branch, true, "", "")))
		} else {
			f.send(30*time.Second, tap2, sbc2, noUA(request("OPTIONS", "tap", 2+i, branch, true, "", "")))
		}
		f.send(time.Millisecond, sbc1, tap1, response(200, "OPTIONS", "tap", 2+i, branch, "tb"))
	}
	r := f.a.Finish(capture.Stats{})
	if o := r.Summary.SessionKeepAlives["OPTIONS"]; o == nil || o.Sent != 3 {
		t.Fatalf("OPTIONS %+v, want 3 sent", o)
	}
	var rows []string
	for _, v := range r.Vendors {
		if v.Sent["OPTIONS"] > 0 {
			rows = append(rows, fmt.Sprintf("%s ×%d", v.Agent, v.Sent["OPTIONS"]))
		}
	}
	if len(rows) != 1 || rows[0] != "unknown (10.35.40.25) ×3" {
		t.Errorf("vendor rows %v, want the phone once with 3 OPTIONS", rows)
	}
}
