package analyze

import (
	"encoding/binary"
	"testing"
)

// TestHostTable holds the table to a map through growth, keys whose hashes
// share their slot and tag, lookups of absent keys and a reset.
func TestHostTable(t *testing.T) {
	for _, tc := range []struct {
		name string
		hash func(key *[16]byte) uint64
		n    int // keys
	}{
		{"addrHash", addrHash, 3000},
		{"one slot, one tag", func(*[16]byte) uint64 { return 42 }, 300},                                          // every key collides: every probe walks the run
		{"few tags", func(k *[16]byte) uint64 { return uint64(binary.LittleEndian.Uint16(k[14:])) & 0xff }, 3000}, // tags alike, slots differ
	} {
		t.Run(tc.name, func(t *testing.T) {
			table := hostTable{hash: tc.hash}
			want := map[[16]byte]*address{}
			n := tc.n
			key := func(i int) [16]byte {
				var k [16]byte
				binary.LittleEndian.PutUint32(k[12:], uint32(i)*2654435761)
				return k
			}
			for round := 0; round < 2; round++ {
				for i := 0; i < n; i++ {
					k := key(i)
					h := tc.hash(&k)
					if got := table.get(h, &k); got != want[k] {
						t.Fatalf("round %d, key %d before put: got %p, want %p", round, i, got, want[k])
					}
					ad := &address{key: k}
					table.put(h, ad)
					want[k] = ad
				}
				for i := 0; i < n+100; i++ {
					k := key(i)
					if got := table.get(tc.hash(&k), &k); got != want[k] {
						t.Fatalf("round %d, key %d: got %p, want %p", round, i, got, want[k])
					}
				}
				if table.n != n {
					t.Fatalf("round %d: n %d, want %d", round, table.n, n)
				}
				table.reset()
				clear(want)
			}
		})
	}
}
