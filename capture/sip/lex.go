package sip

import "bytes"

// The character classes and case-insensitive comparisons the start line,
// the framing and the header scan share (RFC 3261 section 25.1).

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
