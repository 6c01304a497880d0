package filter

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/net/bpf"
)

// A relation compares two arithmetic expressions over packet bytes, as
// tcpdump's "tcp[tcpflags] & (tcp-syn|tcp-fin) != 0" or
// "tcp[((tcp[12] & 0xf0) >> 2):4] = 0x5349502f" (a TCP payload starting
// "SIP/").
type relation struct {
	op         string
	a, b       arith
	expression string
}

// arith is one operand: constArith, lenArith, loadArith or binArith.
type arith interface{}

type constArith struct{ v uint32 }

// lenArith is the packet's length ("len").
type lenArith struct{}

// loadArith is PROTO[OFF] or PROTO[OFF:SIZE]; OFF may itself be an
// expression.
type loadArith struct {
	proto string
	off   arith
	size  uint32
}

type binArith struct {
	op   string
	a, b arith
}

// loadProtocols are the headers a load can be relative to.
var loadProtocols = map[string]bool{"ether": true, "ip": true, "ip6": true, "tcp": true, "udp": true, "sctp": true, "icmp": true, "icmp6": true}

// namedValues are the constants tcpdump names in byte tests.
var namedValues = map[string]uint32{
	"tcpflags": 13, "icmptype": 0, "icmpcode": 1, "icmp6type": 0, "icmp6code": 1,
	"tcp-fin": 0x01, "tcp-syn": 0x02, "tcp-rst": 0x04, "tcp-push": 0x08, "tcp-ack": 0x10, "tcp-urg": 0x20, "tcp-ece": 0x40, "tcp-cwr": 0x80,
	"icmp-echoreply": 0, "icmp-unreach": 3, "icmp-sourcequench": 4, "icmp-redirect": 5, "icmp-echo": 8, "icmp-routeradvert": 9,
	"icmp-routersolicit": 10, "icmp-timxceed": 11, "icmp-paramprob": 12, "icmp-tstamp": 13, "icmp-tstampreply": 14,
	"icmp-ireq": 15, "icmp-ireqreply": 16, "icmp-maskreq": 17, "icmp-maskreply": 18,
	"icmp6-destinationunreach": 1, "icmp6-packettoobig": 2, "icmp6-timeexceeded": 3, "icmp6-parameterproblem": 4,
	"icmp6-echo": 128, "icmp6-echoreply": 129, "icmp6-multicastlistenerquery": 130, "icmp6-multicastlistenerreportv1": 131,
	"icmp6-multicastlistenerdone": 132, "icmp6-routersolicit": 133, "icmp6-routeradvert": 134, "icmp6-neighborsolicit": 135,
	"icmp6-neighboradvert": 136, "icmp6-redirect": 137,
}

// arithOps are the binary operators by precedence, loosest first, as in
// libpcap's grammar.
var arithOps = [][]string{{"|"}, {"&"}, {"<<", ">>"}, {"+", "-"}, {"*", "/", "%"}}

var relationOps = map[string]bpf.JumpTest{"=": bpf.JumpEqual, "==": bpf.JumpEqual, "!=": bpf.JumpNotEqual,
	">": bpf.JumpGreaterThan, "<": bpf.JumpLessThan, ">=": bpf.JumpGreaterOrEqual, "<=": bpf.JumpLessOrEqual}

// startsRelation reports whether the tokens at the parser's position
// begin a relation: a load, "len", or a number followed by an operator
// (a number alone is a bare value: "port 5060 or 5061").
func (p *parser) startsRelation() bool {
	t, after := p.peek(), ""
	if p.pos+1 < len(p.toks) {
		after = p.toks[p.pos+1]
	}
	if loadProtocols[t] && after == "[" || t == "len" {
		return true
	}
	if _, err := strconv.ParseUint(t, 0, 32); err != nil {
		return false
	}
	if _, ok := relationOps[after]; ok {
		return true
	}
	for _, ops := range arithOps {
		for _, o := range ops {
			if o == after {
				return true
			}
		}
	}
	return false
}

// relation parses ARITH OP ARITH.
func (p *parser) relation() (node, error) {
	start := p.pos
	a, err := p.arith(0)
	if err != nil {
		return nil, err
	}
	op := p.next()
	if _, ok := relationOps[op]; !ok {
		return nil, p.errorf("expected a comparison (=, !=, <, <=, >, >=) after %s, got %q", strings.Join(p.toks[start:p.pos-1], " "), op)
	}
	b, err := p.arith(0)
	if err != nil {
		return nil, err
	}
	return relation{op: op, a: a, b: b, expression: strings.Join(p.toks[start:p.pos], " ")}, nil
}

// arith parses an expression whose operators bind at least as tightly as
// arithOps[level].
func (p *parser) arith(level int) (arith, error) {
	if level == len(arithOps) {
		return p.operand()
	}
	a, err := p.arith(level + 1)
	if err != nil {
		return nil, err
	}
	for {
		op := p.peek()
		found := false
		for _, o := range arithOps[level] {
			found = found || o == op
		}
		if !found {
			return a, nil
		}
		p.next()
		b, err := p.arith(level + 1)
		if err != nil {
			return nil, err
		}
		if c, ok := b.(constArith); ok && c.v == 0 && (op == "/" || op == "%") {
			return nil, p.errorf("division by zero")
		}
		a = binArith{op, a, b}
	}
}

func (p *parser) operand() (arith, error) {
	t := p.next()
	switch {
	case t == "(":
		a, err := p.arith(0)
		if err != nil {
			return nil, err
		}
		if p.next() != ")" {
			return nil, p.errorf("missing ) in an arithmetic expression")
		}
		return a, nil
	case t == "len":
		return lenArith{}, nil
	case loadProtocols[t] && p.peek() == "[":
		p.next()
		off, err := p.arith(0)
		if err != nil {
			return nil, err
		}
		size := uint32(1)
		if p.peek() == ":" {
			p.next()
			w := p.next()
			s, err := strconv.ParseUint(w, 0, 32)
			if err != nil || (s != 1 && s != 2 && s != 4) {
				return nil, p.errorf("%s[...:%s]: size must be 1, 2 or 4", t, w)
			}
			size = uint32(s)
		}
		if p.next() != "]" {
			return nil, p.errorf("%s[...: missing ]", t)
		}
		return loadArith{proto: t, off: off, size: size}, nil
	}
	if v, ok := namedValues[t]; ok {
		return constArith{v}, nil
	}
	v, err := strconv.ParseUint(t, 0, 32)
	if err != nil {
		if t == "" {
			return nil, p.errorf("expression ends too early")
		}
		return nil, p.errorf("%q is not a number, a load such as tcp[13] or a name such as tcp-syn", t)
	}
	return constArith{uint32(v)}, nil
}

// loadsTransport reports whether an expression reads a transport header,
// which a later IP fragment does not have.
func loadsTransport(a arith) bool {
	switch a := a.(type) {
	case loadArith:
		switch a.proto {
		case "tcp", "udp", "sctp", "icmp":
			return true
		}
		return loadsTransport(a.off)
	case binArith:
		return loadsTransport(a.a) || loadsTransport(a.b)
	}
	return false
}

// guards are the protocol tests a relation's loads imply, as tcpdump adds
// them: ip[] needs IPv4, tcp[] an IPv4 TCP packet that is not a later
// fragment, and so on.
func (g *gen) guards(a arith, into []node) ([]node, error) {
	switch a := a.(type) {
	case loadArith:
		var guard node
		nh := g.nh()
		switch a.proto {
		case "ether":
			if g.link == RawIP {
				return nil, fmt.Errorf("ether[...] needs an Ethernet link")
			}
		case "ip":
			guard = etherType{"4"}
		case "ip6":
			guard = etherType{"6"}
		case "icmp6":
			guard = and(etherType{"6"}, cmp{size: 1, off: nh + 6, test: bpf.JumpEqual, val: 58})
		default: // tcp, udp, sctp, icmp: IPv4 only, not a later fragment
			notFragment := notNode{cmp{size: 2, off: nh + 6, test: bpf.JumpBitsSet, val: 0x1fff}}
			guard = and(etherType{"4"}, and(cmp{size: 1, off: nh + 9, test: bpf.JumpEqual, val: protoNumbers[a.proto]}, notFragment))
		}
		if guard != nil && !hasNode(into, guard) {
			into = append(into, guard)
		}
		return g.guards(a.off, into)
	case binArith:
		into, err := g.guards(a.a, into)
		if err != nil {
			return nil, err
		}
		return g.guards(a.b, into)
	}
	return into, nil
}

func hasNode(ns []node, n node) bool {
	for _, m := range ns {
		if m == n {
			return true
		}
	}
	return false
}

// lowerRelation is the relation's guards and then its comparison.
func (g *gen) lowerRelation(r relation) (node, error) {
	gs, err := g.guards(r.a, nil)
	if err != nil {
		return nil, err
	}
	if gs, err = g.guards(r.b, gs); err != nil {
		return nil, err
	}
	var n node = compare{r}
	for i := len(gs) - 1; i >= 0; i-- {
		n = and(gs[i], n)
	}
	return n, nil
}

// compare is a relation once its guards hold: the arithmetic itself.
type compare struct{ r relation }

// scratchSlots is classic BPF's scratch memory, M[0] to M[15].
const scratchSlots = 16

func (g *gen) compare(c compare, t, f label) error {
	test := relationOps[c.r.op]
	if k, ok := c.r.b.(constArith); ok {
		if err := g.arith(c.r.a, 0); err != nil {
			return err
		}
		g.jumpIf(test, k.v, t, f)
		return nil
	}
	if err := g.arith(c.r.b, 0); err != nil {
		return err
	}
	g.emit(bpf.StoreScratch{Src: bpf.RegA, N: 0})
	if err := g.arith(c.r.a, 1); err != nil {
		return err
	}
	g.emit(bpf.LoadScratch{Dst: bpf.RegX, N: 0})
	g.code = append(g.code, ginsn{cond: true, x: true, test: test, t: t, f: f})
	return nil
}

var aluOps = map[string]bpf.ALUOp{"+": bpf.ALUOpAdd, "-": bpf.ALUOpSub, "*": bpf.ALUOpMul, "/": bpf.ALUOpDiv, "%": bpf.ALUOpMod,
	"&": bpf.ALUOpAnd, "|": bpf.ALUOpOr, "<<": bpf.ALUOpShiftLeft, ">>": bpf.ALUOpShiftRight}

// arith leaves the value of a in register A, keeping intermediate values
// in scratch slots from depth up.
func (g *gen) arith(a arith, depth int) error {
	if depth >= scratchSlots {
		return fmt.Errorf("arithmetic too deep for classic BPF")
	}
	switch a := a.(type) {
	case constArith:
		g.emit(bpf.LoadConstant{Dst: bpf.RegA, Val: a.v})
	case lenArith:
		g.emit(bpf.LoadExtension{Num: bpf.ExtLen})
	case binArith:
		if k, ok := a.b.(constArith); ok {
			if err := g.arith(a.a, depth); err != nil {
				return err
			}
			g.emit(bpf.ALUOpConstant{Op: aluOps[a.op], Val: k.v})
			return nil
		}
		if err := g.arith(a.b, depth); err != nil {
			return err
		}
		g.emit(bpf.StoreScratch{Src: bpf.RegA, N: depth})
		if err := g.arith(a.a, depth+1); err != nil {
			return err
		}
		g.emit(bpf.LoadScratch{Dst: bpf.RegX, N: depth})
		g.emit(bpf.ALUOpX{Op: aluOps[a.op]})
	case loadArith:
		return g.load(a, depth)
	}
	return nil
}

// load reads SIZE bytes at OFF from the start of a.proto's header.
func (g *gen) load(a loadArith, depth int) error {
	var base uint32
	transport := false
	switch a.proto {
	case "ether":
		base = 0
	case "ip", "ip6":
		base = g.nh()
	case "icmp6":
		base = g.nh() + 40
	default:
		base, transport = g.nh(), true
	}
	if k, ok := a.off.(constArith); ok {
		if transport {
			g.emit(bpf.LoadMemShift{Off: g.nh()})
			g.emit(bpf.LoadIndirect{Off: base + k.v, Size: int(a.size)})
		} else {
			g.emit(bpf.LoadAbsolute{Off: base + k.v, Size: int(a.size)})
		}
		return nil
	}
	if err := g.arith(a.off, depth); err != nil {
		return err
	}
	if transport { // X = offset + the IPv4 header's length
		g.emit(bpf.StoreScratch{Src: bpf.RegA, N: depth})
		g.emit(bpf.LoadMemShift{Off: g.nh()})
		g.emit(bpf.LoadScratch{Dst: bpf.RegA, N: depth})
		g.emit(bpf.ALUOpX{Op: bpf.ALUOpAdd})
	}
	g.emit(bpf.TAX{})
	g.emit(bpf.LoadIndirect{Off: base, Size: int(a.size)})
	return nil
}
