package analyze

import (
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

// TimerCheck is the verdict on one dialog's session timer.
type TimerCheck struct {
	Refreshes      int       `json:"refreshes"`              // in-dialog re-INVITE and UPDATE transactions
	ByRefresher    int       `json:"refreshes_by_refresher"` // of those, sent by the refresher
	Methods        []string  `json:"refresh_methods"`        // refresh methods used ("UPDATE", "re-INVITE with SDP", ...)
	OnTime         bool      `json:"on_time"`                // every interval the refresher left was within half the session interval
	LongestGap     float64   `json:"longest_gap_seconds"`    // seconds without a successful refresh by the refresher
	Expired        bool      `json:"expired"`                // the session went past Session-Expires - min(32, SE/3) unrefreshed
	ExpiredAt      time.Time `json:"expired_at"`             // when it expired
	ByeAfterExpiry bool      `json:"bye_after_expiry"`       // a BYE followed the expiry
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
// capture did.
func (st *SessionTimer) check(d *Dialog, end time.Time) TimerCheck {
	var tc TimerCheck
	tc.OnTime = true
	se := time.Duration(st.SessionExpires) * time.Second
	last := d.Confirmed
	seenMethod := map[string]bool{}
	for _, t := range d.Transactions {
		if t.Method != "INVITE" && t.Method != "UPDATE" {
			continue
		}
		tc.Refreshes++
		name := t.Method
		switch t.Class {
		case ClassReinviteNoSDP:
			name = "re-INVITE without SDP"
		case ClassReinviteWithSDP:
			name = "re-INVITE with SDP"
		case ClassUpdateWithSDP:
			name = "UPDATE with SDP"
		case ClassSessionKeepAlive:
			name = "UPDATE without SDP"
		}
		if !seenMethod[name] {
			seenMethod[name] = true
			tc.Methods = append(tc.Methods, name)
		}
		byCaller := t.FromTag == d.CallerTag
		if t.byProxy || byCaller != st.refresherIsCaller() {
			continue // a proxy's request refreshes one party only, if any
		}
		tc.ByRefresher++
		if t.Final < 200 || t.Final >= 300 {
			continue // a failed refresh does not refresh
		}
		gap := t.Start.Sub(last)
		tc.LongestGap = max(tc.LongestGap, gap.Seconds())
		if gap > se/2+time.Second {
			tc.OnTime = false
		}
		if !tc.Expired && gap > expiryMargin(se) {
			tc.Expired, tc.ExpiredAt = true, last.Add(expiryMargin(se))
		}
		last = t.Start
		if t.RespSE > 0 {
			se = time.Duration(t.RespSE) * time.Second
		}
	}
	stop := end
	if !d.Ended.IsZero() {
		stop = d.Ended
	}
	if gap := stop.Sub(last); gap > 0 {
		tc.LongestGap = max(tc.LongestGap, gap.Seconds())
		if gap > se/2+time.Second {
			tc.OnTime = false
		}
		if !tc.Expired && gap > expiryMargin(se) {
			tc.Expired, tc.ExpiredAt = true, last.Add(expiryMargin(se))
		}
	}
	if tc.Expired && !d.Ended.IsZero() && !d.Ended.Before(tc.ExpiredAt) {
		tc.ByeAfterExpiry = true
	}
	return tc
}

func (l *ledger) timerReport(d *Dialog, end time.Time) {
	tr, ts := buildTimerReport(d, end)
	if l.opts.MaxRows == 0 || len(l.tot.timerSummary) < l.opts.MaxRows {
		l.tot.timerSummary = append(l.tot.timerSummary, ts)
	}
	if tr.Expired {
		if l.keepFinding(FindingExpired) {
			l.addFinding(Finding{Kind: FindingExpired, CallID: d.CallID, Time: tr.ExpiredAt,
				Facts: FindingFacts{SessionExpires: d.Timer.SessionExpires, Refresher: d.Timer.Refresher,
					Limit: expiryMargin(time.Duration(d.Timer.SessionExpires) * time.Second).Seconds(), Gap: tr.LongestGap}})
		}
		l.problem(d)
	} else if !tr.OnTime {
		if l.keepFinding(FindingLateRefresh) {
			l.addFinding(Finding{Kind: FindingLateRefresh, CallID: d.CallID, Time: d.Confirmed,
				Facts: FindingFacts{SessionExpires: d.Timer.SessionExpires, Refresher: d.Timer.Refresher, Gap: tr.LongestGap}})
		}
	}
	l.tot.timers.add(l.opts.MaxRows, tr)
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
		tr.State = TimerExpiredThenBye
	case tc.Expired:
		tr.State = TimerExpired
	case !tc.OnTime:
		tr.State = TimerLate
	case tc.ByRefresher == 0 && d.Ended.IsZero() && end.Sub(d.Confirmed) < time.Duration(d.Timer.SessionExpires)*time.Second/2:
		tr.State = TimerNotDue
	default:
		tr.State = TimerOK
	}
	return tr, ts
}
