package render

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSpoolSortsStablyAcrossRuns spools rows with few distinct keys, so
// that many are equal, through runs of a few rows each and through memory
// alone, and holds both to a stable sort of the same rows.
func TestSpoolSortsStablyAcrossRuns(t *testing.T) {
	for _, limit := range []int{64, 1000, 1 << 30} {
		rng := rand.New(rand.NewPCG(1, uint64(limit)))
		type row struct {
			key  int64
			text string
		}
		var rows []row
		s := &spool{limit: limit}
		for i := range 5000 {
			r := row{int64(rng.IntN(50)) - 25, fmt.Sprintf("row %d", i)}
			rows = append(rows, r)
			s.add(r.key, []byte(r.text))
		}
		slices.SortStableFunc(rows, func(a, b row) int { return int(a.key - b.key) })
		var got []string
		if err := s.each(func(b []byte) error { got = append(got, string(b)); return nil }); err != nil {
			t.Fatal(err)
		}
		if limit < 1<<30 && len(s.runs) < 2 {
			t.Errorf("limit %d: %d runs, want several", limit, len(s.runs))
		}
		s.close()
		if len(got) != len(rows) {
			t.Fatalf("limit %d: %d rows back, want %d", limit, len(got), len(rows))
		}
		for i := range rows {
			if got[i] != rows[i].text {
				t.Fatalf("limit %d: row %d is %q, want %q", limit, i, got[i], rows[i].text)
			}
		}
	}
}
