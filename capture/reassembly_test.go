package capture

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// wire drives the reassembler segment by segment, as the decoder does,
// and keeps the SIP messages it frames.
type wire struct {
	d    *Decoder
	msgs []string
	at   []time.Time
}

func newWire() *wire {
	w := &wire{}
	w.d = NewDecoder(func(m *Message) {
		if m.Kind == SIP {
			w.msgs = append(w.msgs, string(m.Payload))
			w.at = append(w.at, m.Time)
		}
	})
	w.d.now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return w
}

// seg sends one segment at the current time, as the next packet.
func (w *wire) seg(src, dst netip.AddrPort, seq uint32, flags uint8, payload string) {
	w.d.packet++
	w.d.Stats.TCPSegments++
	w.d.segment(src, dst, seq, flags, []byte(payload))
}

// wait moves capture time on, running the decoder's housekeeping.
func (w *wire) wait(d time.Duration) {
	w.d.now = w.d.now.Add(d)
	w.d.tick(w.d.now.UnixNano())
}

var (
	ua = netip.MustParseAddrPort("192.0.2.1:5060")
	ub = netip.MustParseAddrPort("192.0.2.2:5060")
)

func sipMessage(n int) string {
	return fmt.Sprintf("OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bKr%d\r\nCall-ID: r-%d\r\nCSeq: %d OPTIONS\r\nContent-Length: 0\r\n\r\n", n, n, n)
}

func TestReassembly(t *testing.T) {
	m1, m2, m3 := sipMessage(1), sipMessage(2), sipMessage(3)
	const isn = 4294967000 // the sequence numbers wrap inside the stream
	for _, tc := range []struct {
		name string
		run  func(w *wire)
		want []string
		// Stats after the input's end
		missing, incomplete, streams, evicted uint64
	}{
		{name: "in order with a handshake", run: func(w *wire) {
			w.seg(ua, ub, isn-1, tcpSYN, "")
			w.seg(ub, ua, 9, tcpSYN, "")
			w.seg(ua, ub, isn, 0, m1)
			w.seg(ua, ub, isn+uint32(len(m1)), 0, m2)
		}, want: []string{m1, m2}, streams: 1},
		{name: "reordered across the wrap", run: func(w *wire) {
			w.seg(ua, ub, isn, 0, m1[:40])
			w.seg(ua, ub, isn+80, 0, m1[80:]+m2)
			w.seg(ua, ub, isn+40, 0, m1[40:80])
		}, want: []string{m1, m2}, streams: 1},
		{name: "retransmitted and overlapping", run: func(w *wire) {
			w.seg(ua, ub, 1, 0, m1[:60])
			w.seg(ua, ub, 1, 0, m1[:60])
			w.seg(ua, ub, 31, 0, m1[30:]+m2[:10])
			w.seg(ua, ub, 11+uint32(len(m1)), 0, m2[10:])
		}, want: []string{m1, m2}, streams: 1},
		{name: "a held segment retransmitted", run: func(w *wire) {
			w.seg(ua, ub, 1, 0, m1[:50])
			w.seg(ua, ub, 71, 0, m1[70:])
			w.seg(ua, ub, 71, 0, m1[70:])
			w.seg(ua, ub, 51, 0, m1[50:70])
		}, want: []string{m1}, streams: 1},
		{name: "gap given up after its timeout", run: func(w *wire) {
			w.seg(ua, ub, 1, 0, m1[:50])
			w.seg(ua, ub, 1+uint32(len(m1)), 0, m2)
			w.wait(time.Second)
			w.wait(gapTimeout)
			w.seg(ua, ub, 1+uint32(len(m1)+len(m2)), 0, m3)
		}, want: []string{m2, m3}, missing: uint64(len(m1) - 50), incomplete: 1, streams: 1},
		{name: "gap given up at the end", run: func(w *wire) {
			w.seg(ua, ub, 1, 0, m1[:50])
			w.seg(ua, ub, 1+uint32(len(m1)), 0, m2)
		}, want: []string{m2}, missing: uint64(len(m1) - 50), incomplete: 1, streams: 1},
		{name: "FIN ahead of the data it ends", run: func(w *wire) {
			w.seg(ua, ub, 1, 0, m1[:50])
			w.seg(ua, ub, 1+uint32(len(m1)), tcpFIN, "")
			w.seg(ua, ub, 51, 0, m1[50:])
			w.seg(ua, ub, 1+uint32(len(m1)), 0, m2) // after the FIN: not stream data
		}, want: []string{m1}, streams: 1},
		{name: "late retransmission after the close", run: func(w *wire) {
			w.seg(ua, ub, 1, tcpFIN, m1)
			w.seg(ub, ua, 1, tcpFIN, "")
			w.wait(10 * time.Second)
			w.seg(ua, ub, 1, tcpFIN, m1)
		}, want: []string{m1}, streams: 1},
		{name: "SYN opens a closed 4-tuple again", run: func(w *wire) {
			w.seg(ua, ub, 1, tcpFIN, m1)
			w.seg(ub, ua, 1, tcpFIN, "")
			w.seg(ua, ub, 500, tcpSYN, "")
			w.seg(ua, ub, 501, 0, m2)
		}, want: []string{m1, m2}, streams: 2},
		{name: "RST ends both directions", run: func(w *wire) {
			w.seg(ua, ub, 1, 0, m1[:50])
			w.seg(ub, ua, 1, 0, m2[:40])
			w.seg(ub, ua, 41, tcpRST, "")
			w.seg(ua, ub, 51, 0, m1[50:])
		}, want: nil, incomplete: 2, streams: 1},
		{name: "RST out of window ignored", run: func(w *wire) {
			w.seg(ua, ub, 1, 0, m1[:50])
			w.seg(ua, ub, 10, tcpRST, "")
			w.seg(ua, ub, 900, tcpRST, "")
			w.seg(ua, ub, 51, 0, m1[50:])
		}, want: []string{m1}, streams: 1},
		{name: "mid-stream start", run: func(w *wire) {
			w.seg(ua, ub, 77, 0, m1[40:]+m2)
		}, want: []string{m2}, streams: 1},
		{name: "idle connection closed", run: func(w *wire) {
			w.seg(ua, ub, 1, 0, m1[:50])
			w.wait(idleTimeout + time.Second)
			w.seg(ua, ub, 51, 0, m1[50:]+m2) // taken as a new connection, mid-stream
		}, want: []string{m2}, incomplete: 1, streams: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWire()
			tc.run(w)
			w.d.Flush()
			st := w.d.Stats
			if strings.Join(w.msgs, "|") != strings.Join(tc.want, "|") {
				t.Errorf("messages\n%q\nwant\n%q", w.msgs, tc.want)
			}
			if st.TCPBytesMissing != tc.missing || st.TCPIncompleteSIP != tc.incomplete || st.TCPStreams != tc.streams || st.TCPStreamsEvicted != tc.evicted {
				t.Errorf("missing %d incomplete %d streams %d evicted %d, want %d %d %d %d",
					st.TCPBytesMissing, st.TCPIncompleteSIP, st.TCPStreams, st.TCPStreamsEvicted,
					tc.missing, tc.incomplete, tc.streams, tc.evicted)
			}
			if s := w.d.streams; s != nil && (s.count != 0 || len(s.conns) != 0 || s.held != 0) {
				t.Errorf("after the end: %d streams, %d keys, %d bytes held", s.count, len(s.conns), s.held)
			}
		})
	}
}

// TestReassemblyBounds: the connection table and the bytes held out of
// order stay within their caps, whatever the input.
func TestReassemblyBounds(t *testing.T) {
	w := newWire()
	for i := range maxStreams + 10 {
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 5060)
		w.seg(src, ub, 1, 0, "x")
	}
	s := w.d.streams
	if s.count != maxStreams || len(s.conns) != 2*maxStreams || w.d.Stats.TCPStreamsEvicted != 10 {
		t.Errorf("%d streams, %d keys, %d evicted; want %d, %d, 10", s.count, len(s.conns), w.d.Stats.TCPStreamsEvicted, maxStreams, 2*maxStreams)
	}

	// One stream holds segments behind a gap that never fills: past the
	// cap it gives the gap up rather than hold more.
	w = newWire()
	w.seg(ua, ub, 1, 0, "x")
	chunk := strings.Repeat("y", 1000)
	for i := range 2 * maxHeldPerStream / len(chunk) {
		w.seg(ua, ub, uint32(100+i*len(chunk)), 0, chunk)
		if held := w.d.streams.held; held > maxHeldPerStream {
			t.Fatalf("segment %d: %d bytes held, cap %d", i, held, maxHeldPerStream)
		}
	}
	if w.d.Stats.TCPBytesMissing != 98 {
		t.Errorf("%d bytes missing, want the 98 of the gap", w.d.Stats.TCPBytesMissing)
	}
}

// TestReassemblyReleasedAsOfTheSegment: bytes released when a gap is given
// up carry the time of the segment that brought them, not of the release.
func TestReassemblyReleasedAsOfTheSegment(t *testing.T) {
	w := newWire()
	m1, m2 := sipMessage(1), sipMessage(2)
	w.seg(ua, ub, 1, 0, m1[:50])
	sent := w.d.now
	w.seg(ua, ub, 1+uint32(len(m1)), 0, m2)
	for range 5 {
		w.wait(time.Second)
	}
	if len(w.msgs) != 1 || w.msgs[0] != m2 || !w.at[0].Equal(sent) {
		t.Errorf("released %q at %v, want the second message at %v", w.msgs, w.at, sent)
	}
}

// FuzzReassembly feeds segments cut from one SIP stream, each direction's
// in any order, with any flags, repeated or overlapping, and with time
// passing: no panic, the held bytes within their caps, and nothing left
// in the table after the end.
func FuzzReassembly(f *testing.F) {
	f.Add([]byte{0, 0, 40, 0, 40, 40, 0, 0, 80, 60, 1, 2})
	f.Add([]byte{2, 0, 0, 1, 0, 30, 5, 7, 200, 100, 9, 4, 0, 255, 1})
	stream := strings.Repeat(sipMessage(1)+sipMessage(2), 3)
	f.Fuzz(func(t *testing.T, ops []byte) {
		w := newWire()
		for len(ops) >= 4 {
			op, start, n, wait := ops[0], int(ops[1])*4, int(ops[2]), ops[3]
			ops = ops[4:]
			src, dst := ua, ub
			if op&0x80 != 0 {
				src, dst = ub, ua
			}
			start = min(start, len(stream))
			end := min(start+n, len(stream))
			w.seg(src, dst, 1000+uint32(start), op&(tcpFIN|tcpSYN|tcpRST), stream[start:end])
			if wait > 0 {
				w.wait(time.Duration(wait) * 100 * time.Millisecond)
			}
			if s := w.d.streams; s != nil && s.held > maxHeldTotal {
				t.Fatalf("%d bytes held", s.held)
			}
		}
		w.d.Flush()
		if s := w.d.streams; s != nil && (s.count != 0 || len(s.conns) != 0 || s.held != 0) {
			t.Errorf("after the end: %d streams, %d keys, %d bytes held", s.count, len(s.conns), s.held)
		}
	})
}
