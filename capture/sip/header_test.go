package sip

import (
	"bytes"
	"reflect"
	"testing"
)

func TestIndexColonAndParamEnd(t *testing.T) {
	for _, s := range []string{"", ":", "a", "Via: x", "Content-Length: 5", "Session-Expires : 9", "abcdefghijklmnopq:", "no colon at all here"} {
		if got, want := indexColon([]byte(s)), bytes.IndexByte([]byte(s), ':'); got != want {
			t.Errorf("indexColon(%q) = %d, want %d", s, got, want)
		}
		want := bytes.IndexAny([]byte(s), ";,")
		if want < 0 {
			want = len(s)
		}
		if got := indexParamEnd([]byte(s)); got != want {
			t.Errorf("indexParamEnd(%q) = %d, want %d", s, got, want)
		}
	}
}

// TestReset checks that reset clears every field a parse sets: reset
// names the fields one by one, and a field added later must join them.
func TestReset(t *testing.T) {
	var m Message
	if err := Parse(crlf(inviteSDP), &m); err != nil {
		t.Fatal(err)
	}
	m.Status, m.Reason, m.Server, m.Expires, m.ReasonHeader = 200, []byte("OK"), []byte("s"), 5, []byte("r")
	m.reset()
	m.Supported, m.Require, m.Allow = Tokens{}, Tokens{}, Tokens{} // stale values past n are allowed
	nilEmpty(reflect.ValueOf(&m).Elem())                           // reset cuts slices to empty, which readers take for absent
	if want := (Message{ContentLength: -1, Expires: -1}); !reflect.DeepEqual(m, want) {
		t.Errorf("after reset: %+v", m)
	}
}

// nilEmpty sets the empty byte slices within v to nil.
func nilEmpty(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			nilEmpty(v.Field(i))
		}
	case reflect.Slice:
		if v.Len() == 0 && v.CanSet() {
			v.SetZero()
		}
	}
}

func TestHeaderOf(t *testing.T) {
	for _, tt := range []struct {
		line string
		want header
	}{
		{"Call-ID: x", hCallID}, {"call-id: x", hCallID}, {"CALL-ID", hCallID}, {"i: x", hCallID},
		{"Content-Length: 0", hContentLength}, {"content-lengtH:", hContentLength}, {"l:", hContentLength},
		{"Session-Expires: 90", hSessionExpires}, {"x: 90", hSessionExpires}, {"Via", hVia}, {"To", hTo},
		{"Contact: <sip:x>", hOther}, {"Call-Info: x", hOther}, {"Call\rID: x", hOther}, {"Content-Lengthy:", hOther},
		{"Min_SE: 90", hOther}, {"Accept: x", hOther}, {"User-Agent", hUserAgent}, {"Supported", hSupported},
	} {
		line := []byte(tt.line)
		n := bytes.IndexByte(line, ':')
		if n < 0 {
			n = len(line)
		}
		if got := headerOf(line, n); got != tt.want {
			t.Errorf("headerOf(%q) = %d, want %d", tt.line, got, tt.want)
		}
		if got := headerOf(line[:n:n], n); got != tt.want { // no bytes past the name
			t.Errorf("headerOf(%q) alone = %d, want %d", tt.line[:n], got, tt.want)
		}
	}
}
