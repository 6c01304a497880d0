package driver

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// HeapBudget is the memory a run aims to stay within by default: the Go
// runtime's own memory (heap, stacks, its metadata), not the program's
// code and tables, which add 10-15 MiB to the resident size. (Of those,
// gopacket's layers holds 5 MB of decoder tables among its globals; the
// collector reads them through at every collection, and a kernel that
// gives a read fault a page of its own, as some VMs' do, counts them
// resident.) It was 52 MiB before part of the heap had huge pages (see
// BudgetHeap): their 2 MB grain now and then lifted the peak resident size
// of a trunk whose live state fills the budget by 2 MiB, past 64.
const HeapBudget = 50 << 20

// BudgetHeap has the collector keep the heap within budget bytes while
// the live state leaves room for it, and let it grow by a sixteenth beyond
// the live state when it does not.
//
// The analysis recycles its records and allocates little, so its heap is
// mostly live state: collecting more often as the heap nears the budget
// costs a few collections, not a share of the CPU. A memory limit alone
// would make the collector run without pause once the live state passed
// it (a trunk with tens of thousands of calls up at once); so after every
// collection the limit is raised to a sixteenth above what it found live,
// plus the runtime's own memory, never below budget. (An eighth let a
// trunk of 1,000 calls a second with 20 s holds peak at 66-67 MiB
// resident; a sixteenth holds it to 61-62 MiB for a few percent more of
// the CPU, 24 collections in 2.25 M packets.) GOGC stays the growth that
// applies below the budget.
//
// Three quarters of the budget are mapped at once, with huge pages asked
// for (see adviseHugePages). Not all of it: where the runtime uses one
// page of a huge page the kernel keeps all 2 MB resident, and with huge
// pages over the whole budget the trunks of 1,000 calls a second, whose
// live state fills it, peaked at 64-66 MiB resident rather than 62 (and
// with three quarters, now and then at 64).
func BudgetHeap(budget int64) {
	_ = adviseHugePages(int(budget / 4 * 3)) // without, the heap is as Go makes it
	debug.SetMemoryLimit(budget)
	room.Store(budget)
	watchCollections(func() {
		live, overhead := heapSizes()
		need := live + live/16 + overhead
		room.Store(budget - need)
		debug.SetMemoryLimit(max(budget, need))
	})
}

// room is what the heap has below its budget, as the last collection
// found it: the budget less the live state, the sixteenth the collector
// lets the heap grow beyond it, and the runtime's own memory. Without a
// budget (GOGC or GOMEMLIMIT set, or a test) the heap grows as GOGC
// says, and room is unbounded.
var room atomic.Int64

func init() { room.Store(math.MaxInt64) }

// heapRoom returns room's value.
func heapRoom() int64 { return room.Load() }

// heapSizes returns the heap the last collection found live, and the
// runtime's memory that is neither heap objects nor free pages (stacks,
// span metadata, the free space within spans in use), which the memory
// limit counts too. Free pages are left out: after the heap shrinks they
// are what the limit has the runtime give back.
func heapSizes() (live, overhead int64) {
	s := []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
	}
	metrics.Read(s)
	var v [5]int64
	for i := range s {
		if s[i].Value.Kind() == metrics.KindUint64 {
			v[i] = int64(s[i].Value.Uint64())
		}
	}
	return v[0], max(v[1]-v[2]-v[3]-v[4], 0)
}

// sentinel is an object nothing keeps: the collection that finds it
// unreachable runs its cleanup. It is larger than the tiny allocator's
// blocks, which would tie its life to its neighbours'.
type sentinel struct {
	_ [32]byte
	_ *int
}

// watchCollections calls f after every collection, on the runtime's
// cleanup goroutine, for the life of the process.
func watchCollections(f func()) {
	s := &sentinel{}
	runtime.AddCleanup(s, func(f func()) {
		f()
		watchCollections(f)
	}, f)
}
