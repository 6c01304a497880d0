package render

import (
	"encoding/csv"
	"io"
	"strconv"
	"time"

	"github.com/sipalive/sipalive/analyze"
)

// JSON prints the report as one indented JSON object. Its summary object
// carries the keys of the corpus schema.
func JSON(w io.Writer, r *analyze.Report) error {
	return writeIndented(w, withWords(r))
}

// writeIndented writes v as json.Encoder with a two-space indent does.
func writeIndented(w io.Writer, v any) error {
	b, err := marshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// CSVHeader is the first row of the CSV output.
var CSVHeader = []string{"kind", "time", "call_id", "method", "direction", "from", "to", "user_agent", "response_code", "response_time_ms"}

// csvTime is the CSV's time stamp: UTC, always three fraction digits, so
// that the column sorts and parses alike.
const csvTime = "2006-01-02T15:04:05.000Z"

// CSV prints one row per keep-alive transaction: session keep-alives (in
// a dialog) and device keep-alives (out-of-dialog OPTIONS and REGISTER),
// told apart by the kind column. A request never answered has an empty
// response code and time.
func CSV(w io.Writer, r *analyze.Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for i := range r.KeepAliveRows {
		if err := cw.Write(csvRecord(&r.KeepAliveRows[i])); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvRecord is the CSV row of a keep-alive transaction.
func csvRecord(k *analyze.KeepAliveRow) []string {
	kind, code, rt := "session", "", ""
	if k.Device {
		kind = "device"
	}
	if k.Code != 0 {
		code = strconv.Itoa(k.Code)
		rt = strconv.FormatFloat(float64(k.ResponseTime)/float64(time.Millisecond), 'f', 3, 64)
	}
	return []string{kind, k.Time.UTC().Format(csvTime), k.CallID, k.Method, k.Direction, k.From, k.To, k.Agent, code, rt}
}

// AuditJSON prints the vendor audit as one JSON object: the vendors, the
// interop matrix, the session timers and the findings.
func AuditJSON(w io.Writer, r *analyze.Report) error {
	r = withWords(r)
	return writeIndented(w, struct {
		Vendors       []analyze.VendorReport      `json:"vendors"`
		Matrix        []analyze.MatrixRow         `json:"interop_matrix"`
		Timers        []analyze.TimerReport       `json:"session_timers"`
		Findings      []analyze.Finding           `json:"findings"`
		FindingCounts map[analyze.FindingKind]int `json:"finding_counts"`
	}{r.Vendors, r.Matrix, r.Timers, r.Findings, r.FindingCounts})
}

// AuditCSV prints the interop matrix, one row per sender, receiver and
// method, with the outcomes.
func AuditCSV(w io.Writer, r *analyze.Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"sender", "receiver", "method", "sent", "2xx", "481", "405", "501", "other_final", "unanswered"}); err != nil {
		return err
	}
	for _, m := range r.Matrix {
		o := &m.Outcomes
		rec := []string{m.Sender, m.Receiver, m.Method}
		for _, n := range []int{o.Sent, o.OK, o.C481, o.C405, o.C501, o.OtherFinal, o.Unanswered} {
			rec = append(rec, strconv.Itoa(n))
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
