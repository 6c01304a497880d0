package analyze

import "math/bits"

// ringIndex finds the entries of a ring (staleTable's tombstones,
// foldedCalls' calls) by a 64-bit key that the entry itself yields: an
// open-addressing table of positions, probed linearly and emptied by
// shifting back, so that it needs no markers of deleted slots. It holds
// no keys: a slot is four bytes at twice the ring's size, where a Go map
// of the same entries took some fifty. A slot keeps, beside the position
// (plus one: 0 is empty), 10 bits of the key's hash: a probe passes over
// nearly every other key's slot without reading its entry, a cache miss
// in a ring of 65,536. It also keeps how far it lies from its key's home
// slot, so that the shift after a removal reads no entry either (it did,
// one miss per slot of the run, for every tombstone dropped).
type ringIndex struct {
	slots []uint32
	shift uint8 // 64 - log2(len(slots))
	n     int
}

// A slot is tag | dist<<posBits | pos+1; a ring holds at most maxRing
// entries. A distance of maxSlotDist or more is kept as maxSlotDist, and
// such a slot's home is found from its entry's key.
const (
	posBits     = 17
	maxRing     = 1<<posBits - 1
	posMask     = 1<<posBits - 1
	distBits    = 5
	maxSlotDist = 1<<distBits - 1
	distMask    = maxSlotDist << posBits
	tagMask     = 1<<32 - 1<<(posBits+distBits)
)

// reset makes the index empty, with room for a ring of capacity entries.
func (x *ringIndex) reset(capacity int) {
	if capacity > maxRing {
		panic("ringIndex: a ring larger than a slot can point into")
	}
	size := 1 << bits.Len(uint(2*capacity-1)) // a power of two ≥ 2*capacity
	if len(x.slots) == size {
		clear(x.slots)
	} else {
		x.slots = make([]uint32, size)
		clear(x.slots) // written before it is read: see callTable.grow
	}
	x.shift = uint8(64 - bits.TrailingZeros(uint(size)))
	x.n = 0
}

// hashed spreads a key over 64 bits: the top bits pick the home slot,
// bits 22 to 31 are the tag a slot keeps (low bits, apart from the home's).
func hashed(key uint64) uint64 { return key * 0x9e3779b97f4a7c15 }

func tagOf(h uint64) uint32 { return uint32(h) & tagMask }

// slotDist is what a slot keeps of the distance d from its home.
func slotDist(d int) uint32 { return uint32(min(d, maxSlotDist)) << posBits }

func (x *ringIndex) home(key uint64) int { return int(hashed(key) >> x.shift) }

// find returns the position of the entry of key; keyOf gives the key of
// the entry at a position.
func (x *ringIndex) find(key uint64, keyOf func(pos uint32) uint64) (uint32, bool) {
	if x.n == 0 {
		return 0, false
	}
	h := hashed(key)
	tag := tagOf(h)
	mask := len(x.slots) - 1
	for i := int(h >> x.shift); ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			return 0, false
		}
		if s&tagMask == tag && keyOf(s&posMask-1) == key {
			return s&posMask - 1, true
		}
	}
}

// put points key at pos, in place of an entry of the same key.
func (x *ringIndex) put(key uint64, pos uint32, keyOf func(pos uint32) uint64) {
	h := hashed(key)
	tag := tagOf(h)
	mask := len(x.slots) - 1
	for i, d := int(h>>x.shift), 0; ; i, d = (i+1)&mask, d+1 {
		s := x.slots[i]
		if s == 0 {
			x.slots[i] = tag | slotDist(d) | (pos + 1)
			x.n++
			return
		}
		if s&tagMask == tag && keyOf(s&posMask-1) == key {
			x.slots[i] = s&^posMask | (pos + 1)
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
		if s&posMask-1 == pos {
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
		d := int(s&distMask) >> posBits
		if d == maxSlotDist {
			d = (j - x.home(keyOf(s&posMask-1))) & mask
		}
		if moved := (j - gap) & mask; d >= moved {
			x.slots[gap] = s&^distMask | slotDist(d-moved)
			gap = j
		}
	}
	x.slots[gap] = 0
}

// ringSize is the length a full ring of n entries grows to: double, at
// least 256, and straight to capacity from a quarter of it. A ring keeps
// its old array and its new one while it copies: on a busy trunk the
// rings of finished dialogs and of folded calls reach their capacity
// within a second of each other, and their last doubling, 6 MB at once
// above a heap held to its budget, set the run's peak resident size.
func ringSize(n, capacity int) int {
	if next := max(256, 2*n); next < capacity/2 {
		return next
	}
	return capacity
}

// warm reads key's home slot, so that a put or find of key soon after
// finds its line in the cache (see Analyzer.sweep).
func (x *ringIndex) warm(key uint64) uint32 {
	if len(x.slots) == 0 {
		return 0
	}
	return x.slots[x.home(key)]
}
