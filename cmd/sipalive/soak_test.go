package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// soakEnv asks for the soak test: minutes of real traffic (docs/testing.md).
const soakEnv = "SIPALIVE_SOAK"

// seconds writes a duration as sipp takes it.
func seconds(d time.Duration) string { return fmt.Sprintf("%ds", int(d.Seconds())) }

// rssKiB reads a process's resident set size.
func rssKiB(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.Atoi(strings.Fields(rest)[0])
		}
	}
	return 0, fmt.Errorf("no VmRSS")
}

// TestSoak runs sipp calls with INFO keep-alives at a steady rate through
// a veth pair for ten minutes (SIPALIVE_SOAK_MINUTES to change it) while
// sniff watches one end with --events: its resident memory, sampled every
// 10 s, stays under 96 MiB and does not grow steadily (the last two
// minutes' mean within 25 % of the third and fourth minutes'), and the
// events add up to the final report. It runs when SIPALIVE_SOAK is set (.ci/run sets
// it), and needs what the recordings need.
func TestSoak(t *testing.T) {
	if os.Getenv(soakEnv) == "" {
		t.Skipf("skipped: runs for minutes; set %s=1 to run it (.ci/run does)", soakEnv)
	}
	minutes := 10
	if m, err := strconv.Atoi(os.Getenv("SIPALIVE_SOAK_MINUTES")); err == nil && m >= 6 {
		minutes = m
	}
	lab := newNetnsLab(t)
	needRecorder(t, "sipp")
	sipalive, _ := buildTools(t)
	dir := t.TempDir()
	events := filepath.Join(dir, "events.ndjson")
	scen, _ := filepath.Abs("testdata/soak")
	run := time.Duration(minutes) * time.Minute
	const rate = 40 // calls a second, each 4 s long with two INFO keep-alives

	sniff := lab.in(0, sipalive, "sniff", "-i", lab.veth[0], "-q", "--format", "json", "--events", events,
		"--duration", (run + 2*time.Minute).String(), "udp port 5060")
	var report bytes.Buffer
	sniff.Stdout = &report
	errPipe, _ := sniff.StderrPipe()
	if err := sniff.Start(); err != nil {
		t.Fatal(err)
	}
	defer sniff.Process.Kill() // ours, by PID, if still running
	waitLine(t, bufio.NewReader(errPipe), "listening on")

	uas := lab.in(1, "sipp", "-sf", filepath.Join(scen, "uas.xml"), "-i", lab.addr[1], "-p", "5060", "-nostdin", "-timeout", seconds(run+time.Minute))
	if err := uas.Start(); err != nil {
		t.Fatal(err)
	}
	defer uas.Process.Kill() // ours, by PID
	uac := lab.in(0, "sipp", "-sf", filepath.Join(scen, "uac.xml"), "-i", lab.addr[0], "-p", "5070", "-nostdin",
		"-r", strconv.Itoa(rate), "-m", strconv.Itoa(rate*int(run/time.Second)), "-timeout", seconds(run+30*time.Second),
		lab.addr[1]+":5060")
	var uacOut bytes.Buffer
	uac.Stdout, uac.Stderr = &uacOut, &uacOut
	if err := uac.Start(); err != nil {
		t.Fatal(err)
	}
	defer uac.Process.Kill() // ours, by PID

	var samples []int
	uacDone := make(chan error, 1)
	go func() { uacDone <- uac.Wait() }()
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
sampling:
	for {
		select {
		case <-uacDone:
			break sampling
		case <-tick.C:
			kib, err := rssKiB(sniff.Process.Pid)
			if err != nil {
				t.Fatalf("RSS of sniff: %v", err)
			}
			samples = append(samples, kib)
		}
	}
	time.Sleep(2 * time.Second) // the last answers
	sniff.Process.Signal(os.Interrupt)
	if err := sniff.Wait(); err != nil {
		t.Fatalf("sniff: %v", err)
	}
	t.Logf("RSS every 10 s (KiB): %v", samples)
	if len(samples) < 36 {
		t.Fatalf("only %d samples: the calls ended early: %.2000s", len(samples), uacOut.String())
	}
	// Bounded: every sample within the 96 MiB that issue 17 sets for a
	// run with JSON output (the heap is held to its budget, 50 MB, below
	// that), and no steady growth: the mean of the last two minutes'
	// samples within a quarter of the third and fourth minutes'. Single
	// samples swing with the collector's cycle (about ±8 %); a mean over
	// two minutes does not. What still grows is bounded and comes in
	// steps: the ring of finished dialogs' tombstones keeps a quarter of
	// an hour of them and doubles as it fills (at this rate at 6.8 and
	// 13.7 minutes), and the heap's goal follows the live state up to the
	// budget; 10-minute runs on the CI machine grew 13-16 % so. A leak of
	// a kilobyte a call would add 14 MB between the two, over a quarter.
	const ceiling = 96 << 10 // KiB
	for i, kib := range samples {
		if kib > ceiling {
			t.Errorf("RSS %d KiB at %d s: more than %d KiB", kib, 10*(i+1), ceiling)
			break
		}
	}
	mean := func(s []int) float64 {
		sum := 0
		for _, v := range s {
			sum += v
		}
		return float64(sum) / float64(len(s))
	}
	third, last := mean(samples[12:24]), mean(samples[len(samples)-12:])
	if last > 1.25*third {
		t.Errorf("RSS grew from %.0f KiB (third and fourth minutes) to %.0f KiB (last two): more than 25%%", third, last)
	}
	b, err := os.ReadFile(events)
	if err != nil {
		t.Fatal(err)
	}
	checkEventsAddUp(t, "soak", string(b))
	if !strings.Contains(report.String(), `"INFO"`) {
		t.Errorf("the final report has no INFO keep-alives")
	}
}
