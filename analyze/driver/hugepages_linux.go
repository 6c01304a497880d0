package driver

import "syscall"

// adviseHugePages maps size bytes of heap at once and asks the kernel to
// back them with transparent huge pages, where it is set to do so only
// when asked (/sys/kernel/mm/transparent_hugepage/enabled: madvise, the
// default of many distributions; "always" needs no asking, "never" turns
// it down). The analysis reads its tables at random and misses the TLB on
// most reads: with 4 KB pages a TLB miss walks the page tables, and in a
// virtual machine the host's too, and each page is a fault of its own as
// the heap grows. On the real sipp trunk (docs/performance.md) advising
// three quarters of the budget took 10% off the wall time, 6% on the
// generator's trunk, and left a quarter of the page faults.
//
// Go asks for none itself (since 1.21.1), nor offers a setting, so the
// heap is grown here by one large allocation made at the start: the
// runtime maps fresh memory for it, which stays untouched (its pages are
// known to be zero), and the mapping keeps the advice when the collector
// frees the allocation and its pages are used for the analysis' state.
// Memory the heap maps beyond it later is not advised.
// An error (a kernel without huge pages) leaves the heap as it was.
func adviseHugePages(size int) error {
	b := make([]byte, size)
	return syscall.Madvise(b, syscall.MADV_HUGEPAGE)
}
