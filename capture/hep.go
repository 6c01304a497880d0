package capture

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/sipalive/sipalive/capture/sip"
)

// HEPv3 (EEP v3) is how heplify and Homer carry captured SIP: "HEP3", a
// 16-bit total length, then chunks of vendor (16 bits), type (16 bits) and
// length (16 bits, header included). The chunk types used here:
//
//	2      IP protocol (6 TCP, 17 UDP)
//	3, 4   IPv4 source, destination      5, 6   IPv6 source, destination
//	7, 8   source, destination port      9, 10  timestamp seconds, microseconds
//	11     protocol type (1 = SIP)       15     payload
//
// A capture of HEP traffic is analysed as the SIP it carries, with the
// original addresses and time.
//
// HEP versions 1 and 2 are what Kamailio's and OpenSIPS's siptrace modules
// send by default (hep_version 1) and older capture agents: a fixed
// header, version (1 or 2), header length (16 for IPv4, 40 for IPv6:
// these eight bytes and both addresses), address family, IP protocol,
// source and destination port (16 bits, network order), source and
// destination address; version 2 adds the time, seconds and microseconds
// (32 bits each, little-endian as the C structs are sent), and a 16-bit
// capture node id, padded to 12 bytes. The message follows.

var hep3 = []byte("HEP3")

// hepPacket is what a HEP3 packet says about the message it carries.
type hepPacket struct {
	src, dst netip.AddrPort
	time     time.Time
	proto    uint8 // HEP protocol type (1: SIP)
	ipProto  uint8 // the IP protocol the message was carried over (6 TCP, 17 UDP, 132 SCTP)
	payload  []byte
}

// transport is the transport the message inside was carried over, as the
// agent says; UDP when it does not.
func (h *hepPacket) transport() Transport {
	switch h.ipProto {
	case 6:
		return TCP
	case 132:
		return SCTP
	}
	return UDP
}

// parseHEP decodes a HEP packet of any version; ok is false when b is
// not one.
func parseHEP(b []byte) (h hepPacket, ok bool) {
	if len(b) > 0 && (b[0] == 1 || b[0] == 2) {
		return parseHEP12(b)
	}
	return parseHEP3(b)
}

// parseHEP12 decodes a HEP version 1 or 2 packet. Its header has no magic
// to tell it by, so it must add up (a length that fits the family, an IP
// protocol SIP is carried over) and be followed by a SIP start line.
func parseHEP12(b []byte) (h hepPacket, ok bool) {
	if len(b) < 16 {
		return h, false
	}
	hl, proto := int(b[1]), b[3]
	if proto != 17 && proto != 6 && proto != 132 || hl != 16 && hl != 40 || len(b) < hl {
		return h, false
	}
	sport, dport := binary.BigEndian.Uint16(b[4:6]), binary.BigEndian.Uint16(b[6:8])
	var src, dst netip.Addr
	if hl == 16 {
		src, dst = netip.AddrFrom4([4]byte(b[8:12])), netip.AddrFrom4([4]byte(b[12:16]))
	} else {
		src, dst = netip.AddrFrom16([16]byte(b[8:24])), netip.AddrFrom16([16]byte(b[24:40]))
	}
	h.src, h.dst, h.proto, h.ipProto = netip.AddrPortFrom(src, sport), netip.AddrPortFrom(dst, dport), 1, proto
	if b[0] == 1 {
		h.payload = b[hl:]
		return h, sip.IsStart(h.payload)
	}
	// Version 2: the time, then the payload after the padded (12) or
	// packed (10) time header.
	if len(b) < hl+10 {
		return h, false
	}
	t := b[hl:]
	if sec := binary.LittleEndian.Uint32(t); sec != 0 {
		h.time = time.Unix(int64(sec), int64(binary.LittleEndian.Uint32(t[4:]))*1000).UTC()
	}
	for _, n := range [...]int{12, 10} {
		if len(t) > n && sip.IsStart(t[n:]) {
			h.payload = t[n:]
			return h, true
		}
	}
	return h, false
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
		case typ == 2 && len(v) == 1:
			h.ipProto = v[0]
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
