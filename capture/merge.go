package capture

import (
	"container/heap"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Merge reads several capture files as one capture in time order, as
// mergecap does: the earliest next packet of any file comes first, ties
// going to the file named first, and each file's own packet order is kept.
// Captures taken at the same time on several interfaces (an SBC's inside
// and outside) then read as the calls happened; read one after the other,
// every answer in the second file would come after its request had timed
// out. Rotated files (tcpdump -C, -G) do not overlap, so merging reads them
// one after the other.
//
// With many files, a file is opened only when the merge reaches the time
// of its first packet and closed at its end, so that hundreds of rotated
// files do not each hold a read buffer; a few files, and standard input,
// which cannot be opened twice, stay open from the start.
type Merge struct {
	Inputs []MergeInput

	pending []int // inputs not opened yet, by first packet time
	open    mergeHeap
	cur     *mergeOpen // the input whose packet Next returned last
	done    int64      // bytes of the inputs already finished
}

// MergeInput is one file of a Merge.
type MergeInput struct {
	Path    string
	Format  string // as File.Format
	Size    int64
	Packets uint64 // packets read so far
	Err     error  // what ended the file early (truncation, corruption), or kept it from being read
	// Unreadable says the file could not be opened as a capture at all.
	Unreadable bool
	damages    []Damage // kept when the file is closed

	first time.Time // time of its first packet (for the files opened late)
}

type mergeOpen struct {
	input int
	f     *File
	data  []byte
	ci    *gopacket.CaptureInfo // its file's, valid until its next read
	link  layers.LinkType
}

// mergeHeap orders the open inputs by the time of their next packet, then
// by their place on the command line.
type mergeHeap []*mergeOpen

func (h mergeHeap) Len() int { return len(h) }
func (h mergeHeap) Less(i, j int) bool {
	a, b := h[i], h[j]
	if !a.ci.Timestamp.Equal(b.ci.Timestamp) {
		return a.ci.Timestamp.Before(b.ci.Timestamp)
	}
	return a.input < b.input
}
func (h mergeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any)   { *h = append(*h, x.(*mergeOpen)) }
func (h *mergeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// keepOpen is how many files a merge opens at once from the start.
const keepOpen = 8

// OpenMerge opens every file and notes when its first packet was taken.
// A file that cannot be read as a capture (missing, empty, not pcap) is
// noted in its input, Unreadable, and the others are read: rotated
// captures often end with an empty file. Only when no file can be read is
// it an error, the first file's.
func OpenMerge(paths []string) (*Merge, error) {
	m := &Merge{Inputs: make([]MergeInput, len(paths))}
	var first error
	readable := 0
	for i, p := range paths {
		if p == Stdin && slices.Index(paths, Stdin) != i {
			m.Close()
			return nil, fmt.Errorf("%s: standard input named twice", p)
		}
		in := &m.Inputs[i]
		in.Path = p
		f, err := OpenFile(p)
		if err != nil {
			in.Err, in.Unreadable = err, true
			if first == nil {
				first = fmt.Errorf("%s: %w", p, err)
			}
			continue
		}
		readable++
		in.Format, in.Size = f.Format, f.Size
		c := &mergeOpen{input: i, f: f}
		_, c.data, c.ci, c.link, err = f.Next()
		switch {
		case err == io.EOF: // no packet at all
			f.Close()
		case err != nil:
			in.Err = err // cut before its first packet
			f.Close()
		case len(paths) <= keepOpen || p == Stdin:
			heap.Push(&m.open, c)
		default:
			in.first = c.ci.Timestamp
			m.pending = append(m.pending, i)
			f.Close()
		}
	}
	if readable == 0 {
		m.Close()
		return nil, first
	}
	// Stable: files whose first packets tie keep the command line order.
	slices.SortStableFunc(m.pending, func(a, b int) int { return m.Inputs[a].first.Compare(m.Inputs[b].first) })
	return m, nil
}

// Next returns the next packet of the merged capture, its capture
// information and the index of its input. data and ci are valid until the
// following call. At the end it returns
// io.EOF. A file that ends early (cut in a record, corrupt) returns its
// error once, with its index: the merge goes on with the other files.
func (m *Merge) Next() (input int, data []byte, ci *gopacket.CaptureInfo, link layers.LinkType, err error) {
	if c := m.cur; c != nil {
		_, data, ci, link, err = c.f.Next()
		if err == nil && len(m.open) == 0 && len(m.pending) == 0 {
			// The only file left: its packets go straight through, kept
			// nowhere, as no other file's are to be ordered against them.
			m.Inputs[c.input].Packets++
			return c.input, data, ci, link, nil
		}
		m.cur = nil
		c.data, c.ci, c.link = data, ci, link
		if err != nil {
			m.finish(c)
			if err != io.EOF {
				m.Inputs[c.input].Err = err
				return c.input, nil, nil, 0, &InputError{Input: c.input, Path: m.Inputs[c.input].Path, Err: err}
			}
		} else if len(m.open) == 0 && (len(m.pending) == 0 || c.ci.Timestamp.Before(m.Inputs[m.pending[0]].first)) {
			// The only file being read: no heap on the common path.
			m.cur = c
			m.Inputs[c.input].Packets++
			return c.input, c.data, c.ci, c.link, nil
		} else {
			heap.Push(&m.open, c)
		}
	}
	// Open the files whose first packet comes before the next one read.
	for len(m.pending) > 0 && (len(m.open) == 0 || !m.open[0].ci.Timestamp.Before(m.Inputs[m.pending[0]].first)) {
		i := m.pending[0]
		m.pending = m.pending[1:]
		if err := m.start(i); err != nil {
			return i, nil, nil, 0, &InputError{Input: i, Path: m.Inputs[i].Path, Err: err}
		}
	}
	if len(m.open) == 0 {
		return -1, nil, nil, 0, io.EOF
	}
	c := heap.Pop(&m.open).(*mergeOpen)
	m.cur = c
	m.Inputs[c.input].Packets++
	return c.input, c.data, c.ci, c.link, nil
}

// start opens input i and reads its first packet into the heap.
func (m *Merge) start(i int) error {
	in := &m.Inputs[i]
	f, err := OpenFile(in.Path)
	if err != nil {
		in.Err = err
		return err
	}
	c := &mergeOpen{input: i, f: f}
	_, c.data, c.ci, c.link, err = f.Next()
	if err != nil {
		m.finish(c)
		if err == io.EOF {
			return nil
		}
		in.Err = err
		return err
	}
	heap.Push(&m.open, c)
	return nil
}

func (m *Merge) finish(c *mergeOpen) {
	m.Inputs[c.input].damages = c.f.Damages()
	m.done += c.f.Size
	c.f.Close()
}

// Block returns the block the packet Next returned last lies in (see
// File.Block), or nil.
func (m *Merge) Block() *Block {
	if m.cur == nil {
		return nil
	}
	return m.cur.f.Block()
}

// BytesRead is how far the merge has read, over all files.
func (m *Merge) BytesRead() int64 {
	n := m.done
	for _, c := range m.open {
		n += c.f.BytesRead()
	}
	if m.cur != nil {
		n += m.cur.f.BytesRead()
	}
	return n
}

// Progress is how far the merge has read of the size of all its files.
func (m *Merge) Progress() (read, size int64) { return m.BytesRead(), m.Size() }

// Size is the size of all the files.
func (m *Merge) Size() int64 {
	var n int64
	for _, in := range m.Inputs {
		n += in.Size
	}
	return n
}

// Close closes the files still open.
func (m *Merge) Close() error {
	for _, c := range m.open {
		c.f.Close()
	}
	m.open = nil
	if m.cur != nil {
		m.cur.f.Close()
		m.cur = nil
	}
	return nil
}

// Describe says what each file gave.
func (m *Merge) Describe() []InputState {
	out := make([]InputState, len(m.Inputs))
	for i, in := range m.Inputs {
		out[i] = InputState{Path: in.Path, Format: in.Format, Packets: in.Packets, Err: in.Err, Unreadable: in.Unreadable, Damages: in.damages}
	}
	for _, c := range append([]*mergeOpen{m.cur}, m.open...) {
		if c != nil {
			out[c.input].Damages = c.f.Damages()
		}
	}
	return out
}
