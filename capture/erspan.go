package capture

// ERSPAN type III (draft-foschiano-erspan): gopacket decodes type II but
// not III, so its header is stripped here and the mirrored Ethernet frame
// behind it decoded as any other.

// erspan3 is the GRE protocol of ERSPAN type III.
const erspan3 = 0x22eb

// The ERSPAN III header.
const (
	erspan3Header    = 12 // version and VLAN, session and flags, timestamp, SGT and flags
	erspan3Version   = 2  // the version field's value for type III
	erspan3FlagsAt   = 11 // the byte whose low bit (O) says a platform sub-header follows
	erspan3Platform  = 8  // the platform-specific sub-header's size
	erspan3OptionBit = 1
)

// erspan3Payload skips an ERSPAN type III header, and the platform
// sub-header when its O bit is set.
func erspan3Payload(b []byte) ([]byte, bool) {
	first, _, ok1 := readUint8(b, 0)
	flags, _, ok2 := readUint8(b, erspan3FlagsAt)
	if !ok1 || !ok2 || first>>4 != erspan3Version {
		return nil, false
	}
	n := erspan3Header
	if flags&erspan3OptionBit != 0 {
		n += erspan3Platform
	}
	if len(b) < n {
		return nil, false
	}
	return b[n:], true
}
