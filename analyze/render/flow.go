package render

import (
	"fmt"
	"html"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/sipalive/sipalive/analyze"
)

// FlowText draws a call flow as a text ladder: one column per party, one
// arrow per message with its time offset; keep-alives are marked with ◆.
func FlowText(w io.Writer, f *analyze.Flow) error {
	f = safeFlow(f)
	idx := partyIndex(f)
	labels := make([]string, len(f.Messages))
	colWidth := 24 // the distance between two lifelines: fits the longest label
	for i, m := range f.Messages {
		labels[i] = flowLabel(m)
		colWidth = max(colWidth, utf8.RuneCountInString(labels[i])+8)
	}
	for i := range f.Parties {
		colWidth = max(colWidth, utf8.RuneCountInString(f.Parties[i])+2, utf8.RuneCountInString(f.Agents[i])+2)
	}
	fmt.Fprintf(w, "Call-ID: %s%s\n\n", f.CallID, startedAt(f))
	head, agents := strings.Repeat(" ", 11), strings.Repeat(" ", 11)
	for i, p := range f.Parties {
		head += pad(p, colWidth)
		agents += pad(orDash(f.Agents[i]), colWidth)
	}
	fmt.Fprintln(w, strings.TrimRight(head, " "))
	fmt.Fprintln(w, strings.TrimRight(agents, " "))
	if len(f.Messages) == 0 {
		return nil
	}
	t0 := f.Messages[0].Time
	for i, m := range f.Messages {
		line := []rune(strings.Repeat(" ", colWidth*(len(f.Parties)-1)+1))
		for p := range f.Parties {
			line[p*colWidth] = '│'
		}
		a, b := idx[m.Src.String()], idx[m.Dst.String()]
		lo, hi := min(a, b)*colWidth, max(a, b)*colWidth
		if a == b { // a message to itself: a short loop to the right
			line = append(line, []rune(strings.Repeat(" ", colWidth))...)
			hi = lo + colWidth - 1
		}
		for x := lo + 1; x < hi; x++ {
			line[x] = '─'
		}
		if b >= a {
			line[hi-1] = '▶'
		} else {
			line[lo+1] = '◀'
		}
		lr := []rune(" " + labels[i] + " ")
		start := lo + (hi-lo-len(lr))/2 + 1
		copy(line[start:], lr)
		fmt.Fprintf(w, "%9.3fs  %s\n", m.Time.Sub(t0).Seconds(), strings.TrimRight(string(line), " "))
	}
	fmt.Fprintln(w, "\n◆ session keep-alive (in-dialog request without SDP) and its answer")
	return nil
}

func flowLabel(m analyze.FlowMessage) string {
	label := m.Label
	if m.SDP {
		label += " +SDP"
	}
	if m.KeepAlive {
		label = "◆ " + label
	}
	return label
}

func partyIndex(f *analyze.Flow) map[string]int {
	idx := map[string]int{}
	for i, p := range f.Parties {
		idx[p] = i
	}
	return idx
}

func pad(s string, n int) string {
	return s + strings.Repeat(" ", max(1, n-utf8.RuneCountInString(s)))
}

// FlowSVG draws the same ladder as an SVG picture.
func FlowSVG(w io.Writer, f *analyze.Flow) error {
	f = safeFlow(f) // and html.EscapeString where it is written: well-formed XML
	const (
		rowH   = 28
		top    = 70
		margin = 40
		charW  = 7.3 // width of a 12 px monospace character
	)
	colW, left := 260, 110
	for _, m := range f.Messages {
		colW = max(colW, int(float64(utf8.RuneCountInString(flowLabel(m)))*charW)+50)
	}
	for i := range f.Parties {
		w := max(utf8.RuneCountInString(f.Parties[i]), utf8.RuneCountInString(f.Agents[i]))
		left = max(left, int(float64(w)*charW/2)+20)
	}
	width := left + colW*max(1, len(f.Parties)-1) + margin*3
	height := top + rowH*(len(f.Messages)+1) + margin
	idx := partyIndex(f)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="monospace" font-size="12">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="14" font-weight="bold">Call-ID: %s%s</text>`+"\n", html.EscapeString(f.CallID), html.EscapeString(startedAt(f)))
	fmt.Fprintf(&b, `<defs><marker id="arrow" markerWidth="10" markerHeight="8" refX="9" refY="4" orient="auto"><path d="M0,0 L10,4 L0,8 z" fill="#333"/></marker>`+
		`<marker id="karrow" markerWidth="10" markerHeight="8" refX="9" refY="4" orient="auto"><path d="M0,0 L10,4 L0,8 z" fill="`+keepAliveColor+`"/></marker></defs>`+"\n")
	for i, p := range f.Parties {
		x := left + i*colW
		fmt.Fprintf(&b, `<text x="%d" y="42" text-anchor="middle" font-weight="bold">%s</text>`+"\n", x, html.EscapeString(p))
		fmt.Fprintf(&b, `<text x="%d" y="58" text-anchor="middle" fill="#555">%s</text>`+"\n", x, html.EscapeString(orDash(f.Agents[i])))
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#999" stroke-dasharray="4,3"/>`+"\n", x, top, x, height-margin)
	}
	if len(f.Messages) > 0 {
		t0 := f.Messages[0].Time
		for i, m := range f.Messages {
			y := top + rowH*(i+1)
			x1, x2 := left+idx[m.Src.String()]*colW, left+idx[m.Dst.String()]*colW
			if x1 == x2 {
				x2 = x1 + colW/2
			}
			color, marker := answerColor(m), "arrow"
			label := flowLabel(m)
			if m.KeepAlive && m.Request {
				color, marker = keepAliveColor, "karrow"
			}
			fmt.Fprintf(&b, `<text x="10" y="%d" fill="#555">%.3fs</text>`+"\n", y, m.Time.Sub(t0).Seconds())
			fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="1.5" marker-end="url(#%s)"/>`+"\n", x1, y, x2, y, color, marker)
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" fill="%s">%s</text>`+"\n", (x1+x2)/2, y-5, color, html.EscapeString(label))
		}
	}
	fmt.Fprintf(&b, `<text x="10" y="%d"><tspan fill="%s">◆ session keep-alive (in-dialog request without SDP)</tspan>; answers: <tspan fill="%s">2xx</tspan> <tspan fill="%s">481</tspan> <tspan fill="%s">405/501</tspan> <tspan fill="%s">other</tspan></text>`+"\n",
		height-12, keepAliveColor, color2xx, color481, colorUnsupported, colorRefused)
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// FlowHTML wraps the SVG in a page.
func FlowHTML(w io.Writer, f *analyze.Flow) error {
	fmt.Fprintf(w, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>sipalive flow %s</title></head><body>\n", html.EscapeString(Text(f.CallID)))
	if err := FlowSVG(w, f); err != nil {
		return err
	}
	_, err := io.WriteString(w, "</body></html>\n")
	return err
}

// Colours of the SVG flow: a keep-alive request, and answers by class.
const (
	keepAliveColor   = "#1f4e99"
	color2xx         = "#1e8449"
	color481         = "#c0392b"
	colorUnsupported = "#d35400"
	colorRefused     = "#8e44ad"
	colorOther       = "#333"
)

// answerColor colours a response by what it says of the dialog: 2xx, 481
// (the dialog is lost), 405/501 (method unsupported), another refusal.
func answerColor(m analyze.FlowMessage) string {
	if m.Request || m.Status < 200 {
		return colorOther
	}
	return statusColor(m.Status)
}

// statusColor colours a final status code (see answerColor).
func statusColor(s int) string {
	switch {
	case s < 300:
		return color2xx
	case s == 481:
		return color481
	case s == 405 || s == 501:
		return colorUnsupported
	}
	return colorRefused
}

// startedAt is when a flow's first message was seen, for its title.
func startedAt(f *analyze.Flow) string {
	if len(f.Messages) == 0 {
		return ""
	}
	return ", started " + f.Messages[0].Time.UTC().Format("2006-01-02 15:04:05.000") + " UTC"
}
