package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// liveScreen shows sniff's refreshes. On a terminal each one is redrawn in
// place on the alternate screen (as top and less do): the status line and
// the overview stay at the top, the frame is cut to the window's height,
// and nothing piles up in the scrollback; the final report is printed on
// the normal screen once it is left. On a pipe each refresh is a block
// appended after the last, under a line with its time.
type liveScreen struct {
	w      io.Writer
	tty    bool
	height func() int
	on     bool // the alternate screen is in use
}

func newLiveScreen(w io.Writer) *liveScreen {
	s := &liveScreen{w: w, tty: isTerminal(w), height: func() int { return 0 }}
	if f, ok := w.(*os.File); ok && s.tty {
		s.height = func() int {
			if _, h, err := term.GetSize(int(f.Fd())); err == nil {
				return h
			}
			return 0
		}
	}
	return s
}

// show draws one refresh: status is its first line, frame the tables.
func (s *liveScreen) show(status string, frame []byte) error {
	if !s.tty {
		_, err := fmt.Fprintf(s.w, "\n=== %s ===\n%s", status, frame)
		return err
	}
	var b bytes.Buffer
	if !s.on {
		b.WriteString("\033[?1049h") // the alternate screen
		s.on = true
	}
	b.WriteString("\033[H")
	lines := append([]string{status}, strings.Split(strings.TrimRight(string(frame), "\n"), "\n")...)
	if h := s.height(); h > 1 && len(lines) > h-1 {
		more := len(lines) - (h - 2)
		lines = append(lines[:h-2], fmt.Sprintf("… %d more lines: a larger window shows them; the final report comes at Ctrl-C", more))
	}
	for _, l := range lines {
		b.WriteString(l)
		b.WriteString("\033[K\n") // the rest of the line cleared
	}
	b.WriteString("\033[J") // and the rest of the screen
	_, err := s.w.Write(b.Bytes())
	return err
}

// close leaves the alternate screen, so that the final report is printed
// where the command was typed.
func (s *liveScreen) close() {
	if s.on {
		fmt.Fprint(s.w, "\033[?1049l")
		s.on = false
	}
}
