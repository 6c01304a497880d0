package sip

import "bytes"

// Binding is one Contact value of a REGISTER or of its answer: a URI the
// address of record is bound to, and the binding's expires parameter.
type Binding struct {
	URI     []byte // addr-spec, without angle brackets; "*" for all bindings
	Expires int    // the expires parameter in seconds; -1 when absent
}

// Bindings scans the Contact headers of the message in b (full or compact
// form, one or more values each) into dst and returns how many it found,
// at most len(dst).
//
// Parse leaves Contact out: only REGISTER and its answers need it, and
// there the expires parameter settles the interval (RFC 3261 section
// 10.2.1.1: it overrides the Expires header for its binding; section 10.3:
// the registrar's 2xx lists every binding of the address of record, each
// with the expires it granted). So these messages alone are read twice.
func Bindings(b []byte, dst []Binding) int {
	n := 0
	for len(b) > 0 && (b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	_, pos := lineEnd(b, 0, bytes.IndexByte(b, '\n')) // the start line
	for pos < len(b) && n < len(dst) {
		if b[pos] == '\n' || (b[pos] == '\r' && pos+1 < len(b) && b[pos+1] == '\n') {
			break // the blank line: the body follows
		}
		end, next := lineEnd(b, pos, indexLF(b, pos))
		for next < len(b) && (b[next] == ' ' || b[next] == '\t') { // folded
			end, next = lineEnd(b, next, indexLF(b, next))
		}
		line := b[pos:end]
		pos = next
		colon := indexColon(line)
		if colon <= 0 {
			continue
		}
		if name := trimLWS(line[:colon]); !equalFoldString(name, "contact") && !equalFoldString(name, "m") {
			continue
		}
		n += contactValues(trimLWS(line[colon+1:]), dst[n:])
	}
	return n
}

// contactValues splits a Contact header's value at the commas between
// its values (not those in a quoted display name or inside angle
// brackets) into dst, and returns how many it wrote.
func contactValues(v []byte, dst []Binding) int {
	n := 0
	for len(v) > 0 && n < len(dst) {
		end := indexValueEnd(v)
		if val := trimLWS(v[:end]); len(val) > 0 {
			dst[n] = binding(val)
			n++
		}
		if end == len(v) {
			break
		}
		v = v[end+1:]
	}
	return n
}

// indexValueEnd returns the index of the first comma of v outside quotes
// and angle brackets, or len(v).
func indexValueEnd(v []byte) int {
	inQuote, inAngle := false, false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case inQuote:
			if c == '\\' {
				i++
			} else if c == '"' {
				inQuote = false
			}
		case c == '"':
			inQuote = true
		case c == '<':
			inAngle = true
		case c == '>':
			inAngle = false
		case c == ',' && !inAngle:
			return i
		}
	}
	return len(v)
}

// binding reads one contact value: name-addr or addr-spec, then its
// parameters.
func binding(v []byte) Binding {
	uri, params := splitAddress(v)
	bd := Binding{URI: uri, Expires: -1}
	if e, ok := atoi(leadingDigits(param(params, "expires"))); ok {
		bd.Expires = e
	}
	return bd
}
