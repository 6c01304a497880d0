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
				return append(append([]byte{}, f[:12]...), f[16:]...) // pop the tag
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
