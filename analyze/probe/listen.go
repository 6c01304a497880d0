package probe

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// ListenConfig is the probe waiting for the device to call it.
type ListenConfig struct {
	// Addr is where the probe listens (host:port), Transport udp, tcp or
	// tls (TLS needs Cert and Key).
	Addr, Transport string
	Cert, Key       string
	// Answers is what the probe answers the device's keep-alives with,
	// one value a call in turn: 200, 481, 405, 501, or 0 for nothing.
	Answers []int
	// Calls is how many calls to take (default: one per answer).
	Calls int
	// Watch: the probe hangs up a call this long after answering it.
	Watch time.Duration
	// Wait bounds the whole run.
	Wait time.Duration
	// Expires, if set, puts a session timer in the 2xx (the device's own
	// request wins if it asked), with Refresher ("uac": the device
	// refreshes; "uas": the probe would).
	Expires   int
	Refresher string
	// RTP: "silence" sends PCMU silence to the caller's media port (on
	// the caller's own host), as a phone would; devices hang up a call
	// without RTP after their RTP timeout (linphone: 30 s).
	RTP      string
	Progress interface{ Write([]byte) (int, error) }
	Tracer   sip.SIPTracer
}

// listener is one --listen run.
type listener struct {
	cfg     *ListenConfig
	ua      *sipgo.UserAgent
	server  *sipgo.Server
	dialogs *sipgo.DialogServerCache
	host    string

	mu      sync.Mutex
	card    *Card
	current *incomingCall
	arrived chan *incomingCall
}

type incomingCall struct {
	index  int
	dlg    *sipgo.DialogServerSession
	answer int
	media  *media
	ended  chan struct{}
	once   sync.Once
}

// Listen takes the device's calls and watches how it keeps them alive.
func Listen(ctx context.Context, cfg ListenConfig) (*Card, error) {
	if cfg.Calls == 0 {
		cfg.Calls = len(cfg.Answers)
	}
	if cfg.Calls == 0 {
		cfg.Answers, cfg.Calls = []int{200}, 1
	}
	if cfg.Watch == 0 {
		cfg.Watch = 2 * time.Minute
	}
	if cfg.Wait == 0 {
		cfg.Wait = 10 * time.Minute
	}
	for _, a := range cfg.Answers {
		if a != 0 && (a < 200 || a > 699) {
			return nil, fmt.Errorf("answer %d: want a final status code, or none", a)
		}
	}
	l := &listener{cfg: &cfg, arrived: make(chan *incomingCall, 1)}
	if err := l.start(ctx); err != nil {
		return nil, err
	}
	defer l.ua.Close()
	l.card = &Card{Target: "", Transport: cfg.Transport, Mode: "listen", Started: time.Now()}
	l.say("listening on %s (%s) for %d call(s)", cfg.Addr, cfg.Transport, cfg.Calls)
	wctx, cancel := context.WithTimeout(ctx, cfg.Wait)
	defer cancel()
	for i := 0; i < cfg.Calls; i++ {
		var c *incomingCall
		select {
		case c = <-l.arrived:
		case <-wctx.Done():
			l.mu.Lock()
			l.card.Stopped = fmt.Sprintf("%d of %d calls came before the wait ended", i, cfg.Calls)
			l.mu.Unlock()
			i = cfg.Calls
			continue
		}
		t := time.NewTimer(cfg.Watch)
		select {
		case <-c.ended:
		case <-t.C:
			l.hangUp(c)
		case <-wctx.Done():
			l.hangUp(c)
		}
		t.Stop()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.card.Ended = time.Now()
	judgeListen(l.card)
	return l.card, nil
}

func (l *listener) say(format string, args ...any) {
	if l.cfg.Progress != nil {
		fmt.Fprintf(l.cfg.Progress, format+"\n", args...)
	}
}

func (l *listener) start(ctx context.Context) error {
	host, ps, err := net.SplitHostPort(l.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen %q: want host:port", l.cfg.Addr)
	}
	port, _ := strconv.Atoi(ps)
	if host == "" || host == "0.0.0.0" || host == "::" {
		return fmt.Errorf("listen %q: name the address the device calls (the SDP and Contact carry it)", l.cfg.Addr)
	}
	l.host = host
	silenceSIPLog()
	if l.ua, err = sipgo.NewUA(sipgo.WithUserAgent(agentName), sipgo.WithUserAgentHostname(host)); err != nil {
		return err
	}
	if l.server, err = sipgo.NewServer(l.ua); err != nil {
		return err
	}
	client, err := sipgo.NewClient(l.ua, sipgo.WithClientHostname(host), sipgo.WithClientPort(port))
	if err != nil {
		return err
	}
	contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "probe", Host: host, Port: port}}
	l.dialogs = sipgo.NewDialogServerCache(client, contact)
	if l.cfg.Tracer != nil {
		untrace := traceRun(l.cfg.Addr, "", l.cfg.Tracer)
		go func() { <-ctx.Done(); untrace() }()
	}
	l.server.OnInvite(l.invite)
	l.server.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { _ = l.dialogs.ReadAck(req, tx) })
	l.server.OnBye(l.bye)
	for _, m := range []sip.RequestMethod{sip.OPTIONS, sip.INFO, sip.UPDATE, sip.MESSAGE, sip.NOTIFY} {
		l.server.OnRequest(m, l.inDialog)
	}
	switch l.cfg.Transport {
	case "udp":
		conn, err := net.ListenPacket("udp", l.cfg.Addr)
		if err != nil {
			return fmt.Errorf("listen %s: %w", l.cfg.Addr, err)
		}
		serveUDP(l.server, conn)
	case "tcp":
		ln, err := net.Listen("tcp", l.cfg.Addr)
		if err != nil {
			return fmt.Errorf("listen %s: %w", l.cfg.Addr, err)
		}
		go l.server.ServeTCP(ln)
	case "tls":
		cert, err := tls.LoadX509KeyPair(l.cfg.Cert, l.cfg.Key)
		if err != nil {
			return fmt.Errorf("TLS certificate: %w", err)
		}
		conf := &tls.Config{Certificates: []tls.Certificate{cert}}
		go l.server.ListenAndServeTLS(ctx, "tcp", l.cfg.Addr, conf)
	default:
		return fmt.Errorf("transport %q: want udp, tcp or tls", l.cfg.Transport)
	}
	return nil
}

// invite takes a new call, if one is due, or answers a re-INVITE.
func (l *listener) invite(req *sip.Request, tx sip.ServerTransaction) {
	if tag, _ := req.To().Params.Get("tag"); tag != "" {
		l.inDialog(req, tx)
		return
	}
	l.mu.Lock()
	busy := l.current != nil || len(l.card.Calls) >= l.cfg.Calls
	l.mu.Unlock()
	if busy {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 486, "Busy Here", nil))
		return
	}
	dlg, err := l.dialogs.ReadInvite(req, tx)
	if err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 400, "Bad Request", nil))
		return
	}
	m, err := newMedia(l.host)
	if err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 500, "Server Internal Error", nil))
		return
	}
	l.mu.Lock()
	idx := len(l.card.Calls)
	lc := ListenCall{Answer: l.cfg.Answers[idx%len(l.cfg.Answers)], Invited: time.Now()}
	lc.AskedExpires, lc.Refresher = sessionExpires(req)
	if l.card.Target == "" {
		l.card.Target = req.Source()
		if a := headerValue(req, "User-Agent"); a != "" {
			l.card.Device.Agent, l.card.Device.Vendor = a, vendorOf(a)
		}
		l.card.Device.Allow, l.card.Device.Supported = tokens(req, "Allow"), tokens(req, "Supported")
	}
	hdrs := []sip.Header{sip.NewHeader("Content-Type", "application/sdp"), sip.NewHeader("Allow", probeAllow), sip.NewHeader("Server", agentName)}
	expires, refresher := lc.AskedExpires, lc.Refresher
	if expires == 0 && l.cfg.Expires > 0 {
		expires = l.cfg.Expires
	}
	if expires > 0 {
		if refresher == "" {
			refresher = l.cfg.Refresher
		}
		if refresher == "" {
			refresher = "uac"
		}
		lc.OfferedExpires, lc.Refresher = expires, refresher
		hdrs = append(hdrs, sip.NewHeader("Session-Expires", fmt.Sprintf("%d;refresher=%s", expires, refresher)), sip.NewHeader("Require", "timer"))
	}
	c := &incomingCall{index: idx, dlg: dlg, answer: lc.Answer, media: m, ended: make(chan struct{})}
	l.card.Calls = append(l.card.Calls, lc)
	l.current = c
	l.mu.Unlock()
	if err := dlg.Respond(200, "OK", m.offer(), hdrs...); err != nil {
		l.say("answering the call: %v", err)
	}
	if host, _, err := net.SplitHostPort(req.Source()); err == nil {
		m.answer(req.Body(), host, l.cfg.RTP == "silence")
	}
	l.say("call %d from %s answered; keep-alives get %s", idx+1, req.Source(), answerName(lc.Answer))
	l.arrived <- c
	<-tx.Done()
}

func answerName(code int) string {
	if code == 0 {
		return "no answer"
	}
	return strconv.Itoa(code)
}

// callOf finds the call a request belongs to.
func (l *listener) callOf(req *sip.Request) *incomingCall {
	if _, err := l.dialogs.MatchDialogRequest(req); err != nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if c := l.current; c != nil && c.dlg.InviteRequest.CallID().Value() == req.CallID().Value() {
		return c
	}
	return nil
}

// inDialog answers the device's request inside a call with the call's
// behaviour: keep-alives and timer refreshes get Answer; a re-INVITE
// that renegotiates media outside a timer gets 200 with SDP.
func (l *listener) inDialog(req *sip.Request, tx sip.ServerTransaction) {
	c := l.callOf(req)
	r := Received{Method: string(req.Method), At: time.Now(), SDP: hasSDP(req), InDialog: c != nil}
	r.SessionExpires, _ = sessionExpires(req)
	code := 481
	var body []byte
	if c != nil {
		r.Call, r.CallIndex = StepListenCall, c.index
		l.mu.Lock()
		timer := l.card.Calls[c.index].OfferedExpires > 0
		l.mu.Unlock()
		code = c.answer
		if req.Method == sip.INVITE && r.SDP && !timer { // media, not a keep-alive
			code = 200
		}
		if req.Method == sip.INVITE && code == 200 {
			body = c.media.offer()
		}
	} else if tag, _ := req.To().Params.Get("tag"); tag == "" {
		code = 200 // OPTIONS or an IM outside a dialog
	}
	r.Answer = code
	l.mu.Lock()
	l.card.Received = append(l.card.Received, r)
	l.mu.Unlock()
	l.say("received %-8s %s, answered %s", req.Method, inOrOut(r), answerName(code))
	if code == 0 {
		return
	}
	res := sip.NewResponseFromRequest(req, code, "", body)
	if body != nil {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	if code == 200 && r.SessionExpires > 0 {
		res.AppendHeader(sip.NewHeader("Session-Expires", strconv.Itoa(r.SessionExpires)+";refresher=uac"))
	}
	_ = tx.Respond(res)
}

func (l *listener) bye(req *sip.Request, tx sip.ServerTransaction) {
	c := l.callOf(req)
	r := Received{Method: "BYE", At: time.Now(), InDialog: c != nil, Answer: 481}
	if c != nil {
		r.Call, r.CallIndex, r.Answer = StepListenCall, c.index, 200
		_ = l.dialogs.ReadBye(req, tx)
		l.end(c, "device")
	} else {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
	}
	l.mu.Lock()
	l.card.Received = append(l.card.Received, r)
	l.mu.Unlock()
	l.say("received BYE, answered %d", r.Answer)
}

func (l *listener) end(c *incomingCall, by string) {
	c.once.Do(func() {
		l.mu.Lock()
		l.card.Calls[c.index].Ended, l.card.Calls[c.index].EndedBy = time.Now(), by
		l.current = nil
		l.mu.Unlock()
		c.media.close()
		close(c.ended)
	})
}

// hangUp ends a call the device left up.
func (l *listener) hangUp(c *incomingCall) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	if err := c.dlg.Bye(ctx); err != nil {
		l.say("BYE: %v", err)
	}
	l.end(c, "probe")
}
