package analyze

import (
	"cmp"
	"net/netip"
	"slices"
	"time"
)

// A flood is many out-of-dialog requests of one method from one source to
// one target that never got a final answer: a scanner trying extensions,
// a storm of retries after a failover, a peer pinging a dead neighbour
// fast. Each request usually has a Call-ID of its own, so no dialog or
// device row shows it; the ledger counts them by source, target and
// method, and a count at flood size and rate is a finding of its own.

const (
	// floodMinimum is the fewest unanswered requests a flood has.
	floodMinimum = 100
	// floodMinRate is the slowest a flood comes, in requests a second:
	// a dead peer pinged every 30 s is device-down, not a flood.
	floodMinRate = 1.0
	// maxFloodPairs bounds the source, target and method triples counted;
	// later triples are counted together (floodOthers).
	maxFloodPairs = 4096
)

// floodKey is one source, target and method.
type floodKey struct {
	src, dst netip.Addr
	method   string
}

// floodAgg counts the unanswered requests of one floodKey.
type floodAgg struct {
	n           int
	first, last time.Time
}

// floodCount counts t, an out-of-dialog request, if it was never answered.
func (l *ledger) floodCount(t *Transaction) {
	if t.ToTag != "" || t.Final != 0 || t.Late != 0 || (t.pending && !t.evicted) {
		return
	}
	k := floodKey{t.Src.Addr(), t.Dst.Addr(), t.Method}
	g := l.tot.floods[k]
	if g == nil {
		if len(l.tot.floods) >= maxFloodPairs {
			l.tot.floodOthers++
			return
		}
		g = &floodAgg{first: t.Start}
		l.tot.floods[k] = g
	}
	g.n++
	g.first = minTime(g.first, t.Start)
	if t.Start.After(g.last) {
		g.last = t.Start
	}
}

// floodFindings adds a finding for each triple that came at flood size
// and rate, in the order the floods began.
func (l *ledger) floodFindings() {
	var keys []floodKey
	for k, g := range l.tot.floods {
		if g.n >= floodMinimum && float64(g.n) >= floodMinRate*max(1, g.last.Sub(g.first).Seconds()) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b floodKey) int {
		return cmp.Or(l.tot.floods[a].first.Compare(l.tot.floods[b].first),
			a.src.Compare(b.src), a.dst.Compare(b.dst), cmp.Compare(a.method, b.method))
	})
	for _, k := range keys {
		g := l.tot.floods[k]
		if l.keepFinding(FindingFlood) {
			l.addFinding(Finding{Kind: FindingFlood, Time: g.first, Facts: FindingFacts{
				Method: k.method, From: k.src.String(), To: k.dst.String(), Pings: g.n, Until: g.last,
				Seconds: g.last.Sub(g.first).Seconds()}})
		}
	}
}
