package sip

import (
	"bytes"
	"errors"

	"github.com/sipalive/sipalive/capture/sipframe"
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
	var sl sipframe.StartLine
	if pos == end || !sipframe.ParseStartLine(b[:end], &sl) { // no line end, or not a start line
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

func (m *Message) parseCSeq(v []byte) bool {
	i := 0
	for i < len(v) && isDigit(v[i]) {
		i++
	}
	if i == 0 || i > 10 {
		return false
	}
	n, _ := atoi(v[:i])
	if n > 1<<32-1 {
		return false
	}
	m.CSeq = uint32(n)
	m.CSeqMethod = trimLWS(v[i:])
	return len(m.CSeqMethod) > 0
}

func (m *Message) parseSessionExpires(v []byte) {
	if n, ok := atoi(leadingDigits(v)); ok {
		m.SessionExpires = uint32(n)
	}
	if sc := bytes.IndexByte(v, ';'); sc >= 0 {
		m.Refresher = param(v[sc:], "refresher")
	}
}

// parseAddress reads name-addr or addr-spec followed by header parameters
// into a, which is zero. It writes in place: a returned struct costs a
// copy per header.
func parseAddress(v []byte, a *Address) {
	var params []byte
	a.URI, params = splitAddress(v)
	if len(params) > 5 && string(params[:5]) == ";tag=" {
		a.Tag = paramValue(params[5:]) // as nearly everyone writes it
	} else {
		a.Tag = param(params, "tag")
	}
}

// splitAddress cuts name-addr or addr-spec followed by header parameters
// (From, To, Contact) into the addr-spec, trimmed, and the parameters.
func splitAddress(v []byte) (uri, params []byte) {
	lt := 0
	if len(v) == 0 || v[0] != '<' { // most have no display name
		lt = indexUnquoted(v, '<')
	}
	if lt >= 0 {
		if gt := bytes.IndexByte(v[lt:], '>'); gt >= 0 {
			uri, params = v[lt+1:lt+gt], v[lt+gt+1:]
		} else {
			uri = v[lt+1:]
		}
	} else if sc := bytes.IndexByte(v, ';'); sc >= 0 {
		// addr-spec form: parameters after the URI belong to the header.
		uri, params = v[:sc], v[sc:]
	} else {
		uri = v
	}
	return trimLWS(uri), params
}

// paramValue returns the value of a parameter that starts rest, up to the
// next ';' or ',', as param gives it.
func paramValue(rest []byte) []byte {
	val := trimLWS(rest[:indexParamEnd(rest)])
	if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
		val = val[1 : len(val)-1]
	}
	return val
}

// parseVia counts the comma-separated values of a Via header line and,
// when first, reads its first value into via, which is zero:
// SIP / 2.0 / transport LWS sent-by *( SEMI via-params ).
func parseVia(v []byte, via *Via, first bool) int {
	comma := bytes.IndexByte(v, ',') >= 0 // rare: several values on the line
	values := 1
	if comma {
		values = countValues(v)
	}
	if !first {
		return values
	}
	// Skip "SIP / 2.0 /", allowing LWS around the slashes.
	slashes := 0
	if len(v) > 8 && string(v[:8]) == "SIP/2.0/" {
		v, slashes = v[8:], 2 // as nearly everyone writes it
	}
	for ; slashes < 2; slashes++ {
		i := bytes.IndexByte(v, '/')
		if i < 0 {
			return values
		}
		v = v[i+1:]
	}
	v = trimLeftLWS(v)
	i := 0
	for i < len(v) && !isLWS(v[i]) && v[i] != ';' {
		i++
	}
	via.Transport, v = v[:i], trimLeftLWS(v[i:])
	if comma {
		if c := indexUnquoted(v, ','); c >= 0 {
			v = v[:c]
		}
	}
	i = bytes.IndexByte(v, ';')
	if i < 0 {
		i = len(v)
	}
	via.SentBy = trimLWS(v[:i])
	if params := v[i:]; len(params) > 8 && string(params[:8]) == ";branch=" {
		via.Branch = paramValue(params[8:]) // as nearly everyone writes it
	} else {
		via.Branch = param(params, "branch")
	}
	return values
}

// countValues counts the comma-separated values of a header line.
func countValues(v []byte) int {
	n, inQuote := 1, false
	for _, c := range v {
		switch c {
		case '"':
			inQuote = !inQuote
		case ',':
			if !inQuote {
				n++
			}
		}
	}
	return n
}

// param finds ;name=value in a parameter list and returns value, with
// quotes removed. A parameter without a value returns nil. Parameter lists
// are short, so one plain pass beats repeated vector searches.
func param(params []byte, name string) []byte {
	n := len(params)
	// Fast path: the parameter comes first, written ;name=value.
	if k := len(name); n > k+1 && params[0] == ';' && params[k+1] == '=' && equalFoldString(params[1:k+1], name) {
		i := k + 2 + indexParamEnd(params[k+2:])
		val := trimLWS(params[k+2 : i])
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = val[1 : len(val)-1]
		}
		return val
	}
	for i := 0; i < n; {
		for i < n && params[i] != ';' {
			i++
		}
		if i == n {
			return nil
		}
		i++
		for i < n && isLWS(params[i]) {
			i++
		}
		k := i
		for i < n && !isLWS(params[i]) && params[i] != '=' && params[i] != ';' && params[i] != ',' {
			i++
		}
		key := params[k:i]
		for i < n && isLWS(params[i]) {
			i++
		}
		if i < n && params[i] != '=' && params[i] != ';' && params[i] != ',' {
			continue // a key with white space inside is no parameter name
		}
		var val []byte
		if i < n && params[i] == '=' {
			i++
			v := i
			i += indexParamEnd(params[i:])
			val = trimLWS(params[v:i])
		}
		if equalFoldString(key, name) {
			if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
				val = val[1 : len(val)-1]
			}
			return val
		}
	}
	return nil
}

// indexUnquoted finds c outside double-quoted strings. Header values are
// short and c is usually near their start, so a plain loop is the fastest.
func indexUnquoted(v []byte, c byte) int {
	inQuote := false
	for i := 0; i < len(v); i++ {
		switch b := v[i]; {
		case inQuote:
			if b == '\\' {
				i++
			} else if b == '"' {
				inQuote = false
			}
		case b == '"':
			inQuote = true
		case b == c:
			return i
		}
	}
	return -1
}

func leadingDigits(v []byte) []byte {
	i := 0
	for i < len(v) && isDigit(v[i]) {
		i++
	}
	return v[:i]
}

// atoi parses a non-negative decimal of at most 9 digits.
func atoi(v []byte) (int, bool) {
	if len(v) == 0 || len(v) > 10 {
		return 0, false
	}
	n := 0
	for _, c := range v {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isLWS reports white space and line ends. Nearly every byte it sees is
// above the space, which the first comparison settles.
func isLWS(c byte) bool { return c <= ' ' && (c == ' ' || c == '\t' || c == '\r' || c == '\n') }

func trimLeftLWS(b []byte) []byte {
	for len(b) > 0 && isLWS(b[0]) {
		b = b[1:]
	}
	return b
}

func trimLWS(b []byte) []byte {
	b = trimLeftLWS(b)
	for len(b) > 0 && isLWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func equalFoldString(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		x, y := b[i], s[i]
		if x == y {
			continue
		}
		if x|0x20 != y|0x20 || (x|0x20) < 'a' || (x|0x20) > 'z' {
			return false
		}
	}
	return true
}

func hasPrefixFold(b, prefix []byte) bool {
	return len(b) >= len(prefix) && bytes.EqualFold(b[:len(prefix)], prefix)
}

// indexFold finds sep in b, ASCII case-insensitively.
func indexFold(b, sep []byte) int {
	n := len(sep)
	for i := 0; i+n <= len(b); i++ {
		if bytes.EqualFold(b[i:i+n], sep) {
			return i
		}
	}
	return -1
}
