package analyze

import (
	"net/netip"
	"time"
)

// keepAlive is one session keep-alive as a dialog's digest takes it: what
// its row and findings are built from.
type keepAlive struct {
	Start, FinalAt               time.Time
	Method, FromTag, Allow       string
	Agent                        string // User-Agent of the sender
	Src                          netip.AddrPort
	CSeq                         uint32
	Final, Late, Retransmissions int32
	side                         uint8 // who sent it (see Dialog.sideOf)
	pending                      bool  // the input ended while it could still be answered
}

func keepAliveOf(t *Transaction) keepAlive {
	k := keepAlive{Start: t.Start, FinalAt: t.FinalAt, Method: t.Method, FromTag: t.FromTag, Allow: t.Allow,
		Agent: t.Agent, Src: t.Src, CSeq: t.CSeq, Final: int32(t.Final), Late: int32(t.Late), Retransmissions: int32(t.Retransmissions), pending: t.pending}
	if d := t.Dialog; d != nil {
		k.side = uint8(d.sideOf(t.FromTag, t.byProxy))
	}
	return k
}

// Outcome buckets the final response as the keep-alive tables do.
func (k *keepAlive) Outcome() Outcome { return OutcomeOf(int(k.Final)) }

// failed reports whether the keep-alive is a finding: the peer lost the
// dialog, does not support the method, refused it otherwise, or did not
// answer.
func (k *keepAlive) failed() bool {
	if k.pending {
		return false // the end of the capture is no answer of the peer's
	}
	switch k.Outcome() {
	case Outcome481, Outcome405, Outcome501, OutcomeUnanswered, OutcomeOther:
		return true
	}
	return false
}

// kaDigest is what a dialog keeps of its session keep-alives, taken in
// order as they settle: the dialog's row and findings are built from it
// when the dialog retires. A call up for hours keeps an interval (eight
// bytes) per keep-alive, and whole only the keep-alives that failed.
type kaDigest struct {
	count       int
	first       time.Time // Start of the first
	methods     []MethodCount
	sides       [sides]kaSide // by sender (see Dialog.sideOf)
	lastMethod  string        // of the last keep-alive
	lastFinal   int32
	lastPending bool      // the last keep-alive was still open when the input ended
	before      keepAlive // the last sent before the BYE (so far, the last)
	hasBefore   bool
	failed      []keepAlive // for findings, in order
	prev        []keepAlive // per side and method, the one before: for the vendors' intervals

	methodsBuf [4]MethodCount // methods' first backing array: dialogs use a few
}

// kaSide is the digest of one side's keep-alives.
type kaSide struct {
	count     int
	first     time.Time
	lastStart time.Time
	lastFinal int32
	intervals []float64 // seconds between consecutive keep-alives of the side
	stale     int       // sent after the BYE

	intervalsBuf [4]float64 // intervals' first backing array: most calls are short
}

// add takes the next keep-alive of d. With vendors, the interval from the
// side's previous keep-alive of the same method is sampled for the
// sender's vendor (a snapshot, which must change nothing, passes false).
func (g *kaDigest) add(l *ledger, d *Dialog, k keepAlive, vendors bool) {
	if g.count == 0 {
		g.first = k.Start
		g.methods = g.methodsBuf[:0]
	}
	g.count++
	counted := false
	for i := range g.methods {
		if g.methods[i].Method == k.Method {
			g.methods[i].Count++
			counted = true
			break
		}
	}
	if !counted {
		g.methods = append(g.methods, MethodCount{k.Method, 1})
	}
	s := &g.sides[k.side]
	if s.count == 0 {
		s.first = k.Start
		if s.intervals == nil {
			s.intervals = s.intervalsBuf[:0]
		}
	} else {
		s.intervals = append(s.intervals, elapsed(s.lastStart, k.Start).Seconds())
	}
	s.count++
	s.lastStart, s.lastFinal = k.Start, k.Final
	if d.ended != 0 && k.Start.After(d.Ended()) {
		s.stale++
	} else {
		g.before, g.hasBefore = k, true
	}
	g.lastMethod, g.lastFinal, g.lastPending = k.Method, k.Final, k.pending
	if k.failed() {
		g.failed = append(g.failed, k)
	}
	if !vendors {
		return
	}
	for i := range g.prev {
		if p := &g.prev[i]; p.Method == k.Method && p.side == k.side {
			v := l.vendor(l.book.agentOf(p.Agent, p.Src))
			if len(v.intervals[k.Method]) < maxSamples {
				v.intervals[k.Method] = append(v.intervals[k.Method], elapsed(p.Start, k.Start).Seconds())
			}
			*p = k
			return
		}
	}
	g.prev = append(g.prev, k)
}

// reset empties g for reuse, keeping the memory of its lists.
func (g *kaDigest) reset() *kaDigest {
	failed, prev := g.failed[:0], g.prev[:0]
	var intervals [sides][]float64
	for i := range g.sides {
		intervals[i] = g.sides[i].intervals[:0]
	}
	*g = kaDigest{failed: failed, prev: prev}
	for i := range g.sides {
		g.sides[i].intervals = intervals[i]
	}
	return g
}

// clone copies g so that a snapshot can add to it: no slice of the copy
// shares memory with g (nor with g's inline arrays).
func (g *kaDigest) clone() *kaDigest {
	c := *g
	c.methods = append([]MethodCount(nil), g.methods...)
	c.failed = append([]keepAlive(nil), g.failed...)
	c.prev = nil
	for i := range c.sides {
		c.sides[i].intervals = append([]float64(nil), g.sides[i].intervals...)
	}
	return &c
}

// keepAlives returns the digest of all d's keep-alives: those settled so
// far and those still in its transactions, each request once (the later
// hops of a request a proxy relayed are left out). With vendors, the
// remaining ones are taken into d's own digest for good (the dialog
// retires); without, into a copy (a snapshot).
//
// A live view passes the time it is taken at (live; zero otherwise): a
// keep-alive still within its transaction timeout then is pending, not
// unanswered.
func (l *ledger) keepAlives(d *Dialog, vendors bool, live time.Time) *kaDigest {
	var g *kaDigest
	switch {
	case d.ka == nil && vendors:
		// a short call, retiring: the digest lives only until its row
		// and findings are built, so one is reused for every dialog
		g = l.scratch.reset()
	case d.ka == nil:
		g = &kaDigest{}
	case vendors:
		g = d.ka
	default:
		g = d.ka.clone()
	}
	for _, t := range d.Transactions {
		if t.Class == ClassSessionKeepAlive && !t.hop {
			k := keepAliveOf(t)
			if !live.IsZero() && t.Final == 0 && t.Late == 0 && elapsed(t.Start, live) <= TransactionTimeout {
				k.pending = true
			}
			g.add(l, d, k, vendors)
		}
	}
	return g
}

// settle folds a settled keep-alive of a dialog still up into the totals
// and into the dialog's digest, so that the memory of a long call does not
// grow by a Transaction per keep-alive. It reports whether it did: a
// refresh a session timer will count (an UPDATE) stays whole.
func (l *ledger) settle(d *Dialog, t *Transaction) bool {
	if t.Class != ClassSessionKeepAlive || (d.Timer != nil && t.Method == "UPDATE") {
		return false
	}
	l.foldTransaction(t)
	if !t.hop {
		if d.ka == nil {
			d.ka = &kaDigest{}
		}
		d.ka.add(l, d, keepAliveOf(t), true)
	}
	if l.opts.KeepFrames {
		d.addFrames(t.Frames)
	}
	d.dropTransaction(t)
	l.store.release(t)
	return true
}
