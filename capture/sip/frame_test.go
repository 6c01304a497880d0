package sip

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

const info = "INFO sip:b@h SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nCall-ID: x\r\nContent-Length: 4\r\n\r\nabcd"
const ok = "SIP/2.0 200 OK\r\nl: 0\r\nCall-ID: x\r\n\r\n"

func TestIsStart(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"INVITE sip:bob@h SIP/2.0\r\n", true},
		{"OPTIONS sips:h SIP/2.0\n", true},
		{"SIP/2.0 200 OK\r\n", true},
		{"SIP/2.0 200\r\n", true},
		{"sip/2.0 481 Call Leg Does Not Exist\r\n", true},
		{"INVITE sip:bob@h SIP/2.0", false}, // no line end yet
		{"GET / HTTP/1.1\r\n", false},
		{"SIP/2.0 20 OK\r\n", false},
		{"SIP/2.0 2000 OK\r\n", false},
		{"INVITE bob SIP/2.0\r\n", false}, // URI without a scheme
		{"IN VITE sip:b@h SIP/2.0\r\n", false},
		{"\x16\x03\x01\x00\x05hello\r\n", false},
	}
	for _, tt := range tests {
		if got := IsStart([]byte(tt.in)); got != tt.want {
			t.Errorf("IsStart(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestNextFrame(t *testing.T) {
	tests := []struct {
		name string
		in   string
		kind FrameKind
		n    int
	}{
		{"whole message", info, FrameMessage, len(info)},
		{"two messages", info + ok, FrameMessage, len(info)},
		{"compact l", ok, FrameMessage, len(ok)},
		{"partial header", info[:30], FramePartial, 0},
		{"partial body", info[:len(info)-1], FramePartial, 0},
		{"partial start line", "INV", FramePartial, 0},
		{"ping", "\r\n\r\n" + info, FrameKeepAlive, 4},
		{"pong", "\r\n", FrameKeepAlive, 2},
		{"garbage then message", "xyz\r\n" + info, FrameGarbage, 5},
		{"binary garbage", "\x00\x01\x02", FrameGarbage, 3},
		{"mid-message start", "Length: 4\r\n\r\nabcd" + ok, FrameGarbage, 17},
		{"bad content-length", "SIP/2.0 200 OK\r\nContent-Length: x\r\n\r\n", FrameGarbage, 37},
		{"status 000", "SIP/2.0 000 X\r\n\r\n", FrameGarbage, 17},
		{"LF only", "SIP/2.0 200 OK\nl: 2\n\nab", FrameMessage, 23},
	}
	for _, tt := range tests {
		k, n := NextFrame([]byte(tt.in))
		if k != tt.kind || n != tt.n {
			t.Errorf("%s: Next = %v %d, want %v %d", tt.name, k, n, tt.kind, tt.n)
		}
	}
}

// frameAll runs a stream through Next the way the TCP code does, feeding it
// in chunks, and returns the messages found.
func frameAll(stream []byte, chunk int) (msgs [][]byte, skipped int) {
	var buf []byte
	var f Framer
	for off := 0; off < len(stream) || len(buf) > 0; {
		if off < len(stream) {
			end := min(off+chunk, len(stream))
			buf = append(buf, stream[off:end]...)
			off = end
		}
		progress := false
		for len(buf) > 0 {
			k, n := f.Next(buf)
			if k == FramePartial {
				break
			}
			progress = true
			switch k {
			case FrameMessage:
				msgs = append(msgs, append([]byte(nil), buf[:n]...))
			case FrameGarbage:
				skipped += n
			}
			buf = buf[n:]
		}
		if !progress && off >= len(stream) {
			skipped += len(buf)
			break
		}
	}
	return msgs, skipped
}

func TestSplitAtEveryByte(t *testing.T) {
	stream := []byte(info + ok + "\r\n\r\n" + info)
	for chunk := 1; chunk <= len(stream); chunk++ {
		msgs, skipped := frameAll(stream, chunk)
		if len(msgs) != 3 || skipped != 0 {
			t.Fatalf("chunk %d: %d messages, %d skipped", chunk, len(msgs), skipped)
		}
		if !bytes.Equal(msgs[0], []byte(info)) || !bytes.Equal(msgs[1], []byte(ok)) {
			t.Fatalf("chunk %d: wrong message bytes", chunk)
		}
	}
}

func FuzzNext(f *testing.F) {
	f.Add([]byte(info+ok), 7)
	f.Add([]byte("garbage\r\n"+ok+"\r\n\r\n"), 3)
	f.Add([]byte("SIP/2.0 200 OK\r\nContent-Length: 99999999\r\n\r\n"), 1)
	f.Fuzz(func(t *testing.T, stream []byte, chunk int) {
		if chunk <= 0 || chunk > 1<<16 {
			chunk = 1 + len(stream)
		}
		msgs, skipped := frameAll(stream, chunk)
		total := skipped
		for _, m := range msgs {
			if !IsStart(m) {
				t.Fatalf("framed a message without a start line: %q", m)
			}
			total += len(m)
		}
		if total > len(stream) {
			t.Fatalf("framed %d bytes out of %d", total, len(stream))
		}
		// The same stream in one piece frames the same messages.
		whole, _ := frameAll(stream, len(stream)+1)
		if len(whole) != len(msgs) {
			t.Fatalf("chunk %d gives %d messages, whole stream %d", chunk, len(msgs), len(whole))
		}
	})
}

// headerEndLineByLine is the plain reading headerEnd is held to: split
// into lines, the first empty one ends the headers, the last line that
// names Content-Length gives its value.
func headerEndLineByLine(b []byte) (end, contentLength int, ok bool) {
	for _, l := range bytes.SplitAfter(b, []byte("\n")) {
		if !bytes.HasSuffix(l, []byte("\n")) {
			return 0, 0, false // no line feed after it: the headers go on past b
		}
		end += len(l)
		line := bytes.TrimSuffix(bytes.TrimSuffix(l, []byte("\n")), []byte("\r"))
		if len(line) == 0 {
			return end, contentLength, true
		}
		if v, ok := contentLengthValue(line); ok {
			contentLength = v
		}
	}
	return 0, 0, false
}

func checkHeaderEnd(t *testing.T, b []byte) {
	t.Helper()
	e, cl, ok := headerEnd(b)
	we, wcl, wok := headerEndLineByLine(b)
	if e != we || cl != wcl || ok != wok {
		t.Fatalf("headerEnd(%q) = %d, %d, %v; line by line %d, %d, %v", b, e, cl, ok, we, wcl, wok)
	}
}

// TestHeaderEndMatchesLineByLine holds headerEnd to the line-by-line
// reading on messages and on random header blocks built of the bytes that
// matter (line ends, the letters Content-Length lines start with, colons,
// digits, several Content-Length lines, blank lines of either kind).
func TestHeaderEndMatchesLineByLine(t *testing.T) {
	for _, m := range []string{info, ok, info + ok, "SIP/2.0 200 OK\nl: 3\n\nabc",
		"INVITE sip:a SIP/2.0\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n",
		"INVITE sip:a SIP/2.0\r\ncontent-length : 9\r\nCSeq: 1 INVITE\r\n\n",
		"INVITE sip:a SIP/2.0\r\nl: x\r\n\r\n", "\r\n", "\n", "SIP/2.0 200 OK\r\n"} {
		checkHeaderEnd(t, []byte(m))
	}
	pieces := []string{"\r", "\n", "\r\n", "C", "c", "l", "L", ":", " ", "\t", "5", "12", "x",
		"Content-Length", "content-length", "l: 4", "Call-ID: a", "CSeq: 1 INFO", "Via: SIP/2.0/TCP h"}
	rng := rand.New(rand.NewPCG(1, 2))
	var b []byte
	for range 200000 {
		b = append(b[:0], "INFO sip:a SIP/2.0"...)
		for range rng.IntN(24) {
			b = append(b, pieces[rng.IntN(len(pieces))]...)
		}
		checkHeaderEnd(t, b)
	}
}

func FuzzHeaderEnd(f *testing.F) {
	f.Add([]byte(info + ok))
	f.Add([]byte("SIP/2.0 200 OK\r\nl: 3\r\nContent-Length: 4\r\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) { checkHeaderEnd(t, b) })
}
