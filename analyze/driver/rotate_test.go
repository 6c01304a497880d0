package driver

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// TestRotation writes packets through -C with -W (a ring of files
// overwritten oldest first), -C alone (numbered files), and -G with -W (a
// file per period named by strftime, stopping after -W files), on a fake
// clock, and reads each file back.
func TestRotation(t *testing.T) {
	pkt := make([]byte, 984) // 1,000 bytes with its record header
	clock := time.Date(2026, 12, 3, 1, 2, 3, 0, time.UTC)
	write := func(r *RotatingFile, n int, step time.Duration) {
		for range n {
			clock = clock.Add(step)
			if err := r.Write(0, pkt, &gopacket.CaptureInfo{Timestamp: clock, CaptureLength: len(pkt), Length: len(pkt)}, layers.LinkTypeEthernet); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
	count := func(path string) int {
		f, err := os.Open(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		defer f.Close()
		rd, err := pcapgo.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		n := 0
		for {
			if _, _, err := rd.ReadPacketData(); err != nil {
				return n
			}
			n++
		}
	}
	for _, tc := range []struct {
		name  string
		rot   Rotation
		n     int
		step  time.Duration
		files map[string]int // name → packets
		done  bool
	}{
		{"ring", Rotation{Size: 3000, Files: 3}, 10, time.Second, map[string]int{"cap0": 1, "cap1": 3, "cap2": 3}, false},
		{"numbered", Rotation{Size: 5000}, 12, time.Second, map[string]int{"cap": 5, "cap1": 5, "cap2": 2}, false},
		{"periods", Rotation{Every: time.Minute, Files: 2}, 10, 20 * time.Second, map[string]int{"cap-010203": 2, "cap-010303": 3}, true},
	} {
		clock = time.Date(2026, 12, 3, 1, 2, 3, 0, time.UTC)
		dir := t.TempDir()
		pattern := filepath.Join(dir, "cap")
		if tc.rot.Every > 0 {
			pattern += "-%H%M%S"
		}
		r, err := createRotating(pattern, layers.LinkTypeEthernet, nil, tc.rot, func() time.Time { return clock })
		if err != nil {
			t.Fatal(err)
		}
		write(r, tc.n, tc.step)
		entries, _ := os.ReadDir(dir)
		if len(entries) != len(tc.files) || r.Done != tc.done {
			t.Errorf("%s: %d files (done %v), want %v", tc.name, len(entries), r.Done, tc.files)
		}
		for name, want := range tc.files {
			if got := count(filepath.Join(dir, name)); got != want {
				t.Errorf("%s: %s holds %d packets, want %d", tc.name, name, got, want)
			}
		}
	}
}
