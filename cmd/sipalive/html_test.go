package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sipalive/sipalive/samples/synth"
)

// chromium finds Debian's headless browser: with SIPALIVE_RECORD set (as
// .ci/run sets it, installing chromium) it must be there; without, the test
// skips when it is not.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv(recordEnv) != "" {
		t.Fatalf("%s is set, but chromium is missing (.ci/run installs it)", recordEnv)
	}
	t.Skip("skipped: chromium is not installed (.ci/run installs it)")
	return ""
}

// TestHTMLRendersInChromium writes the HTML report of two samples and of a
// trunk capture (100,000 calls with SIPALIVE_RECORD, 2,000 without), and has headless Chromium load each from disk with no
// network: the page must log no console message (no error of any kind),
// and the DOM it builds must hold the report's charts and findings.
func TestHTMLRendersInChromium(t *testing.T) {
	browser := chromium(t)
	dir := t.TempDir()
	calls := 2000
	if os.Getenv(recordEnv) != "" {
		calls = 100000 // the acceptance's trunk: 1.35 M packets, half a gigabyte; CI runs it
	}
	bulk, err := synth.BulkFile(dir, calls)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"../../samples/keepalive-mix.pcap", "../../samples/vendors.pcap", bulk} {
		page := filepath.Join(dir, filepath.Base(f)+".html")
		if code, _, errOut := runCLI("analyze", "-q", "--html", page, "--format", "json", f); code != 0 {
			t.Fatalf("%s: exit %d: %s", f, code, errOut)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--log-level=0",
			"--user-data-dir="+filepath.Join(dir, "profile"), "--dump-dom", "file://"+page)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		dom, err := cmd.Output()
		cancel()
		if err != nil {
			t.Fatalf("chromium on %s: %v\n%s", page, err, stderr.String())
		}
		if m := regexp.MustCompile(`(?m)^.*CONSOLE.*$`).FindAllString(stderr.String(), -1); len(m) > 0 {
			t.Errorf("%s: the page logged to the console:\n%s", filepath.Base(page), strings.Join(m, "\n"))
		}
		for _, want := range []string{`id="findings"`, `id="timeline"`, "<svg", "Session keep-alives by method"} {
			if !strings.Contains(string(dom), want) {
				t.Errorf("%s: the rendered page has no %s", filepath.Base(page), want)
			}
		}
	}
}
