package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/sipalive/sipalive/analyze"
	"github.com/sipalive/sipalive/capture"
)

type pipelineOptions struct {
	keepFrames bool
	maxPackets uint64
	progress   bool
	stderr     io.Writer
}

// analyzeFiles runs every file through one decoder and one analyzer, in the
// order given, so that a capture split over several files reads as one.
func analyzeFiles(paths []string, o pipelineOptions) (*analyze.Report, error) {
	files := make([]*capture.File, 0, len(paths))
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, p := range paths {
		f, err := capture.OpenFile(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		files = append(files, f)
	}
	a := analyze.New(analyze.Options{KeepFrames: o.keepFrames})
	dec := capture.NewDecoder(a.Message)
	inputs := make([]analyze.Input, len(files))
	for i, f := range files {
		dec.SetInput(i)
		before := dec.Stats.Packets
		in := &inputs[i]
		in.Path, in.Format = f.Path, f.Format
		bar := newProgress(o.stderr, f, o.progress)
		for o.maxPackets == 0 || dec.Stats.Packets < o.maxPackets {
			data, ci, link, err := f.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				in.Truncated, in.Error = true, truncationMessage(err)
				dec.Stats.Truncated = true
				fmt.Fprintf(o.stderr, "sipalive: %s: %s after %d packets; reporting what was read\n", f.Path, in.Error, dec.Stats.Packets-before)
				break
			}
			dec.Packet(data, ci, link)
			bar.update(dec.Stats.Packets)
		}
		bar.done()
		in.Packets = dec.Stats.Packets - before
	}
	dec.Flush()
	rep := a.Finish(dec.Stats)
	rep.Inputs = inputs
	rep.Overview.Files = len(files)
	return rep, nil
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

// writeProblems copies every packet of the problem dialogs into one pcap
// (pcapng when the inputs mix link types), in input order.
func writeProblems(out string, paths []string, rep *analyze.Report) (int, error) {
	want := map[analyze.FrameRef]bool{}
	for _, d := range rep.ProblemDialogs {
		for _, f := range dialogFrames(d) {
			want[f] = true
		}
	}
	refs := make([]analyze.FrameRef, 0, len(want))
	for f := range want {
		refs = append(refs, f)
	}
	sort.Slice(refs, func(i, j int) bool {
		if refs[i].Input != refs[j].Input {
			return refs[i].Input < refs[j].Input
		}
		return refs[i].Packet < refs[j].Packet
	})
	w, err := os.Create(out)
	if err != nil {
		return 0, err
	}
	defer w.Close()
	var pw *pcapgo.NgWriter
	written := 0
	ifaces := map[layers.LinkType]int{}
	next := 0
	for i, p := range paths {
		f, err := capture.OpenFile(p)
		if err != nil {
			return written, fmt.Errorf("%s: %w", p, err)
		}
		var idx uint64
		for next < len(refs) && refs[next].Input == i {
			data, ci, link, err := f.Next()
			if err != nil {
				break
			}
			idx++
			if idx != refs[next].Packet {
				continue
			}
			next++
			if pw == nil {
				pw, err = pcapgo.NewNgWriterInterface(w, pcapgo.NgInterface{Name: "sipalive", LinkType: link, SnapLength: 262144, TimestampResolution: 9}, pcapgo.DefaultNgWriterOptions)
				if err != nil {
					f.Close()
					return written, err
				}
				ifaces[link] = 0
			}
			id, ok := ifaces[link]
			if !ok {
				id, err = pw.AddInterface(pcapgo.NgInterface{Name: "sipalive-" + link.String(), LinkType: link, SnapLength: 262144, TimestampResolution: 9})
				if err != nil {
					f.Close()
					return written, err
				}
				ifaces[link] = id
			}
			ci.InterfaceIndex = id
			ci.AncillaryData = nil
			if err := pw.WritePacket(ci, data); err != nil {
				f.Close()
				return written, err
			}
			written++
		}
		f.Close()
	}
	if pw == nil {
		return 0, nil
	}
	return written, pw.Flush()
}

// dialogFrames lists the packets of a dialog: its own (ACKs, the initial
// INVITE) and those of its transactions.
func dialogFrames(d *analyze.Dialog) []analyze.FrameRef {
	frames := append([]analyze.FrameRef(nil), d.Frames...)
	for _, t := range d.Transactions {
		frames = append(frames, t.Frames...)
	}
	return frames
}
