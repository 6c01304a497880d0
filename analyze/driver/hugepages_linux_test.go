package driver

import (
	"bytes"
	"os"
	"testing"
)

// TestAdviseHugePages checks that the advice lands on a mapping of the
// heap: the kernel lists it as "hg" among the mapping's flags.
func TestAdviseHugePages(t *testing.T) {
	if err := adviseHugePages(8 << 20); err != nil {
		t.Skipf("no huge pages here: %v", err)
	}
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	for _, line := range bytes.Split(smaps, []byte("\n")) {
		if flags, ok := bytes.CutPrefix(line, []byte("VmFlags:")); ok {
			for _, f := range bytes.Fields(flags) {
				if string(f) == "hg" {
					return
				}
			}
		}
	}
	t.Error("no mapping is advised to use huge pages")
}
