package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// pcapng (draft-ietf-opsawg-pcapng): a file is a run of blocks, each its
// type, its total length, a body, and the total length again. A section
// header block sets the byte order and starts a new set of interfaces; an
// interface description block gives an interface's link type and time
// resolution; enhanced, simple and (obsolete) packet blocks carry the
// packets. A block that cannot be right (a length that is not one, a
// trailer that does not repeat it, a packet naming an interface the
// section lacks) is a damage: it is counted, named, and reading goes on
// from the next plausible block, as it does in a classic pcap file.

// Block types read; others are skipped whole.
const (
	ngSectionHeader   = 0x0A0D0D0A
	ngInterface       = 0x00000001
	ngObsoletePacket  = 0x00000002
	ngSimplePacket    = 0x00000003
	ngEnhancedPacket  = 0x00000006
	ngByteOrderMagic  = 0x1A2B3C4D
	ngBlockOverhead   = 12 // type, length, trailing length
	ngMaxBlock        = pcapMaxRecord + 1<<16
	ngOptionEnd       = 0
	ngOptionTSResol   = 9
	ngOptionTSOffset  = 14
	ngDefaultResolExp = 6 // microseconds
)

// ngInterfaceInfo is what a packet block needs of its interface.
type ngInterfaceInfo struct {
	link    layers.LinkType
	snaplen uint32
	resol   uint8 // if_tsresol: 10^-n, or 2^-n with the high bit set
	offset  int64 // if_tsoffset, seconds
}

// pcapngReader reads the blocks of a pcapng file.
type pcapngReader struct {
	r       *bufio.Reader
	order   binary.ByteOrder
	ifaces  []ngInterfaceInfo
	buf     []byte // the current block
	offset  int64  // of the next block in the (uncompressed) file
	blocks  uint64 // read so far
	damages []Damage
	last    time.Time // the last packet's time (a simple packet block has none)
}

// newPcapngReader reads the first section header from r.
func newPcapngReader(r io.Reader) (*pcapngReader, error) {
	// The buffer holds the longest block: a block is checked whole (its
	// trailing length) before it is read.
	p := &pcapngReader{r: bufio.NewReaderSize(r, ngMaxBlock+16)}
	typ, body, err := p.block()
	if err != nil {
		return nil, err
	}
	if typ != ngSectionHeader {
		return nil, fmt.Errorf("the first block is of type %#x, not a section header", typ)
	}
	if err := p.section(body); err != nil {
		return nil, err
	}
	return p, nil
}

// header reads a block's type and length at the front of the reader
// without consuming them. The byte order of a section header's length is
// its own, given by the magic that follows it.
func (p *pcapngReader) header() (typ, length uint32, err error) {
	h, err := p.r.Peek(12)
	if len(h) < 8 {
		if len(h) == 0 && errors.Is(err, io.EOF) {
			return 0, 0, io.EOF
		}
		return 0, 0, io.ErrUnexpectedEOF
	}
	order := p.order
	if binary.LittleEndian.Uint32(h) == ngSectionHeader {
		if len(h) < 12 {
			return 0, 0, io.ErrUnexpectedEOF
		}
		order = binary.LittleEndian
		if binary.BigEndian.Uint32(h[8:]) == ngByteOrderMagic {
			order = binary.BigEndian
		}
	}
	if order == nil {
		order = binary.LittleEndian
	}
	return order.Uint32(h), order.Uint32(h[4:]), nil
}

// plausible says why a block of this type and length at the front of the
// reader cannot be right ("" when it can). The whole block must be there:
// a length running past the end of the file is a damaged one, or the
// file was cut in its last block, which resynchronising then says.
func (p *pcapngReader) plausible(typ, length uint32) string {
	switch {
	case length < ngBlockOverhead || length%4 != 0:
		return fmt.Sprintf("block length %d is not one (at least 12, a multiple of 4)", length)
	case length > ngMaxBlock:
		return fmt.Sprintf("block length %d exceeds any packet's", length)
	}
	b, err := p.r.Peek(int(length))
	if len(b) < int(length) {
		if errors.Is(err, bufio.ErrBufferFull) {
			return "block longer than the read buffer"
		}
		return fmt.Sprintf("block length %d runs past the end of the file", length)
	}
	order := p.order
	if typ == ngSectionHeader {
		order = binary.LittleEndian
		if binary.BigEndian.Uint32(b[8:]) == ngByteOrderMagic {
			order = binary.BigEndian
		}
	}
	if order == nil {
		order = binary.LittleEndian
	}
	if trailer := order.Uint32(b[length-4:]); trailer != length {
		return fmt.Sprintf("block length %d is not repeated at its end (%d)", length, trailer)
	}
	return ""
}

// block reads the next block whole and returns its type and body.
func (p *pcapngReader) block() (typ uint32, body []byte, err error) {
	var length uint32
	for {
		if typ, length, err = p.header(); err != nil {
			return 0, nil, err
		}
		why := p.plausible(typ, length)
		if why == "" {
			break
		}
		if err := p.resync(why); err != nil {
			return 0, nil, err
		}
	}
	if cap(p.buf) < int(length) {
		p.buf = make([]byte, length)
	}
	p.buf = p.buf[:length]
	if n, err := io.ReadFull(p.r, p.buf); err != nil {
		p.offset += int64(n)
		return 0, nil, fmt.Errorf("block %d at offset %d is cut short: %w", p.blocks+1, p.offset-int64(n), io.ErrUnexpectedEOF)
	}
	p.offset += int64(length)
	p.blocks++
	return typ, p.buf[8 : length-4], nil
}

// resync notes a damaged block and skips, a byte at a time, to the next
// place a plausible block starts; the file ends only when none comes within
// maxResync bytes.
func (p *pcapngReader) resync(why string) error {
	d := Damage{Record: p.blocks + 1, Offset: p.offset, Why: why}
	for d.Skipped < maxResync {
		if _, err := p.r.Discard(1); err != nil {
			return fmt.Errorf("block %d at offset %d: %s; no plausible block after it: %w", d.Record, d.Offset, why, io.ErrUnexpectedEOF)
		}
		p.offset++
		d.Skipped++
		typ, length, err := p.header()
		if err != nil {
			return fmt.Errorf("block %d at offset %d: %s; no plausible block after it: %w", d.Record, d.Offset, why, io.ErrUnexpectedEOF)
		}
		switch typ {
		case ngSectionHeader, ngInterface, ngObsoletePacket, ngSimplePacket, ngEnhancedPacket:
		default:
			continue
		}
		if p.plausible(typ, length) == "" && length >= 16 {
			p.damage(d)
			return nil
		}
	}
	return fmt.Errorf("block %d at offset %d: %s; no plausible block in the next %d bytes", d.Record, d.Offset, why, maxResync)
}

func (p *pcapngReader) damage(d Damage) {
	if len(p.damages) < maxDamages {
		p.damages = append(p.damages, d)
	}
}

// section starts a section: its byte order, no interfaces yet.
func (p *pcapngReader) section(body []byte) error {
	if len(body) < 4 {
		return errors.New("section header block too short")
	}
	switch {
	case binary.LittleEndian.Uint32(body) == ngByteOrderMagic:
		p.order = binary.LittleEndian
	case binary.BigEndian.Uint32(body) == ngByteOrderMagic:
		p.order = binary.BigEndian
	default:
		return errors.New("section header without its byte-order magic")
	}
	p.ifaces = p.ifaces[:0]
	return nil
}

// field returns the n bytes at off of a block body, if they are there.
func field(b []byte, off, n int) ([]byte, bool) {
	if off < 0 || n < 0 || off+n > len(b) {
		return nil, false
	}
	return b[off : off+n], true
}

// iface reads an interface description block.
func (p *pcapngReader) iface(body []byte) (ngInterfaceInfo, bool) {
	h, ok := field(body, 0, 8)
	if !ok {
		return ngInterfaceInfo{}, false
	}
	in := ngInterfaceInfo{link: layers.LinkType(p.order.Uint16(h)), snaplen: p.order.Uint32(h[4:]), resol: ngDefaultResolExp}
	for off := 8; ; {
		oh, ok := field(body, off, 4)
		if !ok {
			break
		}
		code, n := p.order.Uint16(oh), int(p.order.Uint16(oh[2:]))
		v, ok := field(body, off+4, n)
		if code == ngOptionEnd || !ok {
			break
		}
		switch {
		case code == ngOptionTSResol && n >= 1:
			in.resol = v[0]
		case code == ngOptionTSOffset && n >= 8:
			in.offset = int64(p.order.Uint64(v))
		}
		off += 4 + (n+3)&^3
	}
	return in, true
}

// stamp turns an interface's 64-bit timestamp into a time: units of
// 10^-n or 2^-n seconds (if_tsresol) from if_tsoffset.
func (in *ngInterfaceInfo) stamp(hi, lo uint32) time.Time {
	units := uint64(hi)<<32 | uint64(lo)
	var perSecond uint64
	if in.resol&0x80 != 0 {
		perSecond = 1 << min(in.resol&0x7f, 63)
	} else {
		perSecond = 1
		for range min(in.resol, 19) {
			perSecond *= 10
		}
	}
	sec, frac := units/perSecond, units%perSecond
	h, l := bits.Mul64(frac, uint64(time.Second))
	ns, _ := bits.Div64(h, l, perSecond) // h < perSecond: frac is
	return time.Unix(int64(sec)+in.offset, int64(ns)).UTC()
}

// next returns the next packet: its bytes (valid until the following
// call), capture information and link type. Blocks that are not packets
// are read on the way.
func (p *pcapngReader) next(ci *gopacket.CaptureInfo) (data []byte, link layers.LinkType, err error) {
	for {
		start, blockNo := p.offset, p.blocks+1
		typ, body, err := p.block()
		if err != nil {
			return nil, 0, err
		}
		bad := func(why string) {
			p.damage(Damage{Record: blockNo, Offset: start, Why: why})
		}
		switch typ {
		case ngSectionHeader:
			if err := p.section(body); err != nil {
				bad(err.Error())
			}
		case ngInterface:
			in, ok := p.iface(body)
			if !ok {
				bad("interface description block too short")
				continue
			}
			p.ifaces = append(p.ifaces, in)
		case ngEnhancedPacket, ngObsoletePacket:
			var id int
			var hi, lo, capLen, origLen uint32
			off := 20
			if typ == ngEnhancedPacket {
				h, ok := field(body, 0, 20)
				if !ok {
					bad("enhanced packet block too short")
					continue
				}
				id, hi, lo, capLen, origLen = int(p.order.Uint32(h)), p.order.Uint32(h[4:]), p.order.Uint32(h[8:]), p.order.Uint32(h[12:]), p.order.Uint32(h[16:])
			} else {
				h, ok := field(body, 0, 20)
				if !ok {
					bad("packet block too short")
					continue
				}
				id, hi, lo, capLen, origLen = int(p.order.Uint16(h)), p.order.Uint32(h[4:]), p.order.Uint32(h[8:]), p.order.Uint32(h[12:]), p.order.Uint32(h[16:])
			}
			if id >= len(p.ifaces) {
				bad(fmt.Sprintf("packet names interface %d; the section describes %d", id, len(p.ifaces)))
				continue
			}
			pkt, ok := field(body, off, int(capLen))
			if !ok {
				bad(fmt.Sprintf("captured length %d exceeds the block", capLen))
				continue
			}
			in := &p.ifaces[id]
			p.last = in.stamp(hi, lo)
			*ci = gopacket.CaptureInfo{Timestamp: p.last, CaptureLength: len(pkt), Length: int(max(origLen, capLen)), InterfaceIndex: id}
			return pkt, in.link, nil
		case ngSimplePacket:
			if len(p.ifaces) == 0 {
				bad("simple packet block before any interface description")
				continue
			}
			h, ok := field(body, 0, 4)
			if !ok {
				bad("simple packet block too short")
				continue
			}
			origLen := p.order.Uint32(h)
			n := min(int(origLen), len(body)-4)
			if s := p.ifaces[0].snaplen; s > 0 {
				n = min(n, int(s))
			}
			*ci = gopacket.CaptureInfo{Timestamp: p.last, CaptureLength: n, Length: int(origLen)}
			return body[4 : 4+n], p.ifaces[0].link, nil
		}
	}
}
