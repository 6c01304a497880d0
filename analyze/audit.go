package analyze

// The vendor audit: keep-alives folded per sender and receiver agent and
// method (the interop matrix), and the advice the field rules give.

import (
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

type matrixCell struct{ sender, receiver, method string }

// vendorAgg is a vendor's report and its interval samples per method.
type vendorAgg struct {
	VendorReport
	intervals map[string][]float64
	sent      map[string]*int // VendorReport.Sent as it is counted
	addrs     []netip.Addr    // VendorReport.Addresses as they are seen
}

func (l *ledger) vendor(name string) *vendorAgg {
	v, ok := l.tot.vendors[name]
	if !ok {
		v = &vendorAgg{VendorReport: VendorReport{Agent: name, Sent: map[string]int{}, Answered: map[string]*Outcomes{},
			Interval: map[string]float64{}, IntervalSpread: map[string]float64{}}, intervals: map[string][]float64{}, sent: map[string]*int{}}
		l.tot.vendors[name] = v
	}
	return v
}

// maxVendorAddresses bounds the addresses listed per vendor.
const maxVendorAddresses = 32

// seenAt notes an address the vendor was seen at.
func (v *vendorAgg) seenAt(ap netip.AddrPort) {
	if v.AddressesCapped {
		return // a trunk's product at hundreds of addresses: listing stops, and so does looking
	}
	a := ap.Addr()
	for _, s := range v.addrs {
		if s == a {
			return
		}
	}
	if len(v.addrs) < maxVendorAddresses {
		v.addrs = append(v.addrs, a)
	} else {
		v.AddressesCapped = true
	}
}

// kaCell is what the keep-alives of one sender, receiver and method fold
// into, found with one lookup rather than one per map each time.
type kaCell struct {
	sv, rv   *vendorAgg
	sent     *int           // sv's count of the method sent
	answered *Outcomes      // rv's outcomes of the method
	matrix   *Outcomes      // the interop matrix cell
	other    map[string]int // the matrix cell's other final answers, by code
}

func (l *ledger) kaCell(k matrixCell) *kaCell {
	if l.tot.lastCell != nil && l.tot.lastKey == k {
		return l.tot.lastCell
	}
	c := l.kaCellOf(k)
	l.tot.lastCell, l.tot.lastKey = c, k
	return c
}

func (l *ledger) kaCellOf(k matrixCell) *kaCell {
	if c := l.tot.cells[k]; c != nil {
		return c
	}
	c := &kaCell{sv: l.vendor(k.sender), rv: l.vendor(k.receiver), matrix: &Outcomes{}}
	c.sent = c.sv.sent[k.method]
	if c.sent == nil {
		c.sent = new(int)
		c.sv.sent[k.method] = c.sent
	}
	c.answered = outcomesFor(c.rv.Answered, k.method)
	if k.method == "UPDATE" {
		if l.tot.updateTo[k.sender] == nil {
			l.tot.updateTo[k.sender] = map[string]bool{}
		}
		l.tot.updateTo[k.sender][k.receiver] = true
	}
	l.tot.cells[k] = c
	return c
}

func (l *ledger) foldKeepAlive(t *Transaction, sender string) {
	if t.hop {
		// The vendor audit counts requests, not the hops a proxy relayed
		// them over; the transaction counts above and the CSV rows keep
		// every hop.
		l.tot.relayedKeepAlives++
		l.keepAliveRow(t, sender)
		return
	}
	receiver := l.book.agentOf(t.Answerer, t.Dst)
	cell := l.kaCell(matrixCell{sender, receiver, t.Method})
	sv, rv := cell.sv, cell.rv
	sv.seenAt(t.Src)
	rv.seenAt(t.Dst)
	*cell.sent++
	if t.HasBody {
		sv.WithBody++
	}
	cell.answered.add(t)
	cell.matrix.add(t)
	if t.Outcome() == OutcomeOther {
		// which codes "other" holds: a 488 or a 415 tells what the peer
		// wanted (a body), where "other" tells nothing
		code := strconv.Itoa(int(t.Final))
		if cell.other == nil {
			cell.other = map[string]int{}
		}
		cell.other[code]++
		if rv.AnsweredOther == nil {
			rv.AnsweredOther = map[string]map[string]int{}
		}
		if rv.AnsweredOther[t.Method] == nil {
			rv.AnsweredOther[t.Method] = map[string]int{}
		}
		rv.AnsweredOther[t.Method][code]++
	}
	if sv.Allow == "" {
		sv.Allow = l.book.hostOf(t.Src).allow
	}
	if rv.Allow == "" {
		rv.Allow = l.book.hostOf(t.Dst).allow
	}
	d := t.Dialog
	side := "caller"
	if d != nil {
		side = d.side(t)
	}
	if t.AnswerSDP && t.Final >= 200 && t.Final < 300 {
		rv.SDPAnswers++
		if l.keepFinding(FindingSDPInAnswer) {
			l.addFinding(Finding{Kind: FindingSDPInAnswer, CallID: t.CallID, Time: t.FinalAt,
				Facts: FindingFacts{Method: t.Method, Side: side, Code: int(t.Final), Agent: receiver}})
		}
		if d != nil {
			l.problem(d)
		}
	}
	if d != nil {
		if d.ended != 0 && t.Start.After(d.Ended()) {
			if rv.EndedDialog == nil {
				rv.EndedDialog = map[string]int{}
			}
			rv.EndedDialog[t.Outcome().String()]++
			if l.keepFinding(FindingStale) {
				l.addFinding(Finding{Kind: FindingStale, CallID: t.CallID, Time: t.Start,
					Facts: FindingFacts{Method: t.Method, Side: side, Code: int(t.Final), Seconds: t.Start.Sub(d.Ended()).Seconds()}})
			}
			l.problem(d)
		}
	}
	l.keepAliveRow(t, sender)
}

func (l *ledger) vendorReports(r *Report, first time.Time) {
	for _, name := range slices.Sorted(maps.Keys(l.tot.vendors)) {
		v := l.tot.vendors[name]
		for m, n := range v.sent {
			v.Sent[m] = *n
		}
		for m, iv := range v.intervals {
			lo, hi := minMax(iv)
			v.Interval[m] = round3(median(iv))
			v.IntervalSpread[m] = round3(hi - lo)
		}
		switch e := v.EndedDialog; {
		case e["2xx"] > 0:
			r.FindingCounts[FindingAnswersUnknownDialog]++
			r.Findings = append(r.Findings, Finding{Kind: FindingAnswersUnknownDialog, Time: first,
				Facts: FindingFacts{Agent: v.Agent}})
		}
		v.UpdateRefusers = nil
		for recv := range l.tot.updateTo[name] {
			if rv := l.tot.vendors[recv]; rv != nil && rv.Allow != "" && !allowHas(rv.Allow, "UPDATE") {
				v.UpdateRefusers = append(v.UpdateRefusers, recv)
			}
		}
		slices.Sort(v.UpdateRefusers)
		v.Addresses = v.Addresses[:0]
		for _, a := range v.addrs {
			v.Addresses = append(v.Addresses, a.String())
		}
		r.Vendors = append(r.Vendors, v.VendorReport)
	}
	cells := make([]matrixCell, 0, len(l.tot.cells))
	for c := range l.tot.cells {
		cells = append(cells, c)
	}
	sort.Slice(cells, func(i, j int) bool {
		x, y := cells[i], cells[j]
		if x.sender != y.sender {
			return x.sender < y.sender
		}
		if x.receiver != y.receiver {
			return x.receiver < y.receiver
		}
		return x.method < y.method
	})
	for _, c := range cells {
		cell := l.tot.cells[c]
		r.Matrix = append(r.Matrix, MatrixRow{Sender: c.sender, Receiver: c.receiver, Method: c.method, Outcomes: *cell.matrix, OtherCodes: cell.other})
	}
}

func allowHas(allow, method string) bool {
	for _, m := range strings.Split(allow, ",") {
		if strings.EqualFold(strings.TrimSpace(m), method) {
			return true
		}
	}
	return false
}
