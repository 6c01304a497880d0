// Package probe audits a SIP device by talking to it: it places a call
// (or answers one, with --listen), sends session keep-alives inside the
// dialog and for a dialog the device cannot know, tries a session timer,
// and records what the device answered and what it sent itself. The
// facts go on a Card; analyze/render words them.
//
// SIP itself (transactions, retransmission, digest authentication,
// dialogs) is sipgo's: the probe decides what to send and writes down
// what came back.
package probe

import (
	"fmt"
	"time"

	"github.com/sipalive/sipalive/analyze"
)

// StepKind is what a step of the probe tests.
type StepKind uint8

// Steps, in the order the probe takes them.
const (
	StepRegister       StepKind = iota // REGISTER, with digest credentials if asked
	StepPing                           // OPTIONS outside any dialog: the device's own view of itself
	StepCall                           // the INVITE that opens the dialog under test
	StepInDialog                       // a body-less request inside the confirmed dialog
	StepUnknownDialog                  // the same request with a To tag the device never gave
	StepMessageOutside                 // MESSAGE outside any dialog: an IM, not a keep-alive
	StepTimerTooSmall                  // INVITE with Session-Expires below RFC 4028's floor of 90 s
	StepTimerCall                      // INVITE that negotiates a session timer, refresher=uas
	StepBye                            // BYE of a call the probe placed
	StepListenCall                     // a call the device placed to the probe (--listen)
)

var stepNames = [...]string{"register", "ping", "call", "in_dialog", "unknown_dialog", "message_outside", "timer_too_small", "timer_call", "bye", "listen_call"}

func (k StepKind) String() string { return analyze.Word(stepNames[:], k) }

// MarshalText writes the kind as its name, for JSON.
func (k StepKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Step is one request the probe sent and what came of it.
type Step struct {
	Kind   StepKind `json:"kind"`
	Method string   `json:"method"`
	// Sent is when the request first left; RTT is the time to its final
	// answer (0 without one).
	Sent time.Time     `json:"sent"`
	RTT  time.Duration `json:"rtt_ns"`
	// Code is the final status code, 0 when none came before the step's
	// time-out (NoAnswer) or the request could not be sent (Error).
	Code     int    `json:"code"`
	Reason   string `json:"reason,omitempty"`
	NoAnswer bool   `json:"no_answer,omitempty"`
	Error    string `json:"error,omitempty"`
	// SessionExpires, Refresher and MinSE are what a session-timer step
	// asked for (Asked*) and what the answer carried.
	AskedExpires   int    `json:"asked_session_expires,omitempty"`
	SessionExpires int    `json:"session_expires,omitempty"`
	Refresher      string `json:"refresher,omitempty"`
	MinSE          int    `json:"min_se,omitempty"`
}

// Answered reports whether a final answer came.
func (s *Step) Answered() bool { return s.Code >= 200 }

// Received is a request the device sent to the probe.
type Received struct {
	Method string    `json:"method"`
	At     time.Time `json:"at"`
	// Call is the call it belonged to (StepCall, StepTimerCall,
	// StepListenCall with its index in Card.Calls), if any.
	Call      StepKind `json:"call"`
	CallIndex int      `json:"call_index,omitempty"`
	// InDialog: it carried the dialog's Call-ID and tags.
	InDialog bool `json:"in_dialog"`
	// SDP: it carried a session description (a re-INVITE or UPDATE with
	// SDP renegotiates media; without, it is a keep-alive or 3pcc).
	SDP bool `json:"sdp"`
	// Answer is what the probe answered (0: nothing, as asked).
	Answer int `json:"answer"`
	// SessionExpires is the refresh's Session-Expires, if any.
	SessionExpires int `json:"session_expires,omitempty"`
}

// Device is what the device said about itself.
type Device struct {
	// Agent is its User-Agent or Server header, Vendor the name sipalive
	// groups it under elsewhere.
	Agent  string `json:"agent"`
	Vendor string `json:"vendor"`
	// Allow and Supported as announced (in the call's 2xx, else in the
	// answer to OPTIONS).
	Allow     []string `json:"allow"`
	Supported []string `json:"supported"`
}

// VerdictKind is a judgement against the keep-alive rules.
type VerdictKind uint8

// Verdicts.
const (
	// A body-less request inside the dialog was answered 2xx: it keeps
	// the session alive.
	VerdictKeepAlive VerdictKind = iota
	// It was refused (405, 501, 481 for a dialog the device has, or other).
	VerdictRefused
	// It was not answered before the step's time-out.
	VerdictUnanswered
	// A request for a dialog the device never had was answered 2xx
	// (RFC 3261 12.2.2 asks for 481): keep-alives cannot tell it lost a
	// session.
	VerdictAcceptsUnknownDialog
	// ...answered 481: as it should.
	VerdictRejectsUnknownDialog
	// The device announced the method in Allow but refused it, or
	// accepted one it did not announce.
	VerdictAllowMismatch
	// An INVITE asking for Session-Expires below 90 s was accepted
	// (RFC 4028 4 and 5: Min-SE is at least 90 s; a 422 was due).
	VerdictTimerTooSmallAccepted
	// ...answered 422 with Min-SE.
	VerdictTimerTooSmallRefused
	// The device took the refresher role (refresher=uas) and refreshed
	// by half the interval (RFC 4028 10).
	VerdictRefreshes
	// It took the role and did not refresh within the interval.
	VerdictNoRefresh
	// It answered without Session-Expires: no session timer.
	VerdictNoTimer
	// The device sent keep-alives of its own inside the dialog.
	VerdictSendsKeepAlives
	// It sent a re-INVITE without SDP inside the dialog: third-party call
	// control, never a keep-alive.
	VerdictReinviteWithoutSDP
	// The probe stopped early: the device answered 503 or stopped
	// answering.
	VerdictOverloaded
	// The device sent no keep-alive of its own in a call (--listen).
	VerdictNoKeepAlives
	// How the device reacted when the probe answered its keep-alive with
	// Code (0: not at all): Reaction says what it did.
	VerdictReaction
	// The device announced Supported: timer but answered the session-timer
	// INVITE without Session-Expires.
	VerdictTimerNotAsAnnounced
)

var verdictNames = [...]string{"keepalive", "refused", "unanswered", "accepts_unknown_dialog", "rejects_unknown_dialog",
	"allow_mismatch", "timer_too_small_accepted", "timer_too_small_refused", "refreshes", "no_refresh", "no_timer",
	"sends_keepalives", "reinvite_without_sdp", "overloaded", "no_keepalives", "reaction", "timer_not_as_announced"}

func (k VerdictKind) String() string { return analyze.Word(verdictNames[:], k) }

// MarshalText writes the kind as its name, for JSON.
func (k VerdictKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Verdict is one judgement with the facts it rests on.
type Verdict struct {
	Kind   VerdictKind `json:"kind"`
	Method string      `json:"method,omitempty"`
	Code   int         `json:"code,omitempty"`
	// Good: the device behaves as the rules ask.
	Good bool `json:"good"`
	// Seconds: an interval (a refresh's time after the answer, the
	// device's own keep-alive interval, the time from a refused
	// keep-alive to the device's BYE).
	Seconds float64 `json:"seconds,omitempty"`
	// Reaction, for VerdictReaction.
	Reaction Reaction `json:"reaction,omitempty"`
}

// Reaction is what a device did after its keep-alive was refused or left
// unanswered (--listen).
type Reaction uint8

// Reactions.
const (
	ReactionNone    Reaction = iota // not a reaction verdict
	ReactionKeepsOn                 // kept sending the same keep-alive (to 2xx: as it should)
	ReactionHangUp                  // sent BYE
	ReactionSwitch                  // tried another method
	ReactionSilent                  // sent nothing more and did not hang up
)

var reactionNames = [...]string{"", "keeps_on", "hangs_up", "switches_method", "goes_silent"}

func (r Reaction) String() string { return analyze.Word(reactionNames[:], r) }

// MarshalText writes the reaction as its name, for JSON.
func (r Reaction) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// ListenCall is one call the device placed to the probe.
type ListenCall struct {
	// Answer is what the probe answered the device's keep-alives with in
	// this call (0: nothing).
	Answer int `json:"keepalive_answer"`
	// Invited: the INVITE's arrival; AskedExpires and Refresher what it
	// asked for; OfferedExpires what the probe's 2xx said (0: no timer).
	Invited        time.Time `json:"invited"`
	AskedExpires   int       `json:"asked_session_expires,omitempty"`
	OfferedExpires int       `json:"session_expires,omitempty"`
	Refresher      string    `json:"refresher,omitempty"`
	// Ended is when the call ended, by "device" (its BYE) or "probe".
	Ended   time.Time `json:"ended"`
	EndedBy string    `json:"ended_by"`
}

// Card is the probe's record of one device.
type Card struct {
	Target    string    `json:"target"`
	Transport string    `json:"transport"`
	Mode      string    `json:"mode"` // "call": the probe called; "listen": the device called
	Started   time.Time `json:"started"`
	Ended     time.Time `json:"ended"`
	Device    Device    `json:"device"`
	Steps     []Step    `json:"steps"`
	// Received is what the device sent the probe, in order.
	Received []Received `json:"received"`
	// Calls are the device's calls to the probe (--listen), one behaviour
	// each.
	Calls    []ListenCall `json:"calls,omitempty"`
	Verdicts []Verdict    `json:"verdicts"`
	// Stopped says why the probe ended early ("" when it ran every step).
	Stopped string `json:"stopped,omitempty"`
	// KeepAliveMethod and KeepAliveEvery are the advice: the method that
	// keeps this device's sessions alive (INFO first: every device should
	// take it) and how often.
	KeepAliveMethod string  `json:"keepalive_method"`
	KeepAliveEvery  float64 `json:"keepalive_every_s"`
}

// Has reports whether the card has a verdict of that kind.
func (c *Card) Has(kind VerdictKind) bool {
	for _, v := range c.Verdicts {
		if v.Kind == kind {
			return true
		}
	}
	return false
}

// Step returns the first step of a kind and method ("" for any), or nil.
func (c *Card) Step(kind StepKind, method string) *Step {
	for i := range c.Steps {
		if c.Steps[i].Kind == kind && (method == "" || c.Steps[i].Method == method) {
			return &c.Steps[i]
		}
	}
	return nil
}

func vendorOf(agent string) string {
	if agent == "" {
		return ""
	}
	return analyze.VendorName(agent)
}

// UnmarshalText reads a step kind by name.
func (k *StepKind) UnmarshalText(b []byte) error { return byName(stepNames[:], b, k, "step") }

// UnmarshalText reads a verdict kind by name.
func (k *VerdictKind) UnmarshalText(b []byte) error {
	return byName(verdictNames[:], b, k, "verdict")
}

// UnmarshalText reads a reaction by name.
func (r *Reaction) UnmarshalText(b []byte) error {
	return byName(reactionNames[:], b, r, "reaction")
}

func byName[T ~uint8](names []string, b []byte, into *T, what string) error {
	if err := analyze.ParseWord(names, string(b), into); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
