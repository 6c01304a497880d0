package sip

import "bytes"

// The start line (RFC 3261 section 7.1 Request-Line, 7.2 Status-Line),
// recognised by content on any port.

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
