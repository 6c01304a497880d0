package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/gopacket/gopacket/layers"

	"github.com/sipalive/sipalive/capture"
)

const collectUsage = `usage: sipalive collect [flags] ADDR

A HEP collector: listens on ADDR (host:port, e.g. :9060) for HEP from
capture agents (Kamailio siptrace, OpenSIPS proto_hep, FreeSWITCH, Asterisk
res_hep, heplify), HEP3 over UDP and TCP and HEP 1/2 over UDP, and runs the
same analysis as sniff on what they send, with the original addresses and
times; each agent is an input of the report. -w writes what arrived as a
capture (raw IP datagrams from each agent) that analyses the same. Stop
with Ctrl-C, --duration or -c.

flags:
`

func cmdCollect(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("collect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var lf liveFlags
	lf.register(fs, "the HEP packets received, as datagrams from each agent,")
	if help, err := parseCommand(fs, args, collectUsage, stderr); help || err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("collect: give the one address to listen on (host:port, e.g. :9060)")
	}
	kinds, err := lf.check(fs)
	if err != nil {
		return err
	}
	c, err := capture.ListenHEP(fs.Arg(0))
	if err != nil {
		return err
	}
	defer c.Close()
	announce := fmt.Sprintf("collecting HEP on %s (UDP and TCP)", c.Addr())
	return runLive(c, layers.LinkTypeRaw, nil, "sipalive collect "+c.Addr().String(), announce, &lf, kinds, stdout, stderr)
}
