package analyze

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestFindingKindsEmitted holds the FindingKind constants, which --fail-on
// and its help are built from, to the kinds the analysis emits: each is
// used outside kinds.go, where they are declared, so no listed kind is one
// nothing can produce. (That every emitted kind is listed, the type sees to.)
func TestFindingKindsEmitted(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	fset := token.NewFileSet()
	for _, name := range files {
		if name == "kinds.go" || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok && strings.HasPrefix(id.Name, "Finding") {
				used[id.Name] = true
			}
			return true
		})
	}
	names := map[FindingKind]string{FindingLost: "FindingLost", FindingUnsupported: "FindingUnsupported",
		FindingRefused: "FindingRefused", FindingUnanswered: "FindingUnanswered", FindingExpired: "FindingExpired",
		FindingStale: "FindingStale", FindingDropped: "FindingDropped", FindingLateRefresh: "FindingLateRefresh",
		FindingDeviceDown: "FindingDeviceDown", FindingLateRegister: "FindingLateRegister",
		FindingSDPInAnswer: "FindingSDPInAnswer", FindingProxyBye: "FindingProxyBye",
		FindingAnswersUnknownDialog: "FindingAnswersUnknownDialog", FindingTimerOff: "FindingTimerOff",
		FindingOfferRefused: "FindingOfferRefused", FindingRegisterFailed: "FindingRegisterFailed", FindingFlood: "FindingFlood"}
	kinds := FindingKinds()
	if len(kinds) != len(names) {
		t.Fatalf("FindingKinds has %d kinds, the test knows %d: add the new one here", len(kinds), len(names))
	}
	for _, k := range kinds {
		if !used[names[k]] {
			t.Errorf("%s (%q) is declared but nothing emits it", names[k], k)
		}
		if p, ok := ParseFindingKind(k.String()); !ok || p != k {
			t.Errorf("%q does not parse back to itself", k)
		}
	}
}
