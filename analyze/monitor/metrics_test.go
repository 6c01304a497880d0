package monitor

import (
	"fmt"
	"io"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipalive/sipalive/analyze"
	"github.com/sipalive/sipalive/analyze/driver"
	"github.com/sipalive/sipalive/analyze/render"
	"github.com/sipalive/sipalive/capture"
)

// watched analyses a capture with metrics watching, updated at the end.
func watched(t *testing.T, path string) (*Metrics, *analyze.Report) {
	t.Helper()
	src, err := capture.OpenMerge([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	m := NewMetrics()
	rep, err := driver.Analyze(src, driver.Config{Workers: 1, Analysis: analyze.Options{Observe: m}})
	if err != nil {
		t.Fatal(err)
	}
	m.Update(rep)
	return m, rep
}

// TestMetricsOfASample analyses a sample with the metrics watching and
// reads /metrics as Prometheus would: the keep-alive counters are the
// report's totals, the findings its counts, and /healthz answers.
func TestMetricsOfASample(t *testing.T) {
	m, rep := watched(t, "../../samples/keepalive-mix.pcap")
	srv := httptest.NewServer(m.Handler(time.Minute))
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	text := string(body)
	want := []string{
		fmt.Sprintf(`sipalive_keepalives_total{method="INFO",outcome="2xx"} %d`, rep.Summary.SessionKeepAlives["INFO"].OK),
		fmt.Sprintf(`sipalive_keepalives_total{method="INFO",outcome="481"} %d`, rep.Summary.SessionKeepAlives["INFO"].C481),
		fmt.Sprintf(`sipalive_device_keepalives_total{method="OPTIONS",outcome="unanswered"} %d`, rep.Summary.DeviceKeepAlives["OPTIONS"].Unanswered),
		fmt.Sprintf(`sipalive_findings_total{kind="lost"} %d`, rep.FindingCounts[analyze.FindingLost]),
		fmt.Sprintf(`sipalive_packets_total %d`, rep.Overview.Packets),
		`sipalive_keepalives_by_vendor_total{sender="Initech-Phone 2.3",receiver="Acme-PBX 7.1",method="INFO",outcome="2xx"}`,
		"sipalive_up 1",
	}
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("/metrics lacks %q:\n%s", w, text)
		}
	}
	res, err = srv.Client().Get(srv.URL + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Errorf("/healthz: %v %v", res, err)
	}
}

// TestMetricsLabelsAreBoundedAndSafe: a vendor name with quotes, a
// backslash, a line feed and an escape sequence is a well-formed label,
// and past maxVendors names the rest share the label "other".
func TestMetricsLabelsAreBoundedAndSafe(t *testing.T) {
	m := NewMetrics()
	m.KeepAlive(&analyze.KeepAliveRow{Method: "INFO", Agent: "Evil\"\\\n\x1b[2J", Receiver: "PBX", Code: 200})
	for i := range maxVendors + 10 {
		m.KeepAlive(&analyze.KeepAliveRow{Method: "INFO", Agent: fmt.Sprint("phone-", i), Receiver: "PBX", Code: 200})
	}
	var b strings.Builder
	m.Write(&b)
	text := b.String()
	if !strings.Contains(text, `sender="Evil\"\\\n\\x1b[2J"`) || strings.ContainsRune(text, 0x1b) {
		t.Errorf("the hostile name is not escaped:\n%s", text)
	}
	if !strings.Contains(text, `sender="other"`) || strings.Contains(text, fmt.Sprintf(`"phone-%d"`, maxVendors+5)) {
		t.Errorf("vendor labels are not bounded")
	}
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if strings.Count(line, `"`)%2 != 0 && !strings.Contains(line, `\"`) {
			t.Errorf("unbalanced quotes: %s", line)
		}
	}
}

// TestLiveFoldingChangesNothing: folding each keep-alive of a dialog still
// up as soon as it settles (a live monitor) gives the report of folding
// them in batches or at the dialog's end, on every sample and the shared
// corpus.
func TestLiveFoldingChangesNothing(t *testing.T) {
	files, _ := filepath.Glob("../../samples/*.pcap")
	corpus, _ := filepath.Glob("../../../shared/corpus/*.pcap*")
	for _, f := range append(files, corpus...) {
		if strings.Contains(f, "big-") {
			continue
		}
		var out [2]string
		for i, live := range []bool{false, true} {
			src, err := capture.OpenMerge([]string{f})
			if err != nil {
				t.Fatal(err)
			}
			rep, err := driver.Analyze(src, driver.Config{Workers: 1, Analysis: analyze.Options{Live: live}})
			src.Close()
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			render.JSON(&b, rep)
			out[i] = b.String()
		}
		if out[0] != out[1] {
			t.Errorf("%s: the live report differs", filepath.Base(f))
		}
	}
}
