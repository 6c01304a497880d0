package capture

import (
	"net/netip"

	"github.com/sipalive/sipalive/capture/sip"
)

// sctpProto is SCTP's IP protocol number.
const sctpProto = 132

// RFC 9260 section 3: the common header, the chunk header, and a DATA
// chunk's header.
const (
	sctpCommonHeader = 12 // ports, verification tag, checksum
	sctpChunkHeader  = 4  // type, flags, length (the chunk's, header included)
	sctpDataHeader   = 16 // chunk header, TSN, stream id and sequence, payload protocol
	sctpChunkData    = 0  // the DATA chunk type
	sctpBeginEnd     = 3  // B and E flags: the whole user message
	sctpPadding      = 4  // chunks are padded to this
)

// sctp reads the DATA chunks of an SCTP packet (RFC 9260): SIP over SCTP
// (RFC 4168) puts one message in each, and several chunks may share a
// packet. A message split over several chunks (B/E flags) is not
// reassembled: SIP messages fit in one.
func (d *Decoder) sctp(ipv int, b []byte, frames []uint64) {
	sport, off, ok1 := readUint16(b, 0)
	dport, _, ok2 := readUint16(b, off)
	if !ok1 || !ok2 || len(b) < sctpCommonHeader {
		d.Stats.Undecodable++
		return
	}
	d.Stats.SCTPPackets++
	src := netip.AddrPortFrom(ipAddr(ipv, d.ip4.SrcIP, d.ip6.SrcIP), sport)
	dst := netip.AddrPortFrom(ipAddr(ipv, d.ip4.DstIP, d.ip6.DstIP), dport)
	for off := sctpCommonHeader; off+sctpChunkHeader <= len(b); {
		typ, next, _ := readUint8(b, off)
		flags, next, _ := readUint8(b, next)
		n16, _, _ := readUint16(b, next)
		chunk, _, ok := readBytes(b, off, int(n16))
		if !ok || len(chunk) < sctpChunkHeader {
			return
		}
		if typ == sctpChunkData && len(chunk) > sctpDataHeader && flags&sctpBeginEnd == sctpBeginEnd {
			if data := chunk[sctpDataHeader:]; sip.IsStart(data) {
				m := d.message(SIP, d.now, src, dst, SCTP, data, frames)
				d.Stats.SCTPMessages++
				d.Emit(m)
			}
		}
		off += (len(chunk) + sctpPadding - 1) &^ (sctpPadding - 1)
	}
}
