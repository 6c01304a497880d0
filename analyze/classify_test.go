package analyze

import "testing"

// TestMethodKinds checks that methodOf and methodNames agree.
func TestMethodKinds(t *testing.T) {
	for k := methodOther + 1; int(k) < len(methodNames); k++ {
		if got := methodOf([]byte(methodNames[k])); got != k {
			t.Errorf("methodOf(%q) = %d, want %d", methodNames[k], got, k)
		}
	}
	for _, m := range []string{"", "invite", "INVITEX", "FOO"} {
		if got := methodOf([]byte(m)); got != methodOther {
			t.Errorf("methodOf(%q) = %d, want methodOther", m, got)
		}
	}
}
