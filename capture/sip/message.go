// Package sip is the SIP wire format: it recognises a start line by
// content on any port (startline.go), cuts byte streams into messages by
// Content-Length (frame.go), and scans a message's headers in place
// (parse*.go, header.go). Parse fills a Message whose byte slices alias the
// input: nothing is copied and nothing is allocated, so a caller that keeps
// a value past the life of the packet buffer must copy it.
//
// Only the fields the keep-alive analysis needs are extracted; the scanner
// tolerates what real stacks send (compact header forms, LF-only line ends,
// folded lines, repeated and comma-separated headers, unknown methods).
package sip

import "bytes"

// Address is the part of a From or To header the analysis needs.
type Address struct {
	URI []byte // addr-spec, without angle brackets
	Tag []byte // tag parameter; empty when absent
}

// Via is the topmost Via value.
type Via struct {
	Transport []byte // UDP, TCP, TLS, WS, WSS, SCTP
	SentBy    []byte // host[:port]
	Branch    []byte // branch parameter
}

// Message is one SIP request or response, scanned in place.
type Message struct {
	Request bool
	Method  []byte // request method; empty for responses
	URI     []byte // Request-URI
	Status  int    // status code; 0 for requests
	Reason  []byte // status reason phrase

	CallID     []byte
	From, To   Address
	CSeq       uint32
	CSeqMethod []byte
	Via        Via // topmost Via value
	Vias       int // Via values in all Via headers

	ContentType   []byte
	ContentLength int // -1 when absent
	UserAgent     []byte
	Server        []byte

	SessionExpires uint32 // seconds; 0 when absent or invalid
	Refresher      []byte // "uac", "uas" or empty
	MinSE          uint32 // seconds; 0 when absent
	MinExpires     uint32 // Min-Expires of a 423 (RFC 3261 section 20.23); 0 when absent
	Expires        int    // -1 when absent
	Supported      Tokens
	Require        Tokens
	Allow          Tokens
	ReasonHeader   []byte // Reason header (RFC 3326), first value

	Body []byte
}

// Tokens holds the raw values of a header that carries a comma-separated
// token list and may repeat (Supported, Require, Allow).
type Tokens struct {
	vals [8][]byte
	n    int
}

func (t *Tokens) add(v []byte) {
	if t.n < len(t.vals) {
		t.vals[t.n] = v
		t.n++
	}
}

// Raw returns the header's value when it appeared once, else nil.
func (t *Tokens) Raw() []byte {
	if t.n == 1 {
		return t.vals[0]
	}
	return nil
}

// Present reports whether the header appeared at all.
func (t *Tokens) Present() bool { return t.n > 0 }

// Has reports whether tok is one of the tokens, case-insensitively.
func (t *Tokens) Has(tok string) bool {
	for i := 0; i < t.n; i++ {
		v := t.vals[i]
		for len(v) > 0 {
			var item []byte
			if c := bytes.IndexByte(v, ','); c >= 0 {
				item, v = v[:c], v[c+1:]
			} else {
				item, v = v, nil
			}
			if equalFoldString(trimLWS(item), tok) {
				return true
			}
		}
	}
	return false
}

// Each calls f for every token in the list.
func (t *Tokens) Each(f func(tok []byte)) {
	for i := 0; i < t.n; i++ {
		v := t.vals[i]
		for len(v) > 0 {
			var item []byte
			if c := bytes.IndexByte(v, ','); c >= 0 {
				item, v = v[:c], v[c+1:]
			} else {
				item, v = v, nil
			}
			if item = trimLWS(item); len(item) > 0 {
				f(item)
			}
		}
	}
}

// IsInDialog reports whether a request carries a To tag, which is what puts
// it inside a dialog (RFC 3261 section 12.2).
func (m *Message) IsInDialog() bool { return len(m.To.Tag) > 0 }

// MethodIs reports whether the request method (or, for a response, the CSeq
// method) equals name.
func (m *Message) MethodIs(name string) bool {
	if m.Request {
		return string(m.Method) == name
	}
	return string(m.CSeqMethod) == name
}

var (
	mediaSDP        = []byte("application/sdp")
	mediaMultipart  = []byte("multipart/")
	sdpVersionStart = []byte("v=0")
)

// HasSDP reports whether the body holds a session description: a non-empty
// body whose Content-Type is application/sdp, a multipart body with an
// application/sdp part, or, for stacks that omit Content-Type, a body that
// starts as SDP does.
func (m *Message) HasSDP() bool {
	body := trimLWS(m.Body)
	if len(body) == 0 {
		return false
	}
	mt := m.ContentType
	if i := bytes.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	mt = trimLWS(mt)
	switch {
	case len(mt) == 0:
		return bytes.HasPrefix(body, sdpVersionStart)
	case bytes.EqualFold(mt, mediaSDP):
		return true
	case hasPrefixFold(mt, mediaMultipart):
		return indexFold(body, mediaSDP) >= 0
	}
	return false
}

// HasBody reports whether the message carries a non-empty body.
func (m *Message) HasBody() bool { return len(trimLWS(m.Body)) > 0 }

// reset clears m for reuse without allocating. The token lists keep
// their stale values past n, which nothing reads: clearing the whole
// struct (close to a kilobyte) took a tenth of the scan. The byte slices
// are cut to empty rather than set to nil: a length is one store, where a
// pointer cleared in a heap object is three and a write barrier, and
// reset was still a sixth of Parse. Every reader goes by length.
func (m *Message) reset() {
	m.Request, m.Status, m.Vias, m.CSeq = false, 0, 0, 0
	m.Method, m.URI, m.Reason = m.Method[:0], m.URI[:0], m.Reason[:0]
	m.CallID, m.CSeqMethod = m.CallID[:0], m.CSeqMethod[:0]
	m.From.URI, m.From.Tag, m.To.URI, m.To.Tag = m.From.URI[:0], m.From.Tag[:0], m.To.URI[:0], m.To.Tag[:0]
	m.Via.Transport, m.Via.SentBy, m.Via.Branch = m.Via.Transport[:0], m.Via.SentBy[:0], m.Via.Branch[:0]
	m.ContentType, m.UserAgent, m.Server = m.ContentType[:0], m.UserAgent[:0], m.Server[:0]
	m.ContentLength, m.Expires = -1, -1
	m.SessionExpires, m.MinSE, m.MinExpires, m.Refresher = 0, 0, 0, m.Refresher[:0]
	m.Supported.n, m.Require.n, m.Allow.n = 0, 0, 0
	m.ReasonHeader, m.Body = m.ReasonHeader[:0], m.Body[:0]
}
