// Command sipalive reads SIP traffic from packet captures, rebuilds the
// dialogs, and reports whether each side kept its sessions alive.
//
//	sipalive analyze [flags] FILE...   keep-alive tables for capture files
//	sipalive audit   [flags] FILE...   vendor keep-alive audit only
//	sipalive flow    [flags] FILE... CALL-ID   a dialog's call flow
//	sipalive sniff   -i IFACE [flags] [FILTER] live capture
//
// Exit status: 0 the analysis ran, 1 a finding named by --fail-on exists,
// 2 usage or input error.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/sipalive/sipalive/analyze/driver"
)

// Exit statuses.
const (
	exitOK       = 0
	exitFindings = 1
	exitUsage    = 2
)

// usageError is a mistake on the command line: exit 2 with usage hints.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// findingsError reports that --fail-on matched: exit 1.
type findingsError struct{ n int }

func (e findingsError) Error() string { return fmt.Sprintf("%d finding(s) match --fail-on", e.n) }

const usage = `usage: sipalive COMMAND [flags] [FILE...]

commands:
  analyze   read captures and print the keep-alive tables (default)
  audit     vendor keep-alive audit: who sends what, who answers how
  flow      draw one dialog's call flow: sipalive flow FILE... CALL-ID
  sniff     capture live and watch the tables: sipalive sniff -i IFACE [FILTER]
  collect   receive HEP from capture agents and watch the tables: sipalive collect :9060
  merge     combine JSON reports of several machines or periods: sipalive merge A.json B.json
  probe     call a SIP device and print its keep-alive compliance card: sipalive probe sip:100@10.0.0.5
  version   print the version

Run 'sipalive COMMAND -h' for the flags of a command.
`

func main() {
	// The heap is held to a budget (docs/design.md); below it the
	// collector paces as Go's default does. GOGC or GOMEMLIMIT, when set,
	// decide instead.
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		driver.BudgetHeap(driver.HeapBudget)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "analyze":
		err = cmdAnalyze(rest, stdout, stderr, false)
	case "audit":
		err = cmdAnalyze(rest, stdout, stderr, true)
	case "flow":
		err = cmdFlow(rest, stdout, stderr)
	case "sniff":
		err = cmdSniff(rest, stdout, stderr)
	case "collect":
		err = cmdCollect(rest, stdout, stderr)
	case "merge":
		err = cmdMerge(rest, stdout, stderr)
	case "probe":
		err = cmdProbe(rest, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "sipalive", version())
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		// Like tcpdump, files and -r may come without a command.
		err = cmdAnalyze(args, stdout, stderr, false)
	}
	var ue usageError
	var fe findingsError
	var ve vanishedError
	var pe verdictsError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &fe), errors.As(err, &ve), errors.As(err, &pe):
		fmt.Fprintln(stderr, "sipalive:", err)
		return exitFindings
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "sipalive:", err)
		fmt.Fprintln(stderr, "Run 'sipalive -h' for usage.")
		return exitUsage
	default:
		fmt.Fprintln(stderr, "sipalive:", err)
		return exitUsage
	}
}
