package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
)

type count struct{ packets, payload int }

// readBoth decodes path with both readers.
func readBoth(t *testing.T, path string) (sipalive, gopacket count) {
	t.Helper()
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
	return got[0], got[1]
}

// TestReadersAgree: both floors read the same packets of a sample, so
// that bench.sh compares sipalive with two floors of the same work.
func TestReadersAgree(t *testing.T) {
	own, gp := readBoth(t, filepath.Join("..", "keepalive-mix.pcap"))
	if want := (count{75, 24895}); own != want || gp != want {
		t.Errorf("sipalive's reader read %+v, pcapgo %+v; want %+v each", own, gp, want)
	}
}

// TestReadersAgreeOnPcapng: gopacket's floor reads pcapng too, with
// pcapgo's NgReader, so that bench.sh runs on a dumpcap capture.
func TestReadersAgreeOnPcapng(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mix.pcapng")
	if err := toPcapng(filepath.Join("..", "keepalive-mix.pcap"), path); err != nil {
		t.Fatal(err)
	}
	own, gp := readBoth(t, path)
	if want := (count{75, 24895}); own != want || gp != want {
		t.Errorf("sipalive's reader read %+v, pcapgo %+v; want %+v each", own, gp, want)
	}
}

// toPcapng rewrites a classic pcap as pcapng.
func toPcapng(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	r, err := pcapgo.NewReader(in)
	if err != nil {
		return err
	}
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer out.Close()
	w, err := pcapgo.NewNgWriter(out, r.LinkType())
	if err != nil {
		return err
	}
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			return w.Flush()
		}
		if err != nil {
			return err
		}
		if err := w.WritePacket(ci, data); err != nil {
			return err
		}
	}
}
