package analyze

import (
	"fmt"
	"testing"
	"time"

	"github.com/sipalive/sipalive/capture"
)

// TestFoldedCallRetransmissions: a call that has ended and been quiet for
// foldQuiet is folded; its late retransmissions (the BYE resent because
// its 200 was lost beyond the tap, the 200 resent, the ACK of a resent
// 2xx), within 64*T1 of their request, are recognised as such and counted
// nowhere, as they were while the call was kept whole; the same BYE after
// that time, or a new request of the ended dialog, is new.
func TestFoldedCallRetransmissions(t *testing.T) {
	tests := []struct {
		name      string
		late      time.Duration // after the BYE's 200
		keepalive bool          // a new in-dialog request instead of the BYE again
		fork      bool          // a 2xx from another fork instead
		resend    bool          // with keepalive: then the BYE and its 200 again
		absorbed  int
		stale     int
		orphans   uint64
		calls     int
	}{
		{name: "retransmissions within Timer F", late: 10 * time.Second, absorbed: 3},
		{name: "past Timer F", late: 50 * time.Second}, // a new BYE of the ended dialog, answered
		{name: "a new request of the dialog", late: 10 * time.Second, keepalive: true, stale: 1},
		// The stale request makes the call again: the BYE resent after it
		// is still the folded call's.
		{name: "retransmissions after a new request", late: 10 * time.Second, keepalive: true, resend: true, stale: 1, absorbed: 2},
		// A fork that answers late makes a dialog of its own; the call
		// kept no INVITE for it, so its answer is one without a request.
		{name: "a 2xx from another fork", late: 10 * time.Second, fork: true, orphans: 1, calls: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFeeder()
			f.send(0, addrA, addrB, request("INVITE", "fc", 1, "inv", false, "", ""))
			f.send(time.Second, addrB, addrA, response(200, "INVITE", "fc", 1, "inv", "tb"))
			f.send(time.Millisecond, addrA, addrB, request("ACK", "fc", 1, "ack", true, "", ""))
			f.send(time.Second, addrA, addrB, request("BYE", "fc", 2, "bye", true, "", ""))
			f.send(time.Millisecond, addrB, addrA, response(200, "BYE", "fc", 2, "bye", "tb"))
			// Other traffic moves the clock, so that sweeps run.
			for i := time.Duration(0); i < tc.late; i += time.Second {
				f.send(time.Second, addrA, addrB, request("OPTIONS", fmt.Sprint("ping", i), 1, fmt.Sprint("p", i), false, "", ""))
			}
			if f.a.store.lookupCall(&Event{CallHash: mustHash("fc")}) != nil {
				t.Fatal("the finished call is still kept whole")
			}
			switch {
			case tc.keepalive:
				f.send(time.Second, addrA, addrB, request("INFO", "fc", 3, "info", true, "", ""))
				if tc.resend {
					f.send(time.Second, addrA, addrB, request("BYE", "fc", 2, "bye", true, "", ""))
					f.send(time.Millisecond, addrB, addrA, response(200, "BYE", "fc", 2, "bye", "tb"))
				}
			case tc.fork:
				f.send(time.Second, addrB, addrA, response(200, "INVITE", "fc", 1, "inv", "tc"))
			default:
				f.send(time.Second, addrA, addrB, request("BYE", "fc", 2, "bye", true, "", ""))
				f.send(time.Millisecond, addrB, addrA, response(200, "BYE", "fc", 2, "bye", "tb"))
				f.send(time.Millisecond, addrA, addrB, request("ACK", "fc", 1, "ack", true, "", ""))
			}
			absorbed := f.a.store.folded.absorbed
			r := f.a.Finish(capture.Stats{})
			if absorbed != tc.absorbed {
				t.Errorf("%d late messages recognised, want %d", absorbed, tc.absorbed)
			}
			if r.Overview.OrphanResponses != tc.orphans {
				t.Errorf("%d responses without their request, want %d", r.Overview.OrphanResponses, tc.orphans)
			}
			if n := r.FindingCounts[FindingStale]; n != tc.stale {
				t.Errorf("%d stale findings, want %d", n, tc.stale)
			}
			if want := max(tc.calls, 1); r.Overview.Dialogs != want || r.Summary.Calls != want {
				t.Errorf("%d dialogs, %d calls: want %d", r.Overview.Dialogs, r.Summary.Calls, want)
			}
			if r.Overview.Limits.ForgottenCalls != 0 {
				t.Errorf("%d folded calls forgotten", r.Overview.Limits.ForgottenCalls)
			}
		})
	}
}

func mustHash(id string) uint64 {
	h, _ := idHash([]byte(id))
	return h
}

// TestFoldedCallsBounded fills the ring past its capacity: the oldest
// calls make room and are counted; the newest are recognised.
func TestFoldedCallsBounded(t *testing.T) {
	var f foldedCalls
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	until := now.Add(time.Minute).UnixNano()
	ev := func(i int) *Event {
		id := []byte(fmt.Sprint("call-", i))
		h, h2 := idHash(id)
		return &Event{CallID: id, CallHash: h, CallHash2: h2, Method: "BYE", CSeq: 2, Branch: uint64(i), Request: true, Time: now}
	}
	absorbs := func(e *Event) bool { return f.absorb(f.lookup(e), e) }
	const n = foldedCapacity + 100
	for i := range n {
		e := ev(i)
		c := &call{id: string(e.CallID), hash: e.CallHash, hash2: e.CallHash2}
		f.add(c, []foldedKey{keyOfTransaction(uint64(i), 2, "BYE"), keyOfTransaction(7, 1, "INVITE")}, until, now.UnixNano())
	}
	if f.evicted != 100 || f.index.n != foldedCapacity {
		t.Errorf("evicted %d, index %d: want 100 and %d", f.evicted, f.index.n, foldedCapacity)
	}
	if absorbs(ev(0)) || absorbs(ev(99)) {
		t.Error("a forgotten call's retransmission is recognised")
	}
	if !absorbs(ev(100)) || !absorbs(ev(n-1)) {
		t.Error("a kept call's retransmission is not recognised")
	}
	late := ev(n - 1)
	late.Time = time.Unix(0, until)
	if absorbs(late) {
		t.Error("a retransmission past its time is recognised")
	}
	other := ev(n - 1)
	other.CSeq = 3
	if absorbs(other) {
		t.Error("a new request is taken for a retransmission")
	}
}

// TestFoldedReserve: a reserved table is full size before its first
// call, and takes calls as a grown one does.
func TestFoldedReserve(t *testing.T) {
	var f foldedCalls
	f.reserve()
	if len(f.calls) != foldedCapacity || len(f.keys) != foldedCapacity*foldedKeysPerCall || len(f.index.slots) < 2*foldedCapacity {
		t.Fatalf("reserved rings of %d calls, %d keys, %d slots", len(f.calls), len(f.keys), len(f.index.slots))
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	id := []byte("call-1")
	h, h2 := idHash(id)
	f.add(&call{id: string(id), hash: h, hash2: h2}, []foldedKey{keyOfTransaction(1, 2, "BYE")}, now.Add(time.Minute).UnixNano(), now.UnixNano())
	absorbs := func(e *Event) bool { return f.absorb(f.lookup(e), e) }
	e := &Event{CallID: id, CallHash: h, CallHash2: h2, Method: "BYE", CSeq: 2, Branch: 1, Request: true, Time: now}
	if !absorbs(e) {
		t.Error("a retransmission is not recognised in a reserved table")
	}
}

// TestFinishedCallsLeave feeds a steady stream of short calls (INVITE,
// 200, ACK, an INFO keep-alive, BYE, 200) at 50 a second: the calls kept
// whole are only those of the last couple of seconds (foldQuiet and a
// sweep), not of the last minute, and every call is counted.
func TestFinishedCallsLeave(t *testing.T) {
	f := newFeeder()
	const calls, gap = 3000, 20 * time.Millisecond
	for i := range calls {
		id := fmt.Sprint("steady-", i)
		f.send(gap, addrA, addrB, request("INVITE", id, 1, "inv"+id, false, "", ""))
		f.send(0, addrB, addrA, response(200, "INVITE", id, 1, "inv"+id, "tb"))
		f.send(0, addrA, addrB, request("ACK", id, 1, "ack"+id, true, "", ""))
		f.send(0, addrA, addrB, request("INFO", id, 2, "info"+id, true, "", ""))
		f.send(0, addrB, addrA, response(200, "INFO", id, 2, "info"+id, "tb"))
		f.send(0, addrA, addrB, request("BYE", id, 3, "bye"+id, true, "", ""))
		f.send(0, addrB, addrA, response(200, "BYE", id, 3, "bye"+id, "tb"))
	}
	// 50 calls a second: foldQuiet and a sweep's second hold about 100.
	if n := f.a.store.calls.n; n > 150 {
		t.Errorf("%d calls kept whole at the end of a steady stream, want at most 150", n)
	}
	r := f.a.Finish(capture.Stats{})
	if r.Summary.Calls != calls || r.Summary.SessionKeepAlives["INFO"].OK != calls {
		t.Errorf("%d calls and %+v INFO keep-alives, want %d of each", r.Summary.Calls, r.Summary.SessionKeepAlives["INFO"], calls)
	}
}

// TestSettledInvite: a call that stays up lets its answered INVITE go
// forkLinger after the 2xx, keeping only its key; the INVITE and its 2xx
// resent later are still recognised as retransmissions, and a 2xx from
// another fork still makes a dialog of its own (whole while forkLinger
// lasts, from the 2xx alone after it, as for a folded call).
func TestSettledInvite(t *testing.T) {
	tests := []struct {
		name       string
		late       time.Duration // after the 2xx
		keepFrames bool
		resend     string // "invite", "2xx", "fork"
		settled    bool   // the INVITE has left the call when resend comes
		dialogs    int
		orphans    uint64
	}{
		{name: "INVITE resent", late: 10 * time.Second, resend: "invite", settled: true, dialogs: 1},
		{name: "2xx resent", late: 10 * time.Second, resend: "2xx", settled: true, dialogs: 1},
		{name: "fork after forkLinger", late: 10 * time.Second, resend: "fork", settled: true, dialogs: 2, orphans: 1},
		{name: "fork within forkLinger", late: 2 * time.Second, resend: "fork", dialogs: 2},
		{name: "INVITE resent within forkLinger", late: 2 * time.Second, resend: "invite", dialogs: 1},
		{name: "kept whole for its packets", late: 10 * time.Second, keepFrames: true, resend: "2xx", dialogs: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFeeder()
			f.a = New(Options{KeepFrames: tc.keepFrames})
			f.send(0, addrA, addrB, request("INVITE", "si", 1, "inv", false, "", ""))
			f.send(time.Second, addrB, addrA, response(200, "INVITE", "si", 1, "inv", "tb"))
			f.send(time.Millisecond, addrA, addrB, request("ACK", "si", 1, "ack", true, "", ""))
			for i := time.Duration(0); i < tc.late; i += time.Second {
				f.send(time.Second, addrA, addrB, request("OPTIONS", fmt.Sprint("ping", i), 1, fmt.Sprint("p", i), false, "", ""))
			}
			c := f.a.store.lookupCall(&Event{CallHash: mustHash("si"), CallHash2: mustHash2("si"), CallID: []byte("si")})
			if c == nil {
				t.Fatal("the call that is up is not kept")
			}
			if settled := len(c.txs) == 0 && c.settled.len() == 1; settled != tc.settled {
				t.Fatalf("INVITE left the call: %v (%d transactions, %d keys), want %v", settled, len(c.txs), c.settled.len(), tc.settled)
			}
			switch tc.resend {
			case "invite":
				f.send(time.Second, addrA, addrB, request("INVITE", "si", 1, "inv", false, "", ""))
			case "2xx":
				f.send(time.Second, addrB, addrA, response(200, "INVITE", "si", 1, "inv", "tb"))
				f.send(time.Millisecond, addrA, addrB, request("ACK", "si", 1, "ack", true, "", ""))
			case "fork":
				f.send(time.Second, addrB, addrA, response(200, "INVITE", "si", 1, "inv", "tc"))
			}
			if tc.resend == "invite" && len(c.txs) != 0 && c.txs[0].Retransmissions != 1 {
				t.Errorf("the INVITE kept whole counts %d retransmissions, want 1", c.txs[0].Retransmissions)
			}
			f.send(time.Second, addrA, addrB, request("BYE", "si", 2, "bye", true, "", ""))
			f.send(time.Millisecond, addrB, addrA, response(200, "BYE", "si", 2, "bye", "tb"))
			r := f.a.Finish(capture.Stats{})
			if r.Overview.Dialogs != tc.dialogs {
				t.Errorf("%d dialogs, want %d", r.Overview.Dialogs, tc.dialogs)
			}
			if r.Overview.OrphanResponses != tc.orphans {
				t.Errorf("%d responses without their request, want %d", r.Overview.OrphanResponses, tc.orphans)
			}
			if r.Summary.Calls < 1 {
				t.Error("the call is not counted")
			}
		})
	}
}

// TestSettledKeysFold: when a call whose INVITE settled early folds, the
// INVITE's key goes with the call's into the folded ring while its
// retransmissions may come.
func TestSettledKeysFold(t *testing.T) {
	f := newFeeder()
	f.send(0, addrA, addrB, request("INVITE", "sk", 1, "inv", false, "", ""))
	f.send(time.Second, addrB, addrA, response(200, "INVITE", "sk", 1, "inv", "tb"))
	f.send(time.Millisecond, addrA, addrB, request("ACK", "sk", 1, "ack", true, "", ""))
	for i := range 6 {
		f.send(time.Second, addrA, addrB, request("OPTIONS", fmt.Sprint("ping", i), 1, fmt.Sprint("p", i), false, "", ""))
	}
	f.send(time.Second, addrA, addrB, request("BYE", "sk", 2, "bye", true, "", ""))
	f.send(time.Millisecond, addrB, addrA, response(200, "BYE", "sk", 2, "bye", "tb"))
	for i := range 5 {
		f.send(time.Second, addrA, addrB, request("OPTIONS", fmt.Sprint("pong", i), 1, fmt.Sprint("q", i), false, "", ""))
	}
	if f.a.store.lookupCall(&Event{CallHash: mustHash("sk"), CallHash2: mustHash2("sk"), CallID: []byte("sk")}) != nil {
		t.Fatal("the finished call is still kept whole")
	}
	f.send(time.Second, addrB, addrA, response(200, "INVITE", "sk", 1, "inv", "tb"))
	if f.a.store.folded.absorbed != 1 {
		t.Errorf("%d late messages recognised, want the 2xx", f.a.store.folded.absorbed)
	}
	r := f.a.Finish(capture.Stats{})
	if r.Overview.Dialogs != 1 || r.Overview.OrphanResponses != 0 {
		t.Errorf("%d dialogs, %d orphans: want 1 and 0", r.Overview.Dialogs, r.Overview.OrphanResponses)
	}
}

func mustHash2(id string) uint64 {
	_, h2 := idHash([]byte(id))
	return h2
}
