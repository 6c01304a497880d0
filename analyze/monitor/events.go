// Package monitor turns the analysis into what watches it while it runs:
// a stream of events (NDJSON) and Prometheus metrics. Both take the rows
// of the report as they settle (an analyze.RowSink given as
// Options.Observe), so a monitor left running for months keeps nothing
// that grows with them.
package monitor

import (
	"bufio"
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/sipalive/sipalive/analyze"
	"github.com/sipalive/sipalive/analyze/render"
)

// EventsVersion is the version of the events' schema (docs/events.md): it
// changes when a field changes meaning or goes; fields may be added.
const EventsVersion = 1

// Events writes one JSON object per line for each thing that settles:
// a keep-alive transaction when it completes (session or device), a
// request that is no keep-alive, a finding, a dialog when it ends, a
// session timer's verdict. Lines are flushed at least every
// flushEvery, and at Flush and Close: a kill after days loses at most
// the last second.
type Events struct {
	mu    sync.Mutex
	w     *bufio.Writer
	out   io.Writer
	last  time.Time
	err   error
	count uint64
}

const flushEvery = time.Second

// NewEvents writes events to w.
func NewEvents(w io.Writer) *Events {
	return &Events{w: bufio.NewWriterSize(w, 64<<10), out: w, last: time.Now()}
}

// event is the envelope of every line: the schema version, the kind of
// event, and the row as the JSON report writes it.
type event struct {
	V     int    `json:"v"`
	Event string `json:"event"`
	Row   any    `json:"row"`
}

// keepAliveEvent is a keep-alive transaction as an event.
type keepAliveEvent struct {
	Kind       string    `json:"kind"` // session or device
	Time       time.Time `json:"time"`
	CallID     string    `json:"call_id"`
	Method     string    `json:"method"`
	Direction  string    `json:"direction"`
	From       string    `json:"from"`
	To         string    `json:"to"`
	Agent      string    `json:"agent"`
	Receiver   string    `json:"receiver"`
	Code       int       `json:"code"`    // 0: no final answer
	Outcome    string    `json:"outcome"` // 2xx, 481, 405, 501, other, unanswered
	ResponseMS float64   `json:"response_ms,omitempty"`
}

func (e *Events) write(kind string, row any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err != nil {
		return
	}
	b, err := json.Marshal(event{EventsVersion, kind, row})
	if err == nil {
		b = append(b, '\n')
		_, err = e.w.Write(b)
	}
	e.count++
	if err == nil && time.Since(e.last) >= flushEvery {
		err = e.w.Flush()
		e.last = time.Now()
	}
	e.err = err
}

// KeepAlive implements analyze.RowSink.
func (e *Events) KeepAlive(r *analyze.KeepAliveRow) {
	kind := "session"
	if r.Device {
		kind = "device"
	}
	ev := keepAliveEvent{Kind: kind, Time: r.Time.UTC(), CallID: r.CallID, Method: r.Method, Direction: r.Direction,
		From: r.From, To: r.To, Agent: r.Agent, Receiver: r.Receiver, Code: r.Code, Outcome: analyze.OutcomeOf(r.Code).String()}
	if r.Code != 0 {
		ev.ResponseMS = float64(r.ResponseTime) / float64(time.Millisecond)
	}
	e.write("keepalive", &ev)
}

// Dialog implements analyze.RowSink: a dialog with keep-alives has ended.
func (e *Events) Dialog(problem bool, r *analyze.DialogReport) {
	d := *r
	d.Verdict, d.Ended = render.DialogVerdict(&d), render.DialogEnded(&d)
	e.write("dialog", &struct {
		Problem bool `json:"problem"`
		*analyze.DialogReport
	}{problem, &d})
}

// NotKeepAlive implements analyze.RowSink.
func (e *Events) NotKeepAlive(r *analyze.NotKeepAlive) {
	n := *r
	n.Why = render.NotKeepAliveWhy(&n)
	e.write("not_keepalive", &n)
}

// Timer implements analyze.RowSink.
func (e *Events) Timer(r *analyze.TimerReport, _ *analyze.TimerSummary) {
	t := *r
	t.Verdict = render.TimerVerdict(&t)
	if t.Methods == nil {
		t.Methods = []string{}
	}
	e.write("session_timer", &t)
}

// Finding implements analyze.RowSink.
func (e *Events) Finding(f *analyze.Finding) {
	x := *f
	x.Detail = render.FindingDetail(&x)
	e.write("finding", &x)
}

// End writes the last event: the report's totals (the summary of the
// corpus schema, the findings by kind, the overview), which the events
// before it add up to.
func (e *Events) End(r *analyze.Report) {
	e.write("end", &struct {
		Overview      *analyze.Overview           `json:"overview"`
		Summary       *analyze.Summary            `json:"summary"`
		FindingCounts map[analyze.FindingKind]int `json:"finding_counts"`
	}{&r.Overview, &r.Summary, r.FindingCounts})
}

// Flush writes out what is buffered.
func (e *Events) Flush() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err == nil {
		e.err = e.w.Flush()
		e.last = time.Now()
	}
	return e.err
}

// Switch flushes what is buffered to the current output and writes to w
// from then on (a log rotated under a running monitor: SIGHUP reopens).
func (e *Events) Switch(w io.Writer) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	err := e.w.Flush()
	e.w, e.out, e.err = bufio.NewWriterSize(w, 64<<10), w, nil
	return err
}

// Count is how many events were written.
func (e *Events) Count() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.count
}

// Tee shows every row to each of the sinks, in order (nil ones left out).
func Tee(sinks ...analyze.RowSink) analyze.RowSink {
	var t tee
	for _, s := range sinks {
		if s != nil {
			t = append(t, s)
		}
	}
	switch len(t) {
	case 0:
		return nil
	case 1:
		return t[0]
	}
	return t
}

type tee []analyze.RowSink

func (t tee) Dialog(problem bool, r *analyze.DialogReport) {
	for _, s := range t {
		s.Dialog(problem, r)
	}
}

func (t tee) NotKeepAlive(r *analyze.NotKeepAlive) {
	for _, s := range t {
		s.NotKeepAlive(r)
	}
}

func (t tee) Timer(r *analyze.TimerReport, sum *analyze.TimerSummary) {
	for _, s := range t {
		s.Timer(r, sum)
	}
}

func (t tee) Finding(f *analyze.Finding) {
	for _, s := range t {
		s.Finding(f)
	}
}

func (t tee) KeepAlive(r *analyze.KeepAliveRow) {
	for _, s := range t {
		s.KeepAlive(r)
	}
}
