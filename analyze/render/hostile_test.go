package render

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sipalive/sipalive/analyze"
	"github.com/sipalive/sipalive/capture"
)

// hostileCall is a call whose agents, Call-ID, reason phrase and Allow
// list carry the bytes given (all but line ends, which would end the
// header), with a keep-alive of each outcome.
func hostileCall(ua, server, callID, reason string) [][]byte {
	clean := func(s string) string { return strings.NewReplacer("\r", "", "\n", "").Replace(s) }
	ua, server, callID, reason = clean(ua), clean(server), "c"+clean(callID), clean(reason)
	head := func(start, method string, cseq int, toTag, agentHeader string) string {
		return start + "\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK" + fmt.Sprint(method, cseq) +
			"\r\nFrom: <sip:a@h>;tag=fa\r\nTo: <sip:b@h>" + toTag + "\r\nCall-ID: " + callID +
			"\r\nCSeq: " + fmt.Sprint(cseq) + " " + method + "\r\n" + agentHeader + "Allow: INVITE, " + server + "\r\nContent-Length: 0\r\n\r\n"
	}
	req := func(method string, cseq int, toTag string) []byte {
		return []byte(head(method+" sip:b@h SIP/2.0", method, cseq, toTag, "User-Agent: "+ua+"\r\n"))
	}
	resp := func(code int, method string, cseq int) []byte {
		return []byte(head(fmt.Sprintf("SIP/2.0 %d %s", code, reason), method, cseq, ";tag=tb", "Server: "+server+"\r\n"))
	}
	return [][]byte{
		req("INVITE", 1, ""), resp(200, "INVITE", 1), req("ACK", 1, ";tag=tb"),
		req("INFO", 2, ";tag=tb"), resp(481, "INFO", 2),
		req("UPDATE", 3, ";tag=tb"), resp(501, "UPDATE", 3),
		req("MESSAGE", 4, ";tag=tb"), resp(488, "MESSAGE", 4),
		req("OPTIONS", 5, ""), resp(200, "OPTIONS", 5),
		req("BYE", 6, ";tag=tb"), resp(200, "BYE", 6),
	}
}

// checkTerminalSafe fails when out holds a control byte other than the
// line feed, DEL, a C1 control, or bytes that are not UTF-8.
func checkTerminalSafe(t *testing.T, what string, out []byte) {
	t.Helper()
	if !utf8.Valid(out) {
		t.Fatalf("%s: not UTF-8:\n%q", what, out)
	}
	for _, r := range string(out) {
		if (r < 0x20 && r != '\n') || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
			t.Fatalf("%s: control character %U reaches the output:\n%q", what, r, out)
		}
	}
}

// FuzzHostileText feeds hostile header values through every renderer of
// text, tables, flows and SVG: no control byte gets through, and the SVG
// parses as XML.
func FuzzHostileText(f *testing.F) {
	f.Add("Evil\x1b[2J\x1b[H", "PBX\x1b]0;pwned\x07", "id\x9b31m", "OK\x00\x7f")
	f.Add("\xff\xfe<script>&amp;", "\xef\xbf\xbe", "\x1b[31m", "\t\v\f")
	f.Add("plain", "plain", "plain", "OK")
	f.Fuzz(func(t *testing.T, ua, server, callID, reason string) {
		a := analyze.New(analyze.Options{})
		flows := analyze.NewFlowCollector("c")
		src, dst := netip.MustParseAddrPort("192.0.2.1:5060"), netip.MustParseAddrPort("192.0.2.2:5060")
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for i, p := range hostileCall(ua, server, callID, reason) {
			m := &capture.Message{Kind: capture.SIP, Time: at.Add(time.Duration(i) * 10 * time.Second), Src: src, Dst: dst, Transport: capture.UDP, Payload: p}
			if bytes.HasPrefix(p, []byte("SIP/2.0")) {
				m.Src, m.Dst = dst, src
			}
			a.Message(m)
			flows.Message(m)
		}
		rep := a.Finish(capture.Stats{})
		var b bytes.Buffer
		if err := Tables(&b, rep, 0); err != nil {
			t.Fatal(err)
		}
		checkTerminalSafe(t, "tables", b.Bytes())
		b.Reset()
		if err := Audit(&b, rep, 0); err != nil {
			t.Fatal(err)
		}
		checkTerminalSafe(t, "audit", b.Bytes())
		for _, width := range []int{120, 80} {
			b.Reset()
			if err := Tables(&b, rep, width); err != nil {
				t.Fatal(err)
			}
			checkTerminalSafe(t, "fitted tables", b.Bytes())
		}
		b.Reset()
		if err := HTML(&b, rep); err != nil {
			t.Fatal(err)
		}
		checkTerminalSafe(t, "html report", b.Bytes())
		for _, svg := range regexp.MustCompile(`(?s)<svg.*?</svg>`).FindAll(b.Bytes(), -1) {
			checkXML(t, svg)
		}
		checkCard(t, judged(exampleCard(ua+server, reason)))
		for _, fl := range flows.Flows() {
			b.Reset()
			if err := FlowText(&b, fl); err != nil {
				t.Fatal(err)
			}
			checkTerminalSafe(t, "flow", b.Bytes())
			b.Reset()
			if err := FlowSVG(&b, fl); err != nil {
				t.Fatal(err)
			}
			checkTerminalSafe(t, "svg", b.Bytes())
			checkXML(t, b.Bytes())
			b.Reset()
			if err := FlowHTML(&b, fl); err != nil {
				t.Fatal(err)
			}
			checkTerminalSafe(t, "html", b.Bytes())
		}
	})
}

// checkXML fails the test unless svg is well-formed XML.
func checkXML(t *testing.T, svg []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(svg))
	for {
		if _, err := dec.Token(); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("svg is not well-formed XML: %v\n%s", err, svg)
			}
			return
		}
	}
}

func TestText(t *testing.T) {
	for in, want := range map[string]string{
		"plain": "plain", "a\nb": "a\nb", "\x1b[2J": `\x1b[2J`, "\x7f": `\x7f`,
		"\u009b31m": `\u{9b}31m`, "\xff": `\xff`, "\uffff": `\u{ffff}`, "é": "é",
	} {
		if got := Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
}
