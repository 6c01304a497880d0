package sip

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipalive/sipalive/capture"
	"github.com/sipalive/sipalive/samples/synth"
)

// sameMessage reports how two scans of one message differ ("" when they
// do not): every field, the token lists up to their counts.
func sameMessage(a, b *Message) string {
	type field struct {
		name string
		x, y []byte
	}
	for _, f := range []field{{"Method", a.Method, b.Method}, {"URI", a.URI, b.URI}, {"Reason", a.Reason, b.Reason},
		{"CallID", a.CallID, b.CallID}, {"From.URI", a.From.URI, b.From.URI}, {"From.Tag", a.From.Tag, b.From.Tag},
		{"To.URI", a.To.URI, b.To.URI}, {"To.Tag", a.To.Tag, b.To.Tag}, {"CSeqMethod", a.CSeqMethod, b.CSeqMethod},
		{"Via.Transport", a.Via.Transport, b.Via.Transport}, {"Via.SentBy", a.Via.SentBy, b.Via.SentBy}, {"Via.Branch", a.Via.Branch, b.Via.Branch},
		{"ContentType", a.ContentType, b.ContentType}, {"UserAgent", a.UserAgent, b.UserAgent}, {"Server", a.Server, b.Server},
		{"Refresher", a.Refresher, b.Refresher}, {"ReasonHeader", a.ReasonHeader, b.ReasonHeader}, {"Body", a.Body, b.Body}} {
		if !bytes.Equal(f.x, f.y) {
			return fmt.Sprintf("%s %q, reference %q", f.name, f.x, f.y)
		}
	}
	if a.Request != b.Request || a.Status != b.Status || a.CSeq != b.CSeq || a.Vias != b.Vias || a.ContentLength != b.ContentLength ||
		a.SessionExpires != b.SessionExpires || a.MinSE != b.MinSE || a.Expires != b.Expires {
		return fmt.Sprintf("numbers %v/%d/%d/%d/%d/%d/%d/%d, reference %v/%d/%d/%d/%d/%d/%d/%d",
			a.Request, a.Status, a.CSeq, a.Vias, a.ContentLength, a.SessionExpires, a.MinSE, a.Expires,
			b.Request, b.Status, b.CSeq, b.Vias, b.ContentLength, b.SessionExpires, b.MinSE, b.Expires)
	}
	for _, t := range []struct {
		name string
		x, y *Tokens
	}{{"Supported", &a.Supported, &b.Supported}, {"Require", &a.Require, &b.Require}, {"Allow", &a.Allow, &b.Allow}} {
		if t.x.n != t.y.n {
			return fmt.Sprintf("%s has %d values, reference %d", t.name, t.x.n, t.y.n)
		}
		for i := 0; i < t.x.n; i++ {
			if !bytes.Equal(t.x.vals[i], t.y.vals[i]) {
				return fmt.Sprintf("%s value %d %q, reference %q", t.name, i, t.x.vals[i], t.y.vals[i])
			}
		}
	}
	return ""
}

// compareReference scans b with Parse and with the reference scanner.
func compareReference(t *testing.T, name string, b []byte) {
	t.Helper()
	var got, want Message
	err, wantErr := Parse(b, &got), refParse(b, &want)
	if err != wantErr {
		t.Fatalf("%s: error %v, reference %v\n%q", name, err, wantErr, b)
	}
	if err == nil {
		if d := sameMessage(&got, &want); d != "" {
			t.Fatalf("%s: %s\n%q", name, d, b)
		}
	}
}

// referenceInputs are the SIP messages of the samples, of the field
// captures, of the shared corpus when it is beside the checkout, and of a
// generated trunk capture, each also rewritten the ways stacks differ:
// line feeds alone, names in lower case, LWS around the colon, folded.
func referenceInputs(t *testing.T) [][]byte {
	t.Helper()
	files, _ := filepath.Glob("../../samples/*.pcap")
	more, _ := filepath.Glob("../../capture/testdata/netns/*.pcap*")
	corpus, _ := filepath.Glob("../../../shared/corpus/*.pcap*")
	files = append(append(files, more...), corpus...)
	var msgs [][]byte
	keep := func(m *capture.Message) {
		if m.Kind == capture.SIP {
			msgs = append(msgs, append([]byte(nil), m.Payload...))
		}
	}
	bulk, err := synth.BulkFile(t.TempDir(), 30)
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, bulk)
	for _, path := range files {
		if strings.HasPrefix(filepath.Base(path), "big-") {
			continue
		}
		f, err := capture.OpenFile(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		dec := capture.NewDecoder(keep)
		for {
			_, data, ci, link, err := f.Next()
			if err != nil {
				if err != io.EOF {
					t.Fatalf("%s: %v", path, err)
				}
				break
			}
			dec.Packet(data, ci, link)
		}
		dec.Flush()
		f.Close()
	}
	if len(msgs) < 500 {
		t.Fatalf("only %d messages", len(msgs))
	}
	out := msgs
	for _, m := range msgs {
		s := string(m)
		out = append(out,
			[]byte(strings.ReplaceAll(s, "\r\n", "\n")),
			[]byte(strings.ToLower(s)),
			[]byte(strings.ReplaceAll(s, ": ", " :\t")),
			[]byte(strings.ReplaceAll(s, ";", "\r\n ;")),
			[]byte(strings.ReplaceAll(s, ", ", ",")),
			m[:len(m)*2/3])
	}
	return out
}

// TestParseMatchesReference requires the scanner to read every message,
// rewritten every way, as the reference scanner does.
func TestParseMatchesReference(t *testing.T) {
	for i, b := range referenceInputs(t) {
		compareReference(t, fmt.Sprint("message ", i), b)
	}
}

// FuzzParseMatchesReference is the same for any input.
func FuzzParseMatchesReference(f *testing.F) {
	f.Add(crlf(inviteSDP))
	f.Add([]byte("INFO sip:b@h SIP/2.0\nVia: SIP / 2.0 / UDP h\n ;branch=z\nFrom: \"\\\"<\" <sip:a@h>;tag=1\nTo: sip:b@h;tag=\nCall-ID: \nCSeq: 99999999999 INFO\n\n"))
	f.Add([]byte("SIP/2.0 200 OK\r\nv: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/TCP b;branch=2\r\nf: <sip:a@h>;tag=1\r\nt: <sip:b@h>;tag=2\r\ni: x\r\nCSeq: 1 INFO\r\nl: 3\r\nk: timer\r\nx: 90;refresher=uac\r\n\r\nabcdef"))
	f.Fuzz(func(t *testing.T, b []byte) {
		compareReference(t, "input", b)
	})
}
