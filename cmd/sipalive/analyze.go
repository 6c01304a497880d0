package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"

	"github.com/sipalive/sipalive/analyze"
	"github.com/sipalive/sipalive/analyze/driver"
	"github.com/sipalive/sipalive/analyze/monitor"
	"github.com/sipalive/sipalive/analyze/render"
	"github.com/sipalive/sipalive/capture"
	"golang.org/x/term"
)

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// commonFlags are shared by analyze and audit.
type commonFlags struct {
	files         stringList
	format        string
	failOn        string
	writeProblems string
	count         uint64
	quiet         bool
	maxRows       int
	workers       int
	cpuProfile    string
	memProfile    string
	wide          bool
	html          string
	events        string
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.Var(&c.files, "r", "read packets from `FILE` (pcap or pcapng, optionally gzip'd); repeatable")
	fs.StringVar(&c.format, "format", "table", "output `format`: table, json, csv or html (one self-contained page with charts)")
	fs.StringVar(&c.html, "html", "", "also write the HTML report to `FILE` (beside the tables, JSON or CSV)")
	fs.StringVar(&c.events, "events", "", "write an NDJSON event to `FILE` as each keep-alive, finding and dialog settles (- for standard output, which then carries the events alone; docs/events.md)")
	fs.StringVar(&c.failOn, "fail-on", "", "exit 1 when a finding of these `kinds` exists (comma-separated: "+findingKindList()+", or any)")
	fs.StringVar(&c.writeProblems, "write-problems", "", "write every packet of the dialogs with a problem to `FILE.pcap`")
	fs.StringVar(&c.writeProblems, "w", "", "same as --write-problems (tcpdump's letter for the packets written)")
	fs.Uint64Var(&c.count, "c", 0, "stop after `N` packets (per run, like tcpdump)")
	fs.BoolVar(&c.quiet, "q", false, "no progress on stderr")
	fs.IntVar(&c.maxRows, "max-rows", -1, "list at most `N` rows per table (dialogs with problems first; counts stay complete); 0 lists all. Default: 100 for tables, all for json and csv")
	fs.IntVar(&c.workers, "workers", min(2, runtime.NumCPU()), "goroutines: 1 decodes and analyses in one; 2 decodes in one and analyses in the other (same results)")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile to `FILE` (for performance work)")
	fs.StringVar(&c.memProfile, "memprofile", "", "write a heap profile to `FILE` at the end")
	fs.BoolVar(&c.wide, "wide", false, "print every table column whole, however wide (tables otherwise fit the terminal, $COLUMNS, or 120 columns on a pipe)")
}

// pipeWidth is the width tables fit on a pipe or file with no $COLUMNS:
// a ticket, a mail or a pager shows it without wrapping.
const pipeWidth = 120

// tableWidth is how wide tables printed on w may be: the terminal's
// width, else $COLUMNS, else pipeWidth; 0 (no limit) with --wide.
func tableWidth(w io.Writer, wide bool) int {
	if wide {
		return 0
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
			return cols
		}
	}
	if cols, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && cols > 0 {
		return cols
	}
	return pipeWidth
}

func cmdAnalyze(args []string, stdout, stderr io.Writer, auditOnly bool) error {
	name := "analyze"
	if auditOnly {
		name = "audit"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c commonFlags
	c.register(fs)
	usage := fmt.Sprintf("usage: sipalive %s [flags] FILE...\n\nflags:\n", name)
	if help, err := parseCommand(fs, args, usage, stderr); help || err != nil {
		return err
	}
	files := append([]string(c.files), fs.Args()...)
	if len(files) == 0 {
		return usagef("%s: no capture file given (use -r FILE or name files as arguments)", name)
	}
	switch c.format {
	case "table", "json", "csv", "html":
	default:
		return usagef("--format %q: use table, json, csv or html", c.format)
	}
	if err := checkRows(fs); err != nil {
		return err
	}
	if c.workers != 1 && c.workers != 2 {
		return usagef("--workers %d: use 1 (one goroutine) or 2 (decoding and analysis apart)", c.workers)
	}
	if c.writeProblems != "" && slices.Contains(files, capture.Stdin) {
		return usagef("-w reads the captures a second time: save standard input to a file first")
	}
	kinds, err := parseFailOn(c.failOn)
	if err != nil {
		return err
	}
	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	src, err := capture.OpenMerge(files)
	if err != nil {
		return err
	}
	defer src.Close()
	var stream *render.Stream
	htmlToo := c.format == "html" || c.html != ""
	opts := analyze.Options{
		KeepFrames:    c.writeProblems != "",
		KeepAliveRows: c.format == "csv" || htmlToo, // the HTML draws the keep-alives of its dialogs
		MaxRows:       maxRows(c.maxRows, c.format),
	}
	if htmlToo && c.maxRows < 0 {
		opts.MaxRows = maxRows(-1, "html")
	}
	if !auditOnly && (c.format == "json" || c.format == "csv") && opts.MaxRows == 0 && !htmlToo {
		// Every row is wanted: they are written as they settle.
		stream = render.NewStream(c.format == "csv")
		defer stream.Close()
		opts.Rows = stream
	}
	events, closeEvents, err := openEvents(c.events, stdout)
	if err != nil {
		return err
	}
	defer closeEvents()
	if events != nil {
		opts.Observe = events
	}
	cfg := driver.Config{
		Analysis:   opts,
		Workers:    c.workers,
		MaxPackets: c.count,
		Warn:       stderr,
	}
	if !c.quiet && c.format == "table" {
		cfg.Progress = stderr
	}
	rep, err := driver.Analyze(src, cfg)
	if err != nil {
		return err
	}
	if c.memProfile != "" {
		f, err := os.Create(c.memProfile)
		if err != nil {
			return err
		}
		runtime.GC()
		err = pprof.WriteHeapProfile(f)
		f.Close()
		if err != nil {
			return err
		}
	}
	if c.writeProblems != "" {
		n, err := driver.WriteProblems(c.writeProblems, files, rep)
		if err != nil {
			return fmt.Errorf("--write-problems: %w", err)
		}
		fmt.Fprintf(stderr, "sipalive: wrote %d packets of %d problem dialog(s) to %s\n", n, len(rep.ProblemFrames), c.writeProblems)
	}
	if c.html != "" {
		if err := writeHTML(c.html, rep); err != nil {
			return err
		}
	}
	if events != nil {
		events.End(rep)
		if err := events.Flush(); err != nil {
			return fmt.Errorf("--events: %w", err)
		}
	}
	switch {
	case c.events == capture.Stdin:
		// standard output carries the events
	case stream != nil && c.format == "csv":
		err = stream.CSV(stdout)
	case stream != nil:
		err = stream.JSON(stdout, rep)
	default:
		err = output(stdout, rep, c.format, auditOnly, tableWidth(stdout, c.wide))
	}
	if err != nil {
		return err
	}
	if n := countFindings(rep, kinds); n > 0 {
		return findingsError{n}
	}
	return nil
}

// parseCommand gives a subcommand's flags their usage text and parses
// args; help reports that -h asked for the text, which has been printed.
// A wrong flag is a usage error (exit 2).
func parseCommand(fs *flag.FlagSet, args []string, usage string, stderr io.Writer) (help bool, err error) {
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := parseInterspersed(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, usageError{err.Error()}
	}
	return false, nil
}

// parseInterspersed parses flags that may follow file names, as tcpdump
// users type them ("sipalive analyze a.pcap --format json").
func parseInterspersed(fs *flag.FlagSet, args []string) error {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		positional = append(positional, args[0])
		args = args[1:]
		if len(args) > 0 && args[0] == "--" {
			positional = append(positional, args[1:]...)
			break
		}
	}
	return fs.Parse(append([]string{"--"}, positional...))
}

func output(w io.Writer, rep *analyze.Report, format string, auditOnly bool, width int) error {
	switch {
	case auditOnly && format == "json":
		return render.AuditJSON(w, rep)
	case auditOnly && format == "csv":
		return render.AuditCSV(w, rep)
	case auditOnly:
		return render.Audit(w, rep, width)
	case format == "json":
		return render.JSON(w, rep)
	case format == "csv":
		return render.CSV(w, rep)
	case format == "html":
		return render.HTML(w, rep)
	}
	return render.Tables(w, rep, width)
}

// findingKindList names every finding kind, for help and errors.
func findingKindList() string {
	var names []string
	for _, k := range analyze.FindingKinds() {
		names = append(names, k.String())
	}
	return strings.Join(names, ",")
}

func parseFailOn(s string) (map[analyze.FindingKind]bool, error) {
	if s == "" {
		return nil, nil
	}
	kinds := map[analyze.FindingKind]bool{}
	for _, word := range strings.Split(s, ",") {
		word = strings.TrimSpace(word)
		if word == "any" || word == "all" {
			for _, k := range analyze.FindingKinds() {
				kinds[k] = true
			}
			continue
		}
		k, ok := analyze.ParseFindingKind(word)
		if !ok {
			return nil, usagef("--fail-on: unknown finding kind %q (known: %s)", word, findingKindList())
		}
		kinds[k] = true
	}
	return kinds, nil
}

func countFindings(rep *analyze.Report, kinds map[analyze.FindingKind]bool) int {
	n := 0
	for k, c := range rep.FindingCounts {
		if kinds[k] {
			n += c
		}
	}
	return n
}

// checkRows refuses a --max-rows below 0 (0 lists every row).
func checkRows(fs *flag.FlagSet) error {
	var err error
	fs.Visit(func(f *flag.Flag) {
		if n, _ := strconv.Atoi(f.Value.String()); f.Name == "max-rows" && n < 0 {
			err = usagef("--max-rows %d: give 0 (every row) or more", n)
		}
	})
	return err
}

// maxRows picks the row limit: what the user asked, else a screenful of
// each table for people and everything for machines.
func maxRows(flagValue int, format string) int {
	switch {
	case flagValue >= 0:
		return flagValue
	case format == "table":
		return 100
	case format == "html":
		return 200 // the HTML summarises: the dialogs it draws, problems first
	}
	return 0
}

// openEvents opens the --events output: path, or stdout for "-"; none
// for "". The close function closes a file.
func openEvents(path string, stdout io.Writer) (*monitor.Events, func(), error) {
	switch path {
	case "":
		return nil, func() {}, nil
	case capture.Stdin:
		return monitor.NewEvents(stdout), func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, fmt.Errorf("--events: %w", err)
	}
	return monitor.NewEvents(f), func() { f.Close() }, nil
}

// writeHTML writes the HTML report to path.
func writeHTML(path string, rep *analyze.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--html: %w", err)
	}
	if err := render.HTML(f, rep); err != nil {
		f.Close()
		return fmt.Errorf("--html %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--html %s: %w", path, err)
	}
	return nil
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
