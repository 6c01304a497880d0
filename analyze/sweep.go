package analyze

import (
	"slices"
	"time"
)

// dueEntry is a call's place in the sweep queue.
type dueEntry struct {
	due int64 // Unix nanoseconds
	seq uint64
	c   *call
}

// compare orders entries by due time, then by the calls' creation.
func (e dueEntry) compare(f dueEntry) int {
	switch {
	case e.due != f.due:
		if e.due < f.due {
			return -1
		}
		return 1
	case e.seq < f.seq:
		return -1
	case e.seq > f.seq:
		return 1
	}
	return 0
}

// Timing wheel geometry: one bucket per second of capture time, for a bit
// over an hour ahead (the idle timeout is an hour by default); later
// entries wait in an overflow heap.
const (
	wheelTick    = int64(time.Second)
	wheelBuckets = 4096
)

// sweepQueue holds the calls waiting for a sweep, by the time they are due.
// A sweep takes every entry due by its time, in due-then-creation order: the
// order a heap would pop them in, so results are the heap's. It is a timing
// wheel, so that scheduling a call costs an append and a sweep touches only
// the seconds it covers: a heap of every live call cost a couple of hundred
// instructions per message on a trunk capture.
type sweepQueue struct {
	buckets  [wheelBuckets][]dueEntry
	cursor   int64      // the tick of the earliest bucket that may hold entries
	started  bool       // cursor is set
	overflow dueHeap    // entries due past the wheel's reach
	ready    []dueEntry // scratch for a sweep's due entries
	n        int        // entries held
}

// push adds an entry. An entry due before the cursor goes into the
// cursor's bucket: the next sweep takes it.
func (q *sweepQueue) push(e dueEntry) {
	t := e.due / wheelTick
	if !q.started {
		q.cursor, q.started = t, true
	}
	q.n++
	switch {
	case t < q.cursor:
		t = q.cursor
	case t >= q.cursor+wheelBuckets:
		q.overflow.push(e)
		return
	}
	b := &q.buckets[t%wheelBuckets]
	*b = append(*b, e)
}

// due returns the entries due by now, in due-then-creation order, and
// removes them from the queue. The slice is reused by the next call.
func (q *sweepQueue) due(now int64) []dueEntry {
	q.ready = q.ready[:0]
	if q.n == 0 {
		return q.ready
	}
	end := now / wheelTick
	if q.n > len(q.overflow) {
		// The cursor's bucket also holds the entries pushed already due.
		last := min(max(end, q.cursor), q.cursor+wheelBuckets-1)
		for t := q.cursor; t <= last; t++ {
			b := &q.buckets[t%wheelBuckets]
			keep := (*b)[:0]
			for _, e := range *b {
				if e.due <= now {
					q.ready = append(q.ready, e)
				} else {
					keep = append(keep, e) // later in now's second
				}
			}
			clear((*b)[len(keep):])
			*b = keep
		}
	}
	if end > q.cursor {
		// The buckets before now's are empty (all of them, when now is
		// past the wheel's reach): the wheel moves on, and the overflow
		// entries now within its reach come in.
		q.cursor = end
		for len(q.overflow) > 0 && q.overflow[0].due/wheelTick < q.cursor+wheelBuckets {
			e := q.overflow.pop()
			if e.due <= now {
				q.ready = append(q.ready, e)
				continue
			}
			b := &q.buckets[max(e.due/wheelTick, q.cursor)%wheelBuckets]
			*b = append(*b, e)
		}
	}
	q.n -= len(q.ready)
	slices.SortFunc(q.ready, dueEntry.compare)
	return q.ready
}

// dueHeap is a binary min-heap of entries by due time, then creation: the
// sweep queue's overflow. It is typed, not container/heap, so that a push
// does not box its entry.
type dueHeap []dueEntry

func (h dueHeap) less(i, j int) bool { return h[i].compare(h[j]) < 0 }

func (h *dueHeap) push(e dueEntry) {
	*h = append(*h, e)
	for i := len(*h) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		(*h)[i], (*h)[p] = (*h)[p], (*h)[i]
		i = p
	}
}

func (h *dueHeap) pop() dueEntry {
	old := *h
	top := old[0]
	n := len(old) - 1
	old[0] = old[n]
	old[n] = dueEntry{}
	*h = old[:n]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && h.less(l, m) {
			m = l
		}
		if r < n && h.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		(*h)[i], (*h)[m] = (*h)[m], (*h)[i]
		i = m
	}
	return top
}
