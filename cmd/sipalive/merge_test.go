package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/sipalive/sipalive/capture"
)

// TestFilesCapturedAtOnceReadAsOne splits a sample in two files the way
// two interfaces would capture it (one per direction) and checks that
// analysing both gives the report of the whole: requests in one file,
// their answers in the other.
func TestFilesCapturedAtOnceReadAsOne(t *testing.T) {
	sample := filepath.Join("..", "..", "samples", "keepalive-mix.pcap")
	f, err := capture.OpenFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var outs [2]*os.File
	var ws [2]*pcapgo.Writer
	for i := range outs {
		if outs[i], err = os.Create(filepath.Join(dir, []string{"inside.pcap", "outside.pcap"}[i])); err != nil {
			t.Fatal(err)
		}
		ws[i] = pcapgo.NewWriterNanos(outs[i])
		if err := ws[i].WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
			t.Fatal(err)
		}
	}
	for {
		_, data, ci, _, err := f.Next()
		if err != nil {
			break
		}
		side := 0
		if bytes.Compare(data[26:30], data[30:34]) > 0 { // IPv4 source above destination
			side = 1
		}
		if err := ws[side].WritePacket(*ci, data); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	for _, o := range outs {
		o.Close()
	}
	report := func(files ...string) map[string]json.RawMessage {
		code, out, errOut := runCLI(append([]string{"analyze", "--format", "json"}, files...)...)
		if code != exitOK {
			t.Fatalf("%v: exit %d: %s", files, code, errOut)
		}
		var r map[string]json.RawMessage
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	whole := report(sample)
	split := report(outs[0].Name(), outs[1].Name())
	for _, key := range []string{"summary", "dialogs", "device_keepalives", "findings", "vendors"} {
		if string(whole[key]) != string(split[key]) {
			t.Errorf("%s differs:\nwhole %s\nsplit %s", key, whole[key], split[key])
		}
	}
}

// TestStandardInput reads a capture piped in (-r -, as from ssh and
// tcpdump -w -) and gets the report of the file; -w, which reads the
// input twice, refuses it.
func TestStandardInput(t *testing.T) {
	sample := filepath.Join("..", "..", "samples", "keepalive-mix.pcap")
	in, err := os.Open(sample)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	stdin := os.Stdin
	os.Stdin = in
	defer func() { os.Stdin = stdin }()
	code, piped, errOut := runCLI("analyze", "--format", "json", "-r", "-")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	_, whole, _ := runCLI("analyze", "--format", "json", sample)
	var a, b map[string]json.RawMessage
	json.Unmarshal([]byte(piped), &a)
	json.Unmarshal([]byte(whole), &b)
	if string(a["summary"]) != string(b["summary"]) || string(a["dialogs"]) != string(b["dialogs"]) {
		t.Errorf("standard input gives\n%s\nthe file\n%s", a["summary"], b["summary"])
	}
	if code, _, errOut := runCLI("analyze", "-w", filepath.Join(t.TempDir(), "p.pcap"), "-"); code != exitUsage || !bytes.Contains([]byte(errOut), []byte("standard input")) {
		t.Errorf("-w with standard input: exit %d: %s", code, errOut)
	}
}
