package render

import (
	"fmt"
	"html"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sipalive/sipalive/analyze"
)

// The HTML report: one self-contained page to attach to a ticket, read
// offline (no script, no font, no fetch). Its charts are SVG drawn here.
// It summarises: the dialogs drawn on the timeline are the report's rows
// (problems first, up to --max-rows), the keep-alives those of the dialogs
// drawn; counts are complete. Every string from the capture goes through
// Text and is XML-escaped where it is written.

// htmlTimelineRows bounds the dialogs drawn on the timeline.
const htmlTimelineRows = 200

// HTML writes the report r as one HTML page.
func HTML(w io.Writer, r *analyze.Report) error {
	r = withWords(r)
	p := &htmlPage{r: r}
	p.head()
	p.overview()
	p.outcomes()
	p.pairs()
	p.matrix()
	p.timeline()
	p.intervals()
	p.findings()
	p.b.WriteString("</main></body></html>\n")
	_, err := io.WriteString(w, p.b.String())
	return err
}

type htmlPage struct {
	r *analyze.Report
	b strings.Builder
	// drawn maps a Call-ID drawn on the timeline to its anchor.
	drawn map[string]string
}

// esc makes capture text safe inside HTML or SVG text and attributes.
func esc(s string) string { return html.EscapeString(Text(s)) }

func (p *htmlPage) printf(format string, args ...any) { fmt.Fprintf(&p.b, format, args...) }

const htmlStyle = `body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#222;background:#fafafa}
main{max-width:1200px;margin:0 auto;padding:16px 24px}
h1{font-size:22px;margin:8px 0}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;background:#fff;font-size:13px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f0f0f0}td.n{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:#777}.legend span{display:inline-block;margin-right:14px}.sw{display:inline-block;width:11px;height:11px;margin-right:4px;vertical-align:-1px}
svg{background:#fff;border:1px solid #e4e4e4;display:block;margin:4px 0}svg text{font:12px system-ui,sans-serif;fill:#222}
a{color:#1f4e99}code{font-size:12px}`

func (p *htmlPage) head() {
	o := &p.r.Overview
	title := "sipalive report"
	if len(p.r.Inputs) == 1 {
		title += ": " + p.r.Inputs[0].Path
	}
	p.printf("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\n<title>%s</title><style>%s</style></head><body><main>\n", esc(title), htmlStyle)
	p.printf("<h1>%s</h1>\n<p class=\"muted\">", esc(title))
	if !o.Start.IsZero() {
		p.printf("%s → %s UTC · ", o.Start.UTC().Format("2006-01-02 15:04:05"), o.End.UTC().Format("2006-01-02 15:04:05"))
	}
	p.printf("made by sipalive; every count is complete, the drawings show the dialogs with problems first.</p>\n")
	p.legend()
}

// outcome colours, as the flow's, plus unanswered.
var outcomeColors = [...]struct {
	name, color string
}{{"2xx", color2xx}, {"481", color481}, {"405", colorUnsupported}, {"501", "#e67e22"}, {"other", colorRefused}, {"unanswered", "#555"}}

func (p *htmlPage) legend() {
	p.b.WriteString(`<p class="legend">answers: `)
	for _, c := range outcomeColors {
		p.printf(`<span><i class="sw" style="background:%s"></i>%s</span>`, c.color, c.name)
	}
	p.b.WriteString("</p>\n")
}

func (p *htmlPage) overview() {
	o := &p.r.Overview
	findings := 0
	for _, n := range p.r.FindingCounts {
		findings += n
	}
	p.b.WriteString("<h2 id=\"overview\">Overview</h2>\n<table>\n")
	for _, row := range []struct {
		k string
		v any
	}{
		{"files", o.Files}, {"packets read", o.Packets}, {"SIP messages", o.SIPMessages}, {"calls", o.Calls}, {"dialogs", o.Dialogs},
		{"dialogs with keep-alives", o.KeepAliveDialogs}, {"… with a keep-alive problem", o.ProblemDialogs}, {"findings", findings},
		{"malformed SIP messages", o.Malformed}, {"packets that were not SIP", o.NotSIP},
	} {
		p.printf("<tr><th>%s</th><td class=\"n\">%v</td></tr>\n", row.k, row.v)
	}
	p.b.WriteString("</table>\n")
	if len(p.r.FindingCounts) > 0 {
		p.b.WriteString("<p>")
		for _, k := range slices.Sorted(maps.Keys(p.r.FindingCounts)) {
			p.printf(`<a href="#findings">%s</a> ×%d &nbsp; `, esc(k.String()), p.r.FindingCounts[k])
		}
		p.b.WriteString("</p>\n")
	}
}

// counts lists an Outcomes' counts in outcomeColors' order.
func counts(o *analyze.Outcomes) [6]int {
	return [6]int{o.OK, o.C481, o.C405, o.C501, o.OtherFinal, o.Unanswered}
}

// bars draws one stacked horizontal bar per row, scaled to the largest.
func (p *htmlPage) bars(labels []string, rows [][6]int) {
	const rowH, labelW, barW = 22, 330, 720
	most := 1
	for _, c := range rows {
		n := 0
		for _, v := range c {
			n += v
		}
		most = max(most, n)
	}
	h := rowH*len(rows) + 10
	p.printf(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img">`+"\n", labelW+barW+80, h)
	for i, c := range rows {
		y := 5 + i*rowH
		p.printf(`<text x="6" y="%d">%s</text>`, y+15, esc(labels[i]))
		x, n := float64(labelW), 0
		for k, v := range c {
			if v == 0 {
				continue
			}
			wd := float64(v) / float64(most) * barW
			p.printf(`<rect x="%.1f" y="%d" width="%.1f" height="16" fill="%s"><title>%s: %d</title></rect>`, x, y+2, math.Max(wd, 1), outcomeColors[k].color, outcomeColors[k].name, v)
			x += wd
			n += v
		}
		p.printf(`<text x="%.1f" y="%d">%d</text>`+"\n", x+6, y+15, n)
	}
	p.b.WriteString("</svg>\n")
}

func (p *htmlPage) outcomes() {
	p.b.WriteString("<h2 id=\"keepalives\">Session keep-alives by method</h2>\n")
	if len(p.r.KeepAlives) == 0 {
		p.b.WriteString("<p class=\"muted\">No in-dialog request without SDP in the capture.</p>\n")
	} else {
		var labels []string
		var rows [][6]int
		for _, m := range p.r.KeepAlives {
			labels = append(labels, m.Method)
			rows = append(rows, counts(&m.Outcomes))
		}
		p.bars(labels, rows)
	}
	if len(p.r.Summary.DeviceKeepAlives) > 0 {
		p.b.WriteString("<h2 id=\"devices\">Device keep-alives (out-of-dialog OPTIONS and REGISTER)</h2>\n")
		var labels []string
		var rows [][6]int
		for _, m := range slices.Sorted(maps.Keys(p.r.Summary.DeviceKeepAlives)) {
			labels = append(labels, m)
			rows = append(rows, counts(p.r.Summary.DeviceKeepAlives[m]))
		}
		p.bars(labels, rows)
	}
}

// pairs draws the outcomes per vendor pair and method.
func (p *htmlPage) pairs() {
	if len(p.r.Matrix) == 0 {
		return
	}
	p.b.WriteString("<h2 id=\"pairs\">Keep-alive outcomes per vendor pair</h2>\n")
	var labels []string
	var rows [][6]int
	for _, m := range p.r.Matrix {
		labels = append(labels, fmt.Sprintf("%s → %s %s", m.Sender, m.Receiver, m.Method))
		rows = append(rows, counts(&m.Outcomes))
	}
	p.bars(labels, rows)
}

// matrix draws the interop matrix as a grid: senders down, receivers
// across, each cell's methods coloured by the share answered 2xx.
func (p *htmlPage) matrix() {
	if len(p.r.Matrix) == 0 {
		return
	}
	var senders, receivers []string
	cells := map[[2]string][]analyze.MatrixRow{}
	for _, m := range p.r.Matrix {
		if !slices.Contains(senders, m.Sender) {
			senders = append(senders, m.Sender)
		}
		if !slices.Contains(receivers, m.Receiver) {
			receivers = append(receivers, m.Receiver)
		}
		k := [2]string{m.Sender, m.Receiver}
		cells[k] = append(cells[k], m)
	}
	sort.Strings(receivers)
	p.b.WriteString("<h2 id=\"matrix\">Interop matrix (sender ↓ × receiver →)</h2>\n<table><tr><th></th>")
	for _, rcv := range receivers {
		p.printf("<th>%s</th>", esc(rcv))
	}
	p.b.WriteString("</tr>\n")
	for _, s := range senders {
		p.printf("<tr><th>%s</th>", esc(s))
		for _, rcv := range receivers {
			ms := cells[[2]string{s, rcv}]
			if len(ms) == 0 {
				p.b.WriteString(`<td class="muted">·</td>`)
				continue
			}
			ok, sent := 0, 0
			var lines []string
			for _, m := range ms {
				ok += m.OK
				sent += m.Sent
				lines = append(lines, fmt.Sprintf("%s %d/%d 2xx", esc(m.Method), m.OK, m.Sent))
			}
			p.printf(`<td style="background:%s">%s</td>`, shareColor(ok, sent), strings.Join(lines, "<br>"))
		}
		p.b.WriteString("</tr>\n")
	}
	p.b.WriteString("</table>\n")
}

// shareColor is a pale colour from red (nothing answered 2xx) to green.
func shareColor(ok, sent int) string {
	if sent == 0 {
		return "#fff"
	}
	f := float64(ok) / float64(sent)
	return fmt.Sprintf("hsl(%d,60%%,88%%)", int(f*120))
}

// timeline draws each dialog of the report (up to htmlTimelineRows) on
// its own time axis from its start: every keep-alive a mark coloured by
// its answer, the BYE's time, and where a session timer was negotiated,
// the expiry it set.
func (p *htmlPage) timeline() {
	p.b.WriteString("<h2 id=\"timeline\">Dialogs with keep-alives</h2>\n")
	if len(p.r.Dialogs) == 0 {
		p.b.WriteString("<p class=\"muted\">No dialog with keep-alives.</p>\n")
		return
	}
	rows := map[string][]analyze.KeepAliveRow{}
	for _, k := range p.r.KeepAliveRows {
		if !k.Device {
			rows[k.CallID] = append(rows[k.CallID], k)
		}
	}
	timers := map[string]*analyze.TimerReport{}
	for i := range p.r.Timers {
		timers[p.r.Timers[i].CallID] = &p.r.Timers[i]
	}
	dialogs := p.r.Dialogs[:min(len(p.r.Dialogs), htmlTimelineRows)]
	if n := p.r.Omitted["dialogs"] + len(p.r.Dialogs) - len(dialogs); n > 0 {
		p.printf("<p class=\"muted\">%d more dialogs are not drawn (the JSON report lists them all).</p>\n", n)
	}
	const rowH, labelW, axisW = 34, 340, 800
	p.drawn = map[string]string{}
	h := rowH*len(dialogs) + 30
	p.printf(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img">`+"\n", labelW+axisW+30, h)
	for i, d := range dialogs {
		id := fmt.Sprintf("d%d", i)
		p.drawn[d.CallID] = id
		y := 10 + i*rowH
		start := d.Start
		kas := rows[d.CallID]
		span := 1.0
		for _, k := range kas {
			span = math.Max(span, k.Time.Sub(start).Seconds()+k.ResponseTime.Seconds())
		}
		tr := timers[d.CallID]
		if tr != nil && tr.SessionExpires > 0 {
			span = math.Max(span, float64(tr.SessionExpires))
		}
		span *= 1.05
		x := func(t time.Time) float64 {
			return labelW + math.Max(0, math.Min(1, t.Sub(start).Seconds()/span))*axisW
		}
		colour := "#222"
		if d.Verdict != "alive" {
			colour = color481
		}
		p.printf(`<a id="%s"><text x="6" y="%d" fill="%s"><title>%s</title>%s</text></a>`, id, y+12, colour, esc(d.CallID), esc(elideMiddle(d.CallID, 38)))
		p.printf(`<text x="6" y="%d" font-size="11" fill="#666">%s</text>`, y+26, esc(elideMiddle(d.Verdict+" · "+d.Ended, 50)))
		p.printf(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#bbb"/>`, labelW, y+12, labelW+axisW, y+12)
		p.printf(`<text x="%d" y="%d" font-size="10" fill="#777">0 s</text><text x="%d" y="%d" font-size="10" fill="#777" text-anchor="end">%.0f s</text>`,
			labelW, y+26, labelW+axisW, y+26, span)
		if tr != nil && tr.SessionExpires > 0 {
			ex := labelW + float64(tr.SessionExpires)/span*axisW
			at := "session timer expiry"
			if !tr.ExpiredAt.IsZero() {
				ex, at = x(tr.ExpiredAt), "session expired"
			}
			p.printf(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-dasharray="3,2"><title>%s (Session-Expires %d s)</title></line>`,
				ex, y, ex, y+22, color481, at, tr.SessionExpires)
		}
		for _, k := range kas {
			c := outcomeColors[analyze.OutcomeOf(k.Code)].color
			p.printf(`<circle cx="%.1f" cy="%d" r="5" fill="%s"><title>%s %s %s, %s</title></circle>`,
				x(k.Time), y+12, c, k.Time.UTC().Format("15:04:05.000"), esc(k.Method), esc(k.Direction), code(k.Code))
		}
		p.b.WriteString("\n")
	}
	p.b.WriteString("</svg>\n")
}

// intervals draws, per sender, the median interval of each dialog's
// keep-alives it sent: a dot per dialog on one seconds axis.
func (p *htmlPage) intervals() {
	per := map[string][]float64{}
	for _, d := range p.r.Dialogs {
		for _, dir := range d.Directions {
			if dir.IntervalMedian <= 0 {
				continue
			}
			agent := d.CallerAgent
			if dir.From == "callee" {
				agent = d.CalleeAgent
			}
			if agent == "" {
				agent = dir.From
			}
			per[agent] = append(per[agent], dir.IntervalMedian)
		}
	}
	if len(per) == 0 {
		return
	}
	most := 1.0
	for _, v := range per {
		for _, s := range v {
			most = math.Max(most, s)
		}
	}
	most *= 1.1
	agents := slices.Sorted(maps.Keys(per))
	const rowH, labelW, axisW = 26, 260, 820
	p.b.WriteString("<h2 id=\"intervals\">Keep-alive intervals per sender</h2>\n<p class=\"muted\">A dot per dialog: the median seconds between the keep-alives the sender sent in it.</p>\n")
	p.printf(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img">`+"\n", labelW+axisW+40, rowH*len(agents)+30)
	for i, a := range agents {
		y := 10 + i*rowH
		p.printf(`<text x="6" y="%d">%s</text><line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#ddd"/>`, y+12, esc(a), labelW, y+8, labelW+axisW, y+8)
		for _, s := range per[a] {
			p.printf(`<circle cx="%.1f" cy="%d" r="4" fill="%s" fill-opacity="0.5"><title>%.1f s</title></circle>`, labelW+s/most*axisW, y+8, keepAliveColor, s)
		}
		p.b.WriteString("\n")
	}
	y := 10 + len(agents)*rowH
	for _, f := range []float64{0, 0.25, 0.5, 0.75, 1} {
		p.printf(`<text x="%.1f" y="%d" font-size="10" fill="#777" text-anchor="middle">%.0f s</text>`, labelW+f*axisW, y+8, f*most)
	}
	p.b.WriteString("</svg>\n")
}

func (p *htmlPage) findings() {
	p.b.WriteString("<h2 id=\"findings\">Findings</h2>\n")
	if len(p.r.Findings) == 0 {
		p.b.WriteString("<p>No finding.</p>\n")
		return
	}
	if n := p.r.Omitted["findings"]; n > 0 {
		p.printf("<p class=\"muted\">%d more findings are not listed (the counts above are complete; the JSON report lists them all).</p>\n", n)
	}
	p.b.WriteString("<table><tr><th>time</th><th>kind</th><th>call-id</th><th>detail</th></tr>\n")
	for _, f := range p.r.Findings {
		id := esc(f.CallID)
		if a, ok := p.drawn[f.CallID]; ok {
			id = fmt.Sprintf(`<a href="#%s">%s</a>`, a, id)
		}
		p.printf("<tr><td>%s</td><td>%s</td><td><code>%s</code></td><td>%s</td></tr>\n",
			f.Time.UTC().Format("15:04:05.000"), esc(f.Kind.String()), id, esc(f.Detail))
	}
	p.b.WriteString("</table>\n")
}
