// Package analyze rebuilds SIP transactions and dialogs from the messages
// the capture package finds, classifies every request by the keep-alive
// rules, tracks RFC 4028 session timers, and builds the report.
package analyze

import (
	"net/netip"
	"time"

	"github.com/sipalive/sipalive/analyze/sip"
	"github.com/sipalive/sipalive/capture"
)

// Options tune an Analyzer.
type Options struct {
	// KeepFrames records which packets carried each dialog's messages, for
	// writing problem dialogs to a pcap. It costs memory per message.
	KeepFrames bool
}

// Analyzer consumes SIP messages in capture order. It is not safe for
// concurrent use.
type Analyzer struct {
	opts Options
	msg  sip.Message

	calls        map[string]*call
	dialogs      []*Dialog
	transactions []*Transaction
	agents       map[netip.Addr]string
	allows       map[netip.Addr]string // Allow each address advertised
	nat          map[natKey]*NATKeepAlive
	natOrder     []*NATKeepAlive

	sipMessages uint64
	requests    uint64
	responses   uint64
	orphans     uint64 // responses whose request was not captured
	malformed   map[string]uint64
	first, last time.Time
}

// call groups what shares a Call-ID.
type call struct {
	id       string
	txs      []*Transaction
	dialogs  []*Dialog
	rounds   int    // 422 responses to INVITE
	minSE422 uint32 // Min-SE the last 422 asked for
}

// NATKeepAlive counts the non-SIP keep-alives one endpoint sends another
// to hold a NAT binding open.
type NATKeepAlive struct {
	Src, Dst  netip.AddrPort
	Transport capture.Transport
	Kind      string // "CRLF ping", "CRLF pong", "blank", "zero bytes"
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
		opts:      opts,
		calls:     make(map[string]*call),
		agents:    make(map[netip.Addr]string),
		allows:    make(map[netip.Addr]string),
		nat:       make(map[natKey]*NATKeepAlive),
		malformed: make(map[string]uint64),
	}
}

// Message takes one message from the capture. The message's buffers are
// only read during the call.
func (a *Analyzer) Message(cm *capture.Message) {
	if a.first.IsZero() || cm.Time.Before(a.first) {
		a.first = cm.Time
	}
	if cm.Time.After(a.last) {
		a.last = cm.Time
	}
	if cm.Kind == capture.NATKeepAlive {
		a.natKeepAlive(cm)
		return
	}
	a.sipMessages++
	m := &a.msg
	if err := sip.Parse(cm.Payload, m); err != nil {
		a.malformed[err.Error()]++
		return
	}
	a.learnAgent(cm.Src.Addr(), m)
	if m.Request {
		a.requests++
		a.request(cm, m)
	} else {
		a.responses++
		a.response(cm, m)
	}
}

// learnAgent remembers the product name each address announces, to name
// the sender of messages that carry none.
func (a *Analyzer) learnAgent(addr netip.Addr, m *sip.Message) {
	if m.Allow.Present() {
		if _, ok := a.allows[addr]; !ok {
			a.allows[addr] = joinTokens(&m.Allow)
		}
	}
	ua := m.UserAgent
	if len(ua) == 0 {
		ua = m.Server
	}
	if len(ua) == 0 {
		return
	}
	if cur, ok := a.agents[addr]; !ok || cur != string(ua) {
		a.agents[addr] = string(ua)
	}
}

func (a *Analyzer) callFor(id []byte) *call {
	if c, ok := a.calls[string(id)]; ok {
		return c
	}
	c := &call{id: string(id)}
	a.calls[c.id] = c
	return c
}

func (c *call) dialogByTags(x, y []byte) *Dialog {
	for _, d := range c.dialogs {
		if d.matchTags(x, y) {
			return d
		}
	}
	return nil
}

func (c *call) transaction(m *sip.Message, method string) *Transaction {
	for i := len(c.txs) - 1; i >= 0; i-- {
		if c.txs[i].matches(m, method) {
			return c.txs[i]
		}
	}
	return nil
}

func (a *Analyzer) frames(dst *[]FrameRef, cm *capture.Message) {
	if !a.opts.KeepFrames {
		return
	}
	for _, f := range cm.Frames {
		*dst = append(*dst, FrameRef{Input: cm.Input, Packet: f})
	}
}

func (a *Analyzer) request(cm *capture.Message, m *sip.Message) {
	method := methodName(m.Method)
	c := a.callFor(m.CallID)
	if method == "ACK" {
		// ACK is not a transaction of its own (for a 2xx) and is not
		// counted; it belongs to the dialog's packets.
		if d := c.dialogByTags(m.From.Tag, m.To.Tag); d != nil {
			d.LastSeen = cm.Time
			a.frames(&d.Frames, cm)
		} else if t := c.transaction(m, "INVITE"); t != nil {
			a.frames(&t.Frames, cm)
		}
		return
	}
	if t := c.transaction(m, method); t != nil {
		t.Retransmissions++
		a.frames(&t.Frames, cm)
		return
	}
	t := &Transaction{
		Method:      method,
		CSeq:        m.CSeq,
		Branch:      string(m.Via.Branch),
		FromTag:     string(m.From.Tag),
		ToTag:       string(m.To.Tag),
		Class:       Classify(m),
		HasSDP:      m.HasSDP(),
		HasBody:     m.HasBody(),
		Start:       cm.Time,
		Src:         cm.Src,
		Dst:         cm.Dst,
		Transport:   cm.Transport,
		Agent:       string(m.UserAgent),
		ReqSE:       m.SessionExpires,
		ReqMinSE:    m.MinSE,
		Expires:     m.Expires,
		RespExpires: -1,
	}
	if len(m.Refresher) > 0 {
		t.ReqRefresher = string(m.Refresher)
	}
	a.frames(&t.Frames, cm)
	c.txs = append(c.txs, t)
	a.transactions = append(a.transactions, t)
	if !m.IsInDialog() {
		return
	}
	d := c.dialogByTags(m.From.Tag, m.To.Tag)
	if d == nil {
		// The capture started mid-call: the in-dialog request still
		// names the dialog. Its sender is taken as the caller.
		d = a.newDialog(c, m.From.Tag, m.To.Tag, cm.Src, cm.Dst)
		d.MidCall = true
		d.CallerURI, d.CalleeURI = string(m.From.URI), string(m.To.URI)
	}
	t.Dialog = d
	d.Transactions = append(d.Transactions, t)
	d.LastSeen = cm.Time
	if len(m.UserAgent) > 0 {
		if d.fromCaller(m.From.Tag) {
			setOnce(&d.CallerAgent, m.UserAgent)
		} else {
			setOnce(&d.CalleeAgent, m.UserAgent)
		}
	}
	if method == "BYE" && d.Ended.IsZero() {
		d.Ended = cm.Time
		d.EndedBy = d.side(t)
	}
}

func setOnce(dst *string, v []byte) {
	if *dst == "" && len(v) > 0 {
		*dst = string(v)
	}
}

func (a *Analyzer) newDialog(c *call, callerTag, calleeTag []byte, caller, callee netip.AddrPort) *Dialog {
	d := &Dialog{
		CallID:    c.id,
		CallerTag: string(callerTag),
		CalleeTag: string(calleeTag),
		Caller:    caller,
		Callee:    callee,
	}
	c.dialogs = append(c.dialogs, d)
	a.dialogs = append(a.dialogs, d)
	return d
}

func (a *Analyzer) response(cm *capture.Message, m *sip.Message) {
	method := methodName(m.CSeqMethod)
	c, ok := a.calls[string(m.CallID)]
	var t *Transaction
	if ok {
		t = c.transaction(m, method)
	} else {
		c = a.callFor(m.CallID)
	}
	if t == nil {
		a.orphans++
	} else {
		a.frames(&t.Frames, cm)
	}
	status := m.Status
	if t != nil && status < 200 {
		t.Provisional = max(t.Provisional, status)
		return
	}
	if t != nil && t.Final == 0 && t.Late == 0 {
		if t.Method != "INVITE" && cm.Time.Sub(t.Start) > TransactionTimeout {
			t.Late = status // the client gave up before it came
		} else {
			t.Final, t.FinalAt = status, cm.Time
			t.Answerer = string(m.Server)
			if t.Answerer == "" {
				t.Answerer = string(m.UserAgent)
			}
			t.Reason = string(m.Reason)
			if m.Allow.Present() {
				t.Allow = joinTokens(&m.Allow)
			}
			t.RespSE, t.RespMinSE = m.SessionExpires, m.MinSE
			if len(m.Refresher) > 0 {
				t.RespRefresher = string(m.Refresher)
			}
			t.RespExpires = m.Expires
		}
	}
	if method == "INVITE" && status == 422 {
		c.rounds++
		c.minSE422 = m.MinSE
	}
	if method == "INVITE" && status >= 200 && status < 300 && len(m.To.Tag) > 0 {
		a.confirm(c, t, cm, m)
	}
	if t != nil && t.Dialog != nil {
		d := t.Dialog
		d.LastSeen = cm.Time
		agent := m.Server
		if len(agent) == 0 {
			agent = m.UserAgent
		}
		if t.FromTag == d.CallerTag {
			setOnce(&d.CalleeAgent, agent)
		} else {
			setOnce(&d.CallerAgent, agent)
		}
		if t.Method == "BYE" && d.ByeCode == 0 && status >= 200 {
			d.ByeCode = status
		}
	}
}

// confirm handles a 2xx to an INVITE: it creates or confirms the dialog.
// Forked 2xx responses carry different To tags and make separate dialogs.
func (a *Analyzer) confirm(c *call, t *Transaction, cm *capture.Message, m *sip.Message) {
	d := c.dialogByTags(m.From.Tag, m.To.Tag)
	if d == nil {
		caller, callee := cm.Dst, cm.Src
		if t != nil {
			caller, callee = t.Src, t.Dst
		}
		d = a.newDialog(c, m.From.Tag, m.To.Tag, caller, callee)
		d.CallerURI, d.CalleeURI = string(m.From.URI), string(m.To.URI)
		if t != nil && t.ToTag == "" {
			d.Invited = t.Start
			d.CallerAgent = t.Agent
		} else {
			d.MidCall = true
		}
	}
	d.LastSeen = cm.Time
	agent := m.Server
	if len(agent) == 0 {
		agent = m.UserAgent
	}
	if d.fromCaller(m.From.Tag) {
		setOnce(&d.CalleeAgent, agent)
	}
	if d.IsCall {
		return
	}
	d.IsCall = true
	d.Confirmed = cm.Time
	if t != nil && t.ToTag == "" {
		d.invite = t
		if a.opts.KeepFrames {
			d.Frames = append(d.Frames, t.Frames...)
		}
	}
	if m.SessionExpires > 0 {
		st := &SessionTimer{
			SessionExpires: m.SessionExpires,
			Refresher:      string(m.Refresher),
			MinSE:          90, // RFC 4028 section 4: the default
			Rounds422:      c.rounds,
			Require:        m.Require.Has("timer"),
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
	}
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

func (a *Analyzer) natKeepAlive(cm *capture.Message) {
	k := natKey{cm.Src, cm.Dst, cm.Transport}
	n, ok := a.nat[k]
	if !ok {
		n = &NATKeepAlive{Src: cm.Src, Dst: cm.Dst, Transport: cm.Transport, First: cm.Time, Kind: natKind(cm.Payload)}
		a.nat[k] = n
		a.natOrder = append(a.natOrder, n)
	}
	n.Count++
	n.Last = cm.Time
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
