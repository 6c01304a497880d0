//go:build linux

package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"net"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// relay bridges two interfaces in user space, as a switch port pair would:
// frames from -a leave on -b with an 802.1Q tag (a trunk) when -vlan is
// set, and lose it on the way back; every -drop-every'th TCP segment with
// data from -a is dropped, so that TCP must retransmit. It runs until
// -timeout. Kernels without VLAN or netem support can still record a
// trunk and retransmissions this way.
func relay(args []string) error {
	fs := flag.NewFlagSet("relay", flag.ContinueOnError)
	a := fs.String("a", "", "access-side interface")
	b := fs.String("b", "", "trunk-side interface")
	vlan := fs.Int("vlan", 0, "tag frames from -a with this VLAN on -b (0: no tag)")
	dropEvery := fs.Int("drop-every", 0, "drop every Nth TCP segment with data from -a (0: none)")
	tunnel := fs.String("tunnel", "", "carry IPv4 packets over the trunk inside this tunnel: gre or ipip (encapsulated from -a, decapsulated towards -a)")
	timeout := fs.Duration("timeout", 30*time.Second, "stop after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sa, err := packetSocket(*a)
	if err != nil {
		return err
	}
	defer unix.Close(sa)
	sb, err := packetSocket(*b)
	if err != nil {
		return err
	}
	defer unix.Close(sb)
	ia, _ := net.InterfaceByName(*a)
	ib, _ := net.InterfaceByName(*b)
	deadline := time.Now().Add(*timeout)
	fmt.Println("ready")
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // access → trunk
		defer wg.Done()
		n := 0
		forward(sa, sb, ib.Index, deadline, func(f []byte) []byte {
			if *dropEvery > 0 && isTCPData(f) {
				if n++; n%*dropEvery == 0 {
					return nil
				}
			}
			if *tunnel != "" {
				f = encapsulate(f, *tunnel)
			}
			if *vlan > 0 {
				tagged := make([]byte, 0, len(f)+4)
				tagged = append(tagged, f[:12]...)
				tagged = append(tagged, 0x81, 0x00, byte(*vlan>>8), byte(*vlan))
				return append(tagged, f[12:]...)
			}
			return f
		})
	}()
	go func() { // trunk → access
		defer wg.Done()
		forward(sb, sa, ia.Index, deadline, func(f []byte) []byte {
			if len(f) >= 18 && binary.BigEndian.Uint16(f[12:]) == 0x8100 {
				f = append(append([]byte{}, f[:12]...), f[16:]...) // pop the tag
			}
			if *tunnel != "" {
				f = decapsulate(f)
			}
			return f
		})
	}()
	wg.Wait()
	return nil
}

func packetSocket(iface string) (int, error) {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return -1, err
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return -1, err
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
		unix.Close(fd)
		return -1, err
	}
	tv := unix.NsecToTimeval(int64(200 * time.Millisecond))
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	return fd, nil
}

// forward copies frames received on from (not those sent from it) to the
// interface with index out, through edit (nil: drop).
func forward(from, to, out int, deadline time.Time, edit func([]byte) []byte) {
	buf := make([]byte, 65536)
	for time.Now().Before(deadline) {
		n, sa, err := unix.Recvfrom(from, buf, 0)
		if err != nil {
			continue // timeout: check the deadline
		}
		if ll, ok := sa.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		f := edit(append([]byte(nil), buf[:n]...))
		if f == nil {
			continue
		}
		unix.Sendto(to, f, 0, &unix.SockaddrLinklayer{Ifindex: out, Halen: 6})
	}
}

// isTCPData recognises an IPv4 TCP segment that carries data.
func isTCPData(f []byte) bool {
	if len(f) < 14+20+20 || binary.BigEndian.Uint16(f[12:]) != 0x0800 || f[14+9] != 6 {
		return false
	}
	ihl := int(f[14]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(f[16:]))
	if len(f) < 14+ihl+13 {
		return false
	}
	doff := int(f[14+ihl+12]>>4) * 4
	return total-ihl-doff > 0
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Outer addresses of the user-space tunnel.
var tunnelSrc, tunnelDst = [4]byte{10, 197, 0, 1}, [4]byte{10, 197, 0, 2}

// encapsulate wraps the IPv4 packet of an Ethernet frame in an outer IPv4
// header, with a GRE header (RFC 2784) for gre, none for ipip (protocol 4).
func encapsulate(f []byte, kind string) []byte {
	if len(f) < 14+20 || binary.BigEndian.Uint16(f[12:]) != 0x0800 {
		return f // ARP and the like cross untouched
	}
	inner := f[14:]
	proto, hdr := byte(4), []byte(nil)
	if kind == "gre" {
		proto, hdr = 47, []byte{0, 0, 0x08, 0x00}
	}
	total := 20 + len(hdr) + len(inner)
	ip := []byte{0x45, 0, byte(total >> 8), byte(total), 0, 0, 0x40, 0, 64, proto, 0, 0}
	ip = append(append(ip, tunnelSrc[:]...), tunnelDst[:]...)
	sum := checksum(ip)
	ip[10], ip[11] = byte(sum>>8), byte(sum)
	out := append(append([]byte{}, f[:14]...), ip...)
	return append(append(out, hdr...), inner...)
}

// decapsulate undoes encapsulate.
func decapsulate(f []byte) []byte {
	if len(f) < 14+20 || binary.BigEndian.Uint16(f[12:]) != 0x0800 {
		return f
	}
	ihl := int(f[14]&0x0f) * 4
	switch f[14+9] {
	case 47:
		return append(append([]byte{}, f[:14]...), f[14+ihl+4:]...)
	case 4:
		return append(append([]byte{}, f[:14]...), f[14+ihl:]...)
	}
	return f
}

// checksum is the Internet checksum of an IPv4 header.
func checksum(h []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(h); i += 2 {
		s += uint32(h[i])<<8 | uint32(h[i+1])
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}
