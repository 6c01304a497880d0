package capture

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

type ngRecord struct {
	data []byte
	ci   gopacket.CaptureInfo
	link layers.LinkType
}

// ngFile writes a pcapng of the packets of a sample with pcapgo's writer:
// two interfaces (Ethernet at nanoseconds, and the same at microseconds),
// packets alternating between them.
func ngFile(t testing.TB, sample string) []byte {
	t.Helper()
	f, err := os.Open(sample)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet, SnapLength: 65535, TimestampResolution: 9}, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	id, err := w.AddInterface(pcapgo.NgInterface{Name: "eth1", LinkType: layers.LinkTypeEthernet, SnapLength: 65535, TimestampResolution: 6})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		ci.InterfaceIndex = []int{0, id}[i%2]
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	return buf.Bytes()
}

// readAllNg reads every packet with this package's pcapng reader.
func readAllNg(t testing.TB, b []byte) ([]ngRecord, *pcapngReader, error) {
	t.Helper()
	p, err := newPcapngReader(bytes.NewReader(b))
	if err != nil {
		return nil, nil, err
	}
	var out []ngRecord
	for {
		var ci gopacket.CaptureInfo
		data, link, err := p.next(&ci)
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return out, p, err
		}
		out = append(out, ngRecord{append([]byte(nil), data...), ci, link})
	}
}

// readAllNgPcapgo reads every packet with gopacket's NgReader, the
// reference.
func readAllNgPcapgo(t testing.TB, b []byte) []ngRecord {
	t.Helper()
	r, err := pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		return nil
	}
	var out []ngRecord
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			return out
		}
		link := r.LinkType()
		if len(ci.AncillaryData) > 0 {
			link = ci.AncillaryData[0].(layers.LinkType)
		}
		out = append(out, ngRecord{data, ci, link})
	}
}

// TestPcapngMatchesPcapgo reads pcapng files of the samples with both
// readers: the same packets, times, lengths, interfaces and link types.
func TestPcapngMatchesPcapgo(t *testing.T) {
	for _, sample := range []string{"../samples/keepalive-mix.pcap", "../samples/vendors.pcap", "../samples/proxied.pcap"} {
		b := ngFile(t, sample)
		got, _, err := readAllNg(t, b)
		if err != nil {
			t.Fatal(err)
		}
		want := readAllNgPcapgo(t, b)
		if len(got) != len(want) || len(got) == 0 {
			t.Fatalf("%s: %d packets, pcapgo %d", sample, len(got), len(want))
		}
		for i := range got {
			g, w := got[i], want[i]
			if !bytes.Equal(g.data, w.data) || !g.ci.Timestamp.Equal(w.ci.Timestamp) || g.ci.Length != w.ci.Length ||
				g.ci.InterfaceIndex != w.ci.InterfaceIndex || g.link != w.link {
				t.Fatalf("%s packet %d: %+v %v, pcapgo %+v %v", sample, i, g.ci, g.link, w.ci, w.link)
			}
		}
	}
}

// ngBlocks returns the offsets of a pcapng's blocks (little-endian).
func ngBlocks(b []byte) []int {
	var offs []int
	for off := 0; off+12 <= len(b); {
		offs = append(offs, off)
		off += int(binary.LittleEndian.Uint32(b[off+4:]))
	}
	return offs
}

// TestPcapngResyncs damages one packet block three ways (a length that is
// no length, a trailer that does not repeat it, an interface the section
// lacks): each time that packet alone is lost, named as damage, and every
// later packet is read.
func TestPcapngResyncs(t *testing.T) {
	b := ngFile(t, "../samples/keepalive-481.pcap")
	want := readAllNgPcapgo(t, b)
	offs := ngBlocks(b)
	// blocks: section, two interfaces, then packets; damage packet 3
	at := offs[3+2]
	for name, damage := range map[string]func(d []byte){
		"length": func(d []byte) { binary.LittleEndian.PutUint32(d[at+4:], 0x7ffffff0) },
		"trailer": func(d []byte) {
			n := binary.LittleEndian.Uint32(d[at+4:])
			binary.LittleEndian.PutUint32(d[at+int(n)-4:], 12345)
		},
		"interface": func(d []byte) { binary.LittleEndian.PutUint32(d[at+8:], 7) },
	} {
		d := append([]byte(nil), b...)
		damage(d)
		got, p, err := readAllNg(t, d)
		if err != nil {
			t.Fatalf("%s: %v after %d packets", name, err, len(got))
		}
		if len(got) != len(want)-1 || !bytes.Equal(got[2].data, want[3].data) || !bytes.Equal(got[len(got)-1].data, want[len(want)-1].data) {
			t.Errorf("%s: %d packets, want the %d good ones", name, len(got), len(want)-1)
		}
		if len(p.damages) != 1 || p.damages[0].Offset != int64(at) || p.damages[0].Record != 6 {
			t.Errorf("%s: damages %+v, want block 6 at offset %d", name, p.damages, at)
		}
	}
}

// TestPcapngTimestampResolutions reads the times of interfaces in
// decimal and binary resolutions and with an offset.
func TestPcapngTimestampResolutions(t *testing.T) {
	for _, tc := range []struct {
		in     ngInterfaceInfo
		hi, lo uint32
		want   time.Time
	}{
		{ngInterfaceInfo{resol: 6}, 0, 1_500_000, time.Unix(1, 500_000_000)},
		{ngInterfaceInfo{resol: 9}, 0, 1_000_000_007, time.Unix(1, 7)},
		{ngInterfaceInfo{resol: 0x80 | 10}, 0, 1024 + 512, time.Unix(1, 500_000_000)},
		{ngInterfaceInfo{resol: 3, offset: 100}, 0, 2_250, time.Unix(102, 250_000_000)},
		{ngInterfaceInfo{resol: 6}, 0x0006_2a3b, 0x1234_5678, time.Unix(0, int64(uint64(0x0006_2a3b)<<32|0x1234_5678)*1000)},
	} {
		if got := tc.in.stamp(tc.hi, tc.lo); !got.Equal(tc.want) {
			t.Errorf("%+v %d/%d: %v, want %v", tc.in, tc.hi, tc.lo, got, tc.want)
		}
	}
}

// FuzzPcapngReader damages one byte of a packet block of a good file:
// no panic, and every packet of the blocks before it and from the second
// block after it on is still read, in order (resynchronisation); any input
// at all reads without a panic.
func FuzzPcapngReader(f *testing.F) {
	good := ngFile(f, "../samples/keepalive-481.pcap")
	offs := ngBlocks(good)
	want := readAllNgPcapgo(f, good)
	f.Add(uint16(0), byte(0xff), false)
	f.Add(uint16(5), byte(0x10), false)
	f.Add(uint16(300), byte(0x01), true)
	f.Fuzz(func(t *testing.T, pos uint16, v byte, garbage bool) {
		if garbage { // arbitrary bytes after a good start
			b := append(append([]byte(nil), good[:offs[3]]...), bytes.Repeat([]byte{v}, int(pos))...)
			readAllNg(t, b)
			return
		}
		first := offs[3] // the first packet block
		at := first + int(pos)%(len(good)-first)
		b := append([]byte(nil), good...)
		b[at] ^= v | 1
		k := 0 // the packet block the damaged byte is in
		for i := 3; i < len(offs); i++ {
			if offs[i] <= at {
				k = i - 3
			}
		}
		got, _, err := readAllNg(t, b)
		if err != nil && k < len(want)-2 {
			t.Fatalf("damage in packet %d: %v", k, err)
		}
		// packets before the damaged one, then from two after it on
		keep := append(append([]ngRecord(nil), want[:k]...), want[min(k+2, len(want)):]...)
		j := 0
		for _, g := range got {
			if j < len(keep) && bytes.Equal(g.data, keep[j].data) {
				j++
			}
		}
		if j != len(keep) {
			t.Fatalf("damage at byte %d (packet %d): %d of the %d packets that must survive were read", at, k, j, len(keep))
		}
	})
}
