package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipalive/sipalive/analyze/probe"
	"github.com/sipalive/sipalive/analyze/render"
)

const probeUsage = `usage: sipalive probe [flags] sip:USER@HOST[:PORT]
       sipalive probe --listen HOST:PORT [flags]

Asks one SIP device how it keeps sessions alive: places a call to it, sends
OPTIONS, INFO, UPDATE and MESSAGE inside the dialog without a body, the same
with a To tag it never gave (481 is due), a MESSAGE outside any dialog, a
Session-Expires below 90 s (422 is due) and a call whose session timer it
must refresh, then prints its compliance card. It talks only to the target,
one request at a time, --gap apart, and stops at a 503 or two requests in a
row left unanswered. --dry-run prints what it would send.

With --listen the device calls the probe: each call is answered (with a
session timer if --offer-expires or the device asks), the device's
in-dialog requests are answered as --answers says, one value a call in
turn (200, 481, 405, 501, none), and the card tells what the device sent
to keep the call alive, how often, and what it did when refused.

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
	fs.DurationVar(&cfg.CallGap, "call-gap", probe.DefaultCallGap, "pause at least this long before a new call (devices release the last one first)")
	fs.DurationVar(&cfg.StepTimeout, "timeout", 8*time.Second, "wait this long for each final answer (retransmitting as RFC 3261 says)")
	fs.IntVar(&cfg.SessionExpires, "session-expires", 90, "the `seconds` the session-timer call asks for (at least 90)")
	fs.DurationVar(&cfg.TimerWait, "timer-wait", 0, "wait at most this long for the device's refresh (default: the whole interval)")
	fs.BoolVar(&cfg.NoTimer, "no-timer", false, "skip the session-timer calls")
	fs.DurationVar(&cfg.Hold, "hold", 0, "keep the call up this long after the keep-alives, to see what the device sends itself")
	fs.StringVar(&cfg.RTP, "rtp", "none", "media: `none`, or silence (PCMU every 20 ms to the device, if its media address is the target's)")
	fs.BoolVar(&cfg.Insecure, "insecure", false, "TLS: do not check the device's certificate (lab devices)")
	out := fs.String("w", "", "write the probe's SIP messages to this pcap `file` (sipalive analyze reads it)")
	format := fs.String("format", "table", "output `format`: table, json or html")
	wide := fs.Bool("wide", false, "print every table column whole")
	dry := fs.Bool("dry-run", false, "print what the probe would send, and send nothing")
	quiet := fs.Bool("q", false, "no progress lines on stderr")
	listen := fs.String("listen", "", "wait for the device to call the probe on `HOST:PORT`")
	answers := fs.String("answers", "200,481", "--listen: what the device's keep-alives get, one `list` value a call in turn: 200, 481, 405, 501 or none")
	calls := fs.Int("calls", 0, "--listen: take this many calls (default: one per --answers value)")
	watch := fs.Duration("watch", 2*time.Minute, "--listen: hang up a call this long after answering it")
	wait := fs.Duration("wait", 10*time.Minute, "--listen: give up waiting for calls after this long")
	offer := fs.Int("offer-expires", 0, "--listen: put a session timer of this many `seconds` in the 2xx")
	refresher := fs.String("refresher", "uac", "--listen: who refreshes the offered timer: uac (the device) or uas (the probe)")
	cert := fs.String("cert", "", "--listen over TLS: the certificate `file` (PEM)")
	key := fs.String("key", "", "--listen over TLS: the key `file` (PEM)")
	failOn := fs.String("fail-on", "", "exit 1 when the card has a verdict of these `kinds` (comma-separated; any: every verdict that is not good)")
	if help, err := parseCommand(fs, args, probeUsage, stderr); help || err != nil {
		return err
	}
	if *listen != "" {
		return probeListen(listenArgs{addr: *listen, transport: strings.ToLower(cfg.Transport), answers: *answers, calls: *calls,
			watch: *watch, wait: *wait, offer: *offer, refresher: *refresher, cert: *cert, key: *key,
			out: *out, format: *format, wide: *wide, quiet: *quiet, failOn: *failOn, dry: *dry, rtp: cfg.RTP, extra: fs.Args()}, stdout, stderr)
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
	switch *format {
	case "table", "json", "html":
	default:
		return usagef("probe --format %q: use table, json or html", *format)
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
	card, err := runTraced(*out, func(ctx context.Context, tracer sip.SIPTracer) (*probe.Card, error) {
		cfg.Tracer = tracer
		return probe.Run(ctx, cfg)
	})
	if err != nil {
		return err
	}
	return printCard(stdout, card, *format, *wide, fail)
}

// printCard writes the card and applies --fail-on.
func printCard(stdout io.Writer, card *probe.Card, format string, wide bool, fail map[string]bool) error {
	var err error
	switch format {
	case "json":
		err = render.CardJSON(stdout, card)
	case "html":
		err = render.CardHTML(stdout, card)
	default:
		err = render.CardTables(stdout, card, tableWidth(stdout, wide))
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

type listenArgs struct {
	addr, transport, answers, refresher, cert, key, out, format, failOn, rtp string
	calls, offer                                                             int
	watch, wait                                                              time.Duration
	wide, quiet, dry                                                         bool
	extra                                                                    []string
}

func probeListen(a listenArgs, stdout, stderr io.Writer) error {
	if len(a.extra) > 0 {
		return usagef("probe --listen takes no target: the device calls the probe")
	}
	cfg := probe.ListenConfig{Addr: a.addr, Transport: a.transport, Cert: a.cert, Key: a.key, Calls: a.calls,
		Watch: a.watch, Wait: a.wait, Expires: a.offer, Refresher: a.refresher, RTP: a.rtp}
	if a.rtp != "none" && a.rtp != "silence" {
		return usagef("probe --rtp %q: none or silence", a.rtp)
	}
	for _, v := range strings.Split(a.answers, ",") {
		v = strings.TrimSpace(v)
		if v == "none" {
			cfg.Answers = append(cfg.Answers, 0)
			continue
		}
		code, err := strconv.Atoi(v)
		if err != nil || code < 200 || code > 699 {
			return usagef("probe --answers %q: want status codes (200, 481, 405, 501) or none", v)
		}
		cfg.Answers = append(cfg.Answers, code)
	}
	if a.refresher != "uac" && a.refresher != "uas" {
		return usagef("probe --refresher %q: uac or uas", a.refresher)
	}
	if a.offer != 0 && a.offer < 90 {
		return usagef("probe --offer-expires %d: RFC 4028 puts the floor at 90", a.offer)
	}
	fail, err := parseVerdictKinds(a.failOn)
	if err != nil {
		return err
	}
	if a.dry {
		fmt.Fprintf(stdout, "sipalive probe would listen on %s (%s) for %d call(s), answering the device's keep-alives with %s, hanging up after %s\n",
			a.addr, strings.ToUpper(a.transport), max(a.calls, len(cfg.Answers)), a.answers, a.watch)
		return nil
	}
	if !a.quiet {
		cfg.Progress = stderr
	}
	card, err := runTraced(a.out, func(ctx context.Context, tracer sip.SIPTracer) (*probe.Card, error) {
		cfg.Tracer = tracer
		return probe.Listen(ctx, cfg)
	})
	if err != nil {
		return err
	}
	return printCard(stdout, card, a.format, a.wide, fail)
}

// runTraced runs a probe until SIGINT or SIGTERM, its messages written
// to the -w file out ("" for none).
func runTraced(out string, run func(context.Context, sip.SIPTracer) (*probe.Card, error)) (*probe.Card, error) {
	trace, closeTrace, err := openTrace(out)
	if err != nil {
		return nil, err
	}
	defer closeTrace()
	var tracer sip.SIPTracer
	if trace != nil {
		tracer = trace
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	card, err := run(ctx, tracer)
	if err != nil {
		return nil, err
	}
	if trace != nil {
		if err := trace.Err(); err != nil {
			return nil, fmt.Errorf("-w %s: %w", out, err)
		}
	}
	return card, nil
}

// openTrace creates the -w file of the probe's messages ("" for none).
func openTrace(path string) (*probe.Trace, func(), error) {
	if path == "" {
		return nil, func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	bw := bufio.NewWriter(f)
	closeFn := func() {
		bw.Flush()
		f.Close()
	}
	trace, err := probe.NewTrace(bw)
	if err != nil {
		closeFn()
		return nil, nil, fmt.Errorf("-w %s: %w", path, err)
	}
	return trace, closeFn, nil
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
