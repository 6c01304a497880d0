package render

import (
	"strings"
	"testing"

	"github.com/sipalive/sipalive/analyze"
)

// TestDialogVerdict: what a dialog's last keep-alive says of the peer
// (RFC 5057 5.1: only 481 and 408 end the dialog, RFC 4028 section 10; any
// other refusal leaves it alive).
func TestDialogVerdict(t *testing.T) {
	for final, want := range map[int]string{200: "alive", 481: "lost (481)", 408: "lost (408)", 405: "method unsupported (405)",
		501: "method unsupported (501)", 488: "refused (488), dialog alive", 415: "refused (415), dialog alive", 0: "no answer"} {
		if got := DialogVerdict(&analyze.DialogReport{LastCode: final}); got != want {
			t.Errorf("DialogVerdict(%d) = %q, want %q", final, got, want)
		}
	}
}

func TestDialogEnded(t *testing.T) {
	for _, tt := range []struct {
		by      string
		dropped bool
		want    string
	}{
		{"", false, "no BYE seen"},
		{"caller", false, "BYE by caller"},
		{"proxy", true, "BYE by proxy: dropped by keep-alive"},
	} {
		if got := DialogEnded(&analyze.DialogReport{EndedBy: tt.by, Dropped: tt.dropped}); got != tt.want {
			t.Errorf("DialogEnded(%q, %v) = %q, want %q", tt.by, tt.dropped, got, tt.want)
		}
	}
}

// TestFindingDetail: each kind's words, from its facts.
func TestFindingDetail(t *testing.T) {
	for _, tt := range []struct {
		f    analyze.Finding
		want string
	}{
		{analyze.Finding{Kind: analyze.FindingLost, Facts: analyze.FindingFacts{Method: "INFO", CSeq: 3, Side: "caller", Code: 481, Outcome: analyze.Outcome481}},
			"INFO (CSeq 3) from caller answered 481: the peer lost the dialog"},
		{analyze.Finding{Kind: analyze.FindingUnanswered, Facts: analyze.FindingFacts{Method: "UPDATE", CSeq: 4, Side: "callee", Outcome: analyze.OutcomeUnanswered, Retransmissions: 2}},
			"UPDATE (CSeq 4) from callee never answered (2 retransmissions)"},
		{analyze.Finding{Kind: analyze.FindingStale, Facts: analyze.FindingFacts{Method: "INFO", Side: "caller", Seconds: 10}},
			"INFO from caller sent 10.0 s after the BYE, never answered"},
		{analyze.Finding{Kind: analyze.FindingProxyBye, Facts: analyze.FindingFacts{Seconds: -1}},
			"the proxy, not a party, ended the call with a BYE to each: its dialog timeout or session timer ran out (no keep-alive failed before it)"},
		{analyze.Finding{Kind: analyze.FindingExpired, Facts: analyze.FindingFacts{SessionExpires: 90, Limit: 60, Gap: 170.1}},
			"Session-Expires 90 s, refresher unnamed (uac): no refresh by 60 s (longest gap 170.1 s)"},
	} {
		if got := FindingDetail(&tt.f); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.f.Kind, got, tt.want)
		}
	}
}

// TestAdvice checks which method the audit advises towards a vendor: INFO
// unless it refused INFO, then one it answered 2xx.
func TestAdvice(t *testing.T) {
	refused, ok := &analyze.Outcomes{Sent: 1, OtherFinal: 1}, &analyze.Outcomes{Sent: 1, OK: 1}
	for _, tt := range []struct {
		answered map[string]*analyze.Outcomes
		want     string
	}{
		{nil, "INFO"},
		{map[string]*analyze.Outcomes{"UPDATE": {Sent: 1, C501: 1}}, "INFO"},
		{map[string]*analyze.Outcomes{"INFO": refused, "OPTIONS": ok}, "OPTIONS"},
		{map[string]*analyze.Outcomes{"INFO": refused, "UPDATE": ok}, "UPDATE"},
		{map[string]*analyze.Outcomes{"INFO": refused}, "OPTIONS"},
		{map[string]*analyze.Outcomes{"INFO": refused, "OPTIONS": refused}, "a method it answers 2xx (none seen)"},
	} {
		if got := safeKeepAlive(&analyze.VendorReport{Answered: tt.answered}); got != tt.want {
			t.Errorf("safeKeepAlive(%v) = %q, want %q", tt.answered, got, tt.want)
		}
	}
}

// TestRecommendation: the advice names what the peer refused and the
// method to use instead, and RFC 3311 for a 2xx with SDP to an UPDATE
// without.
func TestRecommendation(t *testing.T) {
	peer := analyze.VendorReport{Agent: "Peer", Answered: map[string]*analyze.Outcomes{"UPDATE": {Sent: 1, C501: 1}}, SDPAnswers: 1}
	got := Recommendation(&peer, nil)
	for _, want := range []string{"rejects UPDATE (501): peers should keep alive with INFO", "RFC 3311"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
	sender := analyze.VendorReport{Agent: "Phone", Sent: map[string]int{"UPDATE": 2}, UpdateRefusers: []string{"Peer"}}
	if got := Recommendation(&sender, []analyze.VendorReport{sender, peer}); got != "sends UPDATE to Peer whose Allow does not list it: keep alive with INFO" {
		t.Errorf("sender's advice %q", got)
	}
}

// TestNoSIPHint: a capture without SIP whose packets sit in encryption or
// tunnels the tool cannot open says so in the overview.
func TestNoSIPHint(t *testing.T) {
	var b strings.Builder
	rep := &analyze.Report{Overview: analyze.Overview{Packets: 106}}
	rep.Overview.Capture.ESP = 100
	rep.Overview.Capture.GTPControl = 6
	if err := Tables(&b, rep, 0); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"why no SIP", "100 IPsec ESP packets", "6 GTP-C datagrams"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("overview lacks %q:\n%s", want, b.String())
		}
	}
}
