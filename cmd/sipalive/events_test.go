package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipalive/sipalive/analyze/monitor"
	"github.com/sipalive/sipalive/samples/synth"
)

// outcomeKey names an event's outcome as the report's totals do.
var outcomeKey = map[string]string{"2xx": "2xx", "481": "481", "405": "405", "501": "501", "other": "other_final", "unanswered": "unanswered"}

// TestEventsAddUpToTheReport reads every sample, a bulk trunk and the
// shared corpus with --events -: the keep-alive events, counted by kind,
// method and outcome, are the report's totals; the finding events by kind
// are its finding counts; every line is one JSON object of the current
// schema version, and the last is the end with the totals.
func TestEventsAddUpToTheReport(t *testing.T) {
	files := sampleFiles(t)
	corpus, _ := filepath.Glob("../../../shared/corpus/*.pcap*")
	bulk, err := synth.BulkFile(t.TempDir(), 300)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range append(append(files, bulk), corpus...) {
		if strings.HasSuffix(f, ".json") {
			continue
		}
		code, out, errOut := runCLI("analyze", "--events", "-", f)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", f, code, errOut)
		}
		checkEventsAddUp(t, filepath.Base(f), out)
	}
}

// checkEventsAddUp holds an NDJSON event stream to its own end: the
// keep-alive events counted by kind, method and outcome are the summary's
// totals, the finding events by kind its finding counts, every line is
// one JSON object of the current schema version, and the last is the end.
func checkEventsAddUp(t *testing.T, name, out string) {
	t.Helper()
	f := name
	type outcomes map[string]int
	got := map[string]map[string]outcomes{"session": {}, "device": {}}
	findings := map[string]int{}
	var end struct {
		Summary struct {
			Session map[string]outcomes `json:"session_keepalives"`
			Device  map[string]outcomes `json:"device_keepalives"`
		} `json:"summary"`
		FindingCounts map[string]int `json:"finding_counts"`
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	last := ""
	for sc.Scan() {
		var e struct {
			V     int             `json:"v"`
			Event string          `json:"event"`
			Row   json.RawMessage `json:"row"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.V != monitor.EventsVersion {
			t.Fatalf("%s: line %q: %v", f, sc.Text(), err)
		}
		last = e.Event
		switch e.Event {
		case "keepalive":
			var k struct{ Kind, Method, Outcome string }
			json.Unmarshal(e.Row, &k)
			o := got[k.Kind][k.Method]
			if o == nil {
				o = outcomes{}
				got[k.Kind][k.Method] = o
			}
			o["sent"]++
			o[outcomeKey[k.Outcome]]++
		case "finding":
			var x struct{ Kind string }
			json.Unmarshal(e.Row, &x)
			findings[x.Kind]++
		case "end":
			json.Unmarshal(e.Row, &end)
		}
	}
	if last != "end" {
		t.Fatalf("%s: the last event is %q, not the end", f, last)
	}
	for kind, want := range map[string]map[string]outcomes{"session": end.Summary.Session, "device": end.Summary.Device} {
		for m, o := range want {
			for k, n := range o {
				if got[kind][m][k] != n {
					t.Errorf("%s: %s %s %s: %d events, the report says %d", filepath.Base(f), kind, m, k, got[kind][m][k], n)
				}
			}
		}
	}
	if fmt.Sprint(findings) != fmt.Sprint(end.FindingCounts) && !(len(findings) == 0 && len(end.FindingCounts) == 0) {
		t.Errorf("%s: findings by kind: events %v, report %v", filepath.Base(f), findings, end.FindingCounts)
	}
}
