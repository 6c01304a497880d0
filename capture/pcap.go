package capture

import (
	"encoding/binary"
	"fmt"
	"io"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// pcapReader reads the records of a classic pcap file in place: the file
// is read into blocks, and a record is returned as a slice of its block,
// so a packet costs no copy. pcapgo.Reader copies every header and payload
// through io.ReadFull, which on a gigabyte capture is a third of the whole
// read-and-decode time. A block is not rewritten while someone holds it
// (see Block): the analysis of another goroutine may read packets where
// they lie until it is done with them. Headers and errors follow pcapgo's
// (the tests compare the two on every sample).
type pcapReader struct {
	src       io.Reader
	big       bool  // big-endian file
	nanoMult  int64 // 1000 for microsecond timestamps, 1 for nanoseconds
	snaplen   int
	link      layers.LinkType
	blockSize int
	blk       *Block // the block being read: its unread bytes are blk.buf[r:w]
	r, w      int
	spare     []*Block // blocks read before, reused once nobody holds them
	trim      blockTrim
	last      *Block   // the block of the record returned last (nil: copied)
	err       error    // what ended the source (io.EOF at its end)
	empty     int      // reads in a row that returned nothing
	copyBuf   []byte   // records longer than a block are copied here
	offset    int64    // file offset of blk.buf[r]
	records   uint64   // records returned so far
	lastSec   uint32   // the last good record's seconds, for telling a plausible header
	damages   []Damage // where the file was damaged and reading resynchronised
}

// Damage is a place where a capture file was damaged: a record header
// that cannot be right, and the bytes skipped to the next plausible one,
// from where reading went on (as pcapfix recovers a broken capture).
type Damage struct {
	Record  uint64 // the damaged record's number, 1-based
	Offset  int64  // its offset in the (uncompressed) file
	Skipped int64  // bytes skipped to the next plausible record
	Why     string
}

// maxDamages bounds the damages listed per file; maxResync how far a
// resynchronisation looks for a plausible record before the file is given
// up.
const (
	maxDamages = 100
	maxResync  = 16 << 20
)

// pcapMaxRecord is the longest record read: larger ones are corrupt. It is
// pcapgo's limit, and like tcpdump it reads records longer than a snap
// length that the writer did not enforce.
const pcapMaxRecord = 262144

// newPcapReader reads the file header from src; records are then read in
// blocks of blockSize bytes.
func newPcapReader(src io.Reader, blockSize int) (*pcapReader, error) {
	r := &pcapReader{src: src, nanoMult: 1000, blockSize: max(blockSize, 64)}
	r.blk = r.newBlock()
	if err := r.fill(24); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("file header: %w", err)
	}
	h := r.blk.buf[r.r : r.r+24]
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
	r.r += 24
	r.offset = 24
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

// fill makes n unread bytes (n at most a block) lie in the current block,
// reading as needed. When the block has no room left for them, the unread
// bytes move to the start of a block nobody holds, and reading goes on
// there: bytes already returned stay where they were. At the end of the
// source it returns the source's error (io.EOF for a clean end).
func (r *pcapReader) fill(n int) error {
	for r.w-r.r < n {
		if r.err != nil {
			return r.err
		}
		if len(r.blk.buf)-r.r < n {
			next := r.freeBlock()
			r.w = copy(next.buf, r.blk.buf[r.r:r.w])
			r.r = 0
			r.spare = append(r.spare, r.blk)
			r.blk = next
		}
		k, err := r.src.Read(r.blk.buf[r.w:])
		r.w += k
		switch {
		case err != nil:
			r.err = err
		case k > 0:
			r.empty = 0
		default:
			if r.empty++; r.empty == maxEmptyReads {
				r.err = io.ErrNoProgress // as bufio gives up
			}
		}
	}
	return nil
}

// maxEmptyReads is how many reads in a row may return nothing, as bufio
// allows.
const maxEmptyReads = 100

// freeBlock returns a block nobody holds: the oldest spare one if it is
// free, else a new one. Blocks are held for as long as the analysis takes
// over a few batches, so a handful are in use at a time.
func (r *pcapReader) freeBlock() *Block {
	r.trim.check(&r.spare)
	if len(r.spare) > 0 && r.spare[0].held.Load() == 0 {
		b := r.spare[0]
		r.spare = append(r.spare[:0], r.spare[1:]...)
		return b
	}
	return r.newBlock()
}

// blockTrim lets go of spare blocks the reader no longer needs. How many
// blocks are held at once follows how far the analysis lags behind the
// reading (see the driver's pipeline, whose queue deepens and shallows
// with the heap's room), so the blocks made for a busy stretch would
// otherwise stay for the rest of the run. The most held at once is taken
// over a window of trimWindow block changes, as seen at each change; the
// spare blocks beyond that and two are dropped when they are more than
// trimSurplus. Only a surplus that large goes: the count misses the peaks
// between changes, and a block dropped and made again at each burst
// would churn the heap.
type blockTrim struct {
	changes int // block changes in this window
	most    int // the most blocks held at once in it
}

// trimWindow is how many block changes (of 256 KB each when reading a
// file) a trim waits: long enough that the blocks a burst needed are not
// dropped and made again at every burst.
const trimWindow = 256

// trimSurplus is the spare blocks a trim leaves be (1 MB when reading a
// file).
const trimSurplus = 4

func (t *blockTrim) check(spare *[]*Block) {
	held := 0
	for _, b := range *spare {
		if b.held.Load() != 0 {
			held++
		}
	}
	t.most = max(t.most, held)
	if t.changes++; t.changes < trimWindow {
		return
	}
	keep := t.most + 2
	t.changes, t.most = 0, 0
	s := *spare
	if len(s) <= keep+trimSurplus {
		return
	}
	for len(s) > keep && s[0].held.Load() == 0 {
		s[0] = nil
		s = s[1:]
	}
	*spare = append((*spare)[:0], s...)
	clear((*spare)[len(s):cap(*spare)])
}

func (r *pcapReader) newBlock() *Block { return &Block{buf: make([]byte, r.blockSize)} }

// next returns the next record; data is valid until the following call,
// or, when the block it lies in (r.last) is held, until that is released.
// A clean end is io.EOF; a record cut short is io.ErrUnexpectedEOF.
func (r *pcapReader) next(ci *gopacket.CaptureInfo) (data []byte, err error) {
	r.last = nil
	if err = r.fill(16); err != nil {
		if err == io.EOF && r.w > r.r {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	h := r.blk.buf[r.r : r.r+16]
	sec := r.u32(h)
	ci.CaptureLength = int(r.u32(h[8:]))
	ci.Length = int(r.u32(h[12:]))
	if ci.CaptureLength > max(r.snaplen, pcapMaxRecord) || ci.CaptureLength > ci.Length {
		// a damaged record: the slow path, words and all
		if err := r.resync(r.implausible(h, false)); err != nil {
			return nil, err
		}
		h = r.blk.buf[r.r : r.r+16]
		sec = r.u32(h)
		ci.CaptureLength, ci.Length = int(r.u32(h[8:])), int(r.u32(h[12:]))
	}
	r.records++
	r.lastSec = sec
	ci.Timestamp = time.Unix(int64(sec), int64(r.u32(h[4:]))*r.nanoMult).UTC()
	n := 16 + ci.CaptureLength
	if n <= r.blockSize {
		if err := r.fill(n); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		data = r.blk.buf[r.r+16 : r.r+n : r.r+n]
		r.r += n
		r.offset += int64(n)
		r.last = r.blk
		return data, nil
	}
	// A record longer than a block (a snap length near or above
	// pcapMaxRecord).
	r.r += 16
	r.offset += int64(n)
	// The buffer grows only as data arrives: a corrupt length must not
	// allocate gigabytes up front.
	data = r.copyBuf[:0]
	for len(data) < ci.CaptureLength {
		if r.r == r.w {
			if err := r.fill(1); err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return nil, err
			}
		}
		k := min(ci.CaptureLength-len(data), r.w-r.r)
		data = append(data, r.blk.buf[r.r:r.r+k]...)
		r.r += k
	}
	r.copyBuf = data
	return data, nil
}

// implausible says why a record header cannot be right ("" when it can):
// longer than any record, or than the packet it cuts. Looking for the
// next record after damage (strict), a header must also have a fraction of
// a second that is one, an original length, and (once a record was read)
// a time within a day of the last good record's: random bytes rarely pass.
func (r *pcapReader) implausible(h []byte, strict bool) string {
	capLen, origLen, frac := r.u32(h[8:]), r.u32(h[12:]), r.u32(h[4:])
	switch {
	case capLen > uint32(max(r.snaplen, pcapMaxRecord)):
		return fmt.Sprintf("capture length exceeds snap length: %d > %d", capLen, r.snaplen)
	case capLen > origLen:
		return fmt.Sprintf("capture length exceeds original packet length: %d > %d", capLen, origLen)
	case !strict:
		return ""
	case origLen == 0 || origLen > pcapMaxRecord:
		return "no plausible original length"
	case int64(frac)*r.nanoMult >= int64(time.Second):
		return "no plausible fraction of a second"
	case r.records > 0 && absDiff(r.u32(h), r.lastSec) > 86400:
		return "a time more than a day away from the last record"
	}
	return ""
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

// resync skips, a byte at a time, to the next place a plausible record
// header starts, and notes the damage. The file ends only when none comes
// within maxResync bytes.
func (r *pcapReader) resync(why string) error {
	d := Damage{Record: r.records + 1, Offset: r.offset, Why: why}
	for d.Skipped < maxResync {
		r.r++
		r.offset++
		d.Skipped++
		if err := r.fill(16); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("record %d at offset %d: %s; no plausible record after it: %w", d.Record, d.Offset, why, err)
		}
		if r.implausible(r.blk.buf[r.r:r.r+16], true) == "" && r.confirmed() {
			if len(r.damages) < maxDamages {
				r.damages = append(r.damages, d)
			}
			return nil
		}
	}
	return fmt.Errorf("record %d at offset %d: %s; no plausible record in the next %d bytes", d.Record, d.Offset, why, maxResync)
}

// confirmed reports whether the plausible record header at the read
// position is followed by another plausible one, or by the end of the
// file: bytes inside a packet now and then look like a header, and reading
// on from one would take the rest of the file for garbage (as pcapfix,
// which checks the next header too). A record longer than a block is taken
// on its own word.
func (r *pcapReader) confirmed() bool {
	n := 16 + int(r.u32(r.blk.buf[r.r+8:]))
	if n+16 > r.blockSize {
		return true
	}
	if err := r.fill(n + 16); err != nil {
		return err == io.EOF && r.w-r.r == n // the last record of the file
	}
	return r.implausible(r.blk.buf[r.r+n:r.r+n+16], true) == ""
}

// Block is a buffer of file data that a capture file hands packets out of
// in place. The reader never rewrites a block that is held: a pipeline
// holds the block of the packets it passes to another goroutine until
// that goroutine is done with them, and so needs not copy them.
type Block struct {
	buf  []byte
	held atomic.Int32
}

// Hold keeps b from being rewritten. It must be called in the goroutine
// that reads the file, before the next packet is read.
func (b *Block) Hold() { b.held.Add(1) }

// Release undoes one Hold; any goroutine may call it.
func (b *Block) Release() { b.held.Add(-1) }

// Contains reports whether p lies within b: a payload cut out of a packet
// of b, rather than one rebuilt elsewhere (reassembled, defragmented).
func (b *Block) Contains(p []byte) bool {
	if len(p) == 0 || len(b.buf) == 0 {
		return false
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b.buf)))
	at := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
	return at >= start && at-start+uintptr(len(p)) <= uintptr(len(b.buf))
}
