// Command gen writes the sample captures of samples/ (go run ./samples/gen)
// or one large capture of a traffic shape for benchmarks:
//
//	go run ./samples/gen -calls 200000 -o big.pcap        the trunk mix (Bulk)
//	go run ./samples/gen -rate 1000 -hold 20s -duration 30m -o rate.pcap
//	                                                      a steady call rate
//	go run ./samples/gen -flood INVITE -n 1000000 -rate 10000 -o flood.pcap
//	                                                      requests never answered
//	go run ./samples/gen -flood OPTIONS -answer 200 -n 1000000 -rate 10000 -o pings.pcap
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sipalive/sipalive/samples/synth"
)

func main() {
	dir := flag.String("dir", "samples", "write the sample captures into `DIR`")
	calls := flag.Int("calls", 0, "write one large capture of `N` calls instead of the samples")
	out := flag.String("o", "big.pcap", "with -calls, -rate or -flood: the output `FILE` (- for standard output)")
	var rate synth.RateOptions
	var flood synth.FloodOptions
	flag.Float64Var(&rate.Rate, "rate", 0, "calls (or with -flood, requests) per second of capture time")
	flag.DurationVar(&rate.Hold, "hold", 20*time.Second, "with -rate: how long each call is held")
	flag.DurationVar(&rate.Duration, "duration", 30*time.Minute, "with -rate: the capture time over which calls start")
	flag.DurationVar(&rate.KeepAlive, "keepalive", 0, "with -rate: an in-dialog INFO this often during the hold (0: none)")
	flag.BoolVar(&rate.TCP, "tcp", false, "with -rate: every call over one TCP connection")
	flag.StringVar(&flood.Method, "flood", "", "write a flood of `METHOD` (INVITE or OPTIONS) requests, each with its own Call-ID")
	flag.IntVar(&flood.N, "n", 1000000, "with -flood: how many requests")
	flag.IntVar(&flood.Sources, "sources", 4, "with -flood: how many source addresses take turns")
	flag.IntVar(&flood.Answer, "answer", 0, "with -flood: the status code answering each request (0: none)")
	flag.Parse()
	flood.Rate = rate.Rate
	var err error
	switch {
	case flood.Method != "":
		err = writeOut(*out, func(w *synth.Writer) error { return synth.Flood(w, flood) })
	case rate.Rate > 0:
		err = writeOut(*out, func(w *synth.Writer) error { return synth.Rate(w, rate) })
	default:
		err = run(*dir, *calls, *out)
	}
	if err != nil {
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

// writeOut writes one capture to path, or to standard output for "-".
func writeOut(path string, f func(*synth.Writer) error) error {
	if path != "-" {
		return write(path, synth.Options{}, f)
	}
	bw := bufio.NewWriterSize(os.Stdout, 1<<20)
	w, err := synth.NewWriter(bw, synth.Options{})
	if err == nil {
		err = f(w)
	}
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return err
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
