package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/sipalive/sipalive/analyze"
	"github.com/sipalive/sipalive/analyze/driver"
	"github.com/sipalive/sipalive/analyze/monitor"
	"github.com/sipalive/sipalive/analyze/render"
	"github.com/sipalive/sipalive/capture"
	"github.com/sipalive/sipalive/capture/filter"
)

const sniffUsage = `usage: sipalive sniff -i IFACE [flags] [FILTER]

Captures live (Linux AF_PACKET, no libpcap) and shows the keep-alive tables
as they change. FILTER is a tcpdump-style capture filter, also given with -f;
port filters keep IP fragments. Stop with Ctrl-C, --duration or -c: the
final report is printed in the chosen --format.

flags:
`

func cmdSniff(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sniff", flag.ContinueOnError)
	fs.SetOutput(stderr)
	iface := fs.String("i", "", "capture on `IFACE` (any: all interfaces)")
	expr := fs.String("f", "", "capture `FILTER` (tcpdump syntax: port, portrange, host, net, udp, tcp, and/or/not, ...)")
	out := fs.String("w", "", "also write the captured packets to `FILE` (pcap; pcapng when it ends in .pcapng)")
	count := fs.Uint64("c", 0, "stop after `N` packets")
	duration := fs.Duration("duration", 0, "stop after this long (e.g. 30m)")
	interval := fs.Duration("interval", 5*time.Second, "refresh the tables this often")
	format := fs.String("format", "table", "output `format`: table, json or csv")
	quiet := fs.Bool("quiet", false, "print nothing until the end")
	failOn := fs.String("fail-on", "", "exit 1 when a finding of these `kinds` exists (see analyze -h)")
	rows := fs.Int("max-rows", -1, "rows per table (default 100 for tables, all for json and csv)")
	wide := fs.Bool("wide", false, "print every table column whole (tables otherwise fit the terminal)")
	eventsPath := fs.String("events", "", "write an NDJSON event to `FILE` as each keep-alive, finding and dialog settles (- for standard output, which then carries the events alone)")
	metricsAddr := fs.String("metrics", "", "serve Prometheus metrics and /healthz on `ADDR` (host:port) while capturing")
	fs.Usage = func() {
		fmt.Fprint(stderr, sniffUsage)
		fs.PrintDefaults()
	}
	if err := parseInterspersed(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err.Error()}
	}
	if *iface == "" {
		return usagef("sniff: name the interface with -i (any for all of them)")
	}
	if rest := strings.Join(fs.Args(), " "); rest != "" {
		if *expr != "" {
			return usagef("sniff: give the filter either with -f or as arguments, not both")
		}
		*expr = rest
	}
	if err := filter.Check(*expr); err != nil {
		return usageError{err.Error()}
	}
	switch *format {
	case "table", "json", "csv":
	default:
		return usagef("--format %q: use table, json or csv", *format)
	}
	if err := checkRows(fs); err != nil {
		return err
	}
	kinds, err := parseFailOn(*failOn)
	if err != nil {
		return err
	}
	if *interval <= 0 {
		return usagef("--interval must be positive")
	}
	live, err := capture.OpenLive(*iface, *expr)
	if err != nil {
		return err
	}
	defer live.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	events, closeEvents, err := openEvents(*eventsPath, stdout)
	if err != nil {
		return err
	}
	defer closeEvents()
	var mon *monitor.Metrics
	if *metricsAddr != "" {
		mon = monitor.NewMetrics()
		addr, err := mon.Serve(ctx, *metricsAddr, 3**interval+10*time.Second)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "sipalive: metrics on http://%s/metrics\n", addr)
	}
	var observe analyze.RowSink
	if events != nil {
		observe = events
	}
	if mon != nil {
		observe = monitor.Tee(observe, mon)
	}
	cfg := driver.Config{
		Analysis:   analyze.Options{MaxRows: maxRows(*rows, *format), KeepAliveRows: *format == "csv", Observe: observe},
		Workers:    1,
		MaxPackets: *count,
		Stop: func() bool {
			return ctx.Err() != nil || (*duration > 0 && time.Since(start) >= *duration)
		},
	}
	var w *driver.PacketFile
	if *out != "" {
		if w, err = driver.CreatePacketFile(*out, live.Link); err != nil {
			return fmt.Errorf("-w %s: %w", *out, err)
		}
		cfg.Tap = w.Write
	}
	fmt.Fprintf(stderr, "sipalive: listening on %s (%s)%s\n", *iface, live.Link, filterNote(live.Filter))
	screen := newLiveScreen(stdout)
	defer screen.close()
	draw := !*quiet && *format == "table" && *eventsPath != capture.Stdin
	if draw || events != nil || mon != nil || w != nil {
		cfg.Every = *interval
		cfg.Refresh = func(r *analyze.Report) error {
			if w != nil {
				if err := w.Flush(); err != nil {
					return fmt.Errorf("-w: %w", err)
				}
			}
			if mon != nil {
				mon.Update(r)
			}
			if events != nil {
				if err := events.Flush(); err != nil {
					return fmt.Errorf("--events: %w", err)
				}
			}
			if !draw {
				return nil
			}
			s := r.Overview.Capture
			status := fmt.Sprintf("sipalive sniff -i %s   %s   %d packets, %d dropped   (Ctrl-C to stop)",
				*iface, time.Now().Format("15:04:05"), s.Packets, s.KernelDrops)
			if !screen.tty {
				status = fmt.Sprintf("%s: %d packets, %d dropped", time.Now().UTC().Format(time.RFC3339), s.Packets, s.KernelDrops)
			}
			var frame bytes.Buffer
			if err := render.Tables(&frame, r, tableWidth(stdout, *wide)); err != nil {
				return err
			}
			return screen.show(status, frame.Bytes())
		}
	}
	rep, err := driver.Analyze(live, cfg)
	stop()
	if w != nil {
		if cerr := w.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("-w: %w", cerr)
		}
	}
	if err != nil {
		return err
	}
	s := rep.Overview.Capture
	if s.KernelDrops > 0 || s.InterfaceDrops > 0 {
		fmt.Fprintf(stderr, "sipalive: the kernel dropped %d packets and the interface %d: this report is incomplete\n", s.KernelDrops, s.InterfaceDrops)
	}
	screen.close()
	if mon != nil {
		mon.Update(rep)
	}
	if events != nil {
		events.End(rep)
		if err := events.Flush(); err != nil {
			return fmt.Errorf("--events: %w", err)
		}
	}
	if *eventsPath != capture.Stdin {
		if err := output(stdout, rep, *format, false, tableWidth(stdout, *wide)); err != nil {
			return err
		}
	}
	if n := countFindings(rep, kinds); n > 0 {
		return findingsError{n}
	}
	return nil
}

func filterNote(f string) string {
	if f == "" {
		return ", no filter: SIP is found by content on any port"
	}
	return ", kernel filter: " + f
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
