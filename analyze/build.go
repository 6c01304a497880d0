package analyze

// Building the report: Finish at the end of the input, Snapshot for a live
// view, from the ledger's totals and what is still live.

import (
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/sipalive/sipalive/capture"
)

// Finish folds everything still live and builds the report. stats is what
// the capture package counted.
func (a *Analyzer) Finish(stats capture.Stats) *Report {
	a.retireAll()
	for _, k := range a.ledger.tot.deviceOrder {
		g := a.ledger.tot.devices[k]
		a.ledger.closeDownWindow(g)
		a.ledger.registrationFindings(g)
		g.closeRegistration(a.last)
	}
	a.ledger.floodFindings()
	r := a.newReport(a.ledger.tot.findingCount, stats)
	s := &r.Summary
	s.Calls = a.ledger.tot.calls
	s.SessionKeepAlives, s.NotKeepAlive, s.DeviceKeepAlives = a.ledger.tot.session, a.ledger.tot.notKeepAlive, a.ledger.tot.device
	// Dialogs with problems first, then healthy ones, each by start time.
	byStart := func(rows []DialogReport) {
		sort.SliceStable(rows, func(i, j int) bool { return rows[i].Start.Before(rows[j].Start) })
	}
	byStart(a.ledger.tot.problemRows.rows)
	byStart(a.ledger.tot.dialogRows.rows)
	// The row limit holds for the table as a whole: problems fill it
	// first, healthy dialogs the room left.
	problems, healthy := a.ledger.tot.problemRows, a.ledger.tot.dialogRows
	if limit := a.opts.MaxRows; limit > 0 {
		keep := min(len(healthy.rows), max(0, limit-len(problems.rows)))
		healthy.omitted += len(healthy.rows) - keep
		healthy.rows = healthy.rows[:keep]
	}
	r.Dialogs = append(append([]DialogReport{}, problems.rows...), healthy.rows...)
	r.NotKeepAlives = a.ledger.tot.notKeepRows.rows
	r.Findings = a.ledger.tot.findings.rows
	r.Timers = a.ledger.tot.timers.rows
	for name, n := range map[string]int{"dialogs": problems.omitted + healthy.omitted, "dialogs_with_problems": problems.omitted,
		"not_keepalives": a.ledger.tot.notKeepRows.omitted, "findings": a.ledger.tot.findings.omitted, "session_timers": a.ledger.tot.timers.omitted} {
		if n > 0 {
			r.Omitted[name] = n
		}
	}
	r.KeepAliveRows = a.ledger.tot.csv
	sort.SliceStable(r.KeepAliveRows, func(i, j int) bool { return r.KeepAliveRows[i].Time.Before(r.KeepAliveRows[j].Time) })
	r.ProblemFrames = a.ledger.tot.problems
	r.FindingExamples = a.ledger.tot.examples
	a.complete(r)
	if o := a.opts.Observe; o != nil {
		// the findings made of the totals, at the end
		for i := range r.Findings {
			if r.Findings[i].Kind == FindingAnswersUnknownDialog {
				o.Finding(&r.Findings[i])
			}
		}
	}
	return r
}

// newReport starts the report Finish and Snapshot build alike: the
// overview and what the summary takes from the message counts.
func (a *Analyzer) newReport(findingCounts map[FindingKind]int, stats capture.Stats) *Report {
	r := &Report{FindingCounts: findingCounts, Omitted: map[string]int{}}
	a.overview(r, stats)
	r.Summary.SIPMessages = a.sipMessages
	r.Summary.SessionTimers = append([]TimerSummary{}, a.ledger.tot.timerSummary...)
	return r
}

// complete ends a report whose summary is filled: the keep-alive outcomes
// by method, the per-pair and per-vendor sections, the findings in time
// order.
func (a *Analyzer) complete(r *Report) {
	for _, m := range slices.Sorted(maps.Keys(r.Summary.SessionKeepAlives)) {
		r.KeepAlives = append(r.KeepAlives, MethodOutcomes{Method: m, Outcomes: *r.Summary.SessionKeepAlives[m]})
	}
	a.ledger.aggregates(r, &a.nat, a.first)
}

// aggregates adds the per-pair and per-vendor sections, which the final
// report and a snapshot build alike, and puts the findings in time order.
func (l *ledger) aggregates(r *Report, nat *natTable, first time.Time) {
	for _, k := range l.tot.deviceOrder {
		g := l.tot.devices[k]
		dr := g.DeviceReport
		if len(g.intervals) > 0 {
			dr.IntervalMed = round3(median(g.intervals))
		}
		r.Devices = append(r.Devices, dr)
	}
	nat.reports(r)
	l.vendorReports(r, first)
	sort.SliceStable(r.Findings, func(i, j int) bool { return r.Findings[i].Time.Before(r.Findings[j].Time) })
}

// overview fills the OVERVIEW section from the message counts, the
// ledger's totals and what the capture package counted.
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
	o.Calls, o.Dialogs = a.ledger.tot.calls, a.ledger.tot.dialogs
	o.ProblemDialogs = a.ledger.tot.problemRows.total()
	o.KeepAliveDialogs = o.ProblemDialogs + a.ledger.tot.dialogRows.total()
	o.RelayedKeepAlives = a.ledger.tot.relayedKeepAlives
	o.Start, o.End = a.first, a.last
	if !a.first.IsZero() {
		o.DurationSeconds = round3(a.last.Sub(a.first).Seconds())
	}
	o.Capture = s
	o.Limits.ForgottenDialogs = a.store.buried.evicted
	o.Limits.EvictedCalls = a.store.halfOpen.evicted
	o.Limits.ForgottenCalls = a.store.folded.evicted
	o.Limits.ForgottenAddresses = a.book.forgotten
}

// Snapshot builds a report of the analysis so far without changing it: the
// folded totals plus what is still live (open transactions and dialogs),
// for a live view. A transaction still waiting for its answer counts as
// unanswered until it is answered. Finish gives the final report.
func (a *Analyzer) Snapshot(stats capture.Stats) *Report {
	r := a.newReport(maps.Clone(a.ledger.tot.findingCount), stats)
	s := &r.Summary
	s.SessionKeepAlives = cloneOutcomes(a.ledger.tot.session)
	s.NotKeepAlive = maps.Clone(a.ledger.tot.notKeepAlive)
	s.DeviceKeepAlives = cloneOutcomes(a.ledger.tot.device)

	live := a.store.calls.all()
	sort.Slice(live, func(i, j int) bool { return live[i].seq < live[j].seq })
	seen := map[*Transaction]bool{}
	count := func(t *Transaction) {
		if t.folded || seen[t] {
			return
		}
		seen[t] = true
		switch {
		case t.Class == ClassSessionKeepAlive:
			outcomesFor(s.SessionKeepAlives, t.Method).add(t)
		case t.Class.IsNotKeepAlive():
			s.NotKeepAlive[t.Class.Key()]++
		case t.Class == ClassDeviceKeepAlive:
			outcomesFor(s.DeviceKeepAlives, t.Method).add(t)
		}
	}
	var liveRows, liveProblems []DialogReport
	var liveTimers []TimerReport
	for _, c := range live {
		for _, t := range c.txs {
			count(t)
		}
		for _, d := range c.dialogs {
			if d.retired {
				continue
			}
			r.Overview.Dialogs++
			r.Overview.ActiveDialogs++
			if d.IsCall {
				r.Overview.Calls++
				r.Overview.ActiveCalls++
			}
			for _, t := range d.Transactions {
				count(t)
			}
			if ka := a.ledger.keepAlives(d, false, a.last); ka.count > 0 {
				// What the final report will say of it so far: its
				// findings, and in progress rather than without a BYE.
				r.Overview.KeepAliveDialogs++
				dr := a.ledger.dialogReport(d, ka)
				dr.InProgress = d.ended == 0
				fs := appendDialogFindings(nil, d, ka)
				for _, f := range fs {
					r.FindingCounts[f.Kind]++
				}
				r.Findings = append(r.Findings, fs...)
				if len(fs) > 0 || d.problem {
					r.Overview.ProblemDialogs++
					liveProblems = append(liveProblems, dr)
				} else {
					liveRows = append(liveRows, dr)
				}
			}
			if d.Timer != nil {
				tr, ts := buildTimerReport(d, a.last, nil)
				liveTimers = append(liveTimers, tr)
				s.SessionTimers = append(s.SessionTimers, ts)
			}
		}
	}
	s.Calls = r.Overview.Calls
	problems := append(append([]DialogReport{}, a.ledger.tot.problemRows.rows...), liveProblems...)
	rows := append(append(problems, liveRows...), a.ledger.tot.dialogRows.rows...)
	if a.opts.MaxRows > 0 && len(rows) > a.opts.MaxRows {
		r.Omitted["dialogs"] = len(rows) - a.opts.MaxRows
		if n := len(problems) - a.opts.MaxRows; n > 0 {
			r.Omitted["dialogs_with_problems"] = n
		}
		rows = rows[:a.opts.MaxRows]
	}
	r.Dialogs = rows
	r.NotKeepAlives = append([]NotKeepAlive{}, a.ledger.tot.notKeepRows.rows...)
	r.Findings = append(append([]Finding{}, a.ledger.tot.findings.rows...), r.Findings...)
	r.Timers = append(append([]TimerReport{}, a.ledger.tot.timers.rows...), liveTimers...)
	a.complete(r)
	return r
}

// cloneOutcomes copies a map of outcomes, for a snapshot that must not
// change the totals.
func cloneOutcomes(m map[string]*Outcomes) map[string]*Outcomes {
	out := make(map[string]*Outcomes, len(m))
	for k, v := range m {
		c := *v
		out[k] = &c
	}
	return out
}
