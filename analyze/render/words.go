package render

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/sipalive/sipalive/analyze"
)

// FindingDetail says in words what a finding found, citing the rule it
// follows.
func FindingDetail(f *analyze.Finding) string {
	x := &f.Facts
	switch f.Kind {
	case analyze.FindingLost, analyze.FindingUnsupported, analyze.FindingRefused, analyze.FindingUnanswered:
		return failureDetail(x)
	case analyze.FindingDropped:
		outcome := x.Outcome.String()
		if x.Code == 408 {
			outcome = "408"
		}
		return fmt.Sprintf("BYE by %s %.1f s after %s %s", x.Ender, x.Seconds, x.Method, outcome)
	case analyze.FindingSDPInAnswer:
		return fmt.Sprintf("%s without SDP from %s answered %d with SDP by %s: an answer to no offer (RFC 3311 5.2); the sender may take the session as broken and hang up", x.Method, x.Side, x.Code, x.Agent)
	case analyze.FindingStale:
		return fmt.Sprintf("%s from %s sent %.1f s after the BYE, %s", x.Method, x.Side, x.Seconds, answeredWith(x.Code))
	case analyze.FindingAnswersUnknownDialog:
		return x.Agent + " answers 2xx to keep-alives for dialogs that had ended (RFC 3261 12.2.2 asks for 481): keep-alives to it prove nothing"
	case analyze.FindingLateRegister:
		return fmt.Sprintf("REGISTER %s → %s refreshed %.1f s after the binding expired", x.From, x.To, x.Seconds)
	case analyze.FindingDeviceDown:
		return fmt.Sprintf("%s %s → %s: %d unanswered in a row until %s", x.Method, x.From, x.To, x.Pings, x.Until.UTC().Format("15:04:05.000"))
	case analyze.FindingProxyBye:
		detail := "the proxy, not a party, ended the call with a BYE to each"
		if x.Seconds >= 0 {
			detail += fmt.Sprintf(", %.1f s after it was answered", x.Seconds)
		}
		return detail + ": its dialog timeout or session timer ran out (no keep-alive failed before it)"
	case analyze.FindingExpired:
		return fmt.Sprintf("Session-Expires %d s, refresher %s: no refresh by %.0f s (longest gap %.1f s)",
			x.SessionExpires, refresherName(x.Refresher), x.Limit, x.Gap)
	case analyze.FindingTimerOff:
		asked := "asking for none"
		if x.SessionExpires > 0 {
			asked = fmt.Sprintf("asking for %d s", x.SessionExpires)
		}
		return fmt.Sprintf("%s %s from %s (%s) answered 2xx without Session-Expires: the answerer switched the session timer off (RFC 4028 8.1); a peer that keeps its own timer still hangs up when the last refresh runs out",
			x.Method, cseq(x.CSeq), x.Side, asked)
	case analyze.FindingOfferRefused:
		what := "a re-INVITE"
		if x.Method == "UPDATE" {
			what = "an UPDATE"
		}
		next := "the call went on"
		if x.Seconds >= 0 {
			next = fmt.Sprintf("the call ended %.1f s later (BYE by %s)", x.Seconds, x.Ender)
		}
		return fmt.Sprintf("%s %s from %s (%s) refused %d: %s", x.Method, cseq(x.CSeq), x.Side, x.Purpose, x.Code, refusal(x.Code, what)) + "; " + next
	case analyze.FindingRegisterFailed:
		return fmt.Sprintf("REGISTER %s → %s (%s): %s ×%d, %s to %s: %s", x.From, x.To, x.Agent, registerCode(x), x.Pings,
			f.Time.UTC().Format("15:04:05.000"), x.Until.UTC().Format("15:04:05.000"), registerFailure(x))
	case analyze.FindingFlood:
		rate := ""
		if x.Seconds > 0 {
			rate = fmt.Sprintf(", %.0f a second", float64(x.Pings)/x.Seconds)
		}
		return fmt.Sprintf("%d %s requests %s → %s never answered, %s to %s%s, each with its own Call-ID: a scanner, a retry storm or a peer that lost its neighbour",
			x.Pings, x.Method, x.From, x.To, f.Time.UTC().Format("15:04:05.000"), x.Until.UTC().Format("15:04:05.000"), rate)
	case analyze.FindingLateRefresh:
		return fmt.Sprintf("refresher %s left %.1f s between refreshes; RFC 4028 asks for half of %d s",
			refresherName(x.Refresher), x.Gap, x.SessionExpires)
	}
	return f.Kind.String()
}

// failureDetail says what went wrong with a failed keep-alive.
func failureDetail(x *analyze.FindingFacts) string {
	switch x.Outcome {
	case analyze.Outcome481:
		return fmt.Sprintf("%s %s from %s answered 481: the peer lost the dialog", x.Method, cseq(x.CSeq), x.Side)
	case analyze.Outcome405, analyze.Outcome501:
		detail := fmt.Sprintf("%s from %s answered %d: method unsupported", x.Method, x.Side, x.Code)
		if x.Allow != "" {
			detail += " (Allow: " + x.Allow + ")"
		}
		return detail
	case analyze.OutcomeOther:
		if x.Code == 408 {
			return fmt.Sprintf("%s %s from %s answered 408: the session is to end (RFC 4028 section 10)", x.Method, cseq(x.CSeq), x.Side)
		}
		return fmt.Sprintf("%s from %s answered %d: refused, though the peer holds the dialog (RFC 5057 5.1); use a method it answers 2xx", x.Method, x.Side, x.Code)
	}
	detail := fmt.Sprintf("%s %s from %s never answered", x.Method, cseq(x.CSeq), x.Side)
	if x.Retransmissions > 0 {
		detail += fmt.Sprintf(" (%d retransmissions)", x.Retransmissions)
	}
	if x.Late != 0 {
		detail += fmt.Sprintf("; %d came after the %s timeout", x.Late, analyze.TransactionTimeout)
	}
	return detail
}

// answeredWith says how a request was answered.
func answeredWith(code int) string {
	if code == 0 {
		return "never answered"
	}
	return "answered " + strconv.Itoa(code)
}

func cseq(n uint32) string { return "(CSeq " + strconv.FormatUint(uint64(n), 10) + ")" }

// refresherName names a session timer's refresher; RFC 4028 section 7.1
// has the UAC refresh when none was named.
func refresherName(r string) string {
	if r == "" {
		return "unnamed (uac)"
	}
	return r
}

// DialogVerdict names what the last keep-alive of a dialog says about the
// peer.
func DialogVerdict(d *analyze.DialogReport) string {
	if d.LastPending {
		return "pending at capture end"
	}
	switch analyze.OutcomeOf(d.LastCode) {
	case analyze.Outcome2xx:
		return "alive"
	case analyze.Outcome481:
		return "lost (481)"
	case analyze.Outcome405:
		return "method unsupported (405)"
	case analyze.Outcome501:
		return "method unsupported (501)"
	case analyze.OutcomeUnanswered:
		return "no answer"
	}
	if d.LastCode == 408 {
		return "lost (408)" // RFC 4028 section 10: 408 or 481 ends the session
	}
	// Any other final response came from a peer that holds the dialog
	// (RFC 5057 section 5.1): the keep-alive was refused, not the session.
	return fmt.Sprintf("refused (%d), dialog alive", d.LastCode)
}

// DialogEnded says how a dialog ended.
func DialogEnded(d *analyze.DialogReport) string {
	switch {
	case d.EndedBy == "" && d.InProgress:
		return "in progress"
	case d.EndedBy == "":
		return "no BYE seen"
	case d.Dropped:
		return "BYE by " + d.EndedBy + ": dropped by keep-alive"
	}
	return "BYE by " + d.EndedBy
}

// TimerVerdict says how a session timer fared.
func TimerVerdict(t *analyze.TimerReport) string {
	switch t.State {
	case analyze.TimerExpiredThenBye:
		return "expired, then BYE"
	case analyze.TimerExpired:
		return "expired"
	case analyze.TimerLate:
		return "refreshed late"
	case analyze.TimerNotDue:
		return "ok (no refresh due yet)"
	case analyze.TimerSwitchedOff:
		return "switched off by a 2xx without Session-Expires"
	}
	return "ok"
}

// withWords returns a copy of r whose word fields (finding details,
// verdicts, how dialogs ended) are filled, for the JSON.
func withWords(r *analyze.Report) *analyze.Report {
	out := *r // the lists are copied: the report itself stays as it was
	// A row's words are made from its facts, unless it has them already:
	// a report read back from JSON (merge) carries words whose facts the
	// JSON does not.
	out.Findings = slices.Clone(r.Findings)
	for i := range out.Findings {
		if f := &out.Findings[i]; f.Detail == "" {
			f.Detail = FindingDetail(f)
		}
	}
	out.Dialogs = slices.Clone(r.Dialogs)
	for i := range out.Dialogs {
		if d := &out.Dialogs[i]; d.Verdict == "" {
			d.Verdict, d.Ended = DialogVerdict(d), DialogEnded(d)
		}
	}
	out.Timers = slices.Clone(r.Timers)
	for i := range out.Timers {
		if t := &out.Timers[i]; t.Verdict == "" {
			t.Verdict = TimerVerdict(t)
		}
		out.Timers[i].Methods = orEmpty(out.Timers[i].Methods)
	}
	out.NotKeepAlives = slices.Clone(r.NotKeepAlives)
	for i := range out.NotKeepAlives {
		if n := &out.NotKeepAlives[i]; n.Why == "" {
			n.Why = NotKeepAliveWhy(n)
		}
	}
	out.Vendors = slices.Clone(r.Vendors)
	for i := range out.Vendors {
		if v := &out.Vendors[i]; v.Recommendation == "" && v.EndedDialogVerdict == "" {
			v.EndedDialogVerdict, v.Recommendation = EndedDialogVerdict(v), Recommendation(v, r.Vendors)
		}
	}
	// Every list is a list, empty or not: jq '.findings[]' must not fail
	// on a healthy capture.
	out.Inputs = orEmpty(out.Inputs)
	out.KeepAlives = orEmpty(out.KeepAlives)
	out.Dialogs = orEmpty(out.Dialogs)
	out.NotKeepAlives = orEmpty(out.NotKeepAlives)
	out.Devices = orEmpty(out.Devices)
	out.NAT = orEmpty(out.NAT)
	out.Timers = orEmpty(out.Timers)
	out.Vendors = orEmpty(out.Vendors)
	out.Matrix = orEmpty(out.Matrix)
	out.Findings = orEmpty(out.Findings)
	out.Summary.SessionTimers = orEmpty(out.Summary.SessionTimers)
	return &out
}

// NotKeepAliveWhy explains why an in-dialog request that looks like a
// keep-alive is none, and what it was for.
func NotKeepAliveWhy(n *analyze.NotKeepAlive) string {
	refresh := ""
	if n.Refresh {
		refresh = "; also a session refresh (RFC 4028)"
	}
	what := map[analyze.Purpose]string{
		analyze.PurposeRenegotiation: "media renegotiation (RFC 3264)",
		analyze.PurposeHold:          "puts the call on hold (sendonly/recvonly/inactive, RFC 3264 8.4)",
		analyze.PurposeResume:        "takes the call off hold",
		analyze.PurposeT38:           "switches to T.38 fax (m=image)",
	}[n.Purpose]
	switch n.Class {
	case "reinvite_no_sdp":
		return "re-INVITE without SDP: third-party call control or late offer, never a keep-alive" + refresh
	case "reinvite_with_sdp":
		return "re-INVITE with SDP: " + what + refresh
	case "update_with_sdp":
		return "UPDATE with SDP: " + what + refresh
	case "message_out_of_dialog":
		return "MESSAGE outside a dialog: an instant message"
	case "in_dialog_with_sdp":
		return "in-dialog request carrying SDP: an offer/answer exchange, not a keep-alive"
	}
	return ""
}

// refusal says what a refusal of an offer means (RFC 3261 sections 14.1,
// 21.4.26 and 21.5.1; RFC 3311 section 5.2).
func refusal(code int, what string) string {
	switch code {
	case 488, 606:
		return "the peer does not accept the media offered"
	case 415:
		return "the peer does not accept the body's type"
	case 491:
		return "glare, both sides offered at once; the owner of the Call-ID retries 2.1 to 4 s later, the other 0 to 2 s"
	case 500:
		return "the peer could not take " + what + " now (a Retry-After says when to try again)"
	case 481:
		return "the peer does not know the dialog"
	}
	return "the peer refused " + what
}

// registerCode names the answer of a failing registration.
func registerCode(x *analyze.FindingFacts) string {
	if x.Rechallenged {
		return fmt.Sprintf("%d after a challenge", x.Code)
	}
	return strconv.Itoa(x.Code)
}

// registerFailure says what a registrar's refusal means (RFC 3261
// sections 10.3, 21.4 and 22).
func registerFailure(x *analyze.FindingFacts) string {
	switch c := x.Code; {
	case x.Rechallenged:
		return "the registrar challenged the credentials the phone answered its challenge with: they are wrong, the phone stays unregistered"
	case c == 403:
		return "forbidden: the registrar refused the credentials or the account"
	case c == 404:
		return "the registrar does not know the user"
	case c == 423:
		if x.Limit > 0 {
			return fmt.Sprintf("the expiry asked for is too brief: the registrar asks for at least %.0f s (Min-Expires)", x.Limit)
		}
		return "the expiry asked for is too brief (the 423 named no Min-Expires)"
	case c == 483:
		return "Too Many Hops: the REGISTER loops between proxies"
	case c >= 500 && c < 600:
		return "the registrar failed"
	}
	return "the registrar refused the registration"
}

// orEmpty makes a nil list an empty one, which JSON writes as [].
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
