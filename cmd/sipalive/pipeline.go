package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/gopacket/gopacket"
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
// capture, in input order: pcapng when out ends in .pcapng, else pcap.
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
	file, err := os.Create(out)
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriter(file)
	var pw packetWriter
	written, next := 0, 0
	err = func() error {
		for i, p := range paths {
			f, err := capture.OpenFile(p)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			var idx uint64
			for next < len(refs) && refs[next].Input == i {
				data, ci, link, err := f.Next()
				if err != nil {
					break
				}
				if idx++; idx != refs[next].Packet {
					continue
				}
				next++
				if pw == nil {
					if pw, err = newPacketWriter(bw, out, link); err != nil {
						f.Close()
						return err
					}
				}
				if err := pw.write(ci, data, link); err != nil {
					f.Close()
					return err
				}
				written++
			}
			f.Close()
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

// dialogFrames lists the packets of a dialog: its own (ACKs, the initial
// INVITE) and those of its transactions.
func dialogFrames(d *analyze.Dialog) []analyze.FrameRef {
	frames := append([]analyze.FrameRef(nil), d.Frames...)
	for _, t := range d.Transactions {
		frames = append(frames, t.Frames...)
	}
	return frames
}
