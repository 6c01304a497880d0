package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/sipalive/sipalive/analyze"
	"github.com/sipalive/sipalive/analyze/render"
)

const mergeUsage = `usage: sipalive merge [flags] REPORT.json...

Combines JSON reports (sipalive analyze --format json, --report-every) of
several machines or periods into one: every total adds, vendors, device
pairs and interop-matrix cells merge. The totals are those of analysing
the captures together when no dialog spans two of them.

flags:
`

func cmdMerge(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("merge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "table", "output `format`: table, json or html")
	wide := fs.Bool("wide", false, "print every table column whole")
	failOn := fs.String("fail-on", "", "exit 1 when a finding of these `kinds` exists (see analyze -h)")
	if help, err := parseCommand(fs, args, mergeUsage, stderr); help || err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("merge: name the JSON reports to merge")
	}
	switch *format {
	case "table", "json", "html":
	default:
		return usagef("merge --format %q: use table, json or html", *format)
	}
	kinds, err := parseFailOn(*failOn)
	if err != nil {
		return err
	}
	var reports []*analyze.Report
	for _, path := range fs.Args() {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		r, err := analyze.ReadReport(b)
		if err != nil {
			return fmt.Errorf("%s: not a sipalive JSON report: %w", path, err)
		}
		reports = append(reports, r)
	}
	rep := analyze.Merge(reports...)
	switch *format {
	case "json":
		err = render.JSON(stdout, rep)
	case "html":
		err = render.HTML(stdout, rep)
	default:
		err = render.Tables(stdout, rep, tableWidth(stdout, *wide))
	}
	if err != nil {
		return err
	}
	if n := countFindings(rep, kinds); n > 0 {
		return findingsError{n}
	}
	return nil
}
