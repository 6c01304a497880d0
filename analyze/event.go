package analyze

import (
	"hash/maphash"
	"net/netip"
	"time"

	"github.com/sipalive/sipalive/capture"
	"github.com/sipalive/sipalive/capture/sip"
)

// Event is one captured message reduced to what the analysis reads: the
// SIP scan's fields, with the values that repeat (agents, Allow lists,
// reasons, methods) as shared strings, and the hashes and classification
// the analysis would otherwise work out itself. A Scanner makes it, in
// whichever goroutine has time; the Analyzer takes it in capture order.
//
// CallID, FromTag and ToTag alias the message's payload: it must stay
// unchanged until the Analyzer has taken the event.
type Event struct {
	Time     time.Time
	Src, Dst netip.AddrPort
	Frames   []uint64 // the packets that carried it (see capture.Message)
	Input    int

	CallID, FromTag, ToTag []byte
	// ids is, made by the scanning side, what the analysis keeps of a
	// message that may open a call or a dialog: the Call-ID and From tag
	// of a request without a To tag, the From and To tags of a 2xx to an
	// INVITE (see callText and dialogTags). Empty for the others. The
	// other core reading them out of the payload stalled for each.
	ids string

	Method    string // the request's method, or a response's CSeq method
	Agent     string // User-Agent
	Server    string // Server
	Allow     string // Allow, its values joined by commas when repeated
	Reason    string // a response's reason phrase
	Refresher string // Session-Expires refresher parameter
	// Malformed says why a SIP message could not be read (empty: it was).
	Malformed string

	CallHash       uint64 // hash of the Call-ID (see idHash)
	CallHash2      uint64 // another, independent one
	FromTagHash    uint64 // hash of the From tag (see tagHash)
	ToTagHash      uint64 // hash of the To tag
	Branch         uint64 // hash of the topmost Via branch (see branchHash)
	CSeq           uint32
	SessionExpires uint32
	MinSE          uint32
	MinExpires     uint32 // a 423's Min-Expires
	Expires        int32  // -1 when absent; clamped as Transaction keeps it (see expiry)
	Status         uint16
	Vias           uint16

	Kind         capture.Kind
	Transport    capture.Transport
	Class        Class // a request's class
	Request      bool
	Cut          bool      // cut short by the snap length
	RFC3261      bool      // the branch has the RFC 3261 cookie
	SDP          bool      // the body holds SDP (requests; responses: only a 2xx to UPDATE is looked at)
	Media        sip.Media // what the SDP of an in-dialog re-INVITE or UPDATE offers (hold, T.38)
	Body         bool      // a non-empty body
	AllowPresent bool      // an Allow header was present, even empty
	RequireTimer bool      // Require: timer
	NAT          NATKind   // a NAT keep-alive's kind

	// Last: most events leave them untouched.
	nBinds uint8                // bindings in binds
	binds  [maxBindings]binding // of a REGISTER or a 2xx to one (see Scanner.scanBindings)
}

// maxBindings is how many Contact bindings of a REGISTER or its answer an
// event keeps: a UA registers one, and a registrar lists those of the
// address of record, rarely more than a few.
const maxBindings = 4

// binding is a Contact binding as an event keeps it: the low half of the
// tagHash of its URI (among a few bindings, two URIs share it with odds of
// 2^-32; eight bytes a binding keep every event small), and its expires
// parameter (-1: absent).
type binding struct {
	uri     uint32
	expires int32
}

// registration returns what a REGISTER asks for: the hash of its (first)
// binding's URI, and the expiry, the contact's expires parameter
// overriding the Expires header (RFC 3261 section 10.2.1.1); -1 when it
// names none.
func (e *Event) registration() (contact uint32, expires int) {
	expires = int(e.Expires)
	if e.nBinds > 0 {
		contact = e.binds[0].uri
		if e.binds[0].expires >= 0 {
			expires = int(e.binds[0].expires)
		}
	}
	return contact, expires
}

// granted returns the expiry a registrar's 2xx grants the binding whose
// URI hash is contact: the expires parameter the registrar put on that
// binding, or on the only one it lists when it rewrote the URI (RFC 3261
// section 10.3: each binding carries one), else the Expires header.
func (e *Event) granted(contact uint32) int {
	for _, b := range e.binds[:e.nBinds] {
		if b.uri == contact && b.expires >= 0 {
			return int(b.expires)
		}
	}
	if e.nBinds == 1 && e.binds[0].expires >= 0 {
		return int(e.binds[0].expires)
	}
	return int(e.Expires)
}

// inDialog reports whether a request carries a To tag.
func (e *Event) inDialog() bool { return len(e.ToTag) > 0 }

// callText returns the Call-ID and the From tag as one string, the one
// the scan made when it did (see ids).
func (e *Event) callText() string {
	if e.Request && len(e.ids) == len(e.CallID)+len(e.FromTag) {
		return e.ids
	}
	return string(e.CallID) + string(e.FromTag)
}

// dialogTags returns the From and the To tag as one string, the one the
// scan made when it did (see ids).
func (e *Event) dialogTags() string {
	if !e.Request && len(e.ids) == len(e.FromTag)+len(e.ToTag) {
		return e.ids
	}
	return string(e.FromTag) + string(e.ToTag)
}

// relayed reports whether e is a request a proxy forwarded: it carries
// the Via of every hop so far. Its User-Agent, Allow and the Server of the
// responses the proxy relays back name the endpoints, not the proxy.
func (e *Event) relayed() bool { return e.Request && e.Vias > 1 }

// answerer is what names a response's sender: its Server, else its
// User-Agent.
func (e *Event) answerer() string {
	if e.Server != "" {
		return e.Server
	}
	return e.Agent
}

// Scanner turns captured messages into Events. It keeps the strings it
// has made, so that values repeated in every message (User-Agent,
// Server, reason phrases, Allow lists) are one string each, and storing
// them costs no allocation. A Scanner is not safe for concurrent use:
// each goroutine that scans has its own.
type Scanner struct {
	msg        sip.Message
	bindings   [maxBindings]sip.Binding
	interned   map[string]string
	internLast [64]string // the last value interned, by length: most repeat
}

// NewScanner returns a Scanner.
func NewScanner() *Scanner { return &Scanner{interned: make(map[string]string)} }

// maxInterned bounds the interning table; past it values are copied.
const maxInterned = 1 << 14

// Scan fills e from cm. cm's payload must outlive e's use (see Event).
func (s *Scanner) Scan(cm *capture.Message, e *Event) {
	// Field by field rather than *e = Event{...}: clearing the whole
	// struct first cost as much as the rest of Scan.
	e.Time, e.Src, e.Dst, e.Frames, e.Input = cm.Time, cm.Src, cm.Dst, cm.Frames, cm.Input
	e.Kind, e.Transport, e.Cut = cm.Kind, cm.Transport, cm.Cut
	e.Malformed, e.NAT = "", 0
	switch cm.Kind {
	case capture.NATKeepAlive:
		e.NAT = natKind(cm.Payload)
		return
	case capture.WSPing, capture.WSPong:
		// transport keep-alives, listed with the NAT ones
		e.Kind, e.NAT = capture.NATKeepAlive, NATWSPing
		if cm.Kind == capture.WSPong {
			e.NAT = NATWSPong
		}
		return
	}
	m := &s.msg
	if err := sip.Parse(cm.Payload, m); err != nil {
		if cm.Cut {
			// the headers it lacks were past the snap length, not left out
			e.Malformed = errCutBySnapLength
		} else {
			e.Malformed = err.Error()
		}
		return
	}
	e.Request, e.Status = m.Request, uint16(m.Status)
	e.CallID, e.FromTag, e.ToTag = m.CallID, m.From.Tag, m.To.Tag
	e.CallHash, e.CallHash2 = idHash(m.CallID)
	e.FromTagHash, e.ToTagHash = tagHash(m.From.Tag), tagHash(m.To.Tag)
	e.CSeq, e.Vias = m.CSeq, uint16(min(m.Vias, 1<<16-1))
	e.Branch, e.RFC3261 = branchHash(m.Via.Branch), isRFC3261Branch(m.Via.Branch)
	e.Agent, e.Server = s.intern(m.UserAgent), s.intern(m.Server)
	e.Allow, e.AllowPresent = "", m.Allow.Present()
	if e.AllowPresent {
		if raw := m.Allow.Raw(); raw != nil {
			e.Allow = s.intern(raw)
		} else {
			e.Allow = joinTokens(&m.Allow)
		}
	}
	e.SessionExpires, e.MinSE, e.Expires, e.MinExpires = m.SessionExpires, m.MinSE, expiry(m.Expires), m.MinExpires
	e.Refresher = s.intern(m.Refresher)
	e.RequireTimer = m.Require.Present() && m.Require.Has("timer")
	var k methodKind
	if m.Request {
		k = methodOf(m.Method)
		e.Method, e.Reason = s.method(k, m.Method), ""
		e.SDP, e.Body = m.HasSDP(), m.HasBody()
		e.Class = classify(k, m.IsInDialog(), e.SDP)
		e.Media = 0
		if e.Class == ClassReinviteWithSDP || e.Class == ClassUpdateWithSDP {
			e.Media = sip.ScanSDP(m.Body)
		}
	} else {
		k = methodOf(m.CSeqMethod)
		e.Method, e.Reason = s.method(k, m.CSeqMethod), s.intern(m.Reason)
		e.SDP, e.Body, e.Class, e.Media = false, false, ClassOther, 0
		if k == methodUpdate && m.Status >= 200 && m.Status < 300 {
			e.SDP = m.HasSDP() // an answer to an UPDATE that made no offer must have none
		}
	}
	e.ids = ""
	switch {
	case m.Request && len(m.To.Tag) == 0 && k != methodAck && k != methodCancel:
		e.ids = string(m.CallID) + string(m.From.Tag)
	case !m.Request && k == methodInvite && m.Status >= 200 && m.Status < 300 && len(m.To.Tag) > 0:
		e.ids = string(m.From.Tag) + string(m.To.Tag)
	}
	e.nBinds = 0
	if k == methodRegister && (m.Request || m.Status >= 200 && m.Status < 300) {
		s.scanBindings(cm.Payload, e)
	}
}

// scanBindings reads the Contact bindings of a REGISTER or of a 2xx to one
// into e: the scan leaves Contact out, which no other message needs.
func (s *Scanner) scanBindings(payload []byte, e *Event) {
	n := sip.Bindings(payload, s.bindings[:])
	for i, b := range s.bindings[:n] {
		e.binds[i] = binding{uri: uint32(tagHash(b.URI)), expires: int32(min(b.Expires, 1<<31-1))}
	}
	e.nBinds = uint8(n)
}

// method returns the name of the method b, of kind k: a constant for the
// common ones.
func (s *Scanner) method(k methodKind, b []byte) string {
	if k != methodOther {
		return methodNames[k]
	}
	return s.intern(b)
}

// intern returns b as a string, sharing one copy of values that repeat.
func (s *Scanner) intern(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	last := &s.internLast[len(b)%len(s.internLast)]
	if *last == string(b) {
		return *last
	}
	str, ok := s.interned[string(b)]
	if !ok {
		str = string(b)
		if len(s.interned) < maxInterned {
			s.interned[str] = str
		}
	}
	*last = str
	return str
}

// hashSeed and hashSeed2 key the hashes of one run (Via branches,
// Call-IDs, tags): every Scanner's hashes agree.
var hashSeed, hashSeed2 = maphash.MakeSeed(), maphash.MakeSeed()

// tagHash stands for a From or To tag where the analysis compares tags:
// the tags of one call's dialogs are few, and two that differ share a hash
// with odds of 2^-64. Comparing hashes, the analysis does not read the tags
// of the packet, which another goroutine scanned and whose cache holds
// them.
func tagHash(tag []byte) uint64 { return maphash.Bytes(hashSeed, tag) }

// branchHash stands for a Via branch: keeping a 64-bit hash instead of a
// copy saves an allocation per transaction, and two branches of one call
// that also share CSeq and method collide with odds of 2^-64.
func branchHash(b []byte) uint64 { return maphash.Bytes(hashSeed, b) }

func isRFC3261Branch(b []byte) bool {
	return len(b) >= len(branchCookie) && string(b[:len(branchCookie)]) == branchCookie
}
