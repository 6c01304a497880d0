package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
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

// liveFlags are the flags of the commands that watch traffic as it comes:
// sniff and collect.
type liveFlags struct {
	out, format, failOn, eventsPath, metricsAddr string
	reportDir, reportFormat                      string
	count                                        uint64
	rotateMB, rotateFiles                        int
	rotateEvery                                  time.Duration
	duration, interval, reportEvery              time.Duration
	quiet, wide                                  bool
	rows                                         int
}

func (f *liveFlags) register(fs *flag.FlagSet, writes string) {
	fs.StringVar(&f.out, "w", "", "also write "+writes+" to `FILE` (pcap; pcapng when it ends in .pcapng)")
	fs.IntVar(&f.rotateMB, "C", 0, "with -w: start a new file once this one holds `N` million bytes (FILE, FILE1, FILE2, ...)")
	fs.DurationVar(&f.rotateEvery, "G", 0, "with -w: start a new file this often (e.g. 1h); FILE may hold strftime %Y %m %d %H %M %S")
	fs.IntVar(&f.rotateFiles, "W", 0, "with -C: keep a ring of `N` files; with -G alone: stop after N files")
	fs.Uint64Var(&f.count, "c", 0, "stop after `N` packets")
	fs.DurationVar(&f.duration, "duration", 0, "stop after this long (e.g. 30m)")
	fs.DurationVar(&f.interval, "interval", 5*time.Second, "refresh the tables (and the metrics) this often")
	fs.StringVar(&f.format, "format", "table", "output `format`: table, json or csv")
	fs.BoolVar(&f.quiet, "quiet", false, "print nothing until the end")
	fs.BoolVar(&f.quiet, "q", false, "same as --quiet")
	fs.StringVar(&f.failOn, "fail-on", "", "exit 1 when a finding of these `kinds` exists (see analyze -h)")
	fs.IntVar(&f.rows, "max-rows", -1, "rows per table (default 100 for tables, all for json and csv)")
	fs.BoolVar(&f.wide, "wide", false, "print every table column whole (tables otherwise fit the terminal)")
	fs.StringVar(&f.eventsPath, "events", "", "write an NDJSON event to `FILE` as each keep-alive, finding and dialog settles (- for standard output, which then carries the events alone)")
	fs.StringVar(&f.metricsAddr, "metrics", "", "serve Prometheus metrics and /healthz on `ADDR` (host:port) while running")
	fs.DurationVar(&f.reportEvery, "report-every", 0, "write the whole report so far to a timestamped file this often (e.g. 1h), atomically")
	fs.StringVar(&f.reportDir, "report-dir", ".", "with --report-every: the `DIR` the reports go to")
	fs.StringVar(&f.reportFormat, "report-format", "json", "with --report-every: json, table or html")
}

// check validates the flags, after parsing.
func (f *liveFlags) check(fs *flag.FlagSet) (map[analyze.FindingKind]bool, error) {
	switch f.format {
	case "table", "json", "csv":
	default:
		return nil, usagef("--format %q: use table, json or csv", f.format)
	}
	if err := checkRows(fs); err != nil {
		return nil, err
	}
	if f.interval <= 0 {
		return nil, usagef("--interval must be positive")
	}
	if f.rotateMB < 0 || f.rotateEvery < 0 || f.rotateFiles < 0 {
		return nil, usagef("-C, -G and -W take positive values")
	}
	if (f.rotateMB > 0 || f.rotateEvery > 0 || f.rotateFiles > 0) && f.out == "" {
		return nil, usagef("-C, -G and -W rotate the -w file: give -w FILE")
	}
	if f.rotateFiles > 0 && f.rotateMB == 0 && f.rotateEvery == 0 {
		return nil, usagef("-W limits the files of -C or -G: give one of them")
	}
	switch f.reportFormat {
	case "json", "table", "html":
	default:
		return nil, usagef("--report-format %q: use json, table or html", f.reportFormat)
	}
	if f.reportEvery < 0 || (f.reportEvery > 0 && f.reportEvery < f.interval) {
		return nil, usagef("--report-every %s: give a duration of at least --interval (%s)", f.reportEvery, f.interval)
	}
	return parseFailOn(f.failOn)
}

func cmdSniff(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sniff", flag.ContinueOnError)
	fs.SetOutput(stderr)
	iface := fs.String("i", "", "capture on `IFACE` (any: all interfaces)")
	expr := fs.String("f", "", "capture `FILTER` (tcpdump syntax: port, portrange, host, net, udp, tcp, and/or/not, ...)")
	dump := fs.Bool("d", false, "print the compiled capture filter (classic BPF, as tcpdump -d) and exit")
	ring := fs.Int("B", capture.DefaultRingMiB, "the kernel ring buffer, in `MiB` (as tcpdump -B, which counts KiB): raise it when the kernel drops packets")
	var lf liveFlags
	lf.register(fs, "the captured packets")
	if help, err := parseCommand(fs, args, sniffUsage, stderr); help || err != nil {
		return err
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
	if *dump {
		prog, err := capture.FilterProgram(*iface, *expr)
		if err != nil {
			return err
		}
		_, err = io.WriteString(stdout, prog)
		return err
	}
	kinds, err := lf.check(fs)
	if err != nil {
		return err
	}
	if *ring < 1 || *ring > 4096 {
		return usagef("-B %d: give the ring in MiB, 1 to 4096", *ring)
	}
	live, err := capture.OpenLive(*iface, *expr, *ring)
	if err != nil {
		return err
	}
	defer live.Close()
	announce := fmt.Sprintf("listening on %s (%s)%s", *iface, live.Link, filterNote(live.Filter))
	names := &driver.Interfaces{Device: *iface, Filter: live.Filter}
	if *iface == "any" {
		names.Name = interfaceName
	}
	return runLive(live, live.Link, names, "sipalive sniff -i "+*iface, announce, &lf, kinds, stdout, stderr)
}

// runLive analyses a live source until a signal, --duration or -c, with
// the outputs the flags ask for: tables redrawn as they change, events,
// metrics, the packets written with -w; then the final report.
//
// announce is said on stderr once the run can take signals: whoever waits
// for it may signal.
//
// names describes the capture's interfaces to a pcapng -w (nil: none).
func runLive(src capture.Source, link layers.LinkType, names *driver.Interfaces, title, announce string, lf *liveFlags, kinds map[analyze.FindingKind]bool, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	events, closeEvents, err := openEvents(lf.eventsPath, stdout)
	if err != nil {
		return err
	}
	defer closeEvents()
	var mon *monitor.Metrics
	if lf.metricsAddr != "" {
		mon = monitor.NewMetrics()
		addr, err := mon.Serve(ctx, lf.metricsAddr, 3*lf.interval+10*time.Second)
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
	opts := analyze.Options{MaxRows: maxRows(lf.rows, lf.format), KeepAliveRows: lf.format == "csv", Observe: observe, Live: true}
	var stream *render.Stream
	if lf.format != "table" && opts.MaxRows == 0 {
		// Every row of a run of months: written to the final report as it
		// settles, spooled, not held (live views then show the totals).
		stream = render.NewStream(lf.format == "csv")
		defer stream.Close()
		opts.Rows = stream
	}
	cfg := driver.Config{
		Analysis:   opts,
		Workers:    1,
		WallClock:  true,
		MaxPackets: lf.count,
		Stop: func() bool {
			return ctx.Err() != nil || (lf.duration > 0 && time.Since(start) >= lf.duration)
		},
	}
	var w packetSink
	var rotating *driver.RotatingFile
	switch {
	case lf.rotateMB > 0 || lf.rotateEvery > 0:
		rot := driver.Rotation{Size: int64(lf.rotateMB) * 1_000_000, Every: lf.rotateEvery, Files: lf.rotateFiles}
		if rotating, err = driver.CreateRotatingFile(lf.out, link, names, rot); err != nil {
			return fmt.Errorf("-w %s: %w", lf.out, err)
		}
		w = rotating
		stopWhen := cfg.Stop
		cfg.Stop = func() bool { return rotating.Done || stopWhen() } // -G with -W: the last file is full
	case lf.out != "":
		pf, err := driver.CreatePacketFile(lf.out, link, names)
		if err != nil {
			return fmt.Errorf("-w %s: %w", lf.out, err)
		}
		w = pf
	}
	if w != nil {
		cfg.Tap = w.Write
	}
	screen := newLiveScreen(stdout)
	defer screen.close()
	// SIGUSR1 prints the report so far; SIGHUP reopens --events (after
	// logrotate moved it). Both are taken at the next refresh.
	usr1, hup := make(chan os.Signal, 1), make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(usr1)
	defer signal.Stop(hup)
	fmt.Fprintf(stderr, "sipalive: %s\n", announce)
	lastReport := time.Now()
	draw := !lf.quiet && lf.format == "table" && lf.eventsPath != capture.Stdin
	{
		cfg.Every = lf.interval
		cfg.Refresh = func(r *analyze.Report) error {
			if w != nil {
				if err := w.Flush(); err != nil {
					return fmt.Errorf("-w: %w", err)
				}
			}
			select {
			case <-hup:
				if err := reopenEvents(events, lf.eventsPath); err != nil {
					fmt.Fprintf(stderr, "sipalive: SIGHUP: %v\n", err)
				}
			default:
			}
			select {
			case <-usr1:
				to := stdout
				if lf.eventsPath == capture.Stdin || draw {
					to = stderr // stdout carries the events, or the redrawn screen
				}
				if err := render.Tables(to, r, tableWidth(to, lf.wide)); err != nil {
					return err
				}
			default:
			}
			if lf.reportEvery > 0 && time.Since(lastReport) >= lf.reportEvery {
				lastReport = time.Now()
				if err := writeReportFile(lf.reportDir, lf.reportFormat, r, lastReport); err != nil {
					fmt.Fprintf(stderr, "sipalive: --report-every: %v\n", err)
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
			status := fmt.Sprintf("%s   %s   %d packets, %d dropped   (Ctrl-C to stop)",
				title, time.Now().Format("15:04:05"), s.Packets, s.KernelDrops)
			if !screen.tty {
				status = fmt.Sprintf("%s: %d packets, %d dropped", time.Now().UTC().Format(time.RFC3339), s.Packets, s.KernelDrops)
			}
			var frame bytes.Buffer
			if err := render.Tables(&frame, r, tableWidth(stdout, lf.wide)); err != nil {
				return err
			}
			return screen.show(status, frame.Bytes())
		}
	}
	rep, err := driver.Analyze(src, cfg)
	stop()
	if w != nil {
		if cerr := w.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("-w: %w", cerr)
		}
	}
	var vanished error
	if errors.Is(err, capture.ErrVanished) {
		vanished, err = err, nil
	}
	if err != nil {
		return err
	}
	s := rep.Overview.Capture
	if s.KernelDrops > 0 || s.InterfaceDrops > 0 {
		fmt.Fprintf(stderr, "sipalive: %d packets were dropped before the analysis (kernel or queue) and %d by the interface: this report is incomplete\n", s.KernelDrops, s.InterfaceDrops)
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
	switch {
	case lf.eventsPath == capture.Stdin:
	case stream != nil && lf.format == "csv":
		err = stream.CSV(stdout)
	case stream != nil:
		err = stream.JSON(stdout, rep)
	default:
		err = output(stdout, rep, lf.format, false, tableWidth(stdout, lf.wide))
	}
	if err != nil {
		return err
	}
	if vanished != nil {
		// The report so far is written; the run did not end as asked.
		return vanishedError{vanished}
	}
	if n := countFindings(rep, kinds); n > 0 {
		return findingsError{n}
	}
	return nil
}

// packetSink is where -w writes: one file, or a rotating one.
type packetSink interface {
	Write(input int, data []byte, ci *gopacket.CaptureInfo, link layers.LinkType) error
	Flush() error
	Close() error
}

// reopenEvents points the events at a new file of the same path: SIGHUP
// after logrotate moved the old one. Nothing to do for none or stdout.
func reopenEvents(events *monitor.Events, path string) error {
	if events == nil || path == "" || path == capture.Stdin {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("reopen %s: %w", path, err)
	}
	return events.Switch(f) // the old file stays open until exit: its last lines are flushed
}

// writeReportFile writes the report so far to dir as
// sipalive-20261203T010203Z.json (or .txt, .html), through a temporary
// file renamed into place, so that a reader never sees half of one.
func writeReportFile(dir, format string, r *analyze.Report, at time.Time) error {
	ext := map[string]string{"json": ".json", "table": ".txt", "html": ".html"}[format]
	path := filepath.Join(dir, "sipalive-"+at.UTC().Format("20060102T150405Z")+ext)
	tmp, err := os.CreateTemp(dir, ".sipalive-report-*")
	if err != nil {
		return err
	}
	switch format {
	case "json":
		err = render.JSON(tmp, r)
	case "html":
		err = render.HTML(tmp, r)
	default:
		err = render.Tables(tmp, r, 0)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// vanishedError: the capture interface went away mid-run. The report of
// what was captured was written; exit 1, as a run that found trouble.
type vanishedError struct{ err error }

func (e vanishedError) Error() string {
	return e.err.Error() + "; the report above covers what was captured until then"
}

// interfaceName names an interface by index, for the interface blocks of
// a pcapng written from -i any.
func interfaceName(index int) string {
	if ifi, err := net.InterfaceByIndex(index); err == nil {
		return ifi.Name
	}
	return fmt.Sprintf("ifindex %d", index)
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
