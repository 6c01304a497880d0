// Package analyze rebuilds SIP transactions and dialogs from the messages
// the capture package finds, classifies every request by the keep-alive
// rules, tracks RFC 4028 session timers, and builds the report.
package analyze

import (
	"math"
	"net/netip"
	"sort"
	"time"

	"github.com/sipalive/sipalive/capture"
	"github.com/sipalive/sipalive/capture/sip"
)

// Options tune an Analyzer.
type Options struct {
	// KeepFrames records which packets carried each dialog's messages, for
	// writing problem dialogs to a pcap. It costs memory per message.
	KeepFrames bool
	// MaxRows bounds each per-row list of the report (dialogs, findings,
	// not-keep-alives, session timers); 0 keeps every row. Counts are
	// always complete.
	MaxRows int
	// KeepAliveRows collects one row per session keep-alive for CSV; it
	// costs memory per keep-alive.
	KeepAliveRows bool
	// Rows, when set, takes the rows of the per-row lists as they settle
	// (see RowSink); the report's lists then hold only rows made at the
	// end (the vendors' findings). Counts are complete either way.
	Rows RowSink
	// Observe, when set, is shown every row as it settles, whether the
	// report keeps it or not: the events and metrics of a monitor.
	Observe RowSink
	// Live folds every keep-alive of a dialog still up as soon as it has
	// settled (not in batches of compactAfter), so that a monitor's
	// events and metrics count it within a sweep of its answer.
	Live bool
	// IdleTimeout closes a dialog without BYE after this much silence;
	// 0 means twice the largest Session-Expires seen, at least an hour.
	IdleTimeout time.Duration
}

// How long things are kept after they are settled, on capture time.
const (
	// txLinger keeps a settled transaction for its retransmissions
	// (Timer J/K are 64*T1 at most).
	txLinger = 2 * TransactionTimeout
	// byeLinger keeps a dialog after its BYE for late answers.
	byeLinger = 2 * TransactionTimeout
	// sweepEvery is how often settled state is folded and freed: a
	// finished call waits foldQuiet and up to this long. A sweep takes
	// only the calls that are due, so sweeping often costs little, and a
	// short burst of retiring holds up the decoding side less than a long
	// one (on a trunk of 1,000 calls a second, sweeping every 100 ms
	// rather than every second took 4% less time, and 15% less on a flood
	// of pings).
	sweepEvery = 100 * time.Millisecond
)

// Analyzer consumes SIP messages in capture order and rebuilds their
// transactions and dialogs; the bookkeeping around that is done by parts
// with one job each: the calls and their records (callStore), what each
// address announced (addressBook), when each call is due a sweep
// (sweeper), the totals, rows and findings of what has settled (ledger),
// and the NAT keep-alives (natTable). It is not safe for concurrent use.
type Analyzer struct {
	opts Options
	scan *Scanner // for Message: the events of a single goroutine
	ev   Event

	store  callStore
	book   addressBook
	timing sweeper
	ledger ledger
	nat    natTable
	seq    uint64 // creation order of calls, dialogs and transactions

	foldKeys []foldedKey // scratch for sweepCall
	warmSink uintptr     // see warmCall

	sipMessages uint64
	requests    uint64
	responses   uint64
	orphans     uint64 // responses whose request was not captured
	malformed   map[string]uint64
	first, last time.Time
}

// New returns an Analyzer.
func New(opts Options) *Analyzer {
	a := &Analyzer{
		opts:      opts,
		malformed: make(map[string]uint64),
		book:      addressBook{vendorNames: make(map[string]string)},
		nat:       natTable{m: make(map[natKey]*NATKeepAlive)},
		timing:    sweeper{idleTimeout: opts.IdleTimeout, compactAfter: compactAfter},
	}
	a.ledger = ledger{opts: &a.opts, book: &a.book, store: &a.store, tot: newTotals()}
	if opts.Live {
		a.timing.compactAfter = 1
		// a monitor runs for months: its rings of finished dialogs and
		// calls take their full size at once, rather than doubling in
		// steps over the first quarter of an hour
		a.store.buried.reserve()
		a.store.folded.reserve()
	}
	return a
}

// Message takes one message from the capture. The message's buffers are
// only read during the call.
func (a *Analyzer) Message(cm *capture.Message) {
	if a.scan == nil {
		a.scan = NewScanner()
	}
	a.scan.Scan(cm, &a.ev)
	a.Take(&a.ev)
}

// Take is Message for a message a Scanner has already made an Event of
// (in another goroutine, say). Events must come in capture order.
func (a *Analyzer) Take(e *Event) {
	if a.first.IsZero() || e.Time.Before(a.first) {
		a.first = e.Time
	}
	if e.Time.After(a.last) {
		a.last = e.Time
	}
	if elapsed(a.timing.lastSweep, a.last) >= sweepEvery {
		a.sweep(a.last)
	}
	if e.Kind == capture.NATKeepAlive {
		a.nat.add(e)
		return
	}
	a.sipMessages++
	if e.Malformed != "" {
		a.malformed[e.Malformed]++
		return
	}
	if e.Request {
		a.requests++
		a.request(e)
	} else {
		a.responses++
		a.response(e)
	}
}

// Advance moves the analysis clock to now while a live source is quiet,
// so that what is due settles on time: a keep-alive whose answer never
// comes is unanswered 32 s after it was sent, not when the next packet
// happens to arrive. Capture times of a live source track the wall
// clock; when they do not (HEP replayed from an old capture, a clock far
// off), the clock is left to the packets.
func (a *Analyzer) Advance(now time.Time) {
	if a.first.IsZero() || !now.After(a.last) || now.Sub(a.last) > time.Hour {
		return
	}
	a.last = now
	if elapsed(a.timing.lastSweep, a.last) >= sweepEvery {
		a.sweep(a.last)
	}
}

// errCutBySnapLength is the malformed reason of a message that lacks what
// the analysis needs because its packet was cut short in the capture.
const errCutBySnapLength = "packet cut short by the snap length"

// compactAfter is how many transactions a call gathers before its sweep
// is brought forward to fold the settled keep-alives of a dialog still up:
// short calls are swept as before, a call up for hours in batches.
const compactAfter = 16

// newCall makes the call of e's Call-ID, which has none.
func (a *Analyzer) newCall(e *Event) *call {
	a.seq++
	c := a.store.newCall() // cleared, then filled field by field (see request)
	// The Call-ID and the From tag in one allocation: the first request's
	// transaction takes the tag before a dialog holds it (see call.tag).
	text := e.callText()
	c.id, c.tag0, c.tag0Hash = text[:len(e.CallID)], text[len(e.CallID):], e.FromTagHash
	c.hash, c.hash2, c.seq = e.CallHash, e.CallHash2, a.seq
	if c.txs == nil { // a new record
		c.txs, c.branches = c.txsBuf[:0], c.branchBuf[:0]
	}
	c.dialogs = c.dialogBuf[:0]
	a.store.calls.put(c)
	a.timing.schedule(c, a.last.Add(txLinger))
	if old := a.store.halfOpen.add(c); old != nil {
		a.evict(old)
	}
	return c
}

// evict folds a call without a dialog before its time, to make room (see
// halfOpenCalls): its requests count as they stand.
func (a *Analyzer) evict(c *call) {
	a.store.halfOpen.evicted++
	for _, t := range c.txs {
		t.evicted = true
	}
	a.sweepCall(c, a.last, true)
	a.store.recycle(c) // its transactions are released; queue entries tell it apart by seq
}

func (a *Analyzer) frames(dst *[]FrameRef, e *Event) {
	if !a.opts.KeepFrames {
		return
	}
	for _, f := range e.Frames {
		*dst = append(*dst, FrameRef{Input: e.Input, Packet: f})
	}
}

func (a *Analyzer) request(e *Event) {
	method, branch := e.Method, e.Branch
	c := a.store.lookupCall(e)
	if c == nil {
		fc := a.store.folded.lookup(e)
		if a.store.folded.absorb(fc, e) {
			return
		}
		c = a.newCall(e)
		c.heir = fc != nil
	}
	c.lastSeen = e.Time.UnixNano()
	a.book.learnAgent(c, e.Src, e)
	if method == "ACK" {
		// ACK is not a transaction of its own (for a 2xx) and is not
		// counted; it belongs to the dialog's packets.
		if d := c.dialogByTags(e); d != nil {
			d.lastSeen = e.Time.UnixNano()
			if a.opts.KeepFrames {
				a.frames(d.frameList(), e)
			}
		} else if t := c.transaction(e, "INVITE", branch); t != nil {
			a.frames(&t.Frames, e)
		}
		return
	}
	if t := c.transaction(e, method, branch); t != nil {
		if t.rfc3261 && e.Src.Addr() != t.Src.Addr() && e.Dst.Addr() != t.Dst.Addr() {
			// Not a retransmission: the same request at another tap,
			// both its addresses translated between them.
			a.book.sameSender(e.Src.Addr(), t.Src.Addr())
			a.frames(&t.Frames, e)
			return
		}
		t.Retransmissions++
		a.frames(&t.Frames, e)
		return
	}
	if c.settled.repeats(e) || c.heir && a.store.folded.repeated(e) {
		return // a retransmission of a transaction folded before (see settledKeys), or of the call folded before this one
	}
	a.seq++
	// The record is zero but for its frame list (newTransaction), so it is
	// filled field by field: a composite literal is built on the stack and
	// copied over in 16-byte moves, which stall on its 8-byte stores (a
	// third of request's time).
	t := a.store.newTransaction()
	t.seq, t.CallID, t.Method, t.CSeq = a.seq, c.id, method, e.CSeq
	t.branch, t.rfc3261, t.relayed = branch, e.RFC3261, e.relayed()
	t.FromTag, t.ToTag = c.tag(e.FromTag, e.FromTagHash), c.tag(e.ToTag, e.ToTagHash)
	t.Class, t.HasSDP, t.HasBody = e.Class, e.SDP, e.Body
	t.Start, t.Src, t.Dst, t.Transport, t.Agent = e.Time, e.Src, e.Dst, e.Transport, e.Agent
	t.ReqSE, t.ReqMinSE = e.SessionExpires, e.MinSE
	t.Expires, t.RespExpires = e.Expires, -1
	if method == "REGISTER" {
		var exp int
		t.contact, exp = e.registration()
		t.Expires = expiry(exp)
	}
	a.frames(&t.Frames, e)
	c.txs, c.branches = append(c.txs, t), append(c.branches, branch)
	if c.parked() > 0 {
		defer a.claimEarly(c, t) // once t is linked to its dialog
	}
	if !e.inDialog() {
		return
	}
	if len(c.txs) >= a.timing.compactAfter {
		// A call up for hours has its keep-alives folded as they settle
		// (Analyzer.settle), not kept whole until it ends.
		if settle := c.txs[0].Start.Add(txLinger); settle.UnixNano() < c.due {
			a.timing.schedule(c, settle)
		}
	}
	d := c.dialogByTags(e)
	if d == nil {
		d = a.revive(c, e)
	}
	if d == nil {
		// The capture started mid-call: the in-dialog request still
		// names the dialog. Its sender is taken as the caller.
		d = a.newDialog(c, e, e.Src, e.Dst)
		d.MidCall = true
	}
	t.Dialog = d
	t.pinned = d.retired // a stale request kept by the tombstone
	first := d.relayOf(t)
	t.hop = first != nil
	t.Purpose = d.purpose(t, e, first)
	if e.relayed() {
		d.learnProxy(e.Src) // it relays this dialog's requests
	}
	t.byProxy = !t.hop && e.Vias <= 1 && d.viaProxy(e.Src)
	d.addTransaction(t)
	d.lastSeen = e.Time.UnixNano()
	if e.Agent != "" && !t.byProxy { // a proxy's User-Agent names the proxy
		if d.fromCaller(e) {
			setOnce(&d.CallerAgent, e.Agent)
		} else {
			setOnce(&d.CalleeAgent, e.Agent)
		}
	}
	if method == "BYE" && d.ended == 0 {
		d.setEnded(e.Time)
		d.endedBy = enderOf(d.sideOf(t.FromTag, t.byProxy))
		if t.byProxy {
			d.endedBy = enderProxy // a dialog timeout's BYE goes to both parties
		}
		a.timing.schedule(c, e.Time.Add(byeLinger))
	}
}

// setOnce sets an agent string that is still empty.
func setOnce(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}

// revive returns the retired dialog of e's tags from its tombstone (see
// staleTable), back in c, or nil when none is kept.
func (a *Analyzer) revive(c *call, e *Event) *Dialog {
	ts := a.store.buried.find(e)
	if ts == nil {
		return nil
	}
	a.seq++
	d := a.store.newDialogRecord()
	ts.revive(d, c, e, a.store.buried.proxiesOf(ts))
	d.seq = a.seq
	c.dialogs = append(c.dialogs, d)
	a.store.halfOpen.closed(c)
	return d
}

// newDialog makes the dialog of e's tags, the From tag the caller's.
func (a *Analyzer) newDialog(c *call, e *Event, caller, callee netip.AddrPort) *Dialog {
	a.seq++
	d := a.store.newDialogRecord()
	txs, keys := d.Transactions, d.txKeys
	*d = Dialog{} // cleared in place, then filled field by field (see request)
	d.seq, d.CallID = a.seq, c.id
	d.setTags(e.dialogTags(), len(e.FromTag))
	d.callerHash, d.calleeHash = e.FromTagHash, e.ToTagHash
	d.caller, d.callee = packAddr(caller), packAddr(callee)
	d.Transactions, d.txKeys = listFor(txs, d.txsBuf[:]), listFor(keys, d.txKeysBuf[:])
	c.dialogs = append(c.dialogs, d)
	a.store.halfOpen.closed(c)
	return d
}

func (a *Analyzer) response(e *Event) {
	method := e.Method
	c := a.store.lookupCall(e)
	var t *Transaction
	if c != nil {
		t = c.transaction(e, method, e.Branch)
		if t == nil && !a.newFork(c, e) && (c.settled.repeats(e) || c.heir && a.store.folded.repeated(e)) {
			return // an answer resent for a transaction folded before, or for the call folded before this one
		}
	} else {
		fc := a.store.folded.lookup(e)
		if fc != nil && !a.newFork(nil, e) && a.store.folded.absorb(fc, e) {
			return
		}
		c = a.newCall(e)
		c.heir = fc != nil
	}
	c.lastSeen = e.Time.UnixNano()
	a.book.learnAgent(c, e.Src, e)
	if t == nil {
		a.orphans++
		c.park(e)
	} else if a.answer(t, e) {
		return // provisional
	}
	status := int(e.Status)
	if method == "INVITE" && status == 422 {
		c.rounds = min(c.rounds+1, math.MaxUint8)
		c.minSE422 = e.MinSE
	}
	if method == "INVITE" && status >= 200 && status < 300 && len(e.ToTag) > 0 {
		a.confirm(c, t, e)
	}
	if t != nil {
		a.answerDialog(t, e)
		if at := e.Time.Add(foldQuiet); at.UnixNano() < c.due && a.foldReady(c) {
			a.timing.schedule(c, at) // the call may have finished
		}
		if a.earlySettles(c, t) {
			if at := t.FinalAt.Add(forkLinger); at.UnixNano() < c.due {
				a.timing.schedule(c, at) // the INVITE may leave the call (see settledEarly)
			}
		}
	}
}

// foldReady reports whether c has finished but for foldQuiet's silence:
// every dialog ended, every transaction answered, no response waiting for
// its request. With KeepFrames a call stays whole while its packets may
// come, so that a problem dialog's file holds its retransmissions.
func (a *Analyzer) foldReady(c *call) bool {
	if a.opts.KeepFrames || c.parked() > 0 || len(c.txs)+len(c.dialogs) == 0 {
		return false
	}
	for _, d := range c.dialogs {
		if !d.retired && d.ended == 0 {
			return false
		}
	}
	for _, t := range c.txs {
		if t.Final == 0 && t.Late == 0 {
			return false
		}
	}
	return true
}

// newFork reports whether e, a response whose transaction is not kept
// (the call folded, c nil; or the INVITE folded from c, see settledKeys),
// is a 2xx to an INVITE from a fork that made no dialog before: a dialog
// of its own (RFC 3261 section 13.2.2.4), not a retransmission of the 2xx
// that made the call's, whose tags the dialog or its tombstone has.
func (a *Analyzer) newFork(c *call, e *Event) bool {
	return e.Method == "INVITE" && e.Status >= 200 && e.Status < 300 && len(e.ToTag) > 0 &&
		(c == nil || c.dialogByTags(e) == nil) && a.store.buried.find(e) == nil
}

// answer gives t the response e, which belongs to it, and reports whether
// e was provisional.
func (a *Analyzer) answer(t *Transaction, e *Event) (provisional bool) {
	a.frames(&t.Frames, e)
	status := e.Status
	if status < 200 {
		t.Provisional = max(t.Provisional, status)
		return true
	}
	if t.Final == 0 && t.Late == 0 {
		if t.Method != "INVITE" && elapsed(t.Start, e.Time) > TransactionTimeout {
			t.Late = status // the client gave up before it came
		} else {
			t.Final, t.FinalAt = status, e.Time
			t.AnswerSDP = e.SDP
			t.Answerer = e.answerer()
			t.Reason = e.Reason
			if e.AllowPresent {
				t.Allow = e.Allow
			}
			t.RespSE, t.RespMinSE, t.RespMinExpires = e.SessionExpires, e.MinSE, e.MinExpires
			t.RespRefresher = refresherOf(e.Refresher)
			t.RespExpires = e.Expires
			if t.Method == "REGISTER" {
				t.RespExpires = expiry(e.granted(t.contact))
			}
		}
	}
	return false
}

// answerDialog tells t's dialog, if any, what a final response to t says
// of it: who answered, and how a BYE ended.
func (a *Analyzer) answerDialog(t *Transaction, e *Event) {
	d := t.Dialog
	if d == nil {
		return
	}
	d.lastSeen = e.Time.UnixNano()
	if t.FromTag == d.CallerTag() {
		setOnce(&d.CalleeAgent, e.answerer())
	} else {
		setOnce(&d.CallerAgent, e.answerer())
	}
	if t.Method == "BYE" && d.ByeCode == 0 && e.Status >= 200 {
		d.ByeCode = e.Status
	}
}

// confirm handles a 2xx to an INVITE: it creates or confirms the dialog.
// Forked 2xx responses carry different To tags and make separate dialogs.
func (a *Analyzer) confirm(c *call, t *Transaction, e *Event) {
	d := c.dialogByTags(e)
	if d == nil {
		d = a.revive(c, e)
	}
	if d == nil {
		caller, callee := e.Dst, e.Src
		var first *Transaction
		if t != nil {
			// The 2xx answers the hop nearest the callee; the caller sent
			// the first hop.
			first = c.firstHop(t)
			caller, callee = first.Src, t.Dst
		}
		d = a.newDialog(c, e, caller, callee)
		if t != nil {
			// The INVITE went through a proxy where the capture saw two
			// hops of it, or where the hop to the callee came relayed.
			if first != t {
				d.learnProxy(first.Dst)
			}
			if first != t || t.relayed {
				d.learnProxy(t.Src)
			}
		}
		if t != nil && t.ToTag == "" {
			d.CallerAgent = first.Agent
		} else {
			d.MidCall = true
		}
	}
	d.lastSeen = e.Time.UnixNano()
	if d.fromCaller(e) {
		setOnce(&d.CalleeAgent, e.answerer())
	}
	if d.IsCall {
		// Another hop's 2xx to the dialog-creating INVITE: a proxy may
		// have put a session timer into the 2xx towards the caller where
		// the callee's had none (RFC 4028 section 8.1, as Kamailio's sst
		// module does), and the caller is held to it.
		if d.Timer == nil && t != nil && t.ToTag == "" && e.SessionExpires > 0 {
			a.startTimer(c, d, t, e)
		}
		return
	}
	d.IsCall = true
	d.setConfirmed(e.Time)
	if t != nil && t.ToTag == "" {
		if a.opts.KeepFrames {
			d.addFrames(t.Frames)
		}
	}
	if e.SessionExpires > 0 {
		a.startTimer(c, d, t, e)
	}
}

// startTimer records the session timer the 2xx e to the INVITE t (nil:
// not captured) settled for d.
func (a *Analyzer) startTimer(c *call, d *Dialog, t *Transaction, e *Event) {
	d.timer = SessionTimer{
		SessionExpires: e.SessionExpires,
		Refresher:      e.Refresher,
		MinSE:          90, // RFC 4028 section 4: the default
		Rounds422:      int(c.rounds),
		Require:        e.RequireTimer,
	}
	st := &d.timer
	if t != nil && t.ReqMinSE > 0 {
		st.MinSE = t.ReqMinSE
	} else if c.minSE422 > 0 {
		st.MinSE = c.minSE422
	}
	if t != nil {
		st.Requested = t.ReqSE
	}
	d.Timer = st
	a.timing.maxSE = max(a.timing.maxSE, st.SessionExpires)
}

func joinTokens(t *sip.Tokens) string {
	var b []byte
	t.Each(func(tok []byte) {
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = append(b, tok...)
	})
	return string(b)
}

// sweep folds what has settled and frees it. Calls wait in a queue by the
// time something about them may next change; ties go by creation order,
// so results never depend on when sweeps happen to run.
func (a *Analyzer) sweep(now time.Time) {
	a.timing.lastSweep = now
	nowNS := now.UnixNano()
	ready := a.timing.sweeps.due(nowNS)
	var sink uintptr
	for i := range min(len(ready), warmAhead) {
		sink += warmCall(ready[i].c)
	}
	for i, e := range ready {
		// The calls a few entries on are fetched while this one is
		// swept: the call first, then what it points to (see warm.go).
		if j := i + warmAhead; j < len(ready) {
			sink += warmCall(ready[j].c)
		}
		if j := i + warmAhead/2; j < len(ready) {
			sink += a.warmParts(ready[j].c)
		}
		if !e.current() {
			continue
		}
		c := e.c
		a.sweepCall(c, now, false)
		if !c.gone {
			a.timing.schedule(c, a.timing.nextDue(c, now, a.foldReady(c), a.settleDue(c)))
		}
	}
	a.warmSink += sink
	// Every call up has one current entry; the others wait to be passed.
	if q := &a.timing.sweeps; q.len() > 2*a.store.calls.n+4096 {
		q.compact(dueEntry.wanted)
	}
}

// elapsed is to.Sub(from) for capture times, from their Unix
// nanoseconds. Sub guards against monotonic clock readings and overflow,
// which capture times (1970 to 2262) never need, at about five times the
// cost, and the analysis takes several differences per message.
func elapsed(from, to time.Time) time.Duration {
	if from.IsZero() || to.IsZero() {
		return to.Sub(from)
	}
	return time.Duration(to.UnixNano() - from.UnixNano())
}

// sweepCall retires the call's finished dialogs and folds its settled
// transactions; at the end of the input (final) everything goes.
func (a *Analyzer) sweepCall(c *call, now time.Time, final bool) {
	a.book.sweeping = c
	defer func() { a.book.sweeping = nil }()
	nowNS := now.UnixNano()
	c.dropEarly(nowNS)
	if final {
		for _, t := range c.txs {
			// Still within its time to be answered, in a dialog nobody
			// hung up after it: the input ended, the peer did not fall
			// silent. A BYE after it says the sender gave up waiting.
			d := t.Dialog
			t.pending = t.Final == 0 && t.Late == 0 && !a.timing.settled(t, now) &&
				(d == nil || d.ended == 0 || d.Ended().Before(t.Start))
		}
	}
	// A finished call folds whole, leaving what recognises its late
	// retransmissions (see foldedCalls).
	done := !final && nowNS-c.lastSeen >= int64(foldQuiet) && a.foldReady(c)
	live := false
	for _, d := range c.dialogs {
		if d.retired {
			continue
		}
		if final || done || (d.ended != 0 && nowNS-d.ended >= int64(byeLinger)) || nowNS-d.lastSeen >= int64(a.timing.idle()) {
			a.ledger.retireDialog(d, now)
		} else {
			live = true
		}
	}
	keep, keepBranches := c.txs[:0], c.branches[:0]
	keys, until := a.foldKeys[:0], int64(0)
	if done {
		keys, until = c.settled.appendLive(keys, nowNS)
	}
	for i, t := range c.txs {
		if live && !final && a.settledEarly(c, t, i, now) {
			a.ledger.foldTransaction(t)
			a.store.release(t)
			continue
		}
		if final || done || (a.timing.settled(t, now) && elapsed(t.Start, now) >= txLinger) {
			if u := foldedUntil(t); done && u > nowNS {
				keys = append(keys, keyOfTransaction(c.branches[i], t.CSeq, t.Method))
				until = max(until, u)
			}
			// In-dialog transactions fold when their dialog retires, but
			// for the keep-alives of a dialog still up.
			switch {
			case t.Dialog == nil || t.Dialog.retired:
				a.ledger.foldTransaction(t)
				a.store.release(t)
			case a.ledger.settle(t.Dialog, t):
			default:
				t.outOfCall = true
			}
			continue
		}
		keep, keepBranches = append(keep, t), append(keepBranches, c.branches[i])
	}
	a.foldKeys = keys
	clear(c.txs[len(keep):])
	c.txs, c.branches = keep, keepBranches
	if final || (!live && len(c.txs) == 0) {
		a.store.calls.delete(c)
		c.gone = true
		a.store.halfOpen.closed(c)
		if !final {
			for _, d := range c.dialogs {
				a.store.buried.bury(c, d, now)
			}
			a.store.folded.add(c, keys, until, nowNS)
			a.store.recycle(c)
		}
	}
}

// retireAll folds everything at the end of the input, in creation order.
func (a *Analyzer) retireAll() {
	all := a.store.calls.all()
	sort.Slice(all, func(i, j int) bool { return all[i].seq < all[j].seq })
	for _, c := range all {
		a.sweepCall(c, a.last, true)
	}
}
