package analyze

import (
	"cmp"
	"encoding/json"
	"maps"
	"slices"
	"sort"
)

// Merge combines reports of several machines or periods (read back from
// their JSON) into one: every total adds, rows are listed together
// (findings in time order), device pairs, NAT flows, vendors and
// interop-matrix cells that appear in several reports become one. The
// totals equal those of analysing the captures together when no dialog
// spans two of them; medians of intervals cannot be merged exactly and are
// the weighted mean of the reports' medians.
func Merge(reports ...*Report) *Report {
	out := &Report{FindingCounts: map[FindingKind]int{}, Omitted: map[string]int{}}
	out.Summary.SessionKeepAlives = map[string]*Outcomes{}
	out.Summary.NotKeepAlive = map[string]int{}
	out.Summary.DeviceKeepAlives = map[string]*Outcomes{}
	devices := map[[3]string]int{}
	nats := map[[4]string]int{}
	vendors := map[string]int{}
	cells := map[[3]string]int{}
	for _, r := range reports {
		out.Inputs = append(out.Inputs, r.Inputs...)
		mergeOverview(&out.Overview, &r.Overview)
		s := &out.Summary
		s.SIPMessages += r.Summary.SIPMessages
		s.Calls += r.Summary.Calls
		addOutcomeMap(s.SessionKeepAlives, r.Summary.SessionKeepAlives)
		addOutcomeMap(s.DeviceKeepAlives, r.Summary.DeviceKeepAlives)
		addCounts(&s.NotKeepAlive, r.Summary.NotKeepAlive)
		s.SessionTimers = append(s.SessionTimers, r.Summary.SessionTimers...)
		out.Dialogs = append(out.Dialogs, r.Dialogs...)
		out.NotKeepAlives = append(out.NotKeepAlives, r.NotKeepAlives...)
		out.Timers = append(out.Timers, r.Timers...)
		out.Findings = append(out.Findings, r.Findings...)
		for k, n := range r.FindingCounts {
			out.FindingCounts[k] += n
		}
		addCounts(&out.Omitted, r.Omitted)
		for _, d := range r.Devices {
			d.Codes = maps.Clone(d.Codes)
			mergeRow(devices, &out.Devices, [3]string{d.Method, d.From, d.To}, d, mergeDevice)
		}
		for _, n := range r.NAT {
			mergeRow(nats, &out.NAT, [4]string{n.From, n.To, n.Transport, n.Kind.String()}, n, func(m, n *NATReport) {
				m.IntervalAvg = weighted(m.IntervalAvg, m.Count, n.IntervalAvg, n.Count)
				m.Count += n.Count
			})
		}
		for _, v := range r.Vendors {
			mergeRow(vendors, &out.Vendors, v.Agent, cloneVendor(v), mergeVendor)
		}
		for _, c := range r.Matrix {
			c.OtherCodes = maps.Clone(c.OtherCodes)
			mergeRow(cells, &out.Matrix, [3]string{c.Sender, c.Receiver, c.Method}, c, func(m, c *MatrixRow) {
				m.Outcomes.Add(&c.Outcomes)
				addCounts(&m.OtherCodes, c.OtherCodes)
			})
		}
	}
	for _, m := range slices.Sorted(maps.Keys(out.Summary.SessionKeepAlives)) {
		out.KeepAlives = append(out.KeepAlives, MethodOutcomes{Method: m, Outcomes: *out.Summary.SessionKeepAlives[m]})
	}
	sort.SliceStable(out.Findings, func(i, j int) bool { return out.Findings[i].Time.Before(out.Findings[j].Time) })
	slices.SortFunc(out.Vendors, func(a, b VendorReport) int { return cmp.Compare(a.Agent, b.Agent) })
	if len(out.Omitted) == 0 {
		out.Omitted = nil
	}
	return out
}

// mergeRow adds row to rows, or merges it into the row of the same key
// already there; index says where each key's row is.
func mergeRow[K comparable, T any](index map[K]int, rows *[]T, key K, row T, merge func(into, from *T)) {
	if i, ok := index[key]; ok {
		merge(&(*rows)[i], &row)
		return
	}
	index[key] = len(*rows)
	*rows = append(*rows, row)
}

// ReadReport reads a JSON report as sipalive analyze --format json wrote
// it.
func ReadReport(b []byte) (*Report, error) {
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

func mergeOverview(o, r *Overview) {
	o.Files += r.Files
	o.Packets += r.Packets
	o.SIPMessages += r.SIPMessages
	o.Requests += r.Requests
	o.Responses += r.Responses
	o.Malformed += r.Malformed
	addCounts(&o.MalformedReasons, r.MalformedReasons)
	o.NotSIP += r.NotSIP
	o.OrphanResponses += r.OrphanResponses
	o.Calls += r.Calls
	o.Dialogs += r.Dialogs
	o.KeepAliveDialogs += r.KeepAliveDialogs
	o.RelayedKeepAlives += r.RelayedKeepAlives
	o.ProblemDialogs += r.ProblemDialogs
	if !r.Start.IsZero() && (o.Start.IsZero() || r.Start.Before(o.Start)) {
		o.Start = r.Start
	}
	if r.End.After(o.End) {
		o.End = r.End
	}
	if !o.Start.IsZero() {
		o.DurationSeconds = round3(o.End.Sub(o.Start).Seconds())
	}
	o.Limits.ForgottenDialogs += r.Limits.ForgottenDialogs
	o.Limits.EvictedCalls += r.Limits.EvictedCalls
	o.Limits.ForgottenCalls += r.Limits.ForgottenCalls
	o.Limits.ForgottenAddresses += r.Limits.ForgottenAddresses
	o.Capture.Add(&r.Capture)
}

func addOutcomeMap(dst, src map[string]*Outcomes) {
	for m, o := range src {
		if dst[m] == nil {
			dst[m] = &Outcomes{}
		}
		dst[m].Add(o)
	}
}

// Add adds every count of p: outcomes of several methods, pairs or
// reports put together.
func (o *Outcomes) Add(p *Outcomes) {
	o.Sent += p.Sent
	o.OK += p.OK
	o.C481 += p.C481
	o.C405 += p.C405
	o.C501 += p.C501
	o.OtherFinal += p.OtherFinal
	o.Unanswered += p.Unanswered
}

// addCounts adds the counts of src to *dst, making *dst when it has none.
func addCounts[K comparable, V int | uint64](dst *map[K]V, src map[K]V) {
	if len(src) == 0 {
		return
	}
	if *dst == nil {
		*dst = map[K]V{}
	}
	for k, n := range src {
		(*dst)[k] += n
	}
}

// weighted is the mean of two values weighted by their counts.
func weighted(a float64, na int, b float64, nb int) float64 {
	if na+nb == 0 {
		return 0
	}
	return round3((a*float64(na) + b*float64(nb)) / float64(na+nb))
}

func mergeDevice(d, e *DeviceReport) {
	d.IntervalMed = weighted(d.IntervalMed, d.Sent, e.IntervalMed, e.Sent)
	d.Sent += e.Sent
	d.Answered += e.Answered
	d.Unanswered += e.Unanswered
	addCounts(&d.Codes, e.Codes)
	d.DownWindows = append(d.DownWindows, e.DownWindows...)
	d.Expires = max(d.Expires, e.Expires)
	d.LateRefresh += e.LateRefresh
	d.Registered = append(d.Registered, e.Registered...)
	d.Unregistered = append(d.Unregistered, e.Unregistered...)
}

func cloneVendor(v VendorReport) VendorReport {
	v.Addresses = slices.Clone(v.Addresses)
	v.Sent = maps.Clone(v.Sent)
	answered := map[string]*Outcomes{}
	for m, o := range v.Answered {
		c := *o
		answered[m] = &c
	}
	v.Answered = answered
	v.AnsweredOther = maps.Clone(v.AnsweredOther)
	v.Interval, v.IntervalSpread = maps.Clone(v.Interval), maps.Clone(v.IntervalSpread)
	v.EndedDialog = maps.Clone(v.EndedDialog)
	return v
}

func mergeVendor(v, w *VendorReport) {
	for _, a := range w.Addresses {
		if !slices.Contains(v.Addresses, a) {
			if len(v.Addresses) >= maxVendorAddresses {
				v.AddressesCapped = true
				break
			}
			v.Addresses = append(v.Addresses, a)
		}
	}
	v.AddressesCapped = v.AddressesCapped || w.AddressesCapped
	for m, n := range w.Sent {
		if v.Interval != nil || w.Interval != nil {
			if v.Interval == nil {
				v.Interval = map[string]float64{}
			}
			v.Interval[m] = weighted(v.Interval[m], v.Sent[m], w.Interval[m], n)
		}
	}
	addCounts(&v.Sent, w.Sent)
	if v.Answered == nil {
		v.Answered = map[string]*Outcomes{}
	}
	addOutcomeMap(v.Answered, w.Answered)
	for m, codes := range w.AnsweredOther {
		if v.AnsweredOther == nil {
			v.AnsweredOther = map[string]map[string]int{}
		}
		counts := v.AnsweredOther[m]
		addCounts(&counts, codes)
		v.AnsweredOther[m] = counts
	}
	for m, s := range w.IntervalSpread {
		if v.IntervalSpread == nil {
			v.IntervalSpread = map[string]float64{}
		}
		v.IntervalSpread[m] = max(v.IntervalSpread[m], s)
	}
	v.Allow = cmp.Or(v.Allow, w.Allow)
	v.WithBody += w.WithBody
	v.WithSDP += w.WithSDP
	v.ReinviteNoSDP += w.ReinviteNoSDP
	v.MessageOutOfDialog += w.MessageOutOfDialog
	v.SDPAnswers += w.SDPAnswers
	addCounts(&v.EndedDialog, w.EndedDialog)
	v.EndedDialogVerdict = cmp.Or(v.EndedDialogVerdict, w.EndedDialogVerdict)
	v.Recommendation = cmp.Or(v.Recommendation, w.Recommendation)
}
