package analyze

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sipalive/sipalive/capture"
)

// Settled transactions and finished dialogs are folded into these totals
// and freed, so that memory follows the live calls, not the file size.

// maxSamples bounds the interval samples kept per vendor and method, and per
// device pair: the first ones seen, so that results do not depend on timing.
const maxSamples = 4096

// maxDownWindows bounds the down windows listed per device pair.
const maxDownWindows = 100

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
	findingCount map[string]int
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
	cells       map[matrixCell]*kaCell     // the interop matrix, and what each cell folds into
	updateTo    map[string]map[string]bool // sender → receivers of UPDATE keep-alives
}

func newTotals() totals {
	return totals{
		session:      map[string]*Outcomes{},
		notKeepAlive: map[string]int{},
		device:       map[string]*Outcomes{},
		findingCount: map[string]int{},
		devices:      map[devKey]*deviceAgg{},
		vendors:      map[string]*vendorAgg{},
		cells:        map[matrixCell]*kaCell{},
		updateTo:     map[string]map[string]bool{},
	}
}

// rowList keeps the first max rows and counts the rest (max 0: all).
type rowList[T any] struct {
	rows    []T
	omitted int
}

func (l *rowList[T]) add(max int, row T) {
	if l.keep(max) {
		l.rows = append(l.rows, row)
	}
}

// keep reports whether one more row is kept, counting it as omitted if
// not: a row that costs formatting is built only when it is kept.
func (l *rowList[T]) keep(max int) bool {
	if max > 0 && len(l.rows) >= max {
		l.omitted++
		return false
	}
	return true
}

type devKey struct {
	method   string
	from, to netip.AddrPort
}

type matrixCell struct{ sender, receiver, method string }

// deviceAgg follows one pinger → target pair's out-of-dialog keep-alives.
type deviceAgg struct {
	DeviceReport
	last      time.Time // start of the previous ping
	intervals []float64
	run       *DownWindow // the down window being extended
	granted   time.Time   // REGISTER: when the binding granted last expires
}

// vendorAgg is a vendor's report and its interval samples per method.
type vendorAgg struct {
	VendorReport
	intervals map[string][]float64
	sent      map[string]*int // VendorReport.Sent as it is counted
}

// keepFinding counts a finding of kind and reports whether its row is
// kept (the first MaxRows are): callers build the row, and format its
// detail, only then. On a trunk capture most findings are past the rows
// kept, and formatting them all took a tenth of retiring a dialog.
func (a *Analyzer) keepFinding(kind string) bool {
	a.tot.findingCount[kind]++
	return a.tot.findings.keep(a.opts.MaxRows)
}

// addFinding keeps the row of a finding keepFinding counted.
func (a *Analyzer) addFinding(f Finding) { a.tot.findings.rows = append(a.tot.findings.rows, f) }

func (a *Analyzer) vendor(name string) *vendorAgg {
	v, ok := a.tot.vendors[name]
	if !ok {
		v = &vendorAgg{VendorReport: VendorReport{Agent: name, Sent: map[string]int{}, Answered: map[string]*Outcomes{},
			Interval: map[string]float64{}, IntervalSpread: map[string]float64{}}, intervals: map[string][]float64{}, sent: map[string]*int{}}
		a.tot.vendors[name] = v
	}
	return v
}

// foldTransaction adds a settled transaction to the totals.
func (a *Analyzer) foldTransaction(t *Transaction) {
	if t.folded {
		return
	}
	t.folded = true
	sender := a.agentOf(t.Agent, t.Src)
	switch {
	case t.Class == ClassSessionKeepAlive:
		outcomesFor(a.tot.session, t.Method).add(t)
		a.foldKeepAlive(t, sender)
	case t.Class.IsNotKeepAlive():
		a.tot.notKeepAlive[t.Class.Key()]++
		if rows := &a.tot.notKeepRows; rows.keep(a.opts.MaxRows) {
			rows.rows = append(rows.rows, NotKeepAlive{
				Time: t.Start, CallID: t.CallID, Method: t.Method, Class: t.Class.Key(),
				From: t.Src.String(), To: t.Dst.String(), Agent: sender, Code: t.Final, Why: t.Class.Why(),
			})
		}
		switch t.Class {
		case ClassReinviteNoSDP:
			a.vendor(sender).ReinviteNoSDP++
		case ClassMessageOutOfDialog:
			a.vendor(sender).MessageOutOfDialog++
		}
	case t.Class == ClassDeviceKeepAlive:
		outcomesFor(a.tot.device, t.Method).add(t)
		a.foldDevice(t, sender)
	case t.Class == ClassInDialogWithSDP:
		a.vendor(sender).WithSDP++
	}
}

// kaCell is what the keep-alives of one sender, receiver and method fold
// into, found with one lookup rather than one per map each time.
type kaCell struct {
	sv, rv   *vendorAgg
	sent     *int           // sv's count of the method sent
	answered *Outcomes      // rv's outcomes of the method
	matrix   *Outcomes      // the interop matrix cell
	other    map[string]int // the matrix cell's other final answers, by code
}

func (a *Analyzer) kaCell(k matrixCell) *kaCell {
	if c := a.tot.cells[k]; c != nil {
		return c
	}
	c := &kaCell{sv: a.vendor(k.sender), rv: a.vendor(k.receiver), matrix: &Outcomes{}}
	c.sent = c.sv.sent[k.method]
	if c.sent == nil {
		c.sent = new(int)
		c.sv.sent[k.method] = c.sent
	}
	c.answered = outcomesFor(c.rv.Answered, k.method)
	if k.method == "UPDATE" {
		if a.tot.updateTo[k.sender] == nil {
			a.tot.updateTo[k.sender] = map[string]bool{}
		}
		a.tot.updateTo[k.sender][k.receiver] = true
	}
	a.tot.cells[k] = c
	return c
}

func (a *Analyzer) foldKeepAlive(t *Transaction, sender string) {
	if t.hop {
		// The vendor audit counts requests, not the hops a proxy relayed
		// them over; the transaction counts above and the CSV rows keep
		// every hop.
		a.tot.relayedKeepAlives++
		a.keepAliveRow(t, sender)
		return
	}
	receiver := a.agentOf(t.Answerer, t.Dst)
	cell := a.kaCell(matrixCell{sender, receiver, t.Method})
	sv, rv := cell.sv, cell.rv
	*cell.sent++
	if t.HasBody {
		sv.WithBody++
	}
	cell.answered.add(t)
	cell.matrix.add(t)
	if t.Outcome() == OutcomeOther {
		// which codes "other" holds: a 488 or a 415 tells what the peer
		// wanted (a body), where "other" tells nothing
		code := strconv.Itoa(t.Final)
		if cell.other == nil {
			cell.other = map[string]int{}
		}
		cell.other[code]++
		if rv.AnsweredOther == nil {
			rv.AnsweredOther = map[string]map[string]int{}
		}
		if rv.AnsweredOther[t.Method] == nil {
			rv.AnsweredOther[t.Method] = map[string]int{}
		}
		rv.AnsweredOther[t.Method][code]++
	}
	if sv.Allow == "" {
		sv.Allow = a.hostOf(t.Src).allow
	}
	if rv.Allow == "" {
		rv.Allow = a.hostOf(t.Dst).allow
	}
	d := t.Dialog
	side := "caller"
	if d != nil {
		side = d.side(t)
	}
	if t.AnswerSDP && t.Final >= 200 && t.Final < 300 {
		rv.SDPAnswers++
		if a.keepFinding("sdp-in-answer") {
			a.addFinding(Finding{Kind: "sdp-in-answer", CallID: t.CallID, Time: t.FinalAt,
				Detail: fmt.Sprintf("%s without SDP from %s answered %d with SDP by %s: an answer to no offer (RFC 3311 5.2); the sender may take the session as broken and hang up", t.Method, side, t.Final, receiver)})
		}
		if d != nil {
			a.problem(d)
		}
	}
	if d != nil {
		if !d.Ended.IsZero() && t.Start.After(d.Ended) {
			if rv.EndedDialog == nil {
				rv.EndedDialog = map[string]int{}
			}
			rv.EndedDialog[t.Outcome().String()]++
			if a.keepFinding("stale") {
				a.addFinding(Finding{Kind: "stale", CallID: t.CallID, Time: t.Start,
					Detail: fmt.Sprintf("%s from %s sent %.1f s after the BYE, answered %s", t.Method, side, t.Start.Sub(d.Ended).Seconds(), code(t.Final))})
			}
			a.problem(d)
		}
	}
	a.keepAliveRow(t, sender)
}

// keepAliveRow lists a keep-alive transaction for the CSV output.
func (a *Analyzer) keepAliveRow(t *Transaction, sender string) {
	if !a.opts.KeepAliveRows {
		return
	}
	direction := "caller→callee"
	if t.Dialog != nil {
		direction = t.Dialog.direction(t.FromTag, t.byProxy)
	}
	a.tot.csv = append(a.tot.csv, KeepAliveRow{
		Time: t.Start, CallID: t.CallID, Method: t.Method, Direction: direction,
		From: t.Src.String(), To: t.Dst.String(), Agent: sender, Code: t.Final, ResponseTime: t.ResponseTime(),
	})
}

func code(c int) string {
	if c == 0 {
		return "never"
	}
	return strconv.Itoa(c)
}

func (a *Analyzer) foldDevice(t *Transaction, sender string) {
	k := devKey{t.Method, t.Src, t.Dst}
	g, ok := a.tot.devices[k]
	if !ok {
		g = &deviceAgg{DeviceReport: DeviceReport{Method: k.method, From: k.from.String(), To: k.to.String(), Codes: map[string]int{},
			FromAgent: sender, ToAgent: a.agentOf(t.Answerer, t.Dst)}}
		a.tot.devices[k] = g
		a.tot.deviceOrder = append(a.tot.deviceOrder, k)
	}
	g.Sent++
	if !g.last.IsZero() && len(g.intervals) < maxSamples {
		g.intervals = append(g.intervals, t.Start.Sub(g.last).Seconds())
	}
	g.last = t.Start
	if t.Answered() {
		g.Answered++
		g.Codes[strconv.Itoa(t.Final)]++
		a.closeDownWindow(g)
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
			if a.keepFinding("late-register") {
				a.addFinding(Finding{Kind: "late-register", Time: t.Start,
					Detail: fmt.Sprintf("REGISTER %s → %s refreshed %.1f s after the binding expired", g.From, g.To, t.Start.Sub(g.granted).Seconds())})
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

func (a *Analyzer) closeDownWindow(g *deviceAgg) {
	if g.run == nil {
		return
	}
	w := g.run
	if a.keepFinding("device-down") {
		a.addFinding(Finding{Kind: "device-down", Time: w.Start,
			Detail: fmt.Sprintf("%s %s → %s: %d unanswered in a row until %s", g.Method, g.From, g.To, w.Pings, w.End.UTC().Format("15:04:05.000"))})
	}
	g.run = nil
}

// retireDialog reports a finished dialog and frees its transactions. The
// dialog itself stays as a tombstone while its call lingers, so that a
// keep-alive sent after the end is still known as stale.
func (a *Analyzer) retireDialog(d *Dialog, end time.Time) {
	if d.retired {
		return
	}
	d.retired = true
	a.tot.dialogs++
	if d.IsCall {
		a.tot.calls++
	}
	for _, t := range d.Transactions {
		a.foldTransaction(t)
	}
	ka := a.keepAlives(d, true)
	if ka.count > 0 {
		rows := &a.tot.dialogRows
		if a.dialogFindings(d, ka) {
			rows = &a.tot.problemRows
		}
		if rows.keep(a.opts.MaxRows) {
			rows.rows = append(rows.rows, a.dialogReport(d, ka))
		}
	}
	if d.EndedBy == "proxy" && droppedBy(d, ka) == nil {
		// A proxy hung up, and no failed keep-alive says why: its dialog
		// timeout or its session timer did. The call that drops after
		// the same minutes every time.
		a.problem(d)
		if a.keepFinding("proxy-bye") {
			detail := "the proxy, not a party, ended the call with a BYE to each"
			if !d.Confirmed.IsZero() {
				detail += fmt.Sprintf(", %.1f s after it was answered", d.Ended.Sub(d.Confirmed).Seconds())
			}
			a.addFinding(Finding{Kind: "proxy-bye", CallID: d.CallID, Time: d.Ended,
				Detail: detail + ": its dialog timeout or session timer ran out (no keep-alive failed before it)"})
		}
	}
	if d.Timer != nil {
		a.timerReport(d, end)
	}
	if d.problem && a.opts.KeepFrames {
		a.tot.problems = append(a.tot.problems, d.frames())
	}
	for _, t := range d.Transactions {
		if t.outOfCall {
			a.release(t) // else its call's list releases it
		}
	}
	d.Transactions, d.txKeys, d.Frames, d.ka = nil, nil, nil, nil
	clear(d.txsBuf[:]) // the tombstone must not hold its transactions
}

// problem marks a dialog for --write-problems. A dialog already retired
// (a stale keep-alive after its end) is written with what is left of it.
func (a *Analyzer) problem(d *Dialog) {
	if d.problem {
		return
	}
	d.problem = true
	if d.retired && a.opts.KeepFrames {
		a.tot.problems = append(a.tot.problems, d.frames())
	}
}

func (a *Analyzer) dialogReport(d *Dialog, g *kaDigest) DialogReport {
	dr := DialogReport{
		CallID:      d.CallID,
		Caller:      d.Caller.String(),
		Callee:      d.Callee.String(),
		CallerAgent: a.agentOf(d.CallerAgent, d.Caller),
		CalleeAgent: a.agentOf(d.CalleeAgent, d.Callee),
		Count:       g.count,
		Start:       d.Confirmed,
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
		if !d.Confirmed.IsZero() {
			dir.FirstAfter2xx = round3(s.first.Sub(d.Confirmed).Seconds())
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
		dir.LastOutcome, dir.LastCode = outcomeOf(int(s.lastFinal)).String(), int(s.lastFinal)
		dr.Directions = append(dr.Directions, dir)
	}
	if len(all) > 0 {
		dr.IntervalMin, dr.IntervalMax = minMax(all)
		dr.IntervalAvg = round3(mean(all))
	}
	lastOutcome := outcomeOf(int(g.lastFinal))
	dr.LastMethod, dr.LastCode, dr.LastOutcome = g.lastMethod, int(g.lastFinal), lastOutcome.String()
	dr.Verdict = verdict(lastOutcome, int(g.lastFinal))
	switch {
	case droppedBy(d, g) != nil:
		dr.Ended = "BYE by " + d.EndedBy + ": dropped by keep-alive"
	case !d.Ended.IsZero():
		dr.Ended = "BYE by " + d.EndedBy
	default:
		dr.Ended = "no BYE seen"
	}
	return dr
}

// dialogFindings turns a dialog's keep-alive failures into findings and
// reports whether there were any.
func (a *Analyzer) dialogFindings(d *Dialog, g *kaDigest) bool {
	found := false
	for i := range g.failed {
		t := &g.failed[i]
		var kind string
		switch t.Outcome() {
		case Outcome481:
			kind = "lost"
		case Outcome405, Outcome501:
			kind = "unsupported"
		case OutcomeUnanswered:
			kind = "unanswered"
		case OutcomeOther:
			kind = "refused"
			if t.Final == 408 {
				kind = "lost"
			}
		default:
			continue
		}
		found = true
		if a.keepFinding(kind) {
			a.addFinding(Finding{Kind: kind, CallID: d.CallID, Time: t.Start, Detail: failureDetail(d, t)})
		}
	}
	if t := droppedBy(d, g); t != nil {
		found = true
		if a.keepFinding("dropped") {
			outcome := t.Outcome().String()
			if t.Final == 408 {
				outcome = "408"
			}
			a.addFinding(Finding{Kind: "dropped", CallID: d.CallID, Time: t.Start, Detail: fmt.Sprintf("BYE by %s %.1f s after %s %s",
				d.EndedBy, d.Ended.Sub(t.Start).Seconds(), t.Method, outcome)})
		}
	}
	if found {
		a.problem(d)
	}
	return found || d.problem
}

// failureDetail says what went wrong with a failed keep-alive of d.
func failureDetail(d *Dialog, t *keepAlive) string {
	who := sideNames[t.side]
	switch t.Outcome() {
	case Outcome481:
		return fmt.Sprintf("%s %s from %s answered 481: the peer lost the dialog", t.Method, cseq(t.CSeq), who)
	case Outcome405, Outcome501:
		detail := fmt.Sprintf("%s from %s answered %d: method unsupported", t.Method, who, t.Final)
		if t.Allow != "" {
			detail += " (Allow: " + t.Allow + ")"
		}
		return detail
	case OutcomeOther:
		if t.Final == 408 {
			return fmt.Sprintf("%s %s from %s answered 408: the session is to end (RFC 4028 section 10)", t.Method, cseq(t.CSeq), who)
		}
		return fmt.Sprintf("%s from %s answered %d: refused, though the peer holds the dialog (RFC 5057 5.1); use a method it answers 2xx", t.Method, who, t.Final)
	}
	detail := fmt.Sprintf("%s %s from %s never answered", t.Method, cseq(t.CSeq), who)
	if t.Retransmissions > 0 {
		detail += fmt.Sprintf(" (%d retransmissions)", t.Retransmissions)
	}
	if t.Late != 0 {
		detail += fmt.Sprintf("; %d came after the %s timeout", t.Late, TransactionTimeout)
	}
	return detail
}

// droppedBy returns the failed keep-alive (481, 408 or unanswered) that a BYE
// followed within 64 s: the keep-alive dropped the call.
func droppedBy(d *Dialog, g *kaDigest) *keepAlive {
	if d.Ended.IsZero() || !g.hasBefore {
		return nil
	}
	last := &g.before
	o := last.Outcome()
	failedAt := last.FinalAt
	if o == OutcomeUnanswered {
		failedAt = last.Start
	}
	// 408, like 481, ends the session (RFC 4028 section 10)
	if (o == Outcome481 || o == OutcomeUnanswered || last.Final == 408) && d.Ended.Sub(failedAt) < 64*time.Second {
		return last
	}
	return nil
}

func (a *Analyzer) timerReport(d *Dialog, end time.Time) {
	tr, ts := buildTimerReport(d, end)
	if a.opts.MaxRows == 0 || len(a.tot.timerSummary) < a.opts.MaxRows {
		a.tot.timerSummary = append(a.tot.timerSummary, ts)
	}
	if tr.Expired {
		if a.keepFinding("expired") {
			a.addFinding(Finding{Kind: "expired", CallID: d.CallID, Time: tr.ExpiredAt,
				Detail: fmt.Sprintf("Session-Expires %d s, refresher %s: no refresh by %.0f s (longest gap %.1f s)",
					d.Timer.SessionExpires, refresherName(d.Timer.Refresher), expiryMargin(time.Duration(d.Timer.SessionExpires)*time.Second).Seconds(), tr.LongestGap)})
		}
		a.problem(d)
	} else if !tr.OnTime {
		if a.keepFinding("late-refresh") {
			a.addFinding(Finding{Kind: "late-refresh", CallID: d.CallID, Time: d.Confirmed,
				Detail: fmt.Sprintf("refresher %s left %.1f s between refreshes; RFC 4028 asks for half of %d s",
					refresherName(d.Timer.Refresher), tr.LongestGap, d.Timer.SessionExpires)})
		}
	}
	a.tot.timers.add(a.opts.MaxRows, tr)
}

// buildTimerReport judges a dialog's session timer up to end.
func buildTimerReport(d *Dialog, end time.Time) (TimerReport, TimerSummary) {
	refreshes := 0
	for _, t := range d.Transactions {
		if t.Method == "INVITE" || t.Method == "UPDATE" {
			refreshes++
		}
	}
	ts := TimerSummary{CallID: d.CallID, SessionExpires: d.Timer.SessionExpires, Refresher: d.Timer.Refresher,
		MinSE: d.Timer.MinSE, Refreshes: refreshes}
	tc := d.Timer.check(d, end)
	tr := TimerReport{CallID: d.CallID, SessionTimer: *d.Timer, TimerCheck: tc}
	switch {
	case tc.Expired && tc.ByeAfterExpiry:
		tr.Verdict = "expired, then BYE"
	case tc.Expired:
		tr.Verdict = "expired"
	case !tc.OnTime:
		tr.Verdict = "refreshed late"
	case tc.ByRefresher == 0 && d.Ended.IsZero() && end.Sub(d.Confirmed) < time.Duration(d.Timer.SessionExpires)*time.Second/2:
		tr.Verdict = "ok (no refresh due yet)"
	default:
		tr.Verdict = "ok"
	}
	return tr, ts
}

// Finish folds everything still live and builds the report. stats is what
// the capture package counted.
func (a *Analyzer) Finish(stats capture.Stats) *Report {
	a.retireAll()
	for _, g := range a.tot.devices {
		a.closeDownWindow(g)
	}
	r := &Report{FindingCounts: a.tot.findingCount, Omitted: map[string]int{}}
	a.overview(r, stats)
	s := &r.Summary
	s.SIPMessages, s.Calls = a.sipMessages, a.tot.calls
	s.SessionKeepAlives, s.NotKeepAlive, s.DeviceKeepAlives = a.tot.session, a.tot.notKeepAlive, a.tot.device
	s.SessionTimers = append([]TimerSummary{}, a.tot.timerSummary...)
	for _, m := range slices.Sorted(maps.Keys(s.SessionKeepAlives)) {
		r.KeepAlives = append(r.KeepAlives, MethodOutcomes{Method: m, Outcomes: *s.SessionKeepAlives[m]})
	}
	// Dialogs with problems first, then healthy ones, each by start time.
	byStart := func(rows []DialogReport) {
		sort.SliceStable(rows, func(i, j int) bool { return rows[i].Start.Before(rows[j].Start) })
	}
	byStart(a.tot.problemRows.rows)
	byStart(a.tot.dialogRows.rows)
	r.Dialogs = append(append([]DialogReport{}, a.tot.problemRows.rows...), a.tot.dialogRows.rows...)
	r.NotKeepAlives = a.tot.notKeepRows.rows
	r.Findings = a.tot.findings.rows
	r.Timers = a.tot.timers.rows
	for name, n := range map[string]int{"dialogs": a.tot.problemRows.omitted + a.tot.dialogRows.omitted,
		"not_keepalives": a.tot.notKeepRows.omitted, "findings": a.tot.findings.omitted, "session_timers": a.tot.timers.omitted} {
		if n > 0 {
			r.Omitted[name] = n
		}
	}
	r.KeepAliveRows = a.tot.csv
	sort.SliceStable(r.KeepAliveRows, func(i, j int) bool { return r.KeepAliveRows[i].Time.Before(r.KeepAliveRows[j].Time) })
	r.ProblemFrames = a.tot.problems
	a.aggregates(r)
	return r
}

// aggregates adds the per-pair and per-vendor sections, which the final
// report and a snapshot build alike, and puts the findings in time order.
func (a *Analyzer) aggregates(r *Report) {
	for _, k := range a.tot.deviceOrder {
		g := a.tot.devices[k]
		dr := g.DeviceReport
		if len(g.intervals) > 0 {
			dr.IntervalMed = round3(median(g.intervals))
		}
		r.Devices = append(r.Devices, dr)
	}
	a.natReports(r)
	a.vendorReports(r)
	sort.SliceStable(r.Findings, func(i, j int) bool { return r.Findings[i].Time.Before(r.Findings[j].Time) })
}

func (a *Analyzer) overview(r *Report, s capture.Stats) {
	o := &r.Overview
	o.Packets = s.Packets
	o.SIPMessages = a.sipMessages
	o.Requests, o.Responses = a.requests, a.responses
	for _, n := range a.malformed {
		o.Malformed += n
	}
	if o.Malformed > 0 {
		o.MalformedReasons = a.malformed
	}
	o.NotSIP = s.UDPOther + s.OtherIP + s.NonIP
	o.OrphanResponses = a.orphans
	o.Calls, o.Dialogs = a.tot.calls, a.tot.dialogs
	o.ProblemDialogs = len(a.tot.problemRows.rows) + a.tot.problemRows.omitted
	o.KeepAliveDialogs = o.ProblemDialogs + len(a.tot.dialogRows.rows) + a.tot.dialogRows.omitted
	o.RelayedKeepAlives = a.tot.relayedKeepAlives
	o.Start, o.End = a.first, a.last
	if !a.first.IsZero() {
		o.DurationSeconds = round3(a.last.Sub(a.first).Seconds())
	}
	o.Capture = s
}

func (a *Analyzer) natReports(r *Report) {
	for _, n := range a.natOrder {
		nr := NATReport{From: n.Src.String(), To: n.Dst.String(), Transport: n.Transport.String(), Kind: n.Kind, Count: n.Count}
		if n.Count > 1 {
			nr.IntervalAvg = round3(n.Last.Sub(n.First).Seconds() / float64(n.Count-1))
		}
		r.NAT = append(r.NAT, nr)
	}
}

func (a *Analyzer) vendorReports(r *Report) {
	for _, name := range slices.Sorted(maps.Keys(a.tot.vendors)) {
		v := a.tot.vendors[name]
		for m, n := range v.sent {
			v.Sent[m] = *n
		}
		for m, iv := range v.intervals {
			lo, hi := minMax(iv)
			v.Interval[m] = round3(median(iv))
			v.IntervalSpread[m] = round3(hi - lo)
		}
		switch e := v.EndedDialog; {
		case e["2xx"] > 0:
			v.EndedDialogVerdict = fmt.Sprintf("answered 2xx ×%d for dialogs that had ended: it should answer 481", e["2xx"])
			r.FindingCounts["answers-unknown-dialog"]++
			r.Findings = append(r.Findings, Finding{Kind: "answers-unknown-dialog", Time: a.first,
				Detail: v.Agent + " answers 2xx to keep-alives for dialogs that had ended (RFC 3261 12.2.2 asks for 481): keep-alives to it prove nothing"})
		case e["481"] > 0:
			v.EndedDialogVerdict = "answers 481 for dialogs that had ended (correct)"
		}
		noUpdate := map[string][]string{} // by the method to use instead
		for recv := range a.tot.updateTo[name] {
			if rv := a.tot.vendors[recv]; rv != nil && rv.Allow != "" && !allowHas(rv.Allow, "UPDATE") {
				m := safeKeepAlive(&rv.VendorReport)
				noUpdate[m] = append(noUpdate[m], recv)
			}
		}
		v.Recommendation = recommend(&v.VendorReport, noUpdate)
		r.Vendors = append(r.Vendors, v.VendorReport)
	}
	cells := make([]matrixCell, 0, len(a.tot.cells))
	for c := range a.tot.cells {
		cells = append(cells, c)
	}
	sort.Slice(cells, func(i, j int) bool {
		x, y := cells[i], cells[j]
		if x.sender != y.sender {
			return x.sender < y.sender
		}
		if x.receiver != y.receiver {
			return x.receiver < y.receiver
		}
		return x.method < y.method
	})
	for _, c := range cells {
		cell := a.tot.cells[c]
		r.Matrix = append(r.Matrix, MatrixRow{Sender: c.sender, Receiver: c.receiver, Method: c.method, Outcomes: *cell.matrix, OtherCodes: cell.other})
	}
}

func outcomesFor(m map[string]*Outcomes, method string) *Outcomes {
	o, ok := m[method]
	if !ok {
		o = &Outcomes{}
		m[method] = o
	}
	return o
}

// verdict names what the last keep-alive of a dialog says about the peer.
func verdict(o Outcome, final int) string {
	switch o {
	case Outcome2xx:
		return "alive"
	case Outcome481:
		return "lost (481)"
	case Outcome405:
		return "method unsupported (405)"
	case Outcome501:
		return "method unsupported (501)"
	case OutcomeUnanswered:
		return "no answer"
	}
	if final == 408 {
		return "lost (408)" // RFC 4028 section 10: 408 or 481 ends the session
	}
	// Any other final response came from a peer that holds the dialog
	// (RFC 5057 section 5.1): the keep-alive was refused, not the session.
	return fmt.Sprintf("refused (%d), dialog alive", final)
}

func cseq(n uint32) string { return "(CSeq " + strconv.FormatUint(uint64(n), 10) + ")" }

func refresherName(r string) string {
	if r == "" {
		return "unnamed (uac)"
	}
	return r
}

func allowHas(allow, method string) bool {
	for _, m := range strings.Split(allow, ",") {
		if strings.EqualFold(strings.TrimSpace(m), method) {
			return true
		}
	}
	return false
}

// safeKeepAlive is the keep-alive method to use towards a vendor: INFO
// (RFC 3261 has it, where UPDATE is an extension) unless the vendor
// refused it, else a method it answered 2xx, else OPTIONS unless refused.
func safeKeepAlive(v *VendorReport) string {
	refused := func(m string) bool {
		o := v.Answered[m]
		return o != nil && o.OK == 0 && o.C405+o.C501+o.OtherFinal > 0
	}
	if !refused("INFO") {
		return "INFO"
	}
	for _, m := range []string{"OPTIONS", "UPDATE", "MESSAGE"} {
		if o := v.Answered[m]; o != nil && o.OK > 0 {
			return m
		}
	}
	if !refused("OPTIONS") {
		return "OPTIONS"
	}
	return "a method it answers 2xx (none seen)"
}

// recommend applies the field rules to a vendor's behaviour. noUpdate
// names peers it sent UPDATE to although their Allow lacks it, by the
// method to keep them alive with instead.
func recommend(v *VendorReport, noUpdate map[string][]string) string {
	var rec []string
	if v.ReinviteNoSDP > 0 {
		rec = append(rec, "do not use re-INVITE without SDP as a keep-alive (that is 3PCC)")
	}
	if v.MessageOutOfDialog > 0 && len(v.Sent) > 0 {
		rec = append(rec, "send MESSAGE keep-alives only inside the dialog")
	}
	var refused []string
	for _, m := range slices.Sorted(maps.Keys(v.Answered)) {
		o := v.Answered[m]
		if o.C405+o.C501 == 0 && (o.OtherFinal == 0 || o.OK > 0) {
			continue
		}
		var codes []string
		for _, c := range []struct {
			code string
			n    int
		}{{"405", o.C405}, {"501", o.C501}} {
			if c.n > 0 {
				codes = append(codes, c.code)
			}
		}
		if o.OK == 0 {
			codes = append(codes, slices.Sorted(maps.Keys(v.AnsweredOther[m]))...)
		}
		refused = append(refused, m+" ("+strings.Join(codes, "/")+")")
	}
	if len(refused) > 0 {
		rec = append(rec, "rejects "+strings.Join(refused, ", ")+": peers should keep alive with "+safeKeepAlive(v))
	}
	for _, m := range slices.Sorted(maps.Keys(noUpdate)) {
		peers := slices.Sorted(slices.Values(noUpdate[m]))
		rec = append(rec, "sends UPDATE to "+strings.Join(peers, ", ")+" whose Allow does not list it: keep alive with "+m)
	}
	if len(noUpdate) == 0 && v.Sent["UPDATE"] > 0 && v.Sent["INFO"] == 0 {
		rec = append(rec, "keeps alive with UPDATE only: fine where the peer's Allow lists it; INFO (RFC 3261) is the safe choice")
	}
	if v.WithSDP > 0 {
		rec = append(rec, "keep-alives must not carry SDP")
	}
	if v.SDPAnswers > 0 {
		rec = append(rec, "answers UPDATE without SDP with SDP: the 2xx must carry none (RFC 3311)")
	}
	sort.Strings(rec)
	return strings.Join(rec, "; ")
}
