package sip

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// The header matching is checked against expectations written from the
// RFCs, not against another copy of the scanner: every name the scanner
// extracts, in full and compact form (RFC 3261 section 7.3.3; "x" for
// Session-Expires, RFC 4028 section 4), in random letter case, with the
// white space RFC 3261 section 7.3.1 allows around the colon, must land in
// its field; the other RFC 3261 section 20 headers and near misses must
// change nothing.

// wantedHeader names a header, its forms, and how to read its field back.
type wantedHeader struct {
	forms []string
	value string
	field func(m *Message) string
}

var wantedHeaders = []wantedHeader{
	{[]string{"Call-ID", "i"}, "abc@h", func(m *Message) string { return string(m.CallID) }},
	{[]string{"Content-Type", "c"}, "application/sdp", func(m *Message) string { return string(m.ContentType) }},
	{[]string{"User-Agent"}, "Acme Phone 1.0", func(m *Message) string { return string(m.UserAgent) }},
	{[]string{"Server"}, "Acme PBX 2.0", func(m *Message) string { return string(m.Server) }},
	{[]string{"Session-Expires", "x"}, "1800;refresher=uas", func(m *Message) string {
		return fmt.Sprintf("%d;refresher=%s", m.SessionExpires, m.Refresher)
	}},
	{[]string{"Min-SE"}, "90", func(m *Message) string { return fmt.Sprint(m.MinSE) }},
	{[]string{"Min-Expires"}, "3600", func(m *Message) string { return fmt.Sprint(m.MinExpires) }},
	{[]string{"Expires"}, "3600", func(m *Message) string { return fmt.Sprint(m.Expires) }},
	{[]string{"Supported", "k"}, "timer", func(m *Message) string { return string(m.Supported.Raw()) }},
	{[]string{"Require"}, "100rel", func(m *Message) string { return string(m.Require.Raw()) }},
	{[]string{"Allow"}, "INVITE, INFO", func(m *Message) string { return string(m.Allow.Raw()) }},
	{[]string{"Reason"}, "Q.850;cause=16", func(m *Message) string { return string(m.ReasonHeader) }},
}

// otherHeaders are RFC 3261 section 20's other headers, their compact
// forms, and names that share a prefix with a wanted one.
var otherHeaders = []string{
	"Accept", "Accept-Encoding", "Accept-Language", "Alert-Info", "Authentication-Info", "Authorization",
	"Call-Info", "Contact", "m", "Content-Disposition", "Content-Encoding", "e", "Content-Language",
	"Date", "Error-Info", "In-Reply-To", "Max-Forwards", "MIME-Version", "Organization", "Priority",
	"Proxy-Authenticate", "Proxy-Authorization", "Proxy-Require", "Record-Route", "Reply-To", "Route",
	"Retry-After", "s", "Subject", "Timestamp", "Unsupported", "Warning", "WWW-Authenticate",
	"Call-IDs", "Call-I", "Server-Name", "Min-SEx", "Min_SE", "Expiresx", "Allowed", "Reasons",
	"Session-Expire", "Session-Expiress", "Min-Expire", "Min-Expiress", "User-Agents", "Content-Typo", "Requires", "Supporte", "Tox", "Fromage", "Viaduct",
}

// base is a minimal valid request the headers are added to.
const base = "OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: base\r\nCSeq: 1 OPTIONS\r\n"

// randomCase writes name with each letter in a random case.
func randomCase(r *rand.Rand, name string) string {
	b := []byte(name)
	for i, c := range b {
		if r.IntN(2) == 0 {
			b[i] = byte(strings.ToUpper(string(c))[0])
		} else {
			b[i] = byte(strings.ToLower(string(c))[0])
		}
	}
	return string(b)
}

// randomSpace is the white space a header may have before its colon.
func randomSpace(r *rand.Rand) string { return []string{"", " ", "\t", "  "}[r.IntN(4)] }

func TestHeaderNamesFromTheRFCs(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, w := range wantedHeaders {
		for _, form := range w.forms {
			for range 20 {
				name := randomCase(r, form)
				line := name + randomSpace(r) + ":" + randomSpace(r) + w.value
				msg := base
				if strings.EqualFold(form, "Call-ID") || form == "i" {
					msg = strings.Replace(msg, "Call-ID: base\r\n", "", 1)
				}
				var m Message
				if err := Parse([]byte(msg+line+"\r\n\r\n"), &m); err != nil {
					t.Fatalf("%q: %v", line, err)
				}
				if got := w.field(&m); got != w.value {
					t.Errorf("%q: field %q, want %q", line, got, w.value)
				}
			}
		}
	}
	var ref Message
	if err := Parse([]byte(base+"\r\n"), &ref); err != nil {
		t.Fatal(err)
	}
	for _, name := range otherHeaders {
		for range 5 {
			line := randomCase(r, name) + randomSpace(r) + ": 1800;refresher=uas"
			var m Message
			if err := Parse([]byte(base+line+"\r\n\r\n"), &m); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			for _, w := range wantedHeaders {
				if got, want := w.field(&m), w.field(&ref); got != want {
					t.Errorf("%q changed a field to %q (was %q)", line, got, want)
				}
			}
		}
	}
}

// TestFoldedHeaders: a header continued on lines that start with white
// space (RFC 3261 section 7.3.1) keeps its whole value.
func TestFoldedHeaders(t *testing.T) {
	for _, tt := range []struct{ lines, field, want string }{
		{"User-Agent: Acme\r\n Phone\r\n\t1.0", "ua", "Acme\r\n Phone\r\n\t1.0"},
		{"Session-Expires: 1800\r\n ;refresher=uac", "se", "1800/uac"},
		{"Via: SIP/2.0/UDP h\r\n ;branch=z9hG4bK1", "branch", "z9hG4bK1"},
		{"To: <sip:b@h>\r\n ;tag=77", "totag", "77"},
	} {
		msg := base
		if strings.HasPrefix(tt.lines, "Via") {
			msg = strings.Replace(msg, "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n", "", 1)
		}
		if strings.HasPrefix(tt.lines, "To") {
			msg = strings.Replace(msg, "To: <sip:b@h>\r\n", "", 1)
		}
		var m Message
		if err := Parse([]byte(msg+tt.lines+"\r\n\r\n"), &m); err != nil {
			t.Fatalf("%q: %v", tt.lines, err)
		}
		got := map[string]string{
			"ua":     string(m.UserAgent),
			"se":     fmt.Sprintf("%d/%s", m.SessionExpires, m.Refresher),
			"branch": string(m.Via.Branch),
			"totag":  string(m.To.Tag),
		}[tt.field]
		if got != tt.want {
			t.Errorf("%q: %s = %q, want %q", tt.lines, tt.field, got, tt.want)
		}
	}
}
