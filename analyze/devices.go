package analyze

// Device keep-alives: out-of-dialog OPTIONS pings and REGISTER refreshes
// per pinger → target pair, their runs of unanswered pings and late
// refreshes (RFC 3261 sections 10.2.1.1 and 10.3).

import (
	"net/netip"
	"strconv"
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
		g.Codes[strconv.Itoa(t.Final)]++
		l.closeDownWindow(g)
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
	if t.Method == "REGISTER" {
		// A refresh after the binding expired is late.
		if !g.granted.IsZero() && t.Start.After(g.granted) {
			g.LateRefresh++
			if l.keepFinding(FindingLateRegister) {
				l.addFinding(Finding{Kind: FindingLateRegister, Time: t.Start,
					Facts: FindingFacts{Method: t.Method, From: g.From, To: g.To, Seconds: t.Start.Sub(g.granted).Seconds()}})
			}
		}
		if t.Final >= 200 && t.Final < 300 {
			exp := t.RespExpires
			if exp < 0 {
				exp = t.Expires
			}
			switch {
			case exp > 0:
				g.Expires = exp
				g.granted = t.FinalAt.Add(time.Duration(exp) * time.Second)
			case exp == 0:
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
