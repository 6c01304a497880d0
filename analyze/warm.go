package analyze

import "unsafe"

// The sweep is memory-bound. Each call it retires lies in lines of the
// heap no message has touched for seconds: the call, its dialogs and
// transactions, and the slots of the stale and folded indexes it goes
// into, some fifty cache misses a call, taken one after the other as the
// code follows pointers. Go has no prefetch instruction, but a load whose
// value nothing waits for lets the core run on while its line comes in:
// reading the calls a few entries ahead in the sweep's queue overlaps
// their misses with the work on the current one (on a 1,000 calls/s
// trunk, a tenth less time in the sweep). The values read go into a sink
// only so that the compiler keeps the loads; they change nothing.

// warmAhead is how many queue entries ahead the sweep reads a call; its
// dialogs and transactions are read at half that distance, once the
// call's own line, which points to them, has come in.
const warmAhead = 8

// warmCall reads the lines of c that point to its parts.
func warmCall(c *call) uintptr {
	return uintptr(c.lastSeen) + uintptr(len(c.txs)) + uintptr(len(c.dialogs))
}

// warmParts reads every line of c's dialogs and transactions, and the
// index slots retiring c writes (see staleTable.bury, foldedCalls.add).
func (a *Analyzer) warmParts(c *call) uintptr {
	s := uintptr(a.store.folded.index.warm(c.hash))
	for _, d := range c.dialogs {
		s += uintptr(a.store.buried.index.warm(dialogKey(c.hash, d.callerHash, d.calleeHash)))
		s += touchLines(unsafe.Pointer(d), unsafe.Sizeof(*d))
	}
	for _, t := range c.txs {
		s += touchLines(unsafe.Pointer(t), unsafe.Sizeof(*t))
	}
	return s
}

// cacheLine is the line size of the processors this runs on (amd64,
// arm64); a wrong guess costs a few loads, nothing else.
const cacheLine = 64

// touchLines reads a byte of each cache line of the size bytes at p,
// which must all lie in one object.
func touchLines(p unsafe.Pointer, size uintptr) uintptr {
	var s uintptr
	for off := uintptr(0); off < size; off += cacheLine {
		s += uintptr(*(*byte)(unsafe.Add(p, off)))
	}
	return s
}
