package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"regexp"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
)

// recordEnv is the environment variable that asks for the tests that record
// real stacks in network namespaces (Kamailio, baresip, sipp, the project's
// sender): they take minutes of real time and need root and Debian
// packages, so plain `go test ./...` leaves them out. .ci/run sets it.
const recordEnv = "SIPALIVE_RECORD"

// needRecorder skips a test that records traffic in network namespaces
// unless recordEnv asks for it; asked for, a missing prerequisite (root, a
// command) fails the test rather than hiding it.
func needRecorder(t *testing.T, commands ...string) {
	t.Helper()
	if os.Getenv(recordEnv) == "" {
		t.Skipf("skipped: records real stacks in network namespaces; set %s=1 to run it (.ci/run does)", recordEnv)
	}
	if os.Geteuid() != 0 {
		t.Fatalf("%s is set, but recording in network namespaces needs root", recordEnv)
	}
	for _, c := range commands {
		if _, err := exec.LookPath(c); err != nil {
			t.Fatalf("%s is set, but %s is missing (.ci/run installs it)", recordEnv, c)
		}
	}
}

// The start line of a SIP message and the header fields a count needs,
// found in the raw bytes of a frame: a reference that shares nothing with
// the decoders under test, and that sees SIP inside HEP copies and TCP
// segments alike, since those carry the message's bytes unchanged.
var (
	// A start line follows a binary header, not a line break: the methods
	// are named so that no byte before one joins it.
	sipStart   = regexp.MustCompile(`(?:(INVITE|ACK|BYE|CANCEL|OPTIONS|REGISTER|INFO|UPDATE|MESSAGE|PRACK|SUBSCRIBE|NOTIFY|REFER|PUBLISH) sip:[^ \r\n]+ SIP/2\.0|SIP/2\.0 (\d{3}) [^\r\n]*)\r\n`)
	sipCSeq    = regexp.MustCompile(`(?mi)^(?:CSeq|CSEQ)[ \t]*:[ \t]*\d+[ \t]+([A-Z]+)`)
	sipBranch  = regexp.MustCompile(`(?mi)^(?:Via|v)[ \t]*:[^\r\n]*;branch=([^;,\s]+)`)
	sipToTag   = regexp.MustCompile(`(?mi)^(?:To|t)[ \t]*:[^\r\n]*;tag=([^;,\s>]+)`)
	sipFromTag = regexp.MustCompile(`(?mi)^(?:From|f)[ \t]*:[^\r\n]*;tag=([^;,\s>]+)`)
)

// capturedTransaction is one request as the capture holds it: its
// retransmissions and the HEP copies of each hop fold into one by branch.
type capturedTransaction struct {
	method, fromTag, toTag string
	finals                 map[string]bool // final status codes seen
}

// capturedRequests reads a pcap and returns, by first Via branch, the
// requests of the method given and the final answers they got.
func capturedRequests(t *testing.T, path, method string) map[string]*capturedTransaction {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	txs := map[string]*capturedTransaction{}
	for {
		data, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		starts := sipStart.FindAllSubmatchIndex(data, -1)
		for i, s := range starts {
			end := len(data)
			if i+1 < len(starts) {
				end = starts[i+1][0]
			}
			head := data[s[0]:end]
			if k := bytes.Index(head, []byte("\r\n\r\n")); k >= 0 {
				head = head[:k+2]
			}
			cseq, branch := sipCSeq.FindSubmatch(head), sipBranch.FindSubmatch(head)
			if cseq == nil || branch == nil || string(cseq[1]) != method {
				continue
			}
			key := string(branch[1])
			tx := txs[key]
			if tx == nil {
				tx = &capturedTransaction{method: method, finals: map[string]bool{}}
				txs[key] = tx
			}
			if s[2] >= 0 { // a request
				if tag := sipToTag.FindSubmatch(head); tag != nil {
					tx.toTag = string(tag[1])
				}
				if tag := sipFromTag.FindSubmatch(head); tag != nil {
					tx.fromTag = string(tag[1])
				}
			} else if code := string(data[s[4]:s[5]]); code[0] != '1' {
				tx.finals[code] = true
			}
		}
	}
	return txs
}

// capturedCaller returns the caller's tag: the From tag of the INVITEs the
// capture shows (a WebSocket client's own are masked, its relayed copy
// is not).
func capturedCaller(t *testing.T, path string) string {
	t.Helper()
	for _, inv := range capturedRequests(t, path, "INVITE") {
		if inv.fromTag != "" {
			return inv.fromTag
		}
	}
	return ""
}
