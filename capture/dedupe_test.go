package capture

import (
	"fmt"
	"testing"
	"time"
)

// TestDupFilterPairsCopiesApart: on loopback under load the two copies of
// a packet arrive with others between them; each second copy is dropped
// however far back its twin is in the window, a packet repeated later (a
// retransmission) is kept, and nothing is dropped twice.
func TestDupFilterPairsCopiesApart(t *testing.T) {
	f := newDupFilter()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var kept, dropped int
	see := func(p string, d time.Duration) {
		if f.duplicate([]byte(p), at.Add(d)) {
			dropped++
		} else {
			kept++
		}
	}
	// 1,000 packets, each seen twice: packet j's second copy comes after
	// packet j+j%8, with up to seven others between them
	twins := map[int][]int{}
	for j := range 1000 {
		twins[min(j+j%8, 999)] = append(twins[min(j+j%8, 999)], j)
	}
	for i := range 1000 {
		d := time.Duration(i) * 100 * time.Microsecond
		see(fmt.Sprint("INVITE ", i), d)
		for _, j := range twins[i] {
			see(fmt.Sprint("INVITE ", j), d+time.Microsecond)
		}
	}
	if dropped != 1000 || kept != 1000 {
		t.Errorf("kept %d, dropped %d: want each of 1,000 packets kept once and its twin dropped", kept, dropped)
	}
	kept, dropped = 0, 0
	see("OPTIONS", 0)
	see("OPTIONS", time.Millisecond)        // the loopback twin
	see("OPTIONS", 500*time.Millisecond)    // a retransmission
	see("OPTIONS", 501*time.Millisecond)    // its twin
	see("OPTIONS", 501500*time.Microsecond) // a third copy within the window: kept
	if kept != 3 || dropped != 2 {
		t.Errorf("kept %d, dropped %d: want 3 and 2", kept, dropped)
	}
}
