package driver

import (
	"testing"

	"github.com/sipalive/sipalive/analyze"
	"github.com/sipalive/sipalive/capture"

	"github.com/sipalive/sipalive/samples/synth"
)

// BenchmarkPipeline runs analyze end to end (read, decode, reassemble,
// scan, analyse, report) on a generated trunk capture of 5000 calls, with
// one and with two workers. Compare the packets/s of the two, and with
// BenchmarkReadDecodeFloor in ./capture, in the same run.
func BenchmarkPipeline(b *testing.B) {
	path, err := synth.BulkFile(b.TempDir(), 5000)
	if err != nil {
		b.Fatal(err)
	}
	for _, workers := range []int{1, 2} {
		b.Run(map[int]string{1: "workers=1", 2: "workers=2"}[workers], func(b *testing.B) {
			b.ReportAllocs()
			packets := uint64(0)
			for i := 0; i < b.N; i++ {
				src, err := capture.OpenMerge([]string{path})
				if err != nil {
					b.Fatal(err)
				}
				rep, err := Analyze(src, Config{Analysis: analyze.Options{MaxRows: 100}, Workers: workers})
				src.Close()
				if err != nil {
					b.Fatal(err)
				}
				packets += rep.Overview.Packets
			}
			b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "packets/s")
		})
	}
}
