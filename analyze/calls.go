package analyze

// callStore holds the calls by Call-ID and the records they are made of:
// deleted calls, their dialogs and folded transactions are kept for reuse,
// so that a trunk capture's steady stream of calls costs the allocator and
// the collector little.
type callStore struct {
	calls       callTable
	lastCall    *call          // the call of the last message (see lookupCall)
	freeTxs     []*Transaction // folded transactions for reuse
	freeCalls   []*call        // deleted calls for reuse
	freeDialogs []*Dialog      // dialogs of deleted calls for reuse
	buried      staleTable     // what is left of the dialogs of deleted calls
	folded      foldedCalls    // what recognises the late retransmissions of deleted calls
	halfOpen    halfOpenCalls  // the calls without a dialog, oldest first
}

// call groups what shares a Call-ID.
type call struct {
	id        string
	tag0      string // the From tag of its first message, allocated with id (see tag)
	tag0Hash  uint64 // tag0's tagHash
	hash      uint64 // of id (see idHash)
	hash2     uint64
	seq       uint64
	lastSeen  int64  // Unix ns of its latest message
	due       int64  // when the sweep should look at it next (Unix ns)
	later     int64  // a later entry of the call still queued (Unix ns; 0: none; see sweeper.schedule)
	gone      bool   // deleted from the map
	halfOpen  bool   // queued in callStore.halfOpen and without a dialog
	heir      bool   // made while a folded call of its Call-ID may be retransmitted (see foldedCalls)
	rounds    uint8  // 422 responses to INVITE (a UAC gives up after a few)
	minSE422  uint32 // Min-SE the last 422 asked for
	txs       []*Transaction
	dialogs   []*Dialog
	hosts     [2]hostRef      // the hosts this call's messages came from, most recent first
	txsBuf    [4]*Transaction // txs's first backing array: most calls need no other
	branches  []uint64        // beside txs: their branch hashes (see transaction)
	dialogBuf [1]*Dialog      // dialogs' first backing array: most calls make one
	branchBuf [4]uint64
	early     *[]Event // responses that came before their requests (see park; nil: none)
	settled   settledKeys
}

// lookupCall returns the call of e's Call-ID, if any. A request and its
// answers, and the messages of a call setup, usually follow one another:
// the last call found answers before the table is searched.
func (s *callStore) lookupCall(e *Event) *call {
	if c := s.lastCall; c != nil && !c.gone && c.hash == e.CallHash && c.is(e.CallHash2, len(e.CallID)) {
		return c
	}
	c := s.calls.get(e.CallHash, e.CallHash2, len(e.CallID))
	if c != nil {
		s.lastCall = c
	}
	return c
}

// dialogByTags returns the dialog of e's tags, if any.
func (c *call) dialogByTags(e *Event) *Dialog {
	for _, d := range c.dialogs {
		if d.matchTags(e) {
			return d
		}
	}
	return nil
}

// tag returns a tag as a string, sharing the dialogs' copies: in-dialog
// requests repeat the same two tags. hash is its tagHash.
func (c *call) tag(b []byte, hash uint64) string {
	if len(b) == 0 {
		return ""
	}
	for _, d := range c.dialogs {
		switch {
		case hash == d.callerHash && len(b) == len(d.CallerTag()):
			return d.CallerTag()
		case hash == d.calleeHash && len(b) == len(d.CalleeTag()):
			return d.CalleeTag()
		}
	}
	if hash == c.tag0Hash && len(b) == len(c.tag0) {
		return c.tag0 // the INVITE's From tag, before its dialog is made
	}
	return string(b)
}

// firstHop returns the earliest transaction of c that t is a later hop of
// (see Transaction.relayedAs); t itself when there is none.
func (c *call) firstHop(t *Transaction) *Transaction {
	for _, p := range c.txs {
		if p == t {
			break
		}
		if p.relayedAs(t) {
			return p
		}
	}
	return t
}

// transaction finds the transaction e belongs to; branch is branchHash of
// its Via branch.
//
// It reads c.branches first, and only the transactions whose branch
// matches: a new request matches none, and reading every transaction of
// the call from memory to learn so was a sixth of handling a request.
func (c *call) transaction(e *Event, method string, branch uint64) *Transaction {
	for i := len(c.branches) - 1; i >= 0; i-- {
		if c.branches[i] == branch && c.txs[i].matches(e, method, branch) {
			return c.txs[i]
		}
	}
	return nil
}

// maxFreeCalls bounds the calls (and their dialogs) kept for reuse.
const maxFreeCalls = 1 << 12

// recycle keeps a deleted call and its dialogs, all retired, for reuse:
// a trunk capture makes and drops calls at a steady rate, and records that
// were in use a moment ago are still in the caches, where fresh ones must
// be cleared and fetched. Nothing refers to them any more: their
// transactions are released, the call is out of the table, and the sweep
// queue's stale entries for it are told apart by its creation number.
func (s *callStore) recycle(c *call) {
	if len(s.freeCalls) >= maxFreeCalls {
		return
	}
	for _, d := range c.dialogs {
		if len(s.freeDialogs) < maxFreeCalls {
			s.freeDialogs = append(s.freeDialogs, d)
		}
	}
	s.freeCalls = append(s.freeCalls, c)
}

// newCall returns a cleared call record to fill, reusing a deleted one.
// Only a reused record is cleared: clearing a new one, fresh from the
// system, would first read it for the collector's write barrier (mapping
// the kernel's zero page) and then fault again on the write, with a TLB
// flush on every core, a cost that showed as a sixth of a short flood's
// time.
func (s *callStore) newCall() *call {
	if len(s.freeCalls) == 0 {
		return new(call)
	}
	c := reuse(&s.freeCalls)
	txs, branches := c.txs, c.branches
	*c = call{}
	c.txs, c.branches = listFor(txs, c.txsBuf[:]), listFor(branches, c.branchBuf[:])
	return c
}

// listFor returns the list a reused record starts with: the array its
// last use grew, cleared, if that outgrew the record's own buffer but not
// maxKeptTxs, else the own buffer. Most calls of a trunk make more
// requests than the buffers hold (INVITE, ACK, refreshes, BYE), and a
// grown array kept is one not made again for each call.
func listFor[T any](grown, own []T) []T {
	if cap(grown) > cap(own) && cap(grown) <= maxKeptTxs {
		clear(grown[:cap(grown)])
		return grown[:0]
	}
	return own[:0]
}

// maxKeptTxs bounds the lists a reused record keeps (see listFor): a call
// up for hours gathers hundreds of keep-alives, and a list that long is
// left to the collector.
const maxKeptTxs = 16

// newDialogRecord returns a dialog record to fill, reusing one of a
// deleted call.
func (s *callStore) newDialogRecord() *Dialog { return reuse(&s.freeDialogs) }

// reuse takes the last record of a free list, or a new one.
func reuse[T any](free *[]*T) *T {
	n := len(*free)
	if n == 0 {
		return new(T)
	}
	r := (*free)[n-1]
	(*free)[n-1] = nil
	*free = (*free)[:n-1]
	return r
}

// maxFreeTransactions bounds the transactions kept for reuse: 2.8 MB. A
// trunk of 1,000 calls a second frees some 6,500 in each sweep, and a
// bound below that let the rest go to the collector and made as many new
// ones in the second that followed (a third of the collections, and 4.5%
// of the time on the real sipp trunk, at 4,096).
const maxFreeTransactions = 1 << 13

// newTransaction returns a cleared transaction, reusing a folded one.
// Transactions come and go with every request; reusing them spares the
// allocator and the collector most of the analysis' garbage.
func (s *callStore) newTransaction() *Transaction { return reuse(&s.freeTxs) }

// release takes back a folded transaction that nothing refers to any more:
// it has left its call's list, and its dialog, if any, has retired.
func (s *callStore) release(t *Transaction) {
	if t.pinned || len(s.freeTxs) >= maxFreeTransactions {
		return
	}
	*t = Transaction{Frames: t.Frames[:0]}
	s.freeTxs = append(s.freeTxs, t)
}
