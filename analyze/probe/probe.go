package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Config is what to probe and how gently.
type Config struct {
	// Target is the device: sip:user@host[:port].
	Target string
	// Transport: udp, tcp or tls.
	Transport string
	// Local is the address to send from and listen on (host:port); the
	// host defaults to the one the route to the target leaves by, the
	// port to any.
	Local string
	// User names the probe in From (and REGISTER); Password answers a
	// digest challenge. Register registers User first.
	User, Password string
	Register       bool
	// Methods replaces KeepAliveMethods.
	Methods []string
	// Gap is the pause between requests (at most a few a second);
	// CallGap the least pause before a new call (DefaultCallGap).
	Gap, CallGap time.Duration
	// StepTimeout bounds the wait for each final answer; retransmission
	// in between is RFC 3261's (sipgo's timers).
	StepTimeout time.Duration
	// SessionExpires is what the timer call asks for (default 90);
	// TimerWait bounds the wait for the device's refresh; NoTimer skips
	// the session-timer calls.
	SessionExpires int
	TimerWait      time.Duration
	NoTimer        bool
	// Hold keeps the main call up this long after the keep-alive steps,
	// to see what the device sends itself.
	Hold time.Duration
	// RTP: "none" (the SDP offers a port nobody sends from) or "silence"
	// (PCMU silence every 20 ms to the device's media address, only if it
	// is the target's host).
	RTP string
	// Insecure skips the TLS certificate check (lab devices).
	Insecure bool
	// Progress, if set, gets a line per step.
	Progress io.Writer
	// Tracer, if set, sees every SIP message sent and received (for -w).
	Tracer sip.SIPTracer
}

// MinGap is the shortest pause between requests the probe accepts.
const MinGap = 200 * time.Millisecond

// DefaultCallGap is the least pause before a new call.
const DefaultCallGap = 3 * time.Second

func (c *Config) fromURI() string {
	user := c.User
	if user == "" {
		user = "sipalive"
	}
	return "sip:" + user + "@" + c.localHost()
}

func (c *Config) localHost() string {
	h, _, _ := net.SplitHostPort(c.Local)
	return h
}

// Validate checks a configuration before anything is sent.
func (c *Config) Validate() error {
	var u sip.Uri
	if err := sip.ParseUri(c.Target, &u); err != nil || u.Host == "" {
		return fmt.Errorf("target %q: want sip:user@host[:port]", c.Target)
	}
	switch c.Transport {
	case "udp", "tcp", "tls":
	default:
		return fmt.Errorf("transport %q: want udp, tcp or tls", c.Transport)
	}
	if c.Gap < MinGap {
		return fmt.Errorf("gap %s: the probe waits at least %s between requests", c.Gap, MinGap)
	}
	if c.SessionExpires != 0 && c.SessionExpires < 90 {
		return fmt.Errorf("session-expires %d: RFC 4028 puts the floor at 90", c.SessionExpires)
	}
	switch c.RTP {
	case "", "none", "silence":
	default:
		return fmt.Errorf("rtp %q: want none or silence", c.RTP)
	}
	return nil
}

// prober is one run: the SIP stack, the card, the calls.
type prober struct {
	cfg    *Config
	target sip.Uri
	ua     *sipgo.UserAgent
	client *sipgo.Client
	server *sipgo.Server
	dua    *sipgo.DialogUA
	local  netAddr

	untrace func()

	mu       sync.Mutex
	card     *Card
	calls    map[string]*call // by Call-ID
	timeouts int              // unanswered steps in a row
}

type netAddr struct {
	host string
	port int
}

// call is a dialog the probe placed.
type call struct {
	kind    StepKind // StepCall or StepTimerCall
	sess    *sipgo.DialogClientSession
	answer  time.Time
	ended   chan struct{} // closed when the device sent BYE
	endOnce sync.Once
	expires int // negotiated Session-Expires, for answers to refreshes
	// refreshed gets a value when the device refreshes the timer call.
	refreshed chan struct{}
	media     *media
}

// Run probes the device and returns its card. The context ends it early
// (the call up is still hung up).
func Run(ctx context.Context, cfg Config) (*Card, error) {
	if cfg.Gap == 0 {
		cfg.Gap = time.Second
	}
	if cfg.StepTimeout == 0 {
		cfg.StepTimeout = 8 * time.Second
	}
	if cfg.CallGap == 0 {
		cfg.CallGap = DefaultCallGap
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &prober{cfg: &cfg, calls: map[string]*call{}}
	if err := sip.ParseUri(cfg.Target, &p.target); err != nil {
		return nil, err
	}
	if err := p.start(ctx); err != nil {
		return nil, err
	}
	defer p.ua.Close()
	if p.untrace != nil {
		defer p.untrace()
	}
	p.card = &Card{Target: cfg.Target, Transport: cfg.Transport, Mode: "call", Started: time.Now()}
	p.run(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.card.Ended = time.Now()
	judge(p.card)
	return p.card, nil
}

// start brings up the SIP stack on the local address: the client sends
// from the listening socket, so the device's requests come back to it.
func (p *prober) start(ctx context.Context) error {
	cfg := p.cfg
	silenceSIPLog()
	host, port, err := localAddr(cfg.Local, p.target, cfg.Transport)
	if err != nil {
		return err
	}
	opts := []sipgo.UserAgentOption{sipgo.WithUserAgent(agentName), sipgo.WithUserAgentHostname(host)}
	var tlsConf *tls.Config
	if cfg.Transport == "tls" {
		tlsConf = &tls.Config{InsecureSkipVerify: cfg.Insecure, ServerName: p.target.Host} //nolint:gosec // asked for by --insecure, for lab devices
		opts = append(opts, sipgo.WithUserAgenTLSConfig(tlsConf))
	}
	if p.ua, err = sipgo.NewUA(opts...); err != nil {
		return err
	}
	if p.server, err = sipgo.NewServer(p.ua); err != nil {
		return err
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	switch cfg.Transport {
	case "udp":
		conn, err := net.ListenPacket("udp", addr)
		if err != nil {
			return fmt.Errorf("listen %s: %w", addr, err)
		}
		port = conn.LocalAddr().(*net.UDPAddr).Port
		serveUDP(p.server, conn)
	default:
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("listen %s: %w", addr, err)
		}
		port = l.Addr().(*net.TCPAddr).Port
		if cfg.Transport == "tls" {
			go p.server.ServeTLS(tls.NewListener(l, tlsConf))
		} else {
			go p.server.ServeTCP(l)
		}
	}
	p.local = netAddr{host, port}
	cfg.Local = net.JoinHostPort(host, strconv.Itoa(port))
	if cfg.Tracer != nil {
		target := targetHostPort(p.target, cfg.Transport)
		if ips, err := net.DefaultResolver.LookupIPAddr(ctx, p.target.Host); err == nil && len(ips) > 0 {
			_, port, _ := net.SplitHostPort(target)
			target = net.JoinHostPort(ips[0].IP.String(), port)
		}
		p.untrace = traceRun(cfg.Local, target, cfg.Tracer)
	}
	copts := []sipgo.ClientOption{sipgo.WithClientHostname(host), sipgo.WithClientPort(port)}
	if cfg.Transport == "udp" { // requests leave from the listening socket, where answers come back
		copts = append(copts, sipgo.WithClientConnectionAddr(cfg.Local))
	}
	if p.client, err = sipgo.NewClient(p.ua, copts...); err != nil {
		return err
	}
	contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: p.user(), Host: host, Port: port}}
	if cfg.Transport != "udp" {
		contact.Address.UriParams = sip.NewParams()
		contact.Address.UriParams.Add("transport", cfg.Transport)
	}
	p.dua = &sipgo.DialogUA{Client: p.client, ContactHDR: contact}
	for _, m := range []sip.RequestMethod{sip.INVITE, sip.UPDATE, sip.INFO, sip.OPTIONS, sip.MESSAGE, sip.NOTIFY} {
		p.server.OnRequest(m, p.incoming)
	}
	p.server.OnBye(p.incomingBye)
	p.server.OnAck(func(*sip.Request, sip.ServerTransaction) {})
	return nil
}

// serveUDP serves conn and returns once sipgo has it as a listener (it
// reads only after adding it to its pool), so that requests sent from its
// address leave from it rather than from a socket sipgo would try to bind
// to the same address.
func serveUDP(s *sipgo.Server, conn net.PacketConn) {
	r := &readyConn{PacketConn: conn, ready: make(chan struct{})}
	go s.ServeUDP(r)
	<-r.ready
}

// readyConn closes ready at its first read.
type readyConn struct {
	net.PacketConn
	ready chan struct{}
	once  sync.Once
}

func (c *readyConn) ReadFrom(b []byte) (int, net.Addr, error) {
	c.once.Do(func() { close(c.ready) })
	return c.PacketConn.ReadFrom(b)
}

// silenceSIPLog: sipgo logs transport details at WARN on stderr; the
// probe reports what matters on its card and progress lines.
func silenceSIPLog() {
	sip.SetDefaultLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func (p *prober) user() string {
	if p.cfg.User != "" {
		return p.cfg.User
	}
	return "sipalive"
}

// localAddr picks the address to listen on: the one given, or the source
// address of the route to the target (a UDP "connect" sends nothing).
func localAddr(local string, target sip.Uri, transport string) (string, int, error) {
	host, port := "", 0
	if local != "" {
		h, ps, err := net.SplitHostPort(local)
		if err != nil {
			return "", 0, fmt.Errorf("local %q: want host:port", local)
		}
		if port, err = strconv.Atoi(ps); err != nil || port < 0 || port > 65535 {
			return "", 0, fmt.Errorf("local %q: want host:port", local)
		}
		host = h
	}
	if host != "" {
		return host, port, nil
	}
	c, err := net.Dial("udp", targetHostPort(target, transport))
	if err != nil {
		return "", 0, fmt.Errorf("no route to %s: %w", target.Host, err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP.String(), port, nil
}

func targetHostPort(u sip.Uri, transport string) string {
	port := u.Port
	if port == 0 {
		port = 5060
		if transport == "tls" {
			port = 5061
		}
	}
	return net.JoinHostPort(u.Host, strconv.Itoa(port))
}

func (p *prober) say(format string, args ...any) {
	if p.cfg.Progress != nil {
		fmt.Fprintf(p.cfg.Progress, format+"\n", args...)
	}
}

// run walks the plan, pacing, and stops at the first sign of overload.
func (p *prober) run(ctx context.Context) {
	var cur *call
	defer func() {
		if cur != nil {
			p.hangUp(ctx, cur)
		}
	}()
	for i, st := range Plan(p.cfg) {
		if ctx.Err() != nil {
			p.stop("interrupted")
			return
		}
		if i > 0 {
			pause := p.cfg.Gap
			if st.Kind == StepTimerTooSmall || st.Kind == StepTimerCall {
				// a device may still be releasing the last call (linphone
				// answers 486 for a second or two after a BYE)
				pause = max(pause, p.cfg.CallGap)
			}
			sleep(ctx, pause)
		}
		switch st.Kind {
		case StepRegister:
			p.record(p.register(ctx))
		case StepPing:
			p.record(p.outside(ctx, StepPing, "OPTIONS", nil))
		case StepCall, StepTimerTooSmall, StepTimerCall:
			c, s := p.invite(ctx, st.Kind)
			p.record(s)
			cur = c
			if st.Kind == StepCall && c == nil {
				why := fmt.Sprintf("the call was not answered 2xx (%s)", describe(s))
				if (s.Code == 401 || s.Code == 407) && p.cfg.Password == "" {
					why += "; the device asks for credentials: give --user and --password"
				}
				p.stop(why)
				return
			}
			if st.Kind == StepTimerTooSmall && c != nil { // accepted: end it at once
				sleep(ctx, p.cfg.Gap)
				p.hangUp(ctx, c)
				cur = nil
			}
			if st.Kind == StepTimerCall && c != nil {
				p.watchRefresh(ctx, c)
			}
		case StepInDialog, StepUnknownDialog:
			if cur == nil {
				continue
			}
			p.record(p.inDialog(ctx, cur, st.Kind, st.Method))
			if st.Kind == StepUnknownDialog && st.Method == p.cfg.methods()[len(p.cfg.methods())-1] && p.cfg.Hold > 0 {
				p.say("holding the call %s to see what the device sends", p.cfg.Hold)
				sleep(ctx, p.cfg.Hold)
			}
		case StepMessageOutside:
			p.record(p.outside(ctx, StepMessageOutside, "MESSAGE", []byte("sipalive probe: an instant message outside any dialog")))
		case StepBye:
			if cur != nil {
				p.hangUp(ctx, cur)
				cur = nil
			}
		}
		if p.card.Stopped != "" {
			return
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// record adds a step to the card, and stops the run on 503 or a second
// unanswered request in a row.
func (p *prober) record(s Step) {
	p.mu.Lock()
	p.card.Steps = append(p.card.Steps, s)
	if s.NoAnswer {
		p.timeouts++
	} else if s.Answered() {
		p.timeouts = 0
	}
	p.mu.Unlock()
	p.say("%-16s %-8s %s", s.Kind, s.Method, describe(s))
	switch {
	case s.Code == 503:
		p.stop("the device answered 503 (overloaded or unavailable)")
	case p.timeouts >= 2:
		p.stop("two requests in a row went unanswered")
	}
}

func (p *prober) stop(why string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.card.Stopped == "" {
		p.card.Stopped = why
	}
}

func describe(s Step) string {
	switch {
	case s.Error != "":
		return "error: " + s.Error
	case s.NoAnswer:
		return "no answer"
	}
	return fmt.Sprintf("%d %s (%s)", s.Code, s.Reason, s.RTT.Round(time.Millisecond))
}

// finish fills a step from a response or an error.
func (p *prober) finish(s *Step, res *sip.Response, err error) {
	if res != nil {
		s.Code, s.Reason = res.StatusCode, res.Reason
		s.RTT = time.Since(s.Sent)
		p.learn(res)
		return
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, sip.ErrTransactionTimeout) {
		s.NoAnswer = true
		return
	}
	if err != nil {
		s.Error = err.Error()
	}
}

// learn takes the device's name and capabilities from an answer.
func (p *prober) learn(res *sip.Response) {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := &p.card.Device
	agent := headerValue(res, "Server")
	if agent == "" {
		agent = headerValue(res, "User-Agent")
	}
	// the call's 2xx is the authority (through a proxy, a registrar or
	// the proxy itself answers REGISTER and OPTIONS); others fill in
	// until then
	callee := res.IsSuccess() && cseqMethod(res) == "INVITE"
	if agent != "" && (d.Agent == "" || callee) {
		d.Agent, d.Vendor = agent, vendorOf(agent)
	}
	if allow := tokens(res, "Allow"); allow != nil && (d.Allow == nil || callee) {
		d.Allow = allow
	}
	if sup := tokens(res, "Supported"); sup != nil && (d.Supported == nil || callee) {
		d.Supported = sup
	}
}

func cseqMethod(res *sip.Response) string {
	if c := res.CSeq(); c != nil {
		return string(c.MethodName)
	}
	return ""
}

// message is what the probe reads of a request or response.
type message interface {
	GetHeader(name string) sip.Header
	GetHeaders(name string) []sip.Header
	Body() []byte
}

func headerValue(m message, name string) string {
	if h := m.GetHeader(name); h != nil {
		return strings.TrimSpace(h.Value())
	}
	return ""
}

// tokens reads a comma list over every header of that name, upper-cased
// for Allow.
func tokens(m message, name string) []string {
	hs := m.GetHeaders(name)
	if len(hs) == 0 {
		return nil
	}
	out := []string{}
	for _, h := range hs {
		for _, t := range strings.Split(h.Value(), ",") {
			if t = strings.TrimSpace(t); t != "" {
				if name == "Allow" {
					t = strings.ToUpper(t)
				}
				out = append(out, t)
			}
		}
	}
	return out
}

func (p *prober) timeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, p.cfg.StepTimeout)
}

// outside sends a request outside any dialog: OPTIONS or an IM.
func (p *prober) outside(ctx context.Context, kind StepKind, method string, body []byte) Step {
	req := sip.NewRequest(sip.RequestMethod(method), p.target)
	p.prepare(req)
	if body != nil {
		req.AppendHeader(sip.NewHeader("Content-Type", "text/plain"))
		req.SetBody(body)
	}
	return p.send(ctx, Step{Kind: kind, Method: method}, req)
}

// send sends a request outside a dialog and waits for its final answer,
// answering a digest challenge when the probe has a password.
func (p *prober) send(ctx context.Context, s Step, req *sip.Request) Step {
	s.Sent = time.Now()
	tctx, cancel := p.timeout(ctx)
	defer cancel()
	res, err := p.client.Do(tctx, req)
	if res != nil && (res.StatusCode == 401 || res.StatusCode == 407) && p.cfg.Password != "" {
		res, err = p.client.DoDigestAuth(tctx, req, res, sipgo.DigestAuth{Username: p.user(), Password: p.cfg.Password})
	}
	p.finish(&s, res, err)
	return s
}

// prepare sets what every request outside a dialog carries: the
// transport, From as the probe, the Contact.
func (p *prober) prepare(req *sip.Request) {
	req.SetTransport(strings.ToUpper(p.cfg.Transport))
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: p.user(), Host: p.local.host}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(sip.HeaderClone(&p.dua.ContactHDR))
	req.AppendHeader(sip.NewHeader("User-Agent", agentName))
}

// agentName is the probe's User-Agent: analyses of its -w file name it.
const agentName = "sipalive-probe"

func (p *prober) register(ctx context.Context) Step {
	reg := sip.Uri{Scheme: "sip", Host: p.target.Host, Port: p.target.Port}
	req := sip.NewRequest(sip.REGISTER, reg)
	req.SetTransport(strings.ToUpper(p.cfg.Transport))
	aor := sip.Uri{Scheme: "sip", User: p.user(), Host: p.target.Host}
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: aor, Params: sip.NewParams()})
	req.AppendHeader(sip.HeaderClone(&p.dua.ContactHDR))
	req.AppendHeader(sip.NewHeader("Expires", "300"))
	req.AppendHeader(sip.NewHeader("User-Agent", agentName))
	return p.send(ctx, Step{Kind: StepRegister, Method: "REGISTER"}, req)
}
