package synth

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Party is a SIP endpoint.
type Party struct {
	User  string
	Addr  netip.AddrPort
	Agent string // User-Agent in requests, Server in responses
}

func (p *Party) uri() string { return fmt.Sprintf("sip:%s@%s", p.User, p.Addr) }

// SDP is an offer or answer body for party p.
func SDP(p *Party) string {
	ip := p.Addr.Addr()
	fam := "IP4"
	if ip.Is6() {
		fam = "IP6"
	}
	return "v=0\r\no=- 1 1 IN " + fam + " " + ip.String() + "\r\ns=-\r\nc=IN " + fam + " " + ip.String() +
		"\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
}

// Call is one dialog between a caller and a callee.
type Call struct {
	w                    *Writer
	ID                   string
	Caller, Callee       *Party
	CallerTag, CalleeTag string
	// TCP sends the call's messages over TCP instead of UDP.
	TCP bool
	// Proxy, when set, relays every message, as a capture taken on a
	// stateful proxy sees it: each request and response twice, the hop
	// between the proxy and the callee under the proxy's own Via.
	Proxy *Party
	cseq  map[*Party]int
	nextB int
}

// NewCall prepares a call; nothing is written until Invite.
func (w *Writer) NewCall(id string, caller, callee *Party) *Call {
	return &Call{w: w, ID: id, Caller: caller, Callee: callee,
		CallerTag: "c" + tagOf(id), CalleeTag: "s" + tagOf(id), cseq: map[*Party]int{caller: 0, callee: 0}}
}

func tagOf(id string) string {
	h := uint32(2166136261)
	for i := 0; i < len(id); i++ {
		h = (h ^ uint32(id[i])) * 16777619
	}
	return fmt.Sprintf("%08x", h)
}

func (c *Call) other(p *Party) *Party {
	if p == c.Caller {
		return c.Callee
	}
	return c.Caller
}

// send writes one message from p to its peer on the call's transport,
// through the proxy when the call has one.
func (c *Call) send(from, to *Party, msg string) error {
	if c.Proxy != nil {
		// The proxy's Via is on the hop towards the callee's side: a
		// request's second hop, a response's first.
		inner, outer := msg, msg
		if strings.HasPrefix(msg, "SIP/2.0 ") {
			inner = c.proxyVia(msg)
		} else {
			outer = c.proxyVia(msg)
		}
		if err := c.hop(from, c.Proxy, inner); err != nil {
			return err
		}
		c.w.Advance(time.Millisecond)
		return c.hop(c.Proxy, to, outer)
	}
	return c.hop(from, to, msg)
}

// proxyVia puts the proxy's Via on top of msg, with a branch derived from
// the one below so that a request and its responses carry the same.
func (c *Call) proxyVia(msg string) string {
	i := strings.Index(msg, "\r\nVia: ")
	if i < 0 {
		return msg
	}
	branch := ""
	if b := strings.Index(msg[i:], "branch="); b >= 0 {
		branch = msg[i+b+len("branch="):]
		branch = branch[:strings.IndexAny(branch, ";\r")]
	}
	transport := "UDP"
	if c.TCP {
		transport = "TCP"
	}
	via := fmt.Sprintf("\r\nVia: SIP/2.0/%s %s;branch=%s.px", transport, c.Proxy.Addr, branch)
	return msg[:i] + via + msg[i:]
}

func (c *Call) hop(from, to *Party, msg string) error {
	if c.TCP {
		return c.w.TCP(from.Addr, to.Addr, []byte(msg))
	}
	return c.w.UDP(from.Addr, to.Addr, []byte(msg))
}

// request is a request about to be sent, with what its responses copy.
type request struct {
	method, via, from, to, cseq string
	text                        string
}

func (c *Call) newRequest(from *Party, method string, inDialog bool, body, contentType string, extra []string) request {
	to := c.other(from)
	transport := "UDP"
	if c.TCP {
		transport = "TCP"
	}
	c.nextB++
	var r request
	r.method = method
	r.via = fmt.Sprintf("SIP/2.0/%s %s;branch=z9hG4bK%s%d", transport, from.Addr, tagOf(c.ID+from.User), c.nextB)
	fromTag, toTag := c.CallerTag, c.CalleeTag
	if from == c.Callee {
		fromTag, toTag = c.CalleeTag, c.CallerTag
	}
	r.from = fmt.Sprintf("<%s>;tag=%s", from.uri(), fromTag)
	r.to = "<" + to.uri() + ">"
	if inDialog {
		r.to += ";tag=" + toTag
	}
	if method != "ACK" && method != "CANCEL" {
		c.cseq[from]++
	}
	r.cseq = fmt.Sprintf("%d %s", max(c.cseq[from], 1), method)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\nVia: %s\r\nMax-Forwards: 70\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\nContact: <%s>\r\n",
		method, to.uri(), r.via, r.from, r.to, c.ID, r.cseq, from.uri())
	if from.Agent != "" {
		fmt.Fprintf(&b, "User-Agent: %s\r\n", from.Agent)
	}
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	writeBody(&b, body, contentType)
	r.text = b.String()
	return r
}

func writeBody(b *strings.Builder, body, contentType string) {
	if body != "" {
		if contentType == "" {
			contentType = "application/sdp"
		}
		fmt.Fprintf(b, "Content-Type: %s\r\n", contentType)
	}
	fmt.Fprintf(b, "Content-Length: %d\r\n\r\n%s", len(body), body)
}

func (c *Call) response(r request, from *Party, code int, reason string, withToTag bool, body string, extra []string) string {
	to := r.to
	if withToTag && !strings.Contains(to, ";tag=") {
		tag := c.CalleeTag
		if from == c.Caller {
			tag = c.CallerTag
		}
		to += ";tag=" + tag
	}
	var b strings.Builder
	fmt.Fprintf(&b, "SIP/2.0 %d %s\r\nVia: %s\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n",
		code, reason, r.via, r.from, to, c.ID, r.cseq)
	if from.Agent != "" {
		fmt.Fprintf(&b, "Server: %s\r\n", from.Agent)
	}
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	writeBody(&b, body, "")
	return b.String()
}

// Reason phrases for the codes the scenarios use.
var reasons = map[int]string{100: "Trying", 180: "Ringing", 200: "OK", 202: "Accepted", 401: "Unauthorized",
	404: "Not Found", 405: "Method Not Allowed", 422: "Session Interval Too Small", 481: "Call/Transaction Does Not Exist",
	486: "Busy Here", 501: "Not Implemented", 503: "Service Unavailable"}

// Invite sets the call up: INVITE with SDP, 100, 180, 200 with SDP, ACK.
// reqHeaders go on the INVITE, respHeaders on the 200.
func (c *Call) Invite(reqHeaders, respHeaders []string) error {
	r := c.newRequest(c.Caller, "INVITE", false, SDP(c.Caller), "", reqHeaders)
	steps := []func() error{
		func() error { return c.send(c.Caller, c.Callee, r.text) },
		func() error {
			return c.send(c.Callee, c.Caller, c.response(r, c.Callee, 100, "Trying", false, "", nil))
		},
		func() error {
			return c.send(c.Callee, c.Caller, c.response(r, c.Callee, 180, "Ringing", true, "", nil))
		},
		func() error {
			return c.send(c.Callee, c.Caller, c.response(r, c.Callee, 200, "OK", true, SDP(c.Callee), respHeaders))
		},
		func() error {
			ack := c.newRequest(c.Caller, "ACK", true, "", "", nil)
			ack.text = strings.Replace(ack.text, "CSeq: 1 ACK", fmt.Sprintf("CSeq: %d ACK", c.cseq[c.Caller]), 1)
			return c.send(c.Caller, c.Callee, ack.text)
		},
	}
	for i, s := range steps {
		if err := s(); err != nil {
			return err
		}
		c.w.Advance([]time.Duration{20 * time.Millisecond, 300 * time.Millisecond, 2 * time.Second, 10 * time.Millisecond, 5 * time.Millisecond}[i])
	}
	return nil
}

// InviteRejected sends an INVITE that is answered with code (e.g. 422,
// with respHeaders such as Min-SE), then the ACK.
func (c *Call) InviteRejected(reqHeaders []string, code int, respHeaders []string) error {
	r := c.newRequest(c.Caller, "INVITE", false, SDP(c.Caller), "", reqHeaders)
	if err := c.send(c.Caller, c.Callee, r.text); err != nil {
		return err
	}
	c.w.Advance(15 * time.Millisecond)
	if err := c.send(c.Callee, c.Caller, c.response(r, c.Callee, code, reasons[code], true, "", respHeaders)); err != nil {
		return err
	}
	c.w.Advance(5 * time.Millisecond)
	ack := strings.Replace(r.text, "INVITE "+c.Callee.uri(), "ACK "+c.Callee.uri(), 1)
	ack = strings.Replace(ack, fmt.Sprintf("CSeq: %d INVITE", c.cseq[c.Caller]), fmt.Sprintf("CSeq: %d ACK", c.cseq[c.Caller]), 1)
	ack = strings.Replace(ack, "To: <"+c.Callee.uri()+">", "To: <"+c.Callee.uri()+">;tag="+c.CalleeTag, 1)
	ack = ack[:strings.Index(ack, "Content-Type:")] + "Content-Length: 0\r\n\r\n"
	c.w.Advance(50 * time.Millisecond)
	return c.send(c.Caller, c.Callee, ack)
}

// Request sends an in-dialog request from `from` and its answer. body may
// be "" (a keep-alive) or SDP; answer 0 leaves it unanswered, with the UDP
// retransmissions of RFC 3261 (T1 = 0.5 s doubling, four copies).
// respHeaders go on the response (e.g. an Allow header with a 405).
func (c *Call) Request(from *Party, method, body string, answer int, respHeaders ...string) error {
	return c.request(from, method, body, "", nil, answer, respHeaders)
}

// RequestWith is Request with a body of the given Content-Type and extra
// request headers.
func (c *Call) RequestWith(from *Party, method, body, contentType string, reqHeaders []string, answer int, respHeaders ...string) error {
	return c.request(from, method, body, contentType, reqHeaders, answer, respHeaders)
}

func (c *Call) request(from *Party, method, body, contentType string, reqHeaders []string, answer int, respHeaders []string) error {
	r := c.newRequest(from, method, true, body, contentType, reqHeaders)
	to := c.other(from)
	if err := c.send(from, to, r.text); err != nil {
		return err
	}
	if answer == 0 {
		if c.TCP {
			return nil
		}
		for _, gap := range []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second} {
			c.w.Advance(gap)
			if err := c.send(from, to, r.text); err != nil {
				return err
			}
		}
		return nil
	}
	c.w.Advance(12 * time.Millisecond)
	respBody := ""
	if method == "INVITE" || (method == "UPDATE" && body != "") {
		respBody = SDP(to)
	}
	if err := c.send(to, from, c.response(r, to, answer, reasons[answer], true, respBody, respHeaders)); err != nil {
		return err
	}
	if method == "INVITE" {
		c.w.Advance(5 * time.Millisecond)
		ack := c.newRequest(from, "ACK", true, "", "", nil)
		ack.text = strings.Replace(ack.text, "CSeq: 1 ACK", fmt.Sprintf("CSeq: %d ACK", c.cseq[from]), 1)
		return c.send(from, to, ack.text)
	}
	return nil
}

// ProxyRequest has the call's proxy send a request of its own in the
// dialog to `to`, as Kamailio's and OpenSIPS's dialog keep-alives (and the
// BYEs of their dialog timeouts) are written: as if the other party had
// sent it (its From tag and CSeq space), under the proxy's Via only, with
// the proxy's User-Agent; `to` answers the proxy (0: no answer).
func (c *Call) ProxyRequest(to *Party, method string, answer int) error {
	if c.Proxy == nil {
		return fmt.Errorf("call %s has no proxy", c.ID)
	}
	r := c.newRequest(c.other(to), method, true, "", "", nil)
	c.nextB++
	via := fmt.Sprintf("SIP/2.0/UDP %s;branch=z9hG4bKpx%s%d", c.Proxy.Addr, tagOf(c.ID), c.nextB)
	r.text = strings.Replace(r.text, "Via: "+r.via, "Via: "+via, 1)
	if agent := c.other(to).Agent; agent != "" {
		r.text = strings.Replace(r.text, "User-Agent: "+agent, "User-Agent: "+c.Proxy.Agent, 1)
	}
	r.via = via
	if err := c.hop(c.Proxy, to, r.text); err != nil {
		return err
	}
	if answer == 0 {
		return nil
	}
	c.w.Advance(12 * time.Millisecond)
	return c.hop(to, c.Proxy, c.response(r, to, answer, reasons[answer], true, "", nil))
}

// Bye ends the call from `from`; answer 0 leaves the BYE unanswered.
func (c *Call) Bye(from *Party, answer int) error {
	return c.Request(from, "BYE", "", answer)
}

// OutOfDialog sends a request without a To tag (OPTIONS ping, REGISTER,
// MESSAGE) from p to q and its answer (0: unanswered, retransmitted).
func (w *Writer) OutOfDialog(p, q *Party, method, callID, body string, reqHeaders []string, answer int, respHeaders ...string) error {
	c := w.NewCall(callID, p, q)
	c.cseq[p] = w.Packets // distinct CSeq per ping
	ct := ""
	if body != "" {
		ct = "text/plain"
	}
	r := c.newRequest(p, method, false, body, ct, reqHeaders)
	if err := w.UDP(p.Addr, q.Addr, []byte(r.text)); err != nil {
		return err
	}
	if answer == 0 {
		for _, gap := range []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second} {
			w.Advance(gap)
			if err := w.UDP(p.Addr, q.Addr, []byte(r.text)); err != nil {
				return err
			}
		}
		return nil
	}
	w.Advance(8 * time.Millisecond)
	return w.UDP(q.Addr, p.Addr, []byte(c.response(r, q, answer, reasons[answer], true, "", respHeaders)))
}
