// Package filter compiles tcpdump-style capture filters to classic BPF in
// pure Go, for the kernel to run on an AF_PACKET socket. It covers what SIP
// captures use: host, net, port, portrange with src/dst and tcp/udp
// qualifiers; ip, ip6, arp, tcp, udp, sctp, icmp; byte tests such as
// "ip[6:2] & 0x1fff != 0"; and/or/not and parentheses. The programs accept
// the same packets as tcpdump's own for the same expression (tests compare
// them on the same packets).
package filter

import (
	"fmt"
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

// byteTest is PROTO[OFF:SIZE] [& MASK] OP VALUE.
type byteTest struct {
	proto      string // "ether", "ip", "ip6", "tcp", "udp"
	off, size  uint32
	mask       uint32
	hasMask    bool
	op         string
	value      uint32
	expression string
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
		case strings.HasPrefix(s[i:], "&&") || strings.HasPrefix(s[i:], "||") || strings.HasPrefix(s[i:], "==") ||
			strings.HasPrefix(s[i:], "!=") || strings.HasPrefix(s[i:], ">=") || strings.HasPrefix(s[i:], "<="):
			toks = append(toks, s[i:i+2])
			i += 2
		case strings.ContainsRune("!&|=<>", rune(c)):
			toks = append(toks, string(c))
			i++
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n()[]:!&|=<>", rune(s[j])) {
				j++
			}
			// IPv6 addresses contain ':'; take a word that parses as one whole.
			if j < len(s) && s[j] == ':' {
				k := j
				for k < len(s) && !strings.ContainsRune(" \t\n()[]!&|=<>", rune(s[k])) {
					k++
				}
				if w := s[i:k]; strings.Count(w, ":") >= 2 {
					if _, err := netip.ParsePrefix(w); err == nil {
						j = k
					} else if _, err := netip.ParseAddr(w); err == nil {
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
	return p.primitive()
}

var protocols = map[string]bool{"ip": true, "ip6": true, "arp": true, "tcp": true, "udp": true, "sctp": true, "icmp": true, "ether": true}

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
			if p.peek() == "[" {
				return p.byteTest(proto)
			}
			continue
		}
		break
	}
	switch t := p.next(); t {
	case "host":
		if proto != "" && proto != "ip" && proto != "ip6" {
			return nil, p.errorf("%s host is not supported", proto)
		}
		a, err := netip.ParseAddr(p.next())
		if err != nil {
			return nil, p.errorf("host: %v", err)
		}
		if (proto == "ip" && !a.Is4()) || (proto == "ip6" && !a.Is6()) {
			return nil, p.errorf("%s host %s: wrong address family", proto, a)
		}
		return hostNode{d, netip.PrefixFrom(a, a.BitLen())}, nil
	case "net":
		w := p.next()
		pre, err := netip.ParsePrefix(w)
		if err != nil {
			return nil, p.errorf("net: %v", err)
		}
		if pre.Masked() != pre {
			return nil, p.errorf("net %s has host bits set", w)
		}
		return hostNode{d, pre}, nil
	case "port", "portrange":
		if proto != "" && proto != "tcp" && proto != "udp" && proto != "sctp" {
			return nil, p.errorf("%s %s is not supported", proto, t)
		}
		w := p.next()
		lo, hi := w, w
		if t == "portrange" {
			var ok bool
			if lo, hi, ok = strings.Cut(w, "-"); !ok {
				return nil, p.errorf("portrange %q: want LOW-HIGH", w)
			}
		}
		l, err1 := strconv.ParseUint(lo, 10, 16)
		h, err2 := strconv.ParseUint(hi, 10, 16)
		if err1 != nil || err2 != nil {
			return nil, p.errorf("%s %q: not a port number", t, w)
		}
		if l > h {
			l, h = h, l
		}
		return portNode{d, proto, uint16(l), uint16(h)}, nil
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
		return nil, p.errorf("unknown primitive %q (known: host, net, port, portrange, ip, ip6, arp, tcp, udp, sctp, icmp, PROTO[OFF:SIZE])", t)
	}
}

// byteTest parses PROTO[OFF(:SIZE)?] (& MASK)? OP VALUE.
func (p *parser) byteTest(proto string) (node, error) {
	start := p.pos - 1
	p.next() // [
	off, err := p.number()
	if err != nil {
		return nil, err
	}
	size := uint32(1)
	if p.peek() == ":" {
		p.next()
		if size, err = p.number(); err != nil {
			return nil, err
		}
		if size != 1 && size != 2 && size != 4 {
			return nil, p.errorf("%s[%d:%d]: size must be 1, 2 or 4", proto, off, size)
		}
	}
	if p.next() != "]" {
		return nil, p.errorf("missing ]")
	}
	bt := byteTest{proto: proto, off: off, size: size}
	if p.peek() == "&" {
		p.next()
		if bt.mask, err = p.number(); err != nil {
			return nil, err
		}
		bt.hasMask = true
	}
	switch op := p.next(); op {
	case "=", "==", "!=", ">", "<", ">=", "<=":
		bt.op = op
	default:
		return nil, p.errorf("%s[...]: expected a comparison, got %q", proto, op)
	}
	if bt.value, err = p.number(); err != nil {
		return nil, err
	}
	bt.expression = strings.Join(p.toks[start:p.pos], " ")
	return bt, nil
}

func (p *parser) number() (uint32, error) {
	t := p.next()
	n, err := strconv.ParseUint(t, 0, 32)
	if err != nil {
		return 0, p.errorf("%q is not a number", t)
	}
	return uint32(n), nil
}
