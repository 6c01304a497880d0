package sip

// The scanner as it was before the speed work of 2026-12-02, kept as the
// reference the current one is compared with (TestParseMatchesReference,
// FuzzParseMatchesReference): same fields, same errors, for any input.

import (
	"bytes"
	"encoding/binary"
	"math/bits"

	"github.com/sipalive/sipalive/capture/sipframe"
)

// refParse scans one SIP message held whole in b (a UDP datagram or a message
// already framed out of a stream) into m. The body is what follows the blank
// line, cut to Content-Length when that is shorter.
func refParse(b []byte, m *Message) error {
	m.reset()
	for len(b) > 0 && (b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	end, pos := refLineEnd(b, 0, bytes.IndexByte(b, '\n'))
	var sl sipframe.StartLine
	if pos == end || !sipframe.ParseStartLine(b[:end], &sl) { // no line end, or not a start line
		return ErrNotSIP
	}
	if sl.Status != 0 && sl.Status < 100 {
		return ErrStartLine
	}
	m.Request, m.Method, m.URI, m.Status, m.Reason = sl.Status == 0, sl.Method, sl.URI, sl.Status, refTrimLWS(sl.Reason)
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
		end, next := refLineEnd(b, pos, refIndexLF(b, pos))
		// Folded header: continuation lines start with white space and
		// extend the value (RFC 3261 section 7.3.1).
		for next < len(b) && (b[next] == ' ' || b[next] == '\t') {
			end, next = refLineEnd(b, next, refIndexLF(b, next))
		}
		line := b[pos:end]
		pos = next
		if refFirstOfWanted[c] == 0 {
			continue // most headers are not needed: not even their colon is looked for
		}
		h, colon := hOther, 0
		if c > ' ' {
			h, colon = refMatchHeader(line)
		}
		if h == hGeneric || c <= ' ' {
			// White space before the colon, or (the first line after the
			// start line only) before the name.
			if colon = refIndexColon(line); colon <= 0 {
				continue // not a header line: tolerated, as receivers do
			}
			name := refTrimLWS(line[:colon])
			h = refHeaderOf(name, len(name))
		}
		if h == hOther {
			continue
		}
		value := line[colon+1:]
		if len(value) > 1 && value[0] == ' ' && value[1] > ' ' {
			value = value[1:] // "Name: value", as nearly everyone writes it
		} else {
			value = refTrimLeftLWS(value)
		}
		for len(value) > 0 && refIsLWS(value[len(value)-1]) {
			value = value[:len(value)-1]
		}
		switch h {
		case hCallID:
			if len(m.CallID) == 0 {
				m.CallID = value
			}
		case hFrom:
			if len(m.From.URI) == 0 {
				refParseAddress(value, &m.From)
			}
		case hTo:
			if len(m.To.URI) == 0 {
				refParseAddress(value, &m.To)
			}
		case hCSeq:
			if !haveCSeq {
				haveCSeq = true
				if !refParseCSeq(m, value) {
					return ErrBadCSeq
				}
			}
		case hVia:
			m.Vias += refParseVia(value, &m.Via, m.Vias == 0)
		case hContentType:
			m.ContentType = value
		case hContentLength:
			if n, ok := refAtoi(value); ok {
				m.ContentLength = n
			}
		case hUserAgent:
			m.UserAgent = value
		case hServer:
			m.Server = value
		case hSessionExpires:
			refParseSessionExpires(m, value)
		case hMinSE:
			if n, ok := refAtoi(refLeadingDigits(value)); ok {
				m.MinSE = uint32(n)
			}
		case hExpires:
			if n, ok := refAtoi(value); ok {
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

// refIndexLF returns the index of the first line feed at or after pos, or -1.
func refIndexLF(b []byte, pos int) int {
	if i := bytes.IndexByte(b[pos:], '\n'); i >= 0 {
		return pos + i
	}
	return -1
}

// refLineEnd returns where the line starting at start ends (before CR LF or a
// bare LF) and where the next line starts, given the index of its line
// feed (-1: none, the line runs to the end of b).
func refLineEnd(b []byte, start, lf int) (end, next int) {
	if lf < 0 {
		return len(b), len(b)
	}
	end = lf
	if end > start && b[end-1] == '\r' {
		end--
	}
	return end, lf + 1
}

func refParseCSeq(m *Message, v []byte) bool {
	i := 0
	for i < len(v) && refIsDigit(v[i]) {
		i++
	}
	if i == 0 || i > 10 {
		return false
	}
	n, _ := refAtoi(v[:i])
	if n > 1<<32-1 {
		return false
	}
	m.CSeq = uint32(n)
	m.CSeqMethod = refTrimLWS(v[i:])
	return len(m.CSeqMethod) > 0
}

func refParseSessionExpires(m *Message, v []byte) {
	if n, ok := refAtoi(refLeadingDigits(v)); ok {
		m.SessionExpires = uint32(n)
	}
	if sc := bytes.IndexByte(v, ';'); sc >= 0 {
		m.Refresher = refParam(v[sc:], "refresher")
	}
}

// refParseAddress reads name-addr or addr-spec followed by header parameters
// into a, which is zero. It writes in place: a returned struct costs a
// copy per header.
func refParseAddress(v []byte, a *Address) {
	var params []byte
	lt := 0
	if len(v) == 0 || v[0] != '<' { // most have no display name
		lt = refIndexUnquoted(v, '<')
	}
	if lt >= 0 {
		if gt := bytes.IndexByte(v[lt:], '>'); gt >= 0 {
			a.URI, params = v[lt+1:lt+gt], v[lt+gt+1:]
		} else {
			a.URI = v[lt+1:]
		}
	} else if sc := bytes.IndexByte(v, ';'); sc >= 0 {
		// addr-spec form: parameters after the URI belong to the header.
		a.URI, params = refTrimLWS(v[:sc]), v[sc:]
	} else {
		a.URI = v
	}
	a.URI = refTrimLWS(a.URI)
	a.Tag = refParam(params, "tag")
}

// refParseVia counts the comma-separated values of a Via header line and,
// when first, reads its first value into via, which is zero:
// SIP / 2.0 / transport LWS sent-by *( SEMI via-params ).
func refParseVia(v []byte, via *Via, first bool) int {
	comma := bytes.IndexByte(v, ',') >= 0 // rare: several values on the line
	values := 1
	if comma {
		values = refCountValues(v)
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
	v = refTrimLeftLWS(v)
	i := 0
	for i < len(v) && !refIsLWS(v[i]) && v[i] != ';' {
		i++
	}
	via.Transport, v = v[:i], refTrimLeftLWS(v[i:])
	if comma {
		if c := refIndexUnquoted(v, ','); c >= 0 {
			v = v[:c]
		}
	}
	i = bytes.IndexByte(v, ';')
	if i < 0 {
		i = len(v)
	}
	via.SentBy = refTrimLWS(v[:i])
	via.Branch = refParam(v[i:], "branch")
	return values
}

// refCountValues counts the comma-separated values of a header line.
func refCountValues(v []byte) int {
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

// refParam finds ;name=value in a parameter list and returns value, with
// quotes removed. A parameter without a value returns nil. Parameter lists
// are short, so one plain pass beats repeated vector searches.
func refParam(params []byte, name string) []byte {
	n := len(params)
	// Fast path: the parameter comes first, written ;name=value.
	if k := len(name); n > k+1 && params[0] == ';' && params[k+1] == '=' && refEqualFoldString(params[1:k+1], name) {
		i := k + 2 + refIndexParamEnd(params[k+2:])
		val := refTrimLWS(params[k+2 : i])
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
		for i < n && refIsLWS(params[i]) {
			i++
		}
		k := i
		for i < n && !refIsLWS(params[i]) && params[i] != '=' && params[i] != ';' && params[i] != ',' {
			i++
		}
		key := params[k:i]
		for i < n && refIsLWS(params[i]) {
			i++
		}
		if i < n && params[i] != '=' && params[i] != ';' && params[i] != ',' {
			continue // a key with white space inside is no parameter name
		}
		var val []byte
		if i < n && params[i] == '=' {
			i++
			v := i
			i += refIndexParamEnd(params[i:])
			val = refTrimLWS(params[v:i])
		}
		if refEqualFoldString(key, name) {
			if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
				val = val[1 : len(val)-1]
			}
			return val
		}
	}
	return nil
}

// refIndexUnquoted finds c outside double-quoted strings. Header values are
// short and c is usually near their start, so a plain loop is the fastest.
func refIndexUnquoted(v []byte, c byte) int {
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

func refLeadingDigits(v []byte) []byte {
	i := 0
	for i < len(v) && refIsDigit(v[i]) {
		i++
	}
	return v[:i]
}

// refAtoi parses a non-negative decimal of at most 9 digits.
func refAtoi(v []byte) (int, bool) {
	if len(v) == 0 || len(v) > 10 {
		return 0, false
	}
	n := 0
	for _, c := range v {
		if !refIsDigit(c) {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func refIsDigit(c byte) bool { return c >= '0' && c <= '9' }

// refIsLWS reports white space and line ends. Nearly every byte it sees is
// above the space, which the first comparison settles.
func refIsLWS(c byte) bool { return c <= ' ' && (c == ' ' || c == '\t' || c == '\r' || c == '\n') }

func refTrimLeftLWS(b []byte) []byte {
	for len(b) > 0 && refIsLWS(b[0]) {
		b = b[1:]
	}
	return b
}

func refTrimLWS(b []byte) []byte {
	b = refTrimLeftLWS(b)
	for len(b) > 0 && refIsLWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func refEqualFoldString(b []byte, s string) bool {
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

// refHeaderName is a wanted header's full name as two little-endian words,
// lower case, with the mask that folds an input's letters to lower case
// (0x20 on the letters only, so that no other byte can fold onto one).
type refHeaderName struct {
	lower [2]uint64
	fold  [2]uint64
	h     header
}

// refMaxWantedName is the longest wanted name (Session-Expires).
const refMaxWantedName = 15

// refWantedNames are the full names the scanner extracts; refCompact forms are
// one letter and handled apart.
var refWantedNames = []struct {
	name string
	h    header
}{
	{"call-id", hCallID}, {"from", hFrom}, {"to", hTo}, {"cseq", hCSeq}, {"via", hVia},
	{"content-type", hContentType}, {"content-length", hContentLength},
	{"user-agent", hUserAgent}, {"server", hServer}, {"session-expires", hSessionExpires},
	{"min-se", hMinSE}, {"expires", hExpires}, {"supported", hSupported},
	{"require", hRequire}, {"allow", hAllow}, {"reason", hReason},
}

// Tables built from refWantedNames. No two wanted names share both their
// length and their first letter, so (length, letter) picks at most one
// refCandidate and one comparison settles a name.
var (
	refHeaderNames []refHeaderName                 // [0] is unused: 0 means none
	refCandidate   [refMaxWantedName + 1][26]uint8 // index into refHeaderNames
	refCompact     [256]header                     // the refCompact forms (RFC 3261 section 7.3.3, RFC 4028 for "x")
	// refFirstOfWanted is non-zero for the bytes a wanted header line can
	// start with: the first letters of the wanted names in both cases,
	// and white space (the first line after the start line, trimmed).
	refFirstOfWanted [256]uint8
)

func init() {
	refInit()
}

func refInit() {
	refHeaderNames = make([]refHeaderName, 1, len(refWantedNames)+1)
	for _, w := range refWantedNames {
		var n refHeaderName
		for i := 0; i < len(w.name); i++ {
			c := uint64(w.name[i])
			n.lower[i/8] |= c << (8 * (i % 8))
			if c >= 'a' && c <= 'z' {
				n.fold[i/8] |= 0x20 << (8 * (i % 8))
			}
		}
		n.h = w.h
		first := w.name[0] - 'a'
		if refCandidate[len(w.name)][first] != 0 {
			panic("sip: two wanted header names share length and first letter: " + w.name)
		}
		refCandidate[len(w.name)][first] = uint8(len(refHeaderNames))

		refHeaderNames = append(refHeaderNames, n)
		refFirstOfWanted[w.name[0]], refFirstOfWanted[w.name[0]-0x20] = 1, 1
	}
	for c, h := range map[byte]header{'i': hCallID, 'f': hFrom, 't': hTo, 'v': hVia, 'c': hContentType,
		'l': hContentLength, 'k': hSupported, 'x': hSessionExpires} {
		refCompact[c], refCompact[c-0x20] = h, h
		refFirstOfWanted[c], refFirstOfWanted[c-0x20] = 1, 1
	}
	for _, c := range []byte{' ', '\t', '\r'} {
		refFirstOfWanted[c] = 1
	}
}

// refHeaderOf maps the header name s[:n], full or refCompact, to the header it
// names. s may run on past the name (the rest of its line), which lets the
// name be read as whole words. It is case-insensitive and does not
// allocate.
func refHeaderOf(s []byte, n int) header {
	if n == 0 {
		return hOther
	}
	var w1 uint64
	if n > 8 {
		w1 = refLoad(s[8:])
	}
	return refNameOf(s[0], n, refLoad(s), w1)
}

// refNameOf names the header whose name is n bytes long, starts with first
// and is held, with whatever follows it, in the little-endian words w0
// and w1 (its bytes 0-7 and 8-15).
func refNameOf(first byte, n int, w0, w1 uint64) header {
	if n == 1 {
		return refCompact[first]
	}
	letter := (first | 0x20) - 'a'
	if n > refMaxWantedName || letter >= 26 {
		return hOther
	}
	k := refCandidate[n][letter]
	if k == 0 {
		return hOther
	}
	if n < 8 {
		w0, w1 = w0&(1<<(8*n)-1), 0
	} else {
		w1 &= 1<<(8*(n-8)) - 1
	}
	if w := &refHeaderNames[k]; w0|w.fold[0] == w.lower[0] && w1|w.fold[1] == w.lower[1] {
		return w.h
	}
	return hOther
}

// refMatchHeader recognises a header line written "Name:", as nearly every
// stack writes them, from the first two words of the line: it finds the
// colon among their bytes, picks the one wanted name of that length and
// first letter, and compares it as masked words. It returns the header and
// the index of the colon, hOther when the line names no wanted header, and
// hGeneric when it cannot tell (white space between the name and the
// colon). line starts with its name's first byte.
func refMatchHeader(line []byte) (header, int) {
	var w0, w1 uint64
	if len(line) >= 16 {
		w0, w1 = binary.LittleEndian.Uint64(line), binary.LittleEndian.Uint64(line[8:])
	} else {
		w0 = refLoad(line) // zero past the end: no colon, no white space
		if len(line) > 8 {
			w1 = refLoad(line[8:])
		}
	}
	var n int
	if t := refZeroByte(w0 ^ (':' * refLsb)); t != 0 {
		n = bits.TrailingZeros64(t) >> 3
	} else if t := refZeroByte(w1 ^ (':' * refLsb)); t != 0 {
		n = 8 + bits.TrailingZeros64(t)>>3
	} else if refLws(w0)|refLws(w1) != 0 {
		return hGeneric, 0 // the colon may come after white space
	} else {
		return hOther, 0 // a name longer than any wanted one
	}
	if n == 0 {
		return hOther, 0
	}
	if refIsLWS(line[n-1]) {
		return hGeneric, 0
	}
	if h := refNameOf(line[0], n, w0, w1); h != hOther {
		return h, n
	}
	return hOther, 0
}

// refLws has the top bit set of bytes of x that are white space or line
// ends (and possibly of bytes above them).
func refLws(x uint64) uint64 {
	return refZeroByte(x^(' '*refLsb)) | refZeroByte(x^('\t'*refLsb)) | refZeroByte(x^('\r'*refLsb)) | refZeroByte(x^('\n'*refLsb))
}

// refLoad reads the first eight bytes of b as a little-endian word, zero
// past the end of b.
func refLoad(b []byte) uint64 {
	if len(b) >= 8 {
		return binary.LittleEndian.Uint64(b)
	}
	var w uint64
	for i := len(b) - 1; i >= 0; i-- {
		w = w<<8 | uint64(b[i])
	}
	return w
}

// Word-at-a-time byte search (SWAR): a header name or parameter value is a
// few to a few dozen bytes, too short for a vector search to pay for its
// setup, so eight bytes are tested per step in a plain register.
const (
	refLsb = 0x0101010101010101
	refMsb = 0x8080808080808080
)

// refZeroByte has the top bit set of the lowest zero byte of x (and possibly
// of bytes above it, which callers ignore).
func refZeroByte(x uint64) uint64 { return (x - refLsb) &^ x & refMsb }

// refIndexColon returns the index of the first ':' in b, or -1.
func refIndexColon(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if t := refZeroByte(binary.LittleEndian.Uint64(b[i:]) ^ (':' * refLsb)); t != 0 {
			return i + bits.TrailingZeros64(t)>>3
		}
	}
	for ; i < len(b); i++ {
		if b[i] == ':' {
			return i
		}
	}
	return -1
}

// refIndexParamEnd returns the index of the first ';' or ',' in b, or len(b):
// where a parameter's value ends.
func refIndexParamEnd(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		if t := refZeroByte(w^(';'*refLsb)) | refZeroByte(w^(','*refLsb)); t != 0 {
			return i + bits.TrailingZeros64(t)>>3
		}
	}
	for ; i < len(b); i++ {
		if b[i] == ';' || b[i] == ',' {
			return i
		}
	}
	return len(b)
}
