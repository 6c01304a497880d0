package analyze

import (
	"math"
	"net/netip"
	"time"

	"github.com/sipalive/sipalive/capture"
)

// TransactionTimeout is how long a non-INVITE client transaction waits for
// a final response: Timer F, 64*T1 (RFC 3261 section 17.1.2.2).
const TransactionTimeout = 32 * time.Second

// branchCookie marks an RFC 3261 branch, unique per transaction.
const branchCookie = "z9hG4bK"

// Transaction is one request and its answer. Retransmissions of the
// request fold into it.
type Transaction struct {
	seq uint64
	// The flags and small fields come first, together: a transaction is
	// kept for every request of every call that is up, and Go lays fields
	// out in order, padding each to its alignment.
	folded    bool
	outOfCall bool // dropped from its call's list; its dialog holds it still
	pinned    bool // held by a dialog's tombstone: never recycled
	hop       bool // a later hop of an earlier transaction of its dialog (see Dialog.relayOf)
	// pending: the input ended while the request could still be answered
	// (within its transaction timeout): not the peer's silence.
	pending bool
	// evicted: folded before it settled, to make room (see halfOpenCalls).
	evicted bool
	// byProxy: a proxy sent the in-dialog request on its own account, not
	// a party: one Via, from an address that is a proxy of the dialog (see
	// Dialog.proxies): Kamailio's and OpenSIPS's dialog keep-alives, the
	// BYEs of their dialog timeouts.
	// Its From tag names the party it stands in for, its User-Agent the proxy.
	byProxy bool
	rfc3261 bool // the branch has the RFC 3261 cookie: it alone names the transaction
	relayed bool // a request that came through a proxy: more than one Via (see Event.relayed)
	HasSDP  bool
	HasBody bool
	// AnswerSDP: a 2xx to an UPDATE carried SDP. After an UPDATE without
	// SDP that is an answer to no offer (RFC 3311 section 5.2, RFC 6337
	// section 2.1), which some stacks take as a broken session and hang up.
	AnswerSDP     bool
	Class         Class
	Purpose       Purpose // what an in-dialog re-INVITE or UPDATE was for
	Transport     capture.Transport
	RespRefresher refresher // the final response's Session-Expires refresher

	Provisional     uint16 // highest provisional status seen
	Final           uint16 // final status; 0 while unanswered
	Late            uint16 // a final response that came after the timeout
	CSeq            uint32
	Retransmissions uint32
	branch          uint64 // hash of the topmost Via branch: only ever compared

	CallID  string
	Method  string
	FromTag string
	ToTag   string
	Start   time.Time
	FinalAt time.Time // when the final response was seen
	Src     netip.AddrPort
	Dst     netip.AddrPort

	Agent    string // User-Agent of the sender
	Answerer string // Server or User-Agent of the response
	Allow    string // Allow of the final response (for 405)
	Reason   string // reason phrase of the final response

	// Session timer values the request and the final response carried.
	ReqSE, RespSE       uint32
	ReqMinSE, RespMinSE uint32
	RespMinExpires      uint32 // a 423's Min-Expires
	contact             uint32 // REGISTER: the binding's URI (see binding)
	Expires             int32  // REGISTER: expiry asked for, the contact's parameter or Expires (-1 absent; see expiry)
	RespExpires         int32  // REGISTER: expiry granted the binding (-1 absent; see Event.granted)

	Dialog *Dialog
	Frames []FrameRef
}

// refreshes reports whether t, an in-dialog re-INVITE or UPDATE, refreshed
// its dialog's session timer: there is one, and the 2xx carried
// Session-Expires (RFC 4028 sections 7.4 and 9).
func (t *Transaction) refreshes() bool {
	return t.Dialog != nil && t.Dialog.Timer != nil && (t.Method == "INVITE" || t.Method == "UPDATE") &&
		t.Final >= 200 && t.Final < 300 && t.RespSE > 0
}

// FrameRef names a packet of an input: for writing a dialog's packets out.
type FrameRef struct {
	Input  int
	Packet uint64
}

// Answered reports whether a final response arrived in time.
func (t *Transaction) Answered() bool { return t.Final != 0 }

// ResponseTime is the time from the request to its final response.
func (t *Transaction) ResponseTime() time.Duration {
	if t.Final == 0 {
		return 0
	}
	return t.FinalAt.Sub(t.Start)
}

// Outcome buckets the final response as the keep-alive tables do.
func (t *Transaction) Outcome() Outcome { return OutcomeOf(int(t.Final)) }

// OutcomeOf buckets a final status (0: none came in time) as the
// keep-alive tables do.
func OutcomeOf(final int) Outcome {
	switch {
	case final == 0:
		return OutcomeUnanswered
	case final >= 200 && final < 300:
		return Outcome2xx
	case final == 481:
		return Outcome481
	case final == 405:
		return Outcome405
	case final == 501:
		return Outcome501
	}
	return OutcomeOther
}

// matches reports whether an event belongs to this transaction: same
// branch (when it has the RFC 3261 cookie), CSeq number and method; for an
// RFC 2543 branch, also the From tag. branch is branchHash of the
// event's.
func (t *Transaction) matches(e *Event, method string, branch uint64) bool {
	if t.Method != method || t.CSeq != e.CSeq || t.branch != branch {
		return false
	}
	return t.rfc3261 || string(e.FromTag) == t.FromTag
}

// relayedAs reports whether t is the request of p relayed by a proxy the
// capture also saw. A capture taken on a proxy sees each request twice,
// caller to proxy and proxy to callee, under two branches: two
// transactions, but one request. The relayed hop carries the same method,
// CSeq and tags, comes from another address, and leaves before the first
// hop has its final answer (the proxy relays that answer back). Each
// condition matters: Kamailio's dialog keep-alive repeats one CSeq every
// round, from the same address, after the last round was answered or
// timed out.
func (p *Transaction) relayedAs(t *Transaction) bool {
	return p.CSeq == t.CSeq && p.Method == t.Method && p.FromTag == t.FromTag && p.ToTag == t.ToTag &&
		p.Src != t.Src && p.Final == 0 && p.Late == 0 && elapsed(p.Start, t.Start) <= TransactionTimeout
}

// Outcome is how a transaction ended.
type Outcome uint8

// Outcomes, in the order the tables show them.
const (
	Outcome2xx Outcome = iota
	Outcome481
	Outcome405
	Outcome501
	OutcomeOther
	OutcomeUnanswered
	numOutcomes
)

func (o Outcome) String() string {
	return [...]string{"2xx", "481", "405", "501", "other", "unanswered"}[o]
}

// expiry narrows an expiry in seconds to a transaction's field: RFC 3261
// allows up to 2**32-1 (section 20.19), which is past 68 years already at
// 2**31-1.
func expiry(s int) int32 { return int32(min(s, math.MaxInt32)) }
