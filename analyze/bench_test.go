package analyze

import (
	"io"
	"testing"

	"github.com/sipalive/sipalive/capture"
	"github.com/sipalive/sipalive/samples/synth"
)

// bulkMessages are the messages of a generated trunk capture of n calls
// (the mix of the 1 GB bench file), their payloads copied out.
func bulkMessages(b *testing.B, calls int) []capture.Message {
	b.Helper()
	path, err := synth.BulkFile(b.TempDir(), calls)
	if err != nil {
		b.Fatal(err)
	}
	f, err := capture.OpenFile(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var msgs []capture.Message
	dec := capture.NewDecoder(func(cm *capture.Message) {
		m := *cm
		m.Payload, m.Frames = append([]byte(nil), cm.Payload...), nil
		msgs = append(msgs, m)
	})
	for {
		_, data, ci, link, err := f.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		dec.Packet(data, ci, link)
	}
	dec.Flush()
	return msgs
}

// BenchmarkScanner measures the scan and what the Scanner derives from it
// (hashes, shared strings, classification): the part of the per-message
// path either goroutine may do. One op is one message; once the strings
// that repeat are shared, it allocates only the strings a new call or
// dialog keeps (Event.ids), about two a call.
func BenchmarkScanner(b *testing.B) {
	msgs := bulkMessages(b, 500)
	s := NewScanner()
	var e Event
	for i := range msgs {
		s.Scan(&msgs[i], &e) // share the repeated strings first
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Scan(&msgs[i%len(msgs)], &e)
	}
}

// BenchmarkAnalyzer measures the analysis of events already scanned, in
// capture order: transactions, dialogs, sweeps, folding. One op is one
// message; a call's and a dialog's strings come made by the scan, so the
// allocations are the records each new Analyzer makes before it can reuse
// them.
func BenchmarkAnalyzer(b *testing.B) {
	msgs := bulkMessages(b, 2000)
	s := NewScanner()
	events := make([]Event, len(msgs))
	for i := range msgs {
		s.Scan(&msgs[i], &events[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		a := New(Options{MaxRows: 100})
		for i := 0; i < len(events) && done < b.N; i, done = i+1, done+1 {
			a.Take(&events[i])
		}
		a.Finish(capture.Stats{})
	}
}
