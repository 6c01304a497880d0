package analyze

import "math/bits"

// ringIndex finds the entries of a ring (staleTable's tombstones,
// foldedCalls' calls) by a 64-bit key that the entry itself yields: an
// open-addressing table of positions (position+1; 0 is empty), probed
// linearly and emptied by shifting back, so that it needs no markers of
// deleted slots. It holds no keys: four bytes a slot at twice the ring's
// size, where a Go map of the same entries took some fifty.
type ringIndex struct {
	slots []uint32
	shift uint8 // 64 - log2(len(slots))
	n     int
}

// reset makes the index empty, with room for a ring of capacity entries.
func (x *ringIndex) reset(capacity int) {
	size := 1 << bits.Len(uint(2*capacity-1)) // a power of two ≥ 2*capacity
	if len(x.slots) == size {
		clear(x.slots)
	} else {
		x.slots = make([]uint32, size)
	}
	x.shift = uint8(64 - bits.TrailingZeros(uint(size)))
	x.n = 0
}

func (x *ringIndex) home(key uint64) int {
	return int((key * 0x9e3779b97f4a7c15) >> x.shift)
}

// find returns the position of the entry of key; keyOf gives the key of
// the entry at a position.
func (x *ringIndex) find(key uint64, keyOf func(pos uint32) uint64) (uint32, bool) {
	if x.n == 0 {
		return 0, false
	}
	mask := len(x.slots) - 1
	for i := x.home(key); ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			return 0, false
		}
		if keyOf(s-1) == key {
			return s - 1, true
		}
	}
}

// put points key at pos, in place of an entry of the same key.
func (x *ringIndex) put(key uint64, pos uint32, keyOf func(pos uint32) uint64) {
	mask := len(x.slots) - 1
	for i := x.home(key); ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			x.slots[i] = pos + 1
			x.n++
			return
		}
		if keyOf(s-1) == key {
			x.slots[i] = pos + 1
			return
		}
	}
}

// remove forgets key if it points at pos (a newer entry of the same key
// keeps it), shifting the slots after it back into the gap.
func (x *ringIndex) remove(key uint64, pos uint32, keyOf func(pos uint32) uint64) {
	if x.n == 0 {
		return
	}
	mask := len(x.slots) - 1
	i := x.home(key)
	for ; ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			return
		}
		if s-1 == pos {
			break
		}
	}
	x.n--
	// Backward shift: move each later slot of the run whose home is not
	// between the gap and it into the gap.
	gap := i
	for j := (i + 1) & mask; ; j = (j + 1) & mask {
		s := x.slots[j]
		if s == 0 {
			break
		}
		h := x.home(keyOf(s - 1))
		if (j-h)&mask >= (j-gap)&mask {
			x.slots[gap] = s
			gap = j
		}
	}
	x.slots[gap] = 0
}
