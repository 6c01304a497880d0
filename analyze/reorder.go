package analyze

// A capture can hold a response before its request. A HEP collector
// records what each of a proxy's processes mirrors to it, in the order the
// copies leave: Kamailio's siptrace mirrors a request it sent after the
// process that received the answer mirrored that (tens of microseconds
// apart, stamped so too). Captures merged from several interfaces can
// swap them as well. Such a response is counted as having no request, as
// any is, and kept with its call: the request that follows within a
// transaction's lifetime and matches it (branch, CSeq, method) takes it as
// its answer and un-counts it. Any later match is right too: a branch and
// CSeq name one transaction.

// maxEarlyAnswers bounds the responses a call keeps waiting for their
// requests: a capture that began mid-call has a few, one that reorders
// one or two at a time.
const maxEarlyAnswers = 8

// park keeps a response that has no request (yet) with its call. The
// event's slices alias a payload and a frame list that are gone or reused
// by the time a request claims it: the tags, which matching reads, and the
// frames are copied.
func (c *call) park(e *Event) {
	if c.parked() >= maxEarlyAnswers {
		return
	}
	if c.early == nil {
		c.early = new([]Event)
	}
	p := *e
	tags := append(append(make([]byte, 0, len(e.FromTag)+len(e.ToTag)), e.FromTag...), e.ToTag...)
	p.CallID, p.FromTag, p.ToTag = nil, tags[:len(e.FromTag):len(e.FromTag)], tags[len(e.FromTag):]
	if p.Frames != nil {
		p.Frames = append([]uint64(nil), e.Frames...) // the decoder reuses its list
	}
	*c.early = append(*c.early, p)
}

// parked is how many responses wait for their requests.
func (c *call) parked() int {
	if c.early == nil {
		return 0
	}
	return len(*c.early)
}

// claimEarly gives the new transaction t the responses parked for it
// (see park), in the order they came.
func (a *Analyzer) claimEarly(c *call, t *Transaction) {
	early := *c.early
	keep := early[:0]
	for i := range early {
		p := &early[i]
		if !t.matches(p, p.Method, p.Branch) || elapsed(p.Time, t.Start) > TransactionTimeout {
			keep = append(keep, *p)
			continue
		}
		a.orphans--
		if p.Time.Before(t.Start) {
			p.Time = t.Start // answered as it was sent: no negative response time
		}
		if !a.answer(t, p) {
			a.answerDialog(t, p)
		}
	}
	clear(early[len(keep):])
	*c.early = keep
}

// dropEarly forgets the parked responses no request can claim any more.
func (c *call) dropEarly(now int64) {
	if c.early == nil {
		return
	}
	early := *c.early
	keep := early[:0]
	for _, p := range early {
		if now-p.Time.UnixNano() <= int64(TransactionTimeout) {
			keep = append(keep, p)
		}
	}
	clear(early[len(keep):])
	*c.early = keep
}
