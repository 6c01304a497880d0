// Package analyze rebuilds SIP transactions and dialogs from the messages
// the capture package finds, classifies every request by the keep-alive
// rules, tracks RFC 4028 session timers, and builds the report.
package analyze

import (
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
	// tombstoneLinger remembers a finished dialog, so that a keep-alive
	// sent after its end is known as stale rather than as a new dialog.
	tombstoneLinger = 15 * time.Minute
	// sweepEvery is how often settled state is folded and freed.
	sweepEvery = 5 * time.Second
)

// Analyzer consumes SIP messages in capture order. It is not safe for
// concurrent use.
type Analyzer struct {
	opts Options
	scan *Scanner // for Message: the events of a single goroutine
	ev   Event

	calls       callTable
	tot         totals
	seq         uint64 // creation order of calls, dialogs and transactions
	sweeps      sweepQueue
	vendorNames map[string]string // agent string → VendorName
	vendorLast  [16]agentName     // the last of vendorNames used, by length of the agent
	freeTxs     []*Transaction    // folded transactions for reuse
	freeCalls   []*call           // deleted calls for reuse
	freeDialogs []*Dialog         // dialogs of deleted calls for reuse
	lastSweep   time.Time
	maxSE       uint32    // largest Session-Expires negotiated
	hosts       hostTable // what each address and its ports announced
	addrSlab    []address // where new entries of hosts come from (see newAddress)
	scratch     kaDigest  // the digest of a short call as it retires (see keepAlives)
	hostsGen    uint32    // bumped when hosts starts afresh
	sweeping    *call     // the call sweepCall is folding
	lastCall    *call     // the call of the last message (see lookupCall)
	nat         map[natKey]*NATKeepAlive
	natOrder    []*NATKeepAlive

	sipMessages uint64
	requests    uint64
	responses   uint64
	orphans     uint64 // responses whose request was not captured
	malformed   map[string]uint64
	first, last time.Time
}

// call groups what shares a Call-ID.
type call struct {
	id        string
	hash      uint64 // of id (see idHash)
	hash2     uint64
	seq       uint64
	lastSeen  time.Time
	due       int64 // when the sweep should look at it next (Unix ns)
	gone      bool  // deleted from the map
	txs       []*Transaction
	dialogs   []*Dialog
	rounds    int             // 422 responses to INVITE
	minSE422  uint32          // Min-SE the last 422 asked for
	hosts     [2]hostRef      // the hosts this call's messages came from, most recent first
	txsBuf    [4]*Transaction // txs's first backing array: most calls need no other
	branches  []uint64        // beside txs: their branch hashes (see transaction)
	dialogBuf [1]*Dialog      // dialogs' first backing array: most calls make one
	branchBuf [4]uint64
	early     []Event // responses that came before their requests (see park)
}

// hostRef is a call's shortcut to an entry of Analyzer.hosts: the table
// outgrows the CPU caches on captures of many phones, and nearly every
// message comes from one of its call's two parties.
type hostRef struct {
	ap  netip.AddrPort // compared whole: cheaper than its table key
	h   *host
	gen uint32 // Analyzer.hostsGen when h was looked up
}

// NATKeepAlive counts the non-SIP keep-alives one endpoint sends another
// to hold a NAT binding open.
type NATKeepAlive struct {
	Src, Dst  netip.AddrPort
	Transport capture.Transport
	Kind      string // "CRLF ping", "CRLF pong", "blank", "zero bytes", "WebSocket ping", "WebSocket pong"
	Count     int
	First     time.Time
	Last      time.Time
}

type natKey struct {
	src, dst netip.AddrPort
	t        capture.Transport
}

// New returns an Analyzer.
func New(opts Options) *Analyzer {
	return &Analyzer{
		opts:        opts,
		nat:         make(map[natKey]*NATKeepAlive),
		malformed:   make(map[string]uint64),
		tot:         newTotals(),
		vendorNames: make(map[string]string),
	}
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
	if elapsed(a.lastSweep, a.last) >= sweepEvery {
		a.sweep(a.last)
	}
	if e.Kind == capture.NATKeepAlive {
		a.natKeepAlive(e)
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

// errCutBySnapLength is the malformed reason of a message that lacks what
// the analysis needs because its packet was cut short in the capture.
const errCutBySnapLength = "packet cut short by the snap length"

// compactAfter is how many transactions a call gathers before its sweep
// is brought forward to fold the settled keep-alives of a dialog still up:
// short calls are swept as before, a call up for hours in batches.
const compactAfter = 16

// maxAddresses bounds the per-address memory of agents and Allow lists;
// past it the table starts afresh, so a capture of millions of endpoints
// stays in bounded memory.
const maxAddresses = 1 << 16

// address is what the ports of one address announced. Ports are told
// apart: a host may run several SIP services (a proxy on 5060, a PBX on
// 5080), and a lab or loopback capture has every party on one address.
type address struct {
	key   [16]byte // the address, as As16 gives it
	port0 uint16
	host0 host       // the first port that spoke: most addresses have one
	more  []portHost // the others, in the order they first spoke
}

type portHost struct {
	port uint16
	h    *host
}

// host is what an address and port announced about itself.
type host struct {
	agent string // latest User-Agent or Server
	allow string // first Allow list
	proxy bool   // it relays requests: only those it originates name it
}

// learnAgent remembers the product name and Allow list each address
// announces, to name the sender of messages that carry none. A proxy's
// relayed messages name someone else (see Event.relayed).
func (a *Analyzer) learnAgent(c *call, addr netip.AddrPort, e *Event) {
	ua := e.Agent
	if ua == "" {
		ua = e.Server
	}
	if ua == "" && !e.AllowPresent && !e.relayed() {
		return
	}
	h := a.hostFor(c, addr)
	if e.relayed() {
		h.proxy = true
	}
	if h.proxy && (e.relayed() || !e.Request) {
		return
	}
	if h.allow == "" && e.AllowPresent {
		h.allow = e.Allow
	}
	if ua != "" {
		h.agent = ua
	}
}

// hostFor returns the entry for ap, through c's shortcuts when it can.
func (a *Analyzer) hostFor(c *call, ap netip.AddrPort) *host {
	for i := range c.hosts {
		if r := c.hosts[i]; r.h != nil && r.ap == ap && r.gen == a.hostsGen {
			if i > 0 {
				c.hosts[0], c.hosts[1] = r, c.hosts[0]
			}
			return r.h
		}
	}
	key, port := ap.Addr().As16(), ap.Port()
	hash := addrHash(&key)
	ad := a.hosts.get(hash, &key)
	var h *host
	switch {
	case ad == nil:
		if a.hosts.n >= maxAddresses {
			a.hosts.reset()
			a.hostsGen++
		}
		ad = a.newAddress()
		ad.key, ad.port0 = key, port
		a.hosts.put(hash, ad)
		h = &ad.host0
	default:
		if h = ad.port(port); h == nil {
			h = &host{}
			ad.more = append(ad.more, portHost{port, h})
		}
	}
	c.hosts[1] = c.hosts[0]
	c.hosts[0] = hostRef{ap: ap, h: h, gen: a.hostsGen}
	return h
}

// addressSlab is how many address entries are allocated at once: a
// capture of many phones adds one per phone, and one allocation each was
// a fifth of all the analysis made.
const addressSlab = 256

// newAddress returns a zero address entry from the current slab.
func (a *Analyzer) newAddress() *address {
	if len(a.addrSlab) == cap(a.addrSlab) {
		a.addrSlab = make([]address, 0, addressSlab)
	}
	a.addrSlab = a.addrSlab[:len(a.addrSlab)+1]
	return &a.addrSlab[len(a.addrSlab)-1]
}

func (ad *address) port(p uint16) *host {
	if ad.port0 == p {
		return &ad.host0
	}
	for _, ph := range ad.more {
		if ph.port == p {
			return ph.h
		}
	}
	return nil
}

// hostOf returns what addr announced, if anything; when nothing ever came
// from addr, what another port of its address announced (a UA that sends
// from one port and listens on another). While a call is being swept, its own shortcuts
// answer for its two parties.
func (a *Analyzer) hostOf(addr netip.AddrPort) host {
	key, port := addr.Addr().As16(), addr.Port()
	if c := a.sweeping; c != nil {
		for _, r := range c.hosts {
			if r.h != nil && r.ap == addr {
				return *r.h // even from before the table started afresh
			}
		}
	}
	ad := a.hosts.get(addrHash(&key), &key)
	if ad == nil {
		return host{}
	}
	if h := ad.port(port); h != nil {
		return *h
	}
	if addr.Addr().IsLoopback() {
		return host{} // each port on loopback is a program of its own: a lab's parties share the address
	}
	for i := -1; i < len(ad.more); i++ {
		h := &ad.host0
		if i >= 0 {
			h = ad.more[i].h
		}
		if !h.proxy && (h.agent != "" || h.allow != "") {
			return host{agent: h.agent, allow: h.allow}
		}
	}
	return host{}
}

// lookupCall returns the call of e's Call-ID, if any. A request and its
// answers, and the messages of a call setup, usually follow one another:
// the last call found answers before the table is searched.
func (a *Analyzer) lookupCall(e *Event) *call {
	if c := a.lastCall; c != nil && !c.gone && c.hash == e.CallHash && c.is(e.CallHash2, len(e.CallID)) {
		return c
	}
	c := a.calls.get(e.CallHash, e.CallHash2, len(e.CallID))
	if c != nil {
		a.lastCall = c
	}
	return c
}

func (a *Analyzer) callFor(e *Event) *call {
	if c := a.lookupCall(e); c != nil {
		return c
	}
	a.seq++
	c := a.newCall()
	*c = call{} // cleared in place, then filled field by field (see request)
	c.id, c.hash, c.hash2, c.seq = string(e.CallID), e.CallHash, e.CallHash2, a.seq
	c.txs, c.branches, c.dialogs = c.txsBuf[:0], c.branchBuf[:0], c.dialogBuf[:0]
	a.calls.put(c)
	a.schedule(c, a.last.Add(txLinger))
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
		case hash == d.callerHash && len(b) == len(d.CallerTag):
			return d.CallerTag
		case hash == d.calleeHash && len(b) == len(d.CalleeTag):
			return d.CalleeTag
		}
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
	c := a.callFor(e)
	c.lastSeen = e.Time
	a.learnAgent(c, e.Src, e)
	if method == "ACK" {
		// ACK is not a transaction of its own (for a 2xx) and is not
		// counted; it belongs to the dialog's packets.
		if d := c.dialogByTags(e); d != nil {
			d.LastSeen = e.Time
			a.frames(&d.Frames, e)
		} else if t := c.transaction(e, "INVITE", branch); t != nil {
			a.frames(&t.Frames, e)
		}
		return
	}
	if t := c.transaction(e, method, branch); t != nil {
		t.Retransmissions++
		a.frames(&t.Frames, e)
		return
	}
	a.seq++
	// The record is zero but for its frame list (newTransaction), so it is
	// filled field by field: a composite literal is built on the stack and
	// copied over in 16-byte moves, which stall on its 8-byte stores (a
	// third of request's time).
	t := a.newTransaction()
	t.seq, t.CallID, t.Method, t.CSeq = a.seq, c.id, method, e.CSeq
	t.branch, t.rfc3261, t.relayed = branch, e.RFC3261, e.relayed()
	t.FromTag, t.ToTag = c.tag(e.FromTag, e.FromTagHash), c.tag(e.ToTag, e.ToTagHash)
	t.Class, t.HasSDP, t.HasBody = e.Class, e.SDP, e.Body
	t.Start, t.Src, t.Dst, t.Transport, t.Agent = e.Time, e.Src, e.Dst, e.Transport, e.Agent
	t.ReqSE, t.ReqMinSE, t.ReqRefresher = e.SessionExpires, e.MinSE, e.Refresher
	t.Expires, t.RespExpires = e.Expires, -1
	if method == "REGISTER" {
		t.contact, t.Expires = e.registration()
	}
	a.frames(&t.Frames, e)
	c.txs, c.branches = append(c.txs, t), append(c.branches, branch)
	if len(c.early) > 0 {
		defer a.claimEarly(c, t) // once t is linked to its dialog
	}
	if !e.inDialog() {
		return
	}
	if len(c.txs) >= compactAfter {
		// A call up for hours has its keep-alives folded as they settle
		// (Analyzer.settle), not kept whole until it ends.
		if settle := c.txs[0].Start.Add(txLinger); settle.UnixNano() < c.due {
			a.schedule(c, settle)
		}
	}
	d := c.dialogByTags(e)
	if d == nil {
		// The capture started mid-call: the in-dialog request still
		// names the dialog. Its sender is taken as the caller.
		d = a.newDialog(c, e, e.Src, e.Dst)
		d.MidCall = true
	}
	t.Dialog = d
	t.pinned = d.retired // a stale request kept by the tombstone
	t.hop = d.relayOf(t) != nil
	if e.relayed() {
		d.learnProxy(e.Src) // it relays this dialog's requests
	}
	t.byProxy = !t.hop && e.Vias <= 1 && d.viaProxy(e.Src)
	d.addTransaction(t)
	d.LastSeen = e.Time
	if e.Agent != "" && !t.byProxy { // a proxy's User-Agent names the proxy
		if d.fromCaller(e) {
			setOnce(&d.CallerAgent, e.Agent)
		} else {
			setOnce(&d.CalleeAgent, e.Agent)
		}
	}
	if method == "BYE" && d.Ended.IsZero() {
		d.Ended = e.Time
		d.EndedBy = d.side(t)
		if t.byProxy {
			d.EndedBy = "proxy" // a dialog timeout's BYE goes to both parties
		}
		a.schedule(c, e.Time.Add(byeLinger))
	}
}

// setOnce sets an agent string that is still empty.
func setOnce(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}

// newDialog makes the dialog of e's tags, the From tag the caller's.
func (a *Analyzer) newDialog(c *call, e *Event, caller, callee netip.AddrPort) *Dialog {
	a.seq++
	tags := string(e.FromTag) + string(e.ToTag) // one allocation for both
	d := a.newDialogRecord()
	*d = Dialog{} // cleared in place, then filled field by field (see request)
	d.seq, d.CallID = a.seq, c.id
	d.CallerTag, d.CalleeTag = tags[:len(e.FromTag)], tags[len(e.FromTag):]
	d.callerHash, d.calleeHash = e.FromTagHash, e.ToTagHash
	d.Caller, d.Callee = caller, callee
	d.Transactions, d.txKeys = d.txsBuf[:0], d.txKeysBuf[:0]
	c.dialogs = append(c.dialogs, d)
	return d
}

func (a *Analyzer) response(e *Event) {
	method := e.Method
	c := a.lookupCall(e)
	var t *Transaction
	if c != nil {
		t = c.transaction(e, method, e.Branch)
	} else {
		c = a.callFor(e)
	}
	c.lastSeen = e.Time
	a.learnAgent(c, e.Src, e)
	if t == nil {
		a.orphans++
		c.park(e)
	} else if a.answer(t, e) {
		return // provisional
	}
	status := int(e.Status)
	if method == "INVITE" && status == 422 {
		c.rounds++
		c.minSE422 = e.MinSE
	}
	if method == "INVITE" && status >= 200 && status < 300 && len(e.ToTag) > 0 {
		a.confirm(c, t, e)
	}
	if t != nil {
		a.answerDialog(t, e)
	}
}

// answer gives t the response e, which belongs to it, and reports whether
// e was provisional.
func (a *Analyzer) answer(t *Transaction, e *Event) (provisional bool) {
	a.frames(&t.Frames, e)
	status := int(e.Status)
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
			t.RespSE, t.RespMinSE = e.SessionExpires, e.MinSE
			t.RespRefresher = e.Refresher
			t.RespExpires = e.Expires
			if t.Method == "REGISTER" {
				t.RespExpires = e.granted(t.contact)
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
	d.LastSeen = e.Time
	if t.FromTag == d.CallerTag {
		setOnce(&d.CalleeAgent, e.answerer())
	} else {
		setOnce(&d.CallerAgent, e.answerer())
	}
	if t.Method == "BYE" && d.ByeCode == 0 && e.Status >= 200 {
		d.ByeCode = int(e.Status)
	}
}

// confirm handles a 2xx to an INVITE: it creates or confirms the dialog.
// Forked 2xx responses carry different To tags and make separate dialogs.
func (a *Analyzer) confirm(c *call, t *Transaction, e *Event) {
	d := c.dialogByTags(e)
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
			d.Invited = first.Start
			d.CallerAgent = first.Agent
		} else {
			d.MidCall = true
		}
	}
	d.LastSeen = e.Time
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
	d.Confirmed = e.Time
	if t != nil && t.ToTag == "" {
		if a.opts.KeepFrames {
			d.Frames = append(d.Frames, t.Frames...)
		}
	}
	if e.SessionExpires > 0 {
		a.startTimer(c, d, t, e)
	}
}

// startTimer records the session timer the 2xx e to the INVITE t (nil:
// not captured) settled for d.
func (a *Analyzer) startTimer(c *call, d *Dialog, t *Transaction, e *Event) {
	st := &SessionTimer{
		SessionExpires: e.SessionExpires,
		Refresher:      e.Refresher,
		MinSE:          90, // RFC 4028 section 4: the default
		Rounds422:      c.rounds,
		Require:        e.RequireTimer,
	}
	if t != nil && t.ReqMinSE > 0 {
		st.MinSE = t.ReqMinSE
	} else if c.minSE422 > 0 {
		st.MinSE = c.minSE422
	}
	if t != nil {
		st.Requested = t.ReqSE
	}
	d.Timer = st
	a.maxSE = max(a.maxSE, st.SessionExpires)
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

func (a *Analyzer) natKeepAlive(e *Event) {
	k := natKey{e.Src, e.Dst, e.Transport}
	n, ok := a.nat[k]
	if !ok {
		n = &NATKeepAlive{Src: e.Src, Dst: e.Dst, Transport: e.Transport, First: e.Time, Kind: e.NAT}
		a.nat[k] = n
		a.natOrder = append(a.natOrder, n)
	}
	n.Count++
	n.Last = e.Time
}

func natKind(p []byte) string {
	switch string(p) {
	case "\r\n\r\n":
		return "CRLF ping"
	case "\r\n":
		return "CRLF pong"
	case "":
		return "empty"
	}
	for _, c := range p {
		if c != 0 {
			return "blank"
		}
	}
	return "zero bytes"
}

// idle is how long a dialog may stay silent before it is closed as "no BYE
// seen": twice the largest Session-Expires, at least an hour.
func (a *Analyzer) idle() time.Duration {
	if a.opts.IdleTimeout > 0 {
		return a.opts.IdleTimeout
	}
	return max(time.Hour, 2*time.Duration(a.maxSE)*time.Second)
}

// settled reports whether a transaction's outcome can no longer change.
func (a *Analyzer) settled(t *Transaction, now time.Time) bool {
	age := elapsed(t.Start, now)
	switch {
	case t.Final != 0 || t.Late != 0:
		return true
	case t.Method != "INVITE" || t.Provisional == 0:
		return age > TransactionTimeout
	}
	return age > a.idle() // a ringing INVITE
}

// schedule asks the sweep to look at c at time at. An earlier entry of c
// in the heap becomes stale and is dropped when it comes up.
func (a *Analyzer) schedule(c *call, at time.Time) {
	c.due = at.UnixNano()
	a.sweeps.push(dueEntry{due: c.due, seq: c.seq, c: c})
}

// sweep folds what has settled and frees it. Calls wait in a queue by the
// time something about them may next change; ties go by creation order,
// so results never depend on when sweeps happen to run.
func (a *Analyzer) sweep(now time.Time) {
	a.lastSweep = now
	nowNS := now.UnixNano()
	for _, e := range a.sweeps.due(nowNS) {
		c := e.c
		if c.gone || e.due != c.due || e.seq != c.seq {
			continue // deleted, rescheduled since, or reused for another call
		}
		a.sweepCall(c, now, false)
		if !c.gone {
			a.schedule(c, a.nextDue(c, now))
		}
	}
}

// nextDue is the earliest time a sweep could retire or free part of c.
func (a *Analyzer) nextDue(c *call, now time.Time) time.Time {
	var due time.Time
	live := false
	for _, d := range c.dialogs {
		if d.retired {
			continue
		}
		at := d.LastSeen.Add(a.idle())
		if !d.Ended.IsZero() {
			at = d.Ended.Add(byeLinger)
		}
		if !live || at.Before(due) {
			due, live = at, true
		}
	}
	switch {
	case live && len(c.txs) >= compactAfter:
		// the earliest transaction to settle, for Analyzer.settle
		due = minTime(due, c.txs[0].Start.Add(txLinger))
	case live:
	case len(c.txs) > 0:
		for _, t := range c.txs {
			if at := t.Start.Add(txLinger); at.After(due) {
				due = at
			}
		}
	default:
		due = c.lastSeen.Add(tombstoneLinger)
	}
	if !due.After(now) {
		due = now.Add(sweepEvery)
	}
	return due
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

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// sweepCall retires the call's finished dialogs and folds its settled
// transactions; at the end of the input (final) everything goes.
func (a *Analyzer) sweepCall(c *call, now time.Time, final bool) {
	a.sweeping = c
	defer func() { a.sweeping = nil }()
	c.dropEarly(now.UnixNano())
	live := false
	for _, d := range c.dialogs {
		if d.retired {
			continue
		}
		if final || (!d.Ended.IsZero() && elapsed(d.Ended, now) >= byeLinger) || elapsed(d.LastSeen, now) >= a.idle() {
			a.retireDialog(d, now)
		} else {
			live = true
		}
	}
	keep, keepBranches := c.txs[:0], c.branches[:0]
	for i, t := range c.txs {
		if final || (a.settled(t, now) && elapsed(t.Start, now) >= txLinger) {
			// In-dialog transactions fold when their dialog retires, but
			// for the keep-alives of a dialog still up.
			switch {
			case t.Dialog == nil || t.Dialog.retired:
				a.foldTransaction(t)
				a.release(t)
			case a.settle(t.Dialog, t):
			default:
				t.outOfCall = true
			}
			continue
		}
		keep, keepBranches = append(keep, t), append(keepBranches, c.branches[i])
	}
	clear(c.txs[len(keep):])
	c.txs, c.branches = keep, keepBranches
	if final || (!live && len(c.txs) == 0 && (len(c.dialogs) == 0 || elapsed(c.lastSeen, now) >= tombstoneLinger)) {
		a.calls.delete(c)
		c.gone = true
		if !final {
			a.recycle(c)
		}
	}
}

// maxFreeCalls bounds the calls (and their dialogs) kept for reuse.
const maxFreeCalls = 1 << 12

// recycle keeps a deleted call and its dialogs, all retired, for reuse:
// a trunk capture makes and drops calls at a steady rate, and records that
// were in use a moment ago are still in the caches, where fresh ones must
// be cleared and fetched. Nothing refers to them any more: their
// transactions are released, the call is out of the table, and the sweep
// queue's stale entries for it are told apart by its creation number.
func (a *Analyzer) recycle(c *call) {
	if len(a.freeCalls) >= maxFreeCalls {
		return
	}
	for _, d := range c.dialogs {
		if len(a.freeDialogs) < maxFreeCalls {
			a.freeDialogs = append(a.freeDialogs, d)
		}
	}
	a.freeCalls = append(a.freeCalls, c)
}

// newCall returns a call record to fill, reusing a deleted one.
func (a *Analyzer) newCall() *call { return reuse(&a.freeCalls) }

// newDialogRecord returns a dialog record to fill, reusing one of a
// deleted call.
func (a *Analyzer) newDialogRecord() *Dialog { return reuse(&a.freeDialogs) }

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

// retireAll folds everything at the end of the input, in creation order.
func (a *Analyzer) retireAll() {
	all := a.calls.all()
	sort.Slice(all, func(i, j int) bool { return all[i].seq < all[j].seq })
	for _, c := range all {
		a.sweepCall(c, a.last, true)
	}
}
