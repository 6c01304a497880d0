package render

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sipalive/sipalive/analyze"
)

func sampleFlow() *analyze.Flow {
	a, b := netip.MustParseAddrPort("192.0.2.1:5060"), netip.MustParseAddrPort("192.0.2.2:5060")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return &analyze.Flow{
		CallID:  `x<&>"y@h`,
		Parties: []string{a.String(), b.String()},
		Agents:  []string{"A <1>", ""},
		Messages: []analyze.FlowMessage{
			{Time: t0, Src: a, Dst: b, Label: "INVITE", Request: true, SDP: true},
			{Time: t0.Add(time.Second), Src: b, Dst: a, Label: "481 Call/Transaction Does Not Exist (INFO)", KeepAlive: true},
			{Time: t0.Add(2 * time.Second), Src: a, Dst: a, Label: "OPTIONS", Request: true},
		},
	}
}

// TestFlowSVGIsWellFormed parses the SVG as XML: names with markup
// characters must be escaped, and every element closed.
func TestFlowSVGIsWellFormed(t *testing.T) {
	var buf bytes.Buffer
	if err := FlowSVG(&buf, sampleFlow()); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(&buf)
	texts := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "line" {
			texts++
		}
	}
	if texts != 2+3 { // two lifelines, three arrows
		t.Errorf("%d lines, want 5", texts)
	}
}

func TestFlowText(t *testing.T) {
	var buf bytes.Buffer
	if err := FlowText(&buf, sampleFlow()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"◀── ◆ 481 Call/Transaction Does Not Exist (INFO) ──│", "INVITE +SDP", "OPTIONS"} {
		if !strings.Contains(out, want) {
			t.Errorf("ladder lacks %q:\n%s", want, out)
		}
	}
}
