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
func Classify(m *sip.Message) Class { return classify(m, m.HasSDP()) }

// classify is Classify for a message whose HasSDP is known.
func classify(m *sip.Message, sdp bool) Class {
	inDialog := m.IsInDialog()
	method := string(m.Method) // compared, not stored: no allocation
	switch method {
	case "INFO", "UPDATE", "MESSAGE", "OPTIONS":
		if inDialog {
			switch {
			case !sdp:
				return ClassSessionKeepAlive
			case method == "UPDATE":
				return ClassUpdateWithSDP
			default:
				return ClassInDialogWithSDP
			}
		}
		switch method {
		case "MESSAGE":
			return ClassMessageOutOfDialog
		case "OPTIONS":
			return ClassDeviceKeepAlive
		}
	case "INVITE":
		if inDialog {
			if sdp {
				return ClassReinviteWithSDP
			}
			return ClassReinviteNoSDP
		}
	case "REGISTER":
		return ClassDeviceKeepAlive
	}
	return ClassOther
}

// methodName returns a static string for the common methods so that
// storing a method name does not allocate; "" for the others.
func methodName(b []byte) string {
	switch string(b) {
	case "INVITE":
		return "INVITE"
	case "ACK":
		return "ACK"
	case "BYE":
		return "BYE"
	case "CANCEL":
		return "CANCEL"
	case "OPTIONS":
		return "OPTIONS"
	case "REGISTER":
		return "REGISTER"
	case "INFO":
		return "INFO"
	case "UPDATE":
		return "UPDATE"
	case "MESSAGE":
		return "MESSAGE"
	case "PRACK":
		return "PRACK"
	case "SUBSCRIBE":
		return "SUBSCRIBE"
	case "NOTIFY":
		return "NOTIFY"
	case "REFER":
		return "REFER"
	case "PUBLISH":
		return "PUBLISH"
	}
	return ""
}
