package analyze

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sipalive/sipalive/capture"
)

// Report is everything the analysis found, ready for tables or JSON.
type Report struct {
	Inputs        []Input          `json:"inputs"`
	Overview      Overview         `json:"overview"`
	Summary       Summary          `json:"summary"`
	KeepAlives    []MethodOutcomes `json:"session_keepalive_outcomes"`
	Dialogs       []DialogReport   `json:"dialogs"`
	NotKeepAlives []NotKeepAlive   `json:"not_keepalives"`
	Devices       []DeviceReport   `json:"device_keepalives"`
	NAT           []NATReport      `json:"nat_keepalives"`
	Timers        []TimerReport    `json:"session_timers"`
	Vendors       []VendorReport   `json:"vendors"`
	Matrix        []MatrixRow      `json:"interop_matrix"`
	Findings      []Finding        `json:"findings"`

	// KeepAliveRows are the session keep-alive transactions, one CSV row each.
	KeepAliveRows []KeepAliveRow `json:"-"`
	// ProblemDialogs are the dialogs a finding names, for pcap export.
	ProblemDialogs []*Dialog `json:"-"`
}

// Input describes one capture file read.
type Input struct {
	Path      string `json:"path"`
	Format    string `json:"format"`
	Packets   uint64 `json:"packets"`
	Truncated bool   `json:"truncated,omitempty"`
	Error     string `json:"error,omitempty"`
}

// Overview is the first table: what was read and what it held.
type Overview struct {
	Files            int               `json:"files"`
	Packets          uint64            `json:"packets"`
	SIPMessages      uint64            `json:"sip_messages"`
	Requests         uint64            `json:"requests"`
	Responses        uint64            `json:"responses"`
	Malformed        uint64            `json:"malformed"`
	MalformedReasons map[string]uint64 `json:"malformed_reasons,omitempty"`
	NotSIP           uint64            `json:"packets_not_sip"`
	OrphanResponses  uint64            `json:"orphan_responses"`
	Calls            int               `json:"calls"`
	Dialogs          int               `json:"dialogs"`
	Start            time.Time         `json:"start"`
	End              time.Time         `json:"end"`
	DurationSeconds  float64           `json:"duration_seconds"`
	Capture          capture.Stats     `json:"capture"`
}

// Outcomes counts transactions by how they ended. Its JSON keys are those
// of the corpus schema.
type Outcomes struct {
	Sent       int `json:"sent"`
	OK         int `json:"2xx"`
	C481       int `json:"481"`
	C405       int `json:"405"`
	C501       int `json:"501"`
	OtherFinal int `json:"other_final"`
	Unanswered int `json:"unanswered"`
}

func (o *Outcomes) add(t *Transaction) {
	o.Sent++
	switch t.Outcome() {
	case Outcome2xx:
		o.OK++
	case Outcome481:
		o.C481++
	case Outcome405:
		o.C405++
	case Outcome501:
		o.C501++
	case OutcomeOther:
		o.OtherFinal++
	case OutcomeUnanswered:
		o.Unanswered++
	}
}

// Summary carries the counts of the corpus schema (shared/corpus/SCHEMA.md).
type Summary struct {
	SIPMessages       uint64               `json:"sip_messages"`
	Calls             int                  `json:"calls"`
	SessionKeepAlives map[string]*Outcomes `json:"session_keepalives"`
	NotKeepAlive      map[string]int       `json:"not_keepalive"`
	DeviceKeepAlives  map[string]*Outcomes `json:"device_keepalives"`
	SessionTimers     []TimerSummary       `json:"session_timers"`
}

// TimerSummary is one negotiated session timer, as the schema names it.
type TimerSummary struct {
	CallID         string `json:"call_id"`
	SessionExpires uint32 `json:"session_expires"`
	Refresher      string `json:"refresher"`
	MinSE          uint32 `json:"min_se"`
	Refreshes      int    `json:"refreshes"`
}

// MethodOutcomes is one row of the session keep-alive table.
type MethodOutcomes struct {
	Method string `json:"method"`
	Outcomes
}

// DialogReport is one dialog that carried session keep-alives.
type DialogReport struct {
	CallID      string        `json:"call_id"`
	Caller      string        `json:"caller"`
	Callee      string        `json:"callee"`
	CallerAgent string        `json:"caller_agent"`
	CalleeAgent string        `json:"callee_agent"`
	Methods     []MethodCount `json:"methods"`
	Count       int           `json:"count"`
	Directions  []Direction   `json:"directions"`
	IntervalMin float64       `json:"interval_min_seconds"`
	IntervalAvg float64       `json:"interval_avg_seconds"`
	IntervalMax float64       `json:"interval_max_seconds"`
	LastMethod  string        `json:"last_method"`
	LastCode    int           `json:"last_code"`
	LastOutcome string        `json:"last_outcome"`
	Verdict     string        `json:"verdict"`
	Ended       string        `json:"ended"` // "BYE by caller", "BYE by callee", "no BYE seen"
	Start       time.Time     `json:"start"`
	MidCall     bool          `json:"mid_call,omitempty"`
}

// MethodCount is how often a dialog used one keep-alive method.
type MethodCount struct {
	Method string `json:"method"`
	Count  int    `json:"count"`
}

// Direction is one side's keep-alives within a dialog.
type Direction struct {
	From             string  `json:"from"` // "caller" or "callee"
	Count            int     `json:"count"`
	FirstAfter2xx    float64 `json:"first_after_2xx_seconds"`
	IntervalMin      float64 `json:"interval_min_seconds"`
	IntervalMedian   float64 `json:"interval_median_seconds"`
	IntervalMax      float64 `json:"interval_max_seconds"`
	LongGaps         int     `json:"long_gaps"` // gaps over twice the median interval
	LastOutcome      string  `json:"last_outcome"`
	LastCode         int     `json:"last_code"`
	StaleAfterDialog int     `json:"stale,omitempty"`
}

// NotKeepAlive is one request that resembles a keep-alive but is not one.
type NotKeepAlive struct {
	Time   time.Time `json:"time"`
	CallID string    `json:"call_id"`
	Method string    `json:"method"`
	Class  string    `json:"class"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Agent  string    `json:"agent"`
	Code   int       `json:"code"`
	Why    string    `json:"why"`
}

// DeviceReport is the out-of-dialog keep-alive traffic of one pinger to one
// target for one method.
type DeviceReport struct {
	Method      string         `json:"method"`
	From        string         `json:"from"`
	To          string         `json:"to"`
	FromAgent   string         `json:"from_agent"`
	ToAgent     string         `json:"to_agent"`
	Sent        int            `json:"sent"`
	Answered    int            `json:"answered"`
	Unanswered  int            `json:"unanswered"`
	Codes       map[string]int `json:"codes"`
	IntervalMed float64        `json:"interval_median_seconds"`
	DownWindows []DownWindow   `json:"down_windows,omitempty"`
	Expires     int            `json:"granted_expires,omitempty"` // REGISTER
	LateRefresh int            `json:"late_refreshes,omitempty"`  // REGISTER
}

// DownWindow is a run of consecutive unanswered pings.
type DownWindow struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Pings int       `json:"pings"`
}

// NATReport is one pinger's non-SIP NAT keep-alives.
type NATReport struct {
	From        string  `json:"from"`
	To          string  `json:"to"`
	Transport   string  `json:"transport"`
	Kind        string  `json:"kind"`
	Count       int     `json:"count"`
	IntervalAvg float64 `json:"interval_avg_seconds"`
}

// TimerReport is one call's session timer and its verdict.
type TimerReport struct {
	CallID string `json:"call_id"`
	SessionTimer
	TimerCheck
	Verdict string `json:"verdict"`
}

// VendorReport is one product's keep-alive behaviour.
type VendorReport struct {
	Agent    string               `json:"agent"`
	Sent     map[string]int       `json:"sent"`
	Answered map[string]*Outcomes `json:"answered"`
	// Interval median and spread (max - min) per method sent, in seconds,
	// between keep-alives of one dialog and direction.
	Interval       map[string]float64 `json:"interval_median_seconds,omitempty"`
	IntervalSpread map[string]float64 `json:"interval_spread_seconds,omitempty"`
	// Allow is the method list the vendor advertises.
	Allow string `json:"allow,omitempty"`
	// WithBody counts keep-alives sent carrying a (non-SDP) body; WithSDP
	// in-dialog INFO, MESSAGE or OPTIONS sent with SDP (not keep-alives).
	WithBody           int `json:"keepalives_with_body,omitempty"`
	WithSDP            int `json:"in_dialog_requests_with_sdp,omitempty"`
	ReinviteNoSDP      int `json:"reinvite_no_sdp_sent,omitempty"`
	MessageOutOfDialog int `json:"message_out_of_dialog_sent,omitempty"`
	// EndedDialog counts how the vendor answered keep-alives for dialogs
	// that had already ended: 481 is right, 2xx means it answers for
	// dialogs it does not know.
	EndedDialog        map[string]int `json:"answers_for_ended_dialogs,omitempty"`
	EndedDialogVerdict string         `json:"ended_dialog_verdict,omitempty"`
	Recommendation     string         `json:"recommendation,omitempty"`
}

// MatrixRow is one sender × receiver × method cell of the interop matrix.
type MatrixRow struct {
	Sender   string `json:"sender"`
	Receiver string `json:"receiver"`
	Method   string `json:"method"`
	Outcomes
}

// Finding is a problem worth a ticket.
type Finding struct {
	Kind   string    `json:"kind"` // lost, unsupported, unanswered, expired, stale, dropped, late-refresh, 3pcc
	CallID string    `json:"call_id"`
	Time   time.Time `json:"time"`
	Detail string    `json:"detail"`
}

// KeepAliveRow is one session keep-alive transaction, for CSV.
type KeepAliveRow struct {
	Time         time.Time
	CallID       string
	Method       string
	Direction    string
	From, To     string
	Agent        string
	Code         int
	ResponseTime time.Duration
}

// Finish builds the report. stats is what the capture package counted.
func (a *Analyzer) Finish(stats capture.Stats) *Report {
	r := &Report{}
	end := a.last
	a.overview(r, stats)
	a.summary(r)
	a.dialogReports(r, end)
	a.notKeepAlives(r)
	a.deviceReports(r)
	a.natReports(r)
	a.timerReports(r, end)
	a.vendorReports(r)
	sort.SliceStable(r.Findings, func(i, j int) bool { return r.Findings[i].Time.Before(r.Findings[j].Time) })
	return r
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
	for _, d := range a.dialogs {
		if d.IsCall {
			o.Calls++
		}
	}
	o.Dialogs = len(a.dialogs)
	o.Start, o.End = a.first, a.last
	if !a.first.IsZero() {
		o.DurationSeconds = round3(a.last.Sub(a.first).Seconds())
	}
	o.Capture = s
}

func (a *Analyzer) summary(r *Report) {
	s := &r.Summary
	s.SIPMessages = a.sipMessages
	s.Calls = r.Overview.Calls
	s.SessionKeepAlives = map[string]*Outcomes{}
	s.NotKeepAlive = map[string]int{}
	s.DeviceKeepAlives = map[string]*Outcomes{}
	s.SessionTimers = []TimerSummary{}
	for _, t := range a.transactions {
		switch {
		case t.Class == ClassSessionKeepAlive:
			outcomesFor(s.SessionKeepAlives, t.Method).add(t)
		case t.Class.IsNotKeepAlive():
			s.NotKeepAlive[t.Class.Key()]++
		case t.Class == ClassDeviceKeepAlive:
			outcomesFor(s.DeviceKeepAlives, t.Method).add(t)
		}
	}
	for _, m := range sortedKeys(s.SessionKeepAlives) {
		r.KeepAlives = append(r.KeepAlives, MethodOutcomes{Method: m, Outcomes: *s.SessionKeepAlives[m]})
	}
	for _, d := range a.dialogs {
		if d.Timer == nil {
			continue
		}
		refreshes := 0
		for _, t := range d.Transactions {
			if t.Method == "INVITE" || t.Method == "UPDATE" {
				refreshes++
			}
		}
		s.SessionTimers = append(s.SessionTimers, TimerSummary{
			CallID: d.CallID, SessionExpires: d.Timer.SessionExpires, Refresher: d.Timer.Refresher,
			MinSE: d.Timer.MinSE, Refreshes: refreshes,
		})
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

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// verdict names what the last keep-alive of a dialog says about the peer.
func verdict(t *Transaction) string {
	switch t.Outcome() {
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
	return fmt.Sprintf("failed (%d)", t.Final)
}

func (a *Analyzer) dialogReports(r *Report, end time.Time) {
	for _, d := range a.dialogs {
		ka := d.KeepAlives()
		if len(ka) == 0 {
			continue
		}
		dr := DialogReport{
			CallID:      d.CallID,
			Caller:      d.Caller.String(),
			Callee:      d.Callee.String(),
			CallerAgent: a.agentOf(d.CallerAgent, d.Caller.Addr()),
			CalleeAgent: a.agentOf(d.CalleeAgent, d.Callee.Addr()),
			Count:       len(ka),
			Start:       d.Confirmed,
			MidCall:     d.MidCall,
		}
		if dr.Start.IsZero() {
			dr.Start = ka[0].Start
		}
		counts := map[string]int{}
		var order []string
		for _, t := range ka {
			if counts[t.Method] == 0 {
				order = append(order, t.Method)
			}
			counts[t.Method]++
		}
		for _, m := range order {
			dr.Methods = append(dr.Methods, MethodCount{m, counts[m]})
		}
		var all []float64
		for _, side := range []string{"caller", "callee"} {
			var mine []*Transaction
			for _, t := range ka {
				if d.side(t) == side {
					mine = append(mine, t)
				}
			}
			if len(mine) == 0 {
				continue
			}
			dir := Direction{From: side, Count: len(mine)}
			if !d.Confirmed.IsZero() {
				dir.FirstAfter2xx = round3(mine[0].Start.Sub(d.Confirmed).Seconds())
			}
			iv := intervals(mine)
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
			last := mine[len(mine)-1]
			dir.LastOutcome, dir.LastCode = last.Outcome().String(), last.Final
			for _, t := range mine {
				if !d.Ended.IsZero() && t.Start.After(d.Ended) {
					dir.StaleAfterDialog++
				}
			}
			dr.Directions = append(dr.Directions, dir)
		}
		if len(all) > 0 {
			dr.IntervalMin, dr.IntervalMax = minMax(all)
			dr.IntervalAvg = round3(mean(all))
		}
		last := ka[len(ka)-1]
		dr.LastMethod, dr.LastCode, dr.LastOutcome = last.Method, last.Final, last.Outcome().String()
		dr.Verdict = verdict(last)
		switch {
		case !d.Ended.IsZero():
			dr.Ended = "BYE by " + d.EndedBy
		default:
			dr.Ended = "no BYE seen"
		}
		r.Dialogs = append(r.Dialogs, dr)
		a.dialogFindings(r, d, ka)
		for _, t := range ka {
			r.KeepAliveRows = append(r.KeepAliveRows, KeepAliveRow{
				Time: t.Start, CallID: d.CallID, Method: t.Method,
				Direction: d.side(t) + "→" + other(d.side(t)),
				From:      t.Src.String(), To: t.Dst.String(),
				Agent: a.agentOf(t.Agent, t.Src.Addr()), Code: t.Final, ResponseTime: t.ResponseTime(),
			})
		}
	}
	sort.SliceStable(r.KeepAliveRows, func(i, j int) bool { return r.KeepAliveRows[i].Time.Before(r.KeepAliveRows[j].Time) })
}

func other(side string) string {
	if side == "caller" {
		return "callee"
	}
	return "caller"
}

// dialogFindings turns a dialog's keep-alive failures into findings.
func (a *Analyzer) dialogFindings(r *Report, d *Dialog, ka []*Transaction) {
	problem := false
	add := func(kind string, t *Transaction, detail string) {
		r.Findings = append(r.Findings, Finding{Kind: kind, CallID: d.CallID, Time: t.Start, Detail: detail})
		problem = true
	}
	for _, t := range ka {
		who := d.side(t)
		switch t.Outcome() {
		case Outcome481:
			add("lost", t, fmt.Sprintf("%s %s from %s answered 481: the peer lost the dialog", t.Method, cseq(t), who))
		case Outcome405, Outcome501:
			detail := fmt.Sprintf("%s from %s answered %d: method unsupported", t.Method, who, t.Final)
			if t.Allow != "" {
				detail += " (Allow: " + t.Allow + ")"
			}
			add("unsupported", t, detail)
		case OutcomeUnanswered:
			detail := fmt.Sprintf("%s %s from %s never answered", t.Method, cseq(t), who)
			if t.Retransmissions > 0 {
				detail += fmt.Sprintf(" (%d retransmissions)", t.Retransmissions)
			}
			if t.Late != 0 {
				detail += fmt.Sprintf("; %d came after the %s timeout", t.Late, TransactionTimeout)
			}
			add("unanswered", t, detail)
		}
		if !d.Ended.IsZero() && t.Start.After(d.Ended) {
			add("stale", t, fmt.Sprintf("%s from %s sent %.1f s after the BYE", t.Method, who, t.Start.Sub(d.Ended).Seconds()))
		}
	}
	// A BYE right after a failed keep-alive: the keep-alive dropped the call.
	if !d.Ended.IsZero() {
		var lastBefore *Transaction
		for _, t := range ka {
			if !t.Start.After(d.Ended) {
				lastBefore = t
			}
		}
		if lastBefore != nil {
			o := lastBefore.Outcome()
			failedAt := lastBefore.FinalAt
			if o == OutcomeUnanswered {
				failedAt = lastBefore.Start
			}
			if (o == Outcome481 || o == OutcomeUnanswered) && d.Ended.Sub(failedAt) < 64*time.Second {
				add("dropped", lastBefore, fmt.Sprintf("BYE by %s %.1f s after %s %s", d.EndedBy,
					d.Ended.Sub(lastBefore.Start).Seconds(), lastBefore.Method, o))
			}
		}
	}
	if problem {
		r.ProblemDialogs = append(r.ProblemDialogs, d)
	}
}

func cseq(t *Transaction) string { return "(CSeq " + strconv.FormatUint(uint64(t.CSeq), 10) + ")" }

func (a *Analyzer) notKeepAlives(r *Report) {
	for _, t := range a.transactions {
		if !t.Class.IsNotKeepAlive() {
			continue
		}
		callID := ""
		if t.Dialog != nil {
			callID = t.Dialog.CallID
		}
		r.NotKeepAlives = append(r.NotKeepAlives, NotKeepAlive{
			Time: t.Start, CallID: callID, Method: t.Method, Class: t.Class.Key(),
			From: t.Src.String(), To: t.Dst.String(), Agent: a.agentOf(t.Agent, t.Src.Addr()),
			Code: t.Final, Why: t.Class.Why(),
		})
	}
	// MESSAGE outside a dialog has no dialog: name its Call-ID anyway.
	for i := range r.NotKeepAlives {
		if r.NotKeepAlives[i].CallID == "" {
			r.NotKeepAlives[i].CallID = a.callIDOf(r.NotKeepAlives[i].Time, r.NotKeepAlives[i].Method)
		}
	}
}

func (a *Analyzer) callIDOf(t time.Time, method string) string {
	for id, c := range a.calls {
		for _, tx := range c.txs {
			if tx.Start.Equal(t) && tx.Method == method {
				return id
			}
		}
	}
	return ""
}

func (a *Analyzer) deviceReports(r *Report) {
	type key struct{ method, from, to string }
	groups := map[key][]*Transaction{}
	var order []key
	for _, t := range a.transactions {
		if t.Class != ClassDeviceKeepAlive {
			continue
		}
		k := key{t.Method, t.Src.String(), t.Dst.String()}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], t)
	}
	for _, k := range order {
		txs := groups[k]
		dr := DeviceReport{Method: k.method, From: k.from, To: k.to, Codes: map[string]int{},
			FromAgent: a.agentOf(txs[0].Agent, txs[0].Src.Addr()), ToAgent: a.agentOf(txs[0].Answerer, txs[0].Dst.Addr())}
		var run *DownWindow
		for _, t := range txs {
			dr.Sent++
			if t.Answered() {
				dr.Answered++
				dr.Codes[strconv.Itoa(t.Final)]++
				run = nil
				continue
			}
			dr.Unanswered++
			dr.Codes["none"]++
			if run == nil {
				dr.DownWindows = append(dr.DownWindows, DownWindow{Start: t.Start})
				run = &dr.DownWindows[len(dr.DownWindows)-1]
			}
			run.End, run.Pings = t.Start, run.Pings+1
		}
		if iv := intervals(txs); len(iv) > 0 {
			dr.IntervalMed = round3(median(iv))
		}
		if k.method == "REGISTER" {
			a.registerChecks(r, &dr, txs)
		}
		for _, w := range dr.DownWindows {
			r.Findings = append(r.Findings, Finding{Kind: "device-down", Time: w.Start,
				Detail: fmt.Sprintf("%s %s → %s: %d unanswered in a row until %s", k.method, k.from, k.to, w.Pings, w.End.Format("15:04:05.000"))})
		}
		r.Devices = append(r.Devices, dr)
	}
}

// registerChecks compares each REGISTER refresh with the Expires the
// registrar granted to the one before it: a refresh after the binding
// expired is late.
func (a *Analyzer) registerChecks(r *Report, dr *DeviceReport, txs []*Transaction) {
	var granted time.Time
	for _, t := range txs {
		if !granted.IsZero() && t.Start.After(granted) {
			dr.LateRefresh++
			r.Findings = append(r.Findings, Finding{Kind: "late-register", Time: t.Start,
				Detail: fmt.Sprintf("REGISTER %s → %s refreshed %.1f s after the binding expired", dr.From, dr.To, t.Start.Sub(granted).Seconds())})
		}
		if t.Final >= 200 && t.Final < 300 {
			exp := t.RespExpires
			if exp < 0 {
				exp = t.Expires
			}
			if exp > 0 {
				dr.Expires = exp
				granted = t.FinalAt.Add(time.Duration(exp) * time.Second)
			} else if exp == 0 {
				granted = time.Time{} // unregistered
			}
		}
	}
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

func (a *Analyzer) timerReports(r *Report, end time.Time) {
	for _, d := range a.dialogs {
		if d.Timer == nil {
			continue
		}
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
		if tc.Expired {
			r.Findings = append(r.Findings, Finding{Kind: "expired", CallID: d.CallID, Time: tc.ExpiredAt,
				Detail: fmt.Sprintf("Session-Expires %d s, refresher %s: no refresh by %.0f s (longest gap %.1f s)",
					d.Timer.SessionExpires, refresherName(d.Timer.Refresher), expiryMargin(time.Duration(d.Timer.SessionExpires)*time.Second).Seconds(), tc.LongestGap)})
			r.ProblemDialogs = appendOnce(r.ProblemDialogs, d)
		} else if !tc.OnTime {
			r.Findings = append(r.Findings, Finding{Kind: "late-refresh", CallID: d.CallID, Time: d.Confirmed,
				Detail: fmt.Sprintf("refresher %s left %.1f s between refreshes; RFC 4028 asks for half of %d s",
					refresherName(d.Timer.Refresher), tc.LongestGap, d.Timer.SessionExpires)})
		}
		r.Timers = append(r.Timers, tr)
	}
}

func refresherName(r string) string {
	if r == "" {
		return "unnamed (uac)"
	}
	return r
}

func appendOnce(ds []*Dialog, d *Dialog) []*Dialog {
	for _, x := range ds {
		if x == d {
			return ds
		}
	}
	return append(ds, d)
}

func (a *Analyzer) vendorReports(r *Report) {
	vendors := map[string]*VendorReport{}
	get := func(name string) *VendorReport {
		v, ok := vendors[name]
		if !ok {
			v = &VendorReport{Agent: name, Sent: map[string]int{}, Answered: map[string]*Outcomes{},
				Interval: map[string]float64{}, IntervalSpread: map[string]float64{}}
			vendors[name] = v
		}
		return v
	}
	type cell struct{ s, r, m string }
	matrix := map[cell]*Outcomes{}
	updateTo := map[string]map[string]bool{}    // sender → receivers of UPDATE keep-alives
	perSender := map[[2]string][]*Transaction{} // vendor+method → keep-alives, for intervals
	for _, t := range a.transactions {
		sender := a.agentOf(t.Agent, t.Src.Addr())
		switch t.Class {
		case ClassSessionKeepAlive:
			receiver := a.agentOf(t.Answerer, t.Dst.Addr())
			sv, rv := get(sender), get(receiver)
			sv.Sent[t.Method]++
			if t.HasBody {
				sv.WithBody++
			}
			outcomesFor(rv.Answered, t.Method).add(t)
			if d := t.Dialog; d != nil && !d.Ended.IsZero() && t.Start.After(d.Ended) {
				if rv.EndedDialog == nil {
					rv.EndedDialog = map[string]int{}
				}
				rv.EndedDialog[t.Outcome().String()]++
			}
			if t.Method == "UPDATE" {
				if updateTo[sender] == nil {
					updateTo[sender] = map[string]bool{}
				}
				updateTo[sender][receiver] = true
			}
			if sv.Allow == "" {
				sv.Allow = a.allows[t.Src.Addr()]
			}
			if rv.Allow == "" {
				rv.Allow = a.allows[t.Dst.Addr()]
			}
			c := cell{sender, receiver, t.Method}
			if matrix[c] == nil {
				matrix[c] = &Outcomes{}
			}
			matrix[c].add(t)
			perSender[[2]string{sender, t.Method}] = append(perSender[[2]string{sender, t.Method}], t)
		case ClassInDialogWithSDP:
			get(sender).WithSDP++
		case ClassReinviteNoSDP:
			get(sender).ReinviteNoSDP++
		case ClassMessageOutOfDialog:
			get(sender).MessageOutOfDialog++
		}
	}
	for k, txs := range perSender {
		// intervals per dialog and direction, pooled per vendor and method
		byDialog := map[*Dialog][]*Transaction{}
		for _, t := range txs {
			byDialog[t.Dialog] = append(byDialog[t.Dialog], t)
		}
		var iv []float64
		for _, ts := range byDialog {
			iv = append(iv, intervals(ts)...)
		}
		if len(iv) > 0 {
			lo, hi := minMax(iv)
			vendors[k[0]].Interval[k[1]] = round3(median(iv))
			vendors[k[0]].IntervalSpread[k[1]] = round3(hi - lo)
		}
	}
	for _, name := range sortedKeys(vendors) {
		v := vendors[name]
		switch e := v.EndedDialog; {
		case e["2xx"] > 0:
			v.EndedDialogVerdict = fmt.Sprintf("answered 2xx ×%d for dialogs that had ended: it should answer 481", e["2xx"])
			r.Findings = append(r.Findings, Finding{Kind: "answers-unknown-dialog", Time: a.first,
				Detail: v.Agent + " answers 2xx to keep-alives for dialogs that had ended (RFC 3261 12.2.2 asks for 481): keep-alives to it prove nothing"})
		case e["481"] > 0:
			v.EndedDialogVerdict = "answers 481 for dialogs that had ended (correct)"
		}
		var noUpdate []string
		for recv := range updateTo[name] {
			if rv := vendors[recv]; rv != nil && rv.Allow != "" && !allowHas(rv.Allow, "UPDATE") {
				noUpdate = append(noUpdate, recv)
			}
		}
		sort.Strings(noUpdate)
		v.Recommendation = recommend(v, noUpdate)
		r.Vendors = append(r.Vendors, *v)
	}
	cells := make([]cell, 0, len(matrix))
	for c := range matrix {
		cells = append(cells, c)
	}
	sort.Slice(cells, func(i, j int) bool {
		a, b := cells[i], cells[j]
		if a.s != b.s {
			return a.s < b.s
		}
		if a.r != b.r {
			return a.r < b.r
		}
		return a.m < b.m
	})
	for _, c := range cells {
		r.Matrix = append(r.Matrix, MatrixRow{Sender: c.s, Receiver: c.r, Method: c.m, Outcomes: *matrix[c]})
	}
}

func allowHas(allow, method string) bool {
	for _, m := range strings.Split(allow, ",") {
		if strings.EqualFold(strings.TrimSpace(m), method) {
			return true
		}
	}
	return false
}

// recommend applies the field rules to a vendor's behaviour. noUpdate
// names peers it sent UPDATE to although their Allow lacks it.
func recommend(v *VendorReport, noUpdate []string) string {
	var rec []string
	if v.ReinviteNoSDP > 0 {
		rec = append(rec, "do not use re-INVITE without SDP as a keep-alive (that is 3PCC)")
	}
	if v.MessageOutOfDialog > 0 && len(v.Sent) > 0 {
		rec = append(rec, "send MESSAGE keep-alives only inside the dialog")
	}
	for m, o := range v.Answered {
		if o.C405+o.C501 > 0 {
			rec = append(rec, fmt.Sprintf("rejects %s (405/501): peers should keep alive with INFO", m))
		}
	}
	if len(noUpdate) > 0 {
		rec = append(rec, "sends UPDATE to "+strings.Join(noUpdate, ", ")+" whose Allow does not list it: keep alive with INFO")
	} else if v.Sent["UPDATE"] > 0 && v.Sent["INFO"] == 0 {
		rec = append(rec, "keeps alive with UPDATE only: fine where the peer's Allow lists it; INFO (RFC 3261) is the safe choice")
	}
	if v.WithSDP > 0 {
		rec = append(rec, "keep-alives must not carry SDP")
	}
	sort.Strings(rec)
	return strings.Join(rec, "; ")
}

// intervals returns the seconds between consecutive transactions.
func intervals(txs []*Transaction) []float64 {
	var iv []float64
	for i := 1; i < len(txs); i++ {
		iv = append(iv, txs[i].Start.Sub(txs[i-1].Start).Seconds())
	}
	return iv
}

func minMax(v []float64) (float64, float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return round3(lo), round3(hi)
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
