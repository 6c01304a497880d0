package analyze

import (
	"math/bits"
)

// hostTable finds the entry of an address (see address). It is an
// open-addressing table keyed by a mix of the address's sixteen bytes:
// a Go map hashed the key and read a control word, a slot and the entry,
// each a cache miss on a capture of many phones. Past maxAddresses the
// oldest entry leaves as each new one comes (see addressBook.newAddress).
//
// Beside the slots, a byte per slot holds a few bits of its hash (0: the
// slot is empty). A probe reads those bytes, an eighth of a slot's size,
// which stay in the cache where the slots do not: an address not in the
// table (a new phone) costs no read of a slot, and one in it nearly
// always a single one.
//
// Another byte per slot holds how far its entry lies from its home slot:
// removing an entry moves the ones after it back by that distance alone,
// where reading each one's key to find its home was a cache miss per
// entry (a fifth of the address book's time on a capture of many phones,
// which evicts an address for each new one).
type hostTable struct {
	tags  []uint8    // a power of two long, as slots: 0 marks an empty slot
	dist  []uint8    // each slot's distance from its entry's home, maxDist when that far or farther
	slots []*address // nil where tags says empty; the key is the entry's, read only when the tag matches
	n     int
	// hash is what the callers hash keys with, for moving the entries
	// when the table grows; nil is addrHash (tests make keys collide).
	hash func(key *ipKey) uint64
}

// addrHash mixes an address's bytes for the table.
func addrHash(key *ipKey) uint64 {
	hi, lo := bits.Mul64(key.hi^0x9e3779b97f4a7c15, key.lo^0xc2b2ae3d27d4eb4f)
	return hi ^ lo
}

// hostTag is the byte kept for a hash: its top seven bits, with the high
// bit set so that it is never 0. The slot index takes the low bits.
func hostTag(hash uint64) uint8 { return uint8(hash>>57) | 0x80 }

// get returns the entry of key, or nil.
func (t *hostTable) get(hash uint64, key *ipKey) *address {
	if t.n == 0 {
		return nil
	}
	mask := uint64(len(t.slots) - 1)
	tag := hostTag(hash)
	for i := hash & mask; ; i = (i + 1) & mask {
		switch t.tags[i] {
		case 0:
			return nil
		case tag:
			if ad := t.slots[i]; ad.key == *key {
				return ad
			}
		}
	}
}

// put adds ad, whose key is not in the table yet.
func (t *hostTable) put(hash uint64, ad *address) {
	if 2*(t.n+1) > len(t.slots) {
		old := t.slots
		t.slots = make([]*address, max(1024, 2*len(old)))
		t.tags = make([]uint8, len(t.slots))
		t.dist = make([]uint8, len(t.slots))
		for _, ad := range old {
			if ad != nil {
				t.insert(t.hashOf(&ad.key), ad)
			}
		}
	}
	t.insert(hash, ad)
	t.n++
}

func (t *hostTable) hashOf(key *ipKey) uint64 {
	if t.hash != nil {
		return t.hash(key)
	}
	return addrHash(key)
}

func (t *hostTable) insert(hash uint64, ad *address) {
	mask := uint64(len(t.slots) - 1)
	i, d := hash&mask, 0
	for t.tags[i] != 0 {
		i, d = (i+1)&mask, d+1
	}
	t.tags[i], t.dist[i] = hostTag(hash), uint8(min(d, maxDist))
	t.slots[i] = ad
}

// maxDist is the largest distance dist holds: an entry that far from its
// home (hashes made to collide) has its key read, as before.
const maxDist = 255

// distance returns how far the entry in slot i lies from its home.
func (t *hostTable) distance(i uint64) uint64 {
	if d := t.dist[i]; d < maxDist {
		return uint64(d)
	}
	mask := uint64(len(t.slots) - 1)
	return (i - t.hashOf(&t.slots[i].key)) & mask
}

// remove takes ad out of the table, shifting the entries of its run that
// it displaced back into the gap (so that no slot needs a deletion mark).
func (t *hostTable) remove(ad *address) {
	if t.n == 0 {
		return
	}
	mask := uint64(len(t.slots) - 1)
	i := t.hashOf(&ad.key) & mask
	for t.slots[i] != ad {
		if t.tags[i] == 0 {
			return // not in the table
		}
		i = (i + 1) & mask
	}
	t.n--
	for j := i; ; {
		t.tags[i], t.slots[i] = 0, nil
		var d uint64
		for {
			j = (j + 1) & mask
			if t.tags[j] == 0 {
				return
			}
			// The entry at j may fill the gap at i unless its home lies
			// cyclically within (i, j]: unless it lies closer to its home
			// than to the gap.
			if d = t.distance(j); d >= (j-i)&mask {
				break
			}
		}
		t.tags[i], t.slots[i] = t.tags[j], t.slots[j]
		t.dist[i] = uint8(min(d-(j-i)&mask, maxDist))
		i = j
	}
}
