package sip_test

// Differential tests: the zero-copy scanner must agree with two parsers
// that allocate per message, emiago/sipgo and gopacket's layers.SIP, on
// every SIP message of the bundled samples, of the shared corpus (when the
// checkout has it beside it) and of RFC 4475's torture messages that sipgo
// ships.

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	sipgo "github.com/emiago/sipgo/sip"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/sipalive/sipalive/capture"
	"github.com/sipalive/sipalive/capture/sip"
	"github.com/sipalive/sipalive/samples/synth"
)

// captureMessages returns every SIP message the capture package finds in
// the pcap files.
func captureMessages(t *testing.T, files []string) map[string][][]byte {
	t.Helper()
	out := map[string][][]byte{}
	for _, path := range files {
		f, err := capture.OpenFile(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		dec := capture.NewDecoder(func(m *capture.Message) {
			if m.Kind == capture.SIP {
				out[path] = append(out[path], append([]byte(nil), m.Payload...))
			}
		})
		for {
			_, data, ci, link, err := f.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			dec.Packet(data, ci, link)
		}
		dec.Flush()
		f.Close()
	}
	return out
}

// minSampleMessages is the floor of the differential test: the bundled
// samples alone hold this many messages, so the test never shrinks to
// nothing when the shared corpus is not beside the checkout.
const minSampleMessages = 200

// differentialSets returns the SIP messages of the bundled samples and,
// when it is beside the checkout, of the shared corpus, by capture.
func differentialSets(t *testing.T) map[string][][]byte {
	t.Helper()
	var samples []string
	for _, s := range synth.Scenarios() { // the bundled samples, not big benchmark files
		samples = append(samples, filepath.Join("..", "..", "samples", s.Name+".pcap"))
	}
	sets := captureMessages(t, samples)
	n := 0
	for _, msgs := range sets {
		n += len(msgs)
	}
	if n < minSampleMessages {
		t.Fatalf("the bundled samples hold %d SIP messages, want at least %d", n, minSampleMessages)
	}
	corpus, _ := filepath.Glob("../../../shared/corpus/*.pcap*")
	if len(corpus) == 0 {
		t.Logf("no shared corpus beside the checkout (../shared/corpus): checking the %d messages of the bundled samples only", n)
	}
	for k, v := range captureMessages(t, corpus) {
		sets[k] = v
	}
	return sets
}

func TestDifferentialSipgo(t *testing.T) {
	sets := differentialSets(t)
	total := 0
	for path, msgs := range sets {
		for i, raw := range msgs {
			total++
			compareSipgo(t, path+"#"+strconv.Itoa(i), raw, true)
			compareGopacket(t, path+"#"+strconv.Itoa(i), raw)
		}
	}
	t.Logf("%d messages from %d captures agree with sipgo and gopacket", total, len(sets))
}

// upperNames upper-cases the header names (not the values: sipgo reads
// parameter names case-sensitively, against RFC 3261 section 7.3.1).
func upperNames(s string) string {
	head, body, _ := strings.Cut(s, "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	for i := 1; i < len(lines); i++ {
		if name, value, ok := strings.Cut(lines[i], ":"); ok {
			lines[i] = strings.ToUpper(name) + ":" + value
		}
	}
	return strings.Join(lines, "\r\n") + "\r\n\r\n" + body
}

// TestRewrittenAgreeWithSipgo rewrites every message the ways stacks
// differ (line feeds alone, names and values in another case, white space
// around the colon and after commas) and holds the scanner to sipgo on each
// rewrite sipgo accepts. Folded lines, which sipgo does not read, are
// TestFoldedHeaders' with hand-written expectations.
func TestRewrittenAgreeWithSipgo(t *testing.T) {
	rewrites := []struct {
		name string
		f    func(string) string
	}{
		{"LF", func(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }},
		{"upper names", upperNames},
		{"lower", strings.ToLower},
		{"colon", func(s string) string { return strings.ReplaceAll(s, ": ", " :\t") }},
		{"comma", func(s string) string { return strings.ReplaceAll(s, ", ", ",") }},
	}
	checked := 0
	for path, msgs := range differentialSets(t) {
		for i, raw := range msgs {
			for _, rw := range rewrites {
				checked++
				compareSipgo(t, path+"#"+strconv.Itoa(i)+"/"+rw.name, []byte(rw.f(string(raw))), false)
			}
		}
	}
	t.Logf("%d rewritten messages checked", checked)
}

// TestTorture runs RFC 4475's torture messages, as sipgo ships them,
// through the scanner: none may panic, every valid one must parse and
// agree with sipgo where sipgo accepts it.
func TestTorture(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/emiago/sipgo").Output()
	if err != nil {
		t.Fatalf("locate sipgo: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "sip", "testdata", "torture")
	valid, _ := filepath.Glob(filepath.Join(dir, "valid", "*.dat"))
	invalid, _ := filepath.Glob(filepath.Join(dir, "invalid", "*.dat"))
	if len(valid) == 0 {
		t.Fatalf("no torture messages under %s", dir)
	}
	for _, path := range valid {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var m sip.Message
		if err := sip.Parse(raw, &m); err != nil {
			t.Errorf("%s: valid message rejected: %v", filepath.Base(path), err)
			continue
		}
		if want, ok := sipgoDeviates[filepath.Base(path)]; ok {
			if got := string(m.From.Tag) + "/" + string(m.To.Tag); got != want {
				t.Errorf("%s: tags %q, want %q", filepath.Base(path), got, want)
			}
			continue
		}
		compareSipgo(t, filepath.Base(path), raw, false)
	}
	for _, path := range invalid {
		raw, _ := os.ReadFile(path)
		var m sip.Message
		_ = sip.Parse(raw, &m) // must not panic; tolerance is allowed
	}
}

// sipgoDeviates lists torture messages where sipgo is wrong, with the
// From/To tags RFC 3261 gives them. wsinv.dat writes "tag    = x": the
// grammar allows white space around "=" (SWS EQUAL SWS, section 25.1), but
// sipgo then finds no tag.
var sipgoDeviates = map[string]string{"wsinv.dat": "98asjd8/1918181833n"}

func compareSipgo(t *testing.T, name string, raw []byte, mustAccept bool) {
	t.Helper()
	var m sip.Message
	if err := sip.Parse(raw, &m); err != nil {
		t.Errorf("%s: scanner: %v", name, err)
		return
	}
	gm, err := sipgo.NewParser().ParseSIP(raw)
	if err != nil {
		if mustAccept {
			t.Errorf("%s: sipgo rejects a corpus message: %v", name, err)
		}
		return
	}
	eq := func(field, got, want string) {
		if got != want {
			t.Errorf("%s: %s = %q, sipgo says %q", name, field, got, want)
		}
	}
	switch g := gm.(type) {
	case *sipgo.Request:
		// sipgo upper-cases methods; they are case-sensitive (RFC 3261
		// section 7.1), so the scanner keeps them as written.
		eq("method", strings.ToUpper(string(m.Method)), string(g.Method))
	case *sipgo.Response:
		eq("status", strconv.Itoa(m.Status), strconv.Itoa(g.StatusCode))
	}
	if h := gm.CallID(); h != nil {
		eq("Call-ID", string(m.CallID), h.Value())
	}
	if h := gm.From(); h != nil {
		tag, _ := h.Params.Get("tag")
		eq("From tag", string(m.From.Tag), tag)
	}
	if h := gm.To(); h != nil {
		tag, _ := h.Params.Get("tag")
		eq("To tag", string(m.To.Tag), tag)
	}
	if h := gm.CSeq(); h != nil {
		eq("CSeq", strconv.Itoa(int(m.CSeq)), strconv.Itoa(int(h.SeqNo)))
		eq("CSeq method", string(m.CSeqMethod), string(h.MethodName))
	}
	if h := gm.Via(); h != nil {
		branch, _ := h.Params.Get("branch")
		eq("Via branch", string(m.Via.Branch), branch)
		eq("Via transport", strings.ToUpper(string(m.Via.Transport)), strings.ToUpper(h.Transport))
	}
	if hs := gm.GetHeaders("User-Agent"); len(hs) > 0 {
		eq("User-Agent", string(m.UserAgent), hs[len(hs)-1].Value())
	}
	if hs := gm.GetHeaders("Session-Expires"); len(hs) > 0 {
		v := hs[0].Value()
		if i := strings.IndexByte(v, ';'); i >= 0 {
			v = v[:i]
		}
		eq("Session-Expires", strconv.Itoa(int(m.SessionExpires)), strings.TrimSpace(v))
	}
	eq("body", string(m.Body), string(gm.Body()))
}

func compareGopacket(t *testing.T, name string, raw []byte) {
	t.Helper()
	var m sip.Message
	if err := sip.Parse(raw, &m); err != nil {
		return
	}
	s := layers.NewSIP()
	if err := s.DecodeFromBytes(raw, gopacket.NilDecodeFeedback); err != nil {
		t.Errorf("%s: gopacket rejects a corpus message: %v", name, err)
		return
	}
	if s.IsResponse != !m.Request {
		t.Errorf("%s: response = %v, gopacket says %v", name, !m.Request, s.IsResponse)
	}
	if s.IsResponse && s.ResponseCode != m.Status {
		t.Errorf("%s: status %d, gopacket says %d", name, m.Status, s.ResponseCode)
	}
	if !s.IsResponse && s.Method.String() != string(m.Method) {
		t.Errorf("%s: method %q, gopacket says %q", name, m.Method, s.Method)
	}
	if got := s.GetCallID(); got != string(m.CallID) {
		t.Errorf("%s: Call-ID %q, gopacket says %q", name, m.CallID, got)
	}
	if got := s.GetCSeq(); got != int64(m.CSeq) {
		t.Errorf("%s: CSeq %d, gopacket says %d", name, m.CSeq, got)
	}
	if got := s.GetFirstHeader("session-expires"); got != "" && !bytes.HasPrefix([]byte(got), []byte(strconv.Itoa(int(m.SessionExpires)))) {
		t.Errorf("%s: Session-Expires %d, gopacket says %q", name, m.SessionExpires, got)
	}
}
