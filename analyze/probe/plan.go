package probe

import (
	"fmt"
	"time"
)

// Planned is one request the probe means to send, for --dry-run and for
// the run itself: both walk the same plan.
type Planned struct {
	Kind   StepKind
	Method string
	// Note says what the request carries and what a device should answer.
	Note string
}

// KeepAliveMethods are the body-less requests tried inside the dialog, in
// order: OPTIONS (some stacks' choice), then INFO, UPDATE and MESSAGE.
var KeepAliveMethods = []string{"OPTIONS", "INFO", "UPDATE", "MESSAGE"}

// Plan lists what a call-mode probe sends, in order.
func Plan(c *Config) []Planned {
	var p []Planned
	if c.Register {
		p = append(p, Planned{StepRegister, "REGISTER", "registers " + c.fromURI() + " (digest credentials if challenged)"})
	}
	p = append(p, Planned{StepPing, "OPTIONS", "outside any dialog: who the device says it is, what it allows"})
	p = append(p, Planned{StepCall, "INVITE", "with an SDP offer (PCMU); ACK on 2xx"})
	for _, m := range c.methods() {
		p = append(p, Planned{StepInDialog, m, "inside the dialog, no body: 200 keeps the session alive"})
	}
	for _, m := range c.methods() {
		p = append(p, Planned{StepUnknownDialog, m, "with a To tag the device never gave, no body: 481 is due"})
	}
	p = append(p, Planned{StepBye, "BYE", "ends the call"})
	if !c.NoTimer {
		p = append(p, Planned{StepTimerTooSmall, "INVITE", fmt.Sprintf("new call, Session-Expires %d (below RFC 4028's 90 s): 422 with Min-SE is due; ACK and BYE if answered", tooSmall)})
		p = append(p, Planned{StepTimerCall, "INVITE", fmt.Sprintf("new call, Session-Expires %d;refresher=uas: the device should refresh within %s; then BYE", c.sessionExpires(), c.timerWait())})
		p = append(p, Planned{StepBye, "BYE", "ends the timer call"})
	}
	// last: an IM is the one request some user agents show a person, or
	// stumble on
	p = append(p, Planned{StepMessageOutside, "MESSAGE", "outside any dialog, text/plain: an IM, not a keep-alive"})
	return p
}

// tooSmall is the Session-Expires the probe asks for to provoke a 422:
// below RFC 4028's floor of 90 s for Min-SE.
const tooSmall = 30

func (c *Config) methods() []string {
	if len(c.Methods) > 0 {
		return c.Methods
	}
	return KeepAliveMethods
}

func (c *Config) sessionExpires() int {
	if c.SessionExpires > 0 {
		return c.SessionExpires
	}
	return 90
}

// timerWait is how long the timer call waits for the device's refresh:
// the whole interval (the refresher should send by half of it), unless
// the configuration says less.
func (c *Config) timerWait() time.Duration {
	full := time.Duration(c.sessionExpires()) * time.Second
	if c.TimerWait > 0 && c.TimerWait < full {
		return c.TimerWait
	}
	return full
}
