package driver

import (
	"github.com/sipalive/sipalive/analyze"
	"github.com/sipalive/sipalive/capture"
)

// Batches carry messages from the decoding goroutine to the analysing one.
// Each is 150 KB of the heap's live state, and holds the read blocks of
// its packets until the analysis is done with it; the number queued is
// bounded. More wait in the free pool, as many more as may be queued up
// to poolExtra, so that a batch comes back to the decoding side only once the
// analysing core's cache has let go of it: writing into lines the other
// core still holds costs a round trip between the cores for each.
//
// The analysis works in bursts: every 100 ms of capture time its sweep
// retires the calls that finished (see analyze's sweepEvery), while the
// decoding side has nothing to do but fill batches. A queue of
// queueShallow fills in about a millisecond, and the decoding core then idles;
// one of queueDeep carries it through the longer sweeps (a queue of 12 or
// 16 took 1-4% more time on a trunk of 1,000 calls a second). The deep queue is
// used while the heap has room for it below its budget (see BudgetHeap),
// so that a busy trunk whose live state fills the budget does not grow
// beyond it.
const (
	batchMessages = 256
	batchArena    = 1 << 16 // payload bytes per batch (most payloads stay in the read blocks)
	// queueShallow is the queue of a heap without room (see queueSize).
	// With 8 queued and 8 more in the pool, a trunk whose live state
	// fills the budget peaked 1 MiB higher once the decoding side got
	// faster and kept the queue full.
	queueShallow = 6
	queueDeep    = 24
	poolExtra    = 8
	// deepRoom is the heap the deep queue needs: its 16 more batches
	// and the read blocks they hold (see capture's blockTrim), about
	// 5 MB, and as much again for the live state to grow into.
	deepRoom = 12 << 20
	// shareFull is the backlog at which the decoding side scans whole
	// batches (see flush).
	shareFull = 5
)

// batch is a run of captured messages, each scanned into an event by one
// side or the other: the decoding side scans a front part of it, and
// hands over the events of that part and the messages of the rest. A
// message cut straight out of a packet stays in the file's read block,
// which the batch holds until the analysis is done with it; one rebuilt
// elsewhere (TCP, fragments) is copied into the batch's arena. Batches are
// recycled: no allocation per message once the pipeline is warm.
//
// Each side builds and scans into arrays of its own, which stay in its
// core's cache, and the decoding side copies what it hands over into the
// batch in one run at the end. A batch comes back cold, its lines last
// read by the other core: written field by field as a message was built
// and scanned, each line's wait for ownership stalled the writes behind
// it, a tenth of the decoding side's time. One copy streams them instead
// (7-11% less wall time on the trunks).
type batch struct {
	scanned int               // messages at the front scanned by the decoding side; the analysing side scans the rest
	msgs    []capture.Message // while the batch is filled, a view of the pipeline's building array; then of store
	store   []capture.Message // the messages handed over: those past scanned
	events  []analyze.Event   // the events handed over: those before scanned
	arena   []byte
	blocks  []*capture.Block // the read blocks the batch holds
}

// pipeline is the decoding side's handle on the analysing goroutine.
type pipeline struct {
	keepFrames bool
	src        capture.Source    // what the packets are read from
	scan       *analyze.Scanner  // the decoding side's
	hot        []analyze.Event   // the decoding side scans into it (see batch)
	building   []capture.Message // the decoder builds messages in it (see batch)
	dec        *capture.Decoder  // builds each message in its slot of cur
	cur        *batch
	made       int // batches made so far (see take)
	full, free chan *batch
	// slots are the places in the queue: the decoding side takes one
	// to hand a batch over, the analysing side gives it back as it takes
	// the batch. open is how many are in use (queueSize); the decoding
	// side holds back the rest while the queue is to stay shallow.
	slots    chan struct{}
	open     int
	deep     bool // the queue is deep (see queueSize)
	crowded  bool // the heap has come close to its budget (see queueSize)
	finished chan struct{}
}

// queueSize returns how many batches may wait for the analysis now. The
// queue deepens when the heap has deepRoom to spare, and stays deep until
// the heap, which then holds the deeper queue, has less than half of that:
// going back and forth would make and drop batches. A heap that came that
// close to its budget is crowded: its live state may grow back (a trunk
// whose calls up fill the budget dips with each sweep), so the queue
// deepens again only with twice deepRoom to spare. Else its batches, made
// while the heap dipped, would be counted live at the next collection,
// which raises the heap's limit above the budget (see BudgetHeap).
func (p *pipeline) queueSize() int {
	r := heapRoom()
	want := int64(deepRoom)
	if p.crowded {
		want = 2 * deepRoom
	}
	if r >= want || (p.deep && r >= deepRoom/2) {
		p.deep = true
		return queueDeep
	}
	p.deep = false
	p.crowded = p.crowded || r < deepRoom/2
	return queueShallow
}

func newPipeline(a *analyze.Analyzer, src capture.Source, keepFrames bool) *pipeline {
	p := &pipeline{keepFrames: keepFrames, src: src, scan: analyze.NewScanner(), hot: make([]analyze.Event, batchMessages), building: make([]capture.Message, batchMessages), full: make(chan *batch, queueDeep), free: make(chan *batch, queueDeep+poolExtra), slots: make(chan struct{}, queueDeep), finished: make(chan struct{})}
	go func() {
		defer close(p.finished)
		scan := analyze.NewScanner()                // the analysing side's
		own := make([]analyze.Event, batchMessages) // what it scans into (see batch)
		for b := range p.full {
			p.slots <- struct{}{}
			// Scan what the decoding side left, then analyse the whole
			// batch: the analysis' tables stay in the cache for a run of
			// messages, where scanning between two messages swept them
			// out (a few percent on the 1 GB capture).
			for i := b.scanned; i < len(b.msgs); i++ {
				scan.Scan(&b.msgs[i], &own[i])
			}
			for i := range b.scanned {
				a.Take(&b.events[i])
			}
			for i := b.scanned; i < len(b.msgs); i++ {
				a.Take(&own[i])
			}
			for _, blk := range b.blocks {
				blk.Release()
			}
			clear(b.blocks)
			b.msgs, b.arena, b.blocks = b.msgs[:0], b.arena[:0], b.blocks[:0]
			p.free <- b
		}
	}()
	return p
}

// take makes a free batch the current one, with the decoder building its
// next message in the batch's first slot. Batches are made as the first
// ones are needed, not up front: a small capture needs a batch or two,
// and making all of them (2.4 MB, first touched page by page) took a
// fifth of such a run. A new batch is made while the pool is short of its
// size even when one is free, so that a batch comes back to the decoding
// side only once the analysing core's cache has let go of it: writing
// into lines the other core still holds costs a round trip between the
// cores for each. When the heap loses its room for the deep queue, the
// batches beyond the shallow queue's pool are let go as they come back.
func (p *pipeline) take() {
	size := p.queueSize()
	size += min(size, poolExtra)
	for p.cur = nil; p.cur == nil; {
		if p.made < size {
			p.made++
			p.cur = &batch{
				store:  make([]capture.Message, batchMessages),
				events: make([]analyze.Event, batchMessages),
			}
			break
		}
		b := <-p.free
		if p.made > size {
			p.made-- // the collector takes it
			continue
		}
		p.cur = b
	}
	p.cur.msgs = p.building[:0]
	p.dec.BuildInto(&p.cur.msgs[:1][0])
}

// add keeps one message, which the decoder built in the current batch's
// next slot, and points the decoder at the slot after it.
func (p *pipeline) add(cm *capture.Message) {
	b := p.cur
	n := len(b.msgs)
	m := &b.msgs[:n+1][n]
	if m != cm { // not built in place (a decoder not set up by take)
		*m = *cm
	}
	blk := p.src.Block()
	if blk != nil && blk.Contains(m.Payload) {
		if k := len(b.blocks); k == 0 || b.blocks[k-1] != blk {
			blk.Hold()
			b.blocks = append(b.blocks, blk)
		}
	} else {
		if b.arena == nil {
			// made on first use: UDP from a file needs none
			b.arena = make([]byte, 0, batchArena)
		}
		if len(b.arena)+len(m.Payload) > cap(b.arena) && n > 0 {
			// The arena is full: the message opens the next batch.
			p.flush()
			p.take()
			nb := p.cur
			nb.msgs[:1][0] = *m // rare: a copy is no matter here
			b, n, m = nb, 0, &nb.msgs[:1][0]
		}
		if len(m.Payload) > cap(b.arena) {
			b.arena = make([]byte, 0, len(m.Payload)) // one oversized message
		}
		start := len(b.arena)
		b.arena = append(b.arena, m.Payload...) // within capacity: earlier slices stay valid
		m.Payload = b.arena[start:len(b.arena):len(b.arena)]
	}
	if p.keepFrames {
		// frames are small; their slice may grow, so they are copied per message
		m.Frames = append([]uint64(nil), m.Frames...)
	} else {
		m.Frames = nil
	}
	b.msgs = b.msgs[:n+1]
	if n+1 == batchMessages {
		p.flush()
		p.take()
		return
	}
	p.dec.BuildInto(&b.msgs[:n+2][n+1])
}

// flush scans the front of the current batch, as much of it as the
// analysis' backlog asks for, and hands the batch over.
//
// Scanning is a pure function, so either side may do it: the decoding
// side takes on a larger share of each batch the more batches wait for
// the analysis (none with one waiting, all with five), which balances the
// two cores without changing any result. It scans its share in one run
// rather than each message as it is decoded: between reads and decodes a
// scan cost half as much again, its code and tables pushed out of the
// core's caches by theirs.
func (p *pipeline) flush() {
	if b := p.cur; b != nil && len(b.msgs) > 0 {
		share := min(len(b.msgs), len(b.msgs)*max(len(p.full)-1, 0)/(shareFull-1))
		for i := range share {
			p.scan.Scan(&b.msgs[i], &p.hot[i])
		}
		copy(b.events[:share], p.hot[:share])
		n := len(b.msgs)
		copy(b.store[share:n], b.msgs[share:n])
		b.msgs = b.store[:n]
		b.scanned = share
		for want := p.queueSize(); p.open != want; {
			if p.open < want {
				p.slots <- struct{}{}
				p.open++
			} else {
				<-p.slots // waits for the analysis to take a batch
				p.open--
			}
		}
		<-p.slots
		p.full <- b
		p.cur = nil
	}
}

// close hands over the last batch and waits for the analysis to finish.
func (p *pipeline) close() {
	p.flush()
	if p.cur != nil {
		p.free <- p.cur
		p.cur = nil
	}
	p.dec.BuildInto(nil)
	close(p.full)
	<-p.finished
}
