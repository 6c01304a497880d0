package synth

import (
	"container/heap"
	"fmt"
	"net/netip"
	"time"
)

// Traffic shapes for memory and speed benchmarks beside Bulk's trunk: a
// steady call rate with a fixed hold time (the state a long capture of a
// busy trunk builds up), and floods of requests that are never answered
// (a scanner or a storm of retries), each request with a Call-ID of its own.

// RateOptions shape a steady stream of calls.
type RateOptions struct {
	Rate      float64       // calls set up per second of capture time
	Hold      time.Duration // from the ACK to the BYE
	Duration  time.Duration // capture time over which calls start
	KeepAlive time.Duration // an in-dialog INFO from the caller this often during the hold (0: none)
	TCP       bool          // every call over one TCP connection between the two proxies
}

// step is one message of a call due at a time.
type step struct {
	at   time.Time
	seq  int // tie-break: calls in start order
	call *rateCall
}

type rateCall struct {
	c         *Call
	phase     ratePhase
	bye       time.Time
	hold      time.Duration // RateOptions.Hold
	keepAlive time.Duration // RateOptions.KeepAlive
	req       request
}

// ratePhase is the message of a call Rate writes next.
type ratePhase int

const (
	phaseInvite ratePhase = iota
	phaseOK
	phaseAck
	phaseInfo
	phaseInfoOK
	phaseBye
	phaseByeOK
)

type steps []step

func (s steps) Len() int { return len(s) }
func (s steps) Less(i, j int) bool {
	if !s[i].at.Equal(s[j].at) {
		return s[i].at.Before(s[j].at)
	}
	return s[i].seq < s[j].seq
}
func (s steps) Swap(i, j int) { s[i], s[j] = s[j], s[i] }
func (s *steps) Push(x any)   { *s = append(*s, x.(step)) }
func (s *steps) Pop() any {
	old := *s
	x := old[len(old)-1]
	*s = old[:len(old)-1]
	return x
}

// Rate writes calls starting o.Rate a second for o.Duration, each held
// for o.Hold: INVITE with SDP, 200 with SDP, ACK, the keep-alives if any,
// BYE, 200. Messages of concurrent calls interleave in time order; the
// parties are spread over 10.1.0.0/16 and 10.2.0.0/16 (over the proxies'
// one connection with TCP).
func Rate(w *Writer, o RateOptions) error {
	if o.Rate <= 0 || o.Duration <= 0 {
		return fmt.Errorf("rate and duration must be positive")
	}
	start := w.Now
	n := int(o.Rate * o.Duration.Seconds())
	gap := time.Duration(float64(time.Second) / o.Rate)
	proxyA := &Party{User: "edge", Addr: netip.MustParseAddrPort("198.51.100.1:5060"), Agent: "Globex-SBC/4.0.2"}
	proxyB := &Party{User: "core", Addr: netip.MustParseAddrPort("198.51.100.2:5060"), Agent: "Acme-PBX/7.1.4"}
	var q steps
	next := 0 // the next call to start
	for next < n || len(q) > 0 {
		// Start the calls due before the earliest pending message.
		if next < n && (len(q) == 0 || !start.Add(time.Duration(next)*gap).After(q[0].at)) {
			a := &Party{User: fmt.Sprintf("u%d", next), Addr: hostAddr(1, next), Agent: "Initech-Phone/2.3.1"}
			b := &Party{User: fmt.Sprintf("v%d", next), Addr: hostAddr(2, next), Agent: "Acme-PBX/7.1.4"}
			if o.TCP {
				a = &Party{User: a.User, Addr: proxyA.Addr, Agent: proxyA.Agent}
				b = &Party{User: b.User, Addr: proxyB.Addr, Agent: proxyB.Agent}
			}
			rc := &rateCall{c: w.NewCall(fmt.Sprintf("rate-%d-%s@sipalive", next, tagOf(fmt.Sprint(next))), a, b), hold: o.Hold, keepAlive: o.KeepAlive}
			rc.c.TCP = o.TCP
			heap.Push(&q, step{at: start.Add(time.Duration(next) * gap), seq: next, call: rc})
			next++
			continue
		}
		s := heap.Pop(&q).(step)
		w.Now = s.at
		at, err := s.call.send(s.at)
		if err != nil {
			return err
		}
		if !at.IsZero() {
			heap.Push(&q, step{at: at, seq: s.seq, call: s.call})
		}
	}
	return nil
}

// send writes the call's next message at now and returns when the one
// after it is due (zero: the call is over).
func (rc *rateCall) send(now time.Time) (time.Time, error) {
	c := rc.c
	phase := rc.phase
	rc.phase++
	switch phase {
	case phaseInvite:
		rc.req = c.newRequest(c.Caller, "INVITE", false, SDP(c.Caller), "", nil)
		return now.Add(20 * time.Millisecond), c.hop(c.Caller, c.Callee, rc.req.text)
	case phaseOK:
		return now.Add(5 * time.Millisecond), c.hop(c.Callee, c.Caller, c.response(rc.req, c.Callee, 200, "OK", true, SDP(c.Callee), nil))
	case phaseAck:
		rc.bye = now.Add(rc.hold)
		ack := c.newRequest(c.Caller, "ACK", true, "", "", nil)
		return rc.after(now), c.hop(c.Caller, c.Callee, ack.text)
	case phaseInfo:
		rc.req = c.newRequest(c.Caller, "INFO", true, "", "", nil)
		return now.Add(10 * time.Millisecond), c.hop(c.Caller, c.Callee, rc.req.text)
	case phaseInfoOK:
		return rc.after(now.Add(-10 * time.Millisecond)), c.hop(c.Callee, c.Caller, c.response(rc.req, c.Callee, 200, "OK", true, "", nil))
	case phaseBye:
		rc.req = c.newRequest(c.Caller, "BYE", true, "", "", nil)
		return now.Add(10 * time.Millisecond), c.hop(c.Caller, c.Callee, rc.req.text)
	}
	return time.Time{}, c.hop(c.Callee, c.Caller, c.response(rc.req, c.Callee, 200, "OK", true, "", nil))
}

// after returns when the message after a keep-alive (or the ACK) sent at
// sent is due: the next keep-alive while the hold lasts, else the BYE.
func (rc *rateCall) after(sent time.Time) time.Time {
	ka := rc.keepAlive
	if ka > 0 && sent.Add(ka).Before(rc.bye) {
		rc.phase = phaseInfo
		return sent.Add(ka)
	}
	rc.phase = phaseBye
	return rc.bye
}

// FloodOptions shape a flood of out-of-dialog requests.
type FloodOptions struct {
	Method  string  // INVITE or OPTIONS
	N       int     // requests
	Rate    float64 // requests per second of capture time
	Sources int     // distinct source addresses, taking turns (at least 1)
	Answer  int     // the target's answer to each (0: none)
}

// Flood writes o.N requests of o.Method from o.Sources addresses to one
// target, each with a Call-ID of its own and sent once (a flooder does not
// retransmit), answered o.Answer 8 ms later when not 0.
func Flood(w *Writer, o FloodOptions) error {
	if o.N <= 0 || o.Rate <= 0 {
		return fmt.Errorf("flood size and rate must be positive")
	}
	sources := max(1, o.Sources)
	gap := time.Duration(float64(time.Second) / o.Rate)
	target := &Party{User: "pbx", Addr: netip.MustParseAddrPort("192.0.2.10:5060"), Agent: "Acme-PBX/7.1.4"}
	from := make([]*Party, sources)
	for i := range from {
		from[i] = &Party{User: "100", Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{203, 0, 113, byte(1 + i%250)}), 5070), Agent: "friendly-scanner"}
	}
	start := w.Now
	for i := range o.N {
		w.Now = start.Add(time.Duration(i) * gap)
		p := from[i%sources]
		c := w.NewCall(fmt.Sprintf("flood-%d-%s", i, tagOf(fmt.Sprint(i))), p, target)
		body := ""
		if o.Method == "INVITE" {
			body = SDP(p)
		}
		r := c.newRequest(p, o.Method, false, body, "", nil)
		if err := w.UDP(p.Addr, target.Addr, []byte(r.text)); err != nil {
			return err
		}
		if o.Answer != 0 {
			w.Now = w.Now.Add(min(8*time.Millisecond, gap/2))
			if err := w.UDP(target.Addr, p.Addr, []byte(c.response(r, target, o.Answer, reasons[o.Answer], true, "", nil))); err != nil {
				return err
			}
		}
	}
	return nil
}
