package render

// The vendor audit's advice, by the field rules: SDP-less UPDATE, INFO and
// MESSAGE inside a dialog keep a session alive; INFO (RFC 3261, RFC 6086)
// is the safe choice; a re-INVITE without SDP is third-party call control.

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/sipalive/sipalive/analyze"
)

// EndedDialogVerdict says how a vendor answers keep-alives for dialogs
// that had ended (RFC 3261 section 12.2.2 asks for 481).
func EndedDialogVerdict(v *analyze.VendorReport) string {
	switch e := v.EndedDialog; {
	case e["2xx"] > 0:
		return fmt.Sprintf("answered 2xx ×%d for dialogs that had ended: it should answer 481", e["2xx"])
	case e["481"] > 0:
		return "answers 481 for dialogs that had ended (correct)"
	}
	return ""
}

// safeKeepAlive is the keep-alive method to use towards a vendor: INFO
// (RFC 3261 has it, where UPDATE is an extension) unless the vendor
// refused it, else a method it answered 2xx, else OPTIONS unless refused.
func safeKeepAlive(v *analyze.VendorReport) string {
	refused := func(m string) bool {
		o := v.Answered[m]
		return o != nil && o.OK == 0 && o.C405+o.C501+o.OtherFinal > 0
	}
	if !refused("INFO") {
		return "INFO"
	}
	for _, m := range []string{"OPTIONS", "UPDATE", "MESSAGE"} {
		if o := v.Answered[m]; o != nil && o.OK > 0 {
			return m
		}
	}
	if !refused("OPTIONS") {
		return "OPTIONS"
	}
	return "a method it answers 2xx (none seen)"
}

// Recommendation applies the field rules to a vendor's behaviour; vendors
// are the report's, where the peers it sent UPDATE to are found.
func Recommendation(v *analyze.VendorReport, vendors []analyze.VendorReport) string {
	noUpdate := map[string][]string{} // peers whose Allow lacks UPDATE, by the method to use instead
	for _, recv := range v.UpdateRefusers {
		for i := range vendors {
			if vendors[i].Agent == recv {
				m := safeKeepAlive(&vendors[i])
				noUpdate[m] = append(noUpdate[m], recv)
			}
		}
	}
	var rec []string
	if v.ReinviteNoSDP > 0 {
		rec = append(rec, "do not use re-INVITE without SDP as a keep-alive (that is 3PCC)")
	}
	if v.MessageOutOfDialog > 0 && len(v.Sent) > 0 {
		rec = append(rec, "send MESSAGE keep-alives only inside the dialog")
	}
	var refused []string
	for _, m := range slices.Sorted(maps.Keys(v.Answered)) {
		o := v.Answered[m]
		if o.C405+o.C501 == 0 && (o.OtherFinal == 0 || o.OK > 0) {
			continue
		}
		var codes []string
		for _, c := range []struct {
			code string
			n    int
		}{{"405", o.C405}, {"501", o.C501}} {
			if c.n > 0 {
				codes = append(codes, c.code)
			}
		}
		if o.OK == 0 {
			codes = append(codes, slices.Sorted(maps.Keys(v.AnsweredOther[m]))...)
		}
		refused = append(refused, m+" ("+strings.Join(codes, "/")+")")
	}
	if len(refused) > 0 {
		rec = append(rec, "rejects "+strings.Join(refused, ", ")+": peers should keep alive with "+safeKeepAlive(v))
	}
	for _, m := range slices.Sorted(maps.Keys(noUpdate)) {
		peers := slices.Sorted(slices.Values(noUpdate[m]))
		rec = append(rec, "sends UPDATE to "+strings.Join(peers, ", ")+" whose Allow does not list it: keep alive with "+m)
	}
	if len(noUpdate) == 0 && v.Sent["UPDATE"] > 0 && v.Sent["INFO"] == 0 {
		rec = append(rec, "keeps alive with UPDATE only: fine where the peer's Allow lists it; INFO (RFC 3261) is the safe choice")
	}
	if v.WithSDP > 0 {
		rec = append(rec, "keep-alives must not carry SDP")
	}
	if v.SDPAnswers > 0 {
		rec = append(rec, "answers UPDATE without SDP with SDP: the 2xx must carry none (RFC 3311)")
	}
	sort.Strings(rec)
	return strings.Join(rec, "; ")
}
