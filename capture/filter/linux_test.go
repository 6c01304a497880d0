package filter

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/bpf"
)

// A live Linux socket sees a frame after the kernel has moved its outer
// VLAN tag into metadata. These tests run the programs tcpdump compiles
// for a live interface (tcpdump -i lo -ddd) and ours for LinuxEthernet on
// such frames, in an interpreter that knows the VLAN extensions the
// x/net/bpf VM does not.

// liveQuirks are expressions where tcpdump's live program is not what a
// user means and ours differs on purpose.
var liveQuirks = map[string]string{
	// libpcap moves later tests 4 bytes whenever the tag is not in
	// metadata, so "not vlan and udp" matches no untagged frame.
	"not vlan and udp": "untagged UDP",
	"vlan 100 or udp":  "untagged UDP too",
}

// kernelView is a frame as AF_PACKET's filter sees it: an 802.1Q or
// 802.1ad outer tag taken out into metadata.
type kernelView struct {
	frame  []byte
	tagged bool
	tci    uint16
}

func viewOf(frame []byte) kernelView {
	if len(frame) >= 18 {
		if tpid := uint16(frame[12])<<8 | uint16(frame[13]); tpid == 0x8100 || tpid == 0x88a8 {
			f := append(append([]byte{}, frame[:12]...), frame[16:]...)
			return kernelView{frame: f, tagged: true, tci: uint16(frame[14])<<8 | uint16(frame[15])}
		}
	}
	return kernelView{frame: frame}
}

// run interprets a classic BPF program as the kernel does: a load past
// the end rejects the packet.
func run(t *testing.T, prog []bpf.RawInstruction, v kernelView) bool {
	t.Helper()
	ins, ok := bpf.Disassemble(prog)
	if !ok {
		t.Fatalf("cannot disassemble %v", prog)
	}
	var a, x uint32
	var m [16]uint32
	pkt := v.frame
	load := func(off uint32, size int) (uint32, bool) {
		if uint64(off)+uint64(size) > uint64(len(pkt)) {
			return 0, false
		}
		var r uint32
		for i := 0; i < size; i++ {
			r = r<<8 | uint32(pkt[int(off)+i])
		}
		return r, true
	}
	alu := func(op bpf.ALUOp, a, b uint32) uint32 {
		switch op {
		case bpf.ALUOpAdd:
			return a + b
		case bpf.ALUOpSub:
			return a - b
		case bpf.ALUOpMul:
			return a * b
		case bpf.ALUOpDiv:
			if b == 0 {
				return 0
			}
			return a / b
		case bpf.ALUOpMod:
			if b == 0 {
				return 0
			}
			return a % b
		case bpf.ALUOpOr:
			return a | b
		case bpf.ALUOpAnd:
			return a & b
		case bpf.ALUOpShiftLeft:
			return a << b
		case bpf.ALUOpShiftRight:
			return a >> b
		case bpf.ALUOpXor:
			return a ^ b
		}
		t.Fatalf("ALU op %v", op)
		return 0
	}
	jump := func(c bpf.JumpTest, a, b uint32) bool {
		switch c {
		case bpf.JumpEqual:
			return a == b
		case bpf.JumpNotEqual:
			return a != b
		case bpf.JumpGreaterThan:
			return a > b
		case bpf.JumpLessThan:
			return a < b
		case bpf.JumpGreaterOrEqual:
			return a >= b
		case bpf.JumpLessOrEqual:
			return a <= b
		case bpf.JumpBitsSet:
			return a&b != 0
		case bpf.JumpBitsNotSet:
			return a&b == 0
		}
		t.Fatalf("jump test %v", c)
		return false
	}
	for pc := 0; pc < len(ins); pc++ {
		ok := true
		switch in := ins[pc].(type) {
		case bpf.LoadConstant:
			if in.Dst == bpf.RegA {
				a = in.Val
			} else {
				x = in.Val
			}
		case bpf.LoadScratch:
			if in.Dst == bpf.RegA {
				a = m[in.N]
			} else {
				x = m[in.N]
			}
		case bpf.StoreScratch:
			if in.Src == bpf.RegA {
				m[in.N] = a
			} else {
				m[in.N] = x
			}
		case bpf.LoadAbsolute:
			a, ok = load(in.Off, in.Size)
		case bpf.LoadIndirect:
			a, ok = load(x+in.Off, in.Size)
		case bpf.LoadMemShift:
			var b uint32
			b, ok = load(in.Off, 1)
			x = (b & 0xf) * 4
		case bpf.LoadExtension:
			switch in.Num {
			case bpf.ExtLen:
				a = uint32(len(pkt))
			case bpf.ExtVLANTagPresent:
				a = 0
				if v.tagged {
					a = 1
				}
			case bpf.ExtVLANTag:
				a = uint32(v.tci)
			default:
				t.Fatalf("extension %v", in.Num)
			}
		case bpf.ALUOpConstant:
			a = alu(in.Op, a, in.Val)
		case bpf.ALUOpX:
			a = alu(in.Op, a, x)
		case bpf.NegateA:
			a = -a
		case bpf.TAX:
			x = a
		case bpf.TXA:
			a = x
		case bpf.Jump:
			pc += int(in.Skip)
		case bpf.JumpIf:
			if jump(in.Cond, a, in.Val) {
				pc += int(in.SkipTrue)
			} else {
				pc += int(in.SkipFalse)
			}
		case bpf.JumpIfX:
			if jump(in.Cond, a, x) {
				pc += int(in.SkipTrue)
			} else {
				pc += int(in.SkipFalse)
			}
		case bpf.RetConstant:
			return in.Val > 0
		case bpf.RetA:
			return a > 0
		default:
			t.Fatalf("instruction %T", in)
		}
		if !ok {
			return false
		}
	}
	return false
}

// TestSameAsTcpdumpLive compares our LinuxEthernet programs with
// tcpdump's live ones, on frames as the kernel shows them.
func TestSameAsTcpdumpLive(t *testing.T) {
	if *update {
		regenerateLive(t)
	}
	theirs := tcpdumpPrograms(t, "linux")
	var views []kernelView
	for _, p := range packets(t, links[0].synth) {
		views = append(views, viewOf(p))
	}
	for _, e := range expressions {
		want, ok := theirs[e]
		if !ok {
			t.Errorf("no live tcpdump program for %q: run -update", e)
			continue
		}
		got, err := Compile(e, LinuxEthernet)
		if err != nil {
			t.Errorf("Compile(%q): %v", e, err)
			continue
		}
		matched, differ := 0, 0
		for i, v := range views {
			g, w := run(t, got, v), run(t, want, v)
			if g != w {
				differ++
				if liveQuirks[e] == "" {
					t.Errorf("%q: packet %d: we say %v, tcpdump says %v", e, i, g, w)
					break
				}
			}
			if g {
				matched++
			}
		}
		if q := liveQuirks[e]; q != "" && differ == 0 {
			t.Errorf("%q: expected to differ from tcpdump (%s)", e, q)
		}
		t.Logf("%-60q %d of %d packets", e, matched, len(views))
	}
}

// TestInterpreterAgreesWithVM holds the test interpreter to x/net/bpf's
// VM on the programs both can run.
func TestInterpreterAgreesWithVM(t *testing.T) {
	for _, e := range expressions {
		prog, err := Compile(e, Ethernet)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range packets(t, links[0].synth) {
			if run(t, prog, kernelView{frame: p}) != accepts(t, prog, p) {
				t.Fatalf("%q: packet %d: the interpreter and the VM differ", e, i)
			}
		}
	}
}

func regenerateLive(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("-update of the live programs runs tcpdump -i lo: it needs root")
	}
	var out strings.Builder
	for _, e := range expressions {
		cmd := exec.Command("tcpdump", "-i", "lo", "-ddd", e)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		prog, err := cmd.Output()
		if err != nil {
			t.Fatalf("tcpdump -i lo -ddd %q: %v: %s", e, err, stderr.String())
		}
		fmt.Fprintf(&out, "expr: %s\n%s\n", e, prog)
	}
	if err := os.WriteFile(filepath.Join("testdata", "tcpdump-linux.txt"), []byte(out.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
