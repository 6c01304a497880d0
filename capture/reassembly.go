package capture

import (
	"net/netip"
	"time"

	"github.com/sipalive/sipalive/capture/sip"
)

// TCP reassembly: each direction of a connection is put back in sequence
// order, retransmitted and overlapping bytes are taken once, data behind a
// sequence gap waits for the missing bytes and is pushed through when they
// were not captured. It is written for this decoder rather than taken from
// gopacket's reassembly package, which cost about 270 ns a segment (a
// connection lookup under locks, a scatter-gather list and page bookkeeping
// even for the in-order segment that makes up nearly all SIP traffic);
// here an in-order segment is one map lookup and goes straight to framing.

// TCP timing on capture time: data waiting behind a sequence gap is pushed
// through after gapTimeout (the missing bytes were not captured); an open
// connection silent for idleTimeout is closed; a closed one is remembered
// for closedLinger, so that its late segments (a retransmitted FIN, the
// last ACK) are dropped rather than taken for a new connection.
const (
	gapTimeout   = 2 * time.Second
	idleTimeout  = 10 * time.Minute
	closedLinger = time.Minute
)

// Bounds on reassembly state. Past maxStreams connections the least
// recently seen one is dropped (counted in Stats.TCPStreamsEvicted; a later
// segment of it starts it again, mid-stream). Bytes held out of order past
// either cap make the stream give up waiting for its first gap.
const (
	maxStreams       = 1 << 16
	maxHeldPerStream = 512 << 10
	maxHeldTotal     = 16 << 20
)

// TCP header flags the reassembler reads (RFC 9293, 3.1).
const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
)

// flowKey is one direction of a connection; the table holds a key for each.
type flowKey struct{ src, dst netip.AddrPort }

// streams is the table of TCP connections being reassembled.
type streams struct {
	d      *Decoder
	conns  map[flowKey]*stream
	open   streamList // by last segment, most recent first
	closed streamList // by the time they closed, most recent first
	count  int        // streams in both lists
	held   int        // bytes held out of order, all streams
	gaps   []*stream  // streams that held bytes out of order when listed
}

func newStreams(d *Decoder) *streams {
	return &streams{d: d, conns: make(map[flowKey]*stream)}
}

// stream is one TCP connection; half[0] is the direction of its first
// segment.
type stream struct {
	s            *streams
	half         [2]halfStream
	newer, older *stream // in s.open or s.closed
	last         int64   // Unix nanoseconds: the last segment, or the close once closed
	done         bool    // both directions closed: in s.closed
	listed       bool    // in s.gaps
	tls          bool
	counted      bool // in Stats.TCPStreams: it carried data
}

// halfStream is one direction of a connection: where its sequence stands,
// what it holds out of order, and its bytes waiting to be framed.
type halfStream struct {
	src, dst netip.AddrPort
	next     uint32 // the next sequence number in order
	finAt    uint32 // where a FIN seen ahead of next ends the direction
	started  bool   // next is known
	fin      bool   // finAt is set
	closed   bool
	queue    []heldSegment // out of order, by sequence number from next
	held     int           // bytes in queue

	buf    []byte
	frames []uint64
	seen   bool // any byte seen yet
	hep    bool // HEP3 packets, not SIP: a capture agent sending to a collector over TCP
	framer sip.Framer
	ws     wsState
}

// heldSegment is a segment that came ahead of its direction's next
// sequence number, copied out of its packet.
type heldSegment struct {
	seq    uint32
	at     time.Time
	packet uint64
	data   []byte
}

// streamList is a doubly linked list of streams through their newer and
// older links.
type streamList struct{ newest, oldest *stream }

func (l *streamList) pushNewest(st *stream) {
	st.newer, st.older = nil, l.newest
	if l.newest != nil {
		l.newest.newer = st
	} else {
		l.oldest = st
	}
	l.newest = st
}

func (l *streamList) remove(st *stream) {
	if st.newer != nil {
		st.newer.older = st.older
	} else {
		l.newest = st.older
	}
	if st.older != nil {
		st.older.newer = st.newer
	} else {
		l.oldest = st.newer
	}
	st.newer, st.older = nil, nil
}

// segment reassembles one TCP segment.
func (d *Decoder) segment(src, dst netip.AddrPort, seq uint32, flags uint8, payload []byte) {
	if d.streams == nil {
		d.streams = newStreams(d)
	}
	d.streams.add(src, dst, seq, flags, payload)
}

func (s *streams) add(src, dst netip.AddrPort, seq uint32, flags uint8, payload []byte) {
	now := s.d.now.UnixNano()
	st := s.conns[flowKey{src, dst}]
	if st != nil && st.done {
		if flags&tcpSYN == 0 {
			return // a late segment of a closed connection
		}
		s.drop(st) // the 4-tuple is used again
		st = nil
	}
	if st == nil {
		if len(payload) == 0 && flags&tcpSYN == 0 {
			return // an ACK, FIN or RST of a connection not followed: nothing to read
		}
		st = s.start(src, dst)
	}
	h := &st.half[0]
	if src != h.src {
		h = &st.half[1]
	}
	st.last = now
	if st != s.open.newest {
		s.open.remove(st)
		s.open.pushNewest(st)
	}
	if h.closed {
		return
	}
	if !h.started {
		// A capture that starts mid-connection has no SYN: the stream is
		// taken from its first segment and framing resynchronises on the
		// next start line.
		h.started = true
		if flags&tcpSYN != 0 {
			seq++ // the SYN takes a sequence number
		}
		h.next = seq
	} else if flags&tcpSYN != 0 {
		return // RFC 5961: a SYN on a synchronised direction carries no stream data
	}
	if ahead := int32(seq - h.next); ahead > 0 {
		switch {
		case flags&tcpRST != 0:
			return // RFC 5961: a RST not at the next sequence number is dropped
		case flags&tcpFIN != 0:
			h.fin, h.finAt = true, seq+uint32(len(payload))
		}
		if len(payload) > 0 {
			st.hold(h, seq, payload)
		}
		return
	} else if ahead < 0 {
		behind := int(-ahead)
		if flags&tcpRST != 0 || (flags&tcpFIN != 0 && behind > len(payload)) {
			return // out of window: the receiver drops it
		}
		payload = payload[min(behind, len(payload)):] // bytes already taken
	}
	if len(payload) > 0 {
		h.next += uint32(len(payload))
		st.deliver(h, payload, s.d.now, s.d.packet)
	}
	st.drain(h, s.d.now, s.d.packet)
	switch {
	case flags&tcpRST != 0:
		st.closeHalf(&st.half[0])
		st.closeHalf(&st.half[1])
	case flags&tcpFIN != 0:
		st.closeHalf(h)
	}
}

// start puts a new connection in the table, dropping the least recently
// seen one when it is full.
func (s *streams) start(src, dst netip.AddrPort) *stream {
	if s.count >= maxStreams {
		old := s.closed.oldest
		if old == nil {
			old = s.open.oldest
			old.flush()
		}
		s.d.Stats.TCPStreamsEvicted++
		s.drop(old)
	}
	st := &stream{s: s}
	st.half[0].src, st.half[0].dst = src, dst
	st.half[1].src, st.half[1].dst = dst, src
	s.conns[flowKey{src, dst}] = st
	s.conns[flowKey{dst, src}] = st
	s.open.pushNewest(st)
	s.count++
	return st
}

// drop takes a stream out of the table.
func (s *streams) drop(st *stream) {
	if st.done {
		s.closed.remove(st)
	} else {
		s.open.remove(st)
	}
	delete(s.conns, flowKey{st.half[0].src, st.half[0].dst})
	delete(s.conns, flowKey{st.half[1].src, st.half[1].dst})
	s.count--
}

func (st *stream) other(h *halfStream) *halfStream {
	if h == &st.half[0] {
		return &st.half[1]
	}
	return &st.half[0]
}

// hold keeps a copy of a segment that came ahead of the next sequence
// number, in order, until the bytes before it come or are given up.
func (st *stream) hold(h *halfStream, seq uint32, data []byte) {
	off := seq - h.next
	i := len(h.queue)
	for i > 0 && h.queue[i-1].seq-h.next > off {
		i--
	}
	if i > 0 && h.queue[i-1].seq == seq && len(h.queue[i-1].data) >= len(data) {
		return // a retransmission of a segment already held
	}
	h.queue = append(h.queue, heldSegment{})
	copy(h.queue[i+1:], h.queue[i:])
	h.queue[i] = heldSegment{seq: seq, at: st.s.d.now, packet: st.s.d.packet, data: append([]byte(nil), data...)}
	h.held += len(data)
	st.s.held += len(data)
	if !st.listed {
		st.listed = true
		st.s.gaps = append(st.s.gaps, st)
	}
	// Over a cap the stream stops waiting for its first gap.
	for len(h.queue) > 0 && (h.held+st.other(h).held > maxHeldPerStream || st.s.held > maxHeldTotal) {
		st.skipGap(h)
	}
}

// drain passes on the held segments that the next sequence number has
// reached, as bytes of the segment (at, packet) that brought it there.
func (st *stream) drain(h *halfStream, at time.Time, packet uint64) {
	k := 0
	for ; k < len(h.queue); k++ {
		q := &h.queue[k]
		behind := int32(h.next - q.seq)
		if behind < 0 {
			break
		}
		if int(behind) < len(q.data) {
			piece := q.data[behind:]
			h.next += uint32(len(piece))
			st.deliver(h, piece, at, packet)
		}
		h.held -= len(q.data)
		st.s.held -= len(q.data)
	}
	if k > 0 {
		n := copy(h.queue, h.queue[k:])
		clear(h.queue[n:])
		h.queue = h.queue[:n]
	}
	if h.fin && int32(h.next-h.finAt) >= 0 {
		st.closeHalf(h)
	}
}

// skipGap gives up the bytes missing before the first held segment: they
// were not captured. What was waiting to be framed cannot complete; the
// held bytes from there on are passed on as of that segment.
func (st *stream) skipGap(h *halfStream) {
	q := h.queue[0]
	st.s.d.Stats.TCPBytesMissing += uint64(q.seq - h.next)
	st.lost(h)
	h.next = q.seq
	st.drain(h, q.at, q.packet)
}

// closeHalf ends one direction (its FIN, or a RST); once both are ended
// what each was framing is abandoned and the connection is remembered as
// closed for a while.
func (st *stream) closeHalf(h *halfStream) {
	if h.closed {
		return
	}
	h.closed = true
	st.s.held -= h.held
	h.queue, h.held, h.fin = nil, 0, false
	if !st.half[0].closed || !st.half[1].closed {
		return
	}
	st.complete()
	s := st.s
	s.open.remove(st)
	st.done = true
	s.closed.pushNewest(st)
}

// complete abandons what both directions were framing: no byte can come
// to complete it.
func (st *stream) complete() {
	for i := range st.half {
		h := &st.half[i]
		st.abandon(h)
		h.buf, h.frames = nil, nil
	}
}

// flush gives up every gap of an open stream, passing on what it holds,
// and abandons what is left to frame.
func (st *stream) flush() {
	for i := range st.half {
		h := &st.half[i]
		for len(h.queue) > 0 && !h.closed {
			st.skipGap(h)
		}
	}
	st.complete()
}

// expire runs on capture time: held data whose gap has waited gapTimeout
// is pushed through, connections silent for idleTimeout are closed, and
// closed ones older than closedLinger are forgotten.
func (s *streams) expire(now time.Time) {
	ns := now.UnixNano()
	if len(s.gaps) > 0 {
		s.releaseGaps(now.Add(-gapTimeout))
	}
	for st := s.closed.oldest; st != nil && st.last < ns-int64(closedLinger); st = s.closed.oldest {
		s.drop(st)
	}
	for st := s.open.oldest; st != nil && st.last < ns-int64(idleTimeout); st = s.open.oldest {
		st.flush()
		s.drop(st)
	}
}

// releaseGaps pushes through the held data of every listed stream whose
// first gap has waited since before the deadline. Data is passed on in
// sequence order only, so a segment held behind a later one is as old as
// the oldest of those after it.
func (s *streams) releaseGaps(deadline time.Time) {
	kept := s.gaps[:0]
	for _, st := range s.gaps {
		for i := range st.half {
			h := &st.half[i]
			for len(h.queue) > 0 && oldest(h.queue).Before(deadline) {
				st.skipGap(h)
			}
		}
		if len(st.half[0].queue)+len(st.half[1].queue) > 0 {
			kept = append(kept, st)
		} else {
			st.listed = false
		}
	}
	clear(s.gaps[len(kept):])
	s.gaps = kept
}

func oldest(q []heldSegment) time.Time {
	t := q[0].at
	for _, h := range q[1:] {
		if h.at.Before(t) {
			t = h.at
		}
	}
	return t
}

// flushAll ends the input: every gap is given up, every connection closed.
func (s *streams) flushAll() {
	for st := s.open.oldest; st != nil; st = s.open.oldest {
		st.flush()
		s.drop(st)
	}
	for st := s.closed.oldest; st != nil; st = s.closed.oldest {
		s.drop(st)
	}
	s.gaps, s.held = nil, 0
}
