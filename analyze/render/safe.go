package render

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/sipalive/sipalive/analyze"
)

// Text makes a string from a capture safe to print on a terminal: control
// characters (C0 but the line feed, DEL, C1), the non-characters U+FFFE
// and U+FFFF, and bytes that are not UTF-8 are shown escaped as \xNN or
// \u{NNNN}, so that an escape sequence in a User-Agent cannot clear the
// screen or retitle the window, and the text stays valid XML.
func Text(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteByte('\n')
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r <= 0x9f, r == 0xfffe, r == 0xffff:
			fmt.Fprintf(&b, `\u{%x}`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// needsEscape reports whether Text has anything to do: nearly every
// string is printable ASCII, which it passes through untouched.
func needsEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\n') || c >= 0x7f {
			return true
		}
	}
	return false
}

// safeRows passes every cell of a table through Text.
func safeRows(rows [][]string) {
	for _, row := range rows {
		for i, cell := range row {
			row[i] = Text(cell)
		}
	}
}

// safeFlow returns a copy of f whose text from the capture went through
// Text, for the text, SVG and HTML flows.
func safeFlow(f *analyze.Flow) *analyze.Flow {
	out := &analyze.Flow{CallID: Text(f.CallID)}
	for _, p := range f.Parties {
		out.Parties = append(out.Parties, Text(p))
	}
	for _, a := range f.Agents {
		out.Agents = append(out.Agents, Text(a))
	}
	out.Messages = make([]analyze.FlowMessage, len(f.Messages))
	for i, m := range f.Messages {
		m.Label, m.Transport = Text(m.Label), Text(m.Transport)
		out.Messages[i] = m
	}
	return out
}
