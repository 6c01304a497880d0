package capture

import (
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

// HEP version 1 and 2 header: offsets and sizes.
const (
	hep12Version   = 0  // 1 or 2
	hep12HeaderLen = 1  // hep12IPv4Len or hep12IPv6Len
	hep12Proto     = 3  // the IP protocol the message was carried over
	hep12SrcPort   = 4  // then the destination port, then the addresses
	hep12Addrs     = 8  // source then destination address
	hep12IPv4Len   = 16 // header length with IPv4 addresses
	hep12IPv6Len   = 40 // with IPv6 addresses
	hep2TimeLen    = 12 // version 2's time header: seconds, microseconds, node id, padded
	hep2TimePacked = 10 // the same packed, as some agents send it
)

// HEP3 header and the chunk types read (vendor 0, the generic chunks).
const (
	hep3HeaderLen    = 6 // "HEP3" and the total length
	hep3ChunkLen     = 6 // vendor, type, length (the chunk's, header included)
	hepChunkIPProto  = 2
	hepChunkSrcIPv4  = 3
	hepChunkDstIPv4  = 4
	hepChunkSrcIPv6  = 5
	hepChunkDstIPv6  = 6
	hepChunkSrcPort  = 7
	hepChunkDstPort  = 8
	hepChunkSeconds  = 9
	hepChunkMicros   = 10
	hepChunkProtocol = 11
	hepChunkPayload  = 15
)

// IP protocols SIP is carried over, as HEP names them.
const (
	ipProtoTCP  = 6
	ipProtoUDP  = 17
	ipProtoSCTP = 132
)

// hepPacket is what a HEP packet says about the message it carries.
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
	case ipProtoTCP:
		return TCP
	case ipProtoSCTP:
		return SCTP
	}
	return UDP
}

// parseHEP decodes a HEP packet of any version; ok is false when b is
// not one.
func parseHEP(b []byte) (h hepPacket, ok bool) {
	if len(b) > 0 && (b[hep12Version] == 1 || b[hep12Version] == 2) {
		return parseHEP12(b)
	}
	return parseHEP3(b)
}

// parseHEP12 decodes a HEP version 1 or 2 packet. Its header has no magic
// to tell it by, so it must add up (a length that fits the family, an IP
// protocol SIP is carried over) and be followed by a SIP start line.
func parseHEP12(b []byte) (h hepPacket, ok bool) {
	version, _, ok1 := readUint8(b, hep12Version)
	hl8, _, ok2 := readUint8(b, hep12HeaderLen)
	proto, _, ok3 := readUint8(b, hep12Proto)
	sport, off, ok4 := readUint16(b, hep12SrcPort)
	dport, _, ok5 := readUint16(b, off)
	hl := int(hl8)
	if !(ok1 && ok2 && ok3 && ok4 && ok5) || (proto != ipProtoUDP && proto != ipProtoTCP && proto != ipProtoSCTP) ||
		(hl != hep12IPv4Len && hl != hep12IPv6Len) || len(b) < hl {
		return h, false
	}
	size := (hl - hep12Addrs) / 2 // of one address
	srcB, off, _ := readBytes(b, hep12Addrs, size)
	dstB, _, _ := readBytes(b, off, size)
	src, _ := netip.AddrFromSlice(srcB)
	dst, _ := netip.AddrFromSlice(dstB)
	h.src, h.dst, h.proto, h.ipProto = netip.AddrPortFrom(src, sport), netip.AddrPortFrom(dst, dport), 1, proto
	if version == 1 {
		h.payload = b[hl:]
		return h, sip.IsStart(h.payload)
	}
	// Version 2: the time, then the payload after the padded or packed
	// time header.
	sec, off, ok1 := readUint32LE(b, hl)
	usec, _, ok2 := readUint32LE(b, off)
	if !ok1 || !ok2 || len(b) < hl+hep2TimePacked {
		return h, false
	}
	if sec != 0 {
		h.time = time.Unix(int64(sec), int64(usec)*1000).UTC()
	}
	for _, n := range [...]int{hep2TimeLen, hep2TimePacked} {
		if len(b) > hl+n && sip.IsStart(b[hl+n:]) {
			h.payload = b[hl+n:]
			return h, true
		}
	}
	return h, false
}

// parseHEP3 decodes a HEP3 packet; ok is false when b is not one.
func parseHEP3(b []byte) (h hepPacket, ok bool) {
	if len(b) < hep3HeaderLen || string(b[:len(hep3)]) != string(hep3) {
		return h, false
	}
	total16, _, _ := readUint16(b, len(hep3))
	total := int(total16)
	if total < hep3HeaderLen || total > len(b) {
		return h, false
	}
	b = b[:total]
	var srcIP, dstIP netip.Addr
	var srcPort, dstPort uint16
	var sec, usec uint32
	for off := hep3HeaderLen; off+hep3ChunkLen <= total; {
		typ, _, _ := readUint16(b, off+2)
		n16, _, _ := readUint16(b, off+4)
		v, next, ok := readBytes(b, off+hep3ChunkLen, int(n16)-hep3ChunkLen)
		if !ok {
			return h, false
		}
		switch {
		case typ == hepChunkSrcIPv4 && len(v) == 4, typ == hepChunkSrcIPv6 && len(v) == 16:
			srcIP, _ = netip.AddrFromSlice(v)
		case typ == hepChunkDstIPv4 && len(v) == 4, typ == hepChunkDstIPv6 && len(v) == 16:
			dstIP, _ = netip.AddrFromSlice(v)
		case typ == hepChunkSrcPort && len(v) == 2:
			srcPort, _, _ = readUint16(v, 0)
		case typ == hepChunkDstPort && len(v) == 2:
			dstPort, _, _ = readUint16(v, 0)
		case typ == hepChunkSeconds && len(v) == 4:
			sec, _, _ = readUint32(v, 0)
		case typ == hepChunkMicros && len(v) == 4:
			usec, _, _ = readUint32(v, 0)
		case typ == hepChunkIPProto && len(v) == 1:
			h.ipProto = v[0]
		case typ == hepChunkProtocol && len(v) == 1:
			h.proto = v[0]
		case typ == hepChunkPayload:
			h.payload = v
		}
		off = next
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
