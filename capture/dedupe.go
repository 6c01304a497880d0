package capture

import (
	"hash/maphash"
	"time"
)

// dupFilter drops the second copy of each packet on loopback, where the
// kernel hands a packet socket every packet twice, once leaving and once
// arriving. Under load the two copies are not adjacent: other packets come
// between them. So each packet is remembered by a hash of its bytes for
// dupWindow, in a small open-addressing table, and the copy that finds its
// twin there is the duplicate; the twin is then forgotten, so a third
// identical packet (a retransmission a moment later) is kept.
type dupFilter struct {
	seed  maphash.Seed
	slots [dupSlots]dupSlot
}

type dupSlot struct {
	hash uint64
	n    int   // length of the packet
	at   int64 // Unix ns; 0: free
}

const (
	// dupWindow is how far apart the two copies of one packet may be.
	dupWindow = 5 * time.Millisecond
	// dupSlots holds the packets of one window at over a million a second.
	dupSlots = 1 << 13
	// dupProbe bounds a lookup.
	dupProbe = 16
)

func newDupFilter() *dupFilter { return &dupFilter{seed: maphash.MakeSeed()} }

// duplicate reports whether data, seen at t, is the second copy of a
// packet seen within dupWindow; if not, it is remembered.
func (f *dupFilter) duplicate(data []byte, t time.Time) bool {
	h := maphash.Bytes(f.seed, data)
	now := t.UnixNano()
	free := -1
	for i := range dupProbe {
		j := (int(h) + i) & (dupSlots - 1)
		s := &f.slots[j]
		fresh := s.at != 0 && now-s.at <= int64(dupWindow) && now >= s.at
		switch {
		case fresh && s.hash == h && s.n == len(data):
			s.at = 0 // the pair is complete
			return true
		case !fresh && free < 0:
			free = j
		}
	}
	if free < 0 {
		free = int(h) & (dupSlots - 1) // a full run: the oldest goes unnoticed
	}
	f.slots[free] = dupSlot{hash: h, n: len(data), at: now}
	return false
}
