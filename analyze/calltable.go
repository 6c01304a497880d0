package analyze

import "hash/maphash"

// callTable finds calls by Call-ID. It is an open-addressing table keyed
// by the Call-ID's hash, which the Scanner works out beside the scan: the
// analysis neither hashes a Call-ID nor reads one. A call is the one whose
// two independent 64-bit hashes and length match: two Call-IDs that differ
// pass with odds of 2^-128, nothing next to the cost of reading both, the
// packet's from the cache of the goroutine that scanned it and the call's
// from where its string was allocated (a third of the time the analysis
// spent finding calls).
type callTable struct {
	slots []callSlot // a power of two long; c == nil marks an empty slot
	n     int
}

type callSlot struct {
	hash uint64
	c    *call
}

// idHash returns the two hashes of a Call-ID the table is keyed by.
// Every Scanner's hashes agree: the seeds are the run's.
func idHash(id []byte) (uint64, uint64) {
	return maphash.Bytes(hashSeed, id), maphash.Bytes(hashSeed2, id)
}

// get returns the call of the Call-ID of this length and hashes, or nil.
func (t *callTable) get(hash, hash2 uint64, n int) *call {
	if t.n == 0 {
		return nil
	}
	mask := uint64(len(t.slots) - 1)
	for i := hash & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.c == nil {
			return nil
		}
		if s.hash == hash && s.c.is(hash2, n) {
			return s.c
		}
	}
}

// is reports whether c has the Call-ID of this second hash and length
// (the first is compared before).
func (c *call) is(hash2 uint64, n int) bool { return c.hash2 == hash2 && len(c.id) == n }

// put adds c, whose Call-ID is not in the table yet.
func (t *callTable) put(c *call) {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	t.insert(c)
	t.n++
}

func (t *callTable) insert(c *call) {
	mask := uint64(len(t.slots) - 1)
	i := c.hash & mask
	for t.slots[i].c != nil {
		i = (i + 1) & mask
	}
	t.slots[i] = callSlot{c.hash, c}
}

// grow doubles the table (it starts at 1024 slots).
func (t *callTable) grow() {
	old := t.slots
	t.slots = make([]callSlot, max(1024, 2*len(old)))
	// Written through once before use: an insert reads a slot before
	// writing it, and a fresh page first read is mapped to the kernel's
	// zero page and faults again when written, with a TLB flush on
	// every core.
	clear(t.slots)
	for _, s := range old {
		if s.c != nil {
			t.insert(s.c)
		}
	}
}

// delete removes c. The slots after it are shifted back into the gap
// (linear probing's deletion), so that no tombstone lengthens later
// searches.
func (t *callTable) delete(c *call) {
	mask := uint64(len(t.slots) - 1)
	i := c.hash & mask
	for t.slots[i].c != c {
		if t.slots[i].c == nil {
			return
		}
		i = (i + 1) & mask
	}
	for j := (i + 1) & mask; t.slots[j].c != nil; j = (j + 1) & mask {
		// The entry at j may move into the gap at i unless its home
		// slot lies cyclically in (i, j].
		home := t.slots[j].hash & mask
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = callSlot{}
	t.n--
}

// all returns the calls in the table, in no particular order.
func (t *callTable) all() []*call {
	calls := make([]*call, 0, t.n)
	for _, s := range t.slots {
		if s.c != nil {
			calls = append(calls, s.c)
		}
	}
	return calls
}
