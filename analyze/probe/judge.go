package probe

import (
	"slices"
	"sort"
	"time"
)

// defaultEvery is how often the advice says to send keep-alives when the
// device negotiated no shorter session timer.
const defaultEvery = 30.0

// Judge writes a card's verdicts and advice from its facts (Run and
// Listen do; renderers' tests and merged cards call it).
func Judge(c *Card) {
	if c.Mode == "listen" {
		judgeListen(c)
		return
	}
	judge(c)
}

// judge holds the card's facts to the keep-alive rules and writes the
// verdicts and the advice.
func judge(c *Card) {
	c.Verdicts = nil
	allow := c.Device.Allow
	for _, s := range c.Steps {
		switch s.Kind {
		case StepInDialog:
			switch {
			case s.NoAnswer:
				c.add(Verdict{Kind: VerdictUnanswered, Method: s.Method})
			case !s.Answered():
				continue // not sent, or the device had hung up
			case s.Code < 300:
				c.add(Verdict{Kind: VerdictKeepAlive, Method: s.Method, Code: s.Code, Good: true})
			default:
				// UPDATE, OPTIONS and MESSAGE are optional (405/501 are
				// honest answers); INFO every device should take, and 481
				// means it lost a session it has
				c.add(Verdict{Kind: VerdictRefused, Method: s.Method, Code: s.Code, Good: s.Method != "INFO" && s.Code != 481})
			}
			if allow != nil && s.Answered() {
				announced := slices.Contains(allow, s.Method)
				unsupported := s.Code == 405 || s.Code == 501
				if announced && unsupported || !announced && s.Code < 300 {
					c.add(Verdict{Kind: VerdictAllowMismatch, Method: s.Method, Code: s.Code})
				}
			}
		case StepUnknownDialog:
			switch {
			case s.Answered() && s.Code < 300:
				c.add(Verdict{Kind: VerdictAcceptsUnknownDialog, Method: s.Method, Code: s.Code})
			case s.Code == 481:
				c.add(Verdict{Kind: VerdictRejectsUnknownDialog, Method: s.Method, Code: s.Code, Good: true})
			}
		case StepTimerTooSmall:
			switch {
			case s.Answered() && s.Code < 300:
				c.add(Verdict{Kind: VerdictTimerTooSmallAccepted, Code: s.Code, Seconds: float64(s.SessionExpires)})
			case s.Code == 422:
				c.add(Verdict{Kind: VerdictTimerTooSmallRefused, Code: s.Code, Good: true, Seconds: float64(s.MinSE)})
			}
		case StepTimerCall:
			if !s.Answered() || s.Code >= 300 {
				continue
			}
			if s.SessionExpires == 0 {
				c.add(Verdict{Kind: VerdictNoTimer, Code: s.Code})
				if slices.Contains(c.Device.Supported, "timer") {
					c.add(Verdict{Kind: VerdictTimerNotAsAnnounced, Code: s.Code})
				}
				continue
			}
			if s.Refresher != "uas" {
				continue // the probe would be the refresher: nothing to see
			}
			answered := s.Sent.Add(s.RTT)
			if r := firstRefresh(c, answered); r != nil {
				// RFC 4028 10: the other side may end the session at
				// SE - min(32, SE/3) without a refresh
				after := r.At.Sub(answered).Seconds()
				se := float64(s.SessionExpires)
				c.add(Verdict{Kind: VerdictRefreshes, Method: r.Method, Good: after <= se-min(32, se/3), Seconds: after})
			} else if waited(c, answered) >= time.Duration(s.SessionExpires)*time.Second*9/10 {
				c.add(Verdict{Kind: VerdictNoRefresh, Seconds: float64(s.SessionExpires)})
			}
		}
	}
	c.judgeReceived()
	c.KeepAliveMethod, c.KeepAliveEvery = advise(c)
}

func (c *Card) add(v Verdict) { c.Verdicts = append(c.Verdicts, v) }

// judgeReceived judges what the device sent, in either mode, and an early
// stop.
func (c *Card) judgeReceived() {
	for _, r := range c.Received {
		if r.InDialog && r.Method == "INVITE" && !r.SDP {
			c.add(Verdict{Kind: VerdictReinviteWithoutSDP, Method: "INVITE"})
			break
		}
	}
	if m, every := ownKeepAlives(c); m != "" {
		c.add(Verdict{Kind: VerdictSendsKeepAlives, Method: m, Good: true, Seconds: every})
	}
	if c.Stopped != "" {
		c.add(Verdict{Kind: VerdictOverloaded})
	}
}

// firstRefresh is the device's first re-INVITE or UPDATE in the timer
// call after it was answered.
func firstRefresh(c *Card, after time.Time) *Received {
	for i := range c.Received {
		r := &c.Received[i]
		if r.Call == StepTimerCall && r.InDialog && (r.Method == "INVITE" || r.Method == "UPDATE") && r.At.After(after) {
			return r
		}
	}
	return nil
}

// waited is how long the timer call stayed up after its answer: until
// its BYE (the probe's or the device's), else the card's end.
func waited(c *Card, answered time.Time) time.Duration {
	end := c.Ended
	for _, s := range c.Steps {
		if s.Kind == StepBye && s.Sent.After(answered) {
			end = s.Sent
			break
		}
	}
	return end.Sub(answered)
}

// ownKeepAlives finds the body-less requests the device sent inside the
// dialog (not refreshes with SDP, not BYE): the most used method and its
// median interval (0 with a single one).
func ownKeepAlives(c *Card) (string, float64) {
	times := map[string][]time.Time{}
	for _, r := range c.Received {
		if !r.InDialog || r.SDP {
			continue
		}
		switch r.Method {
		case "OPTIONS", "INFO", "UPDATE", "MESSAGE", "NOTIFY":
			times[r.Method] = append(times[r.Method], r.At)
		}
	}
	best := ""
	for m, ts := range times {
		if best == "" || len(ts) > len(times[best]) || len(ts) == len(times[best]) && m < best {
			best = m
		}
	}
	if best == "" {
		return "", 0
	}
	ts := times[best]
	if len(ts) < 2 {
		return best, 0
	}
	var gaps []float64
	for i := 1; i < len(ts); i++ {
		gaps = append(gaps, ts[i].Sub(ts[i-1]).Seconds())
	}
	sort.Float64s(gaps)
	return best, gaps[len(gaps)/2]
}

// advise picks the keep-alive for this device: INFO, then UPDATE, then
// OPTIONS (MESSAGE last: some stacks show it to the user), among the
// methods it answered 2xx inside the dialog, preferring one it answers
// 481 for a dialog it does not know (a keep-alive that cannot fail proves
// nothing). Every: 30 s, or half a shorter session timer.
func advise(c *Card) (string, float64) {
	ok := map[string]bool{}
	for _, s := range c.Steps {
		if s.Kind == StepInDialog && s.Answered() && s.Code < 300 {
			ok[s.Method] = true
		}
	}
	method := ""
	for _, pass := range []bool{true, false} {
		for _, m := range []string{"INFO", "UPDATE", "OPTIONS", "MESSAGE"} {
			if !ok[m] || method != "" {
				continue
			}
			u := c.Step(StepUnknownDialog, m)
			if !pass || u == nil || u.Code == 481 {
				method = m
			}
		}
	}
	every := defaultEvery
	if s := c.Step(StepTimerCall, ""); s != nil && s.SessionExpires > 0 && float64(s.SessionExpires)/2 < every {
		every = float64(s.SessionExpires) / 2
	}
	if method == "" {
		every = 0
	}
	return method, every
}

// judgeListen writes the verdicts of a --listen run: per call, whether
// the device sent keep-alives and how it took the probe's answer.
func judgeListen(c *Card) {
	c.Verdicts = nil
	for i, call := range c.Calls {
		var kas []Received
		for _, r := range c.Received {
			if r.Call != StepListenCall || r.CallIndex != i || !r.InDialog || r.Method == "BYE" {
				continue
			}
			if r.Method == "INVITE" && r.SDP && call.OfferedExpires == 0 {
				continue // media renegotiation, not a keep-alive
			}
			kas = append(kas, r)
		}
		if len(kas) == 0 {
			c.add(Verdict{Kind: VerdictNoKeepAlives, Code: call.Answer, Seconds: call.Ended.Sub(call.Invited).Seconds()})
			continue
		}
		v := Verdict{Kind: VerdictReaction, Method: kas[0].Method, Code: call.Answer}
		switched := false
		for _, r := range kas[1:] {
			switched = switched || r.Method != kas[0].Method
		}
		switch {
		case call.EndedBy == "device":
			v.Reaction, v.Seconds = ReactionHangUp, call.Ended.Sub(kas[0].At).Seconds()
		case switched:
			v.Reaction = ReactionSwitch
		case len(kas) > 1:
			v.Reaction = ReactionKeepsOn
		default:
			v.Reaction = ReactionSilent
		}
		v.Good = reactionGood(call.Answer, v.Reaction)
		c.add(v)
	}
	c.judgeReceived()
}

// reactionGood: a 2xx should change nothing; 481 or silence means the
// session is gone, so the device should hang up (RFC 5057 5.1 for 481);
// 405 or 501 refuse the method, not the session: try another or stop,
// but do not end the call.
func reactionGood(answer int, r Reaction) bool {
	switch {
	case answer >= 200 && answer < 300:
		return r != ReactionHangUp
	case answer == 481 || answer == 0 || answer == 408:
		return r == ReactionHangUp
	case answer == 405 || answer == 501:
		return r == ReactionSwitch || r == ReactionSilent
	}
	return true
}
