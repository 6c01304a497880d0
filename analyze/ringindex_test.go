package analyze

import (
	"math/rand/v2"
	"testing"
)

// TestRingIndexAgainstMap drives a ring of keyed entries, as staleTable
// and foldedCalls do (entries made at the tail, dropped at the head, a
// newer entry of a key taking its place in the index), through a
// ringIndex and through a Go map, with few distinct keys so that runs of
// colliding slots form and are shifted back; both must find the same.
func TestRingIndexAgainstMap(t *testing.T) {
	// Keys i*inv hash to i, so that they share the bits the slots keep of
	// the hash: the index must still tell them apart by the key.
	inv := hashInverse()
	for _, tc := range []struct {
		size, keys int
		near       bool
	}{{8, 3, false}, {64, 40, false}, {256, 1000, false}, {1024, 50, false}, {64, 40, true}, {1024, 50, true}} {
		spread := uint64(0x100000001) // spread, but colliding at times
		if tc.near {
			spread = inv
		}
		rng := rand.New(rand.NewPCG(uint64(tc.size), uint64(tc.keys)))
		ring := make([]uint64, tc.size)
		keyAt := func(pos uint32) uint64 { return ring[pos] }
		var x ringIndex
		x.reset(tc.size)
		ref := map[uint64]uint32{}
		head, n := 0, 0
		drop := func() {
			k := ring[head]
			x.remove(k, uint32(head), keyAt)
			if p, ok := ref[k]; ok && int(p) == head {
				delete(ref, k)
			}
			head, n = (head+1)%tc.size, n-1
		}
		for step := range 20000 {
			if n == tc.size || (n > 0 && rng.IntN(3) == 0) {
				drop()
				continue
			}
			k := rng.Uint64N(uint64(tc.keys)) * spread
			pos := (head + n) % tc.size
			ring[pos] = k
			n++
			x.put(k, uint32(pos), keyAt)
			ref[k] = uint32(pos)
			if x.n != len(ref) {
				t.Fatalf("size %d step %d: index holds %d keys, map %d", tc.size, step, x.n, len(ref))
			}
			mask := len(x.slots) - 1
			for i, s := range x.slots {
				if s == 0 {
					continue
				}
				d := (i - x.home(keyAt(s&posMask-1))) & mask
				if got := s & distMask; got != slotDist(d) {
					t.Fatalf("size %d step %d: slot %d keeps distance %d, want %d", tc.size, step, i, got>>posBits, d)
				}
			}
			for q := range uint64(tc.keys) {
				key := q * spread
				got, ok := x.find(key, keyAt)
				want, wok := ref[key]
				if ok != wok || got != want {
					t.Fatalf("size %d step %d: find %d = %d %v, want %d %v", tc.size, step, key, got, ok, want, wok)
				}
			}
		}
	}
}

// hashInverse returns the key that hashed maps to 1: hashed multiplies
// by an odd constant, which has an inverse mod 2^64.
func hashInverse() uint64 {
	inv := uint64(1)
	for range 6 {
		inv *= 2 - hashed(1)*inv // Newton's step: twice the correct bits each
	}
	return inv
}

func TestHashedInverse(t *testing.T) {
	inv := hashInverse()
	if hashed(inv) != 1 || hashed(5*inv) != 5 {
		t.Fatalf("hashed(inv) = %d", hashed(inv))
	}
}

// TestRingSize: rings double from 256, and go straight to their capacity
// from a quarter of it.
func TestRingSize(t *testing.T) {
	for _, tc := range []struct{ n, capacity, want int }{
		{0, 1 << 16, 256},
		{256, 1 << 16, 512},
		{8192, 1 << 16, 16384},
		{16384, 1 << 16, 1 << 16},
		{32768, 1 << 16, 1 << 16},
		{0, 100, 100},
	} {
		if got := ringSize(tc.n, tc.capacity); got != tc.want {
			t.Errorf("ringSize(%d, %d) = %d, want %d", tc.n, tc.capacity, got, tc.want)
		}
	}
}
