package capture

import (
	"bytes"
	"time"

	"github.com/sipalive/sipalive/capture/sip"
)

// SIP over WebSocket (RFC 7118): after an HTTP/1.1 Upgrade handshake each
// direction carries RFC 6455 frames, and each WebSocket message holds one
// SIP message. Only clear-text ws is readable; wss is TLS.

// maxWSMessage bounds one reassembled WebSocket message.
const maxWSMessage = 1 << 20

type wsState struct {
	enabled   bool // the connection is (being) upgraded
	upgrading bool // this direction sent the Upgrade request
	httpDone  bool // this direction's HTTP header block is behind us
	raw       []byte
	msg       []byte
}

// lost forgets partial state after bytes went missing.
func (w *wsState) lost() {
	w.raw, w.msg = w.raw[:0], w.msg[:0]
}

var (
	httpGet          = []byte("GET ")
	headerUpgrade    = []byte("upgrade:")
	tokenWebSocket   = []byte("websocket")
	blankLine        = []byte("\r\n\r\n")
	headerLineMarker = []byte("\r\n")
)

// isWebSocketUpgrade recognises an HTTP request asking for a WebSocket
// upgrade (the sip subprotocol or any other).
func isWebSocketUpgrade(b []byte) bool {
	if !bytes.HasPrefix(b, httpGet) {
		return false
	}
	end := bytes.Index(b, blankLine)
	if end < 0 {
		end = len(b)
	}
	hdr := b[:end]
	for len(hdr) > 0 {
		i := bytes.Index(hdr, headerLineMarker)
		line := hdr
		if i >= 0 {
			line, hdr = hdr[:i], hdr[i+2:]
		} else {
			hdr = nil
		}
		if len(line) > len(headerUpgrade) && bytes.EqualFold(line[:len(headerUpgrade)], headerUpgrade) &&
			bytes.Contains(bytes.ToLower(line[len(headerUpgrade):]), tokenWebSocket) {
			return true
		}
	}
	return false
}

// webSocket decodes frames from one direction of an upgraded connection.
func (st *stream) webSocket(h *halfStream, data []byte, now time.Time) {
	d := st.s.d
	w := &h.ws
	w.raw = append(w.raw, data...)
	if !w.httpDone {
		end := bytes.Index(w.raw, blankLine)
		if end < 0 {
			if len(w.raw) > sip.MaxHeader {
				d.Stats.TCPBytesSkipped += uint64(len(w.raw))
				w.raw = w.raw[:0]
			}
			return
		}
		d.Stats.TCPBytesSkipped += uint64(end + len(blankLine)) // the HTTP handshake
		w.raw = w.raw[:copy(w.raw, w.raw[end+len(blankLine):])]
		w.httpDone = true
	}
	off := 0
	for {
		fin, op, payload, n := wsFrame(w.raw[off:])
		if n == 0 {
			break
		}
		if n < 0 {
			// not a frame: drop what is buffered and wait for a clean start
			d.Stats.TCPBytesSkipped += uint64(len(w.raw) - off)
			off = len(w.raw)
			w.msg = w.msg[:0]
			break
		}
		off += n
		switch op {
		case 0, 1, 2: // continuation, text, binary
			if len(w.msg)+len(payload) > maxWSMessage {
				d.Stats.TCPBytesSkipped += uint64(len(w.msg) + len(payload))
				w.msg = w.msg[:0]
				continue
			}
			w.msg = append(w.msg, payload...)
			if fin {
				st.wsMessage(h, w.msg, now)
				w.msg = w.msg[:0]
			}
		case 9, 10: // ping, pong
			k := WSPing
			if op == 10 {
				k = WSPong
			}
			d.Stats.TCPKeepAlives++
			st.emit(h, k, WS, payload, now)
		default: // close
		}
	}
	w.raw = w.raw[:copy(w.raw, w.raw[off:])]
	if len(w.raw) == 0 && len(w.msg) == 0 {
		h.frames = h.frames[:0]
	}
}

// wsMessage frames the SIP message(s) in one WebSocket message.
func (st *stream) wsMessage(h *halfStream, msg []byte, now time.Time) {
	d := st.s.d
	for len(msg) > 0 {
		k, n := sip.NextFrame(msg)
		switch k {
		case sip.FramePartial:
			// a datagram-like message without Content-Length framing:
			// take it whole, as a WebSocket message is one SIP message
			if sip.IsStart(msg) {
				d.Stats.TCPMessages++
				st.emit(h, SIP, WS, msg, now)
			} else {
				d.Stats.TCPBytesSkipped += uint64(len(msg))
			}
			return
		case sip.FrameMessage:
			d.Stats.TCPMessages++
			st.emit(h, SIP, WS, msg[:n], now)
		case sip.FrameKeepAlive:
			d.Stats.TCPKeepAlives++
			st.emit(h, NATKeepAlive, WS, msg[:n], now)
		case sip.FrameGarbage:
			d.Stats.TCPBytesSkipped += uint64(n)
		}
		msg = msg[n:]
	}
}

// RFC 6455 section 5.2 frame header: bits of the first two bytes, and the
// lengths that say a longer length follows.
const (
	wsFin         = 0x80
	wsReserved    = 0x70
	wsOpcode      = 0x0f
	wsMasked      = 0x80
	wsLength      = 0x7f
	wsLength16    = 126 // a 16-bit length follows
	wsLength64    = 127 // a 64-bit length follows
	wsMaskKeySize = 4
)

// wsFrame decodes one RFC 6455 frame at the front of b and unmasks its
// payload in place. n is the frame's length, 0 when b holds only part of
// it, -1 when b does not start with a plausible frame.
func wsFrame(b []byte) (fin bool, op byte, payload []byte, n int) {
	b0, off, ok1 := readUint8(b, 0)
	b1, off, ok2 := readUint8(b, off)
	if !ok1 || !ok2 {
		return false, 0, nil, 0
	}
	fin, op = b0&wsFin != 0, b0&wsOpcode
	if b0&wsReserved != 0 || (op > 2 && op < 8) || op > 10 {
		return false, 0, nil, -1
	}
	ln := uint64(b1 & wsLength)
	switch ln {
	case wsLength16:
		l16, next, ok := readUint16(b, off)
		if !ok {
			return false, 0, nil, 0
		}
		ln, off = uint64(l16), next
	case wsLength64:
		l64, next, ok := readUint64(b, off)
		if !ok {
			return false, 0, nil, 0
		}
		ln, off = l64, next
	}
	if ln > maxWSMessage {
		return false, 0, nil, -1
	}
	var key []byte
	if b1&wsMasked != 0 {
		var ok bool
		if key, off, ok = readBytes(b, off, wsMaskKeySize); !ok {
			return false, 0, nil, 0
		}
	}
	payload, end, ok := readBytes(b, off, int(ln))
	if !ok {
		return false, 0, nil, 0
	}
	if key != nil {
		for i := range payload {
			payload[i] ^= key[i&3]
		}
	}
	return fin, op, payload, end
}
