package analyze

// RowSink takes the report's rows as they settle, in place of the report
// keeping them (Options.Rows): the dialogs, the requests that are not
// keep-alives, the session timers, the findings and, with KeepAliveRows,
// the keep-alive transactions. A JSON or CSV report of a trunk capture
// holds a row per dialog and per keep-alive; given to a sink that writes
// them out, they cost no memory that grows with the capture. The rows come
// in the order they settle; the report's own lists are the order to put
// them in (see Report). The rows handed over are the analysis' own, valid
// for the call only: a sink copies what it keeps.
type RowSink interface {
	Dialog(problem bool, r *DialogReport)
	NotKeepAlive(r *NotKeepAlive)
	Timer(r *TimerReport, s *TimerSummary)
	Finding(f *Finding)
	KeepAlive(r *KeepAliveRow)
}
