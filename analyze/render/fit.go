package render

import (
	"strings"

	"github.com/olekukonko/tablewriter/pkg/twwidth"
)

// Fitting a table to the terminal: a table is as wide as its columns'
// widest cells plus three columns of border and padding per column and
// one more. When that is wider than the page, the widest columns give way
// first, one column of text at a time, down to a floor; then cells wider
// than their column are reshaped: text with spaces wraps inside the cell,
// a single token (a Call-ID, an address) is elided in the middle, where
// two Call-IDs of one stack differ least ("a84b4c76e66710…@pc33.example.com").
// JSON and CSV always carry whole values, and --wide prints tables whole.

// Column floors: a column is first narrowed to no less than roomyFloor,
// and only if the table still does not fit, to tightFloor.
const (
	roomyFloor = 10
	tightFloor = 4
	// textMeasure is the narrowest a column of text is wrapped to while
	// other columns can still give.
	textMeasure = 24
)

// tableWidth is the width of a table whose columns have these widths
// (negative: a column left out).
func tableWidth(widths []int) int {
	w := 1
	for _, c := range widths {
		if c >= 0 {
			w += c + 3
		}
	}
	return w
}

// cellWidth is the display width of a cell's widest line.
func cellWidth(s string) int {
	w := 0
	for line := range strings.SplitSeq(s, "\n") {
		w = max(w, twwidth.Width(line))
	}
	return w
}

// fitColumns returns the width each column gets for the table to be at
// most width wide (0: no limit), given every row (the header among them),
// and the columns left out. Text gives way first, down to its longest
// word: wrapping it loses nothing. Then the optional columns go, in the
// order given (the sheet says which and ends with a line naming them).
// Then tokens are elided, the widest columns first.
func fitColumns(rows [][]string, width int, optional []int) (widths []int, dropped []int) {
	n := 0
	for _, row := range rows {
		n = max(n, len(row))
	}
	natural := make([]int, n)
	words := make([]int, n) // the widest word of each column
	for _, row := range rows {
		for i, c := range row {
			natural[i] = max(natural[i], cellWidth(c))
			for w := range strings.FieldsSeq(c) {
				words[i] = max(words[i], twwidth.Width(w))
			}
		}
	}
	widths = append([]int(nil), natural...)
	fits := func() bool { return width <= 0 || tableWidth(widths) <= width }
	if fits() {
		return widths, nil
	}
	narrow := func(floor func(i int) int) {
		for !fits() {
			widest := -1
			for i, w := range widths {
				if w >= 0 && w > floor(i) && (widest < 0 || w > widths[widest]) {
					widest = i
				}
			}
			if widest < 0 {
				return
			}
			widths[widest]--
		}
	}
	// Text keeps a readable measure while tokens still have room to give.
	textFloor := func(i int) int { return min(natural[i], max(words[i], textMeasure)) }
	narrow(textFloor)
	for _, i := range optional {
		if fits() {
			break
		}
		if i < n && widths[i] >= 0 {
			widths[i] = -1
			dropped = append(dropped, i)
		}
	}
	if fits() {
		return widths, dropped
	}
	narrow(func(i int) int {
		if words[i] < natural[i] { // text: wraps
			return textFloor(i)
		}
		return min(natural[i], roomyFloor)
	})
	narrow(func(i int) int { return min(natural[i], max(words[i], 1)) })
	for _, floor := range []int{roomyFloor, tightFloor, 1} {
		narrow(func(i int) int { return min(natural[i], floor) })
	}
	return widths, dropped
}

// fitRows reshapes the cells wider than their column (see fitColumns).
func fitRows(rows [][]string, widths []int) {
	for _, row := range rows {
		for i, c := range row {
			if cellWidth(c) > widths[i] {
				row[i] = fitCell(c, widths[i])
			}
		}
	}
}

// fitCell makes a cell at most width wide: each line with spaces wraps at
// them, and what is still too wide (a token) is elided in the middle.
func fitCell(s string, width int) string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		for _, l := range wrapWords(line, width) {
			out = append(out, elideMiddle(l, width))
		}
	}
	return strings.Join(out, "\n")
}

// wrapWords breaks a line at spaces into lines of at most width, where
// the words allow it.
func wrapWords(line string, width int) []string {
	if twwidth.Width(line) <= width || !strings.Contains(line, " ") {
		return []string{line}
	}
	var lines []string
	cur := ""
	for _, word := range strings.Fields(line) {
		switch {
		case cur == "":
			cur = word
		case twwidth.Width(cur)+1+twwidth.Width(word) <= width:
			cur += " " + word
		default:
			lines = append(lines, cur)
			cur = word
		}
	}
	return append(lines, cur)
}

// elideMiddle keeps the start and the end of s, at most width wide in
// all, with "…" between them.
func elideMiddle(s string, width int) string {
	if twwidth.Width(s) <= width {
		return s
	}
	switch {
	case width < 1:
		return ""
	case width == 1:
		return "…"
	}
	runes := []rune(s)
	head, tail := width/2, (width-1)/2
	// Count display widths from each end.
	var hb, tb strings.Builder
	used := 0
	i := 0
	for ; i < len(runes); i++ {
		rw := twwidth.Width(string(runes[i]))
		if used+rw > head {
			break
		}
		hb.WriteRune(runes[i])
		used += rw
	}
	used = 0
	j := len(runes)
	for j > i {
		rw := twwidth.Width(string(runes[j-1]))
		if used+rw > tail {
			break
		}
		used += rw
		j--
	}
	for _, r := range runes[j:] {
		tb.WriteRune(r)
	}
	return hb.String() + "…" + tb.String()
}
