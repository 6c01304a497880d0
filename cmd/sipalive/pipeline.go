package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/sipalive/sipalive/analyze"
	"github.com/sipalive/sipalive/capture"
)

type pipelineOptions struct {
	keepFrames bool
	csvRows    bool
	maxRows    int
	maxPackets uint64
	progress   bool
	workers    int
	stderr     io.Writer
}

// analyzeFiles runs the files, merged in time order (capture.Merge),
// through one decoder and one analyzer, so that captures taken at once on
// several interfaces, or one capture rotated over several files, read as
// one. With two workers, reading, decoding and SIP scanning run in one
// goroutine and the analysis in another; the analyzer sees the same
// messages in the same order either way, so the report is the same.
func analyzeFiles(paths []string, o pipelineOptions) (*analyze.Report, error) {
	src, err := capture.OpenMerge(paths)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	a := analyze.New(analyze.Options{KeepFrames: o.keepFrames, KeepAliveRows: o.csvRows, MaxRows: o.maxRows})
	var dec *capture.Decoder
	var done func()
	if o.workers > 1 {
		p := newPipeline(a, src, o.keepFrames)
		dec = capture.NewDecoder(p.add)
		p.dec = dec
		p.take()
		done = p.close
	} else {
		dec = capture.NewDecoder(a.Message)
		done = func() {}
	}
	inputs := readFiles(src, dec, o)
	dec.Flush()
	done()
	rep := a.Finish(dec.Stats)
	rep.Inputs = inputs
	rep.Overview.Files = len(paths)
	return rep, nil
}

// readFiles feeds every packet of the merged files to the decoder.
func readFiles(src *capture.Merge, dec *capture.Decoder, o pipelineOptions) []analyze.Input {
	warn := func(in *capture.MergeInput) {
		dec.Stats.Truncated = true
		fmt.Fprintf(o.stderr, "sipalive: %s: %s after %d packets; reporting what was read\n", in.Path, truncationMessage(in.Err), in.Packets)
	}
	for i := range src.Inputs {
		if src.Inputs[i].Err != nil { // cut before its first packet
			warn(&src.Inputs[i])
		}
	}
	label := paths(src)
	bar := newProgress(o.stderr, label, src.BytesRead, src.Size(), o.progress)
	for o.maxPackets == 0 || dec.Stats.Packets < o.maxPackets {
		i, data, ci, link, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			warn(&src.Inputs[i])
			continue
		}
		dec.SetInput(i)
		dec.Packet(data, ci, link)
		bar.update(dec.Stats.Packets)
	}
	bar.done()
	inputs := make([]analyze.Input, len(src.Inputs))
	for i, in := range src.Inputs {
		inputs[i] = analyze.Input{Path: in.Path, Format: in.Format, Packets: in.Packets}
		if in.Err != nil {
			inputs[i].Truncated, inputs[i].Error = true, truncationMessage(in.Err)
		}
	}
	return inputs
}

// paths names the inputs for the progress bar.
func paths(src *capture.Merge) string {
	if len(src.Inputs) == 1 {
		return src.Inputs[0].Path
	}
	return fmt.Sprintf("%d files", len(src.Inputs))
}

// Batches carry messages from the decoding goroutine to the analysing one.
// At most batchesInUse are queued; more wait in the free pool, so that a
// batch comes back to the decoding side only once the analysing core's
// cache has let go of it: writing into lines the other core still holds
// costs a round trip between the cores for each (a pool of eight cost 7%
// in interleaved runs on the 1 GB capture).
const (
	batchMessages = 256
	batchArena    = 1 << 16 // payload bytes per batch (most payloads stay in the read blocks)
	batchesInUse  = 8
	batchPool     = 32
)

// batch is a run of captured messages, each scanned into an event by one
// side or the other: the decoding side scans a front part of it. A message cut straight out of a packet stays in the
// file's read block, which the batch holds until the analysis is done with
// it; one rebuilt elsewhere (TCP, fragments) is copied into the batch's
// arena. Batches are recycled: no allocation per message once the
// pipeline is warm.
type batch struct {
	scanned int // messages at the front scanned by the decoding side; the analysing side scans the rest
	msgs    []capture.Message
	events  []analyze.Event
	arena   []byte
	blocks  []*capture.Block // the read blocks the batch holds
}

// pipeline is the decoding side's handle on the analysing goroutine.
type pipeline struct {
	keepFrames bool
	src        *capture.Merge   // what the packets are read from
	scan       *analyze.Scanner // the decoding side's
	dec        *capture.Decoder // builds each message in its slot of cur
	cur        *batch
	made       int // batches made so far (see take)
	full, free chan *batch
	finished   chan struct{}
}

func newPipeline(a *analyze.Analyzer, src *capture.Merge, keepFrames bool) *pipeline {
	p := &pipeline{keepFrames: keepFrames, src: src, scan: analyze.NewScanner(), full: make(chan *batch, batchesInUse), free: make(chan *batch, batchPool), finished: make(chan struct{})}
	go func() {
		defer close(p.finished)
		scan := analyze.NewScanner() // the analysing side's
		for b := range p.full {
			// Scan what the decoding side left, then analyse the whole
			// batch: the analysis' tables stay in the cache for a run of
			// messages, where scanning between two messages swept them
			// out (a few percent on the 1 GB capture).
			for i := b.scanned; i < len(b.msgs); i++ {
				scan.Scan(&b.msgs[i], &b.events[i])
			}
			for i := range b.msgs {
				a.Take(&b.events[i])
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
// next message in the batch's first slot. The pool's batches are made as
// the first ones are needed, not up front: a small capture needs a batch
// or two, and making all of them (7 MB, first touched page by page) took
// a fifth of such a run. A new batch is made while the pool is short of
// batchPool even when one is free, so that the pool still grows to its
// size (see batchPool).
func (p *pipeline) take() {
	if p.made < batchPool {
		p.made++
		p.cur = &batch{
			msgs:   make([]capture.Message, 0, batchMessages),
			events: make([]analyze.Event, batchMessages),
			arena:  make([]byte, 0, batchArena),
		}
	} else {
		p.cur = <-p.free
	}
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
		share := min(len(b.msgs), len(b.msgs)*max(len(p.full)-1, 0)/(batchesInUse/2))
		for i := range share {
			p.scan.Scan(&b.msgs[i], &b.events[i])
		}
		b.scanned = share
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

func truncationMessage(err error) string {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		if err == io.ErrUnexpectedEOF {
			return "capture is truncated (the last packet record is cut short)"
		}
		return "capture is damaged (" + err.Error() + ")"
	}
	return err.Error()
}

// packetWriter is the pcap or pcapng file problems are written to.
type packetWriter interface {
	write(ci gopacket.CaptureInfo, data []byte, link layers.LinkType) error
	flush() error
}

// pcapOut writes classic pcap (nanosecond stamps): one link type only.
type pcapOut struct {
	w    *pcapgo.Writer
	link layers.LinkType
	out  string
}

func (p *pcapOut) write(ci gopacket.CaptureInfo, data []byte, link layers.LinkType) error {
	if p.link != link {
		return fmt.Errorf("the problem packets mix link types %s and %s: name the output .pcapng", p.link, link)
	}
	return p.w.WritePacket(ci, data)
}

func (p *pcapOut) flush() error { return nil }

// pcapngOut writes pcapng with one interface per link type.
type pcapngOut struct {
	w      *pcapgo.NgWriter
	ifaces map[layers.LinkType]int
}

func (p *pcapngOut) write(ci gopacket.CaptureInfo, data []byte, link layers.LinkType) error {
	id, ok := p.ifaces[link]
	if !ok {
		var err error
		id, err = p.w.AddInterface(pcapgo.NgInterface{Name: "sipalive-" + link.String(), LinkType: link, SnapLength: 262144, TimestampResolution: 9})
		if err != nil {
			return err
		}
		p.ifaces[link] = id
	}
	ci.InterfaceIndex, ci.AncillaryData = id, nil
	return p.w.WritePacket(ci, data)
}

func (p *pcapngOut) flush() error { return p.w.Flush() }

func newPacketWriter(w io.Writer, out string, link layers.LinkType) (packetWriter, error) {
	if strings.HasSuffix(strings.ToLower(out), ".pcapng") {
		ng, err := pcapgo.NewNgWriterInterface(w, pcapgo.NgInterface{Name: "sipalive-" + link.String(), LinkType: link, SnapLength: 262144, TimestampResolution: 9}, pcapgo.DefaultNgWriterOptions)
		if err != nil {
			return nil, err
		}
		return &pcapngOut{w: ng, ifaces: map[layers.LinkType]int{link: 0}}, nil
	}
	pw := pcapgo.NewWriterNanos(w)
	if err := pw.WriteFileHeader(262144, link); err != nil {
		return nil, err
	}
	return &pcapOut{w: pw, link: link, out: out}, nil
}

// writeProblems copies every packet of the problem dialogs into one
// capture, in the merged time order the analysis read them in: pcapng when
// out ends in .pcapng, else pcap.
func writeProblems(out string, paths []string, rep *analyze.Report) (int, error) {
	want := map[analyze.FrameRef]bool{}
	for _, frames := range rep.ProblemFrames {
		for _, f := range frames {
			want[f] = true
		}
	}
	file, err := os.Create(out)
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriter(file)
	var pw packetWriter
	written := 0
	err = func() error {
		src, err := capture.OpenMerge(paths)
		if err != nil {
			return err
		}
		defer src.Close()
		for written < len(want) {
			i, data, ci, link, err := src.Next()
			if err == io.EOF {
				break
			}
			if err != nil || !want[analyze.FrameRef{Input: i, Packet: src.Inputs[i].Packets}] {
				continue
			}
			if pw == nil {
				if pw, err = newPacketWriter(bw, out, link); err != nil {
					return err
				}
			}
			if err := pw.write(*ci, data, link); err != nil {
				return err
			}
			written++
		}
		if pw == nil { // no problem: an empty but valid capture
			var err error
			if pw, err = newPacketWriter(bw, out, layers.LinkTypeEthernet); err != nil {
				return err
			}
		}
		return pw.flush()
	}()
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	return written, err
}
