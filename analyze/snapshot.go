package analyze

import (
	"maps"
	"slices"
	"sort"

	"github.com/sipalive/sipalive/capture"
)

// Snapshot builds a report of the analysis so far without changing it: the
// folded totals plus what is still live (open transactions and dialogs),
// for a live view. A transaction still waiting for its answer counts as
// unanswered until it is answered. Finish gives the final report.
func (a *Analyzer) Snapshot(stats capture.Stats) *Report {
	r := &Report{FindingCounts: maps.Clone(a.tot.findingCount), Omitted: map[string]int{}}
	a.overview(r, stats)
	s := &r.Summary
	s.SIPMessages = a.sipMessages
	s.SessionKeepAlives = cloneOutcomes(a.tot.session)
	s.NotKeepAlive = maps.Clone(a.tot.notKeepAlive)
	s.DeviceKeepAlives = cloneOutcomes(a.tot.device)
	s.SessionTimers = append([]TimerSummary{}, a.tot.timerSummary...)

	live := a.calls.all()
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
	var liveRows []DialogReport
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
			if d.IsCall {
				r.Overview.Calls++
			}
			for _, t := range d.Transactions {
				count(t)
			}
			if ka := a.keepAlives(d, false); ka.count > 0 {
				r.Overview.KeepAliveDialogs++
				liveRows = append(liveRows, a.dialogReport(d, ka))
			}
			if d.Timer != nil {
				tr, ts := buildTimerReport(d, a.last)
				liveTimers = append(liveTimers, tr)
				s.SessionTimers = append(s.SessionTimers, ts)
			}
		}
	}
	s.Calls = r.Overview.Calls
	for _, m := range slices.Sorted(maps.Keys(s.SessionKeepAlives)) {
		r.KeepAlives = append(r.KeepAlives, MethodOutcomes{Method: m, Outcomes: *s.SessionKeepAlives[m]})
	}
	rows := append(append(append([]DialogReport{}, a.tot.problemRows.rows...), liveRows...), a.tot.dialogRows.rows...)
	if a.opts.MaxRows > 0 && len(rows) > a.opts.MaxRows {
		r.Omitted["dialogs"] = len(rows) - a.opts.MaxRows
		rows = rows[:a.opts.MaxRows]
	}
	r.Dialogs = rows
	r.NotKeepAlives = append([]NotKeepAlive{}, a.tot.notKeepRows.rows...)
	r.Findings = append([]Finding{}, a.tot.findings.rows...)
	r.Timers = append(append([]TimerReport{}, a.tot.timers.rows...), liveTimers...)
	a.aggregates(r)
	return r
}

func cloneOutcomes(m map[string]*Outcomes) map[string]*Outcomes {
	out := make(map[string]*Outcomes, len(m))
	for k, v := range m {
		c := *v
		out[k] = &c
	}
	return out
}
