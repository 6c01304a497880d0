package analyze

import "net/netip"

// addressBook remembers what each address and port announced about itself
// (its User-Agent or Server, its Allow list, whether it relays requests),
// to name the sender of messages that carry no name, and the vendor name
// each agent string normalises to. It is bounded: past maxAddresses a new
// address takes the place of the one that came first (see newAddress).
type addressBook struct {
	hosts hostTable
	// chunks hold the entries, made addressSlab at a time up to
	// maxAddresses and then reused in the order they were made, the
	// oldest first (next). Entries never move: calls keep pointers to
	// them (hostRef).
	chunks      [][]address
	made        int
	next        int
	forgotten   int               // entries reused for another address
	sweeping    *call             // the call being swept, whose shortcuts answer for its parties (see hostOf)
	vendorNames map[string]string // agent string → VendorName
	vendorLast  [16]agentName     // the last of vendorNames used, by length of the agent
	unknownLast [8]unknownName    // the last unknown parties named, by port
	// seenAs maps an address to another at which the same sender was
	// seen: the same request (branch, CSeq, method) captured at two taps
	// of an SBC, NATed between them. A sender that names itself nowhere
	// is then one "unknown" row, not one per tap.
	seenAs map[netip.Addr]netip.Addr
}

// maxSeenAs bounds the addresses told to be another's.
const maxSeenAs = 4096

// sameSender notes that a request seen from addr was first seen from
// first: the same sender at another tap.
func (b *addressBook) sameSender(addr, first netip.Addr) {
	if addr == first {
		return
	}
	if b.seenAs == nil {
		b.seenAs = map[netip.Addr]netip.Addr{}
	}
	if _, ok := b.seenAs[addr]; !ok && len(b.seenAs) < maxSeenAs {
		if f, ok := b.seenAs[first]; ok {
			first = f
		}
		b.seenAs[addr] = first
		clear(b.unknownLast[:]) // addr may be named after first now
	}
}

// maxAddresses bounds the per-address memory of agents and Allow lists;
// past it the oldest address makes room, so a capture of millions of
// endpoints stays in bounded memory.
const maxAddresses = 1 << 16

// address is what the ports of one address announced. Ports are told
// apart: a host may run several SIP services (a proxy on 5060, a PBX on
// 5080), and a lab or loopback capture has every party on one address.
type address struct {
	key   ipKey    // the address (see ipKey)
	host0 host     // the first port that spoke: most addresses have one
	more  *[]*host // the others, in the order they first spoke (nil: none)
}

// host is what an address and port announced about itself.
type host struct {
	agent string // latest User-Agent or Server
	allow string // first Allow list
	proxy bool   // it relays requests: only those it originates name it
	port  uint16 // in its address's padding: an entry is 64 bytes, a slab 16 KB
	// version changes when the entry is reused for another address: a
	// call's shortcut that names another version is stale (see hostRef).
	version uint32
}

// learnAgent remembers the product name and Allow list each address
// announces, to name the sender of messages that carry none. A proxy's
// relayed messages name someone else (see Event.relayed).
func (b *addressBook) learnAgent(c *call, addr netip.AddrPort, e *Event) {
	ua := e.Agent
	if ua == "" {
		ua = e.Server
	}
	if ua == "" && !e.AllowPresent && !e.relayed() {
		return
	}
	h := b.hostFor(c, addr)
	if e.relayed() {
		h.proxy = true
	}
	// A response relayed by a proxy names the UAS behind it, but one to a
	// REGISTER comes from the registrar itself (RFC 3261 section 10.3).
	if h.proxy && (e.relayed() || (!e.Request && e.Method != "REGISTER")) {
		return
	}
	if h.allow == "" && e.AllowPresent {
		h.allow = e.Allow
	}
	if ua != "" {
		h.agent = ua
	}
}

// hostFor returns the entry for ap, through c's shortcuts when it can.
func (b *addressBook) hostFor(c *call, ap netip.AddrPort) *host {
	packed := packAddr(ap)
	for i := range c.hosts {
		if r := c.hosts[i]; r.valid(packed) {
			if i > 0 {
				c.hosts[0], c.hosts[1] = r, c.hosts[0]
			}
			return r.h
		}
	}
	key, port := packed.ip, ap.Port()
	hash := addrHash(&key)
	ad := b.hosts.get(hash, &key)
	var h *host
	switch {
	case ad == nil:
		ad = b.newAddress()
		ad.key, ad.host0.port = key, port
		b.hosts.put(hash, ad)
		h = &ad.host0
	default:
		if h = ad.port(port); h == nil {
			h = &host{port: port}
			if ad.more == nil {
				ad.more = new([]*host)
			}
			*ad.more = append(*ad.more, h)
		}
	}
	c.hosts[1] = c.hosts[0]
	c.hosts[0] = hostRef{ap: packed, h: h, version: h.version}
	return h
}

// addressSlab is how many address entries are allocated at once: a
// capture of many phones adds one per phone, and one allocation each was
// a fifth of all the analysis made.
const addressSlab = 256

// newAddress returns a zero address entry: a new one while there are
// fewer than maxAddresses, else the oldest, taken out of the table. Past
// the cap a trunk of many phones so makes no garbage (starting the table
// afresh made a new set of entries every 65,536 addresses, the most of
// what the analysis allocated), and the newest 65,535 addresses are always
// known. The shortcuts calls keep to the entry go stale (host.version).
func (b *addressBook) newAddress() *address {
	if b.made < maxAddresses {
		if b.made%addressSlab == 0 {
			b.chunks = append(b.chunks, make([]address, addressSlab))
		}
		ad := &b.chunks[b.made/addressSlab][b.made%addressSlab]
		b.made++
		return ad
	}
	ad := &b.chunks[b.next/addressSlab][b.next%addressSlab]
	b.next = (b.next + 1) % maxAddresses
	b.hosts.remove(ad)
	for _, h := range ad.others() {
		h.version++
	}
	version := ad.host0.version + 1
	*ad = address{}
	ad.host0.version = version
	b.forgotten++
	return ad
}

func (ad *address) port(p uint16) *host {
	if ad.host0.port == p {
		return &ad.host0
	}
	for _, h := range ad.others() {
		if h.port == p {
			return h
		}
	}
	return nil
}

// others are the address's hosts but the first.
func (ad *address) others() []*host {
	if ad.more == nil {
		return nil
	}
	return *ad.more
}

// hostOf returns what addr announced, if anything; when nothing ever came
// from addr, what another port of its address announced (a UA that sends
// from one port and listens on another). While a call is being swept, its
// own shortcuts answer for its two parties first.
func (b *addressBook) hostOf(addr netip.AddrPort) host {
	packed := packAddr(addr) // its key is the host table's (see ipKey)
	key, port := packed.ip, addr.Port()
	if c := b.sweeping; c != nil {
		for _, r := range c.hosts {
			if r.valid(packed) {
				return *r.h
			}
		}
	}
	ad := b.hosts.get(addrHash(&key), &key)
	if ad == nil {
		return host{}
	}
	if h := ad.port(port); h != nil {
		return *h
	}
	if addr.Addr().IsLoopback() {
		return host{} // each port on loopback is a program of its own: a lab's parties share the address
	}
	others := ad.others()
	for i := -1; i < len(others); i++ {
		h := &ad.host0
		if i >= 0 {
			h = others[i]
		}
		if !h.proxy && (h.agent != "" || h.allow != "") {
			return host{agent: h.agent, allow: h.allow}
		}
	}
	return host{}
}

// hostRef is a call's shortcut to an entry of Analyzer.hosts: the table
// outgrows the CPU caches on captures of many phones, and nearly every
// message comes from one of its call's two parties.
type hostRef struct {
	ap      packedAddr // compared whole: cheaper than its table key; packed, as the call record is kept for every call up
	version uint32     // h's when it was looked up
	h       *host
}

// valid reports whether r is the shortcut to ap's entry.
func (r *hostRef) valid(ap packedAddr) bool {
	return r.h != nil && r.ap == ap && r.h.version == r.version
}

// agentName is an agent string and its VendorName (known: found, even
// when empty).
type agentName struct {
	agent, vendor string
	known         bool
}

// unknownName is the name of a party that announced no agent.
type unknownName struct {
	addr netip.AddrPort
	name string
}

// agentOf names the party at addr: the agent string it sent, else what the
// address and port (or the address) announced in other messages, else the
// address itself (without the port, but on loopback: a TCP client's ports
// change).
func (b *addressBook) agentOf(agent string, addr netip.AddrPort) string {
	if agent == "" {
		agent = b.hostOf(addr).agent
	}
	// Agents are interned, and a few products send nearly all the
	// keep-alives: the last name found for an agent of each length
	// answers before the table.
	last := &b.vendorLast[len(agent)%len(b.vendorLast)]
	v := last.vendor
	if last.agent != agent || !last.known {
		var ok bool
		if v, ok = b.vendorNames[agent]; !ok {
			v = VendorName(agent)
			if len(b.vendorNames) < maxInterned { // phones that put their MAC in User-Agent
				b.vendorNames[agent] = v
			}
		}
		*last = agentName{agent, v, true}
	}
	if v != "" {
		return v
	}
	if !addr.IsValid() {
		return "unknown"
	}
	// A party that never names itself (many answer without Server) is
	// named per transaction as the sweep folds it: the last few names
	// answer before the string is made again.
	u := &b.unknownLast[addr.Port()%uint16(len(b.unknownLast))]
	if u.name != "" && u.addr == addr {
		return u.name
	}
	if first, ok := b.seenAs[addr.Addr()]; ok {
		// The same sender seen first at another tap: named as there.
		return b.agentOf("", netip.AddrPortFrom(first, addr.Port()))
	}
	var name string
	if addr.Addr().IsLoopback() {
		name = "unknown (" + addr.String() + ")" // the port tells a lab's parties apart
	} else {
		name = "unknown (" + addr.Addr().String() + ")"
	}
	*u = unknownName{addr, name}
	return name
}
