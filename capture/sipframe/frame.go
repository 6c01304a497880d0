// Package sipframe finds SIP messages in transport payloads. It recognises a
// SIP start line by content, on any port, and cuts a byte stream (TCP,
// WebSocket) into messages by Content-Length as RFC 3261 section 18.3 asks.
// It reads only the start line and the Content-Length header: the full
// header scan belongs to the analyzer.
package sipframe

import "bytes"

// MaxHeader bounds the header block of one message on a stream. A stream
// that reaches it without a blank line is not SIP, or lost its framing.
const MaxHeader = 64 << 10

// MaxBody bounds the body a Content-Length may announce on a stream.
const MaxBody = 1 << 20

// maxStartLine bounds the start line we wait for before deciding a stream
// does not begin with SIP.
const maxStartLine = 8 << 10

var sipVersion = []byte("SIP/2.0")

// IsStart reports whether b begins with a complete SIP request line
// ("METHOD SP Request-URI SP SIP/2.0") or status line ("SIP/2.0 SP 3DIGIT").
func IsStart(b []byte) bool {
	line, ok := firstLine(b)
	return ok && IsStartLine(line)
}

// firstLine returns b up to its first LF, without the CR LF or LF.
func firstLine(b []byte) ([]byte, bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return nil, false
	}
	line := b[:i]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, true
}

// IsStartLine reports whether line (without its line end) is a SIP
// request line or status line.
func IsStartLine(line []byte) bool {
	var s StartLine
	return ParseStartLine(line, &s)
}

// StartLine is what a start line holds: a request's method and
// Request-URI, or a response's status code and reason phrase.
type StartLine struct {
	Method, URI []byte
	Status      int    // 0 for a request
	Reason      []byte // as written, white space included
}

// ParseStartLine checks that line (without its line end) is a SIP request
// line or status line and, if so, splits it into s, whose slices alias
// line. Checking and splitting are one pass: every packet takes it.
func ParseStartLine(line []byte, s *StartLine) bool {
	if len(line) > maxStartLine || len(line) < len("SIP/2.0 200") {
		return false
	}
	if (line[0] == 'S' || line[0] == 's') && (string(line[:len(sipVersion)]) == "SIP/2.0" || hasPrefixFold(line, sipVersion)) {
		// SIP/2.0 SP 3DIGIT [SP reason]
		r := line[len(sipVersion):]
		if len(r) < 4 || r[0] != ' ' || r[1] < '1' || r[1] > '6' || !isDigit(r[2]) || !isDigit(r[3]) {
			return false
		}
		if len(r) > 4 && r[4] != ' ' && r[4] != '\t' {
			return false
		}
		// Field by field: a composite literal is built on the stack and
		// copied in 16-byte moves that stall on its 8-byte stores.
		s.Method, s.URI, s.Reason = nil, nil, nil
		s.Status = int(r[1]-'0')*100 + int(r[2]-'0')*10 + int(r[3]-'0')
		if len(r) > 5 {
			s.Reason = r[5:]
		}
		return true
	}
	// Method SP Request-URI SP SIP/2.0
	sp := knownMethod(line)
	if sp < 0 {
		if sp = bytes.IndexByte(line, ' '); sp <= 0 || sp > 128 {
			return false
		}
		for _, c := range line[:sp] {
			if !tokenChars[c] {
				return false
			}
		}
	}
	rest := line[sp+1:]
	sp2 := bytes.IndexByte(rest, ' ')
	if sp2 <= 0 {
		return false
	}
	uri, ver := rest[:sp2], rest[sp2+1:]
	if string(ver) != "SIP/2.0" { // the fast path; else allow trailing blanks and any case
		ver = bytes.TrimRight(ver, " \t")
		if len(ver) != len(sipVersion) || !hasPrefixFold(ver, sipVersion) {
			return false
		}
	}
	// A scheme ("sip:", "sips:", "tel:") puts the URI's first colon early.
	if !(len(uri) > 4 && uri[0] != ':' && (uri[3] == ':' || uri[4] == ':')) && bytes.IndexByte(uri, ':') <= 0 {
		return false
	}
	s.Method, s.URI, s.Status, s.Reason = line[:sp], uri, 0, nil
	return true
}

// knownMethod returns where the method of a request line starting with
// one of the common methods and a space ends, or -1: those need no check
// of their characters.
func knownMethod(line []byte) int {
	var m string
	switch line[0] {
	case 'I':
		if len(line) > 4 && line[2] == 'V' {
			m = "INVITE "
		} else {
			m = "INFO "
		}
	case 'A':
		m = "ACK "
	case 'B':
		m = "BYE "
	case 'O':
		m = "OPTIONS "
	case 'U':
		m = "UPDATE "
	case 'M':
		m = "MESSAGE "
	case 'R':
		m = "REGISTER "
	case 'C':
		m = "CANCEL "
	case 'P':
		m = "PRACK "
	case 'N':
		m = "NOTIFY "
	default:
		return -1
	}
	if len(line) < len(m) || string(line[:len(m)]) != m {
		return -1
	}
	return len(m) - 1
}

// Kind says what Next found at the front of a stream buffer.
type Kind int

// What the front of a stream holds.
const (
	Partial   Kind = iota // not enough bytes yet to decide
	Message               // one whole SIP message
	KeepAlive             // CRLF keep-alive bytes (RFC 5626: "\r\n\r\n" ping, "\r\n" pong)
	Garbage               // bytes that are not SIP; skip them to resynchronise
)

func (k Kind) String() string {
	switch k {
	case Message:
		return "message"
	case KeepAlive:
		return "keep-alive"
	case Garbage:
		return "garbage"
	}
	return "partial"
}

// Next looks at the front of a buffer that starts at a line start (a
// stream's first byte, or right after a message) and says what its first n
// bytes are. With Partial, n is 0 and the caller waits for more bytes.
func Next(b []byte) (k Kind, n int) {
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

// Next is the package Next for the buffer's front in the framer's position.
func (f *Framer) Next(b []byte) (k Kind, n int) {
	if len(b) == 0 {
		return Partial, 0
	}
	if f.midLine {
		// Only a known method or "SIP/2.0" may start a message mid-line.
		if k, ok := knownStart(b); !ok {
			if k {
				return Partial, 0
			}
			return f.garbage(b)
		}
	} else if b[0] == '\r' || b[0] == '\n' {
		for n < len(b) && (b[n] == '\r' || b[n] == '\n') {
			n++
		}
		return KeepAlive, n
	}
	line, ok := firstLine(b)
	if !ok {
		if len(b) > maxStartLine || !couldStart(b) {
			return f.garbage(b)
		}
		return Partial, 0
	}
	if !IsStartLine(line) {
		return f.garbage(b)
	}
	hdrEnd, cl, ok := headerEnd(b)
	if !ok {
		if len(b) > MaxHeader {
			return f.garbage(b)
		}
		return Partial, 0
	}
	if cl < 0 || cl > MaxBody {
		return f.garbage(b)
	}
	if len(b) < hdrEnd+cl {
		return Partial, 0
	}
	f.midLine = false
	return Message, hdrEnd + cl
}

func (f *Framer) garbage(b []byte) (Kind, int) {
	n := resync(b)
	// Skipping the whole buffer leaves the front mid-line too, unless it
	// ended a line: else bytes after a segment boundary would be read as
	// a line's start that the stream in one piece reads as garbage.
	f.midLine = b[n-1] != '\n'
	return Garbage, n
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
	v := bytes.TrimSpace(line[c+1:])
	if len(v) == 0 || len(v) > 9 {
		return -1, true
	}
	n := 0
	for _, d := range v {
		if !isDigit(d) {
			return -1, true
		}
		n = n*10 + int(d-'0')
	}
	return n, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// tokenChars is isTokenChar as a table, for the start-line check that
// every packet goes through.
var tokenChars = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = isTokenChar(byte(c))
	}
	return t
}()

// isTokenChar follows RFC 3261's token: alphanum / "-" / "." / "!" / "%" /
// "*" / "_" / "+" / "`" / "'" / "~".
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '!', '%', '*', '_', '+', '`', '\'', '~':
		return true
	}
	return false
}

func hasPrefixFold(b, prefix []byte) bool {
	return len(b) >= len(prefix) && bytes.EqualFold(b[:len(prefix)], prefix)
}
