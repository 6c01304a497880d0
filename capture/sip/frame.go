package sip

// Framing: a byte stream (TCP, WebSocket) is cut into messages by
// Content-Length, as RFC 3261 section 18.3 asks, reading only the start
// line and the Content-Length header.

import "bytes"

// MaxHeader bounds the header block of one message on a stream. A stream
// that reaches it without a blank line is not SIP, or lost its framing.
const MaxHeader = 64 << 10

// MaxBody bounds the body a Content-Length may announce on a stream.
const MaxBody = 1 << 20

// maxStartLine bounds the start line we wait for before deciding a stream
// does not begin with SIP.
const maxStartLine = 8 << 10

// FrameKind says what NextFrame found at the front of a stream buffer.
type FrameKind int

// What the front of a stream holds.
const (
	FramePartial   FrameKind = iota // not enough bytes yet to decide
	FrameMessage                    // one whole SIP message
	FrameKeepAlive                  // CRLF keep-alive bytes (RFC 5626: "\r\n\r\n" ping, "\r\n" pong)
	FrameGarbage                    // bytes that are not SIP; skip them to resynchronise
)

func (k FrameKind) String() string {
	switch k {
	case FrameMessage:
		return "message"
	case FrameKeepAlive:
		return "keep-alive"
	case FrameGarbage:
		return "garbage"
	}
	return "partial"
}

// NextFrame looks at the front of a buffer that starts at a line start (a
// stream's first byte, or right after a message) and says what its first n
// bytes are. With FramePartial, n is 0 and the caller waits for more bytes.
func NextFrame(b []byte) (k FrameKind, n int) {
	var f Framer
	return f.Next(b)
}

// Framer cuts one direction of a stream into messages. It remembers
// whether the front of its buffer is the middle of a line (after skipping
// garbage up to a method or "SIP/2.0"), so that its decisions depend only
// on the bytes, never on how the stream was split into segments.
type Framer struct {
	midLine bool
}

// Reset forgets the position, after bytes went missing.
func (f *Framer) Reset() { f.midLine = false }

// Next is NextFrame for the buffer's front in the framer's position.
func (f *Framer) Next(b []byte) (k FrameKind, n int) {
	if len(b) == 0 {
		return FramePartial, 0
	}
	if f.midLine {
		// Only a known method or "SIP/2.0" may start a message mid-line.
		if k, ok := knownStart(b); !ok {
			if k {
				return FramePartial, 0
			}
			return f.garbage(b)
		}
	} else if b[0] == '\r' || b[0] == '\n' {
		for n < len(b) && (b[n] == '\r' || b[n] == '\n') {
			n++
		}
		return FrameKeepAlive, n
	}
	line, ok := firstLine(b)
	if !ok {
		if len(b) > maxStartLine || !couldStart(b) {
			return f.garbage(b)
		}
		return FramePartial, 0
	}
	if !IsStartLine(line) {
		return f.garbage(b)
	}
	hdrEnd, cl, ok := headerEnd(b)
	if !ok {
		if len(b) > MaxHeader {
			return f.garbage(b)
		}
		return FramePartial, 0
	}
	if cl < 0 || cl > MaxBody {
		return f.garbage(b)
	}
	if len(b) < hdrEnd+cl {
		return FramePartial, 0
	}
	f.midLine = false
	return FrameMessage, hdrEnd + cl
}

func (f *Framer) garbage(b []byte) (FrameKind, int) {
	n := resync(b)
	// Skipping the whole buffer leaves the front mid-line too, unless it
	// ended a line: else bytes after a segment boundary would be read as
	// a line's start that the stream in one piece reads as garbage.
	f.midLine = b[n-1] != '\n'
	return FrameGarbage, n
}

// knownStart reports whether b starts with a known method and a space or
// with "SIP/2.0" (ok), or with a proper prefix of one (more).
func knownStart(b []byte) (more, ok bool) {
	for _, m := range knownMethods {
		if hasPrefixFold(b, m) {
			return false, true
		}
		if len(b) < len(m) && hasPrefixFold(m, b) {
			more = true
		}
	}
	return more, false
}

// couldStart reports whether an incomplete first line may still become a
// SIP start line: it must be printable and, once long enough to tell, either
// start with "SIP/2.0" or a method token followed by a space.
func couldStart(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\r' || c == 0x7f {
			return false
		}
	}
	if hasPrefixFold(b, sipVersion) || hasPrefixFold(sipVersion, b) {
		return true
	}
	for i, c := range b {
		if c == ' ' {
			return i > 0
		}
		if !isTokenChar(c) {
			return false
		}
	}
	return true
}

// knownMethods are the request methods resync looks for inside a line: a
// message that follows a body without a line break starts mid-line.
var knownMethods = [][]byte{
	[]byte("INVITE "), []byte("ACK "), []byte("BYE "), []byte("CANCEL "), []byte("OPTIONS "),
	[]byte("REGISTER "), []byte("INFO "), []byte("UPDATE "), []byte("MESSAGE "), []byte("PRACK "),
	[]byte("SUBSCRIBE "), []byte("NOTIFY "), []byte("REFER "), []byte("PUBLISH "), sipVersion,
}

// resync returns how many bytes to skip to reach the next position where
// a SIP message starts, or may start once more bytes arrive: a line start,
// or mid-line where a known method or "SIP/2.0" begins (a message that
// follows a body without a line break).
func resync(b []byte) int {
	for c := 1; c < len(b); c++ {
		rest := b[c:]
		if b[c-1] != '\n' {
			more, ok := knownStart(rest)
			if more {
				return c // a prefix at the end: wait and see
			}
			if !ok {
				continue
			}
		}
		if IsStart(rest) {
			return c
		}
		if bytes.IndexByte(rest, '\n') < 0 && len(rest) <= maxStartLine && couldStart(rest) {
			return c
		}
	}
	return len(b)
}

// headerEnd finds the blank line that ends the header block and the value of
// Content-Length (compact form "l") in it. A stream message without one has
// no body (RFC 3261 section 20.14 makes it mandatory on streams).
func headerEnd(b []byte) (end, contentLength int, ok bool) {
	contentLength = 0
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return 0, 0, false
		}
		line := b[i : i+j]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		i += j + 1
		if len(line) == 0 {
			return i, contentLength, true
		}
		// Only a line that starts so can be Content-Length or "l": the
		// others (Call-ID, CSeq, Contact, Content-Type...) are not
		// looked at further, which took a third of the framing.
		if !mayBeContentLength(line) {
			continue
		}
		if v, ok := contentLengthValue(line); ok {
			contentLength = v
		}
	}
	return 0, 0, false
}

// mayBeContentLength reports whether a header line may name Content-Length:
// it starts with "content-length" in any case, or is "l" followed by a
// colon or white space (contentLengthValue then reads the line).
func mayBeContentLength(line []byte) bool {
	switch line[0] | 0x20 {
	case 'l':
		return len(line) > 1 && (line[1] == ':' || line[1] == ' ' || line[1] == '\t')
	case 'c':
		return len(line) >= len(nameContentLength) && bytes.EqualFold(line[:len(nameContentLength)], nameContentLength)
	}
	return false
}

var (
	nameContentLength = []byte("content-length")
	nameCompactLength = []byte("l")
)

// contentLengthValue parses a "Content-Length: N" or "l: N" header line.
func contentLengthValue(line []byte) (int, bool) {
	c := bytes.IndexByte(line, ':')
	if c <= 0 {
		return 0, false
	}
	name := bytes.TrimRight(line[:c], " \t")
	if !bytes.EqualFold(name, nameContentLength) && !bytes.EqualFold(name, nameCompactLength) {
		return 0, false
	}
	// 9 digits at most: a longer one is no body a stream would carry.
	if v := bytes.TrimSpace(line[c+1:]); len(v) <= 9 {
		if n, ok := atoi(v); ok {
			return n, true
		}
	}
	return -1, true
}
