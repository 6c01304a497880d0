// Command gen writes the sample captures of samples/ (go run ./samples/gen)
// and, with -calls, one large realistic capture for benchmarks
// (go run ./samples/gen -calls 200000 -o big.pcap).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sipalive/sipalive/samples/synth"
)

func main() {
	dir := flag.String("dir", "samples", "write the sample captures into `DIR`")
	calls := flag.Int("calls", 0, "write one large capture of `N` calls instead of the samples")
	out := flag.String("o", "big.pcap", "with -calls: the output `FILE`")
	flag.Parse()
	if err := run(*dir, *calls, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(dir string, calls int, out string) error {
	if calls > 0 {
		return write(out, synth.Options{}, func(w *synth.Writer) error { return synth.Bulk(w, calls) })
	}
	for _, s := range synth.Scenarios() {
		path := filepath.Join(dir, s.Name+".pcap")
		if err := write(path, s.Opts, s.Write); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		fmt.Printf("%-34s %s\n", path, s.About)
	}
	return nil
}

func write(path string, opts synth.Options, f func(*synth.Writer) error) error {
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(file, 1<<20)
	w, err := synth.NewWriter(bw, opts)
	if err == nil {
		err = f(w)
	}
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	return err
}
