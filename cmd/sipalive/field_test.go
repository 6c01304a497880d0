package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
)

// The same real traffic (2 calls, 3 INFO keep-alives each) recorded by
// samples/netns/capture.sh over every path of a field capture.
var fieldCaptures = []string{"plain.pcap", "any.pcap", "vlan.pcap", "vxlan.pcap", "gre.pcap", "ipip.pcap", "frag.pcap", "tcp.pcap", "plain.pcapng.gz"}

type fieldReport struct {
	Summary  map[string]any `json:"summary"`
	Overview struct {
		Capture map[string]any `json:"capture"`
	} `json:"overview"`
}

func checkFieldCaptures(t *testing.T, dir string) {
	t.Helper()
	reports := map[string]fieldReport{}
	for _, name := range fieldCaptures {
		code, out, errOut := runCLI("analyze", "--format", "json", filepath.Join(dir, name))
		if code != exitOK {
			t.Fatalf("%s: exit %d: %s", name, code, errOut)
		}
		var r fieldReport
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		reports[name] = r
	}
	want := reports["plain.pcap"].Summary
	info := want["session_keepalives"].(map[string]any)["INFO"].(map[string]any)
	if want["sip_messages"] != 24.0 || want["calls"] != 2.0 || info["sent"] != 6.0 || info["2xx"] != 6.0 {
		t.Fatalf("plain capture: %v, want 24 messages, 2 calls, 6 INFO answered 200", want)
	}
	for name, r := range reports {
		if !reflect.DeepEqual(r.Summary, want) {
			t.Errorf("%s: %v\ndiffers from plain Ethernet: %v", name, r.Summary, want)
		}
	}
	// Each capture really exercised its path.
	c := func(name, key string) float64 { return reports[name].Overview.Capture[key].(float64) }
	if c("frag.pcap", "fragments_reassembled") != 2 || c("frag.pcap", "fragments") == 0 {
		t.Errorf("frag.pcap: the two 3 KB INVITEs were not reassembled from fragments")
	}
	if c("tcp.pcap", "tcp_messages") != 24 || c("tcp.pcap", "tcp_bytes_skipped") != 0 || c("tcp.pcap", "tcp_segments") <= 24 {
		t.Errorf("tcp.pcap: %v", reports["tcp.pcap"].Overview.Capture)
	}
}

// TestFieldCaptures analyses the committed real captures.
func TestFieldCaptures(t *testing.T) {
	checkFieldCaptures(t, filepath.Join("..", "..", "capture", "testdata", "netns"))
}

// TestFieldCapturesRecorded records them afresh in network namespaces
// (root, with iproute2, ethtool and tcpdump: CI installs them) and checks
// the new recording the same way.
func TestFieldCapturesRecorded(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipped: recording in network namespaces needs root (CI runs it)")
	}
	for _, c := range []string{"ip", "ethtool", "tcpdump"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Skipf("skipped: needs %s (.ci/run installs it)", c)
		}
	}
	dir := t.TempDir()
	cmd := exec.Command("bash", "../../samples/netns/capture.sh", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("capture.sh: %v\n%s", err, out)
	}
	if _, err := exec.LookPath("editcap"); err != nil {
		os.Link(filepath.Join("..", "..", "capture", "testdata", "netns", "plain.pcapng.gz"), filepath.Join(dir, "plain.pcapng.gz"))
	}
	checkFieldCaptures(t, dir)
}
