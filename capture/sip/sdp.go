package sip

import "bytes"

// Media is what an SDP offer says about the media it proposes, as far as
// telling a re-INVITE's purpose needs: a switch to T.38 fax, or the
// direction that puts a call on hold or takes it off (RFC 3264 section
// 8.4, RFC 6337 section 5).
type Media uint8

// The media facts of an SDP body.
const (
	MediaImage    Media = 1 << iota // an m=image line (T.38 fax, "udptl t38")
	MediaSendOnly                   // a=sendonly: holding the other side
	MediaRecvOnly                   // a=recvonly
	MediaInactive                   // a=inactive, or a connection address of 0.0.0.0 (RFC 2543 hold)
	MediaSendRecv                   // a=sendrecv written out
)

var (
	sdpImage    = []byte("m=image ")
	sdpSendOnly = []byte("a=sendonly")
	sdpRecvOnly = []byte("a=recvonly")
	sdpInactive = []byte("a=inactive")
	sdpSendRecv = []byte("a=sendrecv")
	sdpNullAddr = []byte("c=IN IP4 0.0.0.0")
)

// ScanSDP reads the media facts of the session description in body, line
// by line (LF or CR LF ends a line); nothing is allocated.
func ScanSDP(body []byte) Media {
	var m Media
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		line = bytes.TrimRight(line, "\r \t")
		switch {
		case bytes.HasPrefix(line, sdpImage):
			m |= MediaImage
		case bytes.Equal(line, sdpSendOnly):
			m |= MediaSendOnly
		case bytes.Equal(line, sdpRecvOnly):
			m |= MediaRecvOnly
		case bytes.Equal(line, sdpInactive), bytes.Equal(line, sdpNullAddr):
			m |= MediaInactive
		case bytes.Equal(line, sdpSendRecv):
			m |= MediaSendRecv
		}
	}
	return m
}

// Holds reports whether the offer puts the call on hold: some media is
// sendonly, recvonly or inactive and none is sendrecv.
func (m Media) Holds() bool {
	return m&(MediaSendOnly|MediaRecvOnly|MediaInactive) != 0 && m&MediaSendRecv == 0
}
