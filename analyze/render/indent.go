package render

import (
	"bytes"
	"encoding/json"
)

// marshalIndent is json.MarshalIndent: v marshalled, then laid out with
// prefix and one indent per level. json.Indent walks every byte through
// its validating scanner, a fifth of the time of a large JSON report;
// json.Marshal's output is valid by construction, so appendIndent needs
// to tell strings and brackets apart only.
func marshalIndent(v any, prefix, indent string) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return appendIndent(make([]byte, 0, len(b)+len(b)/2), b, prefix, indent), nil
}

// appendIndent appends src, compact JSON as json.Marshal writes it (no
// white space outside strings), to dst as json.Indent lays it out: a new
// line, prefix and one indent per level before each element, "[]" and
// "{}" kept together, a space after each colon.
func appendIndent(dst, src []byte, prefix, indent string) []byte {
	depth := 0
	open := false // a '{' or '[' was just written: its first element goes on a new line
	for i := 0; i < len(src); i++ {
		c := src[i]
		if open && c != '}' && c != ']' {
			open = false
			depth++
			dst = newline(dst, prefix, indent, depth)
		}
		switch c {
		case '"':
			end := stringEnd(src, i)
			dst = append(dst, src[i:end]...)
			i = end - 1
		case '{', '[':
			open = true
			dst = append(dst, c)
		case ',':
			dst = append(dst, c)
			dst = newline(dst, prefix, indent, depth)
		case ':':
			dst = append(dst, c, ' ')
		case '}', ']':
			if open {
				open = false // empty: kept on its line
			} else {
				depth--
				dst = newline(dst, prefix, indent, depth)
			}
			dst = append(dst, c)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// stringEnd returns the index just past the string that starts with the
// quote at src[i]: the next quote not escaped by a backslash.
func stringEnd(src []byte, i int) int {
	j := i + 1
	for {
		k := bytes.IndexByte(src[j:], '"')
		if k < 0 {
			return len(src)
		}
		j += k
		// the quote ends the string unless an odd run of backslashes
		// escapes it
		n := 0
		for b := j - 1; b > i && src[b] == '\\'; b-- {
			n++
		}
		j++
		if n%2 == 0 {
			return j
		}
	}
}

func newline(dst []byte, prefix, indent string, depth int) []byte {
	dst = append(dst, '\n')
	dst = append(dst, prefix...)
	for range depth {
		dst = append(dst, indent...)
	}
	return dst
}
