package analyze

// Findings: the problems worth a ticket, counted by kind, each row kept
// up to Options.MaxRows.

import (
	"fmt"
	"strconv"
	"time"
)

// keepFinding counts a finding of kind and reports whether its row is
// kept (the first MaxRows are): callers build the row, and format its
// detail, only then. On a trunk capture most findings are past the rows
// kept, and formatting them all took a tenth of retiring a dialog.
func (l *ledger) keepFinding(kind FindingKind) bool {
	l.tot.findingCount[kind]++
	return l.tot.findings.keep(l.opts.MaxRows)
}

// addFinding keeps the row of a finding keepFinding counted.
func (l *ledger) addFinding(f Finding) { l.tot.findings.rows = append(l.tot.findings.rows, f) }

// dialogFindings turns a dialog's keep-alive failures into findings and
// reports whether there were any.
func (l *ledger) dialogFindings(d *Dialog, g *kaDigest) bool {
	found := false
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
		found = true
		if l.keepFinding(kind) {
			l.addFinding(Finding{Kind: kind, CallID: d.CallID, Time: t.Start, Detail: failureDetail(d, t)})
		}
	}
	if t := droppedBy(d, g); t != nil {
		found = true
		if l.keepFinding(FindingDropped) {
			outcome := t.Outcome().String()
			if t.Final == 408 {
				outcome = "408"
			}
			l.addFinding(Finding{Kind: FindingDropped, CallID: d.CallID, Time: t.Start, Detail: fmt.Sprintf("BYE by %s %.1f s after %s %s",
				d.EndedBy, d.Ended.Sub(t.Start).Seconds(), t.Method, outcome)})
		}
	}
	if found {
		l.problem(d)
	}
	return found || d.problem
}

// failureDetail says what went wrong with a failed keep-alive of d.
func failureDetail(d *Dialog, t *keepAlive) string {
	who := sideNames[t.side]
	switch t.Outcome() {
	case Outcome481:
		return fmt.Sprintf("%s %s from %s answered 481: the peer lost the dialog", t.Method, cseq(t.CSeq), who)
	case Outcome405, Outcome501:
		detail := fmt.Sprintf("%s from %s answered %d: method unsupported", t.Method, who, t.Final)
		if t.Allow != "" {
			detail += " (Allow: " + t.Allow + ")"
		}
		return detail
	case OutcomeOther:
		if t.Final == 408 {
			return fmt.Sprintf("%s %s from %s answered 408: the session is to end (RFC 4028 section 10)", t.Method, cseq(t.CSeq), who)
		}
		return fmt.Sprintf("%s from %s answered %d: refused, though the peer holds the dialog (RFC 5057 5.1); use a method it answers 2xx", t.Method, who, t.Final)
	}
	detail := fmt.Sprintf("%s %s from %s never answered", t.Method, cseq(t.CSeq), who)
	if t.Retransmissions > 0 {
		detail += fmt.Sprintf(" (%d retransmissions)", t.Retransmissions)
	}
	if t.Late != 0 {
		detail += fmt.Sprintf("; %d came after the %s timeout", t.Late, TransactionTimeout)
	}
	return detail
}

// droppedBy returns the failed keep-alive (481, 408 or unanswered) that a BYE
// followed within 64 s: the keep-alive dropped the call.
func droppedBy(d *Dialog, g *kaDigest) *keepAlive {
	if d.Ended.IsZero() || !g.hasBefore {
		return nil
	}
	last := &g.before
	o := last.Outcome()
	failedAt := last.FinalAt
	if o == OutcomeUnanswered {
		failedAt = last.Start
	}
	// 408, like 481, ends the session (RFC 4028 section 10)
	if (o == Outcome481 || o == OutcomeUnanswered || last.Final == 408) && d.Ended.Sub(failedAt) < 64*time.Second {
		return last
	}
	return nil
}

// verdict names what the last keep-alive of a dialog says about the peer.
func verdict(o Outcome, final int) string {
	switch o {
	case Outcome2xx:
		return "alive"
	case Outcome481:
		return "lost (481)"
	case Outcome405:
		return "method unsupported (405)"
	case Outcome501:
		return "method unsupported (501)"
	case OutcomeUnanswered:
		return "no answer"
	}
	if final == 408 {
		return "lost (408)" // RFC 4028 section 10: 408 or 481 ends the session
	}
	// Any other final response came from a peer that holds the dialog
	// (RFC 5057 section 5.1): the keep-alive was refused, not the session.
	return fmt.Sprintf("refused (%d), dialog alive", final)
}

// answeredWith says how a request was answered, in a finding's words.
func answeredWith(final int) string {
	if final == 0 {
		return "never answered"
	}
	return "answered " + strconv.Itoa(final)
}

func cseq(n uint32) string { return "(CSeq " + strconv.FormatUint(uint64(n), 10) + ")" }
