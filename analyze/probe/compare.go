package probe

import (
	"fmt"
	"sort"

	"github.com/sipalive/sipalive/analyze"
)

// Compare holds an analysis of the probe's own capture (-w) to the card:
// the session keep-alives the probe sent, inside the dialog and for an
// unknown one, must be counted with the same answers, and the OPTIONS
// ping as a device keep-alive; so must what the device sent the probe. It returns what disagrees (nil: all
// agrees). A request the card shows as not sent is not counted.
func Compare(c *Card, r *analyze.Report) []string {
	want := map[string]*analyze.Outcomes{}
	for _, s := range c.Steps {
		if s.Kind != StepInDialog && s.Kind != StepUnknownDialog || s.Error != "" {
			continue
		}
		count(want, s.Method, s.Code)
	}
	// the device's own body-less requests inside a dialog count too
	for _, rcv := range c.Received {
		if !rcv.InDialog || rcv.SDP || rcv.Method == "INVITE" || rcv.Method == "BYE" {
			continue
		}
		count(want, rcv.Method, rcv.Answer)
	}
	var diffs []string
	methods := make([]string, 0, len(want))
	for m := range want {
		methods = append(methods, m)
	}
	sort.Strings(methods)
	for _, m := range methods {
		got := analyze.Outcomes{}
		if o := r.Summary.SessionKeepAlives[m]; o != nil {
			got = *o
		}
		if got != *want[m] {
			diffs = append(diffs, fmt.Sprintf("%s keep-alives: the card says %+v, the capture %+v", m, *want[m], got))
		}
	}
	if s := c.Step(StepPing, ""); s != nil && s.Error == "" {
		o := r.Summary.DeviceKeepAlives["OPTIONS"]
		answered := 0
		if s.Answered() {
			answered = 1
		}
		if o == nil || o.Sent != 1 || o.Sent-o.Unanswered != answered {
			diffs = append(diffs, fmt.Sprintf("OPTIONS ping: the card says %s, the capture %+v", describe(*s), o))
		}
	}
	return diffs
}

// count adds one transaction answered code (0: none) to m[method].
func count(m map[string]*analyze.Outcomes, method string, code int) {
	o := m[method]
	if o == nil {
		o = &analyze.Outcomes{}
		m[method] = o
	}
	o.Count(code)
}
