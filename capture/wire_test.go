package capture

import "testing"

// TestWireBounds: every reader refuses a field that runs past the end or
// starts before the buffer, and returns the offset after a field it reads.
func TestWireBounds(t *testing.T) {
	b := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9}
	for _, tt := range []struct {
		name string
		read func(off int) (uint64, int, bool)
		size int
	}{
		{"uint8", func(o int) (uint64, int, bool) { v, n, ok := readUint8(b, o); return uint64(v), n, ok }, 1},
		{"uint16", func(o int) (uint64, int, bool) { v, n, ok := readUint16(b, o); return uint64(v), n, ok }, 2},
		{"uint32", func(o int) (uint64, int, bool) { v, n, ok := readUint32(b, o); return uint64(v), n, ok }, 4},
		{"uint32le", func(o int) (uint64, int, bool) { v, n, ok := readUint32LE(b, o); return uint64(v), n, ok }, 4},
		{"uint64", func(o int) (uint64, int, bool) { v, n, ok := readUint64(b, o); return v, n, ok }, 8},
		{"bytes", func(o int) (uint64, int, bool) { v, n, ok := readBytes(b, o, 3); return uint64(len(v)), n, ok }, 3},
	} {
		for off := -1; off <= len(b)+1; off++ {
			_, next, ok := tt.read(off)
			want := off >= 0 && off+tt.size <= len(b)
			if ok != want {
				t.Errorf("%s at %d: ok %v, want %v", tt.name, off, ok, want)
			}
			if ok && next != off+tt.size {
				t.Errorf("%s at %d: next %d, want %d", tt.name, off, next, off+tt.size)
			}
		}
	}
	if v, _, _ := readUint16(b, 1); v != 0x0203 {
		t.Errorf("readUint16 = %#x, want big-endian 0x0203", v)
	}
	if v, _, _ := readUint32LE(b, 0); v != 0x04030201 {
		t.Errorf("readUint32LE = %#x", v)
	}
	if _, _, ok := readBytes(b, 0, -1); ok {
		t.Error("readBytes took a negative length")
	}
}
