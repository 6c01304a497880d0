package render

import (
	"bufio"
	"cmp"
	"container/heap"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"slices"
)

// spool keeps encoded rows and gives them back in the order of a key,
// stably (rows with equal keys in the order they came), in bounded memory:
// rows gather in memory up to spoolMemory bytes, then go to a temporary
// file as a sorted run; reading merges the runs, as an external merge sort
// does. A report of a million dialogs so costs a few megabytes of memory
// and its size on disk for as long as it is written.
type spool struct {
	rows  []spoolRow
	arena []byte
	runs  []*os.File
	limit int // bytes held before a run is written; 0: spoolMemory
	err   error
}

type spoolRow struct {
	key      int64
	off, end int
}

// spoolMemory is how many bytes of rows a spool holds before it writes a
// run. A report has several spools; each holds this much while the
// analysis runs, and reads its runs back through a 16 KiB buffer each: a
// 250 MB JSON report is some 250 runs, 4 MB of buffers.
const spoolMemory = 1 << 20

// spoolSlack is room past spoolMemory for the row that reaches it: rows
// are a few kilobytes at most.
const spoolSlack = 64 << 10

// add keeps a row with its key. The bytes are copied.
func (s *spool) add(key int64, row []byte) {
	if s.err != nil {
		return
	}
	if s.arena == nil {
		// Sized once: grown by doubling, the arena would reach twice
		// the limit, in every spool of the report.
		s.arena = make([]byte, 0, cmp.Or(s.limit, spoolMemory)+spoolSlack)
	}
	off := len(s.arena)
	s.arena = append(s.arena, row...)
	s.rows = append(s.rows, spoolRow{key, off, len(s.arena)})
	if len(s.arena) >= cmp.Or(s.limit, spoolMemory) {
		s.spill()
	}
}

// sortRows puts the rows in memory in key order, stably.
func (s *spool) sortRows() {
	slices.SortStableFunc(s.rows, func(a, b spoolRow) int { return cmp.Compare(a.key, b.key) })
}

// spill writes the rows in memory to a new run: each row its key, its
// length and its bytes. The file is unlinked at once where the system
// allows, so that nothing is left behind however the program ends.
func (s *spool) spill() {
	s.sortRows()
	f, err := os.CreateTemp("", "sipalive-spool-*")
	if err != nil {
		s.err = fmt.Errorf("spool rows to a temporary file: %w", err)
		return
	}
	os.Remove(f.Name()) // on Windows the file stays until close; see close
	w := bufio.NewWriterSize(f, 1<<16)
	var hdr [12]byte
	for _, r := range s.rows {
		binary.LittleEndian.PutUint64(hdr[:8], uint64(r.key))
		binary.LittleEndian.PutUint32(hdr[8:], uint32(r.end-r.off))
		w.Write(hdr[:])
		w.Write(s.arena[r.off:r.end])
	}
	if err := w.Flush(); err != nil {
		f.Close()
		s.err = fmt.Errorf("spool rows to %s: %w", f.Name(), err)
		return
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		s.err = fmt.Errorf("spool rows to %s: %w", f.Name(), err)
		return
	}
	s.runs = append(s.runs, f)
	s.rows, s.arena = s.rows[:0], s.arena[:0]
}

// each calls fn with every row in key order. A spool is read once.
func (s *spool) each(fn func(row []byte) error) error {
	if s.err != nil {
		return s.err
	}
	s.sortRows()
	if len(s.runs) == 0 {
		for _, r := range s.rows {
			if err := fn(s.arena[r.off:r.end]); err != nil {
				return err
			}
		}
		return nil
	}
	// Runs in the order they were written, then the rows in memory: on
	// equal keys the earlier source goes first, which keeps the sort
	// stable.
	m := &runMerge{}
	for i, f := range s.runs {
		c := &runCursor{r: bufio.NewReaderSize(f, 16<<10), order: i}
		if err := c.next(); err != nil {
			return err
		}
		if c.ok {
			m.cursors = append(m.cursors, c)
		}
	}
	mem := &runCursor{order: len(s.runs), mem: s}
	if mem.next() == nil && mem.ok {
		m.cursors = append(m.cursors, mem)
	}
	heap.Init(m)
	for m.Len() > 0 {
		c := m.cursors[0]
		if err := fn(c.row); err != nil {
			return err
		}
		if err := c.next(); err != nil {
			return err
		}
		if c.ok {
			heap.Fix(m, 0)
		} else {
			heap.Pop(m)
		}
	}
	return nil
}

// close lets go of the runs.
func (s *spool) close() {
	for _, f := range s.runs {
		f.Close()
		os.Remove(f.Name())
	}
	s.runs, s.rows, s.arena = nil, nil, nil
}

// runCursor is the current row of one sorted run: a file, or the rows
// still in memory.
type runCursor struct {
	r     *bufio.Reader
	mem   *spool
	i     int
	order int
	key   int64
	row   []byte
	ok    bool
}

func (c *runCursor) next() error {
	if c.mem != nil {
		c.ok = c.i < len(c.mem.rows)
		if c.ok {
			r := c.mem.rows[c.i]
			c.key, c.row = r.key, c.mem.arena[r.off:r.end]
			c.i++
		}
		return nil
	}
	var hdr [12]byte
	if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
		if err == io.EOF {
			c.ok = false
			return nil
		}
		return fmt.Errorf("read spooled rows: %w", err)
	}
	c.key = int64(binary.LittleEndian.Uint64(hdr[:8]))
	n := int(binary.LittleEndian.Uint32(hdr[8:]))
	if cap(c.row) < n {
		c.row = make([]byte, n)
	}
	c.row = c.row[:n]
	if _, err := io.ReadFull(c.r, c.row); err != nil {
		return fmt.Errorf("read spooled rows: %w", err)
	}
	c.ok = true
	return nil
}

// runMerge is a min-heap of run cursors by key, then run order.
type runMerge struct{ cursors []*runCursor }

func (m *runMerge) Len() int { return len(m.cursors) }
func (m *runMerge) Less(i, j int) bool {
	a, b := m.cursors[i], m.cursors[j]
	if a.key != b.key {
		return a.key < b.key
	}
	return a.order < b.order
}
func (m *runMerge) Swap(i, j int) { m.cursors[i], m.cursors[j] = m.cursors[j], m.cursors[i] }
func (m *runMerge) Push(x any)    { m.cursors = append(m.cursors, x.(*runCursor)) }
func (m *runMerge) Pop() any {
	c := m.cursors[len(m.cursors)-1]
	m.cursors = m.cursors[:len(m.cursors)-1]
	return c
}
