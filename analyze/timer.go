package analyze

import (
	"slices"
	"time"
)

// SessionTimer is an RFC 4028 session timer as the 2xx to the INVITE
// settled it, and what became of it.
type SessionTimer struct {
	SessionExpires uint32 `json:"session_expires"`           // seconds, from the 2xx
	Requested      uint32 `json:"requested_session_expires"` // Session-Expires the INVITE asked for
	Refresher      string `json:"refresher"`                 // "uac" or "uas" (empty when the 2xx named none)
	MinSE          uint32 `json:"min_se"`                    // from the INVITE, else the 422, else 90
	Rounds422      int    `json:"rounds_422"`                // 422 Session Interval Too Small answers before the call
	Require        bool   `json:"require_timer"`             // the 2xx carried Require: timer
}

// TimerCheck is the verdict on one dialog's session timer. Following RFC
// 4028 (sections 7.4, 8.1 and 9), a session refresh is an in-dialog
// re-INVITE or UPDATE whose 2xx carries Session-Expires: a 2xx without it
// means the session has no expiration any more, so such a request did not
// refresh the timer; it may have switched it off.
type TimerCheck struct {
	Refreshes      int       `json:"refreshes"`              // refreshes: in-dialog re-INVITE and UPDATE answered 2xx with Session-Expires
	ByRefresher    int       `json:"refreshes_by_refresher"` // of those, sent by the side that was the refresher
	ByOther        int       `json:"refreshes_by_other"`     // of those, sent by the other side (a refresh all the same)
	NotRefreshing  int       `json:"not_refreshing"`         // in-dialog re-INVITE and UPDATE that did not refresh (no 2xx, or a 2xx without Session-Expires)
	Methods        []string  `json:"refresh_methods"`        // refresh methods used ("UPDATE without SDP", "re-INVITE with SDP", ...)
	OnTime         bool      `json:"on_time"`                // every interval between refreshes was within half the session interval
	LongestGap     float64   `json:"longest_gap_seconds"`    // seconds without a refresh
	Expired        bool      `json:"expired"`                // the session went past Session-Expires - min(32, SE/3) since the last refresh
	ExpiredAt      time.Time `json:"expired_at,omitzero"`    // when it expired
	ByeAfterExpiry bool      `json:"bye_after_expiry"`       // a BYE followed the expiry
	// SwitchedOff is the first in-dialog re-INVITE or UPDATE answered 2xx
	// without Session-Expires while the timer ran, when there was one:
	// the answerer switched the timer off (RFC 4028 section 8.1), though a
	// peer that keeps its own timer will still hang up at expiry.
	SwitchedOff *TimerOff `json:"switched_off,omitempty"`
}

// TimerOff is the request whose 2xx switched a session timer off.
type TimerOff struct {
	At        time.Time `json:"at"`
	Method    string    `json:"method"`
	CSeq      uint32    `json:"cseq"`
	Sender    string    `json:"sender"`    // caller, callee, proxy to caller, proxy to callee
	Requested uint32    `json:"requested"` // the Session-Expires the request asked for; 0: it asked for none
}

// TimerState is how a session timer fared.
type TimerState uint8

// How a session timer fared.
const (
	TimerOK             TimerState = iota + 1 // refreshed on time
	TimerNotDue                               // no refresh was due yet when the dialog or capture ended
	TimerLate                                 // a refresh came after half the interval
	TimerExpired                              // no refresh came by the expiry
	TimerExpiredThenBye                       // expired, and a BYE followed
	TimerSwitchedOff                          // a 2xx without Session-Expires switched it off
)

// refresherIsCaller reports whether the refresher is the caller (the UAC of
// the dialog-creating INVITE).
func (st *SessionTimer) refresherIsCaller() bool { return st.Refresher != "uas" }

// expiryMargin is RFC 4028 section 10: the session expires when no refresh
// arrived by Session-Expires minus the smaller of 32 s and a third of it.
func expiryMargin(se time.Duration) time.Duration {
	return se - min(32*time.Second, se/3)
}

// check follows the timer through the dialog until it ended (BYE) or the
// capture did. Expiry is judged from the last real refresh by a party,
// whichever party sent it (RFC 4028 section 10); the refresher is the side
// the last 2xx named (section 7.4: "refresher=uac" names the sender of
// that request).
//
// With scratch, the check's SwitchedOff and Methods point into it, so that
// a verdict only looked at costs no allocation (see TimerReport.owned).
func (st *SessionTimer) check(d *Dialog, end time.Time, scratch *timerScratch) TimerCheck {
	var tc TimerCheck
	tc.OnTime = true
	se := time.Duration(st.SessionExpires) * time.Second
	last := d.Confirmed()
	refresherIsCaller := st.refresherIsCaller()
	judge := func(gap time.Duration) {
		tc.LongestGap = max(tc.LongestGap, gap.Seconds())
		if gap > se/2+time.Second {
			tc.OnTime = false
		}
		if !tc.Expired && gap > expiryMargin(se) {
			tc.Expired, tc.ExpiredAt = true, last.Add(expiryMargin(se))
		}
	}
	for _, t := range d.Transactions {
		if t.Method != "INVITE" && t.Method != "UPDATE" {
			continue
		}
		ok := t.Final >= 200 && t.Final < 300
		if !ok || t.RespSE == 0 {
			tc.NotRefreshing++
			if ok && tc.SwitchedOff == nil {
				var off *TimerOff
				if scratch != nil {
					off = &scratch.off
				} else {
					off = new(TimerOff)
				}
				*off = TimerOff{At: t.FinalAt, Method: t.Method, CSeq: t.CSeq, Sender: d.side(t), Requested: t.ReqSE}
				tc.SwitchedOff = off
			}
			continue
		}
		tc.Refreshes++
		if name := refreshName(t); !slices.Contains(tc.Methods, name) {
			if tc.Methods == nil && scratch != nil {
				tc.Methods = scratch.methods[:0]
			}
			tc.Methods = append(tc.Methods, name)
		}
		if t.byProxy || t.hop {
			continue // a proxy's request refreshes one leg only; a later hop is the same request
		}
		byCaller := t.FromTag == d.CallerTag()
		if byCaller == refresherIsCaller {
			tc.ByRefresher++
		} else {
			tc.ByOther++
		}
		judge(t.Start.Sub(last))
		last = t.Start
		se = time.Duration(t.RespSE) * time.Second
		switch t.RespRefresher {
		case refresherUAC:
			refresherIsCaller = byCaller
		case refresherUAS:
			refresherIsCaller = !byCaller
		}
	}
	stop := end
	if d.ended != 0 {
		stop = d.Ended()
	}
	if gap := stop.Sub(last); gap > 0 {
		judge(gap)
	}
	if tc.Expired && d.ended != 0 && !d.Ended().Before(tc.ExpiredAt) {
		tc.ByeAfterExpiry = true
	}
	if scratch != nil && tc.Methods != nil {
		scratch.methods = tc.Methods[:0] // the array it grew, for the next check
	}
	return tc
}

// refreshName names a refresh's method as the timer table lists it.
func refreshName(t *Transaction) string {
	switch t.Class {
	case ClassReinviteNoSDP:
		return "re-INVITE without SDP"
	case ClassReinviteWithSDP:
		return "re-INVITE with SDP"
	case ClassUpdateWithSDP:
		return "UPDATE with SDP"
	case ClassSessionKeepAlive:
		return "UPDATE without SDP"
	}
	return t.Method
}

func (l *ledger) timerReport(d *Dialog, end time.Time) {
	l.timerRow, l.timerSummary = buildTimerReport(d, end, &l.timerScratch)
	tr, ts := &l.timerRow, &l.timerSummary
	sink := l.opts.Rows
	if sink == nil && (l.opts.MaxRows == 0 || len(l.tot.timerSummary) < l.opts.MaxRows) {
		l.tot.timerSummary = append(l.tot.timerSummary, *ts)
	}
	if tr.Expired {
		if l.keepFinding(FindingExpired) {
			l.addFinding(Finding{Kind: FindingExpired, CallID: d.CallID, Time: tr.ExpiredAt,
				Facts: FindingFacts{SessionExpires: d.Timer.SessionExpires, Refresher: d.Timer.Refresher,
					Limit: expiryMargin(time.Duration(d.Timer.SessionExpires) * time.Second).Seconds(), Gap: tr.LongestGap}})
		}
		l.problem(d)
	} else if !tr.OnTime && tr.SwitchedOff == nil {
		if l.keepFinding(FindingLateRefresh) {
			l.addFinding(Finding{Kind: FindingLateRefresh, CallID: d.CallID, Time: d.Confirmed(),
				Facts: FindingFacts{SessionExpires: d.Timer.SessionExpires, Refresher: d.Timer.Refresher, Gap: tr.LongestGap}})
		}
	}
	if off := tr.SwitchedOff; off != nil && l.keepFinding(FindingTimerOff) {
		l.addFinding(Finding{Kind: FindingTimerOff, CallID: d.CallID, Time: off.At,
			Facts: FindingFacts{Method: off.Method, CSeq: off.CSeq, Side: off.Sender, SessionExpires: off.Requested}})
	}
	if o := l.opts.Observe; o != nil {
		o.Timer(tr, ts)
	}
	if sink != nil {
		if l.tot.timers.keep(l.opts.MaxRows) {
			l.tot.timers.streamed++
			sink.Timer(tr, ts)
		}
		return
	}
	if l.tot.timers.keep(l.opts.MaxRows) {
		l.tot.timers.rows = append(l.tot.timers.rows, tr.owned())
	}
}

// timerScratch is what a session timer's check points into while its
// verdict is only looked at: the sinks and observers copy what they keep.
type timerScratch struct {
	off     TimerOff
	methods []string
}

// owned returns a copy of r that points into no timerScratch.
func (r *TimerReport) owned() TimerReport {
	o := *r
	if o.SwitchedOff != nil {
		off := *o.SwitchedOff
		o.SwitchedOff = &off
	}
	o.Methods = slices.Clone(o.Methods)
	return o
}

// buildTimerReport judges a dialog's session timer up to end (see check
// for scratch, which may be nil).
func buildTimerReport(d *Dialog, end time.Time, scratch *timerScratch) (TimerReport, TimerSummary) {
	tc := d.Timer.check(d, end, scratch)
	ts := TimerSummary{CallID: d.CallID, SessionExpires: d.Timer.SessionExpires, Refresher: d.Timer.Refresher,
		MinSE: d.Timer.MinSE, Refreshes: tc.Refreshes}
	tr := TimerReport{CallID: d.CallID, SessionTimer: *d.Timer, TimerCheck: tc}
	switch {
	case tc.Expired && tc.ByeAfterExpiry:
		tr.State = TimerExpiredThenBye
	case tc.Expired:
		tr.State = TimerExpired
	case tc.SwitchedOff != nil:
		tr.State = TimerSwitchedOff
	case !tc.OnTime:
		tr.State = TimerLate
	case tc.Refreshes == 0 && d.ended == 0 && end.Sub(d.Confirmed()) < time.Duration(d.Timer.SessionExpires)*time.Second/2:
		tr.State = TimerNotDue
	default:
		tr.State = TimerOK
	}
	return tr, ts
}

// refresher is the refresher parameter of a Session-Expires (RFC 4028
// section 4): who refreshes the session.
type refresher uint8

const (
	refresherNone refresher = iota
	refresherUAC
	refresherUAS
)

func refresherOf(s string) refresher {
	switch s {
	case "uac":
		return refresherUAC
	case "uas":
		return refresherUAS
	}
	return refresherNone
}
