// Package render prints an analyze.Report as tables, JSON or CSV.
package render

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/sipalive/sipalive/analyze"
)

// Tables prints the report as text tables at most width columns wide
// (0: every column whole). Empty sections are left out.
func Tables(w io.Writer, r *analyze.Report, width int) error {
	r = withWords(r)
	p := page{w, width}
	for _, s := range []func(page, *analyze.Report) error{
		overview, keepAlives, dialogs, notKeepAlives, devices, timers, vendors, findings,
	} {
		if err := s(p, r); err != nil {
			return err
		}
	}
	return nil
}

// page is where tables go, and how wide they may be (0: no limit).
type page struct {
	io.Writer
	width int
}

// sheet is one titled table to print: where, its header, alignment and
// options, and which columns may be left out to fit the page.
type sheet struct {
	w        page
	header   []string
	align    []tw.Align
	optional []int
	opts     []tablewriter.Option
}

// table starts one titled table. align gives each column's alignment.
func table(w page, title string, header []string, align []tw.Align) sheet {
	if w.width > 0 {
		title = fitCell(title, w.width)
	}
	fmt.Fprintf(w, "\n%s\n", title)
	opts := []tablewriter.Option{
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleLight)})),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
	}
	return sheet{w: w, header: header, align: align, opts: opts}
}

// leaving names the columns that may be left out when the page is too
// narrow for the table even with its text wrapped, the first to go first:
// what other tables or --wide show.
func (s sheet) leaving(cols ...int) sheet {
	s.optional = cols
	return s
}

// without returns row without the columns in drop.
func without[T any](row []T, drop []int) []T {
	if row == nil {
		return nil
	}
	out := make([]T, 0, len(row))
	for i, c := range row {
		if !slices.Contains(drop, i) {
			out = append(out, c)
		}
	}
	return out
}

// shared is the one tablewriter.Table every sheet is printed with, reset
// in between. tablewriter's NewTable makes a cache map sized for 10,240
// entries for a stringer these tables never use: nine of them were a
// sixth of the run on a small capture, most of it first touches of fresh
// pages. The table writes to buf, which is copied to the sheet's writer.
var shared struct {
	sync.Mutex
	t   *tablewriter.Table
	buf bytes.Buffer
}

// noCache is the stringer cache of the shared table: a table's Reset
// would purge the default one, which makes the map anew.
type noCache struct{}

func (noCache) Add(reflect.Type, reflect.Value) bool        { return false }
func (noCache) Get(reflect.Type) (v reflect.Value, ok bool) { return v, false }
func (noCache) Purge()                                      {}

func render(s sheet, rows [][]string) error {
	shared.Lock()
	defer shared.Unlock()
	if shared.t == nil {
		shared.t = tablewriter.NewTable(&shared.buf, tablewriter.WithStringerCacheCustom(noCache{}))
	}
	t := shared.t
	t.Reset()
	t.Options(s.opts...)
	shared.buf.Reset()
	safeRows(rows)
	header, align := slices.Clone(s.header), s.align
	safeRows([][]string{header})
	var dropped []string
	if s.w.width > 0 {
		all := append([][]string{header}, rows...)
		widths, drop := fitColumns(all, s.w.width, s.optional)
		if len(drop) > 0 {
			for _, i := range drop {
				if i < len(header) {
					dropped = append(dropped, header[i])
				}
			}
			for i := range all {
				all[i] = without(all[i], drop)
			}
			header, rows = all[0], all[1:]
			align = without(align, drop)
			widths = without(widths, drop)
		}
		fitRows(all, widths)
	}
	t.Options(tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: align}))
	if header != nil {
		t.Options(tablewriter.WithHeader(header))
	}
	if err := t.Bulk(rows); err != nil {
		return err
	}
	if err := t.Render(); err != nil {
		return err
	}
	if len(dropped) > 0 {
		fmt.Fprintf(&shared.buf, "%s\n", fitCell(fmt.Sprintf("(not shown at %d columns: %s; --wide shows them)", s.w.width, strings.Join(dropped, ", ")), s.w.width))
	}
	_, err := s.w.Write(shared.buf.Bytes())
	return err
}

const (
	l = tw.AlignLeft
	r = tw.AlignRight
)

func overview(w page, rep *analyze.Report) error {
	o := &rep.Overview
	c := &o.Capture
	source := []string{"files", strconv.Itoa(o.Files)}
	if len(rep.Inputs) == 1 && rep.Inputs[0].Format == "live" {
		source = []string{"source", "live capture on " + strings.TrimPrefix(rep.Inputs[0].Path, "live:")}
	}
	rows := [][]string{
		source,
		{"packets read", u(o.Packets)},
		{"SIP messages", u(o.SIPMessages) + " (" + plural(o.Requests, "request") + ", " + plural(o.Responses, "response") + ")"},
		{"packets that were not SIP", u(o.NotSIP)},
		{"malformed SIP messages", u(o.Malformed) + malformedDetail(o.MalformedReasons)},
		{"calls (INVITE dialogs confirmed by 2xx)", strconv.Itoa(o.Calls)},
		{"dialogs", strconv.Itoa(o.Dialogs)},
	}
	if o.KeepAliveDialogs > 0 {
		rows = append(rows, []string{"dialogs with keep-alives", fmt.Sprintf("%d, %d with a problem", o.KeepAliveDialogs, o.ProblemDialogs)})
	}
	if o.RelayedKeepAlives > 0 {
		rows = append(rows, []string{"keep-alives relayed by a proxy (second hops)",
			strconv.Itoa(o.RelayedKeepAlives) + " (in the totals; dialogs and vendors count each request once)"})
	}
	if !o.Start.IsZero() {
		rows = append(rows, []string{"time span (UTC)", fmt.Sprintf("%s → %s (%s)",
			o.Start.UTC().Format("2006-01-02 15:04:05.000"), o.End.UTC().Format("15:04:05.000"), dur(o.DurationSeconds))})
	}
	extra := []struct {
		name string
		v    uint64
	}{
		{"UDP datagrams with SIP", c.UDPSIP},
		{"NAT keep-alive datagrams (CRLF, blank)", c.UDPKeepAlive},
		{"UDP datagrams with SIP inside HEP", c.HEP},
		{"TCP segments", c.TCPSegments},
		{"SCTP packets", c.SCTPPackets},
		{"SIP messages in SCTP DATA chunks", c.SCTPMessages},
		{"TCP streams", c.TCPStreams},
		{"SIP messages framed from TCP/WebSocket", c.TCPMessages},
		{"TCP streams of HEP (capture agent to collector)", c.HEPStreams},
		{"SIP messages inside HEP on TCP", c.TCPHEPMessages},
		{"keep-alives on TCP (CRLF, WebSocket ping/pong)", c.TCPKeepAlives},
		{"IP fragments (reassembled into datagrams)", c.Fragments},
		{"datagrams rebuilt from fragments", c.FragmentsReassembled},
		{"fragmented datagrams never completed", c.FragmentsPending},
		{"TCP bytes skipped (not SIP: HTTP upgrades, other data)", c.TCPBytesSkipped},
		{"SIP messages over TCP never completed (bytes missing or the capture ended mid-message)", c.TCPIncompleteSIP},
		{"TCP bytes missing from the capture", c.TCPBytesMissing},
		{"TCP connections dropped for room (a later segment starts one again mid-stream)", c.TCPStreamsEvicted},
		{"TLS streams (encrypted: not readable)", c.TLSStreams},
		{"IPsec ESP packets (encrypted: not readable)", c.ESP},
		{"GTP-C datagrams (mobile core control plane, no SIP)", c.GTPControl},
		{"tunnel packets not opened (other GRE protocols, PPP control, GTP-U without IP)", c.TunnelsUnopened},
		{"WebSocket streams", c.WSStreams},
		{"loopback duplicates dropped (each packet is seen twice on lo)", c.Duplicates},
		{"packets the kernel dropped (the report is incomplete)", c.KernelDrops},
		{"packets the interface dropped during the capture", c.InterfaceDrops},
		{"undecodable frames", c.Undecodable},
		{"frames of unsupported link types", c.UnsupportedLink},
		{"responses without their request", o.OrphanResponses},
		{"finished dialogs forgotten early for room (a request after their end is not known as stale)", uint64(o.Limits.ForgottenDialogs)},
		{"calls without a dialog folded early for room (a flood: their requests count as they stood)", uint64(o.Limits.EvictedCalls)},
		{"finished calls forgotten early for room (a late retransmission of theirs counts as a new request)", uint64(o.Limits.ForgottenCalls)},
		{"addresses forgotten for room (what they announced no longer names their messages without a name)", uint64(o.Limits.ForgottenAddresses)},
	}
	for _, e := range extra {
		if e.v > 0 {
			rows = append(rows, []string{e.name, u(e.v)})
		}
	}
	if c.SnapCut > 0 {
		rows = append(rows, []string{fmt.Sprintf("packets cut short by a %d-byte snap length (recapture with -s 0)", c.SnapLength), u(c.SnapCut)})
	}
	if len(c.LinkTypes) > 0 {
		var names []string
		for k, v := range c.LinkTypes {
			names = append(names, fmt.Sprintf("%s ×%d", k, v))
		}
		sort.Strings(names)
		rows = append(rows, []string{"unsupported link types", strings.Join(names, ", ")})
	}
	for _, in := range rep.Inputs {
		if in.Truncated {
			rows = append(rows, []string{"truncated input", in.Path + ": " + in.Error})
		}
		if in.DamagedRecords > 0 {
			rows = append(rows, []string{"damaged input (read on past the damage)",
				fmt.Sprintf("%s: %s, %d bytes skipped", in.Path, plural(uint64(in.DamagedRecords), "damaged record"), in.SkippedBytes)})
		}
	}
	if hint := noSIPHint(rep); hint != "" {
		rows = append(rows, []string{"why no SIP", hint})
	}
	return render(table(w, "OVERVIEW", nil, []tw.Align{l, r}), rows)
}

// noSIPHint says, for a capture without SIP, where it may be hidden: in
// encryption or tunnels the tool does not open.
func noSIPHint(rep *analyze.Report) string {
	c := &rep.Overview.Capture
	if rep.Overview.SIPMessages > 0 || rep.Overview.Packets == 0 {
		return ""
	}
	var where []string
	for _, e := range []struct {
		n    uint64
		what string
	}{{c.TLSStreams, "TLS streams (SIPS: capture before encryption, or HEP from the proxy)"},
		{c.ESP, "IPsec ESP packets (IMS: capture inside the IPsec association)"},
		{c.GTPControl, "GTP-C datagrams (control plane: capture the user plane, GTP-U)"},
		{c.TunnelsUnopened, "tunnel packets not opened"}} {
		if e.n > 0 {
			where = append(where, fmt.Sprintf("%d %s", e.n, e.what))
		}
	}
	if len(where) == 0 {
		return ""
	}
	return "SIP may be inside what could not be opened: " + strings.Join(where, "; ")
}

func malformedDetail(m map[string]uint64) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s ×%d", strings.TrimPrefix(k, "sip: "), v))
	}
	sort.Strings(parts)
	return " (" + strings.Join(parts, "; ") + ")"
}

func keepAlives(w page, rep *analyze.Report) error {
	if len(rep.KeepAlives) == 0 {
		return nil
	}
	var rows [][]string
	var tot analyze.Outcomes
	for _, m := range rep.KeepAlives {
		rows = append(rows, outcomeRow(m.Method, &m.Outcomes))
		tot.Add(&m.Outcomes)
	}
	if len(rep.KeepAlives) > 1 {
		rows = append(rows, outcomeRow("all", &tot))
	}
	t := table(w, "SESSION KEEP-ALIVES (in-dialog requests without SDP)",
		[]string{"method", "sent", "2xx", "481 lost", "405", "501", "other", "unanswered"},
		[]tw.Align{l, r, r, r, r, r, r, r})
	return render(t, rows)
}

func outcomeRow(name string, o *analyze.Outcomes) []string {
	return []string{name, strconv.Itoa(o.Sent), strconv.Itoa(o.OK), strconv.Itoa(o.C481), strconv.Itoa(o.C405),
		strconv.Itoa(o.C501), strconv.Itoa(o.OtherFinal), strconv.Itoa(o.Unanswered)}
}

func dialogs(w page, rep *analyze.Report) error {
	if len(rep.Dialogs) == 0 {
		return nil
	}
	var rows [][]string
	for _, d := range rep.Dialogs {
		var methods []string
		for _, m := range d.Methods {
			methods = append(methods, fmt.Sprintf("%s×%d", m.Method, m.Count))
		}
		if n := d.ByProxy(); n > 0 {
			// a proxy's own keep-alives probe the parties, not each other
			methods = append(methods, fmt.Sprintf("(%d by proxy)", n))
		}
		interval := "-"
		if d.HasIntervals() {
			interval = fmt.Sprintf("%s/%s/%s", secs(d.IntervalMin), secs(d.IntervalAvg), secs(d.IntervalMax))
		}
		last := fmt.Sprintf("%s %s", d.LastMethod, code(d.LastCode))
		rows = append(rows, []string{d.CallID, d.Caller + " → " + d.Callee,
			d.CallerAgent, d.CalleeAgent, strings.Join(methods, " "), strconv.Itoa(d.Count),
			interval, last, d.Verdict, d.Ended})
	}
	t := table(w, "DIALOGS WITH KEEP-ALIVES",
		[]string{"call-id", "caller → callee", "caller agent", "callee agent", "methods", "n", "interval min/avg/max", "last", "verdict", "ended"},
		[]tw.Align{l, l, l, l, l, r, r, l, l, l}).leaving(3, 2, 6, 4) // the agents are in VENDORS
	if err := render(t, rows); err != nil {
		return err
	}
	if n := rep.Omitted["dialogs"]; n > 0 {
		p := rep.Omitted["dialogs_with_problems"]
		return more(w, fmt.Sprintf("%s with problems, %d healthy", plural(uint64(p), "more dialog"), n-p))
	}
	return nil
}

// registrationNote sums up a REGISTER pair's windows: how long, how often
// and why the phone was not registered, or that it stayed registered.
func registrationNote(d *analyze.DeviceReport) string {
	if len(d.Unregistered) == 0 {
		if len(d.Registered) > 0 {
			return "registered throughout"
		}
		return ""
	}
	var total time.Duration
	var whys []string
	for _, g := range d.Unregistered {
		total += g.End.Sub(g.Start)
		why := g.Why.String()
		if g.Open {
			why += " at capture end"
		}
		if !slices.Contains(whys, why) {
			whys = append(whys, why)
		}
	}
	return fmt.Sprintf("not registered %s in %s (%s) from %s", total.Round(time.Second), plural(uint64(len(d.Unregistered)), "gap"),
		strings.Join(whys, ", "), d.Unregistered[0].Start.UTC().Format("15:04:05"))
}

// more ends a table that left rows out: how many, and how to see them.
func more(w page, what string) error {
	_, err := fmt.Fprintf(w, "… %s: --max-rows 0 shows all\n", what)
	return err
}

func notKeepAlives(w page, rep *analyze.Report) error {
	if len(rep.NotKeepAlives) == 0 {
		return nil
	}
	var rows [][]string
	for _, n := range rep.NotKeepAlives {
		rows = append(rows, []string{clock(n.Time), n.CallID, n.Method, n.From + " → " + n.To, n.Agent, code(n.Code), n.Why})
	}
	t := table(w, "REQUESTS THAT ARE NOT KEEP-ALIVES",
		[]string{"time", "call-id", "method", "from → to", "sender agent", "answer", "why"},
		[]tw.Align{l, l, l, l, l, r, l})
	if err := render(t, rows); err != nil {
		return err
	}
	if n := rep.Omitted["not_keepalives"]; n > 0 {
		return more(w, plural(uint64(n), "more request"))
	}
	return nil
}

func devices(w page, rep *analyze.Report) error {
	if len(rep.Devices) > 0 {
		var rows [][]string
		for _, d := range rep.Devices {
			interval := "-"
			if d.IntervalMed > 0 {
				interval = secs(d.IntervalMed)
			}
			notes := ""
			if len(d.DownWindows) > 0 {
				notes = fmt.Sprintf("%d down window(s)", len(d.DownWindows))
			}
			if d.Method == "REGISTER" && d.Expires > 0 {
				notes = join(notes, fmt.Sprintf("Expires %d s", d.Expires))
			}
			if d.LateRefresh > 0 {
				notes = join(notes, fmt.Sprintf("%d late refresh(es)", d.LateRefresh))
			}
			if n := registrationNote(&d); n != "" {
				notes = join(notes, n)
			}
			rows = append(rows, []string{d.Method, d.From + " → " + d.To, d.FromAgent, d.ToAgent,
				strconv.Itoa(d.Sent), strconv.Itoa(d.Answered), strconv.Itoa(d.Unanswered), codes(d.Codes), interval, notes})
		}
		t := table(w, "DEVICE KEEP-ALIVES (out-of-dialog OPTIONS and REGISTER)",
			[]string{"method", "from → to", "pinger", "target", "sent", "answered", "unanswered", "codes", "interval", "notes"},
			[]tw.Align{l, l, l, l, r, r, r, l, r, l}).leaving(3, 2, 8)
		if err := render(t, rows); err != nil {
			return err
		}
	}
	if len(rep.NAT) > 0 {
		var rows [][]string
		for _, n := range rep.NAT {
			interval := "-"
			if n.IntervalAvg > 0 {
				interval = secs(n.IntervalAvg)
			}
			rows = append(rows, []string{n.From + " → " + n.To, n.Transport, n.Kind.String(), strconv.Itoa(n.Count), interval})
		}
		t := table(w, "NAT KEEP-ALIVES (not SIP: CRLF, blank packets, WebSocket ping/pong)",
			[]string{"from → to", "transport", "kind", "count", "interval"}, []tw.Align{l, l, l, r, r})
		if err := render(t, rows); err != nil {
			return err
		}
	}
	return nil
}

func timers(w page, rep *analyze.Report) error {
	if len(rep.Timers) == 0 {
		return nil
	}
	var rows [][]string
	for _, t := range rep.Timers {
		ref := t.Refresher
		if ref == "" {
			ref = "-"
		}
		rows = append(rows, []string{t.CallID, strconv.Itoa(int(t.SessionExpires)), ref,
			strconv.Itoa(int(t.MinSE)), strconv.Itoa(t.Rounds422), strconv.Itoa(t.Refreshes),
			strings.Join(t.Methods, ", "), secs(round1(t.LongestGap)), t.Verdict})
	}
	tb := table(w, "SESSION TIMERS (RFC 4028)",
		[]string{"call-id", "Session-Expires", "refresher", "Min-SE", "422s", "refreshes", "refresh methods", "longest gap", "verdict"},
		[]tw.Align{l, r, l, r, r, r, l, r, l}).leaving(6, 4, 3)
	if err := render(tb, rows); err != nil {
		return err
	}
	if n := rep.Omitted["session_timers"]; n > 0 {
		return more(w, plural(uint64(n), "more session timer"))
	}
	return nil
}

func vendors(w page, rep *analyze.Report) error {
	if len(rep.Vendors) == 0 {
		return nil
	}
	var rows [][]string
	for _, v := range rep.Vendors {
		var sends []string
		for _, m := range slices.Sorted(maps.Keys(v.Sent)) {
			s := fmt.Sprintf("%s×%d", m, v.Sent[m])
			if iv, ok := v.Interval[m]; ok && v.Sent[m] >= 2 { // an interval needs two sends of its own
				s += " every " + secs(iv)
				if sp := v.IntervalSpread[m]; sp > 0 {
					s += " ±" + secs(round1(sp/2))
				}
			}
			sends = append(sends, s)
		}
		var answers []string
		for _, m := range slices.Sorted(maps.Keys(v.Answered)) {
			answers = append(answers, m+": "+outcomeList(v.Answered[m], v.AnsweredOther[m]))
		}
		var notes []string
		if v.ReinviteNoSDP > 0 {
			notes = append(notes, fmt.Sprintf("re-INVITE without SDP ×%d", v.ReinviteNoSDP))
		}
		if v.MessageOutOfDialog > 0 {
			notes = append(notes, fmt.Sprintf("MESSAGE outside dialog ×%d", v.MessageOutOfDialog))
		}
		if verdict := v.EndedDialogVerdict; verdict != "" {
			notes = append(notes, verdict)
		}
		if v.WithBody > 0 {
			notes = append(notes, fmt.Sprintf("keep-alives with a body ×%d", v.WithBody))
		}
		if v.WithSDP > 0 {
			notes = append(notes, fmt.Sprintf("in-dialog INFO/MESSAGE/OPTIONS with SDP ×%d", v.WithSDP))
		}
		if advice := v.Recommendation; advice != "" {
			notes = append(notes, advice)
		}
		agent := v.Agent
		if len(v.Addresses) > 0 && !strings.HasPrefix(agent, "unknown (") {
			agent += "\nat " + strings.Join(v.Addresses[:min(len(v.Addresses), 2)], ", ")
			if more := len(v.Addresses) - 2; more > 0 || v.AddressesCapped {
				agent += fmt.Sprintf(" +%d", more)
				if v.AddressesCapped {
					agent += " and more"
				}
			}
		}
		rows = append(rows, []string{agent, orDash(strings.Join(sends, "\n")), orDash(strings.Join(answers, "\n")), strings.Join(notes, "\n")})
	}
	t := table(w, "VENDORS (by User-Agent / Server)",
		[]string{"agent", "keep-alives sent", "answers to keep-alives received", "notes"}, []tw.Align{l, l, l, l})
	if err := render(t, rows); err != nil {
		return err
	}
	if len(rep.Matrix) == 0 {
		return nil
	}
	rows = rows[:0]
	for _, c := range rep.Matrix {
		rows = append(rows, []string{c.Sender, c.Receiver, c.Method, strconv.Itoa(c.Sent), outcomeList(&c.Outcomes, c.OtherCodes)})
	}
	t = table(w, "INTEROP MATRIX (sender × receiver × method)",
		[]string{"sender", "receiver", "method", "sent", "outcomes"}, []tw.Align{l, l, l, r, l})
	return render(t, rows)
}

func findings(w page, rep *analyze.Report) error {
	if len(rep.Findings) == 0 {
		return nil
	}
	var rows [][]string
	for _, f := range rep.Findings {
		rows = append(rows, []string{clock(f.Time), f.Kind.String(), f.CallID, f.Detail})
	}
	if rep.Omitted["findings"] > 0 {
		// Hundreds of findings: the counts per kind first, each with its
		// first example (kept whatever the row limit), then the first
		// findings in time order.
		var counts [][]string
		for _, k := range analyze.FindingKinds() {
			n := rep.FindingCounts[k]
			if n == 0 {
				continue
			}
			example := ""
			if ex := rep.FindingExamples[k]; len(ex) > 0 {
				f := ex[0]
				if f.Detail == "" {
					f.Detail = FindingDetail(&f)
				}
				example = join(f.CallID, f.Detail)
			}
			counts = append(counts, []string{k.String(), strconv.Itoa(n), example})
		}
		if err := render(table(w, "FINDINGS BY KIND", []string{"kind", "count", "first example"}, []tw.Align{l, r, l}), counts); err != nil {
			return err
		}
	}
	t := table(w, "FINDINGS", []string{"time", "kind", "call-id", "detail"}, []tw.Align{l, l, l, l})
	if err := render(t, rows); err != nil {
		return err
	}
	if n := rep.Omitted["findings"]; n > 0 {
		return more(w, plural(uint64(n), "more finding"))
	}
	return nil
}

// outcomeList lists outcomes, the other final answers by code when other
// gives them.
func outcomeList(o *analyze.Outcomes, other map[string]int) string {
	var parts []string
	for _, p := range []struct {
		name string
		n    int
	}{{"2xx", o.OK}, {"481", o.C481}, {"405", o.C405}, {"501", o.C501}, {"other", o.OtherFinal}, {"none", o.Unanswered}} {
		switch {
		case p.n == 0:
		case p.name == "other" && len(other) > 0:
			for _, code := range slices.Sorted(maps.Keys(other)) {
				parts = append(parts, fmt.Sprintf("%s ×%d", code, other[code]))
			}
		default:
			parts = append(parts, fmt.Sprintf("%s ×%d", p.name, p.n))
		}
	}
	return strings.Join(parts, ", ")
}

func codes(m map[string]int) string {
	keys := slices.Sorted(maps.Keys(m))
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s×%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

func code(c int) string {
	if c == 0 {
		return "none"
	}
	return strconv.Itoa(c)
}

func secs(s float64) string {
	if s >= 100 {
		return fmt.Sprintf("%.0fs", s)
	}
	return strconv.FormatFloat(s, 'f', -1, 64) + "s"
}

func dur(s float64) string {
	return (time.Duration(s * float64(time.Second))).Round(time.Millisecond).String()
}

func clock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("15:04:05.000")
}

func u(v uint64) string { return strconv.FormatUint(v, 10) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// Audit prints the vendor audit: vendors, the interop matrix, session
// timers and the findings.
func Audit(w io.Writer, r *analyze.Report, width int) error {
	r = withWords(r)
	p := page{w, width}
	for _, s := range []func(page, *analyze.Report) error{vendors, timers, findings} {
		if err := s(p, r); err != nil {
			return err
		}
	}
	if len(r.Vendors) == 0 {
		_, err := fmt.Fprintln(w, "no session keep-alives or vendor-identifying requests found")
		return err
	}
	return nil
}

func round1(x float64) float64 { return float64(int64(x*10+0.5)) / 10 }

// plural writes a count and its noun, in the plural unless it is one.
func plural(n uint64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.FormatUint(n, 10) + " " + noun + "s"
}

// DialogList lists the dialogs with keep-alives, problems first, with
// their whole Call-IDs: what `sipalive flow FILE CALL-ID` can draw.
func DialogList(out io.Writer, rep *analyze.Report, width int) error {
	rep = withWords(rep)
	w := page{out, width}
	if len(rep.Dialogs) == 0 {
		_, err := fmt.Fprintln(w, "no dialog with keep-alives in the capture; sipalive flow FILE CALL-ID draws any call by its Call-ID")
		return err
	}
	var rows [][]string
	for i := range rep.Dialogs {
		d := &rep.Dialogs[i]
		rows = append(rows, []string{d.CallID, d.Caller + " → " + d.Callee, strconv.Itoa(d.Count), d.Verdict, d.Ended})
	}
	t := table(w, fmt.Sprintf("DIALOGS (%s with keep-alives, problems first): sipalive flow FILE CALL-ID draws one", plural(uint64(len(rows)), "dialog")),
		[]string{"call-id", "caller → callee", "keep-alives", "verdict", "ended"}, []tw.Align{l, l, r, l, l})
	return render(t, rows)
}
