package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

type pcapRecord struct {
	data []byte
	ci   gopacket.CaptureInfo
}

// readAll reads every record with next, as the File does, and the error
// that ended them (nil for a clean end).
func readAllPcap(t *testing.T, b []byte, bufSize int) ([]pcapRecord, layers.LinkType, error) {
	t.Helper()
	r, err := newPcapReader(bytes.NewReader(b), bufSize)
	if err != nil {
		return nil, 0, err
	}
	var recs []pcapRecord
	var ci gopacket.CaptureInfo
	for {
		data, err := r.next(&ci)
		if err == io.EOF {
			return recs, r.link, nil
		}
		if err != nil {
			return recs, r.link, err
		}
		recs = append(recs, pcapRecord{append([]byte(nil), data...), ci})
	}
}

// readAllPcapgo is the same with gopacket's reader, the oracle.
func readAllPcapgo(t *testing.T, b []byte) ([]pcapRecord, layers.LinkType, error) {
	t.Helper()
	r, err := pcapgo.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, 0, err
	}
	var recs []pcapRecord
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			return recs, r.LinkType(), nil
		}
		if err != nil {
			return recs, r.LinkType(), err
		}
		recs = append(recs, pcapRecord{data, ci})
	}
}

// recordsEnd is where the last of recs ends in its file.
func recordsEnd(recs []pcapRecord) int {
	n := 24
	for _, r := range recs {
		n += 16 + len(r.data)
	}
	return n
}

// pcapVariants rewrites a little-endian microsecond capture as the other
// three kinds of classic pcap, so that all four are read against pcapgo.
func pcapVariants(t *testing.T, le []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{"micro LE": le}
	recs, link, err := readAllPcapgo(t, le)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct {
		name  string
		order binary.ByteOrder
		magic uint32
		nano  bool
	}{{"nano LE", binary.LittleEndian, magicNanoLE, true}, {"micro BE", binary.BigEndian, magicMicroLE, false}, {"nano BE", binary.BigEndian, magicNanoLE, true}} {
		var b bytes.Buffer
		h := make([]byte, 24)
		v.order.PutUint32(h, v.magic)
		v.order.PutUint16(h[4:], 2)
		v.order.PutUint16(h[6:], 4)
		v.order.PutUint32(h[16:], 65535)
		v.order.PutUint32(h[20:], uint32(link))
		b.Write(h)
		for i, r := range recs {
			rh := make([]byte, 16)
			frac := r.ci.Timestamp.Nanosecond() / 1000
			if v.nano {
				frac = r.ci.Timestamp.Nanosecond() + i%1000 // nanosecond digits of its own
			}
			v.order.PutUint32(rh, uint32(r.ci.Timestamp.Unix()))
			v.order.PutUint32(rh[4:], uint32(frac))
			v.order.PutUint32(rh[8:], uint32(len(r.data)))
			v.order.PutUint32(rh[12:], uint32(r.ci.Length))
			b.Write(rh)
			b.Write(r.data)
		}
		out[v.name] = b.Bytes()
	}
	return out
}

// TestPcapReaderMatchesPcapgo reads every project capture, in all four
// byte orders and resolutions, whole and cut at many points, with small
// and large buffers, and wants what gopacket's reader gives: the same
// records and the same kind of end.
func TestPcapReaderMatchesPcapgo(t *testing.T) {
	files, _ := filepath.Glob("../samples/*.pcap")
	more, _ := filepath.Glob("testdata/netns/*.pcap")
	files = append(files, more...)
	if len(files) < 8 {
		t.Fatalf("only %d captures found", len(files))
	}
	for _, path := range files {
		if filepath.Base(path)[:4] == "big-" {
			continue // a benchmark capture, not a test one
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for kind, b := range pcapVariants(t, raw) {
			cuts := []int{len(b), 24, 30, 40}
			for c := 24; c < len(b); c += len(b)/17 + 1 {
				cuts = append(cuts, c)
			}
			for _, cut := range cuts {
				want, wantLink, wantErr := readAllPcapgo(t, b[:cut])
				for _, size := range []int{64, readBuffer} {
					got, link, err := readAllPcap(t, b[:cut], size)
					name := filepath.Base(path) + " " + kind
					if link != wantLink || len(got) != len(want) {
						t.Fatalf("%s cut at %d, buffer %d: %d records (link %v), pcapgo %d (link %v)", name, cut, size, len(got), link, len(want), wantLink)
					}
					for i := range got {
						if !bytes.Equal(got[i].data, want[i].data) || !got[i].ci.Timestamp.Equal(want[i].ci.Timestamp) ||
							got[i].ci.CaptureLength != want[i].ci.CaptureLength || got[i].ci.Length != want[i].ci.Length {
							t.Fatalf("%s record %d: got %+v, pcapgo %+v", name, i, got[i].ci, want[i].ci)
						}
					}
					if wantErr == nil && cut == recordsEnd(want)+16 {
						// pcapgo takes a bare record header at the end for a
						// clean end (io.ReadFull of zero bytes is io.EOF); the
						// record was cut, and this reader says so.
						wantErr = io.ErrUnexpectedEOF
					}
					if (err == nil) != (wantErr == nil) || (err != nil && errors.Is(err, io.ErrUnexpectedEOF) != errors.Is(wantErr, io.ErrUnexpectedEOF)) {
						t.Fatalf("%s cut at %d, buffer %d: error %v, pcapgo %v", name, cut, size, err, wantErr)
					}
				}
			}
		}
	}
}

// TestPcapReaderRejects checks the header and record checks pcapgo makes.
func TestPcapReaderRejects(t *testing.T) {
	header := func(magic uint32, major, minor uint16) []byte {
		h := make([]byte, 24)
		binary.LittleEndian.PutUint32(h, magic)
		binary.LittleEndian.PutUint16(h[4:], major)
		binary.LittleEndian.PutUint16(h[6:], minor)
		binary.LittleEndian.PutUint32(h[16:], 65535)
		binary.LittleEndian.PutUint32(h[20:], 1)
		return h
	}
	record := func(capLen, length uint32) []byte {
		h := make([]byte, 16)
		binary.LittleEndian.PutUint32(h, uint32(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()))
		binary.LittleEndian.PutUint32(h[8:], capLen)
		binary.LittleEndian.PutUint32(h[12:], length)
		return h
	}
	cases := []struct {
		name string
		b    []byte
	}{
		{"short header", header(magicMicroLE, 2, 4)[:20]},
		{"bad magic", header(0x12345678, 2, 4)},
		{"version 1.0", header(magicMicroLE, 1, 0)},
		{"record past any snap length", append(header(magicMicroLE, 2, 4), record(1<<30, 1<<30)...)},
		{"capture longer than packet", append(header(magicMicroLE, 2, 4), record(100, 60)...)},
	}
	for _, c := range cases {
		_, _, err := readAllPcap(t, c.b, readBuffer)
		_, _, wantErr := readAllPcapgo(t, c.b)
		if err == nil || wantErr == nil {
			t.Errorf("%s: error %v, pcapgo %v; want both to fail", c.name, err, wantErr)
		}
	}
}

// TestPcapReaderDataIsInPlace checks that a record is returned from the
// read buffer, not copied: the reason the reader exists.
func TestPcapReaderDataIsInPlace(t *testing.T) {
	raw, err := os.ReadFile("../samples/keepalive-healthy.pcap")
	if err != nil {
		t.Fatal(err)
	}
	// the records ten times over, so that every measured call has one
	b := append([]byte(nil), raw...)
	for i := 0; i < 9; i++ {
		b = append(b, raw[24:]...)
	}
	r, err := newPcapReader(bytes.NewReader(b), readBuffer)
	if err != nil {
		t.Fatal(err)
	}
	var ci gopacket.CaptureInfo
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := r.next(&ci); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("reading a record allocates %.1f times, want 0", allocs)
	}
}

// FuzzPcapReader feeds arbitrary files to the reader: it must not panic,
// and the records it returns before any error must be pcapgo's.
func FuzzPcapReader(f *testing.F) {
	if raw, err := os.ReadFile("../samples/keepalive-481.pcap"); err == nil {
		f.Add(raw)
		f.Add(raw[:len(raw)/2])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, _, _ := readAllPcap(t, b, 64)
		want, _, _ := readAllPcapgo(t, b)
		// pcapgo stops at the first damaged record, where this reader
		// resynchronises and reads on: up to there the two agree.
		if len(got) < len(want) {
			t.Fatalf("%d records, pcapgo %d", len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i].data, want[i].data) || got[i].ci.Length != want[i].ci.Length {
				t.Fatalf("record %d differs from pcapgo's", i)
			}
		}
	})
}

// TestPcapReaderKeepsHeldBlocks holds the blocks of some records, reads
// the rest of the file, and checks that the held records were not
// rewritten; without holds, the reader goes round two blocks.
func TestPcapReaderKeepsHeldBlocks(t *testing.T) {
	raw, err := os.ReadFile("../samples/keepalive-mix.pcap")
	if err != nil {
		t.Fatal(err)
	}
	const block = 2048 // a few records per block
	r, err := newPcapReader(bytes.NewReader(raw), block)
	if err != nil {
		t.Fatal(err)
	}
	type held struct {
		data, want []byte
		blk        *Block
	}
	var kept []held
	blocks := map[*Block]bool{}
	var ci gopacket.CaptureInfo
	for i := 0; ; i++ {
		data, err := r.next(&ci)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if r.last == nil || !r.last.Contains(data) {
			t.Fatalf("record %d is not in its block", i)
		}
		blocks[r.last] = true
		if i%7 == 0 && i < 40 {
			r.last.Hold()
			kept = append(kept, held{data, append([]byte(nil), data...), r.last})
		}
	}
	for i, k := range kept {
		if !bytes.Equal(k.data, k.want) {
			t.Errorf("held record %d was rewritten", i)
		}
		k.blk.Release()
	}
	if len(blocks) < 4 {
		t.Fatalf("only %d blocks used: the test needs the records to span several", len(blocks))
	}

	r, _ = newPcapReader(bytes.NewReader(raw), block)
	blocks = map[*Block]bool{}
	for {
		if _, err := r.next(&ci); err != nil {
			break
		}
		blocks[r.last] = true
	}
	if len(blocks) > 2 {
		t.Errorf("nothing held, yet the reader used %d blocks", len(blocks))
	}
}

// TestPcapReaderResyncs: a record whose header cannot be right (a length
// of 300,000 bytes at record 3) does not end the file: the damage is
// noted, reading goes on from the next plausible record, and every good
// record after it is read.
func TestPcapReaderResyncs(t *testing.T) {
	raw, err := os.ReadFile("../samples/keepalive-481.pcap")
	if err != nil {
		t.Fatal(err)
	}
	want, _, _ := readAllPcapgo(t, raw)
	// the offset of record 3's header
	off := 24
	for i := 0; i < 2; i++ {
		off += 16 + int(binary.LittleEndian.Uint32(raw[off+8:]))
	}
	bad := append([]byte(nil), raw...)
	binary.LittleEndian.PutUint32(bad[off+8:], 300000)
	for _, block := range []int{64, 1 << 18} {
		r, err := newPcapReader(bytes.NewReader(bad), block)
		if err != nil {
			t.Fatal(err)
		}
		var got [][]byte
		var ci gopacket.CaptureInfo
		for {
			data, err := r.next(&ci)
			if err != nil {
				if err != io.EOF {
					t.Fatalf("block %d: %v after %d records", block, err, len(got))
				}
				break
			}
			got = append(got, append([]byte(nil), data...))
		}
		if len(got) != len(want)-1 || !bytes.Equal(got[1], want[1].data) || !bytes.Equal(got[2], want[3].data) || !bytes.Equal(got[len(got)-1], want[len(want)-1].data) {
			t.Errorf("block %d: %d records, want the %d good ones", block, len(got), len(want)-1)
		}
		if len(r.damages) != 1 || r.damages[0].Record != 3 || r.damages[0].Offset != int64(off) {
			t.Errorf("block %d: damages %+v, want record 3 at offset %d", block, r.damages, off)
		}
	}
}
