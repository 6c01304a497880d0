package filter

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/net/bpf"

	"github.com/sipalive/sipalive/samples/synth"
)

var update = flag.Bool("update", false, "regenerate testdata/tcpdump-*.txt with tcpdump -ddd")

// expressions are compared with tcpdump's programs for the same text.
var expressions = []string{
	"", "udp", "tcp", "ip", "ip6", "arp", "icmp",
	"port 5060", "udp port 5060", "tcp port 5061", "src port 5060", "dst port 5080",
	"udp dst port 5060", "portrange 5060-5080", "tcp portrange 5061-5100", "src portrange 5000-5070",
	"host 192.0.2.10", "src host 192.0.2.10", "dst host 192.0.2.20", "host 2001:db8::10",
	"ip6 host 2001:db8::20", "net 192.0.2.0/24", "dst net 198.51.100.0/24", "net 2001:db8::/32",
	"not port 5060", "udp and (port 5060 or port 5080)", "host 192.0.2.10 and not tcp",
	"port 5060 or port 5061 or portrange 5080-5090", "! udp && ip", "ip[6:2] & 0x1fff != 0", "ip6[6] == 44",
	"udp[2:2] = 5060", "ip[9] = 17 and ip[8] > 10",
	KeepFragments("port 5060"), KeepFragments("udp portrange 5060-5070"),
	// the forms tcpdump users type
	"port sip", "udp port sip or sip-tls", "port 5060 or 5061", "host 192.0.2.10 or 192.0.2.20", "src host 192.0.2.10 or 198.51.100.5",
	"net 192.0.2.0 mask 255.255.255.0", "net 192.0.2", "net 10 or net 198.51.100", "ip proto 17", "ip6 proto 17", "proto 6",
	"icmp6", "less 200", "greater 700", "udp and greater 300", "tcp portrange 5060-5070 or 5080",
	KeepFragments("host 192.0.2.10 and port 5060"), KeepFragments("ip6 and udp port 5060"), KeepFragments("not port 5060"),
	KeepFragments("net 198.51.100.0/24 and (port 5060 or port 5080)"),
	// VLANs: every test after a vlan reads 4 bytes further on
	"vlan", "vlan 100", "vlan 200", "vlan and udp port 5060", "vlan 100 and host 192.0.2.10", "vlan 200 and vlan 100 and udp",
	"vlan and vlan and ip6", "not vlan and udp", "vlan 100 or udp", "tcp or vlan 200", "vlan 0x64 and tcp portrange 5060-5070",
	// link addresses
	"ether host 02:00:00:00:00:0a", "ether src 02:00:00:00:00:0a", "ether dst host 02-00-00-00-00-0b", "ether src host 0200.0000.000b",
	"ether broadcast", "ether multicast", "ether host 02:00:00:00:00:0a and not udp",
	// byte tests and arithmetic
	"tcp[tcpflags] & (tcp-syn|tcp-fin) != 0", "tcp[13] & tcp-ack == tcp-ack", "tcp[tcpflags] == tcp-syn", "tcp[tcpflags] & tcp-syn != 0 and port 5061",
	"udp[8:4] = 0x4f505449", "tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x494e464f", "udp[8:2] == 0x5349 or udp[8:4] == 0x4f505449",
	"icmp[icmptype] == icmp-echo", "icmp6[icmp6type] == icmp6-echo", "len > 300", "len <= 100 + 20",
	"ip[2:2] - ((ip[0] & 0xf) << 2) > 100", "(ip[0] & 0xf) == 5 and udp", "ip[2:2] > len - 40", "ip6[4:2] * 2 >= 400 / 2",
	"udp[4:2] > 30 and port 5060", "ip[9] + 1 == 18", "(udp[0:2] == 5060) or (udp[2:2] == 5060)", "ether[12:2] = 0x8100",
	"vlan and tcp[tcpflags] & tcp-syn != 0", "udp[8 + 1:2] == 0x5054", "ip[2:2] % 10 == 0",
	KeepFragments("vlan 100 and udp port 5060"), KeepFragments("vlan 200 and vlan 100 and host 192.0.2.10 and port 5060"),
}

// packets builds the frames the programs are run on: every transport and
// address family, first and later fragments, ARP and ICMP.
func packets(t *testing.T, link synth.Link) [][]byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := synth.NewWriter(&buf, synth.Options{Link: link, MTU: 300})
	if err != nil {
		t.Fatal(err)
	}
	hosts := []string{"192.0.2.10", "192.0.2.20", "198.51.100.5", "[2001:db8::10]", "[2001:db8::20]", "[2001:db9::1]"}
	ports := []int{53, 5060, 5061, 5070, 5080, 5090, 8080}
	big := bytes.Repeat([]byte("x"), 700) // fragments at MTU 300
	for i, h := range hosts {
		for j, port := range ports {
			src := netip.MustParseAddrPort(fmt.Sprintf("%s:%d", h, 40000+j))
			peer := hosts[(i+1)%3]
			if strings.HasPrefix(h, "[") {
				peer = hosts[3+(i+1)%3]
			}
			dst := netip.MustParseAddrPort(fmt.Sprintf("%s:%d", peer, port))
			if err := w.UDP(src, dst, []byte("SIP/2.0 200 OK\r\n\r\n")); err != nil {
				t.Fatal(err)
			}
			if err := w.UDP(dst, src, []byte("OPTIONS sip:x SIP/2.0\r\n\r\n")); err != nil {
				t.Fatal(err)
			}
			if err := w.TCP(src, dst, []byte("INFO sip:x SIP/2.0\r\n\r\n")); err != nil {
				t.Fatal(err)
			}
			if j%3 == 0 {
				if err := w.UDP(src, dst, big); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	r, err := pcapgo.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for {
		data, _, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, data)
	}
	if link == synth.Ethernet {
		out = append(out, arpFrame(), icmpFrame(), icmp6Frame())
		// the same traffic on a VLAN and on a QinQ trunk
		out = append(out, packets(t, synth.EthernetVLAN)...)
		out = append(out, packets(t, synth.EthernetQinQ)...)
	}
	return out
}

func arpFrame() []byte {
	f := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 0x0a, 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 0x0a}
	f = append(f, 192, 0, 2, 10, 0, 0, 0, 0, 0, 0, 192, 0, 2, 20)
	return f
}

// icmp6Frame is an ICMPv6 echo request.
func icmp6Frame() []byte {
	f := []byte{2, 0, 0, 0, 0, 0x0b, 2, 0, 0, 0, 0, 0x0a, 0x86, 0xdd, 0x60, 0, 0, 0, 0, 8, 58, 64}
	f = append(f, netip.MustParseAddr("2001:db8::10").AsSlice()...)
	f = append(f, netip.MustParseAddr("2001:db8::20").AsSlice()...)
	return append(f, 128, 0, 0, 0, 0, 1, 0, 1)
}

func icmpFrame() []byte {
	f := []byte{2, 0, 0, 0, 0, 0x0b, 2, 0, 0, 0, 0, 0x0a, 0x08, 0x00,
		0x45, 0, 0, 28, 0, 1, 0, 0, 64, 1, 0, 0, 192, 0, 2, 10, 192, 0, 2, 20, 8, 0, 0, 0, 0, 1, 0, 1}
	return f
}

var links = []struct {
	name  string
	link  Link
	synth synth.Link
}{{"en10mb", Ethernet, synth.Ethernet}, {"raw", RawIP, synth.RawIP}}

// tcpdumpPrograms loads tcpdump's programs: expression, then tcpdump -ddd
// output, then a blank line.
func tcpdumpPrograms(t *testing.T, name string) map[string][]bpf.RawInstruction {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "tcpdump-"+name+".txt"))
	if err != nil {
		t.Fatalf("%v (run go test ./capture/filter -update where tcpdump is installed)", err)
	}
	defer f.Close()
	progs := map[string][]bpf.RawInstruction{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		expr := strings.TrimPrefix(sc.Text(), "expr: ")
		sc.Scan()
		n, _ := strconv.Atoi(sc.Text())
		var prog []bpf.RawInstruction
		for i := 0; i < n && sc.Scan(); i++ {
			var op uint16
			var jt, jf uint8
			var k uint32
			fmt.Sscan(sc.Text(), &op, &jt, &jf, &k)
			prog = append(prog, bpf.RawInstruction{Op: op, Jt: jt, Jf: jf, K: k})
		}
		sc.Scan() // blank
		progs[expr] = prog
	}
	return progs
}

func regenerate(t *testing.T) {
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Fatal("-update needs tcpdump")
	}
	for _, l := range links {
		var buf bytes.Buffer
		w, _ := synth.NewWriter(&buf, synth.Options{Link: l.synth})
		w.UDP(netip.MustParseAddrPort("192.0.2.1:1"), netip.MustParseAddrPort("192.0.2.2:2"), []byte("x"))
		pcap := filepath.Join(t.TempDir(), l.name+".pcap")
		os.WriteFile(pcap, buf.Bytes(), 0o644)
		var out strings.Builder
		for _, e := range expressions {
			prog, err := exec.Command("tcpdump", "-r", pcap, "-ddd", e).Output()
			if err != nil {
				if l.link == RawIP && linkLayer(e) {
					continue // no ARP, VLAN or MAC without a link header
				}
				t.Fatalf("tcpdump -ddd %q: %v", e, err)
			}
			fmt.Fprintf(&out, "expr: %s\n%s\n", e, prog)
		}
		os.MkdirAll("testdata", 0o755)
		os.WriteFile(filepath.Join("testdata", "tcpdump-"+l.name+".txt"), []byte(out.String()), 0o644)
	}
}

// linkLayer reports whether an expression needs a link header.
func linkLayer(e string) bool {
	return strings.Contains(e, "arp") || strings.Contains(e, "vlan") || strings.Contains(e, "ether")
}

func accepts(t *testing.T, prog []bpf.RawInstruction, pkt []byte) bool {
	t.Helper()
	ins, ok := bpf.Disassemble(prog)
	if !ok {
		t.Fatalf("cannot disassemble %v", prog)
	}
	vm, err := bpf.NewVM(ins)
	if err != nil {
		t.Fatalf("VM: %v", err)
	}
	n, err := vm.Run(pkt)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return n > 0
}

// TestSameAsTcpdump runs our program and tcpdump's on every packet.
func TestSameAsTcpdump(t *testing.T) {
	if *update {
		regenerate(t)
	}
	for _, l := range links {
		theirs := tcpdumpPrograms(t, l.name)
		pkts := packets(t, l.synth)
		for _, e := range expressions {
			if l.link == RawIP && linkLayer(e) {
				if _, err := Compile(e, l.link); err == nil && !strings.Contains(e, "arp") {
					t.Errorf("raw: Compile(%q) succeeds where tcpdump refuses it", e)
				}
				continue
			}
			want, ok := theirs[e]
			if !ok {
				t.Errorf("%s: no tcpdump program for %q: run -update", l.name, e)
				continue
			}
			got, err := Compile(e, l.link)
			if err != nil {
				t.Errorf("%s: Compile(%q): %v", l.name, e, err)
				continue
			}
			matched := 0
			for i, p := range pkts {
				g, w := accepts(t, got, p), accepts(t, want, p)
				if g != w {
					t.Errorf("%s %q: packet %d: we say %v, tcpdump says %v", l.name, e, i, g, w)
					break
				}
				if g {
					matched++
				}
			}
			t.Logf("%s %-60q %d of %d packets", l.name, e, matched, len(pkts))
		}
	}
}

func TestFragmentsSurvivePortFilters(t *testing.T) {
	prog, err := Compile(KeepFragments("udp port 5060"), Ethernet)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := Compile("udp port 5060", Ethernet)
	var buf bytes.Buffer
	w, _ := synth.NewWriter(&buf, synth.Options{MTU: 300})
	w.UDP(netip.MustParseAddrPort("192.0.2.1:5060"), netip.MustParseAddrPort("192.0.2.2:5060"), bytes.Repeat([]byte("y"), 1000))
	r, _ := pcapgo.NewReader(&buf)
	n, kept, keptPlain := 0, 0, 0
	for {
		data, _, err := r.ReadPacketData()
		if err != nil {
			break
		}
		n++
		if accepts(t, prog, data) {
			kept++
		}
		if accepts(t, plain, data) {
			keptPlain++
		}
	}
	if n < 4 || kept != n || keptPlain != 1 {
		t.Errorf("%d fragments: KeepFragments kept %d, the plain filter %d (want all, and only the first)", n, kept, keptPlain)
	}
}

func TestErrors(t *testing.T) {
	for _, e := range []string{"port", "port x", "portrange 5060-x", "host 999.1.1.1", "vlan 100 and", "(port 5060",
		"port 5060 )", "ip[6:3] = 1", "frobnicate", "192.0.2.1", "net 192.0.2.1/24", "and port 1",
		"net 10.0.0.0 mask 255.0.255.0", "net 10.1.0.0 mask 255.0.0.0", "less", "ip proto 300", "port nosuchservice",
		"vlan 5000", "ether host 02:00", "ether host 192.0.2.1", "tcp[13] &", "ip[0] / 0 == 1", "len", "tcp[13:3] = 1",
		"tcp[tcpflags] & nosuchflag != 0", "src vlan 100", "(ip[0] & 0xf", "ip[0] + == 1"} {
		_, err := Compile(e, Ethernet)
		var fe *Error
		if !errors.As(err, &fe) {
			t.Errorf("Compile(%q) = %v, want a filter error", e, err)
		}
	}
	for _, e := range []string{"host 192.0.2.1", "vlan 100 or port 5060", "port 5060 and vlan 100"} {
		if KeepFragments(e) != e {
			t.Errorf("KeepFragments widened %q: a filter without ports, or with a vlan after a port test", e)
		}
	}
	for _, e := range []string{"vlan 100", "ether host 02:00:00:00:00:0a", "tcp[13] = 2"} {
		if _, err := Compile(e, RawIP); err == nil && !strings.HasPrefix(e, "tcp") {
			t.Errorf("Compile(%q, RawIP) succeeded: no link header to read", e)
		}
	}
}

// FuzzCompile: any text either compiles to a program the VM accepts or is
// a filter error; never a panic.
func FuzzCompile(f *testing.F) {
	for _, e := range expressions {
		f.Add(e)
	}
	f.Add("ip[999999:4] > 0 or (((port 1")
	f.Fuzz(func(t *testing.T, expr string) {
		for _, link := range []Link{Ethernet, RawIP, LinuxEthernet} {
			prog, err := Compile(expr, link)
			if err != nil {
				var fe *Error
				if !errors.As(err, &fe) {
					t.Fatalf("Compile(%q): %T %v, want *Error", expr, err, err)
				}
				continue
			}
			ins, ok := bpf.Disassemble(prog)
			if !ok {
				t.Fatalf("Compile(%q): program does not disassemble", expr)
			}
			if link == LinuxEthernet { // VLAN extensions: the test interpreter runs them
				run(t, prog, viewOf(icmpFrame()))
				continue
			}
			if _, err := bpf.NewVM(ins); err != nil {
				t.Fatalf("Compile(%q): VM rejects the program: %v", expr, err)
			}
		}
	})
}
