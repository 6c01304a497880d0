package driver

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/sipalive/sipalive/analyze"
	"github.com/sipalive/sipalive/capture"
)

// Config says how Analyze reads and analyses a source.
type Config struct {
	Analysis analyze.Options
	// Workers: 1 decodes and analyses in one goroutine; 2 decodes and
	// scans in one and analyses in another. The analyzer sees the same
	// messages in the same order either way, so the report is the same.
	Workers    int
	MaxPackets uint64    // stop after this many packets (-c); 0 reads all
	Progress   io.Writer // a progress bar is drawn here when it is a terminal; nil draws none
	Warn       io.Writer // damaged inputs are named here; nil: nowhere
	// Tap sees every packet before it is decoded (sniff -w); nil: none.
	Tap Visit
	// Stop ends reading early (a signal, --duration); nil never does.
	Stop func() bool
	// Refresh, called every Every with a report of the analysis so far
	// (a live view). It needs one worker: the report is read off the
	// analyzer between packets.
	Every   time.Duration
	Refresh func(*analyze.Report) error
	// WallClock advances the analysis clock with the wall clock while a
	// live source is quiet (see analyze.Analyzer.Advance); it needs one
	// worker.
	WallClock bool
}

// Analyze reads src to its end (or Stop, or MaxPackets) through one decoder
// and one analyzer and returns the report. A damaged input is named on
// Warn and the others are read on; an error of the source as a whole
// (a vanished interface) ends the run with that error.
func Analyze(src capture.Source, c Config) (*analyze.Report, error) {
	if c.Refresh != nil && c.Workers > 1 {
		return nil, errors.New("driver: a live refresh needs one worker")
	}
	a := analyze.New(c.Analysis)
	var dec *capture.Decoder
	finish := func() {}
	if c.Workers > 1 {
		p := newPipeline(a, src, c.Analysis.KeepFrames)
		dec = capture.NewDecoder(p.add)
		p.dec = dec
		p.take()
		finish = p.close
	} else {
		dec = capture.NewDecoder(a.Message)
	}
	stats := func() capture.Stats {
		s := dec.Stats
		if counter, ok := src.(capture.Counter); ok {
			counter.CountInto(&s)
		}
		return s
	}
	warn := func(path string, err error, packets uint64) {
		dec.Stats.Truncated = true
		if c.Warn != nil {
			fmt.Fprintf(c.Warn, "sipalive: %s: %s after %d packets; reporting what was read\n", path, truncationMessage(err), packets)
		}
	}
	for _, in := range src.Describe() {
		switch {
		case in.Unreadable:
			if c.Warn != nil {
				fmt.Fprintf(c.Warn, "sipalive: %s: %v; analysing the other files\n", in.Path, in.Err)
			}
		case in.Err != nil: // cut before its first packet
			warn(in.Path, in.Err, in.Packets)
		}
	}
	bar := newProgress(c.Progress, src)
	loop := Loop{
		Src: src,
		Stop: func() bool {
			return (c.MaxPackets > 0 && dec.Stats.Packets >= c.MaxPackets) || (c.Stop != nil && c.Stop())
		},
		Damaged: func(e *capture.InputError) {
			warn(e.Path, e.Err, src.Describe()[e.Input].Packets)
		},
	}
	if (c.Refresh != nil && c.Every > 0) || c.WallClock {
		last := time.Now()
		loop.Idle = func() error {
			if c.WallClock && c.Workers <= 1 {
				a.Advance(time.Now())
			}
			if c.Refresh == nil || time.Since(last) < c.Every {
				return nil
			}
			last = time.Now()
			snap := a.Snapshot(stats())
			describe(snap, src, nil)
			return c.Refresh(snap)
		}
	}
	err := loop.Run(func(input int, data []byte, ci *gopacket.CaptureInfo, link layers.LinkType) error {
		if c.Tap != nil {
			if err := c.Tap(input, data, ci, link); err != nil {
				return err
			}
		}
		dec.SetInput(input)
		dec.Packet(data, ci, link)
		bar.update(dec.Stats.Packets)
		return nil
	})
	bar.done()
	dec.Flush()
	finish()
	if err != nil && !errors.Is(err, capture.ErrVanished) {
		return nil, err
	}
	// A source that failed mid-run (a vanished interface) still gives
	// the report of what it gave, with the error.
	rep := a.Finish(stats())
	if c.Warn != nil {
		lt := rep.Overview.Capture.LinkTypes
		for _, name := range slices.Sorted(maps.Keys(lt)) {
			fmt.Fprintf(c.Warn, "sipalive: %d frames of %s, a link type sipalive does not decode, were counted and skipped\n", lt[name], name)
		}
	}
	describe(rep, src, c.Warn)
	return rep, err
}

// describe adds what each input gave to a report (a final one, or a live
// view's) and names the damaged records on warn (nil: nowhere).
func describe(rep *analyze.Report, src capture.Source, warn io.Writer) {
	for _, in := range src.Describe() {
		ri := analyze.Input{Path: in.Path, Format: in.Format, Packets: in.Packets, DamagedRecords: len(in.Damages)}
		for _, d := range in.Damages {
			ri.SkippedBytes += d.Skipped
			if warn != nil {
				fmt.Fprintf(warn, "sipalive: %s: record %d at offset %d is damaged (%s); skipped %d bytes and read on from the next plausible record\n",
					in.Path, d.Record, d.Offset, d.Why, d.Skipped)
			}
		}
		switch {
		case in.Unreadable:
			ri.Error = in.Err.Error()
		case in.Err != nil:
			ri.Truncated, ri.Error = true, truncationMessage(in.Err)
		}
		rep.Inputs = append(rep.Inputs, ri)
		if in.Format != "live" && !in.Unreadable {
			rep.Overview.Files++
		}
	}
}

// Collect reads src to its end and hands every SIP message to take, with
// no analysis (the flow of one dialog). Damaged inputs are skipped
// silently: the others go on.
func Collect(src capture.Source, take func(*capture.Message)) error {
	dec := capture.NewDecoder(take)
	loop := Loop{Src: src}
	err := loop.Run(func(input int, data []byte, ci *gopacket.CaptureInfo, link layers.LinkType) error {
		dec.SetInput(input)
		dec.Packet(data, ci, link)
		return nil
	})
	dec.Flush()
	return err
}

// truncationMessage says why an input ended early, in words.
func truncationMessage(err error) string {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		if err == io.ErrUnexpectedEOF {
			return "capture is truncated (the last packet record is cut short)"
		}
		return "capture is damaged (" + err.Error() + ")"
	}
	return err.Error()
}
