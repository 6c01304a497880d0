package sip

import (
	"strings"
	"testing"
)

func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

const inviteSDP = `INVITE sip:bob@example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKolder
Max-Forwards: 70
To: Bob <sip:bob@example.com>
From: "Alice, A." <sip:alice@example.com>;tag=1928301774
Call-ID: a84b4c76e66710@pc33.example.com
CSeq: 314159 INVITE
Contact: <sip:alice@192.0.2.10>
Supported: timer, 100rel
Supported: replaces
Session-Expires: 1800;refresher=uac
Min-SE: 90
Allow: INVITE, ACK, CANCEL, BYE, UPDATE
User-Agent: Acme-PBX/7.1.4 (build 55)
Content-Type: application/sdp
Content-Length: 19

v=0
o=- 1 1 IN IP4 x`

func TestParse(t *testing.T) {
	var m Message
	if err := Parse(crlf(inviteSDP), &m); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name, got, want string
	}{
		{"method", string(m.Method), "INVITE"},
		{"uri", string(m.URI), "sip:bob@example.com"},
		{"call-id", string(m.CallID), "a84b4c76e66710@pc33.example.com"},
		{"from uri", string(m.From.URI), "sip:alice@example.com"},
		{"from tag", string(m.From.Tag), "1928301774"},
		{"to uri", string(m.To.URI), "sip:bob@example.com"},
		{"to tag", string(m.To.Tag), ""},
		{"cseq method", string(m.CSeqMethod), "INVITE"},
		{"via transport", string(m.Via.Transport), "UDP"},
		{"via sent-by", string(m.Via.SentBy), "192.0.2.10:5060"},
		{"via branch", string(m.Via.Branch), "z9hG4bK776asdhds"},
		{"refresher", string(m.Refresher), "uac"},
		{"user-agent", string(m.UserAgent), "Acme-PBX/7.1.4 (build 55)"},
		{"content-type", string(m.ContentType), "application/sdp"},
		{"body", string(m.Body), "v=0\r\no=- 1 1 IN IP4"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if !m.Request || m.CSeq != 314159 || m.Vias != 2 || m.SessionExpires != 1800 || m.MinSE != 90 || m.ContentLength != 19 {
		t.Errorf("request=%v cseq=%d vias=%d se=%d minse=%d cl=%d", m.Request, m.CSeq, m.Vias, m.SessionExpires, m.MinSE, m.ContentLength)
	}
	if !m.Supported.Has("timer") || !m.Supported.Has("REPLACES") || m.Supported.Has("path") {
		t.Error("Supported tokens wrong")
	}
	if !m.Allow.Has("update") || m.Require.Present() {
		t.Error("Allow/Require wrong")
	}
	if !m.HasSDP() || m.IsInDialog() {
		t.Errorf("HasSDP=%v IsInDialog=%v", m.HasSDP(), m.IsInDialog())
	}
}

func TestParseVariants(t *testing.T) {
	tests := []struct {
		name  string
		msg   string
		check func(t *testing.T, m *Message)
	}{
		{"compact forms", "UPDATE sip:b@h SIP/2.0\nv: SIP/2.0/TCP h:5060;branch=z9hG4bKc1\nf: <sip:a@h>;tag=aa\nt: <sip:b@h>;tag=bb\ni: cid-1\nCSeq: 7 UPDATE\nk: timer\nx: 90;refresher=uas\nc: application/sdp\nl: 0\n\n",
			func(t *testing.T, m *Message) {
				if string(m.CallID) != "cid-1" || string(m.To.Tag) != "bb" || string(m.Via.Transport) != "TCP" ||
					!m.Supported.Has("timer") || m.SessionExpires != 90 || string(m.Refresher) != "uas" || m.HasSDP() {
					t.Errorf("%+v", m)
				}
			}},
		{"LF only, lower-case names", "INFO sip:b@h SIP/2.0\nvia: SIP/2.0/UDP h;branch=z9hG4bKx\nfrom: <sip:a@h>;tag=1\nto: <sip:b@h>;tag=2\ncall-id: lf\ncseq: 2 INFO\n\n",
			func(t *testing.T, m *Message) {
				if string(m.CallID) != "lf" || !m.IsInDialog() || m.ContentLength != -1 {
					t.Errorf("%+v", m)
				}
			}},
		{"folded header", "OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n ;branch=z9hG4bKfold\r\nFrom: <sip:a@h>\r\n\t;tag=ft\r\nTo: <sip:b@h>\r\nCall-ID: fold\r\nCSeq: 1 OPTIONS\r\n\r\n",
			func(t *testing.T, m *Message) {
				if string(m.Via.Branch) != "z9hG4bKfold" || string(m.From.Tag) != "ft" {
					t.Errorf("branch %q tag %q", m.Via.Branch, m.From.Tag)
				}
			}},
		{"status without reason", "SIP/2.0 200\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: s\r\nCSeq: 1 INFO\r\nServer: Umbrella-GW/9.0\r\n\r\n",
			func(t *testing.T, m *Message) {
				if m.Request || m.Status != 200 || len(m.Reason) != 0 || string(m.Server) != "Umbrella-GW/9.0" {
					t.Errorf("%+v", m)
				}
			}},
		{"several Vias in one line", "SIP/2.0 481 Call/Transaction Does Not Exist\r\nVia: SIP/2.0/UDP a;branch=z9hG4bKtop, SIP/2.0/UDP b;branch=z9hG4bK2\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: v\r\nCSeq: 3 INFO\r\n\r\n",
			func(t *testing.T, m *Message) {
				if m.Vias != 2 || string(m.Via.Branch) != "z9hG4bKtop" || m.Status != 481 || string(m.Reason) != "Call/Transaction Does Not Exist" {
					t.Errorf("vias %d branch %q", m.Vias, m.Via.Branch)
				}
			}},
		{"addr-spec To with tag", "INFO sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: sip:a@h;tag=x1\r\nTo: sip:b@h ; tag = y2\r\nCall-ID: a\r\nCSeq: 1 INFO\r\n\r\n",
			func(t *testing.T, m *Message) {
				if string(m.From.URI) != "sip:a@h" || string(m.From.Tag) != "x1" || string(m.To.Tag) != "y2" {
					t.Errorf("from %q/%q to %q", m.From.URI, m.From.Tag, m.To.Tag)
				}
			}},
		{"multipart with SDP", "MESSAGE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: mp\r\nCSeq: 1 MESSAGE\r\nContent-Type: multipart/mixed;boundary=X\r\n\r\n--X\r\nContent-Type: Application/SDP\r\n\r\nv=0\r\n--X--\r\n",
			func(t *testing.T, m *Message) {
				if !m.HasSDP() {
					t.Error("multipart SDP not found")
				}
			}},
		{"text body is not SDP", "MESSAGE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: tp\r\nCSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
			func(t *testing.T, m *Message) {
				if m.HasSDP() || !m.HasBody() || string(m.Body) != "hello" {
					t.Errorf("sdp %v body %q", m.HasSDP(), m.Body)
				}
			}},
		{"empty SDP content type", "UPDATE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: e\r\nCSeq: 1 UPDATE\r\nContent-Type: application/sdp\r\nContent-Length: 0\r\n\r\n",
			func(t *testing.T, m *Message) {
				if m.HasSDP() {
					t.Error("empty body counted as SDP")
				}
			}},
		{"quoted display name with <", "INFO sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: \"A <boss>\" <sip:a@h>;tag=q1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: q\r\nCSeq: 1 INFO\r\n\r\n",
			func(t *testing.T, m *Message) {
				if string(m.From.URI) != "sip:a@h" || string(m.From.Tag) != "q1" {
					t.Errorf("from %q tag %q", m.From.URI, m.From.Tag)
				}
			}},
		{"unknown method", "PUBLISHX sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: u\r\nCSeq: 1 PUBLISHX\r\n\r\n",
			func(t *testing.T, m *Message) {
				if string(m.Method) != "PUBLISHX" {
					t.Errorf("method %q", m.Method)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Message
			if err := Parse([]byte(tt.msg), &m); err != nil {
				t.Fatal(err)
			}
			tt.check(t, &m)
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		want error
	}{
		{"empty", "", ErrNotSIP},
		{"http", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", ErrNotSIP},
		{"no call-id", "INFO sip:b@h SIP/2.0\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCSeq: 1 INFO\r\n\r\n", ErrNoCallID},
		{"no cseq", "INFO sip:b@h SIP/2.0\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: x\r\n\r\n", ErrNoCSeq},
		{"bad cseq", "INFO sip:b@h SIP/2.0\r\nCall-ID: x\r\nCSeq: abc INFO\r\n\r\n", ErrBadCSeq},
		{"no from", "INFO sip:b@h SIP/2.0\r\nTo: <sip:b@h>\r\nCall-ID: x\r\nCSeq: 1 INFO\r\n\r\n", ErrNoFrom},
		{"no to", "INFO sip:b@h SIP/2.0\r\nFrom: <sip:b@h>\r\nCall-ID: x\r\nCSeq: 1 INFO\r\n\r\n", ErrNoTo},
		{"cseq mismatch", "INFO sip:b@h SIP/2.0\r\nFrom: <sip:a@h>\r\nTo: <sip:b@h>\r\nCall-ID: x\r\nCSeq: 1 UPDATE\r\n\r\n", ErrCSeqMismatch},
		{"status 099", "SIP/2.0 099 Low\r\n\r\n", ErrNotSIP},
	}
	for _, tt := range tests {
		var m Message
		if err := Parse([]byte(tt.msg), &m); err != tt.want {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestParseAllocs(t *testing.T) {
	msg := crlf(inviteSDP)
	var m Message
	n := testing.AllocsPerRun(100, func() {
		if err := Parse(msg, &m); err != nil {
			t.Fatal(err)
		}
		_ = m.HasSDP()
		_ = m.Supported.Has("timer")
	})
	if n != 0 {
		t.Errorf("Parse allocates %.1f times per message, want 0", n)
	}
}

func BenchmarkParse(b *testing.B) {
	msg := crlf(inviteSDP)
	var m Message
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for i := 0; i < b.N; i++ {
		if err := Parse(msg, &m); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(crlf(inviteSDP))
	f.Add([]byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nf: <sip:a@h>;tag=1\r\nt: <sip:b@h>;tag=2\r\ni: x\r\nCSeq: 1 INFO\r\nl: 3\r\n\r\nabcdef"))
	f.Add([]byte("INFO sip:b@h SIP/2.0\nVia: SIP / 2.0 / UDP h\n ;branch=z\nFrom: \"\\\"<\" <sip:a@h>;tag=1\nTo: sip:b@h;tag=\nCall-ID: \nCSeq: 99999999999 INFO\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		err := Parse(b, &m)
		if err != nil {
			return
		}
		// Invariants of a message that parsed.
		if len(m.CallID) == 0 || len(m.CSeqMethod) == 0 {
			t.Fatalf("accepted without Call-ID or CSeq method: %q", b)
		}
		if m.Request == (m.Status != 0) {
			t.Fatalf("request=%v status=%d", m.Request, m.Status)
		}
		if m.ContentLength >= 0 && len(m.Body) > m.ContentLength {
			t.Fatalf("body %d bytes longer than Content-Length %d", len(m.Body), m.ContentLength)
		}
		_ = m.HasSDP()
		m.Supported.Each(func([]byte) {})
	})
}

func TestParseBlankHeaderName(t *testing.T) {
	// A line whose name is only white space is skipped, not a crash.
	var m Message
	msg := crlf("OPTIONS sip:a@h SIP/2.0\n  : x\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nFrom: <sip:a@h>;tag=1\nTo: <sip:b@h>\nCall-ID: c\nCSeq: 1 OPTIONS\n\n")
	if err := Parse(msg, &m); err != nil || string(m.CallID) != "c" {
		t.Fatalf("err %v, Call-ID %q", err, m.CallID)
	}
}
