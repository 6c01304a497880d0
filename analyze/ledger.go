package analyze

import (
	"time"
)

// ledger is what has settled: transactions and finished dialogs fold into
// its totals, rows and findings and are freed, so that memory follows the
// live calls, not the file size.
type ledger struct {
	opts    *Options
	book    *addressBook // to name senders and receivers
	store   *callStore   // to free what was folded
	tot     totals
	scratch kaDigest // the digest of a short call as it retires (see keepAlives)
	// findings is the list of the dialog retiring (see dialogFindings).
	findings []Finding
	// the timer rows of the dialog retiring: a sink is handed pointers
	// into the ledger rather than to values of timerReport's, which would
	// escape to the heap, two allocations per call
	timerRow     TimerReport
	timerSummary TimerSummary
	timerScratch timerScratch // what timerRow points into
}

// maxSamples bounds the interval samples kept per vendor and method, and per
// device pair: the first ones seen, so that results do not depend on timing.
const maxSamples = 4096

// totals is what has been folded so far.
type totals struct {
	calls, dialogs int
	session        map[string]*Outcomes
	notKeepAlive   map[string]int
	device         map[string]*Outcomes

	dialogRows   rowList[DialogReport]
	problemRows  rowList[DialogReport]
	notKeepRows  rowList[NotKeepAlive]
	findings     rowList[Finding]
	findingCount map[FindingKind]int
	examples     map[FindingKind][]Finding // the first findings of each kind
	timers       rowList[TimerReport]
	timerSummary []TimerSummary
	csv          []KeepAliveRow
	// relayedKeepAlives counts keep-alive transactions that were a later
	// hop of a request already counted (a capture on a proxy).
	relayedKeepAlives int
	problems          [][]FrameRef

	devices     map[devKey]*deviceAgg
	deviceOrder []devKey
	vendors     map[string]*vendorAgg
	cells       map[matrixCell]*kaCell // the interop matrix, and what each cell folds into
	lastCell    *kaCell                // the cell of lastKey, found last: a trunk's keep-alives fold into a few
	lastKey     matrixCell
	updateTo    map[string]map[string]bool // sender → receivers of UPDATE keep-alives
	floods      map[floodKey]*floodAgg     // unanswered out-of-dialog requests (see floodCount)
	floodOthers int                        // those past maxFloodPairs
}

func newTotals() totals {
	return totals{
		session:      map[string]*Outcomes{},
		notKeepAlive: map[string]int{},
		device:       map[string]*Outcomes{},
		findingCount: map[FindingKind]int{},
		examples:     map[FindingKind][]Finding{},
		devices:      map[devKey]*deviceAgg{},
		vendors:      map[string]*vendorAgg{},
		cells:        map[matrixCell]*kaCell{},
		updateTo:     map[string]map[string]bool{},
		floods:       map[floodKey]*floodAgg{},
	}
}

// rowList keeps the first max rows and counts the rest (max 0: all).
type rowList[T any] struct {
	rows     []T
	omitted  int
	streamed int  // rows handed to Options.Rows instead
	last     bool // what keep said last
}

// total is the number of rows the list was given, kept or not.
func (l *rowList[T]) total() int { return len(l.rows) + l.omitted + l.streamed }

// keep reports whether one more row is kept, counting it as omitted if
// not: a row that costs formatting is built only when it is kept (or
// observed). kept tells the same of the row keep was last asked about.
func (l *rowList[T]) keep(max int) bool {
	if max > 0 && len(l.rows)+l.streamed >= max {
		l.omitted++
		l.last = false
		return false
	}
	l.last = true
	return true
}

// kept reports what keep said last.
func (l *rowList[T]) kept() bool { return l.last }

// foldTransaction adds a settled transaction to the totals.
func (l *ledger) foldTransaction(t *Transaction) {
	if t.folded {
		return
	}
	t.folded = true
	l.floodCount(t)
	sender := l.book.agentOf(t.Agent, t.Src)
	switch {
	case t.Class == ClassSessionKeepAlive:
		outcomesFor(l.tot.session, t.Method).add(t)
		l.foldKeepAlive(t, sender)
	case t.Class.IsNotKeepAlive():
		l.tot.notKeepAlive[t.Class.Key()]++
		if rows := &l.tot.notKeepRows; rows.keep(l.opts.MaxRows) || l.opts.Observe != nil {
			row := NotKeepAlive{
				Time: t.Start, CallID: t.CallID, Method: t.Method, Class: t.Class.Key(),
				From: t.Src.String(), To: t.Dst.String(), Agent: sender, Code: int(t.Final),
				Purpose: t.Purpose, Refresh: t.refreshes(),
			}
			if o := l.opts.Observe; o != nil {
				o.NotKeepAlive(&row)
			}
			switch {
			case !rows.kept():
			case l.opts.Rows != nil:
				rows.streamed++
				l.opts.Rows.NotKeepAlive(&row)
			default:
				rows.rows = append(rows.rows, row)
			}
		}
		l.refusedOffer(t)
		switch t.Class {
		case ClassReinviteNoSDP:
			v := l.vendor(sender)
			v.ReinviteNoSDP++
			v.seenAt(t.Src)
		case ClassMessageOutOfDialog:
			v := l.vendor(sender)
			v.MessageOutOfDialog++
			v.seenAt(t.Src)
		}
	case t.Class == ClassDeviceKeepAlive:
		outcomesFor(l.tot.device, t.Method).add(t)
		l.foldDevice(t, sender)
		l.keepAliveRow(t, sender)
	case t.Class == ClassInDialogWithSDP:
		v := l.vendor(sender)
		v.WithSDP++
		v.seenAt(t.Src)
	}
}

// keepAliveRow lists a keep-alive transaction for the CSV output.
func (l *ledger) keepAliveRow(t *Transaction, sender string) {
	if !l.opts.KeepAliveRows && l.opts.Observe == nil {
		return
	}
	direction := "caller→callee"
	switch {
	case t.Class == ClassDeviceKeepAlive:
		direction = "out of dialog"
	case t.Dialog != nil:
		direction = t.Dialog.direction(t.FromTag, t.byProxy)
	}
	row := KeepAliveRow{
		Device: t.Class == ClassDeviceKeepAlive, Time: t.Start, CallID: t.CallID, Method: t.Method, Direction: direction,
		From: t.Src.String(), To: t.Dst.String(), Agent: sender, Code: int(t.Final), ResponseTime: t.ResponseTime(),
	}
	if o := l.opts.Observe; o != nil {
		row.Receiver = l.book.agentOf(t.Answerer, t.Dst)
		o.KeepAlive(&row)
	}
	switch {
	case !l.opts.KeepAliveRows:
	case l.opts.Rows != nil:
		l.opts.Rows.KeepAlive(&row)
	default:
		l.tot.csv = append(l.tot.csv, row)
	}
}

// retireDialog reports a finished dialog and frees its transactions. The
// dialog itself stays as a tombstone while its call lingers, so that a
// keep-alive sent after the end is still known as stale.
func (l *ledger) retireDialog(d *Dialog, end time.Time) {
	if d.retired {
		return
	}
	d.retired = true
	l.tot.dialogs++
	if d.IsCall {
		l.tot.calls++
	}
	for _, t := range d.Transactions {
		l.foldTransaction(t)
	}
	ka := l.keepAlives(d, true, time.Time{})
	if ka.count > 0 {
		rows := &l.tot.dialogRows
		if l.dialogFindings(d, ka) {
			rows = &l.tot.problemRows
		}
		if rows.keep(l.opts.MaxRows) || l.opts.Observe != nil {
			dr := l.dialogReport(d, ka)
			problem := rows == &l.tot.problemRows
			if o := l.opts.Observe; o != nil {
				o.Dialog(problem, &dr)
			}
			switch {
			case !rows.kept():
			case l.opts.Rows != nil:
				rows.streamed++
				l.opts.Rows.Dialog(problem, &dr)
			default:
				rows.rows = append(rows.rows, dr)
			}
		}
	}
	if d.EndedBy() == "proxy" && droppedBy(d, ka) == nil {
		// A proxy hung up, and no failed keep-alive says why: its dialog
		// timeout or its session timer did. The call that drops after
		// the same minutes every time.
		l.problem(d)
		if l.keepFinding(FindingProxyBye) {
			after := -1.0 // never answered
			if d.confirmed != 0 {
				after = d.Ended().Sub(d.Confirmed()).Seconds()
			}
			l.addFinding(Finding{Kind: FindingProxyBye, CallID: d.CallID, Time: d.Ended(), Facts: FindingFacts{Seconds: after}})
		}
	}
	if d.Timer != nil {
		l.timerReport(d, end)
	}
	if d.problem {
		l.export(d)
	}
	for _, t := range d.Transactions {
		if t.outOfCall {
			l.store.release(t) // else its call's list releases it
		}
	}
	// The tombstone must not hold its transactions; the lists' arrays
	// stay for the dialog record's next use (see Analyzer.newDialog).
	clear(d.Transactions[:cap(d.Transactions)])
	clear(d.txsBuf[:])
	d.Transactions, d.txKeys, d.ownFrames, d.ka = d.Transactions[:0], d.txKeys[:0], nil, nil
}

// problem marks a dialog for --write-problems. A dialog already retired
// (a stale keep-alive after its end) is written with what is left of it.
func (l *ledger) problem(d *Dialog) {
	if d.problem {
		return
	}
	d.problem = true
	if d.retired {
		l.export(d)
	}
}

// export lists a problem dialog's packets for --write-problems, once: a
// dialog found a problem while it retires is listed by retireDialog.
func (l *ledger) export(d *Dialog) {
	if d.exported || !l.opts.KeepFrames {
		return
	}
	d.exported = true
	l.tot.problems = append(l.tot.problems, d.frames())
}

func (l *ledger) dialogReport(d *Dialog, g *kaDigest) DialogReport {
	caller, callee := d.caller.unpack(), d.callee.unpack()
	dr := DialogReport{
		CallID:      d.CallID,
		Caller:      caller.String(),
		Callee:      callee.String(),
		CallerAgent: l.book.agentOf(d.CallerAgent, caller),
		CalleeAgent: l.book.agentOf(d.CalleeAgent, callee),
		Count:       g.count,
		Start:       d.Confirmed(),
		MidCall:     d.MidCall,
		Methods:     append([]MethodCount(nil), g.methods...),
	}
	if dr.Start.IsZero() {
		dr.Start = g.first
	}
	var all []float64
	for i, side := range sideNames {
		s := &g.sides[i]
		if s.count == 0 {
			continue
		}
		dir := Direction{From: side, Count: s.count, StaleAfterDialog: s.stale}
		if d.confirmed != 0 {
			dir.FirstAfter2xx = round3(s.first.Sub(d.Confirmed()).Seconds())
		}
		iv := s.intervals
		all = append(all, iv...)
		if len(iv) > 0 {
			dir.IntervalMin, dir.IntervalMax = minMax(iv)
			dir.IntervalMedian = round3(median(iv))
			for _, g := range iv {
				if g > 2*dir.IntervalMedian && dir.IntervalMedian > 0 {
					dir.LongGaps++
				}
			}
		}
		dir.LastOutcome, dir.LastCode = OutcomeOf(int(s.lastFinal)).String(), int(s.lastFinal)
		dr.Directions = append(dr.Directions, dir)
	}
	if len(all) > 0 {
		dr.IntervalMin, dr.IntervalMax = minMax(all)
		dr.IntervalAvg = round3(mean(all))
	}
	lastOutcome := OutcomeOf(int(g.lastFinal))
	dr.LastMethod, dr.LastCode, dr.LastOutcome, dr.LastPending = g.lastMethod, int(g.lastFinal), lastOutcome.String(), g.lastPending
	if d.ended != 0 {
		dr.EndedBy = d.EndedBy()
		dr.Dropped = droppedBy(d, g) != nil
	}
	return dr
}

func outcomesFor(m map[string]*Outcomes, method string) *Outcomes {
	o, ok := m[method]
	if !ok {
		o = &Outcomes{}
		m[method] = o
	}
	return o
}
