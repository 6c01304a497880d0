package analyze

import "github.com/sipalive/sipalive/capture/sip"

// Class is what a request means for keep-alive analysis.
type Class uint8

// Request classes. The names of the not-keep-alive classes are the keys of
// the corpus schema's not_keepalive object.
const (
	ClassOther              Class = iota // none of the below (INVITE, BYE, ACK, ...)
	ClassSessionKeepAlive                // in-dialog INFO, UPDATE, MESSAGE or OPTIONS without SDP
	ClassReinviteNoSDP                   // in-dialog INVITE without SDP: 3PCC or late offer
	ClassReinviteWithSDP                 // in-dialog INVITE with SDP: refresh that renegotiates media
	ClassUpdateWithSDP                   // in-dialog UPDATE with SDP: refresh that renegotiates media
	ClassMessageOutOfDialog              // MESSAGE without a To tag: an instant message
	ClassDeviceKeepAlive                 // out-of-dialog OPTIONS ping or REGISTER refresh
	ClassInDialogWithSDP                 // in-dialog INFO, MESSAGE or OPTIONS carrying SDP: not a keep-alive
)

// Key is the class's key in the JSON summary.
func (c Class) Key() string {
	switch c {
	case ClassSessionKeepAlive:
		return "session_keepalive"
	case ClassReinviteNoSDP:
		return "reinvite_no_sdp"
	case ClassReinviteWithSDP:
		return "reinvite_with_sdp"
	case ClassUpdateWithSDP:
		return "update_with_sdp"
	case ClassMessageOutOfDialog:
		return "message_out_of_dialog"
	case ClassDeviceKeepAlive:
		return "device_keepalive"
	case ClassInDialogWithSDP:
		return "in_dialog_with_sdp"
	}
	return "other"
}

// IsNotKeepAlive reports whether the class belongs in the not_keepalive
// counts: requests that look like keep-alives but are not.
func (c Class) IsNotKeepAlive() bool {
	switch c {
	case ClassReinviteNoSDP, ClassReinviteWithSDP, ClassUpdateWithSDP, ClassMessageOutOfDialog:
		return true
	}
	return false
}

// Classify applies the keep-alive rules to a request. A request is inside a
// dialog when it carries a To tag; a body holds SDP when its Content-Type is
// application/sdp or a multipart with such a part.
func Classify(m *sip.Message) Class { return classify(methodOf(m.Method), m.IsInDialog(), m.HasSDP()) }

// classify is Classify for a request of method k, whose place (in a dialog
// or not) and SDP are known.
func classify(k methodKind, inDialog, sdp bool) Class {
	switch k {
	case methodInfo, methodUpdate, methodMessage, methodOptions:
		if inDialog {
			switch {
			case !sdp:
				return ClassSessionKeepAlive
			case k == methodUpdate:
				return ClassUpdateWithSDP
			default:
				return ClassInDialogWithSDP
			}
		}
		switch k {
		case methodMessage:
			return ClassMessageOutOfDialog
		case methodOptions:
			return ClassDeviceKeepAlive
		}
	case methodInvite:
		if inDialog {
			if sdp {
				return ClassReinviteWithSDP
			}
			return ClassReinviteNoSDP
		}
	case methodRegister:
		return ClassDeviceKeepAlive
	}
	return ClassOther
}

// methodKind names the common methods, so that a request's method is
// matched once per message (see Scanner.Scan) and its name stored without
// allocating.
type methodKind uint8

const (
	methodOther methodKind = iota
	methodInvite
	methodAck
	methodBye
	methodCancel
	methodOptions
	methodRegister
	methodInfo
	methodUpdate
	methodMessage
	methodPrack
	methodSubscribe
	methodNotify
	methodRefer
	methodPublish
)

// methodNames are the kinds' names; "" for the others.
var methodNames = [...]string{"", "INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER",
	"INFO", "UPDATE", "MESSAGE", "PRACK", "SUBSCRIBE", "NOTIFY", "REFER", "PUBLISH"}

// methodOf returns the kind of the method named b (case-sensitive, as
// RFC 3261 section 7.1 has methods).
func methodOf(b []byte) methodKind {
	switch string(b) {
	case "INVITE":
		return methodInvite
	case "ACK":
		return methodAck
	case "BYE":
		return methodBye
	case "CANCEL":
		return methodCancel
	case "OPTIONS":
		return methodOptions
	case "REGISTER":
		return methodRegister
	case "INFO":
		return methodInfo
	case "UPDATE":
		return methodUpdate
	case "MESSAGE":
		return methodMessage
	case "PRACK":
		return methodPrack
	case "SUBSCRIBE":
		return methodSubscribe
	case "NOTIFY":
		return methodNotify
	case "REFER":
		return methodRefer
	case "PUBLISH":
		return methodPublish
	}
	return methodOther
}
