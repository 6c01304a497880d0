package render

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter/tw"

	"github.com/sipalive/sipalive/analyze/probe"
)

// CardVersion is the version of the probe card's JSON.
const CardVersion = 1

// CardJSON writes a probe's card as JSON: the facts, the verdicts and the
// advice in words.
func CardJSON(w io.Writer, c *probe.Card) error {
	out := struct {
		Version int `json:"version"`
		*probe.Card
		Advice string `json:"advice"`
	}{CardVersion, c, CardAdvice(c)}
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(out)
}

// CardTables prints a probe's card as tables at most width columns wide
// (0: no limit).
func CardTables(w io.Writer, c *probe.Card, width int) error {
	p := page{w, width}
	for _, s := range cardSections(c) {
		t := table(p, s.title, s.header, s.align)
		if err := render(t.leaving(s.leaving...), s.rows); err != nil {
			return err
		}
	}
	return nil
}

// cardSection is one table of the card, for text or HTML.
type cardSection struct {
	title   string
	header  []string
	align   []tw.Align
	leaving []int
	rows    [][]string
}

// cardSections lists the card's tables, those with rows.
func cardSections(c *probe.Card) []cardSection {
	var out []cardSection
	for _, f := range []func(*probe.Card) *cardSection{cardDevice, cardKeepAlives, cardOutside, cardTimer, cardCalls, cardReceived, cardVerdicts} {
		if s := f(c); s != nil && len(s.rows) > 0 {
			out = append(out, *s)
		}
	}
	return out
}

func cardDevice(c *probe.Card) *cardSection {
	mode := "the probe called it"
	if c.Mode == "listen" {
		mode = "it called the probe"
	}
	rows := [][]string{
		{"target", c.Target + " over " + strings.ToUpper(c.Transport) + ", " + mode},
		{"device", orDash(c.Device.Agent) + vendorNote(c.Device)},
		{"announced Allow", orDash(strings.Join(c.Device.Allow, ", "))},
		{"announced Supported", orDash(strings.Join(c.Device.Supported, ", "))},
		{"probe ran", c.Started.UTC().Format("2006-01-02 15:04:05") + " UTC for " + c.Ended.Sub(c.Started).Round(time.Second).String()},
	}
	if c.Stopped != "" {
		rows = append(rows, []string{"stopped early", c.Stopped})
	}
	return &cardSection{title: "DEVICE", align: []tw.Align{l, l}, rows: rows}
}

func vendorNote(d probe.Device) string {
	if d.Vendor == "" || d.Vendor == d.Agent {
		return ""
	}
	return " (vendor " + d.Vendor + ")"
}

// answer words a step's outcome: "200 OK in 3 ms", "no answer".
func answer(s *probe.Step) string {
	switch {
	case s == nil:
		return "not sent"
	case s.Error != "":
		return "not sent: " + s.Error
	case s.NoAnswer:
		return "no answer"
	}
	return fmt.Sprintf("%d %s in %s", s.Code, s.Reason, s.RTT.Round(time.Millisecond))
}

func cardKeepAlives(c *probe.Card) *cardSection {
	var rows [][]string
	for _, m := range methodsProbed(c) {
		in, unknown := c.Step(probe.StepInDialog, m), c.Step(probe.StepUnknownDialog, m)
		announced := "-"
		if c.Device.Allow != nil {
			announced = map[bool]string{true: "yes", false: "no"}[slices.Contains(c.Device.Allow, m)]
		}
		rows = append(rows, []string{m, answer(in), answer(unknown), announced, keepAliveVerdict(in, unknown)})
	}
	return &cardSection{title: "SESSION KEEP-ALIVES (body-less requests inside the call's dialog, and with a To tag the device never gave)",
		header: []string{"method", "in the live dialog", "for an unknown dialog", "in Allow", "as a keep-alive"},
		align:  []tw.Align{l, l, l, l, l}, leaving: []int{3}, rows: rows}
}

// methodsProbed lists the keep-alive methods the card has steps for, in
// the order they were sent.
func methodsProbed(c *probe.Card) []string {
	var ms []string
	for _, s := range c.Steps {
		if (s.Kind == probe.StepInDialog || s.Kind == probe.StepUnknownDialog) && !slices.Contains(ms, s.Method) {
			ms = append(ms, s.Method)
		}
	}
	return ms
}

func keepAliveVerdict(in, unknown *probe.Step) string {
	switch {
	case in == nil || in.Error != "":
		return "-"
	case in.NoAnswer:
		return "no: unanswered, the sender would take the session for gone"
	case in.Code >= 300:
		return "no: " + refusalWord(in.Code)
	case unknown != nil && unknown.Answered() && unknown.Code < 300:
		return "works, but proves nothing: an unknown dialog gets 2xx too"
	case unknown != nil && unknown.Code == 481:
		return "yes: 2xx while the session exists, 481 once it is gone"
	}
	return "yes"
}

func refusalWord(code int) string {
	switch code {
	case 405, 501:
		return fmt.Sprintf("%d, not supported", code)
	case 481:
		return "481, the device does not know its own dialog"
	case 403, 488, 415:
		return fmt.Sprintf("%d, refused as sent (no body)", code)
	}
	return fmt.Sprintf("refused %d", code)
}

func cardOutside(c *probe.Card) *cardSection {
	var rows [][]string
	if s := c.Step(probe.StepRegister, ""); s != nil {
		rows = append(rows, []string{"REGISTER", answer(s), "the probe's registration"})
	}
	if s := c.Step(probe.StepPing, ""); s != nil {
		rows = append(rows, []string{"OPTIONS", answer(s), "a device ping: it says the device is up, nothing about sessions"})
	}
	if s := c.Step(probe.StepMessageOutside, ""); s != nil {
		rows = append(rows, []string{"MESSAGE", answer(s), "an instant message, not a keep-alive"})
	}
	if s := c.Step(probe.StepCall, ""); s != nil {
		rows = append(rows, []string{"INVITE", answer(s), "the call the keep-alives were sent in"})
	}
	return &cardSection{title: "OUTSIDE A DIALOG", header: []string{"request", "answer", "what it tells"}, align: []tw.Align{l, l, l}, rows: rows}
}

func cardTimer(c *probe.Card) *cardSection {
	var rows [][]string
	if s := c.Step(probe.StepTimerTooSmall, ""); s != nil {
		what := answer(s)
		switch {
		case s.Code == 422 && s.MinSE > 0:
			what += fmt.Sprintf(", Min-SE %d", s.MinSE)
		case s.Code == 422:
			what += ", without the Min-SE it must carry (RFC 4028 6)"
		case s.Answered() && s.Code < 300:
			what += " (accepted: RFC 4028 asks for 422 below 90 s)"
		}
		rows = append(rows, []string{fmt.Sprintf("Session-Expires %d", s.AskedExpires), what})
	}
	if s := c.Step(probe.StepTimerCall, ""); s != nil {
		what := answer(s)
		if s.Answered() && s.Code < 300 {
			if s.SessionExpires > 0 {
				what += fmt.Sprintf(", Session-Expires %d, refresher %s", s.SessionExpires, orDash(s.Refresher))
			} else {
				what += ", no Session-Expires: no session timer"
			}
		}
		rows = append(rows, []string{fmt.Sprintf("Session-Expires %d;refresher=uas", s.AskedExpires), what})
		for _, v := range c.Verdicts {
			switch v.Kind {
			case probe.VerdictRefreshes:
				rows = append(rows, []string{"the device's refresh", fmt.Sprintf("%s %.1f s after the answer", refreshWord(v.Method), v.Seconds)})
			case probe.VerdictNoRefresh:
				rows = append(rows, []string{"the device's refresh", fmt.Sprintf("none within the %.0f s interval", v.Seconds)})
			}
		}
	}
	return &cardSection{title: "SESSION TIMER (RFC 4028)", header: []string{"INVITE asking for", "answer"}, align: []tw.Align{l, l}, rows: rows}
}

func refreshWord(method string) string {
	if method == "INVITE" {
		return "re-INVITE"
	}
	return method
}

func cardReceived(c *probe.Card) *cardSection {
	type key struct {
		method    string
		in, sdp   bool
		call      probe.StepKind
		answer    int
		sessionEx int
	}
	var order []key
	count := map[key]int{}
	first := map[key]time.Time{}
	for _, r := range c.Received {
		k := key{r.Method, r.InDialog, r.SDP, r.Call, r.Answer, r.SessionExpires}
		if count[k] == 0 {
			order = append(order, k)
			first[k] = r.At
		}
		count[k]++
	}
	var rows [][]string
	for _, k := range order {
		where := "outside a dialog"
		if k.in {
			where = map[probe.StepKind]string{probe.StepCall: "in the call", probe.StepTimerCall: "in the timer call"}[k.call]
			if where == "" {
				where = "in a dialog"
			}
		}
		body := "no body"
		if k.sdp {
			body = "SDP"
		}
		rows = append(rows, []string{k.method, where, body, fmt.Sprint(count[k]), fmt.Sprintf("+%.1f s", first[k].Sub(c.Started).Seconds()), code(k.answer)})
	}
	if rows == nil {
		rows = [][]string{{"-", "nothing", "", "", "", ""}}
	}
	return &cardSection{title: "SENT BY THE DEVICE", header: []string{"method", "where", "body", "count", "first at", "probe answered"},
		align: []tw.Align{l, l, l, r, r, l}, rows: rows}
}

func cardVerdicts(c *probe.Card) *cardSection {
	var rows [][]string
	for _, v := range c.Verdicts {
		mark := "✗"
		if v.Good {
			mark = "✓"
		}
		rows = append(rows, []string{mark, VerdictWords(v)})
	}
	rows = append(rows, []string{"→", CardAdvice(c)})
	return &cardSection{title: "VERDICT", align: []tw.Align{l, l}, rows: rows}
}

// VerdictWords says a verdict in words, citing the rule.
func VerdictWords(v probe.Verdict) string {
	switch v.Kind {
	case probe.VerdictKeepAlive:
		return fmt.Sprintf("%s inside the dialog answered %d: it keeps the session alive", v.Method, v.Code)
	case probe.VerdictRefused:
		s := fmt.Sprintf("%s inside the dialog refused: %s", v.Method, refusalWord(v.Code))
		if v.Method == "INFO" {
			s += "; INFO is the keep-alive every device should take"
		}
		return s
	case probe.VerdictUnanswered:
		return v.Method + " inside the dialog went unanswered: a peer using it would take the session for gone"
	case probe.VerdictAcceptsUnknownDialog:
		return fmt.Sprintf("%s for a dialog it never had answered %d (RFC 3261 12.2.2 asks for 481): keep-alives cannot tell when it lost a session", v.Method, v.Code)
	case probe.VerdictRejectsUnknownDialog:
		return v.Method + " for a dialog it never had answered 481, as RFC 3261 12.2.2 asks"
	case probe.VerdictAllowMismatch:
		if v.Code >= 300 {
			return fmt.Sprintf("%s is in its Allow but was refused %d", v.Method, v.Code)
		}
		return fmt.Sprintf("%s is not in its Allow but was answered %d", v.Method, v.Code)
	case probe.VerdictTimerTooSmallAccepted:
		return "accepted a Session-Expires below 90 s (RFC 4028 5: Min-SE is at least 90; a 422 was due)"
	case probe.VerdictTimerTooSmallRefused:
		return fmt.Sprintf("refused a Session-Expires below 90 s with 422, Min-SE %.0f (RFC 4028 6)", v.Seconds)
	case probe.VerdictRefreshes:
		if !v.Good {
			return fmt.Sprintf("as refresher it refreshed with %s only %.1f s after the answer: the peer may already have ended the session (RFC 4028 10: refresh by half the interval)", refreshWord(v.Method), v.Seconds)
		}
		return fmt.Sprintf("as refresher it refreshed with %s %.1f s after the answer (RFC 4028 10: by half the interval)", refreshWord(v.Method), v.Seconds)
	case probe.VerdictNoRefresh:
		return fmt.Sprintf("took the refresher role and did not refresh within %.0f s: the session expires (RFC 4028 10)", v.Seconds)
	case probe.VerdictNoTimer:
		return "answered the session-timer INVITE without Session-Expires: it runs no session timer (RFC 4028 9)"
	case probe.VerdictSendsKeepAlives:
		if v.Seconds > 0 {
			return fmt.Sprintf("sends %s inside the dialog itself, every %.1f s", v.Method, v.Seconds)
		}
		return fmt.Sprintf("sent %s inside the dialog itself", v.Method)
	case probe.VerdictReinviteWithoutSDP:
		return "sent a re-INVITE without SDP: third-party call control, never a keep-alive"
	case probe.VerdictOverloaded:
		return "the probe stopped early: the device answered 503 or stopped answering"
	case probe.VerdictTimerNotAsAnnounced:
		return "announces Supported: timer, yet ran no session timer when asked for one"
	case probe.VerdictNoKeepAlives:
		return fmt.Sprintf("sent no keep-alive of its own in %.0f s of a call", v.Seconds)
	case probe.VerdictReaction:
		return fmt.Sprintf("its %s keep-alive answered %s: it %s%s", v.Method, answerName(v.Code), reactionWords(v), reactionRule(v))
	}
	return v.Kind.String()
}

func answerName(code int) string {
	if code == 0 {
		return "with nothing"
	}
	return fmt.Sprint(code)
}

func reactionWords(v probe.Verdict) string {
	switch v.Reaction {
	case probe.ReactionHangUp:
		return fmt.Sprintf("hung up %.1f s later", v.Seconds)
	case probe.ReactionSwitch:
		return "switched to another method"
	case probe.ReactionKeepsOn:
		return "kept sending it"
	case probe.ReactionSilent:
		return "sent nothing more and kept the call"
	}
	return v.Reaction.String()
}

func reactionRule(v probe.Verdict) string {
	switch {
	case v.Good:
		return ""
	case v.Code == 481 || v.Code == 0:
		return " (the session is gone: it should end the call, RFC 5057 5.1)"
	case v.Code == 405 || v.Code == 501:
		if v.Reaction == probe.ReactionHangUp {
			return " (a refused method is not a lost session)"
		}
		return " (it ignores the refusal)"
	case v.Code < 300:
		return " (after a 2xx)"
	}
	return ""
}

func cardCalls(c *probe.Card) *cardSection {
	if len(c.Calls) == 0 {
		return nil
	}
	var rows [][]string
	for i, call := range c.Calls {
		timer := "none"
		if call.OfferedExpires > 0 {
			timer = fmt.Sprintf("%d s, refresher %s", call.OfferedExpires, call.Refresher)
			if call.AskedExpires > 0 {
				timer += fmt.Sprintf(" (asked %d)", call.AskedExpires)
			}
		}
		sent := map[string]int{}
		var order []string
		for _, r := range c.Received {
			if r.Call == probe.StepListenCall && r.CallIndex == i && r.InDialog && r.Method != "BYE" {
				if sent[r.Method] == 0 {
					order = append(order, r.Method)
				}
				sent[r.Method]++
			}
		}
		var parts []string
		for _, m := range order {
			parts = append(parts, fmt.Sprintf("%s×%d", m, sent[m]))
		}
		ended := "-"
		if !call.Ended.IsZero() {
			ended = fmt.Sprintf("by the %s after %.1f s", call.EndedBy, call.Ended.Sub(call.Invited).Seconds())
		}
		rows = append(rows, []string{fmt.Sprint(i + 1), answerName(call.Answer), orDash(strings.Join(parts, ", ")), timer, ended})
	}
	return &cardSection{title: "CALLS FROM THE DEVICE (the probe answered its in-dialog requests as each row says)",
		header: []string{"call", "keep-alives answered", "the device sent", "session timer", "ended"}, align: []tw.Align{r, l, l, l, l}, rows: rows}
}

// CardAdvice is the one line for whoever connects to the device.
func CardAdvice(c *probe.Card) string {
	if c.Mode == "listen" {
		for _, v := range c.Verdicts {
			if v.Kind == probe.VerdictSendsKeepAlives {
				if v.Seconds > 0 {
					return fmt.Sprintf("this device keeps its calls alive with %s every %.0f s: answer it 200 while the call exists, 481 once it is gone", v.Method, v.Seconds)
				}
				return fmt.Sprintf("this device keeps its calls alive with %s: answer it 200 while the call exists, 481 once it is gone", v.Method)
			}
		}
		return "this device sends no keep-alives of its own: keep its calls alive from your side (sipalive probe tells with what)"
	}
	if c.KeepAliveMethod == "" {
		if c.Step(probe.StepCall, "") == nil || c.Step(probe.StepInDialog, "") == nil {
			return "no advice: no call was set up to try keep-alives in"
		}
		return "no body-less request keeps this device's sessions alive: rely on a session timer (RFC 4028) or RTP timeouts"
	}
	advice := fmt.Sprintf("keep this device alive with %s every %.0f s", c.KeepAliveMethod, c.KeepAliveEvery)
	if u := c.Step(probe.StepUnknownDialog, c.KeepAliveMethod); u != nil && u.Answered() && u.Code < 300 {
		if c.Has(probe.VerdictNoTimer) {
			advice += " (it answers 2xx for a dialog it lost too, and runs no session timer: only an RTP timeout tells a lost call)"
		} else {
			advice += " (it answers 2xx for a dialog it lost too: a session timer tells a lost call)"
		}
	}
	var notes []string
	for _, m := range methodsProbed(c) {
		s := c.Step(probe.StepInDialog, m)
		if m == c.KeepAliveMethod || s == nil {
			continue
		}
		switch {
		case s.NoAnswer:
			notes = append(notes, "leaves "+m+" unanswered")
		case s.Answered() && s.Code >= 300:
			notes = append(notes, fmt.Sprintf("answers %s %d", m, s.Code))
		}
	}
	if len(notes) > 0 {
		advice += "; it " + strings.Join(notes, ", ")
	}
	return advice
}
