package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// recordSpans returns where each packet record of a good capture lies,
// pcap or pcapng (little-endian), with its packet's bytes.
func recordSpans(t testing.TB, b []byte, ng bool) (spans [][2]int, packets [][]byte) {
	t.Helper()
	if !ng {
		for off := 24; off+16 <= len(b); {
			n := int(binary.LittleEndian.Uint32(b[off+8:]))
			spans = append(spans, [2]int{off, off + 16 + n})
			packets = append(packets, b[off+16:off+16+n])
			off += 16 + n
		}
		return spans, packets
	}
	for _, off := range ngBlocks(b) {
		if binary.LittleEndian.Uint32(b[off:]) != ngEnhancedPacket {
			continue
		}
		n := int(binary.LittleEndian.Uint32(b[off+4:]))
		capLen := int(binary.LittleEndian.Uint32(b[off+20:]))
		spans = append(spans, [2]int{off, off + n})
		packets = append(packets, b[off+28:off+28+capLen])
	}
	return spans, packets
}

// FuzzDamagedFiles damages one byte of one record of a good capture,
// pcap or pcapng, plain or gzip'd, and reads it as sipalive reads files:
// no panic, and every packet of the records before the damaged one and
// from the second after it is still read, in order (reading resynchronises
// past the damage instead of ending the file).
func FuzzDamagedFiles(f *testing.F) {
	pcap, err := os.ReadFile("../samples/keepalive-481.pcap")
	if err != nil {
		f.Fatal(err)
	}
	ng := ngFile(f, "../samples/keepalive-481.pcap")
	for _, seed := range []struct {
		at     uint16
		v      byte
		ng, gz bool
	}{{8, 0x40, false, false}, {11, 0xff, false, true}, {4, 0x10, true, false}, {9, 0x80, true, true}, {300, 0x01, false, false}} {
		f.Add(seed.at, seed.v, seed.ng, seed.gz)
	}
	f.Fuzz(func(t *testing.T, at uint16, v byte, isNG, gz bool) {
		good := pcap
		if isNG {
			good = ng
		}
		spans, packets := recordSpans(t, good, isNG)
		k := int(at) % len(spans) // the damaged record
		pos := spans[k][0] + int(at)%min(32, spans[k][1]-spans[k][0])
		b := append([]byte(nil), good...)
		b[pos] ^= v | 1
		if gz {
			var z bytes.Buffer
			w := gzip.NewWriter(&z)
			w.Write(b)
			w.Close()
			b = z.Bytes()
		}
		path := filepath.Join(t.TempDir(), "damaged")
		os.WriteFile(path, b, 0o644)
		cf, err := OpenFile(path)
		if err != nil {
			if k == 0 && isNG {
				return // the damage is in the section's first packet block: read as a header error
			}
			t.Fatalf("open: %v", err)
		}
		defer cf.Close()
		var got [][]byte
		for {
			_, data, _, _, err := cf.Next()
			if err != nil {
				if err != io.EOF && k < len(spans)-2 {
					t.Fatalf("damage in record %d ended the file: %v", k, err)
				}
				break
			}
			got = append(got, append([]byte(nil), data...))
		}
		keep := append(append([][]byte(nil), packets[:k]...), packets[min(k+2, len(packets)):]...)
		j := 0
		for _, g := range got {
			if j < len(keep) && bytes.Equal(g, keep[j]) {
				j++
			}
		}
		if j != len(keep) {
			t.Fatalf("byte %d of record %d damaged: %d of the %d packets that must survive were read", pos, k, j, len(keep))
		}
	})
}
