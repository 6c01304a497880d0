package analyze

// Device keep-alives: out-of-dialog OPTIONS pings and REGISTER refreshes
// per pinger → target pair, their runs of unanswered pings and late
// refreshes (RFC 3261 sections 10.2.1.1 and 10.3).

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// maxDownWindows bounds the down windows listed per device pair.
const maxDownWindows = 100

type devKey struct {
	method   string
	from, to netip.AddrPort
}

// deviceAgg follows one pinger → target pair's out-of-dialog keep-alives.
type deviceAgg struct {
	DeviceReport
	last      time.Time // start of the previous ping
	intervals []float64
	run       *DownWindow // the down window being extended
	granted   time.Time   // REGISTER: when the binding granted last expires
	// REGISTER: the last answer was a challenge (401, 407), and the runs
	// of each way the registrar refused to register the phone.
	challenged bool
	fails      [regFailures]regRun
	// REGISTER windows: the registered one going on (nil: none), the
	// first REGISTER sent, and when an explicit unregistration came.
	reg          *RegWindow
	firstTry     time.Time
	unregistered time.Time
}

// maxRegWindows bounds the windows listed per REGISTER pair.
const maxRegWindows = 100

// gap lists a window the phone was not registered.
func (g *deviceAgg) gap(start, end time.Time, why RegGap) {
	if end.After(start) && len(g.Unregistered) < maxRegWindows {
		g.Unregistered = append(g.Unregistered, RegWindow{Start: start, End: end, Why: why})
	}
}

// bound follows the binding a 2xx to a REGISTER granted at "at" until
// "until" (zero: the phone unregistered).
func (g *deviceAgg) bound(at, until time.Time) {
	switch {
	case g.reg != nil && !at.After(g.granted) && !until.IsZero():
		g.reg.End = until // a refresh in time
		return
	case g.reg != nil && !at.After(g.granted):
		g.reg.End = at // unregistered
		g.reg, g.unregistered = nil, at
		return
	case g.reg != nil:
		g.gap(g.granted, at, RegGapExpired) // the binding ran out before this
		g.reg = nil
	case !g.unregistered.IsZero():
		g.gap(g.unregistered, at, RegGapUnregistered)
	case len(g.Registered) == 0 && g.refused():
		g.gap(g.firstTry, at, RegGapRefused)
	}
	if until.IsZero() {
		g.unregistered = at
		return
	}
	g.unregistered = time.Time{}
	if len(g.Registered) < maxRegWindows {
		g.Registered = append(g.Registered, RegWindow{Start: at, End: until})
		g.reg = &g.Registered[len(g.Registered)-1]
	}
}

// refused reports whether the registrar refused a REGISTER of the pair
// (a first challenge is how digest authentication goes, not a refusal).
func (g *deviceAgg) refused() bool {
	for _, r := range g.fails {
		if r.count > 0 {
			return true
		}
	}
	return false
}

// closeRegistration ends the windows at the end of the capture: a binding
// still held is open; one that ran out without a refresh is a gap to the
// end; so is an unregistration, or REGISTERs never answered 2xx.
func (g *deviceAgg) closeRegistration(end time.Time) {
	if g.Method != "REGISTER" {
		return
	}
	switch {
	case g.reg != nil && g.granted.After(end):
		g.reg.Open = true
	case g.reg != nil:
		if len(g.Unregistered) < maxRegWindows && end.After(g.granted) {
			g.Unregistered = append(g.Unregistered, RegWindow{Start: g.granted, End: end, Why: RegGapExpired, Open: true})
		}
	case !g.unregistered.IsZero():
		if len(g.Unregistered) < maxRegWindows && end.After(g.unregistered) {
			g.Unregistered = append(g.Unregistered, RegWindow{Start: g.unregistered, End: end, Why: RegGapUnregistered, Open: true})
		}
	case len(g.Registered) == 0 && g.refused():
		if len(g.Unregistered) < maxRegWindows && end.After(g.firstTry) {
			g.Unregistered = append(g.Unregistered, RegWindow{Start: g.firstTry, End: end, Why: RegGapRefused, Open: true})
		}
	}
	g.reg = nil
}

// regFailure is a way a registration fails (RFC 3261 sections 10.3 and
// 21.4).
type regFailure uint8

const (
	regRechallenged regFailure = iota // 401/407 to a REGISTER that answered a challenge: the credentials were refused
	regForbidden                      // 403
	regNotFound                       // 404: the registrar does not know the user
	regTooBrief                       // 423 Interval Too Brief, with the Min-Expires asked for
	regLoop                           // 483 Too Many Hops: a routing loop
	regServer                         // 5xx
	regOther                          // any other 4xx-6xx
	regFailures
)

// regRun counts one way of failing of one pinger → registrar pair.
type regRun struct {
	count       int
	first, last time.Time
	code        int    // the last status
	minExpires  uint32 // a 423's Min-Expires
}

// registration follows a REGISTER's answer: whether it registered the
// phone, challenged it, or refused it and how.
func (g *deviceAgg) registration(t *Transaction) {
	var kind regFailure
	switch c := t.Final; {
	case c == 0 || c < 300:
		g.challenged = false
		return
	case c == 401 || c == 407:
		rechallenged := g.challenged
		g.challenged = true
		if !rechallenged {
			return // the first challenge: the phone answers it with credentials
		}
		kind = regRechallenged
	case c == 403:
		kind = regForbidden
	case c == 404:
		kind = regNotFound
	case c == 423:
		kind = regTooBrief
	case c == 483:
		kind = regLoop
	case c >= 500 && c < 600:
		kind = regServer
	default:
		kind = regOther
	}
	if kind != regRechallenged {
		g.challenged = false
	}
	r := &g.fails[kind]
	if r.count == 0 {
		r.first = t.FinalAt
	}
	r.count++
	r.last, r.code = t.FinalAt, int(t.Final)
	if t.RespMinExpires > 0 {
		r.minExpires = t.RespMinExpires
	}
}

// registrationFindings raises a finding for each way the registrations of
// a pinger → registrar pair failed, with how often, the first and the last
// time.
func (l *ledger) registrationFindings(g *deviceAgg) {
	for k := range g.fails {
		r := &g.fails[k]
		if r.count == 0 || !l.keepFinding(FindingRegisterFailed) {
			continue
		}
		l.addFinding(Finding{Kind: FindingRegisterFailed, Time: r.first, Facts: FindingFacts{
			Method: "REGISTER", From: g.From, To: g.To, Agent: g.ToAgent, Code: r.code, Pings: r.count,
			Until: r.last, Limit: float64(r.minExpires), Rechallenged: regFailure(k) == regRechallenged}})
	}
}

func (l *ledger) foldDevice(t *Transaction, sender string) {
	k := devKey{t.Method, t.Src, t.Dst}
	g, ok := l.tot.devices[k]
	if !ok {
		g = &deviceAgg{DeviceReport: DeviceReport{Method: k.method, From: k.from.String(), To: k.to.String(), Codes: map[string]int{},
			FromAgent: sender, ToAgent: l.book.agentOf(t.Answerer, t.Dst)}}
		l.tot.devices[k] = g
		l.tot.deviceOrder = append(l.tot.deviceOrder, k)
	}
	g.Sent++
	if !g.last.IsZero() && len(g.intervals) < maxSamples {
		g.intervals = append(g.intervals, t.Start.Sub(g.last).Seconds())
	}
	g.last = t.Start
	if t.Answered() {
		g.Answered++
		g.Codes[strconv.Itoa(int(t.Final))]++
		l.closeDownWindow(g)
	} else if t.pending {
		g.Unanswered++ // as the corpus schema counts it; no down window
		g.Codes["pending"]++
	} else {
		g.Unanswered++
		g.Codes["none"]++
		if g.run == nil && len(g.DownWindows) < maxDownWindows {
			g.DownWindows = append(g.DownWindows, DownWindow{Start: t.Start})
			g.run = &g.DownWindows[len(g.DownWindows)-1]
		}
		if g.run != nil {
			g.run.End, g.run.Pings = t.Start, g.run.Pings+1
		}
	}
	if isUnknown(g.ToAgent) {
		g.ToAgent = l.book.agentOf(t.Answerer, t.Dst) // the first answers may have named no one
	}
	if t.Method == "REGISTER" {
		if g.firstTry.IsZero() {
			g.firstTry = t.Start
		}
		g.registration(t)
		// A refresh after the binding expired is late.
		if !g.granted.IsZero() && t.Start.After(g.granted) {
			g.LateRefresh++
			if l.keepFinding(FindingLateRegister) {
				l.addFinding(Finding{Kind: FindingLateRegister, Time: t.Start,
					Facts: FindingFacts{Method: t.Method, From: g.From, To: g.To, Seconds: t.Start.Sub(g.granted).Seconds()}})
			}
		}
		if t.Final >= 200 && t.Final < 300 {
			exp := int(t.RespExpires)
			if exp < 0 {
				exp = int(t.Expires)
			}
			switch {
			case exp > 0:
				g.Expires = exp
				g.bound(t.FinalAt, t.FinalAt.Add(time.Duration(exp)*time.Second))
				g.granted = t.FinalAt.Add(time.Duration(exp) * time.Second)
			case exp == 0:
				g.bound(t.FinalAt, time.Time{})
				g.granted = time.Time{} // unregistered
			}
		}
	}
}

func (l *ledger) closeDownWindow(g *deviceAgg) {
	if g.run == nil {
		return
	}
	w := g.run
	if l.keepFinding(FindingDeviceDown) {
		l.addFinding(Finding{Kind: FindingDeviceDown, Time: w.Start,
			Facts: FindingFacts{Method: g.Method, From: g.From, To: g.To, Pings: w.Pings, Until: w.End}})
	}
	g.run = nil
}

// isUnknown reports whether agentOf found no name for a party.
func isUnknown(agent string) bool { return strings.HasPrefix(agent, "unknown") }
