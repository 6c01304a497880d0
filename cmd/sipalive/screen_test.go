package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// TestLiveScreen: on a terminal a refresh is drawn from the top of the
// alternate screen, cut to the window with a line saying so, every line
// and the rest of the screen cleared, and the normal screen comes back at
// the end; on a pipe refreshes are appended blocks.
func TestLiveScreen(t *testing.T) {
	var frame strings.Builder
	for i := range 30 {
		fmt.Fprintf(&frame, "line %d\n", i)
	}
	var out bytes.Buffer
	s := &liveScreen{w: &out, tty: true, height: func() int { return 10 }}
	for range 2 {
		if err := s.show("status", []byte(frame.String())); err != nil {
			t.Fatal(err)
		}
	}
	s.close()
	text := out.String()
	if strings.Count(text, "\033[?1049h") != 1 || !strings.HasSuffix(text, "\033[J\033[?1049l") {
		t.Errorf("the alternate screen is not entered once and left at the end: %q", text)
	}
	draws := strings.Split(text, "\033[H")[1:]
	if len(draws) != 2 {
		t.Fatalf("%d redraws from the top, want 2", len(draws))
	}
	for _, d := range draws {
		lines := strings.Split(strings.TrimSuffix(strings.TrimSuffix(d, "\033[?1049l"), "\033[J"), "\n")
		lines = lines[:len(lines)-1]
		if len(lines) != 9 || !strings.HasPrefix(lines[0], "status") || !strings.Contains(lines[8], "23 more lines") {
			t.Errorf("a redraw of %d lines (want 9, the status first, the last saying what was cut): %q", len(lines), lines)
		}
		for _, l := range lines {
			if !strings.HasSuffix(l, "\033[K") {
				t.Errorf("line %q does not clear the rest of itself", l)
			}
		}
	}
	out.Reset()
	pipe := &liveScreen{w: &out, height: func() int { return 0 }}
	pipe.show("one", []byte("a\n"))
	pipe.show("two", []byte("b\n"))
	pipe.close()
	if out.String() != "\n=== one ===\na\n\n=== two ===\nb\n" {
		t.Errorf("on a pipe: %q", out.String())
	}
}
