package analyze

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/sipalive/sipalive/capture"
)

// TestStaleAfterTheCallIsGone sends keep-alives after a call's BYE: one
// within the exact window (the call still whole), one minutes later (the
// call gone, its tombstone left), one past staleLinger (forgotten: a
// dialog met mid-call). The first two are stale, in the dialog that ended,
// answered as they were; the third is a new dialog.
func TestStaleAfterTheCallIsGone(t *testing.T) {
	tests := []struct {
		after    time.Duration
		stale    bool
		byCallee bool
		dialogs  int
		wantSide string
	}{
		{after: 10 * time.Second, stale: true, dialogs: 1, wantSide: "caller"},
		{after: 5 * time.Minute, stale: true, dialogs: 1, wantSide: "caller"},
		{after: 5 * time.Minute, stale: true, byCallee: true, dialogs: 1, wantSide: "callee"},
		{after: 20 * time.Minute, stale: false, dialogs: 2},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.after, tc.byCallee), func(t *testing.T) {
			f := newFeeder()
			f.send(0, addrA, addrB, request("INVITE", "st", 1, "inv", false, "", ""))
			f.send(time.Second, addrB, addrA, response(200, "INVITE", "st", 1, "inv", "tb"))
			f.send(10*time.Second, addrA, addrB, request("BYE", "st", 2, "bye", true, "", ""))
			f.send(time.Millisecond, addrB, addrA, response(200, "BYE", "st", 2, "bye", "tb"))
			// Other traffic moves the clock, so that sweeps run.
			for i := time.Duration(0); i < tc.after; i += 10 * time.Second {
				f.send(10*time.Second, addrA, addrB, request("OPTIONS", fmt.Sprint("ping", i), 1, fmt.Sprint("p", i), false, "", ""))
			}
			if tc.byCallee {
				f.send(time.Second, addrB, addrA, "INFO sip:a@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKlate\r\nFrom: <sip:b@h>;tag=tb\r\n"+
					"To: <sip:a@h>;tag=ta\r\nCall-ID: st\r\nCSeq: 9 INFO\r\nContent-Length: 0\r\n\r\n")
			} else {
				f.send(time.Second, addrA, addrB, request("INFO", "st", 3, "late", true, "", ""))
			}
			r := f.a.Finish(capture.Stats{})
			var stale []Finding
			for _, fd := range r.Findings {
				if fd.Kind == FindingStale {
					stale = append(stale, fd)
				}
			}
			if got := len(stale) == 1; got != tc.stale {
				t.Fatalf("stale findings %+v, want stale %v", stale, tc.stale)
			}
			if tc.stale && stale[0].Facts.Side != tc.wantSide {
				t.Errorf("stale keep-alive sent by %q, want %q", stale[0].Facts.Side, tc.wantSide)
			}
			if r.Overview.Dialogs != tc.dialogs {
				t.Errorf("%d dialogs, want %d", r.Overview.Dialogs, tc.dialogs)
			}
			if r.Overview.Limits.ForgottenDialogs != 0 {
				t.Errorf("%d dialogs forgotten early", r.Overview.Limits.ForgottenDialogs)
			}
		})
	}
}

// TestStaleTableIsBounded fills the tombstone ring past its capacity: the
// oldest tombstones make room, are counted as forgotten early, and their
// dialogs' late requests are no longer known as stale; the newest are.
func TestStaleTableIsBounded(t *testing.T) {
	var s staleTable
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ev := func(i int) *Event {
		id := []byte(fmt.Sprint("call-", i))
		h, h2 := idHash(id)
		return &Event{CallID: id, CallHash: h, CallHash2: h2, FromTag: []byte("a"), ToTag: []byte("b"),
			FromTagHash: tagHash([]byte("a")), ToTagHash: tagHash([]byte("b")), Time: now}
	}
	const n = staleCapacity + 100
	for i := range n {
		e := ev(i)
		c := &call{id: string(e.CallID), hash: e.CallHash, hash2: e.CallHash2}
		d := &Dialog{tags: "ab", callerLen: 1, callerHash: e.FromTagHash, calleeHash: e.ToTagHash, ended: now.UnixNano()}
		s.bury(c, d, now)
	}
	if s.evicted != 100 || s.index.n != staleCapacity {
		t.Errorf("evicted %d, index %d: want 100 and %d", s.evicted, s.index.n, staleCapacity)
	}
	if s.find(ev(0)) != nil || s.find(ev(99)) != nil {
		t.Error("an overwritten tombstone is still found")
	}
	if s.find(ev(100)) == nil || s.find(ev(n-1)) == nil {
		t.Error("a kept tombstone is not found")
	}
}

// TestStaleReserve: a reserved table is full size before its first
// tombstone, and takes them as a grown one does.
func TestStaleReserve(t *testing.T) {
	var s staleTable
	s.reserve()
	if len(s.ring) != staleCapacity || len(s.index.slots) < 2*staleCapacity {
		t.Fatalf("reserved ring of %d", len(s.ring))
	}
}

// TestTombstoneProxies buries dialogs, every third with proxies, past the
// ring's first sizes and past its capacity: each tombstone still kept
// gives back its own dialog's proxies, whether the proxies' ring grew,
// was reserved whole or had its oldest entries leave with their
// tombstones.
func TestTombstoneProxies(t *testing.T) {
	for _, reserve := range []bool{false, true} {
		t.Run(fmt.Sprint("reserve ", reserve), func(t *testing.T) {
			var s staleTable
			if reserve {
				s.reserve()
			}
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			proxyOf := func(i int) [2]packedAddr {
				if i%3 != 0 {
					return [2]packedAddr{}
				}
				return [2]packedAddr{
					packAddr(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 5060)),
					packAddr(netip.AddrPortFrom(netip.MustParseAddr("2001:db8::1"), uint16(i))),
				}
			}
			const n = staleCapacity + 1000
			for i := range n {
				id := fmt.Sprint("call-", i)
				h, h2 := idHash([]byte(id))
				c := &call{id: id, hash: h, hash2: h2}
				d := &Dialog{tags: "ab", callerLen: 1, callerHash: tagHash([]byte("a")), calleeHash: tagHash([]byte("b")), proxies: proxyOf(i)}
				s.bury(c, d, now)
			}
			if s.evicted != 1000 || s.proxies.n != (n+2)/3-(1000+2)/3 {
				t.Fatalf("evicted %d, proxies kept %d", s.evicted, s.proxies.n)
			}
			for _, i := range []int{999, 1000, 1001, 1002, 40000, n - 3, n - 2, n - 1} {
				id := fmt.Sprint("call-", i)
				h, h2 := idHash([]byte(id))
				e := &Event{CallID: []byte(id), CallHash: h, CallHash2: h2, FromTag: []byte("a"), ToTag: []byte("b"),
					FromTagHash: tagHash([]byte("a")), ToTagHash: tagHash([]byte("b")), Time: now}
				ts := s.find(e)
				if (ts != nil) != (i >= 1000) {
					t.Fatalf("dialog %d kept: %v", i, ts != nil)
				}
				if ts != nil && s.proxiesOf(ts) != proxyOf(i) {
					t.Errorf("dialog %d: proxies %v, want %v", i, s.proxiesOf(ts), proxyOf(i))
				}
			}
		})
	}
}

// TestPackAddr checks packAddr against its definition (As16's bytes, the
// port, the family) and that unpack gives the address back.
func TestPackAddr(t *testing.T) {
	for _, s := range []string{"10.1.2.3:5060", "255.255.255.255:65535", "0.0.0.0:0", "[2001:db8::1]:5061", "[::ffff:10.1.2.3]:5060", "[::]:1"} {
		ap := netip.MustParseAddrPort(s)
		kind := uint8(6)
		if ap.Addr().Is4() {
			kind = 4
		}
		b := ap.Addr().As16()
		want := packedAddr{ip: ipKey{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}, port: ap.Port(), kind: kind}
		if got := packAddr(ap); got != want {
			t.Errorf("packAddr(%s) = %v, want %v", s, got, want)
		}
		if got := packAddr(ap).unpack(); got != ap {
			t.Errorf("packAddr(%s).unpack() = %s", s, got)
		}
	}
	if got := packAddr(netip.AddrPort{}); got != (packedAddr{}) {
		t.Errorf("packAddr of the zero AddrPort = %v", got)
	}
}
