package capture

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/reassembly"

	"github.com/sipalive/sipalive/capture/sip"
)

// TCP timing on capture time: data waiting behind a sequence gap is pushed
// through after gapTimeout (the missing bytes were not captured); a
// connection silent for idleTimeout is closed.
const (
	gapTimeout  = 2 * time.Second
	idleTimeout = 10 * time.Minute
)

// invalidSequence is the next sequence number the assembler gives a
// stream half before its first segment.
const invalidSequence reassembly.Sequence = -1

// contextRing is how many segment contexts are kept for segments the
// assembler buffers out of order. Reusing them keeps the per-segment path
// free of allocation; a segment buffered longer than this many packets is
// credited to a later packet index, which only affects the frame list.
const contextRing = 4096

// segmentContext carries a segment's capture time and packet index through
// the assembler.
type segmentContext struct {
	ci     gopacket.CaptureInfo
	packet uint64
}

func (c *segmentContext) GetCaptureInfo() gopacket.CaptureInfo { return c.ci }

// streams feeds TCP segments to gopacket's reassembly, which orders them,
// drops retransmitted and overlapping bytes and reports gaps, and frames SIP
// messages out of each direction's byte stream.
type streams struct {
	d         *Decoder
	opened    int // connections the assembler made: something may wait for a flush
	lastFlush time.Time
	held      bool // a segment came ahead of its stream since the last flush: the assembler holds it
	quiet     int  // flushes since the last one that followed such a segment
	pool      *reassembly.StreamPool
	asm       *reassembly.Assembler
	ctx       []segmentContext
	next      int
}

func newStreams(d *Decoder) *streams {
	s := &streams{d: d, ctx: make([]segmentContext, contextRing)}
	s.pool = reassembly.NewStreamPool(s)
	s.asm = reassembly.NewAssembler(s.pool)
	// bound what one connection may hold back behind a gap
	s.asm.MaxBufferedPagesPerConnection = 256
	s.asm.MaxBufferedPagesTotal = 65536
	return s
}

// segment hands the decoded TCP layer to the assembler.
func (d *Decoder) segment(ipv int) {
	if d.streams == nil {
		d.streams = newStreams(d)
	}
	s := d.streams
	c := &s.ctx[s.next]
	s.next = (s.next + 1) % len(s.ctx)
	c.ci.Timestamp, c.packet = d.now, d.packet
	var flow gopacket.Flow
	if ipv == 4 {
		flow = d.ip4.NetworkFlow()
	} else {
		flow = d.ip6.NetworkFlow()
	}
	s.asm.AssembleWithContext(flow, &d.tcp, c)
}

// flushDue reports whether a flush at now could release anything. Each
// flush walks the assembler's whole connection table (gopacket sizes it for
// a thousand connections), which on a long capture adds up. Only a segment
// that came ahead of its stream's next sequence number is held, and what is
// held behind a gap is released by the second flush after it came (the
// flush interval is longer than the gap timeout); otherwise a flush can only
// close idle connections, for which once a minute is soon enough.
func (s *streams) flushDue(now time.Time) bool {
	switch {
	case s.held:
		s.held, s.quiet = false, 0
		return true
	case s.quiet < 1:
		s.quiet++
		return true
	}
	return now.Sub(s.lastFlush) >= time.Minute
}

func (s *streams) expire(now time.Time) {
	s.asm.FlushWithOptions(reassembly.FlushOptions{T: now.Add(-gapTimeout), TC: now.Add(-idleTimeout)})
}

func (s *streams) flushAll() { s.asm.FlushAll() }

// New is called by the assembler for each new connection.
func (s *streams) New(netFlow, tcpFlow gopacket.Flow, tcp *layers.TCP, ac reassembly.AssemblerContext) reassembly.Stream {
	s.opened++
	src := endpoint(netFlow.Src(), tcpFlow.Src())
	dst := endpoint(netFlow.Dst(), tcpFlow.Dst())
	st := &stream{s: s}
	st.half[0] = halfStream{src: src, dst: dst}
	st.half[1] = halfStream{src: dst, dst: src}
	return st
}

func endpoint(ip, port gopacket.Endpoint) netip.AddrPort {
	a, _ := netip.AddrFromSlice(ip.Raw())
	var p uint16
	if raw := port.Raw(); len(raw) == 2 {
		p = binary.BigEndian.Uint16(raw)
	}
	return netip.AddrPortFrom(a.Unmap(), p)
}

// stream is one TCP connection; half[0] is the direction of its first
// segment.
type stream struct {
	s       *streams
	half    [2]halfStream
	tls     bool
	counted bool // in Stats.TCPStreams: it carried data (the assembler also makes a connection of the last ACK after a close)
}

// halfStream is one direction's byte stream waiting to be framed.
type halfStream struct {
	src, dst netip.AddrPort
	buf      []byte
	frames   []uint64
	seen     bool // any byte seen yet
	hep      bool // HEP3 packets, not SIP: a capture agent sending to a collector over TCP
	framer   sip.Framer
	ws       wsState
}

func (st *stream) Accept(tcp *layers.TCP, ci gopacket.CaptureInfo, dir reassembly.TCPFlowDirection, nextSeq reassembly.Sequence, start *bool, ac reassembly.AssemblerContext) bool {
	// A capture that starts mid-connection has no SYN: take the stream
	// from its first segment and resynchronise on the next start line.
	*start = true
	if nextSeq != invalidSequence && nextSeq.Difference(reassembly.Sequence(tcp.Seq)) > 0 {
		st.s.held = true // after a gap: buffered until the gap fills or times out
	}
	return true
}

func (st *stream) ReassembledSG(sg reassembly.ScatterGather, ac reassembly.AssemblerContext) {
	dir, _, _, skip := sg.Info()
	n, _ := sg.Lengths()
	h := &st.half[0]
	if dir == reassembly.TCPDirServerToClient {
		h = &st.half[1]
	}
	stats := &st.s.d.Stats
	if skip > 0 {
		// bytes never captured: what was buffered cannot complete
		stats.TCPBytesMissing += uint64(skip)
		st.abandon(h)
		h.buf, h.frames = h.buf[:0], h.frames[:0]
		h.framer.Reset()
		h.ws.lost()
	}
	if n == 0 {
		return
	}
	data := sg.Fetch(n)
	if !st.counted {
		st.counted = true
		stats.TCPStreams++
	}
	c, _ := ac.(*segmentContext)
	var now time.Time
	var packet uint64
	if c != nil {
		now, packet = c.ci.Timestamp, c.packet
	}
	if !h.seen {
		h.seen = true
		if isTLSRecord(data) {
			if !st.tls {
				st.tls = true
				stats.TLSStreams++
			}
		} else if isWebSocketUpgrade(data) {
			h.ws.upgrading = true
			st.half[0].ws.enabled, st.half[1].ws.enabled = true, true
			stats.WSStreams++
		} else if bytes.HasPrefix(data, hep3) {
			h.hep = true
			stats.HEPStreams++
		}
	}
	if st.tls {
		return
	}
	if len(h.frames) == 0 || h.frames[len(h.frames)-1] != packet {
		h.frames = append(h.frames, packet)
	}
	if h.ws.enabled {
		st.webSocket(h, data, now)
		return
	}
	if h.hep {
		h.buf = append(h.buf, data...)
		st.frameHEP(h, now)
		return
	}
	if len(h.buf) == 0 {
		// Nothing waits from earlier segments: the messages are framed
		// straight out of the segment, whose bytes (in order, one piece)
		// are the packet's own, so a pipeline that holds the packet's
		// read block keeps them without a copy; only a partial message
		// left at the end is buffered.
		n := st.frame(h, data, TCP, now)
		h.buf = append(h.buf, data[n:]...)
		h.framed(len(h.buf))
		return
	}
	h.buf = append(h.buf, data...)
	h.consume(st.frame(h, h.buf, TCP, now))
}

// frameHEP cuts every whole HEP3 packet off the front of h.buf (each
// gives its length) and emits the SIP message it carries, as a datagram's
// HEP is read. After a gap it resynchronises on the next "HEP3".
func (st *stream) frameHEP(h *halfStream, now time.Time) {
	d := st.s.d
	off := 0
	for len(h.buf)-off >= 6 {
		p := h.buf[off:]
		if !bytes.HasPrefix(p, hep3) {
			skip := bytes.Index(p[1:], hep3) + 1
			if skip == 0 {
				skip = len(p) - len(hep3) + 1 // a "HEP3" may yet begin in the last bytes
			}
			d.Stats.TCPBytesSkipped += uint64(skip)
			off += skip
			continue
		}
		total := int(binary.BigEndian.Uint16(p[4:6]))
		if total < 6 {
			d.Stats.TCPBytesSkipped += uint64(len(hep3))
			off += len(hep3)
			continue
		}
		if total > len(p) {
			break // the rest is in segments to come
		}
		off += total
		hp, ok := parseHEP3(p[:total])
		inner := trimLeadingCRLF(hp.payload)
		if !ok || !sip.IsStart(inner) {
			d.Stats.TCPBytesSkipped += uint64(total)
			continue
		}
		at := now
		if !hp.time.IsZero() {
			at = hp.time
		}
		d.Stats.TCPHEPMessages++
		d.Emit(d.message(SIP, at, hp.src, hp.dst, hp.transport(), inner, h.frames))
	}
	h.consume(off)
}

// frame emits every whole message at the front of b, the direction's
// byte stream from where framing stopped, and returns how many bytes it
// framed.
func (st *stream) frame(h *halfStream, b []byte, t Transport, now time.Time) int {
	d := st.s.d
	off := 0
	for off < len(b) {
		k, n := h.framer.Next(b[off:])
		if k == sip.FramePartial {
			break
		}
		switch k {
		case sip.FrameMessage:
			d.Stats.TCPMessages++
			st.emit(h, SIP, t, b[off:off+n], now)
		case sip.FrameKeepAlive:
			d.Stats.TCPKeepAlives++
			st.emit(h, NATKeepAlive, t, b[off:off+n], now)
		case sip.FrameGarbage:
			d.Stats.TCPBytesSkipped += uint64(n)
		}
		off += n
	}
	return off
}

// consume drops the first n bytes of h.buf, which were framed.
func (h *halfStream) consume(n int) {
	if n == 0 {
		return
	}
	rest := copy(h.buf, h.buf[n:])
	h.buf = h.buf[:rest]
	h.framed(rest)
}

// framed keeps the frames of what is left to frame, rest bytes: none, or
// the latest segment's, where the partial message left began.
func (h *halfStream) framed(rest int) {
	if rest == 0 {
		h.frames = h.frames[:0]
	} else if len(h.frames) > 1 {
		h.frames[0] = h.frames[len(h.frames)-1]
		h.frames = h.frames[:1]
	}
}

func (st *stream) emit(h *halfStream, k Kind, t Transport, payload []byte, now time.Time) {
	d := st.s.d
	d.Emit(d.message(k, now, h.src, h.dst, t, payload, h.frames))
}

func (st *stream) ReassemblyComplete(ac reassembly.AssemblerContext) bool {
	for i := range st.half {
		h := &st.half[i]
		st.abandon(h)
		h.buf = nil
	}
	return true
}

// abandon counts what is left in h.buf when no more bytes can complete it
// (a gap in the capture, the stream's or the capture's end): the start of
// a SIP message that never completed is incomplete SIP, not bytes that
// were not SIP.
func (st *stream) abandon(h *halfStream) {
	if len(h.buf) == 0 {
		return
	}
	stats := &st.s.d.Stats
	if !h.hep && !h.ws.enabled && sip.IsStart(trimLeadingCRLF(h.buf)) {
		stats.TCPIncompleteSIP++
		return
	}
	stats.TCPBytesSkipped += uint64(len(h.buf))
}

// isTLSRecord recognises a TLS record header: content type 20-23
// (change cipher spec, alert, handshake, application data) and version
// 3.x. A capture that starts mid-session (SIP over TLS on 5061) begins
// with application data, not a handshake.
func isTLSRecord(b []byte) bool {
	return len(b) >= 5 && b[0] >= 0x14 && b[0] <= 0x17 && b[1] == 0x03 && b[2] <= 0x04
}
