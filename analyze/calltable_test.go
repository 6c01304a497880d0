package analyze

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestCallTableAgreesWithAMap puts, finds and deletes calls at random,
// with hashes squeezed into a few values so that probe runs are long and
// deletions shift entries across them (and across the table's end), and
// checks every answer against a plain map.
func TestCallTableAgreesWithAMap(t *testing.T) {
	for _, spread := range []uint64{3, 64, 1 << 62} {
		rng := rand.New(rand.NewPCG(spread, 7))
		var tbl callTable
		ref := map[string]*call{}
		for op := 0; op < 20000; op++ {
			id := fmt.Sprintf("c%d", rng.IntN(3000))
			// Hashes just below a power of two start at the table's last
			// slots, whatever its size: probes wrap around.
			hash := ^uint64(0) - rng.Uint64()%spread
			if c := ref[id]; c != nil {
				hash = c.hash
			}
			_, hash2 := idHash([]byte(id)) // unique: told apart by it
			got := tbl.get(hash, hash2, len(id))
			if got != ref[id] {
				t.Fatalf("spread %d op %d: get(%s) = %v, want %v", spread, op, id, got, ref[id])
			}
			switch {
			case got == nil:
				c := &call{id: id, hash: hash, hash2: hash2}
				tbl.put(c)
				ref[id] = c
			case rng.IntN(2) == 0:
				tbl.delete(got)
				delete(ref, id)
			}
			if tbl.n != len(ref) {
				t.Fatalf("spread %d op %d: %d calls, want %d", spread, op, tbl.n, len(ref))
			}
		}
		for id, c := range ref {
			if tbl.get(c.hash, c.hash2, len(id)) != c {
				t.Fatalf("spread %d: %s lost", spread, id)
			}
		}
		if n := len(tbl.all()); n != len(ref) {
			t.Fatalf("spread %d: all() gave %d calls, want %d", spread, n, len(ref))
		}
	}
}
