package driver

import (
	"bufio"
	"encoding/binary"
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

// Interfaces describes a live capture's interfaces to a pcapng file.
type Interfaces struct {
	// Device names the interface captured on ("any" for all).
	Device string
	// Name gives an interface's name by index. With it, Linux cooked
	// frames (-i any) go under one interface block per interface, named.
	Name func(index int) string
	// Filter is the capture filter, recorded in every interface block.
	Filter string
}

// sll2IfIndex is where a Linux SLL2 header holds the interface index.
const sll2IfIndex = 4

// ngKey is what a pcapng interface block stands for: a link type and,
// for cooked frames with Interfaces.Name, an interface.
type ngKey struct {
	link    layers.LinkType
	ifindex int
}

// pcapngOut writes pcapng with one interface per link type, or per
// interface (see Interfaces).
type pcapngOut struct {
	w      *pcapgo.NgWriter
	ifaces map[ngKey]int
	names  *Interfaces
}

func (p *pcapngOut) write(ci gopacket.CaptureInfo, data []byte, link layers.LinkType) error {
	key := ngKey{link: link}
	if p.names != nil && p.names.Name != nil && link == layers.LinkTypeLinuxSLL2 && len(data) >= sll2IfIndex+4 {
		key.ifindex = int(binary.BigEndian.Uint32(data[sll2IfIndex:]))
	}
	id, ok := p.ifaces[key]
	if !ok {
		var err error
		id, err = p.w.AddInterface(p.iface(key))
		if err != nil {
			return err
		}
		p.ifaces[key] = id
	}
	ci.InterfaceIndex, ci.AncillaryData = id, nil
	return p.w.WritePacket(ci, data)
}

func (p *pcapngOut) iface(k ngKey) pcapgo.NgInterface {
	i := pcapgo.NgInterface{Name: "sipalive-" + k.link.String(), LinkType: k.link, SnapLength: 262144, TimestampResolution: 9}
	if p.names != nil {
		i.Filter = p.names.Filter
		if k.ifindex > 0 {
			i.Name = p.names.Name(k.ifindex)
		}
	}
	return i
}

func (p *pcapngOut) flush() error { return p.w.Flush() }

func newPacketWriter(w io.Writer, out string, link layers.LinkType, names *Interfaces) (packetWriter, error) {
	if strings.HasSuffix(strings.ToLower(out), ".pcapng") {
		p := &pcapngOut{ifaces: map[ngKey]int{{link: link}: 0}, names: names}
		first := p.iface(ngKey{link: link})
		if names != nil && names.Device != "" {
			first.Name = names.Device // with Name: cooked frames whose interface is not known
		}
		ng, err := pcapgo.NewNgWriterInterface(w, first, pcapgo.DefaultNgWriterOptions)
		if err != nil {
			return nil, err
		}
		p.w = ng
		return p, nil
	}
	pw := pcapgo.NewWriterNanos(w)
	if err := pw.WriteFileHeader(262144, link); err != nil {
		return nil, err
	}
	return &pcapOut{w: pw, link: link, out: out}, nil
}

// WriteProblems copies every packet of the problem dialogs into one
// capture, in the merged time order the analysis read them in: pcapng when
// out ends in .pcapng, else pcap. It reads the files a second time.
func WriteProblems(out string, paths []string, rep *analyze.Report) (int, error) {
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
		loop := Loop{Src: src, Stop: func() bool { return written == len(want) }}
		err = loop.Run(func(i int, data []byte, ci *gopacket.CaptureInfo, link layers.LinkType) error {
			if !want[analyze.FrameRef{Input: i, Packet: src.Inputs[i].Packets}] {
				return nil
			}
			if pw == nil {
				var err error
				if pw, err = newPacketWriter(bw, out, link, nil); err != nil {
					return err
				}
			}
			if err := pw.write(*ci, data, link); err != nil {
				return err
			}
			written++
			return nil
		})
		if err != nil {
			return err
		}
		if pw == nil { // no problem: an empty but valid capture
			var err error
			if pw, err = newPacketWriter(bw, out, layers.LinkTypeEthernet, nil); err != nil {
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

// PacketFile writes packets as they come (sniff -w), so that the file is
// complete and readable after Ctrl-C: pcap, or pcapng when the name ends
// in .pcapng.
type PacketFile struct {
	f  *os.File
	bw *bufio.Writer
	pw packetWriter
}

// CreatePacketFile creates path for packets of link type link; names
// (nil for none) describes a live capture's interfaces.
func CreatePacketFile(path string, link layers.LinkType, names *Interfaces) (*PacketFile, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	bw := bufio.NewWriterSize(f, 1<<16)
	pw, err := newPacketWriter(bw, path, link, names)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &PacketFile{f: f, bw: bw, pw: pw}, nil
}

// Write writes one packet; it is a Visit, for Config.Tap.
func (w *PacketFile) Write(_ int, data []byte, ci *gopacket.CaptureInfo, link layers.LinkType) error {
	c := *ci
	c.AncillaryData = nil
	return w.pw.write(c, data, link)
}

// Flush pushes what is buffered to the file.
func (w *PacketFile) Flush() error {
	if err := w.pw.flush(); err != nil {
		return err
	}
	return w.bw.Flush()
}

// Close flushes and closes the file.
func (w *PacketFile) Close() error {
	err := w.Flush()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	return err
}
