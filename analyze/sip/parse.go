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

// header identifies the headers the scanner extracts.
type header uint8

const (
	hOther header = iota
	hCallID
	hFrom
	hTo
	hCSeq
	hVia
	hContentType
	hContentLength
	hUserAgent
	hServer
	hSessionExpires
	hMinSE
	hExpires
	hSupported
	hRequire
	hAllow
	hReason
)

// headerOf maps a header name, full or compact (RFC 3261 section 7.3.3,
// RFC 4028 for "x"), to the header it names. It is case-insensitive and
// does not allocate.
func headerOf(name []byte) header {
	switch len(name) {
	case 0:
		return hOther
	case 1:
		switch name[0] | 0x20 {
		case 'i':
			return hCallID
		case 'f':
			return hFrom
		case 't':
			return hTo
		case 'v':
			return hVia
		case 'c':
			return hContentType
		case 'l':
			return hContentLength
		case 'k':
			return hSupported
		case 'x':
			return hSessionExpires
		}
		return hOther
	}
	// Dispatch on the first letter and the length, so that at most one
	// name is compared in full.
	n := len(name)
	switch name[0] | 0x20 {
	case 'a':
		if n == 5 && equalFoldString(name, "allow") {
			return hAllow
		}
	case 'c':
		switch {
		case n == 7 && equalFoldString(name, "call-id"):
			return hCallID
		case n == 4 && equalFoldString(name, "cseq"):
			return hCSeq
		case n == 12 && equalFoldString(name, "content-type"):
			return hContentType
		case n == 14 && equalFoldString(name, "content-length"):
			return hContentLength
		}
	case 'e':
		if n == 7 && equalFoldString(name, "expires") {
			return hExpires
		}
	case 'f':
		if n == 4 && equalFoldString(name, "from") {
			return hFrom
		}
	case 'm':
		if n == 6 && equalFoldString(name, "min-se") {
			return hMinSE
		}
	case 'r':
		switch {
		case n == 7 && equalFoldString(name, "require"):
			return hRequire
		case n == 6 && equalFoldString(name, "reason"):
			return hReason
		}
	case 's':
		switch {
		case n == 6 && equalFoldString(name, "server"):
			return hServer
		case n == 9 && equalFoldString(name, "supported"):
			return hSupported
		case n == 15 && equalFoldString(name, "session-expires"):
			return hSessionExpires
		}
	case 't':
		if n == 2 && equalFoldString(name, "to") {
			return hTo
		}
	case 'u':
		if n == 10 && equalFoldString(name, "user-agent") {
			return hUserAgent
		}
	case 'v':
		if n == 3 && equalFoldString(name, "via") {
			return hVia
		}
	}
	return hOther
}

// Parse scans one SIP message held whole in b (a UDP datagram or a message
// already framed out of a stream) into m. The body is what follows the blank
// line, cut to Content-Length when that is shorter.
func Parse(b []byte, m *Message) error {
	m.reset()
	for len(b) > 0 && (b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	end, pos := lineAt(b, 0)
	if pos == end || !sipframe.IsStartLine(b[:end]) { // no line end, or not a start line
		return ErrNotSIP
	}
	if err := m.parseStartLine(b[:end]); err != nil {
		return err
	}
	var haveCSeq bool
	for pos < len(b) {
		end, next := lineAt(b, pos)
		if end == pos {
			pos = next
			break // blank line: end of headers
		}
		// Folded header: continuation lines start with white space and
		// extend the value (RFC 3261 section 7.3.1).
		for next < len(b) && (b[next] == ' ' || b[next] == '\t') {
			end, next = lineAt(b, next)
		}
		line := b[pos:end]
		pos = next
		// The name is short: a plain loop finds the colon sooner than a
		// vector search's setup would.
		colon := 0
		for colon < len(line) && line[colon] != ':' {
			colon++
		}
		if colon == 0 || colon == len(line) {
			continue // not a header line: tolerated, as receivers do
		}
		h := headerOf(trimLWS(line[:colon]))
		if h == hOther {
			continue // most headers are not needed: do not even trim them
		}
		value := trimLWS(line[colon+1:])
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
			if m.Vias == 0 {
				parseVia(value, &m.Via)
			}
			m.Vias += countValues(value)
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

// lineAt returns where the line starting at pos ends (before CR LF or a
// bare LF) and where the next line starts.
func lineAt(b []byte, pos int) (end, next int) {
	i := bytes.IndexByte(b[pos:], '\n')
	if i < 0 {
		return len(b), len(b)
	}
	end, next = pos+i, pos+i+1
	if end > pos && b[end-1] == '\r' {
		end--
	}
	return end, next
}

func (m *Message) parseStartLine(line []byte) error {
	if hasPrefixFold(line, sipVersionBytes) {
		r := line[len(sipVersionBytes)+1:]
		m.Status = int(r[0]-'0')*100 + int(r[1]-'0')*10 + int(r[2]-'0')
		if m.Status < 100 {
			return ErrStartLine
		}
		if len(r) > 4 {
			m.Reason = trimLWS(r[4:])
		}
		return nil
	}
	sp := bytes.IndexByte(line, ' ')
	m.Request = true
	m.Method = line[:sp]
	r := line[sp+1:]
	sp2 := bytes.IndexByte(r, ' ')
	m.URI = r[:sp2]
	return nil
}

var sipVersionBytes = []byte("SIP/2.0")

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
	if lt := indexUnquoted(v, '<'); lt >= 0 {
		if gt := bytes.IndexByte(v[lt:], '>'); gt >= 0 {
			a.URI, params = v[lt+1:lt+gt], v[lt+gt+1:]
		} else {
			a.URI = v[lt+1:]
		}
	} else if sc := bytes.IndexByte(v, ';'); sc >= 0 {
		// addr-spec form: parameters after the URI belong to the header.
		a.URI, params = trimLWS(v[:sc]), v[sc:]
	} else {
		a.URI = v
	}
	a.URI = trimLWS(a.URI)
	a.Tag = param(params, "tag")
}

// parseVia reads the first value of a Via header into via, which is zero:
// SIP / 2.0 / transport LWS sent-by *( SEMI via-params ).
func parseVia(v []byte, via *Via) {
	// Skip "SIP / 2.0 /", allowing LWS around the slashes.
	slashes := 0
	if len(v) > 8 && string(v[:8]) == "SIP/2.0/" {
		v, slashes = v[8:], 2 // as nearly everyone writes it
	}
	for ; slashes < 2; slashes++ {
		i := 0
		for i < len(v) && v[i] != '/' {
			i++
		}
		if i == len(v) {
			return
		}
		v = v[i+1:]
	}
	v = trimLeftLWS(v)
	i := 0
	for i < len(v) && !isLWS(v[i]) && v[i] != ';' {
		i++
	}
	via.Transport, v = v[:i], trimLeftLWS(v[i:])
	if bytes.IndexByte(v, ',') >= 0 { // rare: several values on the line
		if c := indexUnquoted(v, ','); c >= 0 {
			v = v[:c]
		}
	}
	i = 0
	for i < len(v) && v[i] != ';' {
		i++
	}
	via.SentBy = trimLWS(v[:i])
	via.Branch = param(v[i:], "branch")
}

// countValues counts the comma-separated values of a header line.
func countValues(v []byte) int {
	if bytes.IndexByte(v, ',') < 0 {
		return 1 // the common case, found with a vector search
	}
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
		i := k + 2
		for i < n && params[i] != ';' && params[i] != ',' {
			i++
		}
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
			for i < n && params[i] != ';' && params[i] != ',' {
				i++
			}
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

func isLWS(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

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
