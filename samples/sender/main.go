// Command sender plays SIP calls with keep-alives over real sockets, for
// captures made from real traffic (samples/netns) and for the end-to-end
// test of sipalive sniff. One process answers (uas), another calls (uac):
//
//	sender uas -listen 10.0.0.2:5060 [-tcp] [-answer UPDATE=501] [-timeout 30s]
//	sender uac -from 10.0.0.1:5070 -to 10.0.0.2:5060 [-tcp] -calls 2 \
//	    -keepalive INFO -count 3 -interval 200ms [-invite-size 3000]
//	sender uac -ws ws://10.0.0.3:8080 -from 10.0.0.1:5070 -to 10.0.0.2:5060 ...
//	sender relay -a IFACE -b IFACE [-vlan 100] [-drop-every 5]
//	sender replay -i IFACE [-gap 1ms] FILE.pcap
//	sender sink -listen 127.0.0.1:9060 [-timeout 120s]
//
// Every wait is bounded: the uas stops after -timeout, or once it answered
// -calls BYEs; the uac gives up on a response after -wait.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/websocket"

	"github.com/sipalive/sipalive/capture/sip"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: sender uas|uac|relay|replay|sink [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "uas":
		err = uas(os.Args[2:])
	case "uac":
		err = uac(os.Args[2:])
	case "relay":
		err = relay(os.Args[2:])
	case "sink":
		err = sink(os.Args[2:])
	case "replay":
		err = replay(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sender:", err)
		os.Exit(1)
	}
}

// transport sends and receives whole SIP messages over UDP, TCP or a
// WebSocket (RFC 7118: one message per text frame).
type transport struct {
	udp    *net.UDPConn
	tcp    net.Conn
	ws     *websocket.Conn
	in     chan []byte // the responses the WebSocket reader passes on
	framer sip.Framer
	buf    []byte
	mu     sync.Mutex
}

func (t *transport) send(msg string, to *net.UDPAddr) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ws != nil {
		return websocket.Message.Send(t.ws, msg)
	}
	if t.tcp != nil {
		_, err := io.WriteString(t.tcp, msg)
		return err
	}
	_, err := t.udp.WriteToUDP([]byte(msg), to)
	return err
}

// errTimeout is recv's error when nothing came in time.
var errTimeout = errors.New("no message before the deadline")

// recv returns the next message, or an error on timeout.
func (t *transport) recv(deadline time.Time) ([]byte, *net.UDPAddr, error) {
	if t.ws != nil {
		timer := time.NewTimer(time.Until(deadline))
		defer timer.Stop()
		select {
		case b, ok := <-t.in:
			if !ok {
				return nil, nil, io.EOF
			}
			return b, nil, nil
		case <-timer.C:
			return nil, nil, errTimeout
		}
	}
	if t.tcp == nil {
		b := make([]byte, 65536)
		t.udp.SetReadDeadline(deadline)
		n, from, err := t.udp.ReadFromUDP(b)
		return b[:n], from, err
	}
	for {
		for len(t.buf) > 0 {
			k, n := t.framer.Next(t.buf)
			if k == sip.FramePartial {
				break
			}
			msg := t.buf[:n]
			t.buf = t.buf[n:]
			if k == sip.FrameMessage {
				return msg, nil, nil
			}
		}
		t.tcp.SetReadDeadline(deadline)
		chunk := make([]byte, 4096)
		n, err := t.tcp.Read(chunk)
		if err != nil {
			return nil, nil, err
		}
		t.buf = append(t.buf, chunk[:n]...)
	}
}

// readWS reads the WebSocket for as long as it is open: it answers the
// requests that come in (a proxy's in-dialog OPTIONS, a BYE) with 200 at
// once, whatever the caller is doing, and passes responses on to recv.
// Reading also answers the proxy's WebSocket pings (the library pongs).
func (t *transport) readWS(agent string) {
	defer close(t.in)
	var m sip.Message
	for {
		var raw []byte
		if err := websocket.Message.Receive(t.ws, &raw); err != nil {
			return
		}
		if sip.Parse(raw, &m) == nil && m.Request {
			if string(m.Method) != "ACK" {
				t.send(response(&m, raw, 200, "OK", agent, ""), nil)
			}
			continue
		}
		t.in <- raw
	}
}

// sink accepts TCP connections and reads them to the end, for a sender
// that needs a listener to talk to (a capture agent sending HEP to a
// collector over TCP), until -timeout.
func sink(args []string) error {
	fs := flag.NewFlagSet("sink", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:9060", "TCP address to accept on")
	timeout := fs.Duration("timeout", 120*time.Second, "stop after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	deadline := time.Now().Add(*timeout)
	ln.(*net.TCPListener).SetDeadline(deadline)
	fmt.Println("ready")
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return nil
			}
			return err
		}
		go func() {
			defer c.Close()
			c.SetReadDeadline(deadline)
			io.Copy(io.Discard, c)
		}()
	}
}

func uas(args []string) error {
	fs := flag.NewFlagSet("uas", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:5060", "address to answer on")
	tcp := fs.Bool("tcp", false, "accept one TCP connection instead of UDP")
	agent := fs.String("agent", "Umbrella-PBX/9.0 (sipalive sender)", "Server header")
	answers := fs.String("answer", "", "final answers per method, e.g. UPDATE=501,INFO=481 (default 200)")
	calls := fs.Int("calls", 0, "stop after answering this many BYEs (0: run until -timeout)")
	timeout := fs.Duration("timeout", 30*time.Second, "stop after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	answer := map[string]int{}
	for _, kv := range strings.Split(*answers, ",") {
		if m, c, ok := strings.Cut(kv, "="); ok {
			var code int
			fmt.Sscan(c, &code)
			answer[strings.ToUpper(m)] = code
		}
	}
	deadline := time.Now().Add(*timeout)
	t := &transport{}
	if *tcp {
		ln, err := net.Listen("tcp", *listen)
		if err != nil {
			return err
		}
		defer ln.Close()
		ln.(*net.TCPListener).SetDeadline(deadline)
		if t.tcp, err = ln.Accept(); err != nil {
			return err
		}
		defer t.tcp.Close()
	} else {
		addr, err := net.ResolveUDPAddr("udp", *listen)
		if err != nil {
			return err
		}
		if t.udp, err = net.ListenUDP("udp", addr); err != nil {
			return err
		}
		defer t.udp.Close()
	}
	fmt.Println("ready") // the caller may start
	byes := 0
	var m sip.Message
	for time.Now().Before(deadline) && (*calls == 0 || byes < *calls) {
		raw, from, err := t.recv(deadline)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if sip.Parse(raw, &m) != nil || !m.Request {
			continue
		}
		method := string(m.Method)
		switch method {
		case "ACK":
			continue
		case "INVITE":
			t.send(response(&m, raw, 100, "Trying", *agent, ""), from)
			sdp := ""
			if !m.IsInDialog() || m.HasSDP() {
				sdp = sdpBody(*listen, 0)
			}
			t.send(response(&m, raw, 200, "OK", *agent, sdp), from)
		default:
			code := 200
			if c, ok := answer[method]; ok {
				code = c
			}
			if code == 0 {
				continue // leave it unanswered
			}
			t.send(response(&m, raw, code, reason(code), *agent, ""), from)
			if method == "BYE" {
				byes++
			}
		}
	}
	return nil
}

func reason(code int) string {
	switch code {
	case 200:
		return "OK"
	case 405:
		return "Method Not Allowed"
	case 481:
		return "Call/Transaction Does Not Exist"
	case 501:
		return "Not Implemented"
	}
	return "Response"
}

// response builds the answer to a request, copying what RFC 3261 section
// 8.2.6.2 asks for and adding a To tag.
func response(m *sip.Message, raw []byte, code int, reason, agent, sdp string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", code, reason)
	for _, line := range strings.Split(string(raw[:headerEnd(raw)]), "\r\n") {
		name, _, _ := strings.Cut(line, ":")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "via", "v", "from", "f", "call-id", "i", "cseq":
			b.WriteString(line + "\r\n")
		case "to", "t":
			if code > 100 && len(m.To.Tag) == 0 {
				line += ";tag=uas" + fmt.Sprint(len(m.CallID))
			}
			b.WriteString(line + "\r\n")
		}
	}
	fmt.Fprintf(&b, "Server: %s\r\nAllow: INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, MESSAGE\r\n", agent)
	if sdp != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(sdp), sdp)
	return b.String()
}

func headerEnd(raw []byte) int {
	s := string(raw)
	if i := strings.Index(s, "\r\n\r\n"); i >= 0 {
		return i
	}
	return len(s)
}

// dialogRoute reads a 2xx to an INVITE for the dialog's remote target (its
// Contact URI) and route set (its Record-Route values, reversed for the
// caller), as RFC 3261 12.1.2 has the caller keep them.
func dialogRoute(raw []byte) (contact string, routes []string) {
	for _, line := range strings.Split(string(raw[:headerEnd(raw)]), "\r\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "contact", "m":
			if lt, gt := strings.IndexByte(value, '<'), strings.IndexByte(value, '>'); lt >= 0 && gt > lt {
				contact = value[lt+1 : gt]
			}
		case "record-route":
			for _, r := range strings.Split(value, ",") {
				routes = append([]string{strings.TrimSpace(r)}, routes...)
			}
		}
	}
	return contact, routes
}

// sdpBody is an audio offer, padded with attribute lines to about size
// bytes (to make an INVITE large enough to fragment).
func sdpBody(addr string, size int) string {
	host, _, _ := net.SplitHostPort(addr)
	fam := "IP4"
	if strings.Contains(host, ":") {
		fam = "IP6"
	}
	s := "v=0\r\no=- 1 1 IN " + fam + " " + host + "\r\ns=-\r\nc=IN " + fam + " " + host + "\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\n"
	for i := 0; len(s) < size; i++ {
		s += fmt.Sprintf("a=x-padding-%03d:%s\r\n", i, strings.Repeat("p", 60))
	}
	return s
}

func uac(args []string) error {
	fs := flag.NewFlagSet("uac", flag.ContinueOnError)
	from := fs.String("from", "127.0.0.1:5070", "local address")
	to := fs.String("to", "127.0.0.1:5060", "the uas")
	tcp := fs.Bool("tcp", false, "call over TCP")
	wsURL := fs.String("ws", "", "call over a WebSocket to this proxy URL (ws://host:port), from -from")
	agent := fs.String("agent", "Initech-Phone/2.3 (sipalive sender)", "User-Agent header")
	calls := fs.Int("calls", 1, "calls to make, one after the other")
	method := fs.String("keepalive", "INFO", "keep-alive method (INFO, UPDATE, MESSAGE, OPTIONS)")
	count := fs.Int("count", 3, "keep-alives per call")
	interval := fs.Duration("interval", 200*time.Millisecond, "between keep-alives")
	inviteSize := fs.Int("invite-size", 0, "pad the INVITE's SDP to about this many bytes")
	wait := fs.Duration("wait", time.Second, "how long to wait for each response")
	if err := fs.Parse(args); err != nil {
		return err
	}
	local, err := net.ResolveUDPAddr("udp", *from)
	if err != nil {
		return err
	}
	remote, err := net.ResolveUDPAddr("udp", *to)
	if err != nil {
		return err
	}
	t := &transport{}
	proto, contactParams := "UDP", ""
	if *wsURL != "" {
		proto, contactParams = "WS", ";transport=ws"
		cfg, err := websocket.NewConfig(*wsURL, "http://"+*from)
		if err != nil {
			return err
		}
		cfg.Protocol = []string{"sip"}
		cfg.Dialer = &net.Dialer{LocalAddr: &net.TCPAddr{IP: local.IP, Port: local.Port}, Timeout: *wait}
		if t.ws, err = websocket.DialConfig(cfg); err != nil {
			return err
		}
		defer t.ws.Close()
		t.in = make(chan []byte, 16)
		go t.readWS(*agent)
	} else if *tcp {
		proto = "TCP"
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: local.IP, Port: local.Port}, Timeout: *wait}
		if t.tcp, err = d.Dial("tcp", *to); err != nil {
			return err
		}
		defer t.tcp.Close()
	} else if t.udp, err = net.ListenUDP("udp", local); err != nil {
		return err
	}
	if t.udp != nil {
		defer t.udp.Close()
	}
	var m sip.Message
	for c := 0; c < *calls; c++ {
		callID := fmt.Sprintf("sender-%d-%d@%s", c, time.Now().UnixNano()%1e9, local.IP)
		fromTag := fmt.Sprintf("uac%d", c)
		toTag := ""
		cseq := 0
		// Through a proxy that record-routes, in-dialog requests go to the
		// 2xx's Contact by way of the recorded route (RFC 3261 12.2.1.1).
		target, routes := "sip:uas@"+*to, []string(nil)
		// request sends one request and waits for its final response.
		request := func(meth, body, ctype string) (int, error) {
			if meth != "ACK" {
				cseq++
			}
			toHdr := "<sip:uas@" + *to + ">"
			if toTag != "" {
				toHdr += ";tag=" + toTag
			}
			var b strings.Builder
			fmt.Fprintf(&b, "%s %s SIP/2.0\r\nVia: SIP/2.0/%s %s;branch=z9hG4bK%s-%d-%s\r\nMax-Forwards: 70\r\n", meth, target, proto, *from, fromTag, cseq, meth)
			for _, r := range routes {
				fmt.Fprintf(&b, "Route: %s\r\n", r)
			}
			fmt.Fprintf(&b, "From: <sip:uac@%s>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\nContact: <sip:uac@%s%s>\r\nUser-Agent: %s\r\n",
				*from, fromTag, toHdr, callID, cseq, meth, *from, contactParams, *agent)
			if body != "" {
				fmt.Fprintf(&b, "Content-Type: %s\r\n", ctype)
			}
			fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
			if err := t.send(b.String(), remote); err != nil {
				return 0, err
			}
			if meth == "ACK" {
				return 0, nil
			}
			deadline := time.Now().Add(*wait)
			for {
				raw, _, err := t.recv(deadline)
				if errors.Is(err, io.EOF) {
					// the proxy closed the WebSocket: nothing more can be sent
					return 0, fmt.Errorf("call %d: %s: the connection closed", c, meth)
				}
				if err != nil {
					return 0, nil // unanswered: go on
				}
				if sip.Parse(raw, &m) != nil || m.Request || string(m.CallID) != callID || m.CSeq != uint32(cseq) {
					continue
				}
				if m.Status >= 200 {
					if toTag == "" {
						toTag = string(m.To.Tag)
					}
					if meth == "INVITE" && m.Status < 300 {
						if contact, rr := dialogRoute(raw); contact != "" {
							target, routes = contact, rr
						}
					}
					return m.Status, nil
				}
			}
		}
		code, err := request("INVITE", sdpBody(*from, *inviteSize), "application/sdp")
		if err != nil {
			return err
		}
		if code != 200 {
			return fmt.Errorf("call %d: INVITE answered %d", c, code)
		}
		request("ACK", "", "")
		for k := 0; k < *count; k++ {
			time.Sleep(*interval)
			if _, err := request(strings.ToUpper(*method), "", ""); err != nil {
				return err
			}
		}
		if _, err := request("BYE", "", ""); err != nil {
			return err
		}
	}
	return nil
}
