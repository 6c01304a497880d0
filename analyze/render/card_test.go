package render

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/sipalive/sipalive/analyze/probe"
)

var updateCards = flag.Bool("update", false, "rewrite testdata/card.* from the cards in card_test.go")

// exampleCard is a card as the probe writes it for a device that answers
// UPDATE 501, refreshes a session timer with UPDATE and pings its calls
// with OPTIONS.
func exampleCard(agent, reason string) *probe.Card {
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	step := func(kind probe.StepKind, method string, sec float64, code int, why string) probe.Step {
		return probe.Step{Kind: kind, Method: method, Sent: at.Add(time.Duration(sec * float64(time.Second))), RTT: ms(3), Code: code, Reason: why}
	}
	c := &probe.Card{Target: "sip:100@192.0.2.5", Transport: "udp", Mode: "call", Started: at, Ended: at.Add(40 * time.Second),
		Device: probe.Device{Agent: agent, Vendor: "Acme", Allow: []string{"INVITE", "ACK", "BYE", "OPTIONS", "INFO", "UPDATE"}, Supported: []string{"timer"}},
		Steps: []probe.Step{
			step(probe.StepPing, "OPTIONS", 0, 200, "OK"),
			step(probe.StepCall, "INVITE", 1, 200, "OK"),
			step(probe.StepInDialog, "OPTIONS", 2, 200, "OK"),
			step(probe.StepInDialog, "INFO", 3, 200, "OK"),
			step(probe.StepInDialog, "UPDATE", 4, 501, reason),
			{Kind: probe.StepInDialog, Method: "MESSAGE", Sent: at.Add(5 * time.Second), NoAnswer: true},
			step(probe.StepUnknownDialog, "OPTIONS", 13, 200, "OK"),
			step(probe.StepUnknownDialog, "INFO", 14, 481, "Call/Transaction Does Not Exist"),
			step(probe.StepUnknownDialog, "UPDATE", 15, 501, reason),
			step(probe.StepUnknownDialog, "MESSAGE", 16, 481, "Call/Transaction Does Not Exist"),
			step(probe.StepMessageOutside, "MESSAGE", 17, 200, "OK"),
			step(probe.StepBye, "BYE", 18, 200, "OK"),
			{Kind: probe.StepTimerTooSmall, Method: "INVITE", Sent: at.Add(19 * time.Second), RTT: ms(2), Code: 422, Reason: "Session Interval Too Small", AskedExpires: 30, MinSE: 90},
			{Kind: probe.StepTimerCall, Method: "INVITE", Sent: at.Add(20 * time.Second), RTT: ms(2), Code: 200, Reason: "OK", AskedExpires: 90, SessionExpires: 90, Refresher: "uas"},
			step(probe.StepBye, "BYE", 66, 200, "OK"),
		},
		Received: []probe.Received{
			{Method: "OPTIONS", At: at.Add(8 * time.Second), Call: probe.StepCall, InDialog: true, Answer: 200},
			{Method: "UPDATE", At: at.Add(65 * time.Second), Call: probe.StepTimerCall, InDialog: true, Answer: 200, SessionExpires: 90},
		},
	}
	c.Ended = at.Add(67 * time.Second)
	return c
}

// judged is the card with its verdicts, as probe.Run leaves it.
func judged(c *probe.Card) *probe.Card {
	probe.Judge(c)
	return c
}

// TestCardGolden renders the example card as tables, JSON and HTML and
// compares them with testdata/card.* (go test -update rewrites them).
func TestCardGolden(t *testing.T) {
	c := judged(exampleCard("Acme-PBX/7.1", "Not Implemented"))
	for _, f := range []struct {
		name   string
		render func(*bytes.Buffer) error
	}{
		{"card.txt", func(b *bytes.Buffer) error { return CardTables(b, c, 120) }},
		{"card.json", func(b *bytes.Buffer) error { return CardJSON(b, c) }},
		{"card.html", func(b *bytes.Buffer) error { return CardHTML(b, c) }},
	} {
		var b bytes.Buffer
		if err := f.render(&b); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", f.name)
		if *updateCards {
			os.MkdirAll("testdata", 0o755)
			os.WriteFile(path, b.Bytes(), 0o644)
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go test ./analyze/render -update writes it)", err)
		}
		if !bytes.Equal(b.Bytes(), want) {
			t.Errorf("%s differs from the golden file (go test ./analyze/render -update rewrites it):\n%s", f.name, b.String())
		}
	}
	var back probe.Card
	js, _ := json.Marshal(c)
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
}

// checkCard renders a card every way and holds the output to the same
// rules as the report's: no control bytes, SVG that parses, valid JSON.
func checkCard(t *testing.T, c *probe.Card) {
	t.Helper()
	var b bytes.Buffer
	for _, width := range []int{0, 120, 80} {
		b.Reset()
		if err := CardTables(&b, c, width); err != nil {
			t.Fatal(err)
		}
		checkTerminalSafe(t, "card tables", b.Bytes())
	}
	b.Reset()
	if err := CardHTML(&b, c); err != nil {
		t.Fatal(err)
	}
	checkTerminalSafe(t, "card html", b.Bytes())
	for _, svg := range regexp.MustCompile(`(?s)<svg.*?</svg>`).FindAll(b.Bytes(), -1) {
		checkXML(t, svg)
	}
	b.Reset()
	if err := CardJSON(&b, c); err != nil || !json.Valid(b.Bytes()) {
		t.Fatalf("card JSON: %v", err)
	}
}
