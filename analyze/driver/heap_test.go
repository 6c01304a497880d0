package driver

import (
	"runtime"
	"testing"
)

func TestWatchCollections(t *testing.T) {
	// f runs on the cleanup goroutine after a collection; collect until it
	// has run twice, which shows it re-arms itself.
	ran := make(chan struct{}, 8)
	watchCollections(func() {
		select {
		case ran <- struct{}{}:
		default:
		}
	})
	seen := 0
	for i := 0; seen < 2; i++ {
		if i == 10000 {
			t.Fatalf("f ran %d times in %d collections, want 2", seen, i)
		}
		runtime.GC()
		select {
		case <-ran:
			seen++
		default:
			runtime.Gosched()
		}
	}
}

func TestHeapSizes(t *testing.T) {
	keep := make([]byte, 4<<20)
	runtime.GC()
	live, overhead := heapSizes()
	if live < int64(len(keep)) {
		t.Errorf("live heap %d, want at least the %d bytes kept", live, len(keep))
	}
	if overhead <= 0 {
		t.Errorf("overhead %d, want the runtime's own memory", overhead)
	}
	runtime.KeepAlive(keep)
}
