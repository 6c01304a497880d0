package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/sipalive/sipalive/samples/synth"
)

// netnsLab is a pair of network namespaces joined by a veth pair, made by
// and for one test, and removed after it.
type netnsLab struct {
	ns   [2]string
	veth [2]string
	addr [2]string
}

func newNetnsLab(t *testing.T) *netnsLab {
	t.Helper()
	needRecorder(t, "ip")
	id := os.Getpid() % 100000
	lab := &netnsLab{
		ns:   [2]string{fmt.Sprintf("sipalive-a%d", id), fmt.Sprintf("sipalive-b%d", id)},
		veth: [2]string{fmt.Sprintf("sa%d", id), fmt.Sprintf("sb%d", id)},
		addr: [2]string{"10.199.0.1", "10.199.0.2"},
	}
	t.Cleanup(func() {
		for _, ns := range lab.ns {
			exec.Command("ip", "netns", "del", ns).Run()
		}
	})
	steps := [][]string{
		{"netns", "add", lab.ns[0]}, {"netns", "add", lab.ns[1]},
		{"link", "add", lab.veth[0], "type", "veth", "peer", "name", lab.veth[1]},
		{"link", "set", lab.veth[0], "netns", lab.ns[0]}, {"link", "set", lab.veth[1], "netns", lab.ns[1]},
	}
	for i := range 2 {
		steps = append(steps,
			[]string{"-n", lab.ns[i], "addr", "add", lab.addr[i] + "/24", "dev", lab.veth[i]},
			[]string{"-n", lab.ns[i], "link", "set", lab.veth[i], "up"},
			[]string{"-n", lab.ns[i], "link", "set", "lo", "up"})
	}
	for _, s := range steps {
		if out, err := exec.Command("ip", s...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(s, " "), err, out)
		}
	}
	return lab
}

// in runs a command inside namespace i.
func (l *netnsLab) in(i int, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", l.ns[i], name}, args...)...)
}

// buildTools builds sipalive and the project's SIP sender.
func buildTools(t *testing.T) (sipalive, sender string) {
	t.Helper()
	dir := t.TempDir()
	sipalive, sender = filepath.Join(dir, "sipalive"), filepath.Join(dir, "sender")
	for _, b := range [][]string{{sipalive, "."}, {sender, "../../samples/sender"}} {
		cmd := exec.Command("go", "build", "-o", b[0], b[1])
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v: %s", b[1], err, out)
		}
	}
	return sipalive, sender
}

// waitLine reads lines from r until one contains want, or fails after 10 s.
func waitLine(t *testing.T, r *bufio.Reader, want string) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				done <- err
				return
			}
			if strings.Contains(line, want) {
				done <- nil
				return
			}
		}
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("waiting for %q: %v", want, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no %q within 10 s", want)
	}
}

type summary map[string]any

func summaryOf(t *testing.T, js []byte) summary {
	t.Helper()
	var rep struct {
		Summary summary `json:"summary"`
	}
	if err := json.Unmarshal(js, &rep); err != nil {
		t.Fatalf("JSON: %v: %.200s", err, js)
	}
	return rep.Summary
}

// sniffWhile runs sipalive sniff in namespace ns on iface while traffic()
// runs, stops it with SIGINT and returns its JSON output and its -w file,
// named wfile.
func sniffWhile(t *testing.T, lab *netnsLab, ns int, sipalive, iface, filter, wfile string, traffic func()) ([]byte, string) {
	t.Helper()
	pcap := filepath.Join(t.TempDir(), wfile)
	args := []string{"sniff", "-i", iface, "--format", "json", "-w", pcap, "--duration", "60s"}
	if filter != "" {
		args = append(args, "-f", filter)
	}
	cmd := lab.in(ns, sipalive, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	errPipe, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() // only if it is still running: ours, by PID
	waitLine(t, bufio.NewReader(errPipe), "listening on")
	traffic()
	time.Sleep(500 * time.Millisecond) // let the last answers arrive
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("sniff: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("sniff did not stop on SIGINT")
	}
	return out.Bytes(), pcap
}

// TestSniffEndToEnd sends SIP calls with keep-alives between two network
// namespaces, sniffs one end, and checks that the live report equals what
// analyze says of the file sniff wrote at the same time.
func TestSniffEndToEnd(t *testing.T) {
	lab := newNetnsLab(t)
	sipalive, sender := buildTools(t)
	uasAddr, uacAddr := lab.addr[1]+":5060", lab.addr[0]+":5070"
	live, pcap := sniffWhile(t, lab, 0, sipalive, lab.veth[0], "udp port 5060", "live.pcap", func() {
		uas := lab.in(1, sender, "uas", "-listen", uasAddr, "-calls", "2", "-timeout", "20s", "-answer", "UPDATE=501")
		stdout, _ := uas.StdoutPipe()
		if err := uas.Start(); err != nil {
			t.Fatal(err)
		}
		defer uas.Wait()
		waitLine(t, bufio.NewReader(stdout), "ready")
		for _, ka := range []string{"INFO", "UPDATE"} {
			uac := lab.in(0, sender, "uac", "-from", uacAddr, "-to", uasAddr, "-keepalive", ka, "-count", "3", "-interval", "50ms")
			if out, err := uac.CombinedOutput(); err != nil {
				t.Fatalf("uac: %v: %s", err, out)
			}
		}
	})
	got := summaryOf(t, live)
	out, err := exec.Command(sipalive, "analyze", "--format", "json", pcap).Output()
	if err != nil {
		t.Fatalf("analyze %s: %v", pcap, err)
	}
	want := summaryOf(t, out)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sniff summary\n %v\ndiffers from analyze of its -w file\n %v", got, want)
	}
	ka := got["session_keepalives"].(map[string]any)
	info, update := ka["INFO"].(map[string]any), ka["UPDATE"].(map[string]any)
	if got["calls"] != 2.0 || info["sent"] != 3.0 || info["2xx"] != 3.0 || update["501"] != 3.0 {
		t.Errorf("summary %v: want 2 calls, 3 INFO answered 200, 3 UPDATE answered 501", got)
	}
}

// TestSniffLoopbackCountsOnce checks that loopback's second copy of every
// packet is dropped: the counts equal those of the -w file.
func TestSniffLoopbackCountsOnce(t *testing.T) {
	lab := newNetnsLab(t)
	sipalive, sender := buildTools(t)
	live, pcap := sniffWhile(t, lab, 0, sipalive, "lo", "", "live.pcap", func() {
		uas := lab.in(0, sender, "uas", "-listen", "127.0.0.1:5060", "-calls", "1", "-timeout", "20s")
		stdout, _ := uas.StdoutPipe()
		if err := uas.Start(); err != nil {
			t.Fatal(err)
		}
		defer uas.Wait()
		waitLine(t, bufio.NewReader(stdout), "ready")
		if out, err := lab.in(0, sender, "uac", "-from", "127.0.0.1:5070", "-to", "127.0.0.1:5060", "-count", "2").CombinedOutput(); err != nil {
			t.Fatalf("uac: %v: %s", err, out)
		}
	})
	got := summaryOf(t, live)
	// INVITE, 100, 200, ACK, 2 × (INFO, 200), BYE, 200
	if got["sip_messages"] != 10.0 || got["calls"] != 1.0 {
		t.Errorf("loopback: %v, want 10 SIP messages and 1 call", got)
	}
	out, _ := exec.Command(sipalive, "analyze", "--format", "json", pcap).Output()
	if want := summaryOf(t, out); !reflect.DeepEqual(got, want) {
		t.Errorf("sniff %v differs from its -w file %v", got, want)
	}
}

// TestSniffInterfaceFaults: a down interface is refused at start; one that
// vanishes mid-run (the veth deleted under a running sniff) ends it with
// exit 1, a message naming it, and the report of what was captured.
func TestSniffInterfaceFaults(t *testing.T) {
	lab := newNetnsLab(t)
	sipalive, _ := buildTools(t)
	if out, err := exec.Command("ip", "-n", lab.ns[0], "link", "set", lab.veth[0], "down").CombinedOutput(); err != nil {
		t.Fatalf("ip link set down: %v: %s", err, out)
	}
	out, err := lab.in(0, sipalive, "sniff", "-i", lab.veth[0], "--duration", "5s").CombinedOutput()
	if code := exitCode(err); code != exitUsage || !strings.Contains(string(out), "is down") {
		t.Errorf("sniff on a down interface: exit %d: %s", code, out)
	}
	exec.Command("ip", "-n", lab.ns[0], "link", "set", lab.veth[0], "up").Run()
	cmd := lab.in(0, sipalive, "sniff", "-i", lab.veth[0], "--format", "json", "--duration", "60s")
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	errPipe, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() // only if it is still running: ours, by PID
	r := bufio.NewReader(errPipe)
	waitLine(t, r, "listening on")
	if out, err := exec.Command("ip", "-n", lab.ns[0], "link", "del", lab.veth[0]).CombinedOutput(); err != nil {
		t.Fatalf("ip link del: %v: %s", err, out)
	}
	// Wait closes the pipe once the process exits: the rest of stderr is
	// read to its end first, or the message could be lost unread.
	copied := make(chan struct{})
	go func() { io.Copy(&stderr, r); close(copied) }()
	waited := make(chan error, 1)
	go func() { <-copied; waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		if code := exitCode(err); code != exitFindings || !strings.Contains(stderr.String(), "is gone") {
			t.Errorf("sniff after its interface vanished: exit %d, stderr %q", code, stderr.String())
		}
		if !json.Valid(stdout.Bytes()) || !strings.Contains(stdout.String(), `"overview"`) {
			t.Errorf("no report after the interface vanished: %q", stdout.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("sniff runs on after its interface vanished")
	}
}

// exitCode is a finished command's exit status (0 when err is nil).
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// TestSniffVLANFilter replays OPTIONS pings untagged, on VLAN 100 and
// on a QinQ trunk (outer 200, inner 100) into a veth and sniffs the other
// end, where the kernel takes the outer tag out of each frame: "vlan 100"
// reads it from metadata and "vlan 200 and vlan 100" the inner one from
// the frame. The -w file keeps exactly the frames each filter matched,
// tags included.
func TestSniffVLANFilter(t *testing.T) {
	lab := newNetnsLab(t)
	sipalive, sender := buildTools(t)
	frames := filepath.Join(t.TempDir(), "tagged.pcap")
	var all bytes.Buffer
	pings := map[synth.Link]int{synth.Ethernet: 3, synth.EthernetVLAN: 5, synth.EthernetQinQ: 7}
	for i, link := range []synth.Link{synth.Ethernet, synth.EthernetVLAN, synth.EthernetQinQ} {
		var one bytes.Buffer
		w, err := synth.NewWriter(&one, synth.Options{Link: link})
		if err != nil {
			t.Fatal(err)
		}
		for n := range pings[link] {
			ping := fmt.Sprintf("OPTIONS sip:b@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bK%d%d\r\n"+
				"From: <sip:a@192.0.2.1>;tag=1\r\nTo: <sip:b@192.0.2.2>\r\nCall-ID: ping-%d-%d\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", i, n, i, n)
			if err := w.UDP(netip.MustParseAddrPort("192.0.2.1:5070"), netip.MustParseAddrPort("192.0.2.2:5060"), []byte(ping)); err != nil {
				t.Fatal(err)
			}
		}
		if i == 0 {
			all.Write(one.Bytes())
		} else {
			all.Write(one.Bytes()[24:]) // records only: the file header once
		}
	}
	if err := os.WriteFile(frames, all.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		filter string
		link   synth.Link
		tags   []uint16
	}{
		{"vlan 100 and udp port 5060", synth.EthernetVLAN, []uint16{100}},
		{"vlan 200 and vlan 100 and udp port 5060", synth.EthernetQinQ, []uint16{200, 100}},
	} {
		live, pcap := sniffWhile(t, lab, 0, sipalive, lab.veth[0], c.filter, "live.pcap", func() {
			if out, err := lab.in(1, sender, "replay", "-i", lab.veth[1], frames).CombinedOutput(); err != nil {
				t.Fatalf("replay: %v: %s", err, out)
			}
		})
		if got := summaryOf(t, live); got["sip_messages"] != float64(pings[c.link]) {
			t.Errorf("sniff %q: %v SIP messages, want %d", c.filter, got["sip_messages"], pings[c.link])
		}
		f, err := os.Open(pcap)
		if err != nil {
			t.Fatal(err)
		}
		r, err := pcapgo.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			data, _, err := r.ReadPacketData()
			if err != nil {
				break
			}
			n++
			p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
			var tags []uint16
			for _, l := range p.Layers() {
				if d, ok := l.(*layers.Dot1Q); ok {
					tags = append(tags, d.VLANIdentifier)
				}
			}
			if !slices.Equal(tags, c.tags) {
				t.Errorf("%q: frame %d of the -w file has tags %v, want %v", c.filter, n, tags, c.tags)
			}
		}
		f.Close()
		if n != pings[c.link] {
			t.Errorf("%q: %d frames in the -w file, want %d", c.filter, n, pings[c.link])
		}
	}
}

// TestSniffAnyWritesInterfaces sniffs -i any while calls cross the veth
// and loopback: the pcapng -w file has an interface block named for each,
// every packet under the one it came from, and analyzes as the live run.
func TestSniffAnyWritesInterfaces(t *testing.T) {
	lab := newNetnsLab(t)
	sipalive, sender := buildTools(t)
	live, pcap := sniffWhile(t, lab, 0, sipalive, "any", "udp port 5060", "any.pcapng", func() {
		for _, c := range []struct {
			uasNS    int
			uas, uac string
		}{
			{1, lab.addr[1] + ":5060", lab.addr[0] + ":5070"},
			{0, "127.0.0.1:5060", "127.0.0.1:5070"},
		} {
			uas := lab.in(c.uasNS, sender, "uas", "-listen", c.uas, "-calls", "1", "-timeout", "20s")
			stdout, _ := uas.StdoutPipe()
			if err := uas.Start(); err != nil {
				t.Fatal(err)
			}
			waitLine(t, bufio.NewReader(stdout), "ready")
			if out, err := lab.in(0, sender, "uac", "-from", c.uac, "-to", c.uas, "-count", "1").CombinedOutput(); err != nil {
				t.Fatalf("uac: %v: %s", err, out)
			}
			uas.Wait()
		}
	})
	f, err := os.Open(pcap)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	perIface := map[string]int{}
	for {
		_, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		ifc, err := r.Interface(ci.InterfaceIndex)
		if err != nil {
			t.Fatal(err)
		}
		if ifc.Filter != "udp port 5060" && !strings.HasPrefix(ifc.Filter, "(udp port 5060)") {
			t.Errorf("interface %q: filter %q", ifc.Name, ifc.Filter)
		}
		perIface[ifc.Name]++
	}
	if perIface["lo"] == 0 || perIface[lab.veth[0]] == 0 || len(perIface) != 2 {
		t.Errorf("packets per interface block %v: want %s and lo", perIface, lab.veth[0])
	}
	out, err := exec.Command(sipalive, "analyze", "--format", "json", pcap).Output()
	if err != nil {
		t.Fatalf("analyze %s: %v", pcap, err)
	}
	if got, want := summaryOf(t, live), summaryOf(t, out); !reflect.DeepEqual(got, want) || got["calls"] != 2.0 {
		t.Errorf("sniff -i any %v differs from its pcapng %v (want 2 calls)", got, want)
	}
}
