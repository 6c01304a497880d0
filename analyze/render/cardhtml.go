package render

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sipalive/sipalive/analyze/probe"
)

// CardHTML writes a probe's card as one self-contained HTML page: the
// card's tables and a timeline of what the probe sent (by the answer it
// got) and what the device sent (by the probe's answer). Every string
// from the device goes through esc.
func CardHTML(w io.Writer, c *probe.Card) error {
	var b strings.Builder
	title := "sipalive probe: " + c.Target
	fmt.Fprintf(&b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\n<title>%s</title><style>%s\n.good{color:%s}.bad{color:%s}</style></head><body><main>\n",
		esc(title), htmlStyle, color2xx, color481)
	fmt.Fprintf(&b, "<h1>%s</h1>\n<p class=\"muted\">%s UTC, %s; made by sipalive probe.</p>\n", esc(title),
		c.Started.UTC().Format("2006-01-02 15:04:05"), c.Ended.Sub(c.Started).Round(time.Second))
	fmt.Fprintf(&b, "<p><b>%s</b></p>\n", esc(CardAdvice(c)))
	cardTimeline(&b, c)
	for _, s := range cardSections(c) {
		fmt.Fprintf(&b, "<h2>%s</h2>\n<table>\n", esc(strings.ToLower(s.title[:1])+s.title[1:]))
		if s.header != nil {
			b.WriteString("<tr>")
			for _, h := range s.header {
				fmt.Fprintf(&b, "<th>%s</th>", esc(h))
			}
			b.WriteString("</tr>\n")
		}
		for _, row := range s.rows {
			b.WriteString("<tr>")
			for i, cell := range row {
				class := ""
				switch {
				case s.title == "VERDICT" && i == 0 && cell == "✓":
					class = ` class="good"`
				case s.title == "VERDICT" && i == 0 && cell == "✗":
					class = ` class="bad"`
				}
				fmt.Fprintf(&b, "<td%s>%s</td>", class, esc(cell))
			}
			b.WriteString("</tr>\n")
		}
		b.WriteString("</table>\n")
	}
	b.WriteString("</main></body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// codeColor colours a step's answer as the flow does; no answer grey.
func codeColor(code int, none bool) string {
	if none || code == 0 {
		return "#555"
	}
	return statusColor(code)
}

// cardTimeline draws the probe's requests and the device's on two lanes.
func cardTimeline(b *strings.Builder, c *probe.Card) {
	span := c.Ended.Sub(c.Started).Seconds()
	if span <= 0 {
		return
	}
	const width, left, lane = 1000.0, 130.0, 34.0
	x := func(t time.Time) float64 { return left + (width-left-10)*t.Sub(c.Started).Seconds()/span }
	fmt.Fprintf(b, "<h2>Timeline</h2>\n<svg width=\"%.0f\" height=\"%.0f\" role=\"img\" aria-label=\"requests over time\">\n", width, 2*lane+30)
	fmt.Fprintf(b, "<text x=\"8\" y=\"%.0f\">probe sent</text><text x=\"8\" y=\"%.0f\">device sent</text>\n", lane-8, 2*lane-8)
	for _, s := range c.Steps {
		if s.Sent.IsZero() {
			continue
		}
		fmt.Fprintf(b, "<circle cx=\"%.1f\" cy=\"%.0f\" r=\"5\" fill=\"%s\"><title>%s %s: %s</title></circle>\n",
			x(s.Sent), lane-12, codeColor(s.Code, s.NoAnswer), esc(s.Kind.String()), esc(s.Method), esc(answer(&s)))
	}
	for _, r := range c.Received {
		fmt.Fprintf(b, "<rect x=\"%.1f\" y=\"%.0f\" width=\"8\" height=\"8\" fill=\"%s\"><title>%s %s, answered %s</title></rect>\n",
			x(r.At)-4, 2*lane-16, codeColor(r.Answer, r.Answer == 0), esc(r.Method), esc(inDialogWord(r.InDialog)), esc(answerName(r.Answer)))
	}
	fmt.Fprintf(b, "<text x=\"%.0f\" y=\"%.0f\">0 s</text><text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%.1f s</text>\n</svg>\n",
		left, 2*lane+20, width-10, 2*lane+20, span)
}

func inDialogWord(in bool) string {
	if in {
		return "in the dialog"
	}
	return "outside a dialog"
}
