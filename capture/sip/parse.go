package sip

import (
	"bytes"
	"errors"
)

// Errors Parse returns. They are values, not formatted strings, so that a
// malformed packet costs no allocation.
var (
	ErrNotSIP       = errors.New("sip: no SIP start line")
	ErrStartLine    = errors.New("sip: malformed start line")
	ErrNoCallID     = errors.New("sip: no Call-ID header")
	ErrNoCSeq       = errors.New("sip: no CSeq header")
	ErrBadCSeq      = errors.New("sip: malformed CSeq header")
	ErrNoFrom       = errors.New("sip: no From header")
	ErrNoTo         = errors.New("sip: no To header")
	ErrCSeqMismatch = errors.New("sip: CSeq method differs from request method")
)

// Parse scans one SIP message held whole in b (a UDP datagram or a message
// already framed out of a stream) into m. The body is what follows the blank
// line, cut to Content-Length when that is shorter.
func Parse(b []byte, m *Message) error {
	m.reset()
	for len(b) > 0 && (b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	end, pos := lineEnd(b, 0, bytes.IndexByte(b, '\n'))
	var sl StartLine
	if pos == end || !ParseStartLine(b[:end], &sl) { // no line end, or not a start line
		return ErrNotSIP
	}
	if sl.Status != 0 && sl.Status < 100 {
		return ErrStartLine
	}
	m.Request, m.Method, m.URI, m.Status, m.Reason = sl.Status == 0, sl.Method, sl.URI, sl.Status, trimLWS(sl.Reason)
	var haveCSeq bool
	for pos < len(b) {
		c := b[pos]
		// A blank line ends the headers.
		if c == '\n' {
			pos++
			break
		}
		if c == '\r' && pos+1 < len(b) && b[pos+1] == '\n' {
			pos += 2
			break
		}
		end, next := lineEnd(b, pos, indexLF(b, pos))
		// Folded header: continuation lines start with white space and
		// extend the value (RFC 3261 section 7.3.1).
		for next < len(b) && (b[next] == ' ' || b[next] == '\t') {
			end, next = lineEnd(b, next, indexLF(b, next))
		}
		line := b[pos:end]
		pos = next
		if firstOfWanted[c] == 0 {
			continue // most headers are not needed: not even their colon is looked for
		}
		h, colon := hOther, 0
		if c > ' ' {
			h, colon = matchHeader(line)
		}
		if h == hGeneric || c <= ' ' {
			// White space before the colon, or (the first line after the
			// start line only) before the name.
			if colon = indexColon(line); colon <= 0 {
				continue // not a header line: tolerated, as receivers do
			}
			name := trimLWS(line[:colon])
			h = headerOf(name, len(name))
		}
		if h == hOther {
			continue
		}
		value := line[colon+1:]
		if len(value) > 1 && value[0] == ' ' && value[1] > ' ' {
			value = value[1:] // "Name: value", as nearly everyone writes it
		} else {
			value = trimLeftLWS(value)
		}
		for len(value) > 0 && isLWS(value[len(value)-1]) {
			value = value[:len(value)-1]
		}
		switch h {
		case hCallID:
			if len(m.CallID) == 0 {
				m.CallID = value
			}
		case hFrom:
			if len(m.From.URI) == 0 {
				parseAddress(value, &m.From)
			}
		case hTo:
			if len(m.To.URI) == 0 {
				parseAddress(value, &m.To)
			}
		case hCSeq:
			if !haveCSeq {
				haveCSeq = true
				if !m.parseCSeq(value) {
					return ErrBadCSeq
				}
			}
		case hVia:
			m.Vias += parseVia(value, &m.Via, m.Vias == 0)
		case hContentType:
			m.ContentType = value
		case hContentLength:
			if n, ok := atoi(value); ok {
				m.ContentLength = n
			}
		case hUserAgent:
			m.UserAgent = value
		case hServer:
			m.Server = value
		case hSessionExpires:
			m.parseSessionExpires(value)
		case hMinSE:
			if n, ok := atoi(leadingDigits(value)); ok {
				m.MinSE = uint32(n)
			}
		case hMinExpires:
			if n, ok := atoi(leadingDigits(value)); ok {
				m.MinExpires = uint32(n)
			}
		case hExpires:
			if n, ok := atoi(value); ok {
				m.Expires = n
			}
		case hSupported:
			m.Supported.add(value)
		case hRequire:
			m.Require.add(value)
		case hAllow:
			m.Allow.add(value)
		case hReason:
			if len(m.ReasonHeader) == 0 {
				m.ReasonHeader = value
			}
		}
	}
	m.Body = b[pos:]
	if m.ContentLength >= 0 && m.ContentLength < len(m.Body) {
		m.Body = m.Body[:m.ContentLength]
	}
	switch {
	case len(m.CallID) == 0:
		return ErrNoCallID
	case !haveCSeq:
		return ErrNoCSeq
	case len(m.From.URI) == 0:
		return ErrNoFrom
	case len(m.To.URI) == 0:
		return ErrNoTo
	case m.Request && !bytes.Equal(m.Method, m.CSeqMethod):
		return ErrCSeqMismatch
	}
	return nil
}

// indexLF returns the index of the first line feed at or after pos, or -1.
func indexLF(b []byte, pos int) int {
	if i := bytes.IndexByte(b[pos:], '\n'); i >= 0 {
		return pos + i
	}
	return -1
}

// lineEnd returns where the line starting at start ends (before CR LF or a
// bare LF) and where the next line starts, given the index of its line
// feed (-1: none, the line runs to the end of b).
func lineEnd(b []byte, start, lf int) (end, next int) {
	if lf < 0 {
		return len(b), len(b)
	}
	end = lf
	if end > start && b[end-1] == '\r' {
		end--
	}
	return end, lf + 1
}
