package analyze

// Calls that never get a dialog (out-of-dialog requests: pings,
// registrations, INVITEs refused or never answered) are kept like the
// others until their transactions are answered (then they fold within a
// second, see foldQuiet) or time out. A flood of requests each with its
// own Call-ID, never answered, would make that a record per request for
// half a minute; so their number is capped, and past the cap the oldest is
// folded at once, its requests counted as they stand (an unanswered one as
// unanswered: it had been for as long as it was kept). Evictions are
// counted and reported.

// maxHalfOpen bounds the calls without a dialog that are kept, at about
// a kilobyte each: 16,384 is 16 s of ringing at 1,000 call attempts a
// second, or Timer B's 32 s of 500 unanswered requests a second, beyond
// which traffic is a flood (see floodCount).
const maxHalfOpen = 1 << 14

// halfOpenCalls queues the calls without a dialog, oldest first.
type halfOpenCalls struct {
	ring    []callRef // grown up to 2*maxHalfOpen
	head, n int
	open    int // calls in the ring still without a dialog and kept
	evicted int
}

// callRef names a call as it was when queued: a call record is reused.
type callRef struct {
	c   *call
	seq uint64
}

// stillOpen reports whether the call r named is kept and has no dialog.
func (r callRef) stillOpen() bool { return r.c.seq == r.seq && !r.c.gone && r.c.halfOpen }

// add queues a new call and returns the oldest call to evict to make room
// for it, if any.
func (h *halfOpenCalls) add(c *call) (evict *call) {
	c.halfOpen = true
	h.open++
	if h.n == len(h.ring) {
		if len(h.ring) < 2*maxHalfOpen {
			h.grow()
		} else {
			evict = h.pop()
		}
	}
	h.ring[(h.head+h.n)%len(h.ring)] = callRef{c, c.seq}
	h.n++
	for evict == nil && h.open > maxHalfOpen {
		evict = h.pop()
	}
	return evict
}

// grow doubles the ring (up to 2*maxHalfOpen), oldest first.
func (h *halfOpenCalls) grow() {
	ring := make([]callRef, min(max(1024, 2*len(h.ring)), 2*maxHalfOpen))
	for i := range h.n {
		ring[i] = h.ring[(h.head+i)%len(h.ring)]
	}
	h.ring, h.head = ring, 0
}

// pop takes the oldest queued call, and returns it if it is still open.
func (h *halfOpenCalls) pop() *call {
	r := h.ring[h.head]
	h.ring[h.head] = callRef{}
	h.head = (h.head + 1) % len(h.ring)
	h.n--
	if r.c == nil || !r.stillOpen() {
		return nil
	}
	return r.c
}

// closed tells that c has its first dialog, or is gone.
func (h *halfOpenCalls) closed(c *call) {
	if c.halfOpen {
		c.halfOpen = false
		h.open--
	}
}
