package render

import (
	"fmt"
	"testing"
	"time"

	"github.com/sipalive/sipalive/analyze"
)

// countingWriter counts the writes made to it, each a system call when
// it is a file.
type countingWriter struct{ writes, bytes int }

func (w *countingWriter) Write(b []byte) (int, error) {
	w.writes++
	w.bytes += len(b)
	return len(b), nil
}

// TestStreamWritesInBlocks holds the streamed reports to writes of
// outBuffer bytes, not one or two per row.
func TestStreamWritesInBlocks(t *testing.T) {
	const rows = 5000
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, format := range []string{"json", "csv"} {
		t.Run(format, func(t *testing.T) {
			s := NewStream(format == "csv")
			defer s.Close()
			for i := range rows {
				at := start.Add(time.Duration(i) * time.Second)
				id := fmt.Sprintf("call-%d@example.com", i)
				if format == "csv" {
					s.KeepAlive(&analyze.KeepAliveRow{Time: at, CallID: id, Method: "UPDATE", Direction: "caller->callee"})
				} else {
					s.NotKeepAlive(&analyze.NotKeepAlive{Time: at, CallID: id, Method: "INVITE", Class: "reinvite-sdp"})
				}
			}
			var w countingWriter
			var err error
			if format == "csv" {
				err = s.CSV(&w)
			} else {
				err = s.JSON(&w, &analyze.Report{})
			}
			if err != nil {
				t.Fatal(err)
			}
			if limit := w.bytes/outBuffer + 2; w.writes > limit {
				t.Errorf("%d writes for %d bytes of %d rows, want at most %d", w.writes, w.bytes, rows, limit)
			}
		})
	}
}
