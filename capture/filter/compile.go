package filter

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"golang.org/x/net/bpf"
)

// Link is the layout of the frames a program runs on.
type Link int

// Links a program can be compiled for.
const (
	// Ethernet frames as a file holds them, VLAN tags in place.
	Ethernet Link = iota
	// RawIP packets start with the IP header: AF_PACKET SOCK_DGRAM on
	// "any" and on tunnels.
	RawIP
	// LinuxEthernet is AF_PACKET SOCK_RAW on an Ethernet interface (also
	// loopback): the kernel has moved the outer VLAN tag out of the frame
	// into metadata, which the first "vlan" reads (SKF_AD_VLAN_TAG*), as
	// libpcap does on a live Linux capture.
	LinuxEthernet
)

// snapLen is what an accepting program returns: keep the whole packet.
const snapLen = 262144

// Compile compiles expr for frames of the given link. An empty expression
// accepts every packet.
func Compile(expr string, link Link) ([]bpf.RawInstruction, error) {
	n, err := parse(expr)
	if err != nil {
		return nil, err
	}
	if n == nil {
		n = trueNode{}
	}
	g := &gen{link: link}
	accept, reject := g.label(), g.label()
	if err := g.compile(n, accept, reject); err != nil {
		return nil, &Error{Expr: expr, Msg: err.Error()}
	}
	g.place(accept)
	g.emit(bpf.RetConstant{Val: snapLen})
	g.place(reject)
	g.emit(bpf.RetConstant{Val: 0})
	prog, err := g.assemble()
	if err != nil {
		return nil, &Error{Expr: expr, Msg: err.Error()}
	}
	return prog, nil
}

// KeepFragments widens a filter that tests ports or transport protocols
// so that it keeps IP fragments: a non-first fragment carries no port, and
// dropping it loses the whole datagram (the classic reason fragmented
// INVITEs vanish from port-filtered captures).
//
// Only the fragments the rest of the expression could match are kept: the
// expression with its port and transport tests taken as true ("host
// 10.0.0.1 and port 5060" keeps the fragments of 10.0.0.1; "ip6 and udp
// port 5060" IPv6 fragments alone).
//
// Every test after a "vlan" reads further into the frame, so a filter with
// VLANs is widened only after the tags it starts with ("vlan 100 and port
// 5060"); elsewhere a vlan would be read at the wrong place.
func KeepFragments(expr string) string {
	n, err := parse(expr)
	if err != nil || n == nil || !needsFragments(n) {
		return expr
	}
	prefix := ""
	if hasVLAN(n) {
		var tags []node
		tags, n = leadingVLANs(n)
		if n == nil || hasVLAN(n) {
			return expr
		}
		for _, t := range tags {
			prefix += text(t) + " and "
		}
		expr = text(n)
	}
	const fragments = "(ip[6:2] & 0x1fff != 0) or (ip6[6] == 44)"
	rest := relax(n)
	if _, all := rest.(trueNode); all {
		if prefix != "" {
			return prefix + "((" + expr + ") or " + fragments + ")"
		}
		return "(" + expr + ") or " + fragments
	}
	widened := "(" + expr + ") or ((" + fragments + ") and (" + text(rest) + "))"
	if prefix != "" {
		return prefix + "(" + widened + ")"
	}
	return widened
}

func hasVLAN(n node) bool {
	switch n := n.(type) {
	case andNode:
		return hasVLAN(n.a) || hasVLAN(n.b)
	case orNode:
		return hasVLAN(n.a) || hasVLAN(n.b)
	case notNode:
		return hasVLAN(n.a)
	case vlanNode:
		return true
	}
	return false
}

// leadingVLANs splits "vlan A and vlan B and REST" into its tags and REST
// (nil if nothing follows the tags).
func leadingVLANs(n node) ([]node, node) {
	var conj []node
	var flatten func(node)
	flatten = func(n node) {
		if a, ok := n.(andNode); ok {
			flatten(a.a)
			flatten(a.b)
			return
		}
		conj = append(conj, n)
	}
	flatten(n)
	i := 0
	for i < len(conj) {
		if _, ok := conj[i].(vlanNode); !ok {
			break
		}
		i++
	}
	if i == len(conj) {
		return conj, nil
	}
	rest := conj[i]
	for _, c := range conj[i+1:] {
		rest = andNode{rest, c}
	}
	return conj[:i], rest
}

// relax takes every test a fragment cannot answer (ports, the transport)
// as true, and simplifies: what is left is what a fragment must match.
// A negated test of that kind makes its whole negation true.
func relax(n node) node {
	switch n := n.(type) {
	case andNode:
		a, b := relax(n.a), relax(n.b)
		if _, ok := a.(trueNode); ok {
			return b
		}
		if _, ok := b.(trueNode); ok {
			return a
		}
		return andNode{a, b}
	case orNode:
		a, b := relax(n.a), relax(n.b)
		_, ta := a.(trueNode)
		_, tb := b.(trueNode)
		if ta || tb {
			return trueNode{}
		}
		return orNode{a, b}
	case notNode:
		if needsFragments(n.a) {
			return trueNode{}
		}
		return n
	}
	if needsFragments(n) {
		return trueNode{}
	}
	return n
}

// text writes a parsed expression back as tcpdump reads it.
func text(n node) string {
	switch n := n.(type) {
	case andNode:
		return "(" + text(n.a) + ") and (" + text(n.b) + ")"
	case orNode:
		return "(" + text(n.a) + ") or (" + text(n.b) + ")"
	case notNode:
		return "not (" + text(n.a) + ")"
	case protoNode:
		return n.name
	case protoNumNode:
		if n.family == "" {
			return fmt.Sprintf("proto %d", n.num)
		}
		return fmt.Sprintf("%s proto %d", n.family, n.num)
	case lengthNode:
		if n.greater {
			return fmt.Sprintf("greater %d", n.n)
		}
		return fmt.Sprintf("less %d", n.n)
	case relation:
		return n.expression
	case vlanNode:
		if n.id < 0 {
			return "vlan"
		}
		return fmt.Sprintf("vlan %d", n.id)
	case etherHostNode:
		d := [...]string{"", "src ", "dst "}[n.dir]
		return "ether " + d + "host " + net.HardwareAddr(n.mac[:]).String()
	case portNode:
		s := [...]string{"", "src ", "dst "}[n.dir]
		if n.proto != "" {
			s += n.proto + " "
		}
		if n.lo == n.hi {
			return s + fmt.Sprintf("port %d", n.lo)
		}
		return s + fmt.Sprintf("portrange %d-%d", n.lo, n.hi)
	case hostNode:
		d := [...]string{"", "src ", "dst "}[n.dir]
		if n.prefix.Bits() == n.prefix.Addr().BitLen() {
			return d + "host " + n.prefix.Addr().String()
		}
		return d + "net " + n.prefix.String()
	}
	return ""
}

func needsFragments(n node) bool {
	switch n := n.(type) {
	case andNode:
		return needsFragments(n.a) || needsFragments(n.b)
	case orNode:
		return needsFragments(n.a) || needsFragments(n.b)
	case notNode:
		return needsFragments(n.a)
	case portNode:
		return true
	case protoNode:
		return n.name == "tcp" || n.name == "udp" || n.name == "sctp"
	case relation:
		return loadsTransport(n.a) || loadsTransport(n.b)
	}
	return false
}

// Internal nodes the primitives are lowered to.
type (
	trueNode  struct{}
	falseNode struct{}
	// etherType tests the link's network protocol: 4, 6 or "arp".
	etherType struct{ kind string }
	// cmp loads a value, optionally masks it, and compares it.
	cmp struct {
		size     int    // 1, 2 or 4 bytes
		off      uint32 // from the start of the frame
		indirect bool   // add the IPv4 header length (X) to off
		mask     uint32
		hasMask  bool
		test     bpf.JumpTest
		val      uint32
	}
)

type label int

type ginsn struct {
	ins    bpf.Instruction
	cond   bool
	x      bool // compare with X, not val
	test   bpf.JumpTest
	val    uint32
	t, f   label
	jump   bool
	target label
}

type gen struct {
	link   Link
	code   []ginsn
	labels []int
	// shift is how far "vlan" primitives so far have moved the link
	// payload; vlans counts them.
	shift uint32
	vlans int
}

func (g *gen) label() label {
	g.labels = append(g.labels, -1)
	return label(len(g.labels) - 1)
}

func (g *gen) place(l label) { g.labels[l] = len(g.code) }

func (g *gen) emit(i bpf.Instruction) { g.code = append(g.code, ginsn{ins: i}) }

func (g *gen) jumpIf(test bpf.JumpTest, val uint32, t, f label) {
	g.code = append(g.code, ginsn{cond: true, test: test, val: val, t: t, f: f})
}

func (g *gen) jumpTo(l label) { g.code = append(g.code, ginsn{jump: true, target: l}) }

// nh is where the network header starts.
func (g *gen) nh() uint32 {
	if g.link == RawIP {
		return 0
	}
	return 14 + g.shift
}

func (g *gen) compile(n node, t, f label) error {
	switch n := n.(type) {
	case andNode:
		m := g.label()
		if err := g.compile(n.a, m, f); err != nil {
			return err
		}
		g.place(m)
		return g.compile(n.b, t, f)
	case orNode:
		m := g.label()
		if err := g.compile(n.a, t, m); err != nil {
			return err
		}
		g.place(m)
		return g.compile(n.b, t, f)
	case notNode:
		return g.compile(n.a, f, t)
	case trueNode:
		g.jumpTo(t)
	case falseNode:
		g.jumpTo(f)
	case etherType:
		g.etherType(n.kind, t, f)
	case compare:
		return g.compare(n, t, f)
	case vlanNode:
		return g.vlan(n, t, f)
	case lengthNode:
		g.emit(bpf.LoadExtension{Num: bpf.ExtLen})
		if n.greater {
			g.jumpIf(bpf.JumpGreaterOrEqual, n.n, t, f)
		} else {
			g.jumpIf(bpf.JumpLessOrEqual, n.n, t, f)
		}
	case cmp:
		if n.indirect {
			g.emit(bpf.LoadMemShift{Off: g.nh()})
			g.emit(bpf.LoadIndirect{Off: n.off, Size: n.size})
		} else {
			g.emit(bpf.LoadAbsolute{Off: n.off, Size: n.size})
		}
		if n.hasMask {
			g.emit(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: n.mask})
		}
		g.jumpIf(n.test, n.val, t, f)
	default:
		lowered, err := g.lower(n)
		if err != nil {
			return err
		}
		return g.compile(lowered, t, f)
	}
	return nil
}

func (g *gen) etherType(kind string, t, f label) {
	if g.link != RawIP {
		g.emit(bpf.LoadAbsolute{Off: 12 + g.shift, Size: 2})
		switch kind {
		case "4":
			g.jumpIf(bpf.JumpEqual, 0x800, t, f)
		case "6":
			g.jumpIf(bpf.JumpEqual, 0x86dd, t, f)
		case "arp":
			m := g.label()
			g.jumpIf(bpf.JumpEqual, 0x806, t, m)
			g.place(m)
			g.jumpIf(bpf.JumpEqual, 0x8035, t, f)
		}
		return
	}
	if kind == "arp" {
		g.jumpTo(f) // no ARP without a link header
		return
	}
	g.emit(bpf.LoadAbsolute{Off: 0, Size: 1})
	g.emit(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0xf0})
	if kind == "4" {
		g.jumpIf(bpf.JumpEqual, 0x40, t, f)
	} else {
		g.jumpIf(bpf.JumpEqual, 0x60, t, f)
	}
}

func and(a, b node) node { return andNode{a, b} }
func or(a, b node) node  { return orNode{a, b} }

var protoNumbers = map[string]uint32{"tcp": 6, "udp": 17, "sctp": 132, "icmp": 1}

// lower turns a primitive into tests on bytes.
func (g *gen) lower(n node) (node, error) {
	nh := g.nh()
	ip4, ip6 := etherType{"4"}, etherType{"6"}
	switch n := n.(type) {
	case protoNode:
		switch n.name {
		case "ether":
			return trueNode{}, nil
		case "ip":
			return ip4, nil
		case "ip6":
			return ip6, nil
		case "arp":
			return etherType{"arp"}, nil
		case "icmp":
			return and(ip4, cmp{size: 1, off: nh + 9, test: bpf.JumpEqual, val: 1}), nil
		case "icmp6":
			return g.ipProto("ip6", 58), nil
		}
		return g.ipProto("", protoNumbers[n.name]), nil
	case protoNumNode:
		return g.ipProto(n.family, n.num), nil
	case portNode:
		protoTest := func(off uint32) node {
			if n.proto != "" {
				return cmp{size: 1, off: off, test: bpf.JumpEqual, val: protoNumbers[n.proto]}
			}
			return or(cmp{size: 1, off: off, test: bpf.JumpEqual, val: 132},
				or(cmp{size: 1, off: off, test: bpf.JumpEqual, val: 6}, cmp{size: 1, off: off, test: bpf.JumpEqual, val: 17}))
		}
		portTest := func(off uint32, indirect bool) node {
			in := func(o uint32) node {
				if n.lo == n.hi {
					return cmp{size: 2, off: o, indirect: indirect, test: bpf.JumpEqual, val: uint32(n.lo)}
				}
				return and(cmp{size: 2, off: o, indirect: indirect, test: bpf.JumpGreaterOrEqual, val: uint32(n.lo)},
					cmp{size: 2, off: o, indirect: indirect, test: bpf.JumpLessOrEqual, val: uint32(n.hi)})
			}
			switch n.dir {
			case src:
				return in(off)
			case dst:
				return in(off + 2)
			}
			return or(in(off), in(off+2))
		}
		v6 := and(ip6, and(protoTest(nh+6), portTest(nh+40, false)))
		notFragment := notNode{cmp{size: 2, off: nh + 6, test: bpf.JumpBitsSet, val: 0x1fff}}
		v4 := and(ip4, and(protoTest(nh+9), and(notFragment, portTest(nh, true))))
		return or(v6, v4), nil
	case hostNode:
		return g.host(n), nil
	case relation:
		return g.lowerRelation(n)
	case etherHostNode:
		return g.etherHost(n)
	}
	return nil, fmt.Errorf("cannot compile %T", n)
}

// ipProto tests the IP protocol of IPv4 ("ip"), IPv6 ("ip6") or either
// (""): IPv6's next header, or the one after a fragment header, as
// tcpdump tests it.
func (g *gen) ipProto(family string, p uint32) node {
	nh := g.nh()
	v4 := and(etherType{"4"}, cmp{size: 1, off: nh + 9, test: bpf.JumpEqual, val: p})
	v6 := and(etherType{"6"}, or(cmp{size: 1, off: nh + 6, test: bpf.JumpEqual, val: p},
		and(cmp{size: 1, off: nh + 6, test: bpf.JumpEqual, val: 44}, cmp{size: 1, off: nh + 40, test: bpf.JumpEqual, val: p})))
	switch family {
	case "ip":
		return v4
	case "ip6":
		return v6
	}
	return or(v4, v6)
}

// host tests an address or network, as tcpdump does: for IPv4 also the
// sender and target of ARP and RARP.
func (g *gen) host(n hostNode) node {
	nh := g.nh()
	addr := n.prefix.Addr()
	if addr.Is4() {
		test := func(off uint32) node { return prefixWord(off, addr.As4(), n.prefix.Bits()) }
		pick := func(srcOff, dstOff uint32) node {
			switch n.dir {
			case src:
				return test(srcOff)
			case dst:
				return test(dstOff)
			}
			return or(test(srcOff), test(dstOff))
		}
		return or(and(etherType{"4"}, pick(nh+12, nh+16)), and(etherType{"arp"}, pick(nh+14, nh+24)))
	}
	a16 := addr.As16()
	test := func(off uint32) node {
		var all node = trueNode{}
		bits := n.prefix.Bits()
		for w := 0; w < 4 && bits > 0; w++ {
			word := [4]byte(a16[w*4 : w*4+4])
			t := prefixWord(off+uint32(w*4), word, min(bits, 32))
			if _, ok := all.(trueNode); ok {
				all = t
			} else {
				all = and(all, t)
			}
			bits -= 32
		}
		return all
	}
	var t node
	switch n.dir {
	case src:
		t = test(nh + 8)
	case dst:
		t = test(nh + 24)
	default:
		t = or(test(nh+8), test(nh+24))
	}
	return and(etherType{"6"}, t)
}

// prefixWord compares the 32-bit word at off with the first bits of v.
func prefixWord(off uint32, v [4]byte, bits int) node {
	val := uint32(v[0])<<24 | uint32(v[1])<<16 | uint32(v[2])<<8 | uint32(v[3])
	c := cmp{size: 4, off: off, test: bpf.JumpEqual}
	if bits < 32 {
		mask := ^uint32(0) << (32 - bits)
		c.mask, c.hasMask = mask, true
		val &= mask
	}
	c.val = val
	return c
}

// assemble resolves labels into jump offsets.
func (g *gen) assemble() ([]bpf.RawInstruction, error) {
	// index of each generated instruction once indirect loads expand
	var prog []bpf.Instruction
	for i, c := range g.code {
		switch {
		case c.cond:
			st, sf := g.labels[c.t]-i-1, g.labels[c.f]-i-1
			if st < 0 || sf < 0 || st > 255 || sf > 255 {
				return nil, errors.New("filter too complex for classic BPF jumps")
			}
			if c.x {
				prog = append(prog, bpf.JumpIfX{Cond: c.test, SkipTrue: uint8(st), SkipFalse: uint8(sf)})
			} else {
				prog = append(prog, bpf.JumpIf{Cond: c.test, Val: c.val, SkipTrue: uint8(st), SkipFalse: uint8(sf)})
			}
		case c.jump:
			prog = append(prog, bpf.Jump{Skip: uint32(g.labels[c.target] - i - 1)})
		default:
			prog = append(prog, c.ins)
		}
	}
	if len(prog) > 4096 { // BPF_MAXINSNS
		return nil, errors.New("filter too long for classic BPF")
	}
	return bpf.Assemble(prog)
}

// Check parses an expression without compiling it, for early usage errors.
func Check(expr string) error {
	_, err := parse(expr)
	return err
}

// Dump compiles expr for link and writes the program one instruction a
// line, numbered as tcpdump -d numbers them.
func Dump(expr string, link Link) (string, error) {
	raw, err := Compile(expr, link)
	if err != nil {
		return "", err
	}
	insns, _ := bpf.Disassemble(raw)
	var b strings.Builder
	for i, in := range insns {
		fmt.Fprintf(&b, "(%03d) %s\n", i, in)
	}
	return b.String(), nil
}

// tpids are the tag protocol identifiers tcpdump takes for a VLAN tag:
// 802.1Q, 802.1ad and the older QinQ value.
var tpids = []uint32{0x8100, 0x88a8, 0x9100}

// vlan tests a VLAN tag, and moves every later test 4 bytes on, as
// tcpdump does. On a live Linux socket the first tag is in metadata and
// the frame is not moved.
func (g *gen) vlan(n vlanNode, t, f label) error {
	if g.link == RawIP {
		return errors.New("vlan needs an Ethernet interface (not any or a tunnel)")
	}
	g.vlans++
	if g.link == LinuxEthernet && g.vlans == 1 {
		g.emit(bpf.LoadExtension{Num: bpf.ExtVLANTagPresent})
		if n.id < 0 {
			g.jumpIf(bpf.JumpEqual, 1, t, f)
			return nil
		}
		m := g.label()
		g.jumpIf(bpf.JumpEqual, 1, m, f)
		g.place(m)
		g.emit(bpf.LoadExtension{Num: bpf.ExtVLANTag})
		g.emit(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0xfff})
		g.jumpIf(bpf.JumpEqual, uint32(n.id), t, f)
		return nil
	}
	tag := g.label()
	g.emit(bpf.LoadAbsolute{Off: 12 + g.shift, Size: 2})
	for i, tpid := range tpids {
		next := f
		if i < len(tpids)-1 {
			next = g.label()
		}
		g.jumpIf(bpf.JumpEqual, tpid, tag, next)
		if i < len(tpids)-1 {
			g.place(next)
		}
	}
	g.place(tag)
	if n.id >= 0 {
		g.emit(bpf.LoadAbsolute{Off: 14 + g.shift, Size: 2})
		g.emit(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0xfff})
		m := g.label()
		g.jumpIf(bpf.JumpEqual, uint32(n.id), m, f)
		g.place(m)
	}
	g.shift += 4
	g.jumpTo(t)
	return nil
}

// etherHost compares a MAC address with the frame's destination (offset
// 0) or source (offset 6): a 32-bit word and a 16-bit half each.
func (g *gen) etherHost(n etherHostNode) (node, error) {
	if g.link == RawIP {
		return nil, errors.New("ether host needs an Ethernet interface (not any or a tunnel)")
	}
	m := n.mac
	at := func(off uint32) node {
		return and(cmp{size: 4, off: off + 2, test: bpf.JumpEqual, val: uint32(m[2])<<24 | uint32(m[3])<<16 | uint32(m[4])<<8 | uint32(m[5])},
			cmp{size: 2, off: off, test: bpf.JumpEqual, val: uint32(m[0])<<8 | uint32(m[1])})
	}
	switch n.dir {
	case src:
		return at(6), nil
	case dst:
		return at(0), nil
	}
	return or(at(6), at(0)), nil
}
