package capture

import "testing"

// TestBlockTrim: spare blocks beyond what was held at once in a window
// go once the surplus passes trimSurplus, held ones never, and a surplus
// within trimSurplus stays (a block made again at every burst would churn
// the heap).
func TestBlockTrim(t *testing.T) {
	blocks := func(n, held int) []*Block {
		s := make([]*Block, n)
		for i := range s {
			s[i] = &Block{}
		}
		for i := 0; i < held; i++ {
			s[len(s)-1-i].Hold() // the newest are held, as while reading
		}
		return s
	}
	cases := []struct {
		name        string
		spare, held int
		want        int
	}{
		{"deep queue gone", 13, 3, 5},
		{"surplus within bound", 3 + 2 + trimSurplus, 3, 3 + 2 + trimSurplus},
		{"just past it", 3 + 2 + trimSurplus + 1, 3, 5},
		{"all held", 12, 12, 12},
		{"none held", 10, 0, 2},
	}
	for _, c := range cases {
		spare := blocks(c.spare, c.held)
		var tr blockTrim
		for i := 0; i < trimWindow; i++ {
			tr.check(&spare)
			if i < trimWindow-1 && len(spare) != c.spare {
				t.Fatalf("%s: trimmed before the window ended", c.name)
			}
		}
		if len(spare) != c.want {
			t.Errorf("%s: %d spare blocks left, want %d", c.name, len(spare), c.want)
		}
		for _, b := range spare[:len(spare)-c.held] {
			if b.held.Load() != 0 {
				t.Errorf("%s: a held block is out of order", c.name)
			}
		}
		held := 0
		for _, b := range spare {
			if b.held.Load() != 0 {
				held++
			}
		}
		if held != c.held {
			t.Errorf("%s: %d held blocks kept, want all %d", c.name, held, c.held)
		}
	}
}
