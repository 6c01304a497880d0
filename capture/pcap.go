package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// pcapReader reads the records of a classic pcap file in place from a
// bufio.Reader: each record is peeked, returned and discarded on the next
// call, so a packet costs no copy. pcapgo.Reader copies every header and
// payload through io.ReadFull, which on a gigabyte capture is a third of
// the whole read-and-decode time. Headers and errors follow pcapgo's (the
// tests compare the two on every sample).
type pcapReader struct {
	br       *bufio.Reader
	big      bool  // big-endian file
	nanoMult int64 // 1000 for microsecond timestamps, 1 for nanoseconds
	snaplen  int
	link     layers.LinkType
	pending  int    // bytes of the previous record still to discard
	copyBuf  []byte // records longer than the buffer are copied here
}

// pcapMaxRecord is the longest record read: larger ones are corrupt. It is
// pcapgo's limit, and like tcpdump it reads records longer than a snap
// length that the writer did not enforce.
const pcapMaxRecord = 262144

// newPcapReader reads the file header.
func newPcapReader(br *bufio.Reader) (*pcapReader, error) {
	h, err := br.Peek(24)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("file header: %w", err)
	}
	r := &pcapReader{br: br, nanoMult: 1000}
	switch binary.LittleEndian.Uint32(h) {
	case magicMicroLE:
	case magicNanoLE:
		r.nanoMult = 1
	case magicMicroBE:
		r.big = true
	case magicNanoBE:
		r.big, r.nanoMult = true, 1
	default:
		return nil, fmt.Errorf("unknown magic %x", binary.LittleEndian.Uint32(h))
	}
	if major, minor := r.u16(h[4:]), r.u16(h[6:]); major != 2 || minor != 4 {
		return nil, fmt.Errorf("unknown version %d.%d", major, minor)
	}
	r.snaplen = int(r.u32(h[16:]))
	r.link = layers.LinkType(r.u32(h[20:]))
	if _, err := br.Discard(24); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *pcapReader) u16(b []byte) uint16 {
	if r.big {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (r *pcapReader) u32(b []byte) uint32 {
	if r.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// next returns the next record; data is valid until the following call.
// A clean end is io.EOF; a record cut short is io.ErrUnexpectedEOF.
func (r *pcapReader) next() (data []byte, ci gopacket.CaptureInfo, err error) {
	if r.pending > 0 {
		if _, err = r.br.Discard(r.pending); err != nil {
			return nil, ci, err
		}
		r.pending = 0
	}
	h, err := r.br.Peek(16)
	if err != nil {
		if err == io.EOF && len(h) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, ci, err
	}
	ci.Timestamp = time.Unix(int64(r.u32(h)), int64(r.u32(h[4:]))*r.nanoMult).UTC()
	ci.CaptureLength = int(r.u32(h[8:]))
	ci.Length = int(r.u32(h[12:]))
	if ci.CaptureLength > max(r.snaplen, pcapMaxRecord) || ci.CaptureLength < 0 {
		return nil, ci, fmt.Errorf("capture length exceeds snap length: %d > %d", ci.CaptureLength, r.snaplen)
	}
	if ci.CaptureLength > ci.Length {
		return nil, ci, fmt.Errorf("capture length exceeds original packet length: %d > %d", ci.CaptureLength, ci.Length)
	}
	n := 16 + ci.CaptureLength
	if n <= r.br.Size() {
		rec, err := r.br.Peek(n)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, ci, err
		}
		r.pending = n
		return rec[16:], ci, nil
	}
	// A record longer than the buffer (a snap length above a megabyte).
	if _, err := r.br.Discard(16); err != nil {
		return nil, ci, err
	}
	// The buffer grows only as data arrives: a corrupt length must not
	// allocate gigabytes up front.
	data = r.copyBuf[:0]
	for len(data) < ci.CaptureLength {
		chunk := min(ci.CaptureLength-len(data), readBuffer)
		data = slices.Grow(data, chunk)
		n, err := io.ReadFull(r.br, data[len(data):len(data)+chunk])
		data = data[:len(data)+n]
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, ci, err
		}
	}
	r.copyBuf = data
	return data, ci, nil
}
