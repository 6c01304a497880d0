package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sipalive/sipalive/analyze"
	"github.com/sipalive/sipalive/analyze/driver"
	"github.com/sipalive/sipalive/analyze/render"
	"github.com/sipalive/sipalive/capture"
)

const flowUsage = `usage: sipalive flow [flags] FILE... [CALL-ID]

The Call-ID may be shortened to a prefix, as the tables print it.
Without one, the dialogs to pick from are listed, problems first.

flags:
`

func cmdFlow(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("flow", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var files stringList
	fs.Var(&files, "r", "read packets from `FILE`; repeatable")
	format := fs.String("format", "text", "output `format`: text, svg, html or json")
	if help, err := parseCommand(fs, args, flowUsage, stderr); help || err != nil {
		return err
	}
	rest := fs.Args()
	// The last argument is the Call-ID, unless it names a file.
	callID := ""
	if n := len(rest); n > 0 && !isFile(rest[n-1]) && (n > 1 || len(files) > 0) {
		callID, rest = rest[n-1], rest[:n-1]
	}
	all := append([]string(files), rest...)
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
	if callID == "" {
		rep, err := driver.Analyze(src, driver.Config{Workers: 1, Warn: stderr})
		if err != nil {
			return err
		}
		return render.DialogList(stdout, rep, tableWidth(stdout, false))
	}
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

// isFile reports whether name is a file one can read: then it is a
// capture, not a Call-ID.
func isFile(name string) bool {
	st, err := os.Stat(name)
	return err == nil && !st.IsDir() || name == capture.Stdin
}
