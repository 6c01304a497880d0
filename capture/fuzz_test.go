package capture_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/sipalive/sipalive/capture"
)

// FuzzDecode feeds arbitrary frames, as every link type the decoder knows,
// through decoding, defragmentation, TCP reassembly and framing: no panic,
// every packet accounted for, and the same messages and counts whether the
// Ethernet/IPv4/UDP fast path is taken or every frame goes layer by layer.
func FuzzDecode(f *testing.F) {
	udp := []byte{2, 0, 0, 0, 0, 0x0b, 2, 0, 0, 0, 0, 0x0a, 0x08, 0x00, 0x45, 0, 0, 48, 0, 1, 0x20, 0, 64, 17, 0, 0,
		192, 0, 2, 10, 192, 0, 2, 20, 0x13, 0xc4, 0x13, 0xc4, 0, 28, 0, 0}
	udp = append(udp, "SIP/2.0 200 OK\r\n\r\n"...)
	hep := append(append([]byte{}, udp[:42]...), "HEP3\x00\x20\x00\x00\x00\x0f\x00\x1aSIP/2.0 200 OK\r\n\r\n"...)
	sctp := append([]byte{}, udp[:42]...)
	sctp[23] = 132
	sctp = append(sctp, "\x00\x00\x00\x20\x00\x03\x00\x22\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00SIP/2.0 200 OK\r\n\r\n"...)
	// the same IP packet behind an MPLS label and behind a PPPoE session
	mpls := append(append([]byte{}, udp[:12]...), 0x88, 0x47, 0x00, 0x3e, 0x81, 0x40)
	mpls = append(mpls, udp[14:]...)
	pppoe := append(append([]byte{}, udp[:12]...), 0x88, 0x64, 0x11, 0, 0, 1, 0, byte(len(udp)-14+2), 0, 0x21)
	pppoe = append(pppoe, udp[14:]...)
	// HEP version 1 in a datagram, and HEP3 on a TCP stream to a collector
	hep1 := append(append([]byte{}, udp[:42]...), "\x01\x10\x02\x11\x13\xc4\x13\xc4\xc0\x00\x02\x0a\xc0\x00\x02\x14SIP/2.0 200 OK\r\n\r\n"...)
	hepTCP := append([]byte{}, udp[:34]...)
	hepTCP[23] = 6
	hepTCP = append(hepTCP, 0x9c, 0x40, 0x23, 0x64, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0)
	hepTCP = append(hepTCP, hep[42:]...)
	hepTCP[16], hepTCP[17] = 0, byte(len(hepTCP)-14) // the IP total length
	for _, p := range [][]byte{udp, hep, hep1, hepTCP, sctp, mpls, pppoe, {0x45, 0, 0, 20}, {0x60}, make([]byte, 60)} {
		f.Add(p, p, uint8(0))
	}
	links := []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeRaw, layers.LinkTypeLinuxSLL,
		layers.LinkTypeLinuxSLL2, layers.LinkTypeNull, 12, 147}
	f.Fuzz(func(t *testing.T, a, b []byte, link uint8) {
		lt := links[int(link)%len(links)]
		var got [2][]string
		var stats [2]capture.Stats
		for way, newDecoder := range []func(func(*capture.Message)) *capture.Decoder{capture.NewDecoder, capture.NewLayeredDecoder} {
			dec := newDecoder(func(m *capture.Message) {
				if len(m.Payload) == 0 && m.Kind == capture.SIP {
					t.Fatal("empty SIP message")
				}
				got[way] = append(got[way], fmt.Sprintf("%d %v %v %v %d %q %v", m.Kind, m.Time, m.Src, m.Dst, m.Transport, m.Payload, m.Frames))
			})
			now := time.Unix(1700000000, 0)
			for i, p := range [][]byte{a, b, a, b} {
				dec.Packet(p, &gopacket.CaptureInfo{Timestamp: now.Add(time.Duration(i) * time.Second), CaptureLength: len(p), Length: len(p)}, lt)
			}
			dec.Flush()
			if s := dec.Stats; s.Accounted() != s.Packets {
				t.Fatalf("accounted %d of %d: %+v", s.Accounted(), s.Packets, s)
			}
			stats[way] = dec.Stats
		}
		if !reflect.DeepEqual(got[0], got[1]) || !reflect.DeepEqual(stats[0], stats[1]) {
			t.Fatalf("fast path: %q %+v\nlayered: %q %+v", got[0], stats[0], got[1], stats[1])
		}
	})
}
