package probe

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// TestCardJSONRoundTrip: a card read back from its JSON is the card.
func TestCardJSONRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 3, 4, 0, 0, 0, time.UTC)
	c := &Card{Target: "sip:dev@192.0.2.5", Transport: "udp", Mode: "call", Started: at, Ended: at.Add(time.Minute),
		Device:          Device{Agent: "X/1", Vendor: "X", Allow: []string{"INVITE", "INFO"}, Supported: []string{"timer"}},
		Steps:           []Step{{Kind: StepUnknownDialog, Method: "INFO", Sent: at, RTT: time.Millisecond, Code: 481, Reason: "Gone"}},
		Received:        []Received{{Method: "UPDATE", At: at, Call: StepTimerCall, InDialog: true, Answer: 200, SessionExpires: 90}},
		Calls:           []ListenCall{{Answer: 481, Invited: at, Ended: at, EndedBy: "device"}},
		Verdicts:        []Verdict{{Kind: VerdictReaction, Method: "INFO", Code: 481, Good: true, Seconds: 1.5, Reaction: ReactionHangUp}},
		KeepAliveMethod: "INFO", KeepAliveEvery: 30}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back Card
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, &back) {
		t.Errorf("round trip:\n%+v\n%+v", c, &back)
	}
	for k := StepKind(0); k.String() != "unknown"; k++ {
		var back StepKind
		if err := back.UnmarshalText([]byte(k.String())); err != nil || back != k {
			t.Errorf("step kind %s: %v", k, err)
		}
	}
	if err := new(VerdictKind).UnmarshalText([]byte("nonsense")); err == nil {
		t.Error("an unknown verdict name was read")
	}
}
