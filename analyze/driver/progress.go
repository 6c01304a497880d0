package driver

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/sipalive/sipalive/capture"
)

// progress draws a one-line bar on a terminal's stderr for files that take
// more than a second: bytes read of total, packets/s, ETA. It never writes
// to a pipe or a file.
type progress struct {
	w       io.Writer
	label   string
	read    func() int64 // bytes read so far
	size    int64
	on      bool
	start   time.Time
	last    time.Time
	drawn   bool
	packets uint64
}

// progressor is a source that knows how far it has read (files).
type progressor interface {
	Progress() (read, size int64)
}

// newProgress makes the bar for src, drawn on w when w is a terminal and
// src knows its size.
func newProgress(w io.Writer, src capture.Source) *progress {
	p := &progress{w: w, start: time.Now()}
	pr, ok := src.(progressor)
	if file, isFile := w.(*os.File); ok && isFile && term.IsTerminal(int(file.Fd())) {
		p.on = true
		p.read = func() int64 { n, _ := pr.Progress(); return n }
		_, p.size = pr.Progress()
		inputs := src.Describe()
		p.label = inputs[0].Path
		if len(inputs) > 1 {
			p.label = fmt.Sprintf("%d files", len(inputs))
		}
	}
	return p
}

func (p *progress) update(packets uint64) {
	if !p.on || packets&0xfff != 0 {
		return
	}
	now := time.Now()
	if now.Sub(p.start) < time.Second || now.Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last, p.packets = now, packets
	done := p.read()
	frac := 0.0
	if p.size > 0 {
		frac = float64(done) / float64(p.size)
	}
	el := now.Sub(p.start)
	rate := float64(packets) / el.Seconds()
	eta := "?"
	if frac > 0 {
		eta = (time.Duration(float64(el)/frac) - el).Round(time.Second).String()
	}
	if p.size == 0 { // standard input: no end to measure against
		fmt.Fprintf(p.w, "\r%s %s, %d packets, %.0f pkt/s ", p.label, mib(done), packets, rate)
		p.drawn = true
		return
	}
	const width = 30
	n := int(frac * width)
	bar := make([]byte, width)
	for i := range bar {
		if i < n {
			bar[i] = '='
		} else {
			bar[i] = ' '
		}
	}
	fmt.Fprintf(p.w, "\r%s [%s] %3.0f%% %s/%s %.0f pkt/s ETA %s ", p.label, bar, frac*100,
		mib(done), mib(p.size), rate, eta)
	p.drawn = true
}

func (p *progress) done() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func mib(n int64) string { return fmt.Sprintf("%.1fMiB", float64(n)/(1<<20)) }
