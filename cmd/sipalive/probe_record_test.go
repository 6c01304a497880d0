package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/sipalive/sipalive/analyze"
	"github.com/sipalive/sipalive/analyze/probe"
)

// probeRun runs sipalive probe in namespace ns of the lab and returns its
// card and the analysis of its -w capture, which must agree with it.
func probeRun(t *testing.T, lab *netnsLab, ns int, sipalive string, args ...string) *probe.Card {
	t.Helper()
	pcap := filepath.Join(t.TempDir(), "probe.pcap")
	args = append([]string{"probe", "--format", "json", "-w", pcap}, args...)
	cmd := lab.in(ns, sipalive, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if code := exitCode(err); code != 0 {
		t.Fatalf("sipalive %s: exit %d\n%s", strings.Join(args, " "), code, stderr.String())
	}
	var card probe.Card
	if err := json.Unmarshal(out, &card); err != nil {
		t.Fatalf("card: %v\n%s", err, out)
	}
	js, err := exec.Command(sipalive, "analyze", "--format", "json", pcap).Output()
	if err != nil {
		t.Fatalf("analyze %s: %v", pcap, err)
	}
	rep, err := analyze.ReadReport(js)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range probe.Compare(&card, rep) {
		t.Errorf("analyze of the probe's -w capture disagrees with its card: %s", d)
	}
	t.Logf("progress:\n%s", stderr.String())
	return &card
}

// wantStep checks a step of the card: its code, or no answer (code 0).
func wantStep(t *testing.T, c *probe.Card, kind probe.StepKind, method string, code int) {
	t.Helper()
	s := c.Step(kind, method)
	switch {
	case s == nil:
		t.Errorf("%s %s: not on the card", kind, method)
	case s.Error != "":
		t.Errorf("%s %s: not sent: %s", kind, method, s.Error)
	case code == 0 && !s.NoAnswer:
		t.Errorf("%s %s: answered %d, want no answer", kind, method, s.Code)
	case code != 0 && s.Code != code:
		t.Errorf("%s %s: answered %d, want %d", kind, method, s.Code, code)
	}
}

// TestProbeRecordedSippDevices probes sipp devices that answer UPDATE
// inside a call with 405, 501, 481 or never (testdata/probe: 200 to
// OPTIONS, INFO, MESSAGE inside the call and outside, 481 to a To tag they
// never gave). The expected cards come from those scenarios.
func TestProbeRecordedSippDevices(t *testing.T) {
	lab := newNetnsLab(t)
	needRecorder(t, "sipp")
	sipalive, _ := buildTools(t)
	tmpl := template.Must(template.ParseFiles(filepath.Join("testdata", "probe", "device.xml.tmpl")))
	for _, update := range []string{"405 Method Not Allowed", "501 Not Implemented", "481 Call/Transaction Does Not Exist", ""} {
		code := 0
		fmt.Sscan(update, &code)
		name := "update-" + strings.Fields(update + " never")[0]
		t.Run(name, func(t *testing.T) {
			scenario := filepath.Join(t.TempDir(), "device.xml")
			var b bytes.Buffer
			if err := tmpl.Execute(&b, map[string]any{"Methods": probe.KeepAliveMethods, "Update": update}); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(scenario, b.Bytes(), 0o644)
			server := "sipp-device-" + name
			sipp := lab.in(1, "sipp", "-sf", scenario, "-key", "server", server, "-i", lab.addr[1], "-p", "5060", "-m", "100", "-nostdin")
			if err := sipp.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { sipp.Process.Kill(); sipp.Wait() }() // ours, by PID
			time.Sleep(500 * time.Millisecond)                  // sipp listening
			card := probeRun(t, lab, 0, sipalive, "--no-timer", "--gap", "200ms", "--timeout", "2s", "sip:dev@"+lab.addr[1]+":5060")
			if card.Device.Agent != server {
				t.Errorf("agent %q, want %q", card.Device.Agent, server)
			}
			wantStep(t, card, probe.StepPing, "OPTIONS", 200)
			wantStep(t, card, probe.StepCall, "INVITE", 200)
			for _, m := range probe.KeepAliveMethods {
				want := 200
				if m == "UPDATE" {
					want = code
				}
				wantStep(t, card, probe.StepInDialog, m, want)
				wantStep(t, card, probe.StepUnknownDialog, m, 481)
			}
			wantStep(t, card, probe.StepMessageOutside, "MESSAGE", 200)
			wantStep(t, card, probe.StepBye, "BYE", 200)
			if card.KeepAliveMethod != "INFO" {
				t.Errorf("advice %q, want INFO", card.KeepAliveMethod)
			}
		})
	}
}

// startBaresip runs baresip in namespace ns listening on addr, answering
// calls at once; commands (-e) run at its start.
func startBaresip(t *testing.T, lab *netnsLab, ns int, addr string, commands ...string) {
	t.Helper()
	dir := t.TempDir()
	config, err := os.ReadFile(filepath.Join("..", "..", "samples", "baresip", "config"))
	if err != nil {
		t.Fatal(err)
	}
	config = bytes.ReplaceAll(config, []byte("10.9.0.3:5060"), []byte(addr+":5060"))
	os.WriteFile(filepath.Join(dir, "config"), config, 0o644)
	os.WriteFile(filepath.Join(dir, "accounts"), []byte("<sip:callee@"+addr+">;regint=0;answermode=auto\n"), 0o644)
	args := []string{"-f", dir, "-t", "120"}
	for _, c := range commands {
		args = append(args, "-e", c)
	}
	b := lab.in(ns, "baresip", args...)
	var log bytes.Buffer
	b.Stdout, b.Stderr = &log, &log
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.Process.Kill() // ours, by PID
		b.Wait()
		if t.Failed() {
			t.Logf("baresip:\n%s", log.String())
		}
	})
	time.Sleep(time.Second) // listening
}

// TestProbeRecordedBaresip probes baresip (Debian's 1.0). What it does is
// set by how its code is layered: its user agent answers OPTIONS 200
// whatever the dialog (so also for one it never had); libre refuses
// UPDATE 501 before it looks for a dialog (no UPDATE support); its
// message module refuses a MESSAGE without a text body 415 first; only
// INFO reaches the session, which answers an empty INFO 488 and one for an
// unknown dialog 481. It has no session timer (RFC 4028 is on its roadmap,
// baresip issue 297), so it takes a Session-Expires below 90 s and
// answers without one.
func TestProbeRecordedBaresip(t *testing.T) {
	lab := newNetnsLab(t)
	needRecorder(t, "baresip")
	sipalive, _ := buildTools(t)
	startBaresip(t, lab, 1, lab.addr[1])
	card := probeRun(t, lab, 0, sipalive, "--gap", "200ms", "--timeout", "3s", "--timer-wait", "3s", "sip:callee@"+lab.addr[1]+":5060")
	if !strings.HasPrefix(card.Device.Agent, "baresip") {
		t.Errorf("agent %q, want baresip", card.Device.Agent)
	}
	wantStep(t, card, probe.StepPing, "OPTIONS", 200)
	for m, code := range map[string][2]int{"OPTIONS": {200, 200}, "INFO": {488, 481}, "UPDATE": {501, 501}, "MESSAGE": {415, 415}} {
		wantStep(t, card, probe.StepInDialog, m, code[0])
		wantStep(t, card, probe.StepUnknownDialog, m, code[1])
	}
	wantStep(t, card, probe.StepTimerTooSmall, "INVITE", 200)
	wantStep(t, card, probe.StepTimerCall, "INVITE", 200)
	if !card.Has(probe.VerdictTimerTooSmallAccepted) || !card.Has(probe.VerdictNoTimer) || !card.Has(probe.VerdictAcceptsUnknownDialog) {
		t.Errorf("verdicts %+v: want the too-small timer accepted, no timer, OPTIONS taken for an unknown dialog", card.Verdicts)
	}
	if card.KeepAliveMethod != "OPTIONS" {
		t.Errorf("advice %q, want OPTIONS (the only body-less request it takes)", card.KeepAliveMethod)
	}
}

// listenWhile runs sipalive probe --listen in namespace 0 of the lab on
// port 5070 with args, starts the caller once it listens, and returns the
// card and the report of its -w capture (held to the card).
func listenWhile(t *testing.T, lab *netnsLab, sipalive string, caller func(), args ...string) *probe.Card {
	t.Helper()
	pcap := filepath.Join(t.TempDir(), "listen.pcap")
	args = append([]string{"probe", "--listen", lab.addr[0] + ":5070", "--format", "json", "-w", pcap}, args...)
	listen := lab.in(0, sipalive, args...)
	var out, stderr bytes.Buffer
	listen.Stdout = &out
	errPipe, _ := listen.StderrPipe()
	if err := listen.Start(); err != nil {
		t.Fatal(err)
	}
	defer listen.Process.Kill() // ours, by PID, if still running
	r := bufio.NewReader(errPipe)
	waitLine(t, r, "listening on")
	copied := make(chan struct{})
	go func() { stderr.ReadFrom(r); close(copied) }()
	caller()
	err := listen.Wait()
	<-copied
	if code := exitCode(err); code != 0 {
		t.Fatalf("probe --listen: exit %d\n%s", code, stderr.String())
	}
	var card probe.Card
	if err := json.Unmarshal(out.Bytes(), &card); err != nil {
		t.Fatalf("card: %v\n%s\n%s", err, out.String(), stderr.String())
	}
	t.Logf("%s", stderr.String())
	js, err := exec.Command(sipalive, "analyze", "--format", "json", pcap).Output()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := analyze.ReadReport(js)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Summary.Calls != len(card.Calls) {
		t.Errorf("analyze of the -w capture: %d calls, the card %d", rep.Summary.Calls, len(card.Calls))
	}
	for _, d := range probe.Compare(&card, rep) {
		t.Errorf("analyze of the -w capture disagrees with the card: %s", d)
	}
	return &card
}

// TestProbeListenRecordedBaresip: baresip calls the probe, which would
// answer its keep-alives 481; baresip 1.0 sends none (no OPTIONS or
// session refresh inside a call), and the card says so.
func TestProbeListenRecordedBaresip(t *testing.T) {
	lab := newNetnsLab(t)
	needRecorder(t, "baresip")
	sipalive, _ := buildTools(t)
	card := listenWhile(t, lab, sipalive, func() {
		startBaresip(t, lab, 1, lab.addr[1], "/dial sip:probe@"+lab.addr[0]+":5070")
	}, "--answers", "481", "--watch", "4s", "--wait", "30s")
	if len(card.Calls) != 1 || !strings.HasPrefix(card.Device.Agent, "baresip") || card.Calls[0].EndedBy != "probe" {
		t.Fatalf("card %+v", card)
	}
	wantNoKeepAlives(t, card)
}

// wantNoKeepAlives: the card says the device sent no keep-alive.
func wantNoKeepAlives(t *testing.T, card *probe.Card) {
	t.Helper()
	if !card.Has(probe.VerdictNoKeepAlives) || card.Has(probe.VerdictSendsKeepAlives) {
		t.Errorf("verdicts %+v: want no keep-alives", card.Verdicts)
	}
}

// TestProbeRecordedKamailio probes through Kamailio
// (samples/kamailio/kamailio.cfg as registrar with digest authentication
// and as a stateful proxy that pings both parties of each dialog with
// in-dialog OPTIONS every 30 s) to the sipp device that answers UPDATE 501
// behind it: the probe registers as alice (password "secret", challenged
// first), its requests inside the call follow the Record-Route, a To tag
// the device never gave reaches the device and gets its 481, and held for
// 35 s the call receives Kamailio's own OPTIONS.
func TestProbeRecordedKamailio(t *testing.T) {
	lab := newNetnsLab(t)
	needRecorder(t, "kamailio", "sipp")
	sipalive, _ := buildTools(t)
	work := t.TempDir()
	db := filepath.Join(work, "db")
	os.MkdirAll(db, 0o755)
	os.WriteFile(filepath.Join(db, "version"), []byte("table_name(string) table_version(int)\nsubscriber:7\n"), 0o644)
	os.WriteFile(filepath.Join(db, "subscriber"), []byte("id(int,auto) username(string) domain(string) password(string) ha1(string,null) ha1b(string,null)\n1:alice:127.0.0.1:secret:NULL:NULL\n"), 0o644)
	cfg, _ := filepath.Abs(filepath.Join("..", "..", "samples", "kamailio", "kamailio.cfg"))
	kam := lab.in(0, "kamailio", "-DD", "-E", "-A", "WITH_REGISTRAR", "-A", "WITH_AUTH", "-A", `DBURL="text://`+db+`"`,
		"-f", cfg, "-P", filepath.Join(work, "kamailio.pid"), "-Y", work)
	var kamLog bytes.Buffer
	kam.Stderr = &kamLog
	kam.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its workers with it
	if err := kam.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		// Kamailio and the workers it forked, by the group of the PID we
		// started; they hold its stderr until they end
		syscall.Kill(-kam.Process.Pid, syscall.SIGTERM)
		kam.Wait()
		if t.Failed() {
			t.Logf("kamailio:\n%s", kamLog.String())
		}
	}()
	scenario := filepath.Join(work, "device.xml")
	var b bytes.Buffer
	tmpl := template.Must(template.ParseFiles(filepath.Join("testdata", "probe", "device.xml.tmpl")))
	if err := tmpl.Execute(&b, map[string]any{"Methods": probe.KeepAliveMethods, "Update": "501 Not Implemented"}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(scenario, b.Bytes(), 0o644)
	sipp := lab.in(0, "sipp", "-sf", scenario, "-key", "server", "sipp-behind-kamailio", "-i", "127.0.0.3", "-p", "5060", "-m", "100", "-nostdin")
	if err := sipp.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sipp.Process.Kill(); sipp.Wait() }() // ours, by PID
	time.Sleep(2 * time.Second)                         // kamailio and sipp listening
	card := probeRun(t, lab, 0, sipalive, "--register", "--user", "alice", "--password", "secret", "--local", "127.0.0.2:5070",
		"--no-timer", "--gap", "200ms", "--timeout", "3s", "--hold", "36s", "sip:dev@127.0.0.1:5060")
	wantStep(t, card, probe.StepRegister, "REGISTER", 200)
	wantStep(t, card, probe.StepCall, "INVITE", 200)
	for _, m := range probe.KeepAliveMethods {
		want := 200
		if m == "UPDATE" {
			want = 501
		}
		wantStep(t, card, probe.StepInDialog, m, want)
		wantStep(t, card, probe.StepUnknownDialog, m, 481)
	}
	if card.Device.Agent != "sipp-behind-kamailio" {
		t.Errorf("agent %q", card.Device.Agent)
	}
	pings := 0
	for _, r := range card.Received {
		if r.Method == "OPTIONS" && r.InDialog && r.Answer == 200 {
			pings++
		}
	}
	if pings == 0 {
		t.Errorf("no in-dialog OPTIONS from Kamailio in 36 s: %+v", card.Received)
	}
}

// startLinphone runs linphonec (Debian's linphone-cli 5.1) in namespace
// ns on port 5060, answering calls at once (-a) and, with call set,
// calling it at start (-s). linphonec wants a terminal: script(1) gives it
// one, fed from a pipe this test keeps open.
// It returns a function that ends it (also run at the test's end).
func startLinphone(t *testing.T, lab *netnsLab, ns int, call string) (stop func()) {
	t.Helper()
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, ".local", "share", "linphone"), 0o755)
	rc := filepath.Join(home, "linphonerc")
	os.WriteFile(rc, []byte("[sip]\nsip_port=5060\nsip_tcp_port=-1\nsip_tls_port=-1\ndefault_proxy=-1\n[rtp]\naudio_rtp_port=7078\n[sound]\nechocancellation=0\n"), 0o644)
	line := "linphonec -c " + rc + " -a -d 0"
	if call != "" {
		line += " -s " + call
	}
	cmd := lab.in(ns, "script", "-qfc", line, "/dev/null")
	cmd.Env = append(os.Environ(), "HOME="+home)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			stdin.Close()
			syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) // script and linphonec, by the group of the PID we started
			cmd.Wait()
			if t.Failed() {
				t.Logf("linphonec:\n%s", log.String())
			}
		})
	}
	t.Cleanup(stop)
	if call == "" {
		time.Sleep(2 * time.Second) // listening
	}
	return stop
}

// TestProbeRecordedLinphone probes linphonec (liblinphone 5.1). Its core
// answers OPTIONS 200 whatever the dialog; INFO and UPDATE reach the call
// (200), and for an unknown dialog INFO gets 481 while UPDATE, which its
// SIP layer takes only inside a call, 405; a MESSAGE without Content-Type
// is refused 500 ("Unsupported MESSAGE (no Content-Type)") in a dialog or
// not; an IM with a body is taken. After that body-less MESSAGE in a call
// it keeps the call past its BYE and answers new calls 486, so the session
// timer is asked in a second run, with INFO alone: it takes a
// Session-Expires of 30 s (no 422: it checks no Min-SE).
func TestProbeRecordedLinphone(t *testing.T) {
	lab := newNetnsLab(t)
	needRecorder(t, "linphonec", "script")
	sipalive, _ := buildTools(t)
	stop := startLinphone(t, lab, 1, "")
	target := "sip:lp@" + lab.addr[1] + ":5060"
	card := probeRun(t, lab, 0, sipalive, "--no-timer", "--gap", "300ms", "--timeout", "3s", target)
	if !strings.Contains(strings.ToLower(card.Device.Agent), "linphone") {
		t.Errorf("agent %q, want linphone", card.Device.Agent)
	}
	wantStep(t, card, probe.StepPing, "OPTIONS", 200)
	for m, code := range map[string][2]int{"OPTIONS": {200, 200}, "INFO": {200, 481}, "UPDATE": {200, 405}, "MESSAGE": {500, 500}} {
		wantStep(t, card, probe.StepInDialog, m, code[0])
		wantStep(t, card, probe.StepUnknownDialog, m, code[1])
	}
	wantStep(t, card, probe.StepMessageOutside, "MESSAGE", 200)
	if card.KeepAliveMethod != "INFO" {
		t.Errorf("advice %q, want INFO", card.KeepAliveMethod)
	}
	stop() // afresh: the first still holds its call
	startLinphone(t, lab, 1, "")
	timer := probeRun(t, lab, 0, sipalive, "--methods", "INFO", "--gap", "300ms", "--timeout", "3s", "--timer-wait", "5s", target)
	wantStep(t, timer, probe.StepTimerTooSmall, "INVITE", 200)
	wantStep(t, timer, probe.StepTimerCall, "INVITE", 200)
	if !timer.Has(probe.VerdictTimerTooSmallAccepted) {
		t.Errorf("verdicts %+v: want the 30 s Session-Expires accepted", timer.Verdicts)
	}
}

// TestProbeListenRecordedLinphone: linphonec calls the probe (-s); the
// probe would answer what it sends inside the call 481 and hangs up after
// 4 s. linphone 5.1 sends nothing of its own in a call.
func TestProbeListenRecordedLinphone(t *testing.T) {
	lab := newNetnsLab(t)
	needRecorder(t, "linphonec", "script")
	sipalive, _ := buildTools(t)
	card := listenWhile(t, lab, sipalive, func() {
		startLinphone(t, lab, 1, "sip:probe@"+lab.addr[0]+":5070")
	}, "--answers", "481", "--watch", "4s", "--wait", "30s")
	if len(card.Calls) != 1 || !strings.Contains(strings.ToLower(card.Device.Agent), "linphone") {
		t.Fatalf("card %+v", card)
	}
	wantNoKeepAlives(t, card)
}
