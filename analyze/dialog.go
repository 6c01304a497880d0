package analyze

import (
	"net/netip"
	"slices"
	"time"

	"github.com/sipalive/sipalive/capture/sip"
)

// Dialog is one SIP dialog: Call-ID plus the two tags. The caller is the
// side whose tag was the From tag of the dialog-creating INVITE (or of the
// first request seen, when the capture started mid-call).
type Dialog struct {
	seq      uint64
	retired  bool   // folded into the totals; kept as a tombstone
	problem  bool   // a finding names it
	exported bool   // its packets are listed for --write-problems
	held     bool   // the last offer put the call on hold (see Purpose)
	IsCall   bool   // confirmed by a 2xx to an INVITE
	MidCall  bool   // first seen through an in-dialog request
	ByeCode  uint16 // final response to the BYE
	// (the fields are ordered to leave no padding: a dialog is kept for
	// every call that is up)
	CallID string
	// tags is the caller's tag and then the callee's, one string for both
	// (see CallerTag).
	tags string
	// callerHash and calleeHash are the tags' tagHash: events are matched
	// to dialogs by them.
	callerHash, calleeHash uint64

	CallerAgent, CalleeAgent string
	// proxies are the addresses of the proxies on the dialog's path, as
	// far as the capture shows them: the one the caller sent the INVITE to
	// and the one that delivered it to the callee (over TCP, a port of the
	// proxy's own connection), and any that relayed a request of the
	// dialog. Known per dialog, not per host: an SBC may relay some calls
	// and be a party to others.
	proxies [2]packedAddr // packed: the dialog record is kept for every call up
	// caller and callee are the parties' addresses.
	caller, callee packedAddr
	endedBy        uint8  // who sent the BYE, an index into enders (see EndedBy)
	callerLen      uint32 // the caller's tag's length in tags

	confirmed int64 // Unix ns of the 2xx to an INVITE (see Confirmed)
	ended     int64 // Unix ns of the BYE (see Ended)
	lastSeen  int64 // Unix ns of its latest message

	Transactions []*Transaction  // in-dialog requests, in order, but the keep-alives in ka
	txKeys       []txKey         // beside Transactions (see relayOf)
	ka           *kaDigest       // settled keep-alives, folded into the totals already (nil: none yet)
	txsBuf       [4]*Transaction // Transactions' first backing array
	txKeysBuf    [4]txKey
	Timer        *SessionTimer // &timer when the dialog has one, else nil
	timer        SessionTimer
	ownFrames    *[]FrameRef // its own packets, with KeepFrames (see frameList)
}

// CallerTag is the tag of the party that sent the INVITE (From), or of
// the first in-dialog request seen.
func (d *Dialog) CallerTag() string { return d.tags[:d.callerLen] }

// CalleeTag is the other party's tag.
func (d *Dialog) CalleeTag() string { return d.tags[d.callerLen:] }

// setTags makes tags, the caller's tag followed by the callee's, the
// dialog's: one string, so one allocation for both.
func (d *Dialog) setTags(tags string, callerLen int) {
	d.tags, d.callerLen = tags, uint32(callerLen)
}

// Confirmed is when a 2xx to an INVITE was seen, zero if none was.
func (d *Dialog) Confirmed() time.Time { return unixTime(d.confirmed) }

// Ended is when the BYE was seen, zero if none was.
func (d *Dialog) Ended() time.Time { return unixTime(d.ended) }

func (d *Dialog) setConfirmed(t time.Time) { d.confirmed = unixNano(t) }
func (d *Dialog) setEnded(t time.Time)     { d.ended = unixNano(t) }

// unixNano is t in Unix nanoseconds for a field where 0 means none: the
// first nanosecond of 1970 is taken for the second.
func unixNano(t time.Time) int64 {
	if n := t.UnixNano(); n != 0 {
		return n
	}
	return 1
}

// unixTime is the time of a unixNano field, zero for none.
func unixTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// EndedBy names who sent the BYE: "caller", "callee" or "proxy" (see
// Transaction.byProxy), or "" while none was seen.
func (d *Dialog) EndedBy() string { return enders[d.endedBy] }

// matchTags reports whether e's From and To tags name this dialog, either
// way round (see tagHash).
func (d *Dialog) matchTags(e *Event) bool {
	from, to := len(e.FromTag), len(e.ToTag)
	return (e.FromTagHash == d.callerHash && e.ToTagHash == d.calleeHash && from == len(d.CallerTag()) && to == len(d.CalleeTag())) ||
		(e.FromTagHash == d.calleeHash && e.ToTagHash == d.callerHash && from == len(d.CalleeTag()) && to == len(d.CallerTag()))
}

// fromCaller reports whether e came from the caller: its From tag is the
// caller's.
func (d *Dialog) fromCaller(e *Event) bool {
	return e.FromTagHash == d.callerHash && len(e.FromTag) == len(d.CallerTag())
}

// relayOf returns the earlier transaction of d that t is a later hop of
// (see Transaction.relayedAs), or nil.
//
// It reads the dialog's txKeys and only the transactions whose CSeq
// matches: most requests relay none, and reading every transaction of the
// last 32 s from memory was a fifth of handling an in-dialog request.
func (d *Dialog) relayOf(t *Transaction) *Transaction {
	start := t.Start.UnixNano()
	for i := len(d.txKeys) - 1; i >= 0; i-- {
		k := d.txKeys[i]
		if start-k.start > int64(TransactionTimeout) {
			return nil
		}
		if p := d.Transactions[i]; k.cseq == t.CSeq && p.relayedAs(t) {
			return p
		}
	}
	return nil
}

// txKey is what relayOf reads of a dialog's transaction before the
// transaction itself; txKeys[i] is that of Transactions[i].
type txKey struct {
	start int64 // Unix nanoseconds
	cseq  uint32
}

// addTransaction appends t to the dialog's transactions.
func (d *Dialog) addTransaction(t *Transaction) {
	d.Transactions = append(d.Transactions, t)
	d.txKeys = append(d.txKeys, txKey{start: t.Start.UnixNano(), cseq: t.CSeq})
}

// dropTransaction removes t from the dialog's transactions.
func (d *Dialog) dropTransaction(t *Transaction) {
	if i := slices.Index(d.Transactions, t); i >= 0 {
		d.Transactions = slices.Delete(d.Transactions, i, i+1)
		d.txKeys = slices.Delete(d.txKeys, i, i+1)
	}
}

// Who sends a dialog's requests: one of its two parties, or a proxy on
// the path on its own account towards one of them (see
// Transaction.byProxy).
const (
	sideCaller = iota
	sideCallee
	sideProxyToCaller
	sideProxyToCallee
	sides
)

// sideNames name the senders, as the report's directions do.
var sideNames = [sides]string{"caller", "callee", "proxy to caller", "proxy to callee"}

// sideOf says who sent a request of d with this From tag. A proxy writes
// the request as if the other party had sent it: the From tag is the
// caller's towards the callee.
func (d *Dialog) sideOf(fromTag string, byProxy bool) int {
	switch {
	case byProxy && fromTag == d.CallerTag():
		return sideProxyToCallee
	case byProxy:
		return sideProxyToCaller
	case fromTag == d.CallerTag():
		return sideCaller
	}
	return sideCallee
}

// directionNames name who sent to whom, as the keep-alive rows do.
var directionNames = [sides]string{"caller→callee", "callee→caller", "proxy→caller", "proxy→callee"}

// direction names the sender and receiver of a request of d.
func (d *Dialog) direction(fromTag string, byProxy bool) string {
	return directionNames[d.sideOf(fromTag, byProxy)]
}

// viaProxy reports whether ap is the address of one of the dialog's
// proxies (see proxies).
func (d *Dialog) viaProxy(ap netip.AddrPort) bool {
	if !ap.IsValid() || d.proxies[0].kind == 0 {
		return false
	}
	p := packAddr(ap)
	return p == d.proxies[0] || p == d.proxies[1]
}

// learnProxy adds ap to the dialog's proxies while there is room: a
// dialog's path has one or two proxy addresses the capture can see.
func (d *Dialog) learnProxy(ap netip.AddrPort) {
	if d.viaProxy(ap) {
		return
	}
	for i := range d.proxies {
		if d.proxies[i].kind == 0 {
			d.proxies[i] = packAddr(ap)
			return
		}
	}
}

// frameList is the list of the dialog's own packets, made on first use:
// only KeepFrames lists packets, and a pointer keeps the record small.
func (d *Dialog) frameList() *[]FrameRef {
	if d.ownFrames == nil {
		d.ownFrames = new([]FrameRef)
	}
	return d.ownFrames
}

// addFrames adds packets to the dialog's own.
func (d *Dialog) addFrames(fs []FrameRef) { *d.frameList() = append(*d.frameList(), fs...) }

// side names the sender of the request t of d.
func (d *Dialog) side(t *Transaction) string { return sideNames[d.sideOf(t.FromTag, t.byProxy)] }

// frames lists the packets of the dialog: its own (ACKs, the initial
// INVITE) and those of its transactions.
func (d *Dialog) frames() []FrameRef {
	var frames []FrameRef
	if d.ownFrames != nil {
		frames = append(frames, *d.ownFrames...)
	}
	for _, t := range d.Transactions {
		frames = append(frames, t.Frames...)
	}
	return frames
}

// purpose tells what the in-dialog request t, made of e, is for, and
// follows whether the call is on hold. A later hop of a request (first is
// its first hop) has the first hop's purpose: the hold it carries is the
// same one.
func (d *Dialog) purpose(t *Transaction, e *Event, first *Transaction) Purpose {
	if first != nil {
		return first.Purpose
	}
	switch t.Class {
	case ClassReinviteNoSDP:
		return PurposeThirdParty
	case ClassReinviteWithSDP, ClassUpdateWithSDP:
	default:
		return PurposeNone
	}
	switch {
	case e.Media&sip.MediaImage != 0:
		return PurposeT38
	case e.Media.Holds():
		d.held = true
		return PurposeHold
	case d.held:
		d.held = false
		return PurposeResume
	}
	return PurposeRenegotiation
}
