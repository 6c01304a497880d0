package capture

import (
	"bytes"
	"encoding/binary"
	"time"

	"github.com/sipalive/sipalive/capture/sip"
)

// deliver frames bytes that came in order on one direction, those of the
// segment (now, packet) or of held segments it released.
func (st *stream) deliver(h *halfStream, data []byte, now time.Time, packet uint64) {
	stats := &st.s.d.Stats
	if !st.counted {
		st.counted = true
		stats.TCPStreams++
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

// lost starts one direction's framing again after bytes went missing:
// what was buffered cannot complete.
func (st *stream) lost(h *halfStream) {
	st.abandon(h)
	h.buf, h.frames = h.buf[:0], h.frames[:0]
	h.framer.Reset()
	h.ws.lost()
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
