package synth

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestSamplesAreGenerated checks that the committed samples are exactly
// what the generator writes, so they can always be regenerated.
func TestSamplesAreGenerated(t *testing.T) {
	for _, s := range Scenarios() {
		var buf bytes.Buffer
		w, err := NewWriter(&buf, s.Opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Write(w); err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		committed, err := os.ReadFile(filepath.Join("..", s.Name+".pcap"))
		if err != nil {
			t.Fatalf("%s: %v (run go run ./samples/gen)", s.Name, err)
		}
		if !bytes.Equal(buf.Bytes(), committed) {
			t.Errorf("samples/%s.pcap differs from what the generator writes: run go run ./samples/gen", s.Name)
		}
	}
}
