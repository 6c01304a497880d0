package analyze

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// A finished call is kept whole only while its late retransmissions and
// answers can still come (RFC 3261 Timers J and H: 64*T1 = 32 s, and the
// sweep's linger after that). What is kept longer serves one question: is a
// request that comes after the end for a dialog that ended, a "stale"
// keep-alive, rather than a new dialog met mid-call? For that each retired
// dialog leaves a tombstone of fixed size in a ring of fixed capacity: what
// the dialog's later requests are matched and described by, and nothing
// that points into memory. When the ring is full the oldest tombstone
// goes, younger than staleLinger or not; those that go young are counted,
// and the report says that stale verdicts may then be missing: a request
// for a forgotten dialog is taken for a dialog met mid-call.

const (
	// staleLinger is how long a finished dialog is remembered.
	staleLinger = 15 * time.Minute
	// staleCapacity is how many finished dialogs are remembered at most:
	// at 1,000 calls a second, a little over a minute's worth; at 70 a
	// second or fewer, the whole quarter of an hour.
	staleCapacity = 1 << 16
)

// tombstone is what is left of a retired dialog. It holds no pointers, so
// the collector never reads the ring.
type tombstone struct {
	call, call2            uint64 // the Call-ID's hashes (see idHash)
	callerHash, calleeHash uint64 // the tags' (see tagHash)
	ended                  int64  // Unix ns of the BYE (0: none seen)
	stored                 int64  // Unix ns of the capture time it was made at
	idLen                  uint16
	callerLen, calleeLen   uint16
	endedBy                uint8 // index into enders
	flags                  tombFlags
	// proxies is the position+1 of the dialog's proxies in
	// staleTable.proxies (0: it had none): most dialogs have none, and
	// the tombstone is 64 bytes where the addresses would make it 96.
	proxies uint32
}

// tombFlags are a retired dialog's flags that its later requests read.
type tombFlags uint8

const (
	tombHeld tombFlags = 1 << iota
	tombIsCall
	tombProblem
	tombExported
	tombTimer
	tombMidCall
)

// packedAddr is a netip.AddrPort without its zone pointer: the address,
// the port, and whether it is IPv4 or valid at all.
type packedAddr struct {
	ip   ipKey
	port uint16
	kind uint8 // 0 invalid, 4 IPv4, 6 IPv6
}

// ipKey is an address's sixteen bytes as As16 gives them (IPv4-mapped for
// IPv4), as two big-endian words. Words, not a [16]byte: a struct of a
// few words stays in registers where an array goes through memory, and an
// array written in parts and then read whole (copied into a shortcut or a
// key) cannot be forwarded from the store buffer, a stall on every
// message that names its sender.
type ipKey struct{ hi, lo uint64 }

func ipKeyOf(b [16]byte) ipKey {
	return ipKey{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func (k ipKey) as16() [16]byte {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], k.hi)
	binary.BigEndian.PutUint64(b[8:], k.lo)
	return b
}

func packAddr(ap netip.AddrPort) packedAddr {
	a := ap.Addr()
	switch {
	case !ap.IsValid():
		return packedAddr{}
	case a.Is4():
		v4 := a.As4()
		return packedAddr{ip: ipKey{lo: 0xffff<<32 | uint64(binary.BigEndian.Uint32(v4[:]))}, port: ap.Port(), kind: 4}
	}
	return packedAddr{ip: ipKeyOf(a.As16()), port: ap.Port(), kind: 6}
}

func (p packedAddr) unpack() netip.AddrPort {
	switch p.kind {
	case 4:
		return netip.AddrPortFrom(netip.AddrFrom16(p.ip.as16()).Unmap(), p.port)
	case 6:
		return netip.AddrPortFrom(netip.AddrFrom16(p.ip.as16()), p.port)
	}
	return netip.AddrPort{}
}

// enders are the values of Dialog.EndedBy: none, a side (see enderOf),
// or a proxy on its own account.
var enders = [...]string{"", sideNames[sideCaller], sideNames[sideCallee], sideNames[sideProxyToCaller], sideNames[sideProxyToCallee], "proxy"}

// enderProxy is enders' index of "proxy".
const enderProxy = uint8(len(enders) - 1)

// enderOf is enders' index of the side (see Dialog.sideOf).
func enderOf(side int) uint8 { return uint8(side) + 1 }

// staleTable is the ring of tombstones and its index by dialog. The
// tombstones lie in the order they were made, from head, n of them; those
// past staleLinger are dropped from the head as new ones come, so the ring
// holds what a quarter of an hour of the capture's finished dialogs need,
// growing (see ringSize) up to staleCapacity and overwriting the oldest
// beyond.
type staleTable struct {
	ring    []tombstone
	head, n int
	index   ringIndex // dialogKey → position in ring
	evicted int       // tombstones overwritten younger than staleLinger
	// proxies holds the proxies of the tombstones that have any, in the
	// same order: one leaves when its tombstone does, from the head.
	proxies proxyRing
}

// proxyRing is a ring of the proxy pairs of tombstones, oldest first.
type proxyRing struct {
	ring    [][2]packedAddr
	head, n int
}

// dialogKey is a dialog's key in the index: the Call-ID's hash with the
// two tags', either way round.
func dialogKey(call, tagA, tagB uint64) uint64 {
	return call ^ (tagA+tagB)*0x9e3779b97f4a7c15
}

// bury leaves a tombstone of the retired dialog d of call c at now.
func (s *staleTable) bury(c *call, d *Dialog, now time.Time) {
	at := now.UnixNano()
	for s.n > 0 && at-s.ring[s.head].stored >= int64(staleLinger) {
		s.drop() // expired
	}
	if s.n == len(s.ring) {
		if len(s.ring) < staleCapacity {
			s.grow()
		} else {
			s.evicted++ // the oldest is younger than staleLinger: forgotten early
			s.drop()
		}
	}
	var proxies uint32
	if d.proxies[0].kind != 0 || d.proxies[1].kind != 0 {
		proxies = s.pushProxies(d.proxies)
	}
	pos := (s.head + s.n) % len(s.ring)
	s.n++
	slot := &s.ring[pos]
	*slot = tombstone{
		call: c.hash, call2: c.hash2, idLen: uint16(min(len(c.id), 1<<16-1)),
		callerHash: d.callerHash, calleeHash: d.calleeHash,
		callerLen: uint16(min(len(d.CallerTag()), 1<<16-1)), calleeLen: uint16(min(len(d.CalleeTag()), 1<<16-1)),
		stored: at, endedBy: d.endedBy, proxies: proxies, ended: d.ended,
	}
	for _, f := range []struct {
		on   bool
		flag tombFlags
	}{{d.held, tombHeld}, {d.IsCall, tombIsCall}, {d.problem, tombProblem}, {d.exported, tombExported}, {d.Timer != nil, tombTimer}, {d.MidCall, tombMidCall}} {
		if f.on {
			slot.flags |= f.flag
		}
	}
	s.index.put(dialogKey(c.hash, d.callerHash, d.calleeHash), uint32(pos), s.keyAt)
}

// keyAt is the dialogKey of the tombstone at pos.
func (s *staleTable) keyAt(pos uint32) uint64 {
	t := &s.ring[pos]
	return dialogKey(t.call, t.callerHash, t.calleeHash)
}

// pushProxies keeps the proxies of the tombstone about to be made, the
// newest, and returns their position+1. The ring doubles when full, up
// to the tombstones' own capacity: it never holds more entries than they.
func (s *staleTable) pushProxies(p [2]packedAddr) uint32 {
	r := &s.proxies
	if r.n == len(r.ring) {
		s.growProxies(min(max(256, 2*len(r.ring)), staleCapacity))
	}
	pos := (r.head + r.n) % len(r.ring)
	r.ring[pos] = p
	r.n++
	return uint32(pos) + 1
}

// proxiesOf returns the proxies t's dialog had.
func (s *staleTable) proxiesOf(t *tombstone) [2]packedAddr {
	if t.proxies == 0 {
		return [2]packedAddr{}
	}
	return s.proxies.ring[t.proxies-1]
}

// drop forgets the oldest tombstone.
func (s *staleTable) drop() {
	t := &s.ring[s.head]
	if t.proxies != 0 {
		r := &s.proxies // its proxies are the oldest kept
		r.ring[r.head] = [2]packedAddr{}
		r.head = (r.head + 1) % len(r.ring)
		r.n--
	}
	s.index.remove(s.keyAt(uint32(s.head)), uint32(s.head), s.keyAt)
	*t = tombstone{}
	s.head = (s.head + 1) % len(s.ring)
	s.n--
}

// reserve makes the ring and its index their full size, staleCapacity,
// and the proxies' ring too.
func (s *staleTable) reserve() {
	for len(s.ring) < staleCapacity {
		s.grow()
	}
	if len(s.proxies.ring) < staleCapacity {
		s.growProxies(staleCapacity)
	}
}

// growProxies makes the proxies' ring size entries long, its entries laid
// out afresh from 0 in the order of the tombstones that point at them.
func (s *staleTable) growProxies(size int) {
	r := &s.proxies
	ring := make([][2]packedAddr, size)
	k := 0
	for i := range s.n {
		if t := &s.ring[(s.head+i)%len(s.ring)]; t.proxies != 0 {
			ring[k] = r.ring[t.proxies-1]
			k++
			t.proxies = uint32(k)
		}
	}
	r.ring, r.head = ring, 0
}

// grow enlarges the ring (see ringSize), the oldest first, and points
// the index at the new places.
func (s *staleTable) grow() {
	ring := make([]tombstone, ringSize(len(s.ring), staleCapacity))
	for i := range s.n {
		ring[i] = s.ring[(s.head+i)%len(s.ring)]
	}
	s.ring, s.head = ring, 0
	s.index.reset(len(ring))
	for i := range s.n {
		s.index.put(s.keyAt(uint32(i)), uint32(i), s.keyAt)
	}
}

// find returns the tombstone of the dialog e's Call-ID and tags name, if
// one younger than staleLinger is kept.
func (s *staleTable) find(e *Event) *tombstone {
	i, ok := s.index.find(dialogKey(e.CallHash, e.FromTagHash, e.ToTagHash), s.keyAt)
	if !ok {
		return nil
	}
	t := &s.ring[i]
	from, to := uint16(len(e.FromTag)), uint16(len(e.ToTag))
	same := t.call == e.CallHash && t.call2 == e.CallHash2 && int(t.idLen) == len(e.CallID) &&
		((t.callerHash == e.FromTagHash && t.calleeHash == e.ToTagHash && t.callerLen == from && t.calleeLen == to) ||
			(t.callerHash == e.ToTagHash && t.calleeHash == e.FromTagHash && t.callerLen == to && t.calleeLen == from))
	if !same || e.Time.UnixNano()-t.stored >= int64(staleLinger) {
		return nil
	}
	return t
}

// revive makes the retired dialog t was left by again, in c, for e, a
// request of it: a later request of the dialog finds it as it found the
// tombstone the call kept before. proxies are its (see proxiesOf).
func (t *tombstone) revive(d *Dialog, c *call, e *Event, proxies [2]packedAddr) {
	caller, callee := e.FromTag, e.ToTag
	if t.callerHash != e.FromTagHash || int(t.callerLen) != len(e.FromTag) {
		caller, callee = callee, caller
	}
	*d = Dialog{
		retired: true, CallID: c.id,
		callerHash: t.callerHash, calleeHash: t.calleeHash,
		proxies: proxies,
		endedBy: t.endedBy,
		held:    t.flags&tombHeld != 0, IsCall: t.flags&tombIsCall != 0, problem: t.flags&tombProblem != 0,
		exported: t.flags&tombExported != 0, MidCall: t.flags&tombMidCall != 0,
	}
	d.ended = t.ended
	d.setTags(string(caller)+string(callee), len(caller))
	if t.flags&tombTimer != 0 {
		d.Timer = &d.timer // its settings were reported; a request only asks whether there is one
	}
	d.Transactions, d.txKeys = d.txsBuf[:0], d.txKeysBuf[:0]
}
