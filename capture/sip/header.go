package sip

import (
	"encoding/binary"
	"math/bits"
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
	hMinExpires
	hExpires
	hSupported
	hRequire
	hAllow
	hReason
	// hGeneric says the fast match could not decide: the name is
	// followed by white space, so the colon must be looked for.
	hGeneric
)

// headerName is a wanted header's full name as two little-endian words,
// lower case, with the mask that folds an input's letters to lower case
// (0x20 on the letters only, so that no other byte can fold onto one) and
// the mask that keeps the name's bytes of two words read from a line.
type headerName struct {
	lower [2]uint64
	fold  [2]uint64
	keep  [2]uint64
	h     header
}

// maxWantedName is the longest wanted name (Session-Expires).
const maxWantedName = 15

// wantedNames are the full names the scanner extracts; compact forms are
// one letter and handled apart.
var wantedNames = []struct {
	name string
	h    header
}{
	{"call-id", hCallID}, {"from", hFrom}, {"to", hTo}, {"cseq", hCSeq}, {"via", hVia},
	{"content-type", hContentType}, {"content-length", hContentLength},
	{"user-agent", hUserAgent}, {"server", hServer}, {"session-expires", hSessionExpires},
	{"min-se", hMinSE}, {"min-expires", hMinExpires}, {"expires", hExpires}, {"supported", hSupported},
	{"require", hRequire}, {"allow", hAllow}, {"reason", hReason},
}

// Tables built from wantedNames. No two wanted names share both their
// length and their first letter, so (length, letter) picks at most one
// candidate and one comparison settles a name.
var (
	headerNames [32]headerName               // [0] is unused: 0 means none
	candidate   [maxWantedName + 1][32]uint8 // index into headerNames, by length and first letter
	compact     [256]header                  // the compact forms (RFC 3261 section 7.3.3, RFC 4028 for "x")
	// firstOfWanted is non-zero for the bytes a wanted header line can
	// start with: the first letters of the wanted names in both cases,
	// and white space (the first line after the start line, trimmed).
	firstOfWanted [256]uint8
)

func init() {
	for k, w := range wantedNames {
		var n headerName
		for i := 0; i < len(w.name); i++ {
			c := uint64(w.name[i])
			n.lower[i/8] |= c << (8 * (i % 8))
			n.keep[i/8] |= 0xff << (8 * (i % 8))
			if c >= 'a' && c <= 'z' {
				n.fold[i/8] |= 0x20 << (8 * (i % 8))
			}
		}
		n.h = w.h
		first := w.name[0] - 'a'
		if candidate[len(w.name)][first] != 0 {
			panic("sip: two wanted header names share length and first letter: " + w.name)
		}
		candidate[len(w.name)][first] = uint8(k + 1)
		headerNames[k+1] = n
		firstOfWanted[w.name[0]], firstOfWanted[w.name[0]-0x20] = 1, 1
	}
	for c, h := range map[byte]header{'i': hCallID, 'f': hFrom, 't': hTo, 'v': hVia, 'c': hContentType,
		'l': hContentLength, 'k': hSupported, 'x': hSessionExpires} {
		compact[c], compact[c-0x20] = h, h
		firstOfWanted[c], firstOfWanted[c-0x20] = 1, 1
	}
	for _, c := range []byte{' ', '\t', '\r'} {
		firstOfWanted[c] = 1
	}
}

// headerOf maps the header name s[:n], full or compact, to the header it
// names. s may run on past the name (the rest of its line), which lets the
// name be read as whole words. It is case-insensitive and does not
// allocate.
func headerOf(s []byte, n int) header {
	if n == 0 {
		return hOther
	}
	var w1 uint64
	if n > 8 {
		w1 = load(s[8:])
	}
	return nameOf(s[0], n, load(s), w1)
}

// nameOf names the header whose name is n bytes long, starts with first
// and is held, with whatever follows it, in the little-endian words w0
// and w1 (its bytes 0-7 and 8-15).
func nameOf(first byte, n int, w0, w1 uint64) header {
	if n == 1 {
		return compact[first]
	}
	if n > maxWantedName {
		return hOther
	}
	// Letters past 'z' and bytes below 'a' (after folding) wrap into
	// slots 26-31 or outside the table's names: no candidate there.
	k := candidate[n][((first|0x20)-'a')&31]
	if k == 0 {
		return hOther
	}
	if w := &headerNames[k&31]; (w0&w.keep[0])|w.fold[0] == w.lower[0] && (w1&w.keep[1])|w.fold[1] == w.lower[1] {
		return w.h
	}
	return hOther
}

// matchHeader recognises a header line written "Name:", as nearly every
// stack writes them, from the first two words of the line: it finds the
// colon among their bytes, picks the one wanted name of that length and
// first letter, and compares it as masked words. It returns the header and
// the index of the colon, hOther when the line names no wanted header, and
// hGeneric when it cannot tell (white space between the name and the
// colon). line starts with its name's first byte.
func matchHeader(line []byte) (header, int) {
	var w0, w1 uint64
	if len(line) >= 16 {
		w0, w1 = binary.LittleEndian.Uint64(line), binary.LittleEndian.Uint64(line[8:])
	} else {
		w0 = load(line) // zero past the end: no colon, no white space
		if len(line) > 8 {
			w1 = load(line[8:])
		}
	}
	var n int
	if t := zeroByte(w0 ^ (':' * lsb)); t != 0 {
		n = bits.TrailingZeros64(t) >> 3
	} else if t := zeroByte(w1 ^ (':' * lsb)); t != 0 {
		n = 8 + bits.TrailingZeros64(t)>>3
	} else if lws(w0)|lws(w1) != 0 {
		return hGeneric, 0 // the colon may come after white space
	} else {
		return hOther, 0 // a name longer than any wanted one
	}
	if n == 0 {
		return hOther, 0
	}
	if isLWS(line[n-1]) {
		return hGeneric, 0
	}
	if h := nameOf(line[0], n, w0, w1); h != hOther {
		return h, n
	}
	return hOther, 0
}

// lws has the top bit set of bytes of x that are white space or line
// ends (and possibly of bytes above them).
func lws(x uint64) uint64 {
	return zeroByte(x^(' '*lsb)) | zeroByte(x^('\t'*lsb)) | zeroByte(x^('\r'*lsb)) | zeroByte(x^('\n'*lsb))
}

// load reads the first eight bytes of b as a little-endian word, zero
// past the end of b.
func load(b []byte) uint64 {
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
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// zeroByte has the top bit set of the lowest zero byte of x (and possibly
// of bytes above it, which callers ignore).
func zeroByte(x uint64) uint64 { return (x - lsb) &^ x & msb }

// indexColon returns the index of the first ':' in b, or -1.
func indexColon(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if t := zeroByte(binary.LittleEndian.Uint64(b[i:]) ^ (':' * lsb)); t != 0 {
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

// indexParamEnd returns the index of the first ';' or ',' in b, or len(b):
// where a parameter's value ends.
func indexParamEnd(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		if t := zeroByte(w^(';'*lsb)) | zeroByte(w^(','*lsb)); t != 0 {
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
