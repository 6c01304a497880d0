package analyze

// Findings: the problems worth a ticket, counted by kind, each row kept
// up to Options.MaxRows.

import (
	"time"
)

// keepFinding counts a finding of kind and reports whether its row is
// kept (the first MaxRows are): callers build the row only then, since on
// a trunk capture most findings are past the rows kept.
func (l *ledger) keepFinding(kind FindingKind) bool {
	l.tot.findingCount[kind]++
	return l.tot.findings.keep(l.opts.MaxRows) || l.opts.Observe != nil || len(l.tot.examples[kind]) < findingExamples
}

// findingExamples is how many findings of each kind are kept as examples
// beside the rows: when the rows stop at --max-rows, every kind is still
// shown by its first ones.
const findingExamples = 3

// addFinding keeps the row of the finding keepFinding counted last, and
// shows it to the observer.
func (l *ledger) addFinding(f Finding) {
	if o := l.opts.Observe; o != nil {
		o.Finding(&f)
	}
	if ex := l.tot.examples[f.Kind]; len(ex) < findingExamples {
		l.tot.examples[f.Kind] = append(ex, f)
	}
	switch rows := &l.tot.findings; {
	case !rows.kept():
	case l.opts.Rows != nil:
		rows.streamed++
		l.opts.Rows.Finding(&f)
	default:
		rows.rows = append(rows.rows, f)
	}
}

// dialogFindings turns a dialog's keep-alive failures into findings and
// reports whether there were any.
func (l *ledger) dialogFindings(d *Dialog, g *kaDigest) bool {
	found := false
	// Made in a scratch list: most dialogs of a busy capture with
	// problems have one or two findings, and a new list for each was a
	// twentieth of the analysis' time.
	l.findings = appendDialogFindings(l.findings[:0], d, g)
	for _, f := range l.findings {
		found = true
		if l.keepFinding(f.Kind) {
			l.addFinding(f)
		}
	}
	clear(l.findings) // holds strings of the dialog's
	if found {
		l.problem(d)
	}
	return found || d.problem
}

// appendDialogFindings appends to out what a dialog's keep-alive failures
// say, from its digest, changing nothing: the final report's findings of a
// dialog as it retires, and a live view's of a dialog still up.
func appendDialogFindings(out []Finding, d *Dialog, g *kaDigest) []Finding {
	for i := range g.failed {
		t := &g.failed[i]
		var kind FindingKind
		switch t.Outcome() {
		case Outcome481:
			kind = FindingLost
		case Outcome405, Outcome501:
			kind = FindingUnsupported
		case OutcomeUnanswered:
			kind = FindingUnanswered
		case OutcomeOther:
			kind = FindingRefused
			if t.Final == 408 {
				kind = FindingLost
			}
		default:
			continue
		}
		out = append(out, Finding{Kind: kind, CallID: d.CallID, Time: t.Start, Facts: FindingFacts{
			Method: t.Method, CSeq: t.CSeq, Side: sideNames[t.side], Code: int(t.Final), Outcome: t.Outcome(),
			Retransmissions: int(t.Retransmissions), Late: int(t.Late), Allow: t.Allow}})
	}
	if t := droppedBy(d, g); t != nil {
		out = append(out, Finding{Kind: FindingDropped, CallID: d.CallID, Time: t.Start, Facts: FindingFacts{
			Method: t.Method, Code: int(t.Final), Outcome: t.Outcome(), Ender: d.EndedBy(), Seconds: d.Ended().Sub(t.Start).Seconds()}})
	}
	return out
}

// droppedBy returns the failed keep-alive (481, 408 or unanswered) that a BYE
// followed within 64 s: the keep-alive dropped the call.
func droppedBy(d *Dialog, g *kaDigest) *keepAlive {
	if d.ended == 0 || !g.hasBefore {
		return nil
	}
	last := &g.before
	o := last.Outcome()
	failedAt := last.FinalAt
	if o == OutcomeUnanswered {
		failedAt = last.Start
	}
	// 408, like 481, ends the session (RFC 4028 section 10)
	if !last.pending && (o == Outcome481 || o == OutcomeUnanswered || last.Final == 408) && d.Ended().Sub(failedAt) < 64*time.Second {
		return last
	}
	return nil
}

// refusedOffer raises a finding for an in-dialog re-INVITE or UPDATE that
// was refused (488 Not Acceptable Here, 415, 491 glare, 500 with
// Retry-After...): the change it asked for did not happen, and what the
// call did next says whether that mattered. An authentication challenge
// (401, 407) is no refusal: the request is sent again.
func (l *ledger) refusedOffer(t *Transaction) {
	d := t.Dialog
	if t.Final < 400 || t.Final == 401 || t.Final == 407 || d == nil || t.hop || (t.Method != "INVITE" && t.Method != "UPDATE") {
		return
	}
	l.problem(d)
	if !l.keepFinding(FindingOfferRefused) {
		return
	}
	after, ender := -1.0, ""
	if d.ended != 0 && !d.Ended().Before(t.FinalAt) {
		after, ender = d.Ended().Sub(t.FinalAt).Seconds(), d.EndedBy()
	}
	l.addFinding(Finding{Kind: FindingOfferRefused, CallID: t.CallID, Time: t.FinalAt, Facts: FindingFacts{
		Method: t.Method, CSeq: t.CSeq, Side: d.side(t), Code: int(t.Final), Purpose: t.Purpose, Seconds: after, Ender: ender}})
}
