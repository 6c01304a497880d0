package analyze

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestSweepQueuePopsAsAHeap drives the timing wheel and a plain heap with
// the same pushes and sweeps (entries already due, due in the same second,
// due past the wheel's reach, sweeps after long silences) and requires the
// same entries, in the same order, from every sweep; now and then both
// drop the same entries (compact), and buckets of several chunks are
// emptied and their chunks reused (see sweepQueue.spare).
func TestSweepQueuePopsAsAHeap(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4, 5} {
		rng := rand.New(rand.NewPCG(seed, 99))
		var q sweepQueue
		var h dueHeap
		now := int64(1_700_000_000) * int64(time.Second)
		seq := uint64(0)
		for round := 0; round < 2000; round++ {
			burst := 8
			if rng.IntN(20) == 0 {
				burst = 600 // buckets of several chunks
			}
			for k := rng.IntN(burst); k > 0; k-- {
				var ahead int64
				switch rng.IntN(6) {
				case 0:
					ahead = -rng.Int64N(int64(10 * time.Second)) // already due
				case 1:
					ahead = rng.Int64N(int64(time.Second))
				case 2:
					ahead = rng.Int64N(int64(3 * time.Hour)) // often past the wheel
				case 3:
					ahead = int64(time.Hour) + rng.Int64N(int64(10*time.Minute)) // the idle timeout, near the wheel's reach
				default:
					ahead = rng.Int64N(int64(2 * time.Minute))
				}
				seq++
				due := now + ahead
				if rng.IntN(10) == 0 && seq > 1 {
					due = now // ties broken by creation
				}
				e := dueEntry{due: due, seq: seq}
				q.push(e)
				h.push(e)
			}
			if round%50 == 49 {
				drop := uint64(2 + rng.IntN(6))
				valid := func(e dueEntry) bool { return e.seq%drop != 0 }
				q.compact(valid)
				var kept dueHeap
				for _, e := range h {
					if valid(e) {
						kept.push(e)
					}
				}
				h = kept
			}
			step := int64(5 * time.Second)
			switch rng.IntN(100) {
			case 0, 1:
				step = rng.Int64N(int64(4 * time.Hour)) // a silence in the capture
			case 2:
				step = int64(40 * 365 * 24 * time.Hour) // a clock that jumped decades
			case 3, 4, 5:
				step = rng.Int64N(int64(3 * time.Minute)) // across blocks
			}
			now += step
			got := slices.Clone(q.due(now))
			var want []dueEntry
			for len(h) > 0 && h[0].due <= now {
				want = append(want, h.pop())
			}
			if !slices.Equal(got, want) {
				t.Fatalf("seed %d round %d: sweep at %d gave %d entries, heap %d\n got %v\nwant %v", seed, round, now, len(got), len(want), got, want)
			}
			if q.len() != len(h) {
				t.Fatalf("seed %d round %d: queue holds %d, heap %d", seed, round, q.len(), len(h))
			}
		}
	}
}
