package analyze

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/sipalive/sipalive/capture"
)

// TestFloodIsAFindingInBoundedState sends more unanswered OPTIONS, each
// with its own Call-ID, than the calls without a dialog that are kept:
// the oldest are folded early and counted so, every request is counted
// once, and the flood is one finding naming source, target and span. A
// slow run of unanswered pings is no flood.
func TestFloodIsAFindingInBoundedState(t *testing.T) {
	scanner := netip.MustParseAddrPort("203.0.113.9:5070")
	f := newFeeder()
	const n = maxHalfOpen + 5000
	for i := range n {
		f.send(time.Millisecond, scanner, addrB, request("OPTIONS", fmt.Sprint("scan-", i), 1, fmt.Sprint("s", i), false, "", ""))
	}
	// A dead peer pinged every 30 s for an hour, once the flood's calls
	// have lingered out: device-down, not a flood.
	f.now = f.now.Add(2 * time.Minute)
	for i := range 120 {
		f.send(30*time.Second, addrA, addrB, request("OPTIONS", fmt.Sprint("ping-", i), 1, fmt.Sprint("p", i), false, "", ""))
	}
	r := f.a.Finish(capture.Stats{})
	if got := r.Overview.Limits.EvictedCalls; got != 5000 {
		t.Errorf("%d calls evicted, want 5000", got)
	}
	if o := r.Summary.DeviceKeepAlives["OPTIONS"]; o == nil || o.Sent != n+120 || o.Unanswered != n+120 {
		t.Errorf("OPTIONS %+v, want %d sent and unanswered", o, n+120)
	}
	var floods []Finding
	for _, fd := range r.Findings {
		if fd.Kind == FindingFlood {
			floods = append(floods, fd)
		}
	}
	if len(floods) != 1 {
		t.Fatalf("flood findings %+v, want one", floods)
	}
	x := floods[0].Facts
	if x.From != "203.0.113.9" || x.To != addrB.Addr().String() || x.Method != "OPTIONS" || x.Pings != n {
		t.Errorf("flood %+v, want %d OPTIONS 203.0.113.9 → %s", x, n, addrB.Addr())
	}
	if want := time.Duration(n-1) * time.Millisecond; x.Until.Sub(floods[0].Time) != want {
		t.Errorf("flood spans %v, want %v", x.Until.Sub(floods[0].Time), want)
	}
}
