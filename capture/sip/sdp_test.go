package sip

import "testing"

func TestScanSDP(t *testing.T) {
	audio := "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
	for _, tt := range []struct {
		name, body string
		want       Media
		holds      bool
	}{
		{"audio, no direction", audio, 0, false},
		{"hold", audio + "a=sendonly\r\n", MediaSendOnly, true},
		{"inactive", audio + "a=inactive\r\n", MediaInactive, true},
		{"RFC 2543 hold", "v=0\nc=IN IP4 0.0.0.0\nm=audio 4000 RTP/AVP 0\n", MediaInactive, true},
		{"resume", audio + "a=sendrecv\r\n", MediaSendRecv, false},
		{"T.38", "v=0\r\nm=image 4002 udptl t38\r\na=T38FaxVersion:0\r\n", MediaImage, false},
		{"audio held, video live", audio + "a=sendonly\r\nm=video 4004 RTP/AVP 96\r\na=sendrecv\r\n", MediaSendOnly | MediaSendRecv, false},
	} {
		got := ScanSDP([]byte(tt.body))
		if got != tt.want || got.Holds() != tt.holds {
			t.Errorf("%s: %b (holds %v), want %b (%v)", tt.name, got, got.Holds(), tt.want, tt.holds)
		}
	}
}
