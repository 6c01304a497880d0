package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/sipalive/sipalive/samples/synth"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/sipalive -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file; run with -update after checking the change.\n--- got ---\n%s", name, got)
	}
}

func TestGoldenSamples(t *testing.T) {
	for _, sc := range synth.Scenarios() {
		s := sc.Name
		pcap := filepath.Join("..", "..", "samples", s+".pcap")
		for _, format := range []string{"table", "json", "csv"} {
			code, out, errOut := runCLI("analyze", "--format", format, pcap)
			if code != exitOK {
				t.Fatalf("%s %s: exit %d: %s", s, format, code, errOut)
			}
			golden(t, s+"."+format, out)
		}
	}
	code, out, _ := runCLI("audit", filepath.Join("..", "..", "samples", "vendors.pcap"))
	if code != exitOK {
		t.Fatalf("audit: exit %d", code)
	}
	golden(t, "vendors.audit", out)
	code, out, _ = runCLI("flow", filepath.Join("..", "..", "samples", "keepalive-481.pcap"), "lost-1")
	if code != exitOK {
		t.Fatalf("flow: exit %d", code)
	}
	golden(t, "keepalive-481.flow", out)
	code, out, _ = runCLI("flow", "--format", "svg", filepath.Join("..", "..", "samples", "keepalive-481.pcap"), "lost-1")
	if code != exitOK {
		t.Fatalf("flow svg: exit %d", code)
	}
	golden(t, "keepalive-481.svg", out)
	// both hops of a call captured on a proxy, the proxy named as such
	code, out, _ = runCLI("flow", filepath.Join("..", "..", "samples", "proxied.pcap"), "proxied-1")
	if code != exitOK || !strings.Contains(out, "(proxy)") {
		t.Fatalf("flow proxied: exit %d", code)
	}
	golden(t, "proxied.flow", out)
}

// TestSummaryValues asserts the schema counts of the samples directly, so
// that a golden update cannot quietly change them.
func TestSummaryValues(t *testing.T) {
	type outcomes map[string]int
	tests := []struct {
		sample  string
		calls   int
		session map[string]outcomes
		device  map[string]outcomes
	}{
		{"keepalive-healthy", 1, map[string]outcomes{"INFO": {"sent": 3, "2xx": 3}}, nil},
		{"keepalive-481", 1, map[string]outcomes{"INFO": {"sent": 2, "2xx": 1, "481": 1}}, nil},
		{"update-unsupported", 2, map[string]outcomes{"UPDATE": {"sent": 2, "405": 1, "501": 1}, "INFO": {"sent": 2, "2xx": 2}}, nil},
		{"keepalive-unanswered", 1, map[string]outcomes{"INFO": {"sent": 2, "2xx": 1, "unanswered": 1}}, nil},
		{"keepalive-mix", 5, map[string]outcomes{"INFO": {"sent": 9, "2xx": 7, "481": 1, "unanswered": 1}, "UPDATE": {"sent": 2, "405": 1, "501": 1}},
			map[string]outcomes{"OPTIONS": {"sent": 6, "2xx": 4, "unanswered": 2}}},
		// every hop a transaction: 3 INFO requests relayed, 6 transactions
		{"proxied", 1, map[string]outcomes{"INFO": {"sent": 6, "2xx": 4, "481": 2}}, nil},
	}
	for _, tt := range tests {
		code, out, _ := runCLI("analyze", "--format", "json", filepath.Join("..", "..", "samples", tt.sample+".pcap"))
		if code != exitOK {
			t.Fatalf("%s: exit %d", tt.sample, code)
		}
		var rep struct {
			Summary struct {
				Calls   int                 `json:"calls"`
				Session map[string]outcomes `json:"session_keepalives"`
				Device  map[string]outcomes `json:"device_keepalives"`
			} `json:"summary"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		s := rep.Summary
		if s.Calls != tt.calls {
			t.Errorf("%s: calls %d, want %d", tt.sample, s.Calls, tt.calls)
		}
		check := func(kind string, got, want map[string]outcomes) {
			for m, w := range want {
				for k, v := range w {
					if got[m][k] != v {
						t.Errorf("%s: %s %s.%s = %d, want %d", tt.sample, kind, m, k, got[m][k], v)
					}
				}
			}
			if len(got) != len(want) {
				t.Errorf("%s: %s methods %v, want %v", tt.sample, kind, got, want)
			}
		}
		check("session", s.Session, tt.session)
		check("device", s.Device, tt.device)
	}
}

func TestExitStatus(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("hello\n"), 0o644)
	empty := filepath.Join(dir, "empty.pcap")
	os.WriteFile(empty, nil, 0o644)
	raw, err := os.ReadFile(filepath.Join("..", "..", "samples", "keepalive-481.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.pcap")
	os.WriteFile(cut, raw[:len(raw)-100], 0o644)
	// record 3 claims 300,000 bytes: the reader skips to record 4
	damaged := filepath.Join(dir, "damaged.pcap")
	off := 24
	for i := 0; i < 2; i++ {
		off += 16 + int(binary.LittleEndian.Uint32(raw[off+8:]))
	}
	bad := append([]byte(nil), raw...)
	binary.LittleEndian.PutUint32(bad[off+8:], 300000)
	os.WriteFile(damaged, bad, 0o644)
	lost := filepath.Join("..", "..", "samples", "keepalive-481.pcap")
	user0 := filepath.Join(dir, "user0.pcap")
	if f, err := os.Create(user0); err == nil {
		w := pcapgo.NewWriter(f)
		w.WriteFileHeader(65535, layers.LinkType(147))
		w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1700000000, 0), CaptureLength: 4, Length: 4}, []byte{1, 2, 3, 4})
		f.Close()
	}
	healthy := filepath.Join("..", "..", "samples", "keepalive-healthy.pcap")
	badGzip := filepath.Join(dir, "bad.pcap.gz")
	os.WriteFile(badGzip, []byte("\x1f\x8bthis is no gzip stream at all"), 0o644)

	tests := []struct {
		name     string
		args     []string
		code     int
		inStderr string
	}{
		{"no args", nil, exitUsage, "usage"},
		{"no file", []string{"analyze"}, exitUsage, "no capture file"},
		{"missing file", []string{"analyze", filepath.Join(dir, "nope.pcap")}, exitUsage, "no such file"},
		{"text file", []string{"analyze", text}, exitUsage, "not a pcap or pcapng capture"},
		{"empty file", []string{"analyze", empty}, exitUsage, "empty file"},
		{"bad format", []string{"analyze", "--format", "xml", lost}, exitUsage, "--format"},
		{"bad fail-on", []string{"analyze", "--fail-on", "boom", lost}, exitUsage, "unknown finding kind"},
		{"negative max-rows", []string{"analyze", "--max-rows", "-3", lost}, exitUsage, "--max-rows -3"},
		{"no workers", []string{"analyze", "--workers", "0", lost}, exitUsage, "--workers 0"},
		{"three workers", []string{"analyze", "--workers", "3", lost}, exitUsage, "--workers 3"},
		{"truncated is partial", []string{"analyze", cut}, exitOK, "truncated"},
		{"a damaged record is skipped", []string{"analyze", damaged}, exitOK, "record 3 at offset 896 is damaged"},
		{"not gzip after all", []string{"analyze", badGzip}, exitUsage, "its gzip header is invalid"},
		{"unsupported link type named", []string{"analyze", user0}, exitOK, "1 frames of link type 147, a link type sipalive does not decode"},
		{"an empty file beside a good one", []string{"analyze", lost, empty}, exitOK, "empty file; analysing the other files"},
		{"a missing file beside a good one", []string{"analyze", filepath.Join(dir, "nope.pcap"), lost}, exitOK, "no such file"},
		{"no readable file", []string{"analyze", text, empty}, exitUsage, "not a pcap or pcapng capture"},
		{"fail-on matches", []string{"analyze", "--fail-on", "lost,unanswered", lost}, exitFindings, "match --fail-on"},
		{"fail-on clean", []string{"analyze", "--fail-on", "any", healthy}, exitOK, ""},
		{"-r and flags after files", []string{"analyze", "-r", lost, "--format", "json"}, exitOK, ""},
		{"no command", []string{lost, "--format", "csv"}, exitOK, ""},
		{"flow unknown call", []string{"flow", lost, "nosuchcall"}, exitUsage, "no SIP message"},
		{"flow without a Call-ID lists the dialogs", []string{"flow", lost}, exitOK, ""},
	}
	for _, tt := range tests {
		code, _, errOut := runCLI(tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.inStderr) {
			t.Errorf("%s: exit %d (want %d), stderr %q", tt.name, code, tt.code, errOut)
		}
		if strings.Contains(errOut, "panic") {
			t.Errorf("%s: panicked: %s", tt.name, errOut)
		}
	}
}

func TestWriteProblems(t *testing.T) {
	for _, name := range []string{"problems.pcap", "problems.pcapng"} {
		checkWriteProblems(t, filepath.Join(t.TempDir(), name))
	}
}

func checkWriteProblems(t *testing.T, out string) {
	mix := filepath.Join("..", "..", "samples", "keepalive-mix.pcap")
	code, _, errOut := runCLI("analyze", "--format", "json", "--write-problems", out, mix)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// It says what it wrote: the 46 packets of the 4 problem dialogs.
	if !strings.Contains(errOut, "wrote 46 packets of 4 problem dialog(s)") {
		t.Errorf("%s: stderr %q, want 46 packets of 4 dialogs", out, errOut)
	}
	// The written file holds exactly the problem dialogs: analysing it
	// finds them again and nothing else.
	code, js, _ := runCLI("analyze", "--format", "json", out)
	if code != exitOK {
		t.Fatalf("re-read: exit %d", code)
	}
	var rep struct {
		Dialogs []struct {
			CallID string `json:"call_id"`
		} `json:"dialogs"`
	}
	json.Unmarshal([]byte(js), &rep)
	var ids []string
	for _, d := range rep.Dialogs {
		ids = append(ids, d.CallID)
	}
	want := "lost-1@192.0.2.10 upd405-1@192.0.2.10 upd501-1@198.51.100.5 gone-1@192.0.2.10"
	if strings.Join(ids, " ") != want {
		t.Errorf("%s: problem dialogs %v, want %s", out, ids, want)
	}
}

// TestVendorAudit checks the three behaviours the vendors sample holds.
func TestVendorAudit(t *testing.T) {
	code, out, _ := runCLI("audit", "--format", "json", "--fail-on", "expired", filepath.Join("..", "..", "samples", "vendors.pcap"))
	if code != exitFindings {
		t.Errorf("--fail-on expired: exit %d, want %d", code, exitFindings)
	}
	var rep struct {
		Vendors []struct {
			Agent    string                    `json:"agent"`
			Sent     map[string]int            `json:"sent"`
			Answered map[string]map[string]int `json:"answered"`
			Ended    map[string]int            `json:"answers_for_ended_dialogs"`
		} `json:"vendors"`
		Timers []struct {
			CallID  string `json:"call_id"`
			Expired bool   `json:"expired"`
			Verdict string `json:"verdict"`
		} `json:"session_timers"`
		Findings []struct {
			Kind string `json:"kind"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	byAgent := map[string]int{}
	for i, v := range rep.Vendors {
		byAgent[v.Agent] = i
	}
	gw, ok1 := byAgent["Umbrella-GW 9.0"]
	sbc, ok2 := byAgent["Globex-SBC 4.0"]
	if !ok1 || !ok2 {
		t.Fatalf("vendors %v", byAgent)
	}
	if rep.Vendors[gw].Answered["UPDATE"]["501"] != 1 {
		t.Errorf("Umbrella-GW should answer UPDATE with 501: %v", rep.Vendors[gw].Answered)
	}
	if rep.Vendors[sbc].Ended["2xx"] != 1 {
		t.Errorf("Globex-SBC should answer 2xx for an ended dialog: %v", rep.Vendors[sbc].Ended)
	}
	if len(rep.Timers) != 1 || !rep.Timers[0].Expired || rep.Timers[0].Verdict != "expired, then BYE" {
		t.Errorf("timers %+v", rep.Timers)
	}
	kinds := map[string]bool{}
	for _, f := range rep.Findings {
		kinds[f.Kind] = true
	}
	for _, k := range []string{"unsupported", "stale", "expired", "answers-unknown-dialog"} {
		if !kinds[k] {
			t.Errorf("no %s finding: %v", k, kinds)
		}
	}
}

// TestWorkersGiveTheSameReport runs a generated trunk capture with one and
// with two goroutines: the JSON reports must match byte for byte.
func TestWorkersGiveTheSameReport(t *testing.T) {
	path, err := synth.BulkFile(t.TempDir(), 3000)
	if err != nil {
		t.Fatal(err)
	}
	var outs []string
	for _, workers := range []string{"1", "2"} {
		code, out, errOut := runCLI("analyze", "--format", "json", "--workers", workers, path)
		if code != exitOK {
			t.Fatalf("workers %s: exit %d: %s", workers, code, errOut)
		}
		outs = append(outs, out)
	}
	if outs[0] != outs[1] {
		t.Error("reports differ between --workers 1 and 2")
	}
	var rep struct {
		Summary struct {
			Calls int `json:"calls"`
		} `json:"summary"`
	}
	json.Unmarshal([]byte(outs[0]), &rep)
	if rep.Summary.Calls != 3000 {
		t.Errorf("calls %d, want 3000", rep.Summary.Calls)
	}
}

// TestREADMEShowsCurrentOutput keeps the README's sample outputs true:
// each block is an excerpt of what the command prints today (the golden
// files): its parts, separated by lines holding only "…", appear in the
// output whole and in order.
func TestREADMEShowsCurrentOutput(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for marker, golden := range map[string]string{
		"`sipalive analyze samples/keepalive-mix.pcap` (excerpt":   "keepalive-mix.table",
		"`sipalive audit samples/vendors.pcap` is the vendor view": "vendors.audit",
		"`sipalive flow samples/keepalive-481.pcap lost-1`":        "keepalive-481.flow",
		"`--format json` (excerpt":                                 "keepalive-mix.json",
		"`--format csv`, one row":                                  "keepalive-mix.csv",
		"`sipalive probe sip:100@192.0.2.5` prints a card":         "../../../analyze/render/testdata/card.txt",
	} {
		s := string(readme)
		i := strings.Index(s, marker)
		if i < 0 {
			t.Errorf("README lost the text %q", marker)
			continue
		}
		a := strings.Index(s[i:], "```\n") + i + 4
		b := strings.Index(s[a:], "```") + a
		want, _ := os.ReadFile(filepath.Join("testdata", golden))
		rest := string(want)
		for _, part := range strings.Split(s[a:b], "\n…\n") {
			part = strings.Trim(part, "\n")
			k := strings.Index(rest, part)
			if part == "" || k < 0 {
				t.Errorf("README's block after %q is not an excerpt of the current output (testdata/%s):\n%s", marker, golden, part)
				break
			}
			rest = rest[k+len(part):]
		}
	}
}

// TestTablesReusedAlike: every table is printed with one reused
// tablewriter.Table (render.shared); a report printed after others of
// other shapes (more columns, a header or none) is printed as it is alone.
func TestTablesReusedAlike(t *testing.T) {
	sample := func(name string) string { return filepath.Join("..", "..", "samples", name) }
	_, first, _ := runCLI("analyze", "-q", sample("keepalive-481.pcap"))
	for _, other := range []string{"vendors.pcap", "keepalive-mix.pcap", "proxied.pcap"} {
		if code, _, errOut := runCLI("audit", "-q", sample(other)); code != exitOK {
			t.Fatalf("audit %s: exit %d: %s", other, code, errOut)
		}
		if code, _, errOut := runCLI("analyze", "-q", sample(other)); code != exitOK {
			t.Fatalf("analyze %s: exit %d: %s", other, code, errOut)
		}
	}
	_, again, _ := runCLI("analyze", "-q", sample("keepalive-481.pcap"))
	if again != first {
		t.Errorf("tables differ once others were printed:\n%s\nthen:\n%s", first, again)
	}
	golden(t, "keepalive-481.table", again)
}

// TestFlowListsDialogs: flow without a Call-ID lists the dialogs to pick
// from, problems first, with their whole Call-IDs.
func TestFlowListsDialogs(t *testing.T) {
	code, out, errOut := runCLI("flow", filepath.Join("..", "..", "samples", "keepalive-mix.pcap"))
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lost, healthy := strings.Index(out, "lost-1@192.0.2.10"), strings.Index(out, "healthy-1@192.0.2.10")
	if lost < 0 || healthy < lost {
		t.Errorf("want the lost dialog listed before the healthy one:\n%s", out)
	}
}

// sampleFiles lists the bundled sample captures (not the large benchmark
// captures bench.sh leaves beside them).
func sampleFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../samples/*.pcap")
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample captures: %v", err)
	}
	return slices.DeleteFunc(files, func(f string) bool { return strings.HasPrefix(filepath.Base(f), "big-") })
}

// TestStreamedReportsAreTheReport holds the JSON and CSV reports written
// as the analysis goes (every row wanted) to the same reports built whole
// in memory (a row limit above the row count keeps every row there too),
// byte for byte, on every sample and on a bulk capture of a few hundred
// calls.
func TestStreamedReportsAreTheReport(t *testing.T) {
	files := sampleFiles(t)
	bulk, err := synth.BulkFile(t.TempDir(), 300)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range append(files, bulk) {
		for _, format := range []string{"json", "csv"} {
			_, streamed, _ := runCLI("analyze", "--format", format, f)
			_, whole, _ := runCLI("analyze", "--format", format, "--max-rows", "1000000", f)
			if streamed != whole || len(streamed) < 100 {
				t.Errorf("%s --format %s: the streamed report (%d bytes) differs from the whole one (%d bytes)", f, format, len(streamed), len(whole))
			}
		}
	}
}

// TestTablesFitTheWidth prints every sample, and a trunk capture of 2,000
// calls, at 120 and 80 columns ($COLUMNS, as a terminal would give): no
// line may be wider. --wide prints them whole.
func TestTablesFitTheWidth(t *testing.T) {
	files := sampleFiles(t)
	bulk, err := synth.BulkFile(t.TempDir(), 2000)
	if err != nil {
		t.Fatal(err)
	}
	for _, width := range []int{120, 80} {
		t.Setenv("COLUMNS", strconv.Itoa(width))
		for _, f := range append(files, bulk) {
			for _, cmd := range []string{"analyze", "audit"} {
				_, out, _ := runCLI(cmd, f)
				for i, line := range strings.Split(out, "\n") {
					if w := twwidth.Width(line); w > width {
						t.Errorf("%s %s at %d columns: line %d is %d wide: %s", cmd, filepath.Base(f), width, i+1, w, line)
						break
					}
				}
			}
		}
	}
	t.Setenv("COLUMNS", "80")
	_, out, _ := runCLI("analyze", "--wide", "../../samples/keepalive-mix.pcap")
	if !strings.Contains(out, "Initech-Phone") || !strings.Contains(out, "healthy-1@192.0.2.10") {
		t.Errorf("--wide does not print every column whole:\n%s", out)
	}
}

// TestJSONFollowsTheSchema validates the JSON report of every sample, of a
// bulk trunk capture and of the shared corpus when it is there against the
// published schema, docs/report.schema.json, which is written by hand from
// what a consumer reads and not generated from the code.
func TestJSONFollowsTheSchema(t *testing.T) {
	c := jsonschema.NewCompiler()
	sch, err := c.Compile(filepath.Join("..", "..", "docs", "report.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	files := sampleFiles(t)
	corpus, _ := filepath.Glob("../../../shared/corpus/*.pcap*")
	bulk, err := synth.BulkFile(t.TempDir(), 300)
	if err != nil {
		t.Fatal(err)
	}
	// Floods fill the bounded tables, so that the report has its limits:
	// unanswered INVITEs the calls without a dialog, answered pings the
	// folded calls' ring.
	var floods []string
	for _, o := range []synth.FloodOptions{
		{Method: "INVITE", N: 20000, Rate: 10000, Sources: 2},
		{Method: "OPTIONS", N: 90000, Rate: 5000, Sources: 2, Answer: 200},
	} {
		var buf bytes.Buffer
		w, err := synth.NewWriter(&buf, synth.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := synth.Flood(w, o); err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(t.TempDir(), "flood-"+o.Method+".pcap")
		if err := os.WriteFile(f, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		floods = append(floods, f)
	}
	for _, f := range append(append(append(files, bulk), floods...), corpus...) {
		_, out, _ := runCLI("analyze", "--format", "json", f)
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if err := sch.Validate(v); err != nil {
			t.Errorf("%s: the JSON report does not follow docs/report.schema.json: %v", filepath.Base(f), err)
		}
		if strings.HasPrefix(filepath.Base(f), "flood-") && !strings.Contains(out, `"limits"`) {
			t.Errorf("%s: the flood's report has no limits", filepath.Base(f))
		}
	}
}
