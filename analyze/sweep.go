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

// current reports whether the entry is its call's latest: not one of a
// call deleted, rescheduled since, or reused for another call.
func (e dueEntry) current() bool {
	return !e.c.gone && e.due == e.c.due && e.seq == e.c.seq
}

// wanted reports whether the entry is current or may become so again
// (see sweeper.schedule): compaction keeps those.
func (e dueEntry) wanted() bool {
	return !e.c.gone && e.seq == e.c.seq && (e.due == e.c.due || e.due == e.c.later)
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

// Timing wheel geometry: ticks of a second, blocks of 64 ticks; the near
// wheel holds the ticks of the current block, the far wheel the next 63
// blocks (68 minutes ahead, past the default idle timeout of an hour),
// the overflow heap what lies beyond.
const (
	wheelTick  = int64(time.Second)
	blockShift = 6
	blockTicks = 1 << blockShift
)

// sweepQueue holds the calls waiting for a sweep, by the time they are due.
// A sweep takes every entry due by its time, in due-then-creation order: the
// order a heap would pop them in, so results are the heap's. It is a
// two-level timing wheel: scheduling a call appends to one of 128 bucket
// tails, which stay in the cache, where a heap of every live call cost a
// couple of hundred instructions per message, and a wheel of a bucket per
// second wrote each entry an hour ahead into memory long cold.
type sweepQueue struct {
	near     [blockTicks][]dueEntry // the current block's ticks, by tick
	far      [blockTicks][]dueEntry // the next blocks, by block
	overflow dueHeap                // entries due past the far wheel
	cursor   int64                  // the earliest tick that may hold entries
	started  bool                   // cursor is set
	nNear    int                    // entries in near
	nFar     int                    // entries in far
	ready    []dueEntry             // scratch for a sweep's due entries
	// spare holds the arrays of buckets emptied, for the next buckets
	// that fill: each second's bucket of a busy trunk takes a couple of
	// thousand entries, and growing one afresh every second was half the
	// garbage the analysis made.
	spare  [maxSpareBuckets][]dueEntry
	spares int
}

// maxSpareBuckets bounds the arrays kept for reuse: a few buckets fill
// at a time (the seconds just ahead).
const maxSpareBuckets = 4

func (q *sweepQueue) len() int { return q.nNear + q.nFar + len(q.overflow) }

// push adds an entry. An entry due before the cursor goes into the
// cursor's bucket: the next sweep takes it.
func (q *sweepQueue) push(e dueEntry) {
	t := e.due / wheelTick
	if !q.started {
		q.cursor, q.started = t, true
	}
	q.place(e, max(t, q.cursor))
}

// place files an entry due at tick t, which is not before the cursor.
func (q *sweepQueue) place(e dueEntry, t int64) {
	block, cur := t>>blockShift, q.cursor>>blockShift
	switch {
	case block == cur:
		b := &q.near[t&(blockTicks-1)]
		if *b == nil {
			*b = q.reuse()
		}
		*b = append(*b, e)
		q.nNear++
	case block < cur+blockTicks:
		b := &q.far[block&(blockTicks-1)]
		if *b == nil {
			*b = q.reuse()
		}
		*b = append(*b, e)
		q.nFar++
	default:
		q.overflow.push(e)
	}
}

// due returns the entries due by now, in due-then-creation order, and
// removes them from the queue. The slice is reused by the next call.
func (q *sweepQueue) due(now int64) []dueEntry {
	q.ready = q.ready[:0]
	if q.len() == 0 {
		return q.ready
	}
	end := now / wheelTick
	for {
		cur := q.cursor >> blockShift
		last := min(max(end, q.cursor), cur<<blockShift|(blockTicks-1))
		if q.nNear > 0 {
			// The cursor's bucket also holds the entries pushed already due.
			for t := q.cursor; t <= last; t++ {
				q.take(&q.near[t&(blockTicks-1)], now, &q.nNear)
			}
		}
		if end <= last {
			q.cursor = max(q.cursor, end)
			break
		}
		// On to the next block, or, with both wheels empty, straight to
		// now's (refill brings in the overflow entries skipped over,
		// already due).
		next := cur + 1
		if q.nNear == 0 && q.nFar == 0 {
			next = end >> blockShift
		}
		q.cursor = next << blockShift
		q.refill(next)
	}
	slices.SortFunc(q.ready, dueEntry.compare)
	return q.ready
}

// take moves the entries of a bucket due by now into ready.
func (q *sweepQueue) take(b *[]dueEntry, now int64, n *int) {
	keep := (*b)[:0]
	for _, e := range *b {
		if e.due <= now {
			q.ready = append(q.ready, e)
		} else {
			keep = append(keep, e) // later in this tick
		}
	}
	*n -= len(*b) - len(keep)
	clear((*b)[len(keep):])
	*b = q.shrink(keep)
}

// reuse returns an empty array kept from a bucket emptied, or nil.
func (q *sweepQueue) reuse() []dueEntry {
	if q.spares == 0 {
		return nil
	}
	q.spares--
	b := q.spare[q.spares]
	q.spare[q.spares] = nil
	return b
}

// shrink lets go of a bucket's array when it holds far fewer entries than
// it has room for: a bucket of the far wheel fills with a minute of calls,
// and 128 buckets each keeping their largest array would hold memory the
// queue no longer needs. An emptied bucket's array goes to the spares,
// while there is room.
func (q *sweepQueue) shrink(b []dueEntry) []dueEntry {
	if len(b) == 0 && cap(b) > 0 {
		if q.spares < len(q.spare) {
			q.spare[q.spares] = b
			q.spares++
		}
		return nil
	}
	return shrink(b)
}

// shrink copies b to a smaller array when it uses a quarter of its own.
func shrink(b []dueEntry) []dueEntry {
	const small = 256
	if cap(b) <= small || len(b) >= cap(b)/4 {
		return b
	}
	if len(b) == 0 {
		return nil
	}
	return append(make([]dueEntry, 0, 2*len(b)), b...)
}

// refill brings the entries of block, the cursor's new block, from the far
// wheel into the near one, and the overflow entries now within the far
// wheel's reach into it. The far buckets of blocks skipped over are
// emptied on the way.
func (q *sweepQueue) refill(block int64) {
	if q.nFar > 0 {
		for i := range q.far {
			b := &q.far[i]
			if len(*b) == 0 {
				continue
			}
			// A bucket holds one block's entries; blocks before the
			// cursor's were skipped in a jump, and are due.
			if (*b)[0].due/wheelTick>>blockShift > block {
				continue
			}
			for _, e := range *b {
				q.place(e, max(e.due/wheelTick, q.cursor))
			}
			q.nFar -= len(*b)
			clear(*b)
			*b = q.shrink((*b)[:0])
			if q.nFar == 0 {
				break
			}
		}
	}
	for len(q.overflow) > 0 && q.overflow[0].due/wheelTick>>blockShift < block+blockTicks {
		e := q.overflow.pop()
		q.place(e, max(e.due/wheelTick, q.cursor))
	}
}

// compact drops the entries valid says are no longer wanted. A call is
// rescheduled whenever something about it changes, and its earlier entry
// stays where it was filed until its time comes: for a dialog that may
// stay silent for an hour, an hour later. Dropped in passing, they would
// make the queue follow the call rate times the idle timeout, not the
// calls that are up.
func (q *sweepQueue) compact(valid func(dueEntry) bool) {
	filter := func(b *[]dueEntry, n *int, shrink func([]dueEntry) []dueEntry) {
		keep := (*b)[:0]
		for _, e := range *b {
			if valid(e) {
				keep = append(keep, e)
			}
		}
		*n -= len(*b) - len(keep)
		clear((*b)[len(keep):])
		*b = shrink(keep)
	}
	for i := range q.near {
		filter(&q.near[i], &q.nNear, q.shrink)
	}
	for i := range q.far {
		filter(&q.far[i], &q.nFar, q.shrink)
	}
	var n int
	h := q.overflow
	filter((*[]dueEntry)(&h), &n, shrink) // not to the spares: the heap is refilled from h's array
	q.overflow = q.overflow[:0]
	for _, e := range h {
		q.overflow.push(e)
	}
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
