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
	near     [blockTicks]bucket // the current block's ticks, by tick
	far      [blockTicks]bucket // the next blocks, by block
	overflow dueHeap            // entries due past the far wheel
	cursor   int64              // the earliest tick that may hold entries
	started  bool               // cursor is set
	nNear    int                // entries in near
	nFar     int                // entries in far
	ready    []dueEntry         // scratch for a sweep's due entries
	// spare holds chunks emptied, for the buckets that fill next. A
	// bucket of a busy trunk takes thousands of entries a second, a far
	// one a minute's worth; grown as arrays, they made a third of all the
	// garbage the analysis made, and so a third of its collections.
	spare  *dueChunk
	spares int
}

// A bucket is a chain of chunks of entries, filled at its tail: it grows
// without copying, and the chunks it lets go of serve the next buckets.
type bucket struct {
	head, tail *dueChunk
}

// chunkEntries is how many entries a chunk holds (6 KB).
const chunkEntries = 256

type dueChunk struct {
	n    int
	next *dueChunk
	e    [chunkEntries]dueEntry
}

// maxSpareChunks bounds the chunks kept for reuse (1.5 MB): a sweep
// empties a second's bucket and the seconds ahead fill as many, and a far
// bucket moved into the near wheel gives back each chunk as it goes.
const maxSpareChunks = 256

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
		q.add(&q.near[t&(blockTicks-1)], e)
		q.nNear++
	case block < cur+blockTicks:
		q.add(&q.far[block&(blockTicks-1)], e)
		q.nFar++
	default:
		q.overflow.push(e)
	}
}

// add appends e to b.
func (q *sweepQueue) add(b *bucket, e dueEntry) {
	c := b.tail
	if c == nil || c.n == chunkEntries {
		c = q.chunk()
		if b.tail == nil {
			b.head = c
		} else {
			b.tail.next = c
		}
		b.tail = c
	}
	c.e[c.n] = e
	c.n++
}

// chunk returns an empty chunk: a spare one, or a new one.
func (q *sweepQueue) chunk() *dueChunk {
	c := q.spare
	if c == nil {
		return new(dueChunk)
	}
	q.spare, c.next = c.next, nil
	q.spares--
	return c
}

// release gives back an emptied chunk, to the spares while there is room.
func (q *sweepQueue) release(c *dueChunk) {
	clear(c.e[:c.n]) // the entries point to calls
	c.n = 0
	if q.spares < maxSpareChunks {
		c.next = q.spare
		q.spare = c
		q.spares++
	} else {
		c.next = nil
	}
}

// filter keeps the entries of b that keep says to, in place, and gives
// back the chunks left empty. It returns how many entries it dropped.
func (q *sweepQueue) filter(b *bucket, keep func(dueEntry) bool) int {
	dropped := 0
	w, wn := b.head, 0 // where the next entry kept goes
	for c := b.head; c != nil; c = c.next {
		for _, e := range c.e[:c.n] {
			if !keep(e) {
				dropped++
				continue
			}
			if wn == chunkEntries {
				w.n, w, wn = chunkEntries, w.next, 0
			}
			w.e[wn] = e
			wn++
		}
	}
	if dropped == 0 {
		return 0
	}
	if wn == 0 && w == b.head {
		w = nil // nothing kept
	} else {
		clear(w.e[wn:w.n])
		w.n = wn
	}
	rest := b.head
	if w != nil {
		rest, w.next, b.tail = w.next, nil, w
	} else {
		b.head, b.tail = nil, nil
	}
	for rest != nil {
		next := rest.next
		q.release(rest)
		rest = next
	}
	return dropped
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
				q.take(&q.near[t&(blockTicks-1)], now)
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

// take moves the entries of a near bucket due by now into ready.
func (q *sweepQueue) take(b *bucket, now int64) {
	if b.head == nil {
		return
	}
	q.nNear -= q.filter(b, func(e dueEntry) bool {
		if e.due <= now {
			q.ready = append(q.ready, e)
			return false
		}
		return true // later in this tick
	})
}

// refill brings the entries of block, the cursor's new block, from the far
// wheel into the near one, and the overflow entries now within the far
// wheel's reach into it. The far buckets of blocks skipped over are
// emptied on the way.
func (q *sweepQueue) refill(block int64) {
	if q.nFar > 0 {
		for i := range q.far {
			b := &q.far[i]
			if b.head == nil {
				continue
			}
			// A bucket holds one block's entries; blocks before the
			// cursor's were skipped in a jump, and are due.
			if b.head.e[0].due/wheelTick>>blockShift > block {
				continue
			}
			// Chunk by chunk, each given back once its entries are
			// placed: the near buckets filling take the same chunks.
			c := b.head
			b.head, b.tail = nil, nil
			for c != nil {
				next := c.next
				for _, e := range c.e[:c.n] {
					q.place(e, max(e.due/wheelTick, q.cursor))
				}
				q.nFar -= c.n
				q.release(c)
				c = next
			}
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
	for i := range q.near {
		q.nNear -= q.filter(&q.near[i], valid)
	}
	for i := range q.far {
		q.nFar -= q.filter(&q.far[i], valid)
	}
	h := q.overflow
	keep := h[:0]
	for _, e := range h {
		if valid(e) {
			keep = append(keep, e)
		}
	}
	clear(h[len(keep):])
	q.overflow = q.overflow[:0]
	for _, e := range keep {
		q.overflow.push(e) // over keep's own array: push writes at or before the entry read
	}
	if cap(q.overflow) > 256 && len(q.overflow) < cap(q.overflow)/4 {
		q.overflow = append(make(dueHeap, 0, 2*len(q.overflow)), q.overflow...)
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
