package monitor

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/sipalive/sipalive/analyze"
)

const rulesDir = "../../docs/prometheus"

// TestAlertRules checks the shipped alert rules with Prometheus's own
// promtool (Debian's prometheus package): they load, and their unit tests
// pass. It runs when promtool is installed; with SIPALIVE_RECORD set (as
// .ci/run sets it, installing the package) a missing promtool fails it.
func TestAlertRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("SIPALIVE_RECORD") != "" {
			t.Fatal("SIPALIVE_RECORD is set, but promtool is missing (.ci/run installs the prometheus package)")
		}
		t.Skip("skipped: promtool is not installed")
	}
	for _, args := range [][]string{{"check", "rules", "sipalive-alerts.yml"}, {"test", "rules", "sipalive-alerts_test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = rulesDir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestAlertRulesNameRealMetrics: every sipalive metric the rules and the
// dashboard name is one the program writes.
func TestAlertRulesNameRealMetrics(t *testing.T) {
	m, _ := watched(t, "../../samples/keepalive-mix.pcap")
	m.Finding(&analyze.Finding{Kind: analyze.FindingFlood})
	var b strings.Builder
	m.Write(&b)
	written := map[string]bool{}
	for _, line := range strings.Split(b.String(), "\n") {
		if name, _, _ := strings.Cut(strings.SplitN(line, "{", 2)[0], " "); name != "" {
			written[name] = true
		}
	}
	for _, file := range []string{"sipalive-alerts.yml", "grafana-dashboard.json"} {
		text, err := os.ReadFile(rulesDir + "/" + file)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range regexp.MustCompile(`sipalive_[a-z0-9_]+`).FindAllString(string(text), -1) {
			if !written[name] {
				t.Errorf("%s names %s, which sipalive does not write", file, name)
			}
		}
	}
}
