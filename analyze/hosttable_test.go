package analyze

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestHostTable holds the table to a map through growth, keys whose hashes
// share their slot and tag, lookups of absent keys, and removals in random
// order (the backward shift of the runs they were in).
func TestHostTable(t *testing.T) {
	for _, tc := range []struct {
		name string
		hash func(key *ipKey) uint64
		n    int // keys
	}{
		{"addrHash", addrHash, 3000},
		{"one slot, one tag", func(*ipKey) uint64 { return 42 }, 300},              // every key collides: every probe walks the run
		{"few tags", func(k *ipKey) uint64 { return k.lo & 0xff }, 3000},           // tags alike, slots differ
		{"wrapping runs", func(k *ipKey) uint64 { return ^(k.lo >> 24 & 7) }, 600}, // homes in the last slots, whatever the size: runs cross the end
	} {
		t.Run(tc.name, func(t *testing.T) {
			table := hostTable{hash: tc.hash}
			rng := rand.New(rand.NewPCG(1, uint64(tc.n)))
			want := map[ipKey]*address{}
			n := tc.n
			key := func(i int) ipKey { return ipKey{lo: uint64(uint32(i) * 2654435761)} }
			check := func(round int) {
				t.Helper()
				for i := 0; i < n+100; i++ {
					k := key(i)
					if got := table.get(tc.hash(&k), &k); got != want[k] {
						t.Fatalf("round %d, key %d: got %p, want %p", round, i, got, want[k])
					}
				}
				if table.n != len(want) {
					t.Fatalf("round %d: n %d, want %d", round, table.n, len(want))
				}
				mask := uint64(len(table.slots) - 1)
				for i, ad := range table.slots {
					if ad == nil {
						continue
					}
					d := (uint64(i) - tc.hash(&ad.key)) & mask
					if got := table.dist[i]; got != uint8(min(d, maxDist)) {
						t.Fatalf("round %d, slot %d: distance %d, want %d", round, i, got, d)
					}
				}
			}
			for round := 0; round < 3; round++ {
				for i := 0; i < n; i++ {
					k := key(i)
					if want[k] != nil {
						continue
					}
					ad := &address{key: k}
					table.put(tc.hash(&k), ad)
					want[k] = ad
				}
				check(round)
				for _, i := range rng.Perm(n)[:n/2] {
					k := key(i)
					table.remove(want[k])
					delete(want, k)
				}
				check(round)
			}
		})
	}
}

// TestAddressBookKeepsTheLatest fills the book past maxAddresses: each new
// address takes the oldest one's entry, which the table no longer finds
// and a call's shortcut to it no longer answers for; the rest are kept,
// and the forgotten ones are counted.
func TestAddressBookKeepsTheLatest(t *testing.T) {
	b := addressBook{vendorNames: map[string]string{}}
	addr := func(i int) netip.AddrPort {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 5060)
	}
	const extra = 10
	first := &call{}
	for i := range maxAddresses + extra {
		c := &call{}
		if i == 0 {
			c = first
		}
		b.hostFor(c, addr(i)).agent = fmt.Sprint("agent ", i)
	}
	if b.forgotten != extra || b.hosts.n != maxAddresses {
		t.Fatalf("forgotten %d, table %d: want %d and %d", b.forgotten, b.hosts.n, extra, maxAddresses)
	}
	for _, i := range []int{0, extra - 1, extra, maxAddresses + extra - 1} {
		want := ""
		if i >= extra {
			want = fmt.Sprint("agent ", i)
		}
		if got := b.hostOf(addr(i)).agent; got != want {
			t.Errorf("address %d: agent %q, want %q", i, got, want)
		}
	}
	// The first call's shortcut names an entry now another address's.
	b.sweeping = first
	if got := b.hostOf(addr(0)).agent; got != "" {
		t.Errorf("a stale shortcut names the evicted address %q", got)
	}
	b.sweeping = nil
	if h := b.hostFor(first, addr(0)); h.agent != "" {
		t.Errorf("the evicted address came back with agent %q", h.agent)
	}
}
