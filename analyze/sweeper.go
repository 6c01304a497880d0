package analyze

import "time"

// sweeper knows when each call is next due a look: calls wait in a queue
// by the time something about them may next change (a transaction settles,
// a dialog's BYE lingers out, a silent dialog times out), so a sweep
// touches only the calls that are due.
type sweeper struct {
	sweeps      sweepQueue
	lastSweep   time.Time
	maxSE       uint32        // largest Session-Expires negotiated
	idleTimeout time.Duration // Options.IdleTimeout
	// compactAfter: a call with this many transactions has its settled
	// keep-alives folded at their time (compactAfter, or 1 live).
	compactAfter int
}

// idle is how long a dialog may stay silent before it is closed as "no BYE
// seen": twice the largest Session-Expires, at least an hour.
func (w *sweeper) idle() time.Duration {
	if w.idleTimeout > 0 {
		return w.idleTimeout
	}
	return max(time.Hour, 2*time.Duration(w.maxSE)*time.Second)
}

// settled reports whether a transaction's outcome can no longer change.
func (w *sweeper) settled(t *Transaction, now time.Time) bool {
	age := elapsed(t.Start, now)
	switch {
	case t.Final != 0 || t.Late != 0:
		return true
	case t.Method != "INVITE" || t.Provisional == 0:
		return age > TransactionTimeout
	}
	return age > w.idle() // a ringing INVITE
}

// schedule asks the sweep to look at c at time at. An earlier entry of c
// in the queue becomes stale and is dropped when it comes up.
//
// A call is scheduled later and sooner by turns: on its first message for
// when its transaction times out, on its 2xx sooner, then, once swept,
// for when the dialog would idle out an hour on. The entry moved sooner
// is still queued: it is remembered (c.later), and a later time at or
// past it takes it back rather than queueing another. A call that ends
// within a minute so leaves one entry far ahead, not two; the sweep comes
// back sooner than it must, which changes nothing (sweeps do what is due
// at their time).
func (w *sweeper) schedule(c *call, at time.Time) {
	ns := at.UnixNano()
	queued := w.lastSweep.UnixNano() // entries due past it are still in the queue
	if c.later > queued && ns >= c.later {
		c.due, c.later = c.later, 0
		return
	}
	if c.due > queued && ns < c.due {
		c.later = c.due
	}
	c.due = ns
	w.sweeps.push(dueEntry{due: c.due, seq: c.seq, c: c})
}

// nextDue is the earliest time a sweep could retire or free part of c.
// ready: the call has finished and folds after foldQuiet's silence;
// settle: when a transaction may leave it early (see settledEarly; zero:
// none).
func (w *sweeper) nextDue(c *call, now time.Time, ready bool, settle time.Time) time.Time {
	var due time.Time
	live := false
	for _, d := range c.dialogs {
		if d.retired {
			continue
		}
		at := time.Unix(0, d.lastSeen).Add(w.idle())
		if d.ended != 0 {
			at = d.Ended().Add(byeLinger)
		}
		if !live || at.Before(due) {
			due, live = at, true
		}
	}
	switch {
	case live && len(c.txs) >= w.compactAfter:
		// the earliest transaction to settle, for Analyzer.settle
		due = minTime(due, c.txs[0].Start.Add(txLinger))
	case live:
	default:
		for _, t := range c.txs {
			if at := t.Start.Add(txLinger); at.After(due) {
				due = at
			}
		}
	}
	if ready {
		due = minTime(due, time.Unix(0, c.lastSeen).Add(foldQuiet))
	}
	if live && !settle.IsZero() {
		due = minTime(due, settle)
	}
	if !due.After(now) {
		due = now.Add(sweepEvery)
	}
	return due
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
