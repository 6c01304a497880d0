package driver

import (
	"bytes"
	"math"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/sipalive/sipalive/analyze"
	"github.com/sipalive/sipalive/analyze/render"
	"github.com/sipalive/sipalive/capture"
	"github.com/sipalive/sipalive/samples/synth"
)

// TestQueueDepthChangesNothing runs a generated trunk with one worker,
// and with two while the heap's room (which sets the pipeline's queue
// depth) swings between none and plenty every few hundred packets, so
// that batches are made, queued deep, let go and the queue made shallow
// again, over and over: the reports must match byte for byte.
func TestQueueDepthChangesNothing(t *testing.T) {
	path, err := synth.BulkFile(t.TempDir(), 2000)
	if err != nil {
		t.Fatal(err)
	}
	defer room.Store(room.Load())
	var outs [][]byte
	for _, workers := range []int{1, 2} {
		src, err := capture.OpenMerge([]string{path})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		swing := func(int, []byte, *gopacket.CaptureInfo, layers.LinkType) error {
			if n++; n%700 == 0 {
				if (n/700)%2 == 0 {
					room.Store(math.MaxInt64)
				} else {
					room.Store(0)
				}
			}
			return nil
		}
		rep, err := Analyze(src, Config{Analysis: analyze.Options{}, Workers: workers, Tap: swing})
		src.Close()
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := render.JSON(&buf, rep); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, buf.Bytes())
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Error("the reports differ between one worker and two with the queue depth swinging")
	}
}

// TestQueueSize walks the queue depth through the heap's room: deep with
// deepRoom to spare, shallow under half of it, and, once the heap has
// been that close to its budget, deep again only with twice deepRoom.
func TestQueueSize(t *testing.T) {
	defer room.Store(room.Load())
	const mb = 1 << 20
	var p pipeline
	for i, step := range []struct {
		room int64
		want int
	}{
		{math.MaxInt64, queueDeep},
		{7 * mb, queueDeep}, // deep while at least half of deepRoom is left
		{5 * mb, queueShallow},
		{13 * mb, queueShallow}, // crowded: deepRoom is not enough now
		{25 * mb, queueDeep},
		{7 * mb, queueDeep},
		{-mb, queueShallow}, // over the budget
		{math.MaxInt64, queueDeep},
	} {
		room.Store(step.room)
		if got := p.queueSize(); got != step.want {
			t.Errorf("step %d, room %d: queue of %d, want %d", i, step.room, got, step.want)
		}
	}
	var fresh pipeline
	room.Store(13 * mb)
	if got := fresh.queueSize(); got != queueDeep {
		t.Errorf("a heap never near its budget, room 13 MB: queue of %d, want %d", got, queueDeep)
	}
}
