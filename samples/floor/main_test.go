package main

import (
	"path/filepath"
	"testing"
)

// TestReadersAgree: both floors read the same packets of a sample, so
// that bench.sh compares sipalive with two floors of the same work.
func TestReadersAgree(t *testing.T) {
	path := filepath.Join("..", "keepalive-mix.pcap")
	type count struct{ packets, payload int }
	var got [2]count
	for i, withGopacket := range []bool{false, true} {
		next, closeFile, err := open(path, withGopacket)
		if err != nil {
			t.Fatal(err)
		}
		packets, payload, err := decodeAll(next)
		closeFile()
		if err != nil {
			t.Fatalf("gopacket reader %v: %v", withGopacket, err)
		}
		got[i] = count{packets, payload}
	}
	if want := (count{75, 24895}); got[0] != want || got[1] != want {
		t.Errorf("sipalive's reader read %+v, pcapgo %+v; want %+v each", got[0], got[1], want)
	}
}
