package analyze

import (
	"strings"
	"time"

	"github.com/sipalive/sipalive/capture"
)

// Report is everything the analysis found, ready for tables or JSON.
type Report struct {
	Inputs        []Input          `json:"inputs"`
	Overview      Overview         `json:"overview"`
	Summary       Summary          `json:"summary"`
	KeepAlives    []MethodOutcomes `json:"session_keepalive_outcomes"`
	Dialogs       []DialogReport   `json:"dialogs"`
	NotKeepAlives []NotKeepAlive   `json:"not_keepalives"`
	Devices       []DeviceReport   `json:"device_keepalives"`
	NAT           []NATReport      `json:"nat_keepalives"`
	Timers        []TimerReport    `json:"session_timers"`
	Vendors       []VendorReport   `json:"vendors"`
	Matrix        []MatrixRow      `json:"interop_matrix"`
	Findings      []Finding        `json:"findings"`

	// FindingCounts counts every finding by kind, also those the row limit
	// left out of Findings.
	FindingCounts map[FindingKind]int `json:"finding_counts"`
	// FindingExamples are the first findings of each kind, kept whatever
	// the row limit: what the tables show of the kinds the rows left out.
	FindingExamples map[FindingKind][]Finding `json:"-"`
	// Omitted counts the rows each list left out under Options.MaxRows.
	Omitted map[string]int `json:"omitted_rows,omitempty"`

	// KeepAliveRows are the session keep-alive transactions, one CSV row each.
	KeepAliveRows []KeepAliveRow `json:"-"`
	// ProblemFrames lists, per dialog with a problem, the packets that
	// carried it (with Options.KeepFrames), for pcap export.
	ProblemFrames [][]FrameRef `json:"-"`
}

// Input describes one capture file read.
type Input struct {
	Path      string `json:"path"`
	Format    string `json:"format"`
	Packets   uint64 `json:"packets"`
	Truncated bool   `json:"truncated,omitempty"`
	// DamagedRecords were skipped, SkippedBytes with them, and reading
	// went on from the next plausible record.
	DamagedRecords int    `json:"damaged_records,omitempty"`
	SkippedBytes   int64  `json:"skipped_bytes,omitempty"`
	Error          string `json:"error,omitempty"`
}

// Overview is the first table: what was read and what it held.
type Overview struct {
	Files            int               `json:"files"`
	Packets          uint64            `json:"packets"`
	SIPMessages      uint64            `json:"sip_messages"`
	Requests         uint64            `json:"requests"`
	Responses        uint64            `json:"responses"`
	Malformed        uint64            `json:"malformed"`
	MalformedReasons map[string]uint64 `json:"malformed_reasons,omitempty"`
	NotSIP           uint64            `json:"packets_not_sip"`
	OrphanResponses  uint64            `json:"orphan_responses"`
	Calls            int               `json:"calls"`
	Dialogs          int               `json:"dialogs"`
	KeepAliveDialogs int               `json:"dialogs_with_keepalives"`
	// RelayedKeepAlives counts keep-alive transactions that were a proxy's
	// relay of a request the capture saw on an earlier hop: the keep-alive
	// totals count each hop, the dialog and vendor tables each request.
	RelayedKeepAlives int           `json:"keepalive_hops_relayed"`
	ProblemDialogs    int           `json:"dialogs_with_keepalive_problems"`
	Start             time.Time     `json:"start,omitzero"`
	End               time.Time     `json:"end,omitzero"`
	DurationSeconds   float64       `json:"duration_seconds"`
	Capture           capture.Stats `json:"capture"`
	// ActiveCalls and ActiveDialogs are the calls and dialogs still up
	// when a live view was taken (0 in a final report).
	ActiveCalls   int `json:"active_calls,omitempty"`
	ActiveDialogs int `json:"active_dialogs,omitempty"`
	// Limits says where the analysis' bounded tables of state were full.
	Limits StateLimits `json:"limits,omitzero"`
}

// StateLimits counts what the analysis forgot or dropped to keep its
// memory bounded; all zero on an ordinary capture.
type StateLimits struct {
	// ForgottenDialogs are finished dialogs whose tombstones made room for
	// newer ones before staleLinger (15 minutes) had passed: a request for
	// one of them after that is taken for a dialog met mid-call, so stale
	// verdicts may be missing.
	ForgottenDialogs int `json:"finished_dialogs_forgotten,omitempty"`
	// EvictedCalls are calls without a dialog (out-of-dialog requests)
	// folded before their requests settled, because too many were open at
	// once (a flood): their requests count as they stood, an unanswered one
	// as unanswered, and a late answer as a response without its request.
	EvictedCalls int `json:"calls_evicted,omitempty"`
	// ForgottenCalls are finished calls whose retransmission keys (see
	// foldedCalls) made room for newer ones before 64 s had passed: a
	// late retransmission of their requests is then taken for a new one.
	ForgottenCalls int `json:"finished_calls_forgotten,omitempty"`
	// ForgottenAddresses are addresses whose User-Agent, Server and Allow
	// made room for newer ones (the table keeps the latest 65,536): a
	// message without a name from such an address is named by its own
	// header or unknown until the address speaks again.
	ForgottenAddresses int `json:"addresses_forgotten,omitempty"`
}

// Outcomes counts transactions by how they ended. Its JSON keys are those
// of the corpus schema.
type Outcomes struct {
	Sent       int `json:"sent"`
	OK         int `json:"2xx"`
	C481       int `json:"481"`
	C405       int `json:"405"`
	C501       int `json:"501"`
	OtherFinal int `json:"other_final"`
	Unanswered int `json:"unanswered"`
}

func (o *Outcomes) add(t *Transaction) { o.Count(int(t.Final)) }

// Count adds one transaction that ended with final (0: no answer came),
// bucketed by OutcomeOf.
func (o *Outcomes) Count(final int) {
	o.Sent++
	switch OutcomeOf(final) {
	case Outcome2xx:
		o.OK++
	case Outcome481:
		o.C481++
	case Outcome405:
		o.C405++
	case Outcome501:
		o.C501++
	case OutcomeOther:
		o.OtherFinal++
	case OutcomeUnanswered:
		o.Unanswered++
	}
}

// Summary carries the counts of the corpus schema (shared/corpus/SCHEMA.md).
type Summary struct {
	SIPMessages       uint64               `json:"sip_messages"`
	Calls             int                  `json:"calls"`
	SessionKeepAlives map[string]*Outcomes `json:"session_keepalives"`
	NotKeepAlive      map[string]int       `json:"not_keepalive"`
	DeviceKeepAlives  map[string]*Outcomes `json:"device_keepalives"`
	SessionTimers     []TimerSummary       `json:"session_timers"`
}

// TimerSummary is one negotiated session timer, as the schema names it.
type TimerSummary struct {
	CallID         string `json:"call_id"`
	SessionExpires uint32 `json:"session_expires"`
	Refresher      string `json:"refresher"`
	MinSE          uint32 `json:"min_se"`
	Refreshes      int    `json:"refreshes"`
}

// MethodOutcomes is one row of the session keep-alive table.
type MethodOutcomes struct {
	Method string `json:"method"`
	Outcomes
}

// DialogReport is one dialog that carried session keep-alives.
type DialogReport struct {
	CallID      string        `json:"call_id"`
	Caller      string        `json:"caller"`
	Callee      string        `json:"callee"`
	CallerAgent string        `json:"caller_agent"`
	CalleeAgent string        `json:"callee_agent"`
	Methods     []MethodCount `json:"methods"`
	Count       int           `json:"count"`
	Directions  []Direction   `json:"directions"`
	IntervalMin float64       `json:"interval_min_seconds"`
	IntervalAvg float64       `json:"interval_avg_seconds"`
	IntervalMax float64       `json:"interval_max_seconds"`
	LastMethod  string        `json:"last_method"`
	LastCode    int           `json:"last_code"`
	LastOutcome string        `json:"last_outcome"`
	// Verdict and Ended are words, the renderer's (render.DialogVerdict,
	// render.DialogEnded), filled as the JSON is written.
	Verdict string `json:"verdict"`
	Ended   string `json:"ended"`
	EndedBy string `json:"-"` // who sent the BYE: caller, callee or proxy; empty when none was seen
	Dropped bool   `json:"-"` // the BYE followed a failed keep-alive (481, 408, none)
	// LastPending: the last keep-alive was still within its transaction
	// timeout when the input ended: pending, not unanswered.
	LastPending bool      `json:"last_pending,omitempty"`
	Start       time.Time `json:"start,omitzero"`
	MidCall     bool      `json:"mid_call,omitempty"`
	// InProgress: a live view's dialog that is still up (no BYE yet).
	InProgress bool `json:"in_progress,omitempty"`
}

// HasIntervals reports whether one side sent two keep-alives or more, so
// that the interval fields hold a measure.
func (d *DialogReport) HasIntervals() bool {
	for _, dir := range d.Directions {
		if dir.Count > 1 {
			return true
		}
	}
	return false
}

// ByProxy is how many of the dialog's keep-alives a proxy sent on its own
// account (see Direction).
func (d *DialogReport) ByProxy() int {
	n := 0
	for _, dir := range d.Directions {
		if strings.HasPrefix(dir.From, "proxy") {
			n += dir.Count
		}
	}
	return n
}

// CountsByDirection is how many keep-alives each sender of the dialog
// sent, keyed as Direction.From.
func (d *DialogReport) CountsByDirection() map[string]int {
	counts := make(map[string]int, len(d.Directions))
	for _, dir := range d.Directions {
		counts[dir.From] += dir.Count
	}
	return counts
}

// MethodCount is how often a dialog used one keep-alive method.
type MethodCount struct {
	Method string `json:"method"`
	Count  int    `json:"count"`
}

// Direction is one side's keep-alives within a dialog.
type Direction struct {
	From             string  `json:"from"` // "caller", "callee", "proxy to caller" or "proxy to callee"
	Count            int     `json:"count"`
	FirstAfter2xx    float64 `json:"first_after_2xx_seconds"`
	IntervalMin      float64 `json:"interval_min_seconds"`
	IntervalMedian   float64 `json:"interval_median_seconds"`
	IntervalMax      float64 `json:"interval_max_seconds"`
	LongGaps         int     `json:"long_gaps"` // gaps over twice the median interval
	LastOutcome      string  `json:"last_outcome"`
	LastCode         int     `json:"last_code"`
	StaleAfterDialog int     `json:"stale,omitempty"`
}

// NotKeepAlive is one request that resembles a keep-alive but is not one.
type NotKeepAlive struct {
	Time   time.Time `json:"time"`
	CallID string    `json:"call_id"`
	Method string    `json:"method"`
	Class  string    `json:"class"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Agent  string    `json:"agent"`
	Code   int       `json:"code"`
	// Purpose is what an in-dialog re-INVITE or UPDATE was for; Refresh
	// says it also refreshed a session timer (its 2xx carried
	// Session-Expires, RFC 4028).
	Purpose Purpose `json:"purpose,omitempty"`
	Refresh bool    `json:"session_refresh,omitempty"`
	Why     string  `json:"why"` // words, the renderer's (render.NotKeepAliveWhy)
}

// DeviceReport is the out-of-dialog keep-alive traffic of one pinger to one
// target for one method.
type DeviceReport struct {
	Method      string         `json:"method"`
	From        string         `json:"from"`
	To          string         `json:"to"`
	FromAgent   string         `json:"from_agent"`
	ToAgent     string         `json:"to_agent"`
	Sent        int            `json:"sent"`
	Answered    int            `json:"answered"`
	Unanswered  int            `json:"unanswered"`
	Codes       map[string]int `json:"codes"`
	IntervalMed float64        `json:"interval_median_seconds"`
	DownWindows []DownWindow   `json:"down_windows,omitempty"`
	Expires     int            `json:"granted_expires,omitempty"` // REGISTER
	LateRefresh int            `json:"late_refreshes,omitempty"`  // REGISTER
	// Registered and Unregistered are a REGISTER pair's windows: when the
	// registrar held a binding for the phone (from a 2xx to the expiry it
	// granted, as refreshes extend it), and the gaps (the binding expired
	// before a refresh, the phone unregistered, or its REGISTERs were
	// refused before the first 2xx).
	Registered   []RegWindow `json:"registered_windows,omitempty"`
	Unregistered []RegWindow `json:"unregistered_windows,omitempty"`
}

// RegWindow is a span of time a phone was registered or not.
type RegWindow struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Why a phone was not registered: expired (no refresh before the
	// binding ran out), unregistered (the phone sent Expires 0), refused
	// (its REGISTERs failed before the first 2xx). Empty for a registered
	// window; Open: it was still going when the capture ended.
	Why  RegGap `json:"why,omitempty"`
	Open bool   `json:"open,omitempty"`
}

// RegGap says why a phone was not registered for a while.
type RegGap uint8

// Why a registration window is a gap.
const (
	RegGapNone RegGap = iota
	RegGapExpired
	RegGapUnregistered
	RegGapRefused
	regGaps
)

var regGapNames = [regGaps]string{"", "expired", "unregistered", "refused"}

func (g RegGap) String() string { return Word(regGapNames[:], g) }

// MarshalText writes the gap's word.
func (g RegGap) MarshalText() ([]byte, error) { return []byte(g.String()), nil }

// DownWindow is a run of consecutive unanswered pings.
type DownWindow struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Pings int       `json:"pings"`
}

// NATReport is one pinger's non-SIP NAT keep-alives.
type NATReport struct {
	From        string  `json:"from"`
	To          string  `json:"to"`
	Transport   string  `json:"transport"`
	Kind        NATKind `json:"kind"`
	Count       int     `json:"count"`
	IntervalAvg float64 `json:"interval_avg_seconds"`
}

// TimerReport is one call's session timer and its verdict.
type TimerReport struct {
	CallID string `json:"call_id"`
	SessionTimer
	TimerCheck
	State   TimerState `json:"-"`
	Verdict string     `json:"verdict"` // State in words, the renderer's (render.TimerVerdict)
}

// VendorReport is one product's keep-alive behaviour.
type VendorReport struct {
	Agent string `json:"agent"`
	// Addresses are the IP addresses the agent was seen at, the first 32
	// (AddressesCapped says there were more): one product at several
	// addresses or capture taps is one row.
	Addresses       []string             `json:"addresses,omitempty"`
	AddressesCapped bool                 `json:"addresses_capped,omitempty"`
	Sent            map[string]int       `json:"sent"`
	Answered        map[string]*Outcomes `json:"answered"`
	// AnsweredOther breaks the other_final answers of Answered down by
	// status code, per method.
	AnsweredOther map[string]map[string]int `json:"answered_other_codes,omitempty"`
	// Interval median and spread (max - min) per method sent, in seconds,
	// between keep-alives of one dialog and direction.
	Interval       map[string]float64 `json:"interval_median_seconds,omitempty"`
	IntervalSpread map[string]float64 `json:"interval_spread_seconds,omitempty"`
	// Allow is the method list the vendor advertises.
	Allow string `json:"allow,omitempty"`
	// WithBody counts keep-alives sent carrying a (non-SDP) body; WithSDP
	// in-dialog INFO, MESSAGE or OPTIONS sent with SDP (not keep-alives).
	WithBody           int `json:"keepalives_with_body,omitempty"`
	WithSDP            int `json:"in_dialog_requests_with_sdp,omitempty"`
	ReinviteNoSDP      int `json:"reinvite_no_sdp_sent,omitempty"`
	MessageOutOfDialog int `json:"message_out_of_dialog_sent,omitempty"`
	// SDPAnswers counts 2xx it sent with SDP to UPDATE keep-alives
	// without SDP (see Transaction.AnswerSDP).
	SDPAnswers int `json:"sdp_answers_to_update_without_sdp,omitempty"`
	// EndedDialog counts how the vendor answered keep-alives for dialogs
	// that had already ended: 481 is right, 2xx means it answers for
	// dialogs it does not know.
	EndedDialog map[string]int `json:"answers_for_ended_dialogs,omitempty"`
	// UpdateRefusers are the agents it sent UPDATE keep-alives to whose
	// Allow does not list UPDATE.
	UpdateRefusers []string `json:"-"`
	// EndedDialogVerdict and Recommendation are words, the renderer's
	// (render.EndedDialogVerdict, render.Recommendation), filled as the
	// JSON is written.
	EndedDialogVerdict string `json:"ended_dialog_verdict,omitempty"`
	Recommendation     string `json:"recommendation,omitempty"`
}

// MatrixRow is one sender × receiver × method cell of the interop matrix.
type MatrixRow struct {
	Sender   string `json:"sender"`
	Receiver string `json:"receiver"`
	Method   string `json:"method"`
	Outcomes
	OtherCodes map[string]int `json:"other_codes,omitempty"` // other_final by status code
}

// Finding is a problem worth a ticket: its kind, where and when, and the
// facts its words are made of. The words are the renderer's
// (render.FindingDetail): the JSON's detail is filled as it is written.
type Finding struct {
	Kind   FindingKind  `json:"kind"`
	CallID string       `json:"call_id"`
	Time   time.Time    `json:"time"`
	Detail string       `json:"detail"`
	Facts  FindingFacts `json:"-"`
}

// FindingFacts are what a finding says; each kind uses some of them.
type FindingFacts struct {
	Method          string  // the request concerned
	CSeq            uint32  // its CSeq number
	Side            string  // who sent it: caller, callee, proxy to caller, proxy to callee
	Code            int     // its final answer; 0 for none
	Outcome         Outcome // what Code means for a keep-alive
	Retransmissions int     // of an unanswered request
	Late            int     // an answer that came after the transaction timeout
	Allow           string  // the answerer's Allow list
	Agent           string  // the vendor concerned (the answerer of an sdp-in-answer)
	From, To        string  // a device pair
	Pings           int     // unanswered pings in a row
	Until           time.Time
	Seconds         float64 // how long after what it follows (a BYE, an expiry, an answer); -1: not known
	SessionExpires  uint32  // a session timer's interval
	Refresher       string  // its refresher, as negotiated
	Limit           float64 // the seconds by which a refresh was due
	Gap             float64 // the longest seconds between refreshes
	Ender           string  // who sent the BYE: caller, callee or proxy
	Purpose         Purpose // what a refused re-INVITE or UPDATE was for
	Rechallenged    bool    // a registration's challenge was answered by another: the credentials were refused
}

// KeepAliveRow is one session keep-alive transaction, for CSV.
type KeepAliveRow struct {
	Device       bool // an out-of-dialog OPTIONS or REGISTER, not a session keep-alive
	Time         time.Time
	CallID       string
	Method       string
	Direction    string
	From, To     string
	Receiver     string // the answerer's vendor
	Agent        string
	Code         int
	ResponseTime time.Duration
}
