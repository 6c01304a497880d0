// Package filter compiles tcpdump-style capture filters to classic BPF in
// pure Go, for the kernel to run on an AF_PACKET socket. It covers what SIP
// captures use: host, net, port, portrange with src/dst and tcp/udp
// qualifiers and value lists; ip, ip6, arp, tcp, udp, sctp, icmp, icmp6,
// ip proto, less, greater; vlan with tcpdump's offset rule; ether host;
// byte tests and arithmetic such as "tcp[tcpflags] & tcp-syn != 0";
// and/or/not and parentheses. The programs accept the same packets as
// tcpdump's own for the same expression (tests compare them on the same
// packets, as a file holds them and as a live socket sees them).
package filter

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// node is a parsed filter expression.
type node interface{}

type andNode struct{ a, b node }
type orNode struct{ a, b node }
type notNode struct{ a node }

// dir is a src/dst qualifier.
type dir int

const (
	srcOrDst dir = iota
	src
	dst
)

// protoNode matches a protocol: ip, ip6, arp, tcp, udp, sctp, icmp.
type protoNode struct{ name string }

// hostNode matches an address (or a network with bits < full length).
type hostNode struct {
	dir    dir
	prefix netip.Prefix
}

// portNode matches a port or a port range of tcp, udp or sctp ("" = any).
type portNode struct {
	dir    dir
	proto  string
	lo, hi uint16
}

// lengthNode is "less N" (the packet is at most N bytes) or "greater N"
// (at least N).
type lengthNode struct {
	greater bool
	n       uint32
}

// protoNumNode is "ip proto N" or "ip6 proto N" (family "" for both).
type protoNumNode struct {
	family string
	num    uint32
}

// vlanNode is "vlan [ID]": an 802.1Q/802.1ad tag, with that VLAN ID
// if id >= 0. Like tcpdump, every test after it in the expression reads
// the frame 4 bytes further on.
type vlanNode struct{ id int }

// etherHostNode is "ether host MAC", "ether src MAC", "ether dst MAC".
type etherHostNode struct {
	dir dir
	mac [6]byte
}

// Error is a filter that cannot be compiled, with the reason.
type Error struct {
	Expr, Msg string
}

func (e *Error) Error() string { return fmt.Sprintf("filter %q: %s", e.Expr, e.Msg) }

type parser struct {
	expr string
	toks []string
	pos  int
	// last is the qualifier of the last host, net, port or portrange
	// primitive: tcpdump applies it to a bare value after "and" or "or"
	// ("port 5060 or 5061", "host 10.0.0.1 or 10.0.0.2").
	last *qualifier
}

// qualifier is what a value primitive says before its value.
type qualifier struct {
	d     dir
	proto string
	kind  string // host, net, port, portrange
}

// parse parses a tcpdump-style expression. An empty one matches everything.
func parse(expr string) (node, error) {
	p := &parser{expr: expr, toks: lex(expr)}
	if len(p.toks) == 0 {
		return nil, nil
	}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, p.errorf("unexpected %q", p.toks[p.pos])
	}
	return n, nil
}

var twoCharOps = map[string]bool{"&&": true, "||": true, "==": true, "!=": true, ">=": true, "<=": true, "<<": true, ">>": true}

// parseMAC reads a 48-bit MAC address written xx:xx:xx:xx:xx:xx,
// xx-xx-xx-xx-xx-xx or xxxx.xxxx.xxxx.
func parseMAC(w string) ([6]byte, bool) {
	hw, err := net.ParseMAC(w)
	if err != nil || len(hw) != 6 {
		return [6]byte{}, false
	}
	return [6]byte(hw), true
}

// lex splits an expression into words, numbers and operators.
func lex(s string) []string {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case strings.ContainsRune("()[]:", rune(c)):
			toks = append(toks, string(c))
			i++
		case len(s) > i+1 && twoCharOps[s[i:i+2]]:
			toks = append(toks, s[i:i+2])
			i += 2
		case strings.ContainsRune("!&|=<>+*", rune(c)):
			toks = append(toks, string(c))
			i++
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n()[]:!&|=<>+*", rune(s[j])) {
				j++
			}
			// IPv6 and MAC addresses contain ':'; take a word that parses
			// as one whole.
			if j < len(s) && s[j] == ':' {
				k := j
				for k < len(s) && !strings.ContainsRune(" \t\n()[]!&|=<>+*", rune(s[k])) {
					k++
				}
				if w := s[i:k]; strings.Count(w, ":") >= 2 {
					if _, err := netip.ParsePrefix(w); err == nil {
						j = k
					} else if _, err := netip.ParseAddr(w); err == nil {
						j = k
					} else if _, ok := parseMAC(w); ok {
						j = k
					}
				}
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks
}

func (p *parser) errorf(format string, args ...any) error {
	return &Error{Expr: p.expr, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *parser) next() string {
	t := p.peek()
	if t != "" {
		p.pos++
	}
	return t
}

func (p *parser) or() (node, error) {
	n, err := p.and()
	if err != nil {
		return nil, err
	}
	for t := p.peek(); t == "or" || t == "||"; t = p.peek() {
		p.next()
		m, err := p.and()
		if err != nil {
			return nil, err
		}
		n = orNode{n, m}
	}
	return n, nil
}

func (p *parser) and() (node, error) {
	n, err := p.unary()
	if err != nil {
		return nil, err
	}
	for t := p.peek(); t == "and" || t == "&&"; t = p.peek() {
		p.next()
		m, err := p.unary()
		if err != nil {
			return nil, err
		}
		n = andNode{n, m}
	}
	return n, nil
}

func (p *parser) unary() (node, error) {
	switch p.peek() {
	case "not", "!":
		p.next()
		n, err := p.unary()
		if err != nil {
			return nil, err
		}
		return notNode{n}, nil
	case "(":
		// "(tcp[12] & 0xf0) >> 2 > 20" is arithmetic, "(port 5060)" a group
		if n, ok := p.tryRelation(); ok {
			return n, nil
		}
		p.next()
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.next() != ")" {
			return nil, p.errorf("missing )")
		}
		return n, nil
	case "":
		return nil, p.errorf("expression ends too early")
	}
	if p.startsRelation() {
		return p.relation()
	}
	if q := p.last; q != nil && p.bareValue(p.peek()) {
		return p.value(*q)
	}
	return p.primitive()
}

// tryRelation parses a relation at the parser's position if there is one,
// and otherwise leaves the position where it was.
func (p *parser) tryRelation() (node, bool) {
	pos, last := p.pos, p.last
	if n, err := p.relation(); err == nil {
		return n, true
	}
	p.pos, p.last = pos, last
	return nil, false
}

// keywords are the words that start a primitive or join them.
var keywords = map[string]bool{"src": true, "dst": true, "host": true, "net": true, "port": true, "portrange": true,
	"and": true, "or": true, "not": true, "less": true, "greater": true, "proto": true, "mask": true, "icmp6": true,
	"len": true, "vlan": true, "broadcast": true, "multicast": true}

// bareValue reports whether t is a value with no primitive before it: a
// number, an address, a network or a service name, not a keyword or a
// protocol.
func (p *parser) bareValue(t string) bool {
	if t == "" || keywords[t] || protocols[t] || strings.ContainsAny(t, "()[]!&|=<>") {
		return false
	}
	return true
}

var protocols = map[string]bool{"ip": true, "ip6": true, "arp": true, "tcp": true, "udp": true, "sctp": true, "icmp": true, "icmp6": true, "ether": true}

func (p *parser) primitive() (node, error) {
	d := srcOrDst
	proto := ""
	for {
		switch t := p.peek(); {
		case t == "src" || t == "dst":
			if d != srcOrDst {
				return nil, p.errorf("src/dst given twice")
			}
			p.next()
			d = map[string]dir{"src": src, "dst": dst}[t]
			if p.peek() == "or" || p.peek() == "and" { // "src or dst port": both
				p.next()
				if n := p.next(); n != "src" && n != "dst" {
					return nil, p.errorf("expected src or dst after %q", t)
				}
				d = srcOrDst
			}
			continue
		case protocols[t] && proto == "":
			p.next()
			proto = t
			continue
		}
		break
	}
	if proto == "ether" {
		return p.ether(d)
	}
	switch t := p.next(); t {
	case "vlan":
		if proto != "" || d != srcOrDst {
			return nil, p.errorf("vlan takes no qualifier")
		}
		id := -1
		if _, err := strconv.ParseUint(p.peek(), 0, 16); err == nil {
			v, _ := p.number()
			if v > 4095 {
				return nil, p.errorf("vlan %d: a VLAN ID is 0 to 4095", v)
			}
			id = int(v)
		}
		return vlanNode{id}, nil
	case "host", "net", "port", "portrange":
		return p.value(qualifier{d, proto, t})
	case "less", "greater":
		if proto != "" || d != srcOrDst {
			return nil, p.errorf("%s takes no qualifier", t)
		}
		n, err := p.number()
		if err != nil {
			return nil, p.errorf("%s: want a packet length", t)
		}
		return lengthNode{greater: t == "greater", n: n}, nil
	case "proto":
		// ip proto N, ip6 proto N (or a name: tcp, udp, sctp, icmp)
		if proto != "ip" && proto != "ip6" && proto != "" || d != srcOrDst {
			return nil, p.errorf("proto: write ip proto N or ip6 proto N")
		}
		w := p.next()
		n, ok := protoNumbers[w]
		if !ok {
			v, err := strconv.ParseUint(w, 0, 8)
			if err != nil {
				return nil, p.errorf("proto %q: want a protocol number (0-255) or tcp, udp, sctp, icmp", w)
			}
			n = uint32(v)
		}
		return protoNumNode{family: proto, num: n}, nil
	case "":
		if proto != "" && d == srcOrDst {
			return protoNode{proto}, nil
		}
		return nil, p.errorf("expression ends too early")
	default:
		if proto != "" && d == srcOrDst {
			p.pos--
			return protoNode{proto}, nil
		}
		if _, err := netip.ParseAddr(t); err == nil {
			return nil, p.errorf("%q: write host %s", t, t)
		}
		return nil, p.errorf("unknown primitive %q (known: host, net, port, portrange, vlan, ether host, ip, ip6, arp, tcp, udp, sctp, icmp, icmp6, less, greater, PROTO[OFF:SIZE])", t)
	}
}

// value parses the value of a host, net, port or portrange primitive with
// its qualifier, and remembers the qualifier for a bare value after
// "and" or "or".
func (p *parser) value(q qualifier) (node, error) {
	p.last = &q
	w := p.next()
	if w == "" {
		return nil, p.errorf("%s: a value is missing", q.kind)
	}
	switch q.kind {
	case "host":
		if q.proto != "" && q.proto != "ip" && q.proto != "ip6" {
			return nil, p.errorf("%s host is not supported", q.proto)
		}
		a, err := netip.ParseAddr(w)
		if err != nil {
			return nil, p.errorf("host %q: not an IPv4 or IPv6 address (names are not resolved)", w)
		}
		if (q.proto == "ip" && !a.Is4()) || (q.proto == "ip6" && !a.Is6()) {
			return nil, p.errorf("%s host %s: wrong address family", q.proto, a)
		}
		return hostNode{q.d, netip.PrefixFrom(a, a.BitLen())}, nil
	case "net":
		pre, err := p.network(w)
		if err != nil {
			return nil, err
		}
		return hostNode{q.d, pre}, nil
	}
	if q.proto != "" && q.proto != "tcp" && q.proto != "udp" && q.proto != "sctp" {
		return nil, p.errorf("%s %s is not supported", q.proto, q.kind)
	}
	lo, hi := w, w
	if q.kind == "portrange" {
		if a, b, ok := strings.Cut(w, "-"); ok { // one port alone, as tcpdump takes it
			lo, hi = a, b
		}
	}
	l, ok1 := portNumber(lo, q.proto)
	h, ok2 := portNumber(hi, q.proto)
	if !ok1 || !ok2 {
		return nil, p.errorf("%s %q: not a port number or a service name", q.kind, w)
	}
	if l > h {
		l, h = h, l
	}
	return portNode{q.d, q.proto, l, h}, nil
}

// network parses a net value: a prefix ("10.0.0.0/8", "2001:db8::/32"),
// an address followed by "mask M", or tcpdump's short forms that leave out
// the zero bytes ("10" is 10.0.0.0/8, "192.168" 192.168.0.0/16).
func (p *parser) network(w string) (netip.Prefix, error) {
	if p.peek() == "mask" {
		p.next()
		m := p.next()
		a, err1 := netip.ParseAddr(w)
		mask, err2 := netip.ParseAddr(m)
		if err1 != nil || err2 != nil || !a.Is4() || !mask.Is4() {
			return netip.Prefix{}, p.errorf("net %s mask %s: want IPv4 address and mask", w, m)
		}
		mb := mask.As4()
		bits := 0
		for _, b := range mb {
			for i := 7; i >= 0; i-- {
				if b&(1<<i) != 0 {
					bits++
				}
			}
		}
		pre := netip.PrefixFrom(a, bits)
		if netip.PrefixFrom(mask, 32) != netip.PrefixFrom(netip.AddrFrom4([4]byte(maskOf(bits))), 32) {
			return netip.Prefix{}, p.errorf("mask %s is not contiguous", m)
		}
		if pre.Masked() != pre {
			return netip.Prefix{}, p.errorf("net %s mask %s has host bits set", w, m)
		}
		return pre, nil
	}
	if pre, err := netip.ParsePrefix(w); err == nil {
		if pre.Masked() != pre {
			return netip.Prefix{}, p.errorf("net %s has host bits set", w)
		}
		return pre, nil
	}
	if a, err := netip.ParseAddr(w); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	// 10, 172.16, 192.168.1: the bytes given, /8 each
	parts := strings.Split(w, ".")
	if len(parts) < 4 {
		var b [4]byte
		ok := true
		for i, part := range parts {
			v, err := strconv.ParseUint(part, 10, 8)
			if err != nil {
				ok = false
				break
			}
			b[i] = byte(v)
		}
		if ok {
			return netip.PrefixFrom(netip.AddrFrom4(b), 8*len(parts)), nil
		}
	}
	return netip.Prefix{}, p.errorf("net %q: want a network such as 10.0.0.0/8, 10.0.0.0 mask 255.0.0.0 or 10", w)
}

func maskOf(bits int) [4]byte {
	v := ^uint32(0) << (32 - bits)
	if bits == 0 {
		v = 0
	}
	return [4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}

// ether parses what follows "ether [src|dst]": host MAC, a MAC alone
// after src or dst, broadcast or multicast; "ether" alone is every frame.
func (p *parser) ether(d dir) (node, error) {
	switch t := p.peek(); {
	case t == "broadcast" && d == srcOrDst:
		p.next()
		return etherHostNode{dst, [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}, nil
	case t == "multicast" && d == srcOrDst:
		p.next()
		return relation{op: "!=", a: binArith{"&", loadArith{"ether", constArith{0}, 1}, constArith{1}}, b: constArith{0},
			expression: "ether[0] & 1 != 0"}, nil
	case t == "host":
		p.next()
	case d == srcOrDst:
		return protoNode{"ether"}, nil
	}
	w := p.next()
	mac, ok := parseMAC(w)
	if !ok {
		return nil, p.errorf("ether host %q: want a MAC address such as 02:00:5e:10:00:01", w)
	}
	return etherHostNode{d, mac}, nil
}

func (p *parser) number() (uint32, error) {
	t := p.next()
	n, err := strconv.ParseUint(t, 0, 32)
	if err != nil {
		return 0, p.errorf("%q is not a number", t)
	}
	return uint32(n), nil
}
