//go:build !linux

package capture

import (
	"errors"
	"runtime"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/sipalive/sipalive/capture/filter"
)

// Live is a live capture; only Linux (AF_PACKET) is supported.
type Live struct {
	Iface      string
	Link       layers.LinkType
	Filter     string
	Duplicates uint64
}

// OpenLive fails: live capture needs Linux's AF_PACKET.
func OpenLive(iface, expr string, ringMiB int) (*Live, error) {
	return nil, errors.New("live capture needs Linux (AF_PACKET); this is " + runtime.GOOS + ": capture with tcpdump and run sipalive analyze on the file")
}

// FilterProgram compiles expr as an Ethernet interface would run it.
func FilterProgram(iface, expr string) (string, error) {
	return filter.Dump(filter.KeepFragments(expr), filter.Ethernet)
}

// Next is never reached.
func (l *Live) Next() (int, []byte, *gopacket.CaptureInfo, layers.LinkType, error) {
	return 0, nil, nil, 0, ErrNoPacket
}

// Block is never reached.
func (l *Live) Block() *Block { return nil }

// Describe is never reached.
func (l *Live) Describe() []InputState { return nil }

// CountInto is never reached.
func (l *Live) CountInto(s *Stats) {}

// Drops is never reached.
func (l *Live) Drops() (kernel, iface uint64) { return 0, 0 }

// Close is never reached.
func (l *Live) Close() error { return nil }
