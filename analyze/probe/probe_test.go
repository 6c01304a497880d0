package probe

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/sipalive/sipalive/analyze"
	"github.com/sipalive/sipalive/analyze/driver"
	"github.com/sipalive/sipalive/capture"
)

// device is a SIP user agent built on sipgo, configured to behave one way:
// the probe's tests hold the card to what it was told to do.
type device struct {
	agent string
	// answers: the code for each body-less request inside a dialog (0:
	// never answer); a method not listed gets 200.
	answers map[string]int
	// unknown200: 2xx for requests of dialogs it never had (else 481).
	unknown200 bool
	// minSE: 422 below it (0: any Session-Expires is taken).
	minSE int
	// refreshAfter: as refresher, UPDATE this long after answering.
	refreshAfter time.Duration
	allow        string
	// busy: every INVITE is answered 503.
	busy bool
	// noTimer: announces Supported: timer, answers without Session-Expires.
	noTimer bool
}

// start runs the device on a loopback port over UDP and returns its
// address.
func (d *device) start(t *testing.T, ctx context.Context) string {
	return d.startOn(t, ctx, "udp", nil)
}

// startOn runs the device over udp, tcp or tls (with conf).
func (d *device) startOn(t *testing.T, ctx context.Context, transport string, conf *tls.Config) string {
	t.Helper()
	var conn net.PacketConn
	var ln net.Listener
	var port int
	var err error
	if transport == "udp" {
		conn, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err == nil {
			port = conn.LocalAddr().(*net.UDPAddr).Port
		}
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err == nil {
			port = ln.Addr().(*net.TCPAddr).Port
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	ua, _ := sipgo.NewUA(sipgo.WithUserAgent(d.agent))
	t.Cleanup(func() { ua.Close() })
	srv, _ := sipgo.NewServer(ua)
	cli, _ := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientPort(port))
	contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "dev", Host: "127.0.0.1", Port: port}}
	if transport != "udp" {
		contact.Address.UriParams = sip.NewParams()
		contact.Address.UriParams.Add("transport", transport)
	}
	dialogs := sipgo.NewDialogServerCache(cli, contact)
	allow, server := sip.NewHeader("Allow", d.allow), sip.NewHeader("Server", d.agent)
	respond := func(tx sip.ServerTransaction, req *sip.Request, code int, hdrs ...sip.Header) {
		res := sip.NewResponseFromRequest(req, code, "", nil)
		res.AppendHeader(server)
		for _, h := range hdrs {
			res.AppendHeader(h)
		}
		tx.Respond(res)
	}
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		if tag, _ := req.To().Params.Get("tag"); tag != "" { // re-INVITE
			respond(tx, req, 200)
			return
		}
		if d.busy {
			respond(tx, req, 503)
			return
		}
		se, _ := sessionExpires(req)
		if d.minSE > 0 && se > 0 && se < d.minSE {
			respond(tx, req, 422, sip.NewHeader("Min-SE", strconv.Itoa(d.minSE)))
			return
		}
		dlg, err := dialogs.ReadInvite(req, tx)
		if err != nil {
			return
		}
		hdrs := []sip.Header{allow, server, sip.NewHeader("Content-Type", "application/sdp")}
		if d.noTimer {
			hdrs = append(hdrs, sip.NewHeader("Supported", "timer"))
			se = 0
		}
		if se > 0 {
			hdrs = append(hdrs, sip.NewHeader("Session-Expires", fmt.Sprintf("%d;refresher=uas", se)), sip.NewHeader("Require", "timer"))
		}
		sdp := []byte("v=0\r\no=dev 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n")
		if err := dlg.Respond(200, "OK", sdp, hdrs...); err != nil {
			return
		}
		if se > 0 && d.refreshAfter > 0 {
			go func() {
				time.Sleep(d.refreshAfter)
				upd := sip.NewRequest(sip.UPDATE, req.Contact().Address)
				upd.AppendHeader(sip.NewHeader("Session-Expires", fmt.Sprintf("%d;refresher=uas", se)))
				rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				defer cancel()
				dlg.Do(rctx, upd)
			}()
		}
		<-tx.Done()
	})
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { dialogs.ReadAck(req, tx) })
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if err := dialogs.ReadBye(req, tx); err != nil {
			respond(tx, req, 481)
		}
	})
	for _, m := range []sip.RequestMethod{sip.OPTIONS, sip.INFO, sip.UPDATE, sip.MESSAGE} {
		srv.OnRequest(m, func(req *sip.Request, tx sip.ServerTransaction) {
			if tag, _ := req.To().Params.Get("tag"); tag == "" { // outside a dialog
				respond(tx, req, 200, allow)
				return
			}
			if _, err := dialogs.MatchDialogRequest(req); err != nil {
				code := 481
				if d.unknown200 {
					code = 200
				}
				respond(tx, req, code)
				return
			}
			code, ok := d.answers[string(req.Method)]
			if !ok {
				code = 200
			}
			if code == 0 {
				return // never answered
			}
			respond(tx, req, code)
		})
	}
	switch transport {
	case "udp":
		serveUDP(srv, conn)
	case "tcp":
		go srv.ServeTCP(ln)
	case "tls":
		go srv.ServeTLS(tls.NewListener(ln, conf))
	}
	return fmt.Sprintf("127.0.0.1:%d", port)
}

// analyzeCapture runs the analysis on a capture the probe wrote.
func analyzeCapture(t *testing.T, pcap []byte) *analyze.Report {
	t.Helper()
	path := filepath.Join(t.TempDir(), "probe.pcap")
	if err := os.WriteFile(path, pcap, 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := capture.OpenMerge([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	rep, err := driver.Analyze(src, driver.Config{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func quickConfig(addr string) Config {
	return Config{Target: "sip:dev@" + addr, Transport: "udp", Local: "127.0.0.1:0", Gap: MinGap, CallGap: MinGap,
		StepTimeout: 1500 * time.Millisecond, TimerWait: 3 * time.Second}
}

// TestProbeCards runs the probe against devices told to behave in
// different ways; each expected card is written from what the device was
// told, not from the probe's output.
func TestProbeCards(t *testing.T) {
	cases := []struct {
		name      string
		dev       device
		inDialog  map[string]int // want: code per method (0: no answer)
		unknown   int            // want: code for an unknown dialog
		tooSmall  int
		refreshed bool
		advice    string
	}{
		{"healthy", device{agent: "Healthy/1.0", minSE: 90, refreshAfter: 300 * time.Millisecond, allow: "INVITE, ACK, BYE, OPTIONS, INFO, UPDATE, MESSAGE"},
			map[string]int{"OPTIONS": 200, "INFO": 200, "UPDATE": 200, "MESSAGE": 200}, 481, 422, true, "INFO"},
		{"update-501", device{agent: "NoUpdate/2.0", answers: map[string]int{"UPDATE": 501}, minSE: 90, allow: "INVITE, ACK, BYE, OPTIONS, INFO"},
			map[string]int{"OPTIONS": 200, "INFO": 200, "UPDATE": 501, "MESSAGE": 200}, 481, 422, false, "INFO"},
		{"info-405-blind", device{agent: "Blind/3.0", answers: map[string]int{"INFO": 405}, unknown200: true, allow: "INVITE, ACK, BYE, UPDATE"},
			map[string]int{"OPTIONS": 200, "INFO": 405, "UPDATE": 200, "MESSAGE": 200}, 200, 200, false, "UPDATE"},
		{"timer-announced-not-run", device{agent: "Boast/5.0", noTimer: true, allow: "INVITE, ACK, BYE, OPTIONS, INFO, UPDATE, MESSAGE"},
			map[string]int{"OPTIONS": 200, "INFO": 200, "UPDATE": 200, "MESSAGE": 200}, 481, 200, false, "INFO"},
		{"update-never", device{agent: "Mute/4.0", answers: map[string]int{"UPDATE": 0}, minSE: 120, allow: "INVITE, ACK, BYE, INFO, UPDATE"},
			map[string]int{"OPTIONS": 200, "INFO": 200, "UPDATE": 0, "MESSAGE": 200}, 481, 422, false, "INFO"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			addr := tc.dev.start(t, ctx)
			cfg := quickConfig(addr)
			var pcap bytes.Buffer
			trace, err := NewTrace(&pcap)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Tracer = trace
			card, err := Run(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if card.Stopped != "" {
				t.Fatalf("stopped: %s", card.Stopped)
			}
			for _, s := range card.Steps {
				if s.Error != "" {
					t.Errorf("%s %s not sent: %s", s.Kind, s.Method, s.Error)
				}
			}
			if card.Device.Agent != tc.dev.agent {
				t.Errorf("agent %q, want %q", card.Device.Agent, tc.dev.agent)
			}
			for m, want := range tc.inDialog {
				s := card.Step(StepInDialog, m)
				if s == nil || s.Code != want || (want == 0) != s.NoAnswer {
					t.Errorf("%s in the dialog: %+v, want %d", m, s, want)
				}
				u := card.Step(StepUnknownDialog, m)
				if u == nil || u.Code != tc.unknown {
					t.Errorf("%s for an unknown dialog: %+v, want %d", m, u, tc.unknown)
				}
			}
			if s := card.Step(StepTimerTooSmall, ""); s == nil || s.Code != tc.tooSmall || tc.tooSmall == 422 && s.MinSE != tc.dev.minSE {
				t.Errorf("too-small timer: %+v, want %d with Min-SE %d", s, tc.tooSmall, tc.dev.minSE)
			}
			refreshed := false
			for _, v := range card.Verdicts {
				refreshed = refreshed || v.Kind == VerdictRefreshes
			}
			if tc.dev.noTimer && !card.Has(VerdictTimerNotAsAnnounced) {
				t.Errorf("verdicts %+v: want the timer announced and not run", card.Verdicts)
			}
			if refreshed != tc.refreshed {
				t.Errorf("refreshed %v, want %v: %+v", refreshed, tc.refreshed, card.Verdicts)
			}
			if card.KeepAliveMethod != tc.advice {
				t.Errorf("advice %q, want %q", card.KeepAliveMethod, tc.advice)
			}
			if err := trace.Err(); err != nil {
				t.Fatalf("trace: %v", err)
			}
			for _, d := range Compare(card, analyzeCapture(t, pcap.Bytes())) {
				t.Errorf("the -w capture disagrees: %s", d)
			}
		})
	}
}

// TestProbeTransports runs the probe over TCP and TLS (a certificate made
// here, --insecure) against the healthy device.
func TestProbeTransports(t *testing.T) {
	for _, transport := range []string{"tcp", "tls"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			dev := device{agent: "Stream/1.0", minSE: 90, allow: "INVITE, ACK, BYE, OPTIONS, INFO, UPDATE, MESSAGE"}
			var conf *tls.Config
			if transport == "tls" {
				conf = selfSigned(t)
			}
			addr := dev.startOn(t, ctx, transport, conf)
			cfg := quickConfig(addr)
			cfg.Transport, cfg.Insecure, cfg.NoTimer = transport, true, true
			var pcap bytes.Buffer
			trace, _ := NewTrace(&pcap)
			cfg.Tracer = trace
			card, err := Run(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range KeepAliveMethods {
				if s := card.Step(StepInDialog, m); s == nil || s.Code != 200 {
					t.Errorf("%s in the dialog over %s: %+v", m, transport, s)
				}
				if s := card.Step(StepUnknownDialog, m); s == nil || s.Code != 481 {
					t.Errorf("%s for an unknown dialog over %s: %+v", m, transport, s)
				}
			}
			for _, d := range Compare(card, analyzeCapture(t, pcap.Bytes())) {
				t.Errorf("the -w capture over %s disagrees: %s", transport, d)
			}
		})
	}
}

// TestProbeStopsOnOverload: a device answering the call 503 ends the
// probe at once, with the reason on the card.
func TestProbeStopsOnOverload(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dev := device{agent: "Busy/1.0", busy: true}
	card, err := Run(ctx, quickConfig(dev.start(t, ctx)))
	if err != nil {
		t.Fatal(err)
	}
	if card.Stopped == "" || len(card.Steps) != 2 || card.Steps[1].Code != 503 {
		t.Errorf("card: stopped %q after %+v", card.Stopped, card.Steps)
	}
}

// selfSigned makes a TLS server configuration for 127.0.0.1.
func selfSigned(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "device"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// FuzzDeviceFields: what the probe reads of a device's messages
// (Session-Expires, a number header, an SDP's audio address) never panics,
// whatever the bytes.
func FuzzDeviceFields(f *testing.F) {
	f.Add("90;refresher=uac", "v=0\r\nc=IN IP4 192.0.2.5\r\nm=audio 4000 RTP/AVP 0\r\n")
	f.Add(";;refresher=", "m=audio\nc=IN")
	f.Add("x", "c=IN IP4\r\nm=audio 99999999999999999999 RTP/AVP")
	f.Fuzz(func(t *testing.T, expires, sdp string) {
		res := sip.NewResponse(200, "OK")
		res.AppendHeader(sip.NewHeader("Session-Expires", expires))
		res.AppendHeader(sip.NewHeader("Min-SE", expires))
		res.SetBody([]byte(sdp))
		sessionExpires(res)
		intHeader(res, "Min-SE")
		audioAddr(sdp)
	})
}
