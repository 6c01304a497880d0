package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// answerTimeout bounds the wait for a call to be answered (a device may
// ring first); the INVITE is cancelled after it.
const answerTimeout = 30 * time.Second

// probeAllow is what the probe itself accepts, announced in its requests.
const probeAllow = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, MESSAGE"

// invite places a call of the given kind; the call is nil unless 2xx.
func (p *prober) invite(ctx context.Context, kind StepKind) (*call, Step) {
	s := Step{Kind: kind, Method: "INVITE"}
	media, err := newMedia(p.local.host)
	if err != nil {
		s.Error = err.Error()
		return nil, s
	}
	hdrs := []sip.Header{sip.NewHeader("Content-Type", "application/sdp"), sip.NewHeader("Allow", probeAllow)}
	switch kind {
	case StepTimerTooSmall:
		s.AskedExpires = tooSmall
		hdrs = append(hdrs, sip.NewHeader("Supported", "timer"), sip.NewHeader("Session-Expires", strconv.Itoa(tooSmall)))
	case StepTimerCall:
		s.AskedExpires = p.cfg.sessionExpires()
		hdrs = append(hdrs, sip.NewHeader("Supported", "timer"), sip.NewHeader("Min-SE", "90"),
			sip.NewHeader("Session-Expires", fmt.Sprintf("%d;refresher=uas", s.AskedExpires)))
	}
	req := sip.NewRequest(sip.INVITE, p.target)
	p.prepare(req)
	for _, h := range hdrs {
		req.AppendHeader(h)
	}
	req.SetBody(media.offer())
	ictx, cancel := context.WithTimeout(ctx, answerTimeout)
	defer cancel()
	s.Sent = time.Now()
	sess, err := p.dua.WriteInvite(ictx, req)
	if err == nil {
		err = sess.WaitAnswer(ictx, sipgo.AnswerOptions{Username: p.user(), Password: p.cfg.Password})
	}
	var refused *sipgo.ErrDialogResponse
	switch {
	case errors.As(err, &refused):
		p.finish(&s, refused.Res, nil)
		s.MinSE = intHeader(refused.Res, "Min-SE")
		media.close()
		return nil, s
	case err != nil:
		if ictx.Err() != nil {
			err = context.DeadlineExceeded
		}
		p.finish(&s, nil, err)
		media.close()
		return nil, s
	}
	res := sess.InviteResponse
	p.finish(&s, res, nil)
	s.SessionExpires, s.Refresher = sessionExpires(res)
	s.MinSE = intHeader(res, "Min-SE")
	if err := sess.Ack(ctx); err != nil {
		s.Error = "ACK: " + err.Error()
	}
	c := &call{kind: kind, sess: sess, answer: time.Now(), ended: make(chan struct{}), refreshed: make(chan struct{}, 1),
		expires: s.SessionExpires, media: media}
	media.answer(res.Body(), p.target.Host, p.cfg.RTP == "silence")
	p.mu.Lock()
	p.calls[req.CallID().Value()] = c
	p.mu.Unlock()
	return c, s
}

// remote is where in-dialog requests go: the device's Contact.
func remote(c *call, fallback sip.Uri) sip.Uri {
	if ct := c.sess.InviteResponse.Contact(); ct != nil {
		return *ct.Address.Clone()
	}
	return fallback
}

// fromListener makes a request inside a dialog leave from the probe's
// listening socket over UDP, as the INVITE did: sipgo would otherwise
// open a socket of its own for the remote target, whose answers and
// the -w trace would miss.
func (p *prober) fromListener(req *sip.Request) {
	if p.cfg.Transport == "udp" {
		req.Laddr = sip.Addr{IP: net.ParseIP(p.local.host), Port: p.local.port, Hostname: p.local.host}
	}
}

// inDialog sends a body-less request inside the call's dialog, or, for
// StepUnknownDialog, with a To tag the device never gave.
func (p *prober) inDialog(ctx context.Context, c *call, kind StepKind, method string) Step {
	s := Step{Kind: kind, Method: method}
	select {
	case <-c.ended:
		s.Error = "the device had ended the call"
		return s
	default:
	}
	req := sip.NewRequest(sip.RequestMethod(method), remote(c, p.target))
	req.AppendHeader(sip.NewHeader("User-Agent", agentName))
	p.fromListener(req)
	if kind == StepUnknownDialog {
		to := sip.HeaderClone(c.sess.InviteResponse.To()).(*sip.ToHeader)
		to.Params.Add("tag", "sipalive-unknown-"+sip.GenerateTagN(8))
		req.AppendHeader(to)
	}
	tctx, cancel := p.timeout(ctx)
	defer cancel()
	s.Sent = time.Now()
	res, err := c.sess.Do(tctx, req)
	p.finish(&s, res, err)
	return s
}

// hangUp ends a call with BYE, unless the device already did.
func (p *prober) hangUp(ctx context.Context, c *call) {
	defer c.media.close()
	select {
	case <-c.ended:
		return
	default:
	}
	s := Step{Kind: StepBye, Method: "BYE", Sent: time.Now()}
	tctx, cancel := p.timeout(context.WithoutCancel(ctx)) // a call up is hung up even after Ctrl-C
	defer cancel()
	bye := sip.NewRequest(sip.BYE, remote(c, p.target))
	p.fromListener(bye)
	err := c.sess.WriteBye(tctx, bye)
	var refused sipgo.ErrDialogResponse
	switch {
	case err == nil:
		s.Code, s.Reason, s.RTT = 200, "OK", time.Since(s.Sent)
	case errors.As(err, &refused):
		p.finish(&s, refused.Res, nil)
	default:
		p.finish(&s, nil, err)
	}
	if c.kind == StepCall || c.kind == StepTimerCall {
		p.record(s)
	} else { // the BYE of an accepted too-small timer: on the card, not judged
		p.mu.Lock()
		p.card.Steps = append(p.card.Steps, s)
		p.mu.Unlock()
	}
}

// watchRefresh waits for the device, as refresher, to refresh the timer
// call (or hang up), at most the configured wait.
func (p *prober) watchRefresh(ctx context.Context, c *call) {
	if c.expires == 0 {
		return // no timer negotiated: nothing to refresh
	}
	p.say("waiting up to %s for the device to refresh the session", p.cfg.timerWait())
	t := time.NewTimer(p.cfg.timerWait())
	defer t.Stop()
	select {
	case <-c.refreshed:
	case <-c.ended:
	case <-t.C:
	case <-ctx.Done():
	}
}

// incoming answers a request the device sent and writes it down.
func (p *prober) incoming(req *sip.Request, tx sip.ServerTransaction) {
	now := time.Now()
	p.mu.Lock()
	c := p.calls[req.CallID().Value()]
	p.mu.Unlock()
	r := Received{Method: string(req.Method), At: now, SDP: hasSDP(req)}
	r.SessionExpires, _ = sessionExpires(req)
	toTag, _ := req.To().Params.Get("tag")
	r.InDialog = c != nil && toTag != ""
	code, reason := 200, "OK"
	switch {
	case c != nil:
		r.Call = c.kind
	case toTag != "":
		code, reason = 481, "Call/Transaction Does Not Exist"
	case req.Method == sip.INVITE:
		code, reason = 486, "Busy Here" // calls to the probe are taken in --listen mode only
	}
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	if code == 200 && c != nil {
		if req.Method == sip.INVITE {
			res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
			res.SetBody(c.media.offer())
		}
		if (req.Method == sip.INVITE || req.Method == sip.UPDATE) && c.expires > 0 {
			// the refresh's 2xx carries Session-Expires (RFC 4028 9)
			exp := c.expires
			if r.SessionExpires > 0 {
				exp = r.SessionExpires
			}
			res.AppendHeader(sip.NewHeader("Session-Expires", fmt.Sprintf("%d;refresher=uas", exp)))
			res.AppendHeader(sip.NewHeader("Require", "timer"))
		}
	}
	r.Answer = code
	_ = tx.Respond(res)
	p.mu.Lock()
	p.card.Received = append(p.card.Received, r)
	p.mu.Unlock()
	p.say("received         %-8s %s, answered %d", req.Method, inOrOut(r), code)
	if c != nil && c.kind == StepTimerCall && (req.Method == sip.INVITE || req.Method == sip.UPDATE) {
		select {
		case c.refreshed <- struct{}{}:
		default:
		}
	}
}

func inOrOut(r Received) string {
	if r.InDialog {
		return "in the dialog"
	}
	return "outside a dialog"
}

// incomingBye: the device hung up.
func (p *prober) incomingBye(req *sip.Request, tx sip.ServerTransaction) {
	p.mu.Lock()
	c := p.calls[req.CallID().Value()]
	p.mu.Unlock()
	r := Received{Method: "BYE", At: time.Now(), InDialog: c != nil}
	code, reason := 481, "Call/Transaction Does Not Exist"
	if c != nil {
		code, reason = 200, "OK"
		r.Call = c.kind
		c.endOnce.Do(func() { close(c.ended) })
	}
	r.Answer = code
	_ = tx.Respond(sip.NewResponseFromRequest(req, code, reason, nil))
	p.mu.Lock()
	p.card.Received = append(p.card.Received, r)
	p.mu.Unlock()
	p.say("received         BYE      answered %d", code)
}

func hasSDP(m message) bool {
	ct := strings.ToLower(headerValue(m, "Content-Type"))
	return len(m.Body()) > 0 && strings.Contains(ct, "application/sdp")
}

// sessionExpires reads Session-Expires (or its compact form x):
// delta-seconds and the refresher parameter.
func sessionExpires(m message) (int, string) {
	v := headerValue(m, "Session-Expires")
	if v == "" {
		v = headerValue(m, "x")
	}
	if v == "" {
		return 0, ""
	}
	parts := strings.Split(v, ";")
	n, _ := strconv.Atoi(strings.TrimSpace(parts[0]))
	refresher := ""
	for _, prm := range parts[1:] {
		if k, val, ok := strings.Cut(strings.TrimSpace(prm), "="); ok && strings.EqualFold(k, "refresher") {
			refresher = strings.ToLower(strings.TrimSpace(val))
		}
	}
	return n, refresher
}

func intHeader(m message, name string) int {
	v := headerValue(m, name)
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	n, _ := strconv.Atoi(strings.TrimSpace(v))
	return n
}
