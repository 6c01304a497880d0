package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sipalive/sipalive/samples/synth"
)

// freePort returns a loopback TCP port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestPrometheusAlertFires runs the whole chain on loopback: a collector
// with --metrics, a real Prometheus server (Debian's package) scraping it
// every second with the shipped alert rules, and a call whose keep-alive
// is answered 481, sent as HEP. The SipaliveSessionsLost alert must fire.
// It runs with SIPALIVE_RECORD (which .ci/run sets, installing the
// package), or when prometheus is installed.
func TestPrometheusAlertFires(t *testing.T) {
	prom, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv(recordEnv) != "" {
			t.Fatal("SIPALIVE_RECORD is set, but prometheus is missing (.ci/run installs it)")
		}
		t.Skip("skipped: prometheus is not installed")
	}
	dir := t.TempDir()
	metricsPort, promPort := freePort(t), freePort(t)
	rules, err := filepath.Abs("../../docs/prometheus/sipalive-alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: sipalive
    static_configs: [{targets: ["127.0.0.1:%d"]}]
`, rules, metricsPort)
	os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o644)

	// The collector, in this process, until the test ends it.
	pr, pw := io.Pipe()
	var stdout syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"collect", "--duration", "90s", "--interval", "500ms", "-q", "--format", "json",
			"--metrics", fmt.Sprintf("127.0.0.1:%d", metricsPort), "127.0.0.1:0"}, &stdout, pw)
		pw.Close()
	}()
	r := bufio.NewReader(pr)
	var hepAddr string
	for hepAddr == "" {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("collect: %v", err)
		}
		if m := regexp.MustCompile(`collecting HEP on (\S+)`).FindStringSubmatch(line); m != nil {
			hepAddr = m[1]
		}
	}
	go io.Copy(io.Discard, r)

	cmd := exec.Command(prom, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", promPort))
	var promLog syncBuffer
	cmd.Stdout, cmd.Stderr = &promLog, &promLog
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }() // ours, by PID
	api := fmt.Sprintf("http://127.0.0.1:%d/api/v1/", promPort)
	query := func(path string) string {
		res, err := http.Get(api + path)
		if err != nil {
			return ""
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	waitFor := func(what string, ok func() bool) {
		deadline := time.Now().Add(45 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("no %s within 45 s; prometheus log:\n%s", what, promLog.String())
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	// Prometheus has seen the 481 counter at 0.
	waitFor("scrape of sipalive", func() bool {
		return strings.Contains(query(`query?query=sipalive_keepalives_total%7Boutcome%3D%22481%22%2Cmethod%3D%22INFO%22%7D`), `"0"]`)
	})

	// A call two minutes old whose INFO keep-alive was answered 481: the
	// collector's clock follows the wall clock, so it settles at once.
	conn, err := net.Dial("udp", hepAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	a, b := netip.MustParseAddrPort("192.0.2.10:5060"), netip.MustParseAddrPort("192.0.2.20:5060")
	at := time.Now().Add(-2 * time.Minute)
	msg := func(first, rest string) string {
		return first + "\r\nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK" + rest + "\r\nFrom: <sip:a@x>;tag=ta\r\nTo: <sip:b@x>"
	}
	for i, m := range []struct {
		from, to netip.AddrPort
		text     string
	}{
		{a, b, msg("INVITE sip:b@x SIP/2.0", "inv") + "\r\nCall-ID: prom-1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"},
		{b, a, msg("SIP/2.0 200 OK", "inv") + ";tag=tb\r\nCall-ID: prom-1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"},
		{a, b, msg("INFO sip:b@x SIP/2.0", "k1") + ";tag=tb\r\nCall-ID: prom-1\r\nCSeq: 2 INFO\r\nContent-Length: 0\r\n\r\n"},
		{b, a, msg("SIP/2.0 481 Call/Transaction Does Not Exist", "k1") + ";tag=tb\r\nCall-ID: prom-1\r\nCSeq: 2 INFO\r\nContent-Length: 0\r\n\r\n"},
	} {
		if _, err := conn.Write(synth.HEP3(m.from, m.to, at.Add(time.Duration(i)*10*time.Second), m.text)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor("SipaliveSessionsLost firing", func() bool {
		var res struct {
			Data struct {
				Alerts []struct {
					Labels map[string]string `json:"labels"`
					State  string            `json:"state"`
				} `json:"alerts"`
			} `json:"data"`
		}
		json.Unmarshal([]byte(query("alerts")), &res)
		for _, al := range res.Data.Alerts {
			if al.Labels["alertname"] == "SipaliveSessionsLost" && al.Labels["method"] == "INFO" && al.State == "firing" {
				return true
			}
		}
		return false
	})
}
