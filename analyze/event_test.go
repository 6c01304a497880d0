package analyze

import (
	"strings"
	"testing"

	"github.com/sipalive/sipalive/capture"
)

// sipText joins header lines into a message without a body.
func sipText(lines ...string) []byte {
	return []byte(strings.Join(lines, "\r\n") + "\r\n\r\n")
}

// TestScanMakesCallStrings checks the strings the scan makes for the
// analysis to keep (Event.ids): the analysis takes them as they are, with
// no copy out of the payload, and builds the same ones itself for events
// the scan made none for.
func TestScanMakesCallStrings(t *testing.T) {
	const via, from, callID = "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1", "From: <sip:a@x>;tag=caller1", "Call-ID: abc@x"
	tests := []struct {
		name           string
		msg            []byte
		callText, tags string // what callText and dialogTags return
		made           bool   // the scan made the string the analysis keeps
	}{
		{"initial INVITE", sipText("INVITE sip:b@y SIP/2.0", via, from, "To: <sip:b@y>", callID, "CSeq: 1 INVITE"),
			"abc@xcaller1", "caller1", true},
		{"OPTIONS ping", sipText("OPTIONS sip:b@y SIP/2.0", via, from, "To: <sip:b@y>", callID, "CSeq: 7 OPTIONS"),
			"abc@xcaller1", "caller1", true},
		{"CANCEL", sipText("CANCEL sip:b@y SIP/2.0", via, from, "To: <sip:b@y>", callID, "CSeq: 1 CANCEL"),
			"abc@xcaller1", "caller1", false},
		{"2xx to INVITE", sipText("SIP/2.0 200 OK", via, from, "To: <sip:b@y>;tag=callee9", callID, "CSeq: 1 INVITE"),
			"abc@xcaller1", "caller1callee9", true},
		{"180 to INVITE", sipText("SIP/2.0 180 Ringing", via, from, "To: <sip:b@y>;tag=callee9", callID, "CSeq: 1 INVITE"),
			"abc@xcaller1", "caller1callee9", false},
		{"in-dialog BYE", sipText("BYE sip:b@y SIP/2.0", via, from, "To: <sip:b@y>;tag=callee9", callID, "CSeq: 2 BYE"),
			"abc@xcaller1", "caller1callee9", false},
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
