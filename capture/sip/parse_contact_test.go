package sip

import (
	"bytes"
	"reflect"
	"testing"
)

func TestBindings(t *testing.T) {
	type b struct {
		uri     string
		expires int
	}
	head := "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:a@h>;tag=2\r\nCall-ID: r1\r\nCSeq: 2 REGISTER\r\n"
	tests := []struct {
		name    string
		headers string
		want    []b
	}{
		{"none", "Expires: 60\r\n", nil},
		{"name-addr with expires", "Contact: <sip:a@192.0.2.1:5060;transport=udp>;expires=600\r\n", []b{{"sip:a@192.0.2.1:5060;transport=udp", 600}}},
		{"no expires", "Contact: <sip:a@192.0.2.1>\r\n", []b{{"sip:a@192.0.2.1", -1}}},
		{"addr-spec: its parameters are the contact's", "Contact: sip:a@192.0.2.1;expires=30\r\n", []b{{"sip:a@192.0.2.1", 30}}},
		{"compact form, any case, white space", "m:   <sip:a@h> ; Expires = 45 ; +sip.instance=\"<urn:uuid:1>\"\r\n", []b{{"sip:a@h", 45}}},
		{"several bindings on one line and on two", "Contact: \"Desk, 2nd\" <sip:a@10.0.0.2>;expires=100, <sip:a@10.0.0.3;lr>;expires=200\r\nContact: <sip:a@10.0.0.4>;q=0.5;expires=300\r\n",
			[]b{{"sip:a@10.0.0.2", 100}, {"sip:a@10.0.0.3;lr", 200}, {"sip:a@10.0.0.4", 300}}},
		{"a comma inside the brackets", "Contact: <sip:a@h;x=1,2>;expires=9\r\n", []b{{"sip:a@h;x=1,2", 9}}},
		{"star", "Contact: *\r\n", []b{{"*", -1}}},
		{"folded", "Contact: <sip:a@h>\r\n ;expires=70\r\n", []b{{"sip:a@h", 70}}},
		{"a body line that looks like a header is not read", "Content-Length: 20\r\n\r\nContact: <sip:x@y>\r\n", nil},
		{"other headers named alike", "Contacts: <sip:x@y>\r\nX-Contact: <sip:x@y>\r\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var dst [8]Binding
			n := Bindings([]byte(head+tt.headers+"\r\n"), dst[:])
			var got []b
			for _, bd := range dst[:n] {
				got = append(got, b{string(bd.URI), bd.Expires})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	// dst bounds what is read
	var one [1]Binding
	if n := Bindings([]byte(head+"Contact: <sip:a@h>, <sip:b@h>\r\n\r\n"), one[:]); n != 1 || string(one[0].URI) != "sip:a@h" {
		t.Errorf("with room for one: %d %q", n, one[0].URI)
	}
}

// FuzzBindings: no panic, never more than dst holds, every URI a slice
// of the input.
func FuzzBindings(f *testing.F) {
	f.Add([]byte("REGISTER sip:h SIP/2.0\r\nContact: <sip:a@h>;expires=60, sip:b@h;expires=1\r\nm: *\r\n\r\n"))
	f.Add([]byte("SIP/2.0 200 OK\r\nContact: \"x,<y>\" <sip:a@h;p=\">\">;expires=60\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var dst [4]Binding
		n := Bindings(b, dst[:])
		if n < 0 || n > len(dst) {
			t.Fatalf("n = %d", n)
		}
		for _, bd := range dst[:n] {
			if len(bd.URI) > 0 && !bytes.Contains(b, bd.URI) {
				t.Fatalf("URI %q not from the input", bd.URI)
			}
			if bd.Expires < -1 {
				t.Fatalf("expires %d", bd.Expires)
			}
		}
	})
}
