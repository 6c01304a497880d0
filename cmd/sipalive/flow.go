package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/sipalive/sipalive/analyze"
	"github.com/sipalive/sipalive/analyze/driver"
	"github.com/sipalive/sipalive/analyze/render"
	"github.com/sipalive/sipalive/capture"
)

func cmdFlow(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("flow", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var files stringList
	fs.Var(&files, "r", "read packets from `FILE`; repeatable")
	format := fs.String("format", "text", "output `format`: text, svg, html or json")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: sipalive flow [flags] FILE... CALL-ID\n\nThe Call-ID may be shortened to a prefix, as the tables print it.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := parseInterspersed(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err.Error()}
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return usagef("flow: name a Call-ID (and files, unless given with -r)")
	}
	callID := rest[len(rest)-1]
	all := append([]string(files), rest[:len(rest)-1]...)
	if len(all) == 0 {
		return usagef("flow: no capture file given")
	}
	switch *format {
	case "text", "svg", "html", "json":
	default:
		return usagef("flow --format %q: use text, svg, html or json", *format)
	}
	src, err := capture.OpenMerge(all)
	if err != nil {
		return err
	}
	defer src.Close()
	fc := analyze.NewFlowCollector(callID)
	if err := driver.Collect(src, fc.Message); err != nil {
		return err
	}
	flows := fc.Flows()
	if len(flows) == 0 {
		return fmt.Errorf("no SIP message with a Call-ID starting %q", callID)
	}
	if len(flows) > 1 && *format != "json" {
		var ids []string
		for _, f := range flows {
			ids = append(ids, f.CallID)
		}
		return usagef("Call-ID %q is ambiguous: %s", callID, strings.Join(ids, ", "))
	}
	switch *format {
	case "svg":
		return render.FlowSVG(stdout, flows[0])
	case "html":
		return render.FlowHTML(stdout, flows[0])
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(flows)
	}
	return render.FlowText(stdout, flows[0])
}
