//go:build linux

package capture

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/afpacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/sipalive/sipalive/capture/filter"
)

// Live captures from a network interface with AF_PACKET and a TPACKET_V3
// ring, in pure Go. The filter runs in the kernel.
type Live struct {
	Iface  string
	Link   layers.LinkType
	Filter string // the expression the kernel runs (with fragments kept)

	tp         *afpacket.TPacket
	dedupe     bool                 // loopback delivers every packet twice
	dups       *dupFilter           // loopback's second copies (see dupFilter)
	ci         gopacket.CaptureInfo // the last packet's, which Next points to
	packets    uint64
	Duplicates uint64
	rxDropped0 uint64 // interface drop counter at start
	// -i any: each packet is given a Linux SLL2 header naming the
	// interface it came by (as tcpdump -i any writes), built in sll.
	cooked bool
	sll    []byte
	arphrd map[int]uint16 // interface index → ARPHRD type, as read once
}

// sll2Len is the length of a Linux SLL2 header.
const sll2Len = 20

// OpenLive opens iface ("any" for all interfaces) with an optional
// tcpdump-style filter. Port filters are widened to keep IP fragments.
//
// ringMiB sizes the kernel ring (tcpdump's -B); 0 takes the default of
// DefaultRingMiB.
func OpenLive(iface, expr string, ringMiB int) (*Live, error) {
	if ringMiB <= 0 {
		ringMiB = DefaultRingMiB
	}
	l := &Live{Iface: iface}
	opts := []interface{}{
		afpacket.OptTPacketVersion(afpacket.TPacketVersion3),
		afpacket.OptBlockSize(1 << 20), afpacket.OptNumBlocks(ringMiB), afpacket.OptFrameSize(1 << 16),
		afpacket.OptBlockTimeout(20 * time.Millisecond), afpacket.OptPollTimeout(200 * time.Millisecond),
	}
	link := filter.LinuxEthernet
	l.Link = layers.LinkTypeEthernet
	if iface == "any" {
		// cooked: every interface's packets start at the IP header
		opts = append(opts, afpacket.SocketDgram)
		link, l.Link, l.dedupe = filter.RawIP, layers.LinkTypeLinuxSLL2, true
		l.cooked, l.arphrd = true, map[int]uint16{}
	} else {
		typ, err := ifaceType(iface)
		if err != nil {
			return nil, err
		}
		if !ifaceUp(iface) {
			return nil, fmt.Errorf("interface %s is down (ip link set %s up): nothing would be captured", iface, iface)
		}
		opts = append(opts, afpacket.OptInterface(iface))
		switch typ {
		case 1: // ARPHRD_ETHER: the VLAN tag the NIC stripped is put back, as libpcap does
			opts = append(opts, afpacket.OptAddVLANHeader(true))
		case 772: // ARPHRD_LOOPBACK: a zeroed Ethernet header, every packet twice
			l.dedupe = true
		default: // tunnels and others: take the IP packet
			opts = append(opts, afpacket.SocketDgram)
			link, l.Link = filter.RawIP, layers.LinkTypeRaw
		}
	}
	l.Filter = filter.KeepFragments(expr)
	insns, err := filter.Compile(l.Filter, link)
	if err != nil {
		return nil, err
	}
	tp, err := afpacket.NewTPacket(opts...)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) || strings.Contains(err.Error(), "operation not permitted") {
			return nil, fmt.Errorf("%w: capturing on %s needs CAP_NET_RAW: run as root, or grant it once with: sudo setcap cap_net_raw+ep %s", ErrPermission, iface, executable())
		}
		return nil, fmt.Errorf("open %s: %w", iface, err)
	}
	if expr != "" {
		if err := tp.SetBPF(insns); err != nil {
			tp.Close()
			return nil, fmt.Errorf("attach filter: %w", err)
		}
	}
	l.tp = tp
	l.rxDropped0 = ifaceDropped(iface)
	return l, nil
}

// FilterProgram is the program the kernel would run on iface for expr
// (fragments kept), as tcpdump -d prints one.
func FilterProgram(iface, expr string) (string, error) {
	link := filter.LinuxEthernet
	if iface == "any" {
		link = filter.RawIP
	} else {
		typ, err := ifaceType(iface)
		if err != nil {
			return "", err
		}
		if typ != 1 && typ != 772 {
			link = filter.RawIP
		}
	}
	return filter.Dump(filter.KeepFragments(expr), link)
}

func executable() string {
	if p, err := os.Executable(); err == nil {
		return p
	}
	return "$(command -v sipalive)"
}

// ifaceType reads the ARPHRD type of an interface.
func ifaceType(iface string) (int, error) {
	b, err := os.ReadFile("/sys/class/net/" + iface + "/type")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, fmt.Errorf("no interface %q (see ip link)", iface)
		}
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// ifaceUp reports whether an interface is administratively up (IFF_UP in
// its flags); true when that cannot be read.
func ifaceUp(iface string) bool {
	b, err := os.ReadFile("/sys/class/net/" + iface + "/flags")
	if err != nil {
		return true
	}
	flags, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimSpace(string(b)), "0x"), 16, 64)
	return err != nil || flags&unix.IFF_UP != 0
}

func ifaceDropped(iface string) uint64 {
	if iface == "any" {
		return 0
	}
	b, err := os.ReadFile("/sys/class/net/" + iface + "/statistics/rx_dropped")
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// Next returns the next packet, ErrNoPacket after a quiet poll interval.
// On loopback the second, identical copy of a packet is dropped and counted
// in Duplicates.
func (l *Live) Next() (int, []byte, *gopacket.CaptureInfo, layers.LinkType, error) {
	for {
		data, ci, err := l.tp.ZeroCopyReadPacketData()
		if err != nil {
			if errors.Is(err, afpacket.ErrTimeout) || errors.Is(err, afpacket.ErrPoll) {
				// A quiet poll, or one that failed: the interface may
				// have gone (a veth pulled, a VM's NIC removed), which
				// the socket never says otherwise.
				if l.Iface != "any" {
					if _, err := ifaceType(l.Iface); err != nil {
						return 0, nil, nil, l.Link, fmt.Errorf("%w: %s is gone", ErrVanished, l.Iface)
					}
				}
				return 0, nil, nil, l.Link, ErrNoPacket
			}
			return 0, nil, nil, l.Link, fmt.Errorf("read %s: %w", l.Iface, err)
		}
		if l.dedupe {
			if l.dups == nil {
				l.dups = newDupFilter()
			}
			if l.dups.duplicate(data, ci.Timestamp) {
				l.Duplicates++
				continue
			}
		}
		l.packets++
		l.ci = ci
		if l.cooked {
			data = l.sll2(data, ci.InterfaceIndex)
			l.ci.CaptureLength, l.ci.Length = len(data), ci.Length+sll2Len
		}
		return 0, data, &l.ci, l.Link, nil
	}
}

// sll2 puts a Linux SLL2 header before an IP packet of -i any: its
// protocol (from the IP version), the interface index and that
// interface's ARPHRD type.
func (l *Live) sll2(ip []byte, ifindex int) []byte {
	proto := uint16(layers.EthernetTypeIPv4)
	if len(ip) > 0 && ip[0]>>4 == 6 {
		proto = uint16(layers.EthernetTypeIPv6)
	}
	hatype, ok := l.arphrd[ifindex]
	if !ok {
		hatype = 1 // Ethernet, unless the interface says otherwise
		if in, err := net.InterfaceByIndex(ifindex); err == nil {
			if t, err := ifaceType(in.Name); err == nil {
				hatype = uint16(t)
			}
		}
		if len(l.arphrd) < 4096 {
			l.arphrd[ifindex] = hatype
		}
	}
	b := append(l.sll[:0], byte(proto>>8), byte(proto), 0, 0,
		byte(ifindex>>24), byte(ifindex>>16), byte(ifindex>>8), byte(ifindex),
		byte(hatype>>8), byte(hatype), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	l.sll = append(b, ip...)
	return l.sll
}

// Block is nil: a packet lies in the ring, which the next read reuses.
func (l *Live) Block() *Block { return nil }

// Describe names the interface as the one input.
func (l *Live) Describe() []InputState {
	return []InputState{{Path: "live:" + l.Iface, Format: "live", Packets: l.packets + l.Duplicates}}
}

// CountInto adds loopback's dropped second copies and the drops of the
// kernel and the interface to a decoder's counts.
func (l *Live) CountInto(s *Stats) {
	s.Duplicates = l.Duplicates
	s.Packets += l.Duplicates
	s.KernelDrops, s.InterfaceDrops = l.Drops()
}

// Drops returns the packets the kernel dropped for this socket and the
// interface's own drop counter since the capture began.
func (l *Live) Drops() (kernel, iface uint64) {
	if _, v3, err := l.tp.SocketStats(); err == nil {
		kernel = uint64(v3.Drops())
	}
	if now := ifaceDropped(l.Iface); now >= l.rxDropped0 {
		iface = now - l.rxDropped0
	}
	return kernel, iface
}

// Close releases the socket.
func (l *Live) Close() error {
	l.tp.Close()
	return nil
}
