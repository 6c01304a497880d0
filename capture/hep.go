package capture

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// HEPv3 (EEP v3) is how heplify and Homer carry captured SIP: "HEP3", a
// 16-bit total length, then chunks of vendor (16 bits), type (16 bits) and
// length (16 bits, header included). The chunk types used here:
//
//	3, 4   IPv4 source, destination      5, 6   IPv6 source, destination
//	7, 8   source, destination port      9, 10  timestamp seconds, microseconds
//	11     protocol type (1 = SIP)       15     payload
//
// A capture of HEP traffic is analysed as the SIP it carries, with the
// original addresses and time.

var hep3 = []byte("HEP3")

// hepPacket is what a HEP3 packet says about the message it carries.
type hepPacket struct {
	src, dst netip.AddrPort
	time     time.Time
	proto    uint8
	payload  []byte
}

// parseHEP3 decodes a HEP3 packet; ok is false when b is not one.
func parseHEP3(b []byte) (h hepPacket, ok bool) {
	if len(b) < 6 || string(b[:4]) != string(hep3) {
		return h, false
	}
	total := int(binary.BigEndian.Uint16(b[4:6]))
	if total < 6 || total > len(b) {
		return h, false
	}
	var srcIP, dstIP netip.Addr
	var srcPort, dstPort uint16
	var sec, usec uint32
	for off := 6; off+6 <= total; {
		typ := binary.BigEndian.Uint16(b[off+2:])
		n := int(binary.BigEndian.Uint16(b[off+4:]))
		if n < 6 || off+n > total {
			return h, false
		}
		v := b[off+6 : off+n]
		switch {
		case typ == 3 && len(v) == 4:
			srcIP = netip.AddrFrom4([4]byte(v))
		case typ == 4 && len(v) == 4:
			dstIP = netip.AddrFrom4([4]byte(v))
		case typ == 5 && len(v) == 16:
			srcIP = netip.AddrFrom16([16]byte(v))
		case typ == 6 && len(v) == 16:
			dstIP = netip.AddrFrom16([16]byte(v))
		case typ == 7 && len(v) == 2:
			srcPort = binary.BigEndian.Uint16(v)
		case typ == 8 && len(v) == 2:
			dstPort = binary.BigEndian.Uint16(v)
		case typ == 9 && len(v) == 4:
			sec = binary.BigEndian.Uint32(v)
		case typ == 10 && len(v) == 4:
			usec = binary.BigEndian.Uint32(v)
		case typ == 11 && len(v) == 1:
			h.proto = v[0]
		case typ == 15:
			h.payload = v
		}
		off += n
	}
	if h.payload == nil {
		return h, false
	}
	h.src, h.dst = netip.AddrPortFrom(srcIP, srcPort), netip.AddrPortFrom(dstIP, dstPort)
	if sec != 0 {
		h.time = time.Unix(int64(sec), int64(usec)*1000).UTC()
	}
	return h, true
}
