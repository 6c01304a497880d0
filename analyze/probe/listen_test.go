package probe

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// caller is a SIP user agent on sipgo that calls the probe and sends INFO
// keep-alives every interval; told to, it hangs up on a 481.
type caller struct {
	agent     string
	every     time.Duration
	byeOn481  bool
	keepAlive sip.RequestMethod
}

// call places count calls to the probe at addr, one after another, each
// until the probe or the caller ends it.
func (d *caller) call(t *testing.T, ctx context.Context, addr string, count int) {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Error(err)
		return
	}
	port := conn.LocalAddr().(*net.UDPAddr).Port
	ua, _ := sipgo.NewUA(sipgo.WithUserAgent(d.agent))
	defer ua.Close()
	srv, _ := sipgo.NewServer(ua)
	cli, _ := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientPort(port), sipgo.WithClientConnectionAddr(conn.LocalAddr().String()))
	contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "dev", Host: "127.0.0.1", Port: port}}
	dialogs := sipgo.NewDialogClientCache(cli, contact)
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) { dialogs.ReadBye(req, tx) })
	serveUDP(srv, conn)
	var target sip.Uri
	sip.ParseUri("sip:probe@"+addr, &target)
	for range count {
		sess, err := dialogs.Invite(ctx, target, []byte("v=0\r\no=dev 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40002 RTP/AVP 0\r\n"),
			sip.NewHeader("Content-Type", "application/sdp"), sip.NewHeader("User-Agent", d.agent))
		if err != nil {
			t.Error(err)
			return
		}
		if err := sess.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
			t.Error(err)
			return
		}
		sess.Ack(ctx)
		for sess.LoadState() != sip.DialogStateEnded && ctx.Err() == nil {
			time.Sleep(d.every)
			if sess.LoadState() == sip.DialogStateEnded {
				break
			}
			rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			res, err := sess.Do(rctx, sip.NewRequest(d.keepAlive, sess.InviteResponse.Contact().Address))
			cancel()
			if err == nil && res.StatusCode == 481 && d.byeOn481 {
				bctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				sess.Bye(bctx)
				cancel()
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestListenCards: a device calls the probe twice; its keep-alives get
// 200 in the first call and 481 in the second. The expected reactions
// are what each caller was told to do.
func TestListenCards(t *testing.T) {
	cases := []struct {
		name  string
		dev   caller
		react []Reaction
		good  []bool
	}{
		{"hangs-up-on-481", caller{agent: "Polite/1.0", every: 300 * time.Millisecond, byeOn481: true, keepAlive: sip.INFO},
			[]Reaction{ReactionKeepsOn, ReactionHangUp}, []bool{true, true}},
		{"ignores-481", caller{agent: "Stubborn/1.0", every: 300 * time.Millisecond, keepAlive: sip.OPTIONS},
			[]Reaction{ReactionKeepsOn, ReactionKeepsOn}, []bool{true, false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			pc, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := pc.LocalAddr().String()
			pc.Close()
			var pcap bytes.Buffer
			trace, _ := NewTrace(&pcap)
			done := make(chan struct{})
			go func() {
				defer close(done)
				time.Sleep(300 * time.Millisecond) // the probe listening
				tc.dev.call(t, ctx, addr, 2)
			}()
			card, err := Listen(ctx, ListenConfig{Addr: addr, Transport: "udp", Answers: []int{200, 481}, Watch: 2 * time.Second, Wait: 20 * time.Second, Tracer: trace, RTP: "silence"})
			if err != nil {
				t.Fatal(err)
			}
			<-done
			if card.Device.Agent != tc.dev.agent || len(card.Calls) != 2 {
				t.Fatalf("card: agent %q, %d calls", card.Device.Agent, len(card.Calls))
			}
			var got []Verdict
			for _, v := range card.Verdicts {
				if v.Kind == VerdictReaction {
					got = append(got, v)
				}
			}
			if len(got) != 2 {
				t.Fatalf("reaction verdicts %+v", card.Verdicts)
			}
			for i, v := range got {
				if v.Reaction != tc.react[i] || v.Good != tc.good[i] || v.Method != string(tc.dev.keepAlive) {
					t.Errorf("call %d: %+v, want %s good=%v", i+1, v, tc.react[i], tc.good[i])
				}
			}
			for _, d := range Compare(card, analyzeCapture(t, pcap.Bytes())) {
				t.Errorf("the -w capture disagrees: %s", d)
			}
		})
	}
}
