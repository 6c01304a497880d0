package analyze

import "fmt"

// FindingKind is the kind of a Finding. Its words, which --fail-on takes
// and the JSON carries, are made by String.
type FindingKind uint8

// The kinds of finding, in the order help lists them.
const (
	FindingLost                 FindingKind = iota + 1 // 481 (or 408) to a keep-alive: the peer lost the dialog
	FindingUnsupported                                 // 405 or 501: the peer does not support the method
	FindingRefused                                     // another final answer: the peer holds the dialog but refused the request
	FindingUnanswered                                  // no final answer within the transaction timeout
	FindingExpired                                     // a session timer ran out without a refresh
	FindingStale                                       // a keep-alive after the dialog ended
	FindingDropped                                     // a BYE right after a failed keep-alive
	FindingLateRefresh                                 // a session refresh later than half the interval
	FindingDeviceDown                                  // a run of unanswered out-of-dialog pings
	FindingLateRegister                                // a REGISTER refresh after the binding expired
	FindingSDPInAnswer                                 // a 2xx with SDP to an UPDATE keep-alive without SDP
	FindingProxyBye                                    // a proxy, not a party, ended the call
	FindingAnswersUnknownDialog                        // a vendor answers 2xx for dialogs that had ended
	FindingTimerOff                                    // a re-INVITE or UPDATE answered 2xx without Session-Expires switched the session timer off
	FindingOfferRefused                                // an in-dialog re-INVITE or UPDATE that is no keep-alive was refused
	FindingRegisterFailed                              // a registrar refused a phone's REGISTERs (credentials, 403, 404, 423, 483 loop, 5xx)
	FindingFlood                                       // many out-of-dialog requests from one source to one target never answered
	findingKinds                                       // the number of kinds, plus one
)

var findingKindNames = [findingKinds]string{"unknown", "lost", "unsupported", "refused", "unanswered", "expired", "stale",
	"dropped", "late-refresh", "device-down", "late-register", "sdp-in-answer", "proxy-bye", "answers-unknown-dialog", "timer-off", "renegotiation-refused", "register-failed", "flood"}

func (k FindingKind) String() string { return Word(findingKindNames[:], k) }

// MarshalText writes the kind's word, for JSON values and map keys.
func (k FindingKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// FindingKinds lists every kind, in the order help lists them.
func FindingKinds() []FindingKind {
	kinds := make([]FindingKind, 0, findingKinds-1)
	for k := FindingLost; k < findingKinds; k++ {
		kinds = append(kinds, k)
	}
	return kinds
}

// ParseFindingKind returns the kind a word names.
func ParseFindingKind(s string) (FindingKind, bool) {
	for k := FindingLost; k < findingKinds; k++ {
		if findingKindNames[k] == s {
			return k, true
		}
	}
	return 0, false
}

// NATKind is the kind of a keep-alive that is not SIP.
type NATKind uint8

// The kinds of NAT and transport keep-alive.
const (
	NATCRLFPing  NATKind = iota + 1 // "\r\n\r\n" (RFC 5626 section 4.4.1)
	NATCRLFPong                     // "\r\n"
	NATEmpty                        // a UDP datagram without payload
	NATBlank                        // white space
	NATZeroBytes                    // zero bytes
	NATWSPing                       // a WebSocket ping frame (RFC 6455 section 5.5.2)
	NATWSPong                       // a WebSocket pong frame
	natKinds
)

var natKindNames = [natKinds]string{"", "CRLF ping", "CRLF pong", "empty", "blank", "zero bytes", "WebSocket ping", "WebSocket pong"}

func (k NATKind) String() string { return Word(natKindNames[:], k) }

// MarshalText writes the kind's words.
func (k NATKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Purpose is what an in-dialog re-INVITE or UPDATE that is no keep-alive
// was for, told from its SDP offer (RFC 3264, RFC 6337).
type Purpose uint8

// The purposes of a re-INVITE or UPDATE.
const (
	PurposeNone          Purpose = iota
	PurposeThirdParty            // a re-INVITE without SDP: third-party call control or a late offer (RFC 3725)
	PurposeRenegotiation         // an offer that changes the media (codecs, addresses)
	PurposeHold                  // an offer with sendonly, recvonly or inactive media (RFC 3264 section 8.4)
	PurposeResume                // an offer taking a held call back to sendrecv
	PurposeT38                   // an offer of m=image: a switch to T.38 fax (ITU-T T.38 Annex D)
	purposes
)

var purposeNames = [purposes]string{"", "third-party call control or late offer", "media renegotiation", "hold", "resume", "T.38 switch-over"}

func (p Purpose) String() string { return Word(purposeNames[:], p) }

// MarshalText writes the purpose's words.
func (p Purpose) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// Word is an enumeration value's word from its list, "unknown" past it:
// the String of the analysis' kinds, and of the probe's.
func Word[T ~uint8](names []string, v T) string {
	if int(v) >= len(names) {
		return "unknown"
	}
	return names[v]
}

// ParseWord is Word's inverse: the value whose word s is.
func ParseWord[T ~uint8](names []string, s string, v *T) error {
	for i, n := range names {
		if n == s {
			*v = T(i)
			return nil
		}
	}
	return fmt.Errorf("unknown value %q", s)
}

// UnmarshalText reads a kind's word, for reports read back (merge).
func (k *FindingKind) UnmarshalText(b []byte) error {
	return ParseWord(findingKindNames[:], string(b), k)
}

// UnmarshalText reads a kind's words.
func (k *NATKind) UnmarshalText(b []byte) error { return ParseWord(natKindNames[:], string(b), k) }

// UnmarshalText reads a purpose's words.
func (p *Purpose) UnmarshalText(b []byte) error { return ParseWord(purposeNames[:], string(b), p) }

// UnmarshalText reads a gap's word.
func (g *RegGap) UnmarshalText(b []byte) error { return ParseWord(regGapNames[:], string(b), g) }
