package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sipalive/sipalive/analyze"
	"github.com/sipalive/sipalive/samples/synth"
)

// TestMergeGivesTheUnionsTotals analyses each sample alone, merges the
// JSON reports, and holds the totals to those of analysing every sample
// together (no dialog spans two of them): the summary, the findings by
// kind, the overview's counts, the vendors' and the matrix's counts. The
// merged report reads back through merge again unchanged.
func TestMergeGivesTheUnionsTotals(t *testing.T) {
	// Three captures whose Call-IDs differ: a trunk, a steady call rate
	// with keep-alives, a flood of pings.
	dir := t.TempDir()
	var files []string
	for name, write := range map[string]func(*synth.Writer) error{
		"trunk": func(w *synth.Writer) error { return synth.Bulk(w, 200) },
		"rate": func(w *synth.Writer) error {
			return synth.Rate(w, synth.RateOptions{Rate: 5, Hold: 70 * time.Second, Duration: time.Minute, KeepAlive: 30 * time.Second})
		},
		"flood": func(w *synth.Writer) error {
			return synth.Flood(w, synth.FloodOptions{Method: "OPTIONS", N: 300, Rate: 50, Sources: 2, Answer: 200})
		},
	} {
		var buf bytes.Buffer
		w, err := synth.NewWriter(&buf, synth.Options{})
		if err == nil {
			err = write(w)
		}
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, name+".pcap")
		os.WriteFile(f, buf.Bytes(), 0o644)
		files = append(files, f)
	}
	slices.Sort(files)
	var parts []string
	for _, f := range files {
		_, out, _ := runCLI("analyze", "--format", "json", f)
		p := filepath.Join(dir, filepath.Base(f)+".json")
		os.WriteFile(p, []byte(out), 0o644)
		parts = append(parts, p)
	}
	code, merged, errOut := runCLI(append([]string{"merge", "--format", "json"}, parts...)...)
	if code != 0 {
		t.Fatalf("merge: exit %d: %s", code, errOut)
	}
	_, union, _ := runCLI(append([]string{"analyze", "--format", "json"}, files...)...)
	var got, want analyze.Report
	if err := json.Unmarshal([]byte(merged), &got); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal([]byte(union), &want)
	same := func(what string, a, b any) {
		if jsonOf(a) != jsonOf(b) {
			t.Errorf("%s: merged %s\nunion %s", what, jsonOf(a), jsonOf(b))
		}
	}
	same("summary keep-alives", got.Summary.SessionKeepAlives, want.Summary.SessionKeepAlives)
	same("summary device keep-alives", got.Summary.DeviceKeepAlives, want.Summary.DeviceKeepAlives)
	same("not keep-alive", got.Summary.NotKeepAlive, want.Summary.NotKeepAlive)
	same("finding counts", got.FindingCounts, want.FindingCounts)
	same("keep-alive outcomes", got.KeepAlives, want.KeepAlives)
	o, u := got.Overview, want.Overview
	for _, c := range [][3]any{{"calls", o.Calls, u.Calls}, {"dialogs", o.Dialogs, u.Dialogs}, {"sip messages", o.SIPMessages, u.SIPMessages},
		{"packets", o.Packets, u.Packets}, {"problem dialogs", o.ProblemDialogs, u.ProblemDialogs}, {"files", o.Files, u.Files}} {
		same(c[0].(string), c[1], c[2])
	}
	count := func(r *analyze.Report) map[string]int {
		m := map[string]int{}
		for _, v := range r.Vendors {
			for k, n := range v.Sent {
				m[v.Agent+" sent "+k] += n
			}
		}
		for _, c := range r.Matrix {
			m[c.Sender+">"+c.Receiver+" "+c.Method] += c.Sent
		}
		return m
	}
	same("vendors and matrix", count(&got), count(&want))
	if len(got.Findings) != len(want.Findings) || len(got.Dialogs) != len(want.Dialogs) {
		t.Errorf("rows: %d findings, %d dialogs; the union %d, %d", len(got.Findings), len(want.Findings), len(got.Dialogs), len(want.Dialogs))
	}
	// The words made from facts the JSON does not carry survive.
	if !strings.Contains(merged, "answered 481: the peer lost the dialog") {
		t.Errorf("the findings lost their words")
	}
	// and the merged report is a report: it merges again.
	again := filepath.Join(dir, "merged.json")
	os.WriteFile(again, []byte(merged), 0o644)
	if code, out, _ := runCLI("merge", "--format", "json", again); code != 0 || out != merged {
		t.Errorf("merging the merged report alone changed it (exit %d)", code)
	}
}
