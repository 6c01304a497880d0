package capture

import "encoding/binary"

// Binary fields of the encapsulations (HEP, WebSocket, SCTP, MPLS, PPPoE)
// are read through these helpers, as miekg/dns reads its wire format: each
// takes the buffer and an offset, checks the field lies inside, and returns
// the value and the offset after it. A field past the end returns ok false
// rather than panicking, so a truncated or hostile packet is refused, never
// read out of bounds.

func readUint8(b []byte, off int) (v uint8, next int, ok bool) {
	if off < 0 || off+1 > len(b) {
		return 0, off, false
	}
	return b[off], off + 1, true
}

func readUint16(b []byte, off int) (v uint16, next int, ok bool) {
	if off < 0 || off+2 > len(b) {
		return 0, off, false
	}
	return binary.BigEndian.Uint16(b[off:]), off + 2, true
}

func readUint32(b []byte, off int) (v uint32, next int, ok bool) {
	if off < 0 || off+4 > len(b) {
		return 0, off, false
	}
	return binary.BigEndian.Uint32(b[off:]), off + 4, true
}

// readUint32LE reads a little-endian field (HEP version 2's time, sent as
// the agent's C struct).
func readUint32LE(b []byte, off int) (v uint32, next int, ok bool) {
	if off < 0 || off+4 > len(b) {
		return 0, off, false
	}
	return binary.LittleEndian.Uint32(b[off:]), off + 4, true
}

func readUint64(b []byte, off int) (v uint64, next int, ok bool) {
	if off < 0 || off+8 > len(b) {
		return 0, off, false
	}
	return binary.BigEndian.Uint64(b[off:]), off + 8, true
}

// readBytes returns the n bytes at off, aliasing b.
func readBytes(b []byte, off, n int) (v []byte, next int, ok bool) {
	if off < 0 || n < 0 || off+n > len(b) {
		return nil, off, false
	}
	return b[off : off+n : off+n], off + n, true
}
