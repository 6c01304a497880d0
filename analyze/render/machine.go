package render

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"time"

	"github.com/sipalive/sipalive/analyze"
)

// JSON prints the report as one indented JSON object. Its summary object
// carries the keys of the corpus schema.
func JSON(w io.Writer, r *analyze.Report) error {
	r = withWords(r)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// CSVHeader is the first row of the CSV output.
var CSVHeader = []string{"time", "call_id", "method", "direction", "from", "to", "user_agent", "response_code", "response_time_ms"}

// CSV prints one row per session keep-alive transaction.
func CSV(w io.Writer, r *analyze.Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, k := range r.KeepAliveRows {
		rt := ""
		if k.Code != 0 {
			rt = strconv.FormatFloat(float64(k.ResponseTime)/float64(time.Millisecond), 'f', 3, 64)
		}
		rec := []string{k.Time.UTC().Format(time.RFC3339Nano), k.CallID, k.Method, k.Direction, k.From, k.To, k.Agent, strconv.Itoa(k.Code), rt}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
