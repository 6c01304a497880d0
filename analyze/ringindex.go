package analyze

import "math/bits"

// ringIndex finds the entries of a ring (staleTable's tombstones,
// foldedCalls' calls) by a 64-bit key that the entry itself yields: an
// open-addressing table of positions, probed linearly and emptied by
// shifting back, so that it needs no markers of deleted slots. It holds
// no keys: a slot is eight bytes at twice the ring's size, where a Go map
// of the same entries took some fifty. A slot keeps, beside the position
// (plus one: 0 is empty), the top 32 bits of the key's hash: a probe
// passes over another key's slot without reading its entry (a cache miss
// in a ring of 65,536), and the shift after a removal finds each slot's
// home from the slot alone.
type ringIndex struct {
	slots []uint64
	shift uint8 // 64 - log2(len(slots))
	n     int
}

// reset makes the index empty, with room for a ring of capacity entries.
func (x *ringIndex) reset(capacity int) {
	size := 1 << bits.Len(uint(2*capacity-1)) // a power of two ≥ 2*capacity
	if len(x.slots) == size {
		clear(x.slots)
	} else {
		x.slots = make([]uint64, size)
		clear(x.slots) // written before it is read: see callTable.grow
	}
	x.shift = uint8(64 - bits.TrailingZeros(uint(size)))
	x.n = 0
}

// hashed spreads a key over 64 bits; its top bits pick the home slot.
func hashed(key uint64) uint64 { return key * 0x9e3779b97f4a7c15 }

// slotOf is the slot of the entry at pos whose key hashed to h.
func slotOf(h uint64, pos uint32) uint64 { return h&^0xffffffff | uint64(pos+1) }

// homeOf is the home of the key whose slot is s.
func (x *ringIndex) homeOf(s uint64) int { return int(s >> x.shift) }

// find returns the position of the entry of key; keyOf gives the key of
// the entry at a position.
func (x *ringIndex) find(key uint64, keyOf func(pos uint32) uint64) (uint32, bool) {
	if x.n == 0 {
		return 0, false
	}
	h := hashed(key)
	mask := len(x.slots) - 1
	for i := int(h >> x.shift); ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			return 0, false
		}
		if (s^h)>>32 == 0 && keyOf(uint32(s)-1) == key {
			return uint32(s) - 1, true
		}
	}
}

// put points key at pos, in place of an entry of the same key.
func (x *ringIndex) put(key uint64, pos uint32, keyOf func(pos uint32) uint64) {
	h := hashed(key)
	mask := len(x.slots) - 1
	for i := int(h >> x.shift); ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			x.slots[i] = slotOf(h, pos)
			x.n++
			return
		}
		if (s^h)>>32 == 0 && keyOf(uint32(s)-1) == key {
			x.slots[i] = slotOf(h, pos)
			return
		}
	}
}

// remove forgets key if it points at pos (a newer entry of the same key
// keeps it), shifting the slots after it back into the gap.
func (x *ringIndex) remove(key uint64, pos uint32) {
	if x.n == 0 {
		return
	}
	mask := len(x.slots) - 1
	i := int(hashed(key) >> x.shift)
	for ; ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			return
		}
		if uint32(s)-1 == pos {
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
		if (j-x.homeOf(s))&mask >= (j-gap)&mask {
			x.slots[gap] = s
			gap = j
		}
	}
	x.slots[gap] = 0
}
