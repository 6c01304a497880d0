package analyze

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestFindingKindsListed holds FindingKinds, which --fail-on and its help
// are built from, equal to the kinds the analysis can emit: a kind added
// to the code and not to the list could not be asked for.
func TestFindingKindsListed(t *testing.T) {
	emitted := regexp.MustCompile(`Kind: +"([a-z-]+)"|kind = "([a-z-]+)"|keepFinding\("([a-z-]+)"\)`)
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range emitted.FindAllStringSubmatch(string(src), -1) {
			seen[m[1]+m[2]+m[3]] = true
		}
	}
	if len(seen) < 10 {
		t.Fatalf("found only %d kinds in the sources: the pattern no longer matches how findings are made", len(seen))
	}
	for k := range seen {
		if !slices.Contains(FindingKinds, k) {
			t.Errorf("finding kind %q is emitted but not in FindingKinds", k)
		}
	}
	for _, k := range FindingKinds {
		if !seen[k] {
			t.Errorf("FindingKinds lists %q, which nothing emits", k)
		}
	}
}
