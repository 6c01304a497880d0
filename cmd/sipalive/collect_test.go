package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/sipalive/sipalive/analyze"
	"github.com/sipalive/sipalive/analyze/driver"
	"github.com/sipalive/sipalive/capture"
)

// hepPayloads returns the UDP payloads of a recorded capture of HEP (what
// Kamailio's siptrace sent), in order.
func hepPayloads(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for {
		data, _, err := r.ReadPacketData()
		if err != nil {
			return out
		}
		p := gopacket.NewPacket(data, r.LinkType(), gopacket.NoCopy)
		if u, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok && len(u.Payload) > 0 {
			out = append(out, append([]byte(nil), u.Payload...))
		}
	}
}

// TestCollectorGivesTheCaptureReport sends the HEP that Kamailio's
// siptrace sent in the recordings (versions 1, 2 and 3) to a collector on
// loopback, over UDP and (HEP3) over TCP, and holds the counts of the
// report to those of analysing the recording itself.
func TestCollectorGivesTheCaptureReport(t *testing.T) {
	for _, tc := range []struct {
		file string
		tcp  bool
	}{
		{"dialog-keepalive-hep1.pcap", false},
		{"dialog-keepalive-hep2.pcap", false},
		{"dialog-keepalive-hep3.pcap", false},
		{"dialog-keepalive-hep3.pcap", true},
	} {
		path := "../../capture/testdata/kamailio/" + tc.file
		payloads := hepPayloads(t, path)
		if len(payloads) == 0 {
			t.Fatalf("%s: no HEP", tc.file)
		}
		_, wantJSON, _ := runCLI("analyze", "--format", "json", path)
		var want analyze.Report
		if err := json.Unmarshal([]byte(wantJSON), &want); err != nil {
			t.Fatal(err)
		}
		c, err := capture.ListenHEP("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		network := "udp"
		if tc.tcp {
			network = "tcp"
		}
		conn, err := net.Dial(network, c.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for _, p := range payloads {
				conn.Write(p)
				time.Sleep(200 * time.Microsecond) // a gentle pace: UDP on loopback drops nothing then
			}
		}()
		deadline := time.Now().Add(30 * time.Second) // bounded: a lost datagram fails the test, never hangs it
		rep, err := driver.Analyze(c, driver.Config{Workers: 1, MaxPackets: uint64(len(payloads)),
			Stop: func() bool { return time.Now().After(deadline) }})
		conn.Close()
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		got, wantS := rep.Summary, want.Summary
		if got.SIPMessages != wantS.SIPMessages || got.Calls != wantS.Calls ||
			jsonOf(got.SessionKeepAlives) != jsonOf(wantS.SessionKeepAlives) || jsonOf(got.DeviceKeepAlives) != jsonOf(wantS.DeviceKeepAlives) {
			t.Errorf("%s over %s: collector %s, capture %s", tc.file, network, jsonOf(got), jsonOf(wantS))
		}
		if len(rep.Inputs) != 1 || rep.Inputs[0].Packets != uint64(len(payloads)) {
			t.Errorf("%s: inputs %+v, want the one agent with %d packets", tc.file, rep.Inputs, len(payloads))
		}
		// Kamailio names itself by hep_capture_id 7 in HEP3 (kamailio.cfg)
		if strings.HasPrefix(tc.file, "dialog-keepalive-hep3") && !strings.Contains(rep.Inputs[0].Path, "(capture id 7)") {
			t.Errorf("%s: agent %q, want its capture id 7", tc.file, rep.Inputs[0].Path)
		}
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestLiveReportsAndSignals runs a collector for a few seconds with
// --report-every: the report so far lands in the directory as whole JSON
// files (written aside and renamed, no temporary left), and SIGUSR1 prints
// the tables so far before the final report.
func TestLiveReportsAndSignals(t *testing.T) {
	dir := t.TempDir()
	pr, pw := io.Pipe()
	var stdout syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"collect", "--duration", "3s", "--interval", "200ms", "--report-every", "1s", "--report-dir", dir, "-q", "127.0.0.1:0"}, &stdout, pw)
		pw.Close()
	}()
	r := bufio.NewReader(pr)
	waitLine(t, r, "collecting HEP")
	var stderr syncBuffer
	go io.Copy(&stderr, r)
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if code := <-done; code != exitOK {
		t.Fatalf("collect: exit %d", code)
	}
	if n := strings.Count(stdout.String(), "OVERVIEW"); n != 2 {
		t.Errorf("%d OVERVIEW tables on stdout, want 2 (SIGUSR1's and the final one); stderr %s", n, stderr.String())
	}
	entries, _ := os.ReadDir(dir)
	reports := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("a temporary file was left: %s", e.Name())
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil || !json.Valid(b) || !strings.HasPrefix(e.Name(), "sipalive-") {
			t.Errorf("%s is not a whole JSON report: %v", e.Name(), err)
		}
		reports++
	}
	if reports == 0 {
		t.Error("no report was written")
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and a later reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
