package capture

import (
	"encoding/binary"
	"net/netip"

	"github.com/sipalive/sipalive/capture/sip"
)

// sctpProto is SCTP's IP protocol number.
const sctpProto = 132

// sctp reads the DATA chunks of an SCTP packet (RFC 9260): SIP over SCTP
// (RFC 4168) puts one message in each, and several chunks may share a
// packet. A message split over several chunks (B/E flags) is not
// reassembled: SIP messages fit in one.
func (d *Decoder) sctp(ipv int, b []byte, frames []uint64) {
	if len(b) < 12 {
		d.Stats.Undecodable++
		return
	}
	d.Stats.SCTPPackets++
	src := netip.AddrPortFrom(ipAddr(ipv, d.ip4.SrcIP, d.ip6.SrcIP), binary.BigEndian.Uint16(b[0:2]))
	dst := netip.AddrPortFrom(ipAddr(ipv, d.ip4.DstIP, d.ip6.DstIP), binary.BigEndian.Uint16(b[2:4]))
	for off := 12; off+4 <= len(b); {
		typ, flags := b[off], b[off+1]
		n := int(binary.BigEndian.Uint16(b[off+2:]))
		if n < 4 || off+n > len(b) {
			return
		}
		if typ == 0 && n > 16 && flags&3 == 3 { // a whole DATA chunk
			if data := b[off+16 : off+n]; sip.IsStart(data) {
				m := d.message(SIP, d.now, src, dst, SCTP, data, frames)
				d.Stats.SCTPMessages++
				d.Emit(m)
			}
		}
		off += (n + 3) &^ 3 // chunks are padded to 4 bytes
	}
}
