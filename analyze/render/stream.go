package render

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"

	"github.com/sipalive/sipalive/analyze"
)

// Stream is an analyze.RowSink for a JSON or CSV report: each row is
// worded and encoded as it settles and spooled (see spool) in the order
// the report lists it, so that the report of a capture of any size is
// written in bounded memory. JSON (or CSV) then writes the report with
// the spooled rows in their places; the output is the same as that of
// the report holding every row.
type Stream struct {
	csv bool
	// The lists the rows go to, in the report's order: dialogs with
	// problems first, each by start time; the findings by time; the
	// others as they settled.
	problems, healthy, notKeep, timers, summaries, findings, keepAlives spool
	buf                                                                 bytes.Buffer
	cw                                                                  *csv.Writer
	err                                                                 error
}

// NewStream returns a Stream for the JSON report, or with csv true for
// the CSV one (which lists the keep-alives alone).
func NewStream(csvOutput bool) *Stream {
	s := &Stream{csv: csvOutput}
	s.cw = csv.NewWriter(&s.buf)
	return s
}

// Close removes the spooled rows.
func (s *Stream) Close() {
	for _, sp := range []*spool{&s.problems, &s.healthy, &s.notKeep, &s.timers, &s.summaries, &s.findings, &s.keepAlives} {
		sp.close()
	}
}

// The indentation of a list's rows in the JSON report: the report's own
// lists, and the summary's.
const (
	topRows     = "    "
	summaryRows = "      "
)

// putJSON encodes v as a row of a JSON list indented by prefix and
// spools it under key.
func (s *Stream) putJSON(sp *spool, key int64, prefix string, v any) {
	if s.err != nil {
		return
	}
	b, err := marshalIndent(v, prefix, "  ")
	if err != nil {
		s.err = err
		return
	}
	sp.add(key, b)
}

// Dialog implements analyze.RowSink.
func (s *Stream) Dialog(problem bool, r *analyze.DialogReport) {
	if s.csv {
		return
	}
	d := *r
	d.Verdict, d.Ended = DialogVerdict(&d), DialogEnded(&d)
	sp := &s.healthy
	if problem {
		sp = &s.problems
	}
	s.putJSON(sp, d.Start.UnixNano(), topRows, &d)
}

// NotKeepAlive implements analyze.RowSink.
func (s *Stream) NotKeepAlive(r *analyze.NotKeepAlive) {
	if s.csv {
		return
	}
	n := *r
	n.Why = NotKeepAliveWhy(&n)
	s.putJSON(&s.notKeep, 0, topRows, &n)
}

// Timer implements analyze.RowSink.
func (s *Stream) Timer(r *analyze.TimerReport, sum *analyze.TimerSummary) {
	if s.csv {
		return
	}
	t := *r
	t.Verdict = TimerVerdict(&t)
	t.Methods = orEmpty(t.Methods)
	s.putJSON(&s.timers, 0, topRows, &t)
	s.putJSON(&s.summaries, 0, summaryRows, sum)
}

// Finding implements analyze.RowSink.
func (s *Stream) Finding(f *analyze.Finding) {
	if s.csv {
		return
	}
	s.finding(f)
}

func (s *Stream) finding(f *analyze.Finding) {
	x := *f
	x.Detail = FindingDetail(&x)
	s.putJSON(&s.findings, x.Time.UnixNano(), topRows, &x)
}

// KeepAlive implements analyze.RowSink.
func (s *Stream) KeepAlive(r *analyze.KeepAliveRow) {
	if !s.csv || s.err != nil {
		return
	}
	s.buf.Reset()
	if err := s.cw.Write(csvRecord(r)); err != nil {
		s.err = err
		return
	}
	s.cw.Flush()
	s.keepAlives.add(r.Time.UnixNano(), s.buf.Bytes())
}

// CSV writes the CSV report: the header, then the spooled keep-alives in
// time order.
func (s *Stream) CSV(out io.Writer) error {
	if s.err != nil {
		return s.err
	}
	w := bufio.NewWriterSize(out, outBuffer)
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	err := s.keepAlives.each(func(row []byte) error {
		_, err := w.Write(row)
		return err
	})
	if err != nil {
		return err
	}
	return w.Flush()
}

// outBuffer is the size of the buffer the streamed reports are written
// through: a write per row cost a system call each, a third of the time
// of a JSON report of 100,000 dialogs.
const outBuffer = 64 << 10

// JSON writes the JSON report r, whose per-row lists went to s: the report
// is encoded with those lists empty, and each empty list is written with
// the spooled rows in its place. The rows r still holds (the vendors'
// findings, made at the end) join the spooled ones in time order.
func (s *Stream) JSON(out io.Writer, r *analyze.Report) error {
	if s.err != nil {
		return s.err
	}
	w := bufio.NewWriterSize(out, outBuffer)
	for i := range r.Findings {
		s.finding(&r.Findings[i])
	}
	skeleton := *r
	skeleton.Dialogs, skeleton.NotKeepAlives, skeleton.Timers, skeleton.Findings = nil, nil, nil, nil
	skeleton.Summary.SessionTimers = nil
	var b bytes.Buffer
	if err := JSON(&b, &skeleton); err != nil {
		return err
	}
	text := b.Bytes()
	lists := []struct {
		key    string
		indent string
		rows   []*spool
	}{
		{"\n    \"session_timers\": []", "    ", []*spool{&s.summaries}},
		{"\n  \"dialogs\": []", "  ", []*spool{&s.problems, &s.healthy}},
		{"\n  \"not_keepalives\": []", "  ", []*spool{&s.notKeep}},
		{"\n  \"session_timers\": []", "  ", []*spool{&s.timers}},
		{"\n  \"findings\": []", "  ", []*spool{&s.findings}},
	}
	// The lists in the order they appear, each found once.
	pos := 0
	for _, l := range lists {
		i := bytes.Index(text[pos:], []byte(l.key))
		if i < 0 {
			return fmt.Errorf("render: the JSON report has no empty %s list", l.key)
		}
		at := pos + i + len(l.key) - len("[]")
		if _, err := w.Write(text[pos:at]); err != nil {
			return err
		}
		if err := writeRows(w, l.indent, l.rows); err != nil {
			return err
		}
		pos = at + len("[]")
	}
	if _, err := w.Write(text[pos:]); err != nil {
		return err
	}
	return w.Flush()
}

// writeRows writes a JSON list of the spooled rows as json.Encoder's
// indentation does it: indent is that of the list's key.
func writeRows(w io.Writer, indent string, spools []*spool) error {
	n, first, next := 0, "\n"+indent+"  ", ",\n"+indent+"  "
	if _, err := io.WriteString(w, "["); err != nil {
		return err
	}
	for _, sp := range spools {
		err := sp.each(func(row []byte) error {
			sep := next
			if n == 0 {
				sep = first
			}
			n++
			if _, err := io.WriteString(w, sep); err != nil {
				return err
			}
			_, err := w.Write(row)
			return err
		})
		if err != nil {
			return err
		}
	}
	end := "]"
	if n > 0 {
		end = "\n" + indent + "]"
	}
	_, err := io.WriteString(w, end)
	return err
}
