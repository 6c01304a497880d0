package monitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/sipalive/sipalive/analyze"
	"github.com/sipalive/sipalive/analyze/render"
)

// Metrics keeps Prometheus metrics of a running analysis and serves them.
// Counters follow the rows as they settle (Metrics is an analyze.RowSink);
// gauges and the capture's counters are set from each live report
// (Update). Label values that come from the capture (vendor names) are
// bounded: the first maxVendors names seen are labels of their own, the
// rest are "other", so that a fleet of phones cannot grow the series
// without limit.
//
// The library is VictoriaMetrics/metrics: it writes the Prometheus text
// format with three small dependencies, where client_golang would add
// protobuf and procfs and half again to the binary.
type Metrics struct {
	set *metrics.Set

	mu      sync.Mutex
	vendors map[string]bool
	started time.Time
	updated time.Time
}

// maxVendors bounds the vendor label values.
const maxVendors = 50

// NewMetrics returns empty metrics.
func NewMetrics() *Metrics {
	m := &Metrics{set: metrics.NewSet(), vendors: map[string]bool{}, started: time.Now()}
	m.set.NewGauge("sipalive_up", func() float64 { return 1 })
	// The common series start at 0, so that the first keep-alive answered
	// 481 or the first finding is an increase an alert rule sees, not a
	// series that appears already at 1.
	outcomes := []string{"2xx", "481", "405", "501", "other", "unanswered"}
	for _, method := range []string{"INFO", "UPDATE", "MESSAGE", "OPTIONS"} {
		for _, o := range outcomes {
			m.set.GetOrCreateCounter(fmt.Sprintf(`sipalive_keepalives_total{method=%s,outcome=%s}`, label(method), label(o)))
		}
	}
	for _, method := range []string{"OPTIONS", "REGISTER"} {
		for _, o := range outcomes {
			m.set.GetOrCreateCounter(fmt.Sprintf(`sipalive_device_keepalives_total{method=%s,outcome=%s}`, label(method), label(o)))
		}
	}
	for _, k := range analyze.FindingKinds() {
		m.set.GetOrCreateCounter(fmt.Sprintf(`sipalive_findings_total{kind=%s}`, label(k.String())))
	}
	return m
}

// label quotes a label value as the Prometheus text format wants it: the
// capture's bytes made safe first (render.Text), then backslash, quote and
// line feed escaped.
func label(v string) string {
	v = render.Text(v)
	v = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
	return `"` + v + `"`
}

// vendor bounds a vendor name to maxVendors label values.
func (m *Metrics) vendor(name string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if name == "" {
		return "unknown"
	}
	if m.vendors[name] {
		return name
	}
	if len(m.vendors) >= maxVendors {
		return "other"
	}
	m.vendors[name] = true
	return name
}

func (m *Metrics) inc(format string, args ...any) {
	m.set.GetOrCreateCounter(fmt.Sprintf(format, args...)).Inc()
}

// KeepAlive implements analyze.RowSink.
func (m *Metrics) KeepAlive(r *analyze.KeepAliveRow) {
	outcome := analyze.OutcomeOf(r.Code).String()
	if r.Device {
		m.inc(`sipalive_device_keepalives_total{method=%s,outcome=%s}`, label(r.Method), label(outcome))
		return
	}
	m.inc(`sipalive_keepalives_total{method=%s,outcome=%s}`, label(r.Method), label(outcome))
	m.inc(`sipalive_keepalives_by_vendor_total{sender=%s,receiver=%s,method=%s,outcome=%s}`,
		label(m.vendor(r.Agent)), label(m.vendor(r.Receiver)), label(r.Method), label(outcome))
}

// Dialog implements analyze.RowSink.
func (m *Metrics) Dialog(problem bool, _ *analyze.DialogReport) {
	m.inc(`sipalive_dialogs_ended_total{problem="%t"}`, problem)
}

// NotKeepAlive implements analyze.RowSink.
func (m *Metrics) NotKeepAlive(r *analyze.NotKeepAlive) {
	m.inc(`sipalive_not_keepalives_total{class=%s}`, label(r.Class))
}

// Timer implements analyze.RowSink.
func (m *Metrics) Timer(r *analyze.TimerReport, _ *analyze.TimerSummary) {
	m.inc(`sipalive_session_timers_total{expired="%t"}`, r.Expired)
}

// Finding implements analyze.RowSink.
func (m *Metrics) Finding(f *analyze.Finding) {
	m.inc(`sipalive_findings_total{kind=%s}`, label(f.Kind.String()))
}

// Update sets the gauges and the capture's counters from a live report.
func (m *Metrics) Update(r *analyze.Report) {
	o, c := &r.Overview, &r.Overview.Capture
	for name, v := range map[string]uint64{
		"sipalive_packets_total":                              c.Packets,
		"sipalive_sip_messages_total":                         o.SIPMessages,
		"sipalive_malformed_total":                            o.Malformed,
		"sipalive_kernel_drops_total":                         c.KernelDrops,
		"sipalive_interface_drops_total":                      c.InterfaceDrops,
		`sipalive_state_evictions_total{table="calls"}`:       uint64(o.Limits.EvictedCalls),
		`sipalive_state_evictions_total{table="ended"}`:       uint64(o.Limits.ForgottenDialogs),
		`sipalive_state_evictions_total{table="folded"}`:      uint64(o.Limits.ForgottenCalls),
		`sipalive_state_evictions_total{table="addresses"}`:   uint64(o.Limits.ForgottenAddresses),
		`sipalive_state_evictions_total{table="tcp_streams"}`: c.TCPStreamsEvicted,
		"sipalive_tcp_sip_incomplete_total":                   c.TCPIncompleteSIP,
		"sipalive_responses_without_request_total":            o.OrphanResponses,
		"sipalive_loopback_duplicates_total":                  c.Duplicates,
		"sipalive_hep_messages_total":                         c.HEP + c.TCPHEPMessages,
		"sipalive_fragments_never_completed_total":            c.FragmentsPending,
		"sipalive_undecodable_frames_total":                   c.Undecodable,
		"sipalive_unsupported_link_frames_total":              c.UnsupportedLink,
		"sipalive_tls_streams_total":                          c.TLSStreams,
		"sipalive_tunnel_packets_not_opened_total":            c.TunnelsUnopened,
		"sipalive_packets_not_sip_total":                      o.NotSIP,
		"sipalive_sip_messages_framed_from_tcp_total":         c.TCPMessages,
		"sipalive_tcp_bytes_missing_total":                    c.TCPBytesMissing,
		"sipalive_nat_keepalive_datagrams_total":              c.UDPKeepAlive,
	} {
		m.set.GetOrCreateCounter(name).Set(v)
	}
	for name, v := range map[string]int{
		"sipalive_active_calls":            o.ActiveCalls,
		"sipalive_active_dialogs":          o.ActiveDialogs,
		"sipalive_damaged_inputs":          damagedInputs(r),
		"sipalive_problem_dialogs":         o.ProblemDialogs,
		"sipalive_dialogs_with_keepalives": o.KeepAliveDialogs,
		"sipalive_hep_agents":              hepAgents(r),
	} {
		m.set.GetOrCreateGauge(name, nil).Set(float64(v))
	}
	m.mu.Lock()
	m.updated = time.Now()
	m.mu.Unlock()
}

// hepAgents counts the capture agents a collector heard from.
func hepAgents(r *analyze.Report) int {
	n := 0
	for _, in := range r.Inputs {
		if strings.HasPrefix(in.Path, "hep agent ") {
			n++
		}
	}
	return n
}

func damagedInputs(r *analyze.Report) int {
	n := 0
	for _, in := range r.Inputs {
		if in.Truncated || in.DamagedRecords > 0 {
			n++
		}
	}
	return n
}

// Write writes the metrics in the Prometheus text format.
func (m *Metrics) Write(w io.Writer) { m.set.WritePrometheus(w) }

// Handler serves /metrics and /healthz: healthy while the analysis has
// updated the metrics within stale (a stuck capture goes unhealthy).
func (m *Metrics) Handler(stale time.Duration) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		m.Write(w)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		m.mu.Lock()
		since := time.Since(m.updated)
		if m.updated.IsZero() {
			since = time.Since(m.started)
		}
		m.mu.Unlock()
		if since > stale {
			http.Error(w, fmt.Sprintf("no update for %s", since.Round(time.Second)), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	return mux
}

// Serve listens on addr and serves the metrics until ctx ends. It returns
// once it listens (or failed to), serving in the background.
func (m *Metrics) Serve(ctx context.Context, addr string, stale time.Duration) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics %s: %w", addr, err)
	}
	srv := &http.Server{Handler: m.Handler(stale), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // the listener went: the analysis goes on
		}
	}()
	return ln.Addr(), nil
}
