//go:build linux

package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/sys/unix"
)

// replay sends the frames of an Ethernet pcap file out of an interface as
// they are, VLAN tags included, -gap apart: frames a kernel without VLAN
// devices cannot make, for the tests of live capture filters.
func replay(args []string) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	iface := fs.String("i", "", "interface to send on")
	gap := fs.Duration("gap", time.Millisecond, "pause between frames")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *iface == "" || fs.NArg() != 1 {
		return fmt.Errorf("usage: sender replay -i IFACE FILE.pcap")
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		return fmt.Errorf("read %s: %w", fs.Arg(0), err)
	}
	ifi, err := net.InterfaceByName(*iface)
	if err != nil {
		return err
	}
	fd, err := packetSocket(*iface)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	n := 0
	for {
		data, _, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", fs.Arg(0), err)
		}
		if err := unix.Sendto(fd, data, 0, &unix.SockaddrLinklayer{Ifindex: ifi.Index, Halen: 6}); err != nil {
			return fmt.Errorf("send frame %d on %s: %w", n+1, *iface, err)
		}
		n++
		time.Sleep(*gap)
	}
	fmt.Printf("sent %d frames\n", n)
	return nil
}
