package main

import (
	"bufio"
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

	"github.com/sipalive/sipalive/analyze/probe"
	"github.com/sipalive/sipalive/analyze/render"
)

const probeUsage = `usage: sipalive probe [flags] sip:USER@HOST[:PORT]

Asks one SIP device how it keeps sessions alive: places a call to it, sends
OPTIONS, INFO, UPDATE and MESSAGE inside the dialog without a body, the same
with a To tag it never gave (481 is due), a MESSAGE outside any dialog, a
Session-Expires below 90 s (422 is due) and a call whose session timer it
must refresh, then prints its compliance card. It talks only to the target,
one request at a time, --gap apart, and stops at a 503 or two requests in a
row left unanswered. --dry-run prints what it would send.

flags:
`

func cmdProbe(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg probe.Config
	fs.StringVar(&cfg.Transport, "transport", "udp", "`udp`, tcp or tls")
	fs.StringVar(&cfg.Local, "local", "", "send from and listen on `HOST:PORT` (default: the address the route to the target leaves by, any port)")
	fs.StringVar(&cfg.User, "user", "", "the probe's `user` in From, and for REGISTER and digest authentication (default sipalive)")
	fs.StringVar(&cfg.Password, "password", "", "digest `password` for a 401/407 challenge (or $SIPALIVE_PASSWORD)")
	fs.BoolVar(&cfg.Register, "register", false, "REGISTER the user at the target first")
	methods := fs.String("methods", strings.Join(probe.KeepAliveMethods, ","), "the keep-alive `methods` to try inside the dialog")
	fs.DurationVar(&cfg.Gap, "gap", time.Second, "pause between requests (at least 200ms)")
	fs.DurationVar(&cfg.StepTimeout, "timeout", 8*time.Second, "wait this long for each final answer (retransmitting as RFC 3261 says)")
	fs.IntVar(&cfg.SessionExpires, "session-expires", 90, "the `seconds` the session-timer call asks for (at least 90)")
	fs.DurationVar(&cfg.TimerWait, "timer-wait", 0, "wait at most this long for the device's refresh (default: the whole interval)")
	fs.BoolVar(&cfg.NoTimer, "no-timer", false, "skip the session-timer calls")
	fs.DurationVar(&cfg.Hold, "hold", 0, "keep the call up this long after the keep-alives, to see what the device sends itself")
	fs.StringVar(&cfg.RTP, "rtp", "none", "media: `none`, or silence (PCMU every 20 ms to the device, if its media address is the target's)")
	fs.BoolVar(&cfg.Insecure, "insecure", false, "TLS: do not check the device's certificate (lab devices)")
	out := fs.String("w", "", "write the probe's SIP messages to this pcap `file` (sipalive analyze reads it)")
	format := fs.String("format", "table", "output `format`: table or json")
	wide := fs.Bool("wide", false, "print every table column whole")
	dry := fs.Bool("dry-run", false, "print what the probe would send, and send nothing")
	quiet := fs.Bool("q", false, "no progress lines on stderr")
	failOn := fs.String("fail-on", "", "exit 1 when the card has a verdict of these `kinds` (comma-separated; any: every verdict that is not good)")
	fs.Usage = func() {
		fmt.Fprint(stderr, probeUsage)
		fs.PrintDefaults()
	}
	if err := parseInterspersed(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err.Error()}
	}
	if fs.NArg() != 1 {
		return usagef("probe: name one target, sip:user@host[:port]")
	}
	cfg.Target = fs.Arg(0)
	cfg.Transport = strings.ToLower(cfg.Transport)
	if cfg.Password == "" {
		cfg.Password = os.Getenv("SIPALIVE_PASSWORD")
	}
	for _, m := range strings.Split(*methods, ",") {
		if m = strings.ToUpper(strings.TrimSpace(m)); m != "" {
			cfg.Methods = append(cfg.Methods, m)
		}
	}
	if *format != "table" && *format != "json" {
		return usagef("probe --format %q: use table or json", *format)
	}
	fail, err := parseVerdictKinds(*failOn)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return usageError{"probe: " + err.Error()}
	}
	if *dry {
		fmt.Fprintf(stdout, "sipalive probe would send to %s over %s, %s apart, each waiting up to %s:\n", cfg.Target, strings.ToUpper(cfg.Transport), cfg.Gap, cfg.StepTimeout)
		for i, st := range probe.Plan(&cfg) {
			fmt.Fprintf(stdout, "%2d. %-8s %s\n", i+1, st.Method, st.Note)
		}
		return nil
	}
	if !*quiet {
		cfg.Progress = stderr
	}
	var trace *probe.Trace
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		bw := bufio.NewWriter(f)
		defer func() {
			bw.Flush()
			f.Close()
		}()
		if trace, err = probe.NewTrace(bw); err != nil {
			return fmt.Errorf("-w %s: %w", *out, err)
		}
		cfg.Tracer = trace
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	card, err := probe.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if trace != nil {
		if err := trace.Err(); err != nil {
			return fmt.Errorf("-w %s: %w", *out, err)
		}
	}
	if *format == "json" {
		err = render.CardJSON(stdout, card)
	} else {
		err = render.CardTables(stdout, card, tableWidth(stdout, *wide))
	}
	if err != nil {
		return err
	}
	n := 0
	for _, v := range card.Verdicts {
		if fail[v.Kind.String()] || fail["any"] && !v.Good {
			n++
		}
	}
	if n > 0 {
		return verdictsError{n}
	}
	return nil
}

// verdictsError reports that --fail-on matched a verdict: exit 1.
type verdictsError struct{ n int }

func (e verdictsError) Error() string { return fmt.Sprintf("%d verdict(s) match --fail-on", e.n) }

// parseVerdictKinds reads --fail-on for the probe: verdict names or any.
func parseVerdictKinds(s string) (map[string]bool, error) {
	kinds := map[string]bool{}
	for _, k := range strings.Split(s, ",") {
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		known := k == "any"
		for v := probe.VerdictKind(0); v.String() != "unknown"; v++ {
			known = known || v.String() == k
		}
		if !known {
			return nil, usagef("probe --fail-on %q: not a verdict kind (see docs/probe.md)", k)
		}
		kinds[k] = true
	}
	return kinds, nil
}
