package analyze

import (
	"strings"
	"testing"

	"github.com/sipalive/sipalive/capture"
)

// sipMessage is a message without a body of the start line first and
// the To tag toTag ("" for none), with the headers Parse needs; a
// response's CSeq names cseqMethod.
func sipMessage(first, toTag, cseqMethod string) []byte {
	to := "To: <sip:b@y>"
	if toTag != "" {
		to += ";tag=" + toTag
	}
	lines := []string{first, "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1", "From: <sip:a@x>;tag=caller1", to,
		"Call-ID: abc@x", "CSeq: 1 " + cseqMethod}
	return []byte(strings.Join(lines, "\r\n") + "\r\n\r\n")
}

// TestScanMakesCallStrings checks the strings the scan makes for the
// analysis to keep (Event.ids): the analysis takes them as they are, with
// no copy out of the payload, and builds the same ones itself for events
// the scan made none for.
func TestScanMakesCallStrings(t *testing.T) {
	const callText, oneTag, twoTags = "abc@xcaller1", "caller1", "caller1callee9"
	tests := []struct {
		name           string
		msg            []byte
		callText, tags string // what callText and dialogTags return
		made           bool   // the scan made the string the analysis keeps
	}{
		{"initial INVITE", sipMessage("INVITE sip:b@y SIP/2.0", "", "INVITE"), callText, oneTag, true},
		{"OPTIONS ping", sipMessage("OPTIONS sip:b@y SIP/2.0", "", "OPTIONS"), callText, oneTag, true},
		{"CANCEL", sipMessage("CANCEL sip:b@y SIP/2.0", "", "CANCEL"), callText, oneTag, false},
		{"2xx to INVITE", sipMessage("SIP/2.0 200 OK", "callee9", "INVITE"), callText, twoTags, true},
		{"180 to INVITE", sipMessage("SIP/2.0 180 Ringing", "callee9", "INVITE"), callText, twoTags, false},
		{"2xx to OPTIONS", sipMessage("SIP/2.0 200 OK", "callee9", "OPTIONS"), callText, twoTags, false},
		{"in-dialog BYE", sipMessage("BYE sip:b@y SIP/2.0", "callee9", "BYE"), callText, twoTags, false},
	}
	s := NewScanner()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e Event
			s.Scan(&capture.Message{Kind: capture.SIP, Payload: tc.msg}, &e)
			if e.Malformed != "" {
				t.Fatalf("scan: %s", e.Malformed)
			}
			if got := e.callText(); got != tc.callText {
				t.Errorf("callText() = %q, want %q", got, tc.callText)
			}
			if got := e.dialogTags(); got != tc.tags {
				t.Errorf("dialogTags() = %q, want %q", got, tc.tags)
			}
			keep := e.dialogTags
			if e.Request {
				keep = e.callText
			}
			if allocs := testing.AllocsPerRun(10, func() { _ = keep() }); (allocs == 0) != tc.made {
				t.Errorf("the analysis' string made by the scan: %v, want %v (%v allocations)", allocs == 0, tc.made, allocs)
			}
		})
	}
}
