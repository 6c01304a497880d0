package capture

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// ErrNotCapture says a file is neither pcap nor pcapng.
var ErrNotCapture = errors.New("not a pcap or pcapng capture")

const (
	magicPcapNG   = 0x0A0D0D0A
	magicGzip     = 0x1f8b
	magicMicroLE  = 0xa1b2c3d4
	magicNanoLE   = 0xa1b23c4d
	magicMicroBE  = 0xd4c3b2a1
	magicNanoBE   = 0x4d3cb2a1
	magicModified = 0xa1b2cd34 // Kuznetzov's modified pcap: records are longer
)

// File is a pcap or pcapng capture file, optionally gzip-compressed.
type File struct {
	Path   string
	Size   int64
	Format string // "pcap", "pcapng", with "+gzip" when compressed

	f       *os.File
	counted *countingReader
	pcap    *pcapReader
	ng      *pcapngReader
	link    layers.LinkType
	ci      gopacket.CaptureInfo // the last packet's, which Next points to
	packets uint64               // packets read so far
	err     error                // what ended the file early
}

// readBuffer is the size of the blocks a classic pcap file is read in: a
// record up to pcapMaxRecord less its header is returned in place from
// one. A block this size stays in the reading core's cache while its
// packets are decoded and scanned; 1 MB blocks were a little slower.
const readBuffer = 1 << 18

// peekBuffer buffers the start of a file, where its kind is told: reads
// of a block at a time then go around it to the file.
const peekBuffer = 64 << 10

// countingReader counts the bytes read from the file, for progress.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Stdin is the path that names standard input, as tcpdump -r - does:
// tcpdump -w - on another host, piped through ssh, is read as it comes.
const Stdin = "-"

// OpenFile opens a capture file (Stdin for standard input) and reads its
// header.
func OpenFile(path string) (*File, error) {
	if path == Stdin {
		cf := &File{Path: path, f: os.Stdin}
		if err := cf.open(); err != nil {
			return nil, err
		}
		return cf, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if st.IsDir() {
		f.Close()
		return nil, errors.New("is a directory")
	}
	cf := &File{Path: path, Size: st.Size(), f: f}
	if err := cf.open(); err != nil {
		f.Close()
		return nil, err
	}
	return cf, nil
}

func (cf *File) open() error {
	cf.counted = &countingReader{r: cf.f}
	br := bufio.NewReaderSize(cf.counted, peekBuffer)
	head, err := br.Peek(4)
	if len(head) == 0 && err != nil {
		if err == io.EOF {
			return errors.New("empty file")
		}
		return err
	}
	if len(head) >= 2 && binary.BigEndian.Uint16(head) == magicGzip {
		zr, err := gzip.NewReader(br)
		if errors.Is(err, gzip.ErrHeader) {
			return fmt.Errorf("%w: it starts as gzip does, but its gzip header is invalid", ErrNotCapture)
		}
		if err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
		br = bufio.NewReaderSize(zr, peekBuffer)
		cf.Format = "+gzip"
		if head, err = br.Peek(4); len(head) < 4 {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("gzip: %w", err)
		}
	}
	if len(head) < 4 {
		return fmt.Errorf("%w (only %d bytes)", ErrNotCapture, len(head))
	}
	switch magic := binary.LittleEndian.Uint32(head); magic {
	case magicPcapNG:
		ng, err := newPcapngReader(br)
		if err != nil {
			return fmt.Errorf("pcapng: %w", err)
		}
		cf.ng, cf.Format = ng, "pcapng"+cf.Format
	case magicMicroLE, magicNanoLE, magicMicroBE, magicNanoBE:
		p, err := newPcapReader(br, readBuffer)
		if err != nil {
			return fmt.Errorf("pcap: %w", err)
		}
		cf.pcap, cf.link, cf.Format = p, p.link, "pcap"+cf.Format
	case magicModified, 0x34cdb2a1:
		return fmt.Errorf("%w: modified (Kuznetzov) pcap is not supported; convert it with editcap -F pcap", ErrNotCapture)
	default:
		return fmt.Errorf("%w (file starts with %q)", ErrNotCapture, printable(head))
	}
	return nil
}

func printable(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			c = '.'
		}
		out[i] = c
	}
	return string(out)
}

// Next returns the next packet of the file and its capture information;
// both are valid until the following call (data longer when its Block is
// held). At the end it returns io.EOF.
//
// The capture information is pointed to, not returned: a struct of nine
// words returned by value is copied on the stack at every level, in
// 16-byte moves that stall on the 8-byte stores just made (a tenth of the
// time of reading a capture).
//
// A file is its own input 0. A cut or damaged record ends it with an
// error wrapping io.ErrUnexpectedEOF.
func (cf *File) Next() (input int, data []byte, ci *gopacket.CaptureInfo, link layers.LinkType, err error) {
	ci = &cf.ci
	if cf.ng != nil {
		data, link, err = cf.ng.next(ci)
		if err != nil {
			return 0, nil, nil, 0, cf.fail(err)
		}
		cf.packets++
		return 0, data, ci, link, nil
	}
	data, err = cf.pcap.next(ci)
	if err != nil {
		return 0, nil, nil, 0, cf.fail(err)
	}
	cf.packets++
	return 0, data, ci, cf.link, nil
}

// fail notes what ended the file.
func (cf *File) fail(err error) error {
	err = normaliseEOF(err)
	if err != io.EOF {
		cf.err = err
	}
	return err
}

// Damages are the places the file was damaged and reading resynchronised.
func (cf *File) Damages() []Damage {
	switch {
	case cf.pcap != nil:
		return cf.pcap.damages
	case cf.ng != nil:
		return cf.ng.damages
	}
	return nil
}

// Describe says what the file gave.
func (cf *File) Describe() []InputState {
	return []InputState{{Path: cf.Path, Format: cf.Format, Packets: cf.packets, Err: cf.err, Damages: cf.Damages()}}
}

// Block returns the block the packet Next returned last lies in, for the
// caller to hold (see Block); nil when the packet was read into a buffer
// that the next one reuses (pcapng, a record longer than a block).
func (cf *File) Block() *Block {
	if cf.pcap == nil {
		return nil
	}
	return cf.pcap.last
}

// normaliseEOF keeps io.EOF for a clean end and turns every way a reader
// reports a cut record into io.ErrUnexpectedEOF, wrapped with its detail.
func normaliseEOF(err error) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return err
	}
	return fmt.Errorf("%w: %v", io.ErrUnexpectedEOF, err)
}

// BytesRead is how far into the file (compressed bytes) reading has got.
func (cf *File) BytesRead() int64 { return cf.counted.n }

// Progress is how far reading has got of the file's size (0 for
// standard input).
func (cf *File) Progress() (read, size int64) { return cf.counted.n, cf.Size }

// Close closes the file.
func (cf *File) Close() error { return cf.f.Close() }
