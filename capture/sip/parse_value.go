package sip

import "bytes"

// The values of the numeric headers: CSeq (RFC 3261 section 20.16),
// Session-Expires and Min-SE (RFC 4028 sections 4 and 5).

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
