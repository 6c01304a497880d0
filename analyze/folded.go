package analyze

import "time"

// A call whose dialogs have all ended and whose transactions are all
// answered folds once it has been quiet for foldQuiet: its full state
// leaves at once, not when its retransmissions could have stopped. What
// it leaves behind is what recognises them, exactly, while RFC 3261 still
// allows them (a request resent because its answer was lost beyond the
// capture point, the answer resent in turn, the ACK of a resent 2xx; see
// foldedUntil): per transaction a hash of its Via branch, CSeq number and
// method, in rings of fixed-size records without pointers, so that the
// collector never reads them: 8 bytes a transaction, 32 a call. Such a
// message is a message of the capture and nothing more: the transaction
// it repeats was counted when it folded. Anything else with the call's
// Call-ID is new: a request of a dialog that ended finds the dialog's
// tombstone (see staleTable), as it would minutes later, and the call it
// makes again still knows the folded call's retransmissions (call.heir).

const (
	// foldQuiet is how long a finished call must be silent before it
	// folds: two round trips by RFC 3261's estimate (T1, 500 ms). What
	// may still come that needs the call whole follows an answer at
	// once: the authentication or 422 retry of an INVITE, a request of
	// the dialog that crossed its BYE, the same message at a second tap.
	// Retransmissions, which may come for half a minute, need only the
	// keys the call leaves.
	foldQuiet = time.Second
	// timerT2 is RFC 3261's T2, the longest interval between two
	// retransmissions of a non-INVITE request: the reordering a capture
	// is allowed past Timer F.
	timerT2 = 4 * time.Second
	// foldedCapacity bounds the folded calls remembered: twice the
	// 32 s they are kept for at 1,000 calls a second.
	foldedCapacity = 1 << 16
	// foldedKeysPerCall is the average number of transactions per folded
	// call the key ring has room for at full size.
	foldedKeysPerCall = 4
)

// foldedUntil is when the retransmissions of t can no longer come, plus
// T2 for the capture's reordering: a client retransmits a request until
// Timer B or F fires, 64*T1 after it first sent it, and the answers to
// those follow at once (RFC 3261 section 17.1); the server of an INVITE
// retransmits its 2xx for 64*T1 after the first, and the caller ACKs each
// (section 13.3.1.4).
func foldedUntil(t *Transaction) int64 {
	from := t.Start
	if t.Method == "INVITE" && !t.FinalAt.IsZero() {
		from = t.FinalAt
	}
	return from.Add(TransactionTimeout + timerT2).UnixNano()
}

// foldedCall is what is left of a folded call: its Call-ID's hashes, until
// when its retransmissions may come, and where its transactions' keys lie
// in foldedCalls.keys.
type foldedCall struct {
	call, call2 uint64 // the Call-ID's hashes (see idHash)
	until       int64  // Unix ns: the latest foldedUntil of its transactions
	first       uint32 // position of its first key
	n           uint16 // its keys
	idLen       uint16
}

// foldedKey names a transaction of a folded call: a hash of the
// branchHash of its topmost Via, its CSeq number and method (see
// keyOfTransaction). Among the few transactions of one call, two share
// it with odds of about 2^-64.
type foldedKey uint64

// keyOfTransaction is the foldedKey of a transaction whose branch hashes
// to branch.
func keyOfTransaction(branch uint64, cseq uint32, method string) foldedKey {
	return foldedKey(branch ^ (uint64(cseq)<<32|uint64(methodCode(method)))*0x9e3779b97f4a7c15)
}

// foldedCalls is the ring of folded calls, their keys in a ring beside,
// and an index by Call-ID hash. Calls are dropped from the head once past
// their time, or when the ring is full (counted: a late retransmission of
// theirs is then taken for a new request).
type foldedCalls struct {
	calls     []foldedCall
	head, n   int
	keys      []foldedKey
	kHead, kN int
	index     ringIndex // call hash → position in calls
	evicted   int       // folded calls dropped before their time
	absorbed  int       // late retransmissions recognised
}

// methodCode is a method's FNV-1a hash, for comparing methods without
// keeping their strings.
func methodCode(m string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(m); i++ {
		h ^= uint32(m[i])
		h *= 16777619
	}
	return h
}

// add remembers the folded call c, whose transactions that may still be
// retransmitted have the keys ks, until until.
func (f *foldedCalls) add(c *call, ks []foldedKey, until, now int64) {
	if len(ks) == 0 || until <= now {
		return
	}
	ks = ks[max(0, len(ks)-(1<<16-1)):] // foldedCall.n: the latest, past any sane call
	for f.n > 0 && f.calls[f.head].until <= now {
		f.drop()
	}
	for {
		callsFull, keysFull := f.n == len(f.calls), f.kN+len(ks) > len(f.keys)
		switch {
		case !callsFull && !keysFull:
		case callsFull && len(f.calls) < foldedCapacity, keysFull && len(f.keys) < foldedCapacity*foldedKeysPerCall:
			f.grow(len(ks))
			continue
		case f.n == 0:
			return // one call with more keys than the ring holds
		default:
			f.evicted++
			f.drop()
			continue
		}
		break
	}
	pos := (f.head + f.n) % len(f.calls)
	f.n++
	start := (f.kHead + f.kN) % len(f.keys)
	for i, k := range ks {
		f.keys[(start+i)%len(f.keys)] = k
	}
	f.kN += len(ks)
	f.calls[pos] = foldedCall{call: c.hash, call2: c.hash2, until: until, first: uint32(start), n: uint16(len(ks)), idLen: uint16(min(len(c.id), 1<<16-1))}
	f.index.put(c.hash, uint32(pos), f.keyAt)
}

// keyAt is the key of the folded call at pos in the index.
func (f *foldedCalls) keyAt(pos uint32) uint64 { return f.calls[pos].call }

// drop forgets the oldest folded call.
func (f *foldedCalls) drop() {
	fc := &f.calls[f.head]
	f.index.remove(fc.call, uint32(f.head), f.keyAt)
	f.kHead = (f.kHead + int(fc.n)) % len(f.keys)
	f.kN -= int(fc.n)
	*fc = foldedCall{}
	f.head = (f.head + 1) % len(f.calls)
	f.n--
}

// reserve makes both rings and the index their full size.
func (f *foldedCalls) reserve() {
	for len(f.calls) < foldedCapacity || len(f.keys) < foldedCapacity*foldedKeysPerCall {
		f.grow(0)
	}
}

// grow enlarges both rings (the calls' as ringSize says), oldest first,
// making room for at least more keys.
func (f *foldedCalls) grow(more int) {
	calls := make([]foldedCall, ringSize(len(f.calls), foldedCapacity))
	keys := make([]foldedKey, min(max(len(calls)*foldedKeysPerCall, 2*(f.kN+more)), foldedCapacity*foldedKeysPerCall))
	k := 0
	for i := range f.n {
		fc := f.calls[(f.head+i)%len(f.calls)]
		old := int(fc.first)
		fc.first = uint32(k)
		for j := range int(fc.n) {
			keys[k] = f.keys[(old+j)%len(f.keys)]
			k++
		}
		calls[i] = fc
	}
	f.calls, f.keys, f.head, f.kHead, f.kN = calls, keys, 0, 0, k
	f.index.reset(len(calls))
	for i := range f.n {
		f.index.put(f.keyAt(uint32(i)), uint32(i), f.keyAt)
	}
}

// absorb reports whether e, whose Call-ID has no call, repeats a
// transaction of fc, the folded call of its Call-ID (see lookup; nil:
// none), or is the ACK of one: a late retransmission, counted and dropped.
func (f *foldedCalls) absorb(fc *foldedCall, e *Event) bool {
	if fc == nil {
		return false
	}
	if e.Request && e.Method == "ACK" {
		f.absorbed++ // the ACK of a resent final response
		return true
	}
	return f.repeats(fc, e)
}

// lookup returns the folded call of e's Call-ID while its retransmissions
// may come, or nil.
func (f *foldedCalls) lookup(e *Event) *foldedCall {
	p, ok := f.index.find(e.CallHash, f.keyAt)
	if !ok {
		return nil
	}
	fc := &f.calls[p]
	if fc.call2 != e.CallHash2 || int(fc.idLen) != min(len(e.CallID), 1<<16-1) || e.Time.UnixNano() >= fc.until {
		return nil
	}
	return fc
}

// repeated reports whether e repeats a transaction of the folded call of
// its Call-ID: for a call made again after the fold (a request of the
// ended dialog came), whose own transactions e matched none of.
func (f *foldedCalls) repeated(e *Event) bool {
	fc := f.lookup(e)
	return fc != nil && f.repeats(fc, e)
}

// repeats reports whether e repeats a transaction of fc, counting it.
func (f *foldedCalls) repeats(fc *foldedCall, e *Event) bool {
	key := keyOfTransaction(e.Branch, e.CSeq, e.Method)
	for j := range int(fc.n) {
		if f.keys[(int(fc.first)+j)%len(f.keys)] == key {
			f.absorbed++
			return true
		}
	}
	return false
}

// forkLinger is how long a call that is up keeps its answered INVITE whole
// after the final response (see settledKeys): while a 2xx from another
// fork may still come, which makes a dialog of its own and needs the
// INVITE's first hop (RFC 3261 section 13.2.2.4). The forking proxy
// cancels the other branches on the first 2xx, so another branch's 2xx
// can only be one that crossed that CANCEL: T2 leaves room for the
// CANCEL's retransmissions.
const forkLinger = timerT2

// settledKeys are the keys of transactions that left a call that is still
// up: its INVITE, once answered and past forkLinger, need not be kept
// whole for the rest of the call (the dialog has what the report needs),
// yet its retransmissions and their answers may still come for 64*T1
// (foldedUntil). Two fit in the call record without making it larger (an
// INVITE and its relayed hop, or an authentication retry); a call with
// more keeps the rest whole as before.
type settledKeys struct {
	keys  [2]foldedKey // 0 is a free place (see settledKey)
	until int64        // Unix ns: the latest foldedUntil of them
}

// settledKey is k as settledKeys holds it: never 0, which marks a free
// place (a key is 0 with odds of 2^-64; it then shares 1's).
func settledKey(k foldedKey) foldedKey { return max(k, 1) }

// full reports whether there is no room for another key.
func (s *settledKeys) full() bool { return s.keys[len(s.keys)-1] != 0 }

// add keeps k until until, or reports that there is no room.
func (s *settledKeys) add(k foldedKey, until int64) bool {
	for i := range s.keys {
		if s.keys[i] == 0 {
			s.keys[i] = settledKey(k)
			s.until = max(s.until, until)
			return true
		}
	}
	return false
}

// len is how many keys there are.
func (s *settledKeys) len() int {
	n := 0
	for _, k := range s.keys {
		if k != 0 {
			n++
		}
	}
	return n
}

// repeats reports whether e repeats one of the transactions, while their
// retransmissions may come.
func (s *settledKeys) repeats(e *Event) bool {
	if s.keys[0] == 0 || e.Time.UnixNano() >= s.until {
		return false
	}
	k := settledKey(keyOfTransaction(e.Branch, e.CSeq, e.Method))
	for _, sk := range s.keys {
		if sk == k {
			return true
		}
	}
	return false
}

// appendLive appends the keys to ks when their retransmissions may still
// come at now, for the call's fold, with until.
func (s *settledKeys) appendLive(ks []foldedKey, now int64) ([]foldedKey, int64) {
	if s.keys[0] == 0 || s.until <= now {
		return ks, 0
	}
	return append(ks, s.keys[:s.len()]...), s.until
}

// settledEarly reports whether t, the i'th transaction of c, a call with
// a dialog up, leaves it now, its key kept in c.settled: an INVITE outside
// any dialog, answered by a final response forkLinger ago. With
// KeepFrames it stays, for its retransmissions' packets.
func (a *Analyzer) settledEarly(c *call, t *Transaction, i int, now time.Time) bool {
	if !a.earlySettles(c, t) || elapsed(t.FinalAt, now) < forkLinger {
		return false
	}
	return c.settled.add(keyOfTransaction(c.branches[i], t.CSeq, t.Method), foldedUntil(t))
}

// earlySettles reports whether t may leave c before the call ends (see
// settledEarly), when its time comes.
func (a *Analyzer) earlySettles(c *call, t *Transaction) bool {
	return !a.opts.KeepFrames && t.Dialog == nil && t.Method == "INVITE" && t.Final >= 200 &&
		!c.settled.full()
}

// settleDue is the earliest time a transaction of c may leave it early
// (see settledEarly), or zero.
func (a *Analyzer) settleDue(c *call) time.Time {
	var due time.Time
	for _, t := range c.txs {
		if a.earlySettles(c, t) {
			if at := t.FinalAt.Add(forkLinger); due.IsZero() || at.Before(due) {
				due = at
			}
		}
	}
	return due
}
