package capture

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// writePcap writes packets stamped at the given seconds; each packet's
// data is its file's name and its stamp, so the merged order shows.
func writePcap(t *testing.T, dir, name string, stamps ...int) string {
	t.Helper()
	var b bytes.Buffer
	w := pcapgo.NewWriterNanos(&b)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for _, s := range stamps {
		data := []byte(name + "@" + time.Duration(s*int(time.Second)).String())
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(1700000000+int64(s), 0), CaptureLength: len(data), Length: len(data)}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, name+".pcap")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// readMerge reads a merge to its end: the packets' data in order, the
// inputs they came from, and the errors met.
func readMerge(t *testing.T, m *Merge) (order []string, inputs []int, errs []error, maxOpen int) {
	t.Helper()
	for n := 0; n < 1000; n++ {
		i, data, _, _, err := m.Next()
		maxOpen = max(maxOpen, len(m.open)+1)
		if err == io.EOF {
			return
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		order = append(order, string(data))
		inputs = append(inputs, i)
	}
	t.Fatal("merge does not end")
	return
}

func TestMergeOrdersByTime(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		files map[string][]int // name → stamps; files are given in name order
		want  []string
	}{
		{"interfaces captured at once", map[string][]int{"a": {1, 3, 5}, "b": {2, 3, 4}},
			[]string{"a@1s", "b@2s", "a@3s", "b@3s", "b@4s", "a@5s"}},
		{"rotated files, given out of order", map[string][]int{"a": {7, 8}, "b": {1, 2}, "c": {4}},
			[]string{"b@1s", "b@2s", "c@4s", "a@7s", "a@8s"}},
		{"a file out of order keeps its order", map[string][]int{"a": {5, 1}, "b": {3}},
			[]string{"b@3s", "a@5s", "a@1s"}},
		{"an empty file", map[string][]int{"a": {}, "b": {1}}, []string{"b@1s"}},
	} {
		var paths []string
		for _, name := range []string{"a", "b", "c"} {
			if stamps, ok := tc.files[name]; ok {
				paths = append(paths, writePcap(t, filepath.Join(dir), tc.name[:4]+name, stamps...))
			}
		}
		m, err := OpenMerge(paths)
		if err != nil {
			t.Fatal(err)
		}
		order, _, errs, _ := readMerge(t, m)
		m.Close()
		var got []string
		for _, o := range order {
			got = append(got, o[4:]) // drop the test's name prefix
		}
		if len(errs) > 0 || len(got) != len(tc.want) {
			t.Errorf("%s: %v (errors %v), want %v", tc.name, got, errs, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
				break
			}
		}
	}
}

// TestMergeOpensFilesWhenNeeded checks that rotated files are opened one
// at a time, and that packets count per input.
func TestMergeOpensFilesWhenNeeded(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i := 0; i < 50; i++ {
		paths = append(paths, writePcap(t, dir, string(rune('A'+i%26))+string(rune('a'+i/26)), 10*i, 10*i+1, 10*i+2))
	}
	m, err := OpenMerge(paths)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	order, inputs, errs, maxOpen := readMerge(t, m)
	if len(order) != 150 || len(errs) > 0 || maxOpen > 2 {
		t.Errorf("%d packets, errors %v, up to %d files open at once", len(order), errs, maxOpen)
	}
	if inputs[0] != 0 || inputs[149] != 49 || m.Inputs[7].Packets != 3 {
		t.Errorf("inputs %v, packets of input 7: %d", inputs, m.Inputs[7].Packets)
	}
}

// TestMergeGoesOnAfterADamagedFile cuts one file in a record: its error
// comes once, with its index, and the other file is read to its end.
func TestMergeGoesOnAfterADamagedFile(t *testing.T) {
	dir := t.TempDir()
	a := writePcap(t, dir, "a", 1, 2, 3)
	b := writePcap(t, dir, "b", 1, 2, 3, 4)
	data, _ := os.ReadFile(a)
	if err := os.WriteFile(a, data[:len(data)-3], 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := OpenMerge([]string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	order, _, errs, _ := readMerge(t, m)
	if len(order) != 6 || len(errs) != 1 || !errors.Is(errs[0], io.ErrUnexpectedEOF) {
		t.Errorf("packets %v, errors %v", order, errs)
	}
	if m.Inputs[0].Packets != 2 || m.Inputs[0].Err == nil || m.Inputs[1].Packets != 4 || m.Inputs[1].Err != nil {
		t.Errorf("inputs %+v", m.Inputs)
	}
	if m.BytesRead() != m.Size() {
		t.Errorf("read %d of %d bytes", m.BytesRead(), m.Size())
	}
}

// TestMergeSkipsANonCapture: a file that is no capture (or empty, or
// missing) is noted and the others are read; with no readable file at all
// the merge fails with the first file's reason.
func TestMergeSkipsANonCapture(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "notes.txt")
	os.WriteFile(bad, []byte("hello world"), 0o644)
	empty := filepath.Join(dir, "empty.pcap")
	os.WriteFile(empty, nil, 0o644)
	m, err := OpenMerge([]string{writePcap(t, dir, "a", 1), bad, empty, filepath.Join(dir, "missing.pcap")})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	packets := 0
	for {
		_, _, _, _, err := m.Next()
		if err == io.EOF {
			break
		}
		packets++
	}
	in := m.Describe()
	if packets != 1 || in[0].Unreadable || !in[1].Unreadable || !errors.Is(in[1].Err, ErrNotCapture) || !in[2].Unreadable || !errors.Is(in[3].Err, os.ErrNotExist) {
		t.Errorf("%d packets, inputs %+v", packets, in)
	}
	if _, err := OpenMerge([]string{bad, empty}); !errors.Is(err, ErrNotCapture) {
		t.Errorf("no readable file: error %v, want ErrNotCapture", err)
	}
}

// TestMergeMatchesAReferenceMerge compares Merge with a plain k-way merge
// (take the earliest head, ties to the first file) on random files, some
// of them out of order inside.
func TestMergeMatchesAReferenceMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 30; round++ {
		dir := t.TempDir()
		n := 1 + rng.IntN(6)
		files := make([][]int, n)
		var paths []string
		for i := range files {
			for j := rng.IntN(8); j > 0; j-- {
				files[i] = append(files[i], rng.IntN(20))
			}
			if rng.IntN(2) == 0 {
				slices.Sort(files[i]) // most captures are in order
			}
			paths = append(paths, writePcap(t, dir, fmt.Sprintf("f%d", i), files[i]...))
		}
		var want []string
		heads := make([]int, n)
		for {
			best := -1
			for i := range files {
				if heads[i] < len(files[i]) && (best < 0 || files[i][heads[i]] < files[best][heads[best]]) {
					best = i
				}
			}
			if best < 0 {
				break
			}
			want = append(want, fmt.Sprintf("f%d@%ds", best, files[best][heads[best]]))
			heads[best]++
		}
		m, err := OpenMerge(paths)
		if err != nil {
			t.Fatal(err)
		}
		got, _, errs, _ := readMerge(t, m)
		m.Close()
		if len(errs) > 0 || !slices.Equal(got, want) {
			t.Fatalf("files %v:\ngot  %v\nwant %v (errors %v)", files, got, want, errs)
		}
	}
}
