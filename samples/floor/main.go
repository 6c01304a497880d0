// Command floor reads a capture and decodes every packet down to its UDP or
// TCP payload, and nothing more: the floor that samples/bench.sh compares
// sipalive with. By default it reads with sipalive's own pcap reader
// (capture.OpenFile, the reader sipalive uses) and decodes with gopacket's
// DecodingLayerParser; with -gopacket it reads with gopacket's pcapgo
// reader instead, the floor as the performance issue put it ("reading and
// decoding the same packets with gopacket"). No reassembly, no SIP work.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/sipalive/sipalive/capture"
)

// packetReader is what both readers offer: the next packet's bytes, valid
// until the following call.
type packetReader func() ([]byte, error)

func main() {
	withGopacket := flag.Bool("gopacket", false, "read with gopacket's pcapgo readers, not sipalive's")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: floor [-gopacket] FILE.pcap")
		os.Exit(2)
	}
	next, closeFile, err := open(flag.Arg(0), *withGopacket)
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(2)
	}
	defer closeFile()
	packets, payload, err := decodeAll(next)
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
	fmt.Printf("%d packets, %d payload bytes\n", packets, payload)
}

// decodeAll decodes every packet next returns down to its UDP or TCP
// payload, and counts the packets and the payload bytes.
func decodeAll(next packetReader) (packets, payload int, err error) {
	var (
		eth     layers.Ethernet
		ip4     layers.IPv4
		ip6     layers.IPv6
		udp     layers.UDP
		tcp     layers.TCP
		decoded []gopacket.LayerType
	)
	p := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &ip6, &udp, &tcp)
	p.IgnoreUnsupported = true
	for {
		data, err := next()
		if err == io.EOF {
			return packets, payload, nil
		}
		if err != nil {
			return packets, payload, err
		}
		packets++
		_ = p.DecodeLayers(data, &decoded)
		for _, lt := range decoded {
			switch lt {
			case layers.LayerTypeUDP:
				payload += len(udp.Payload)
			case layers.LayerTypeTCP:
				payload += len(tcp.Payload)
			}
		}
	}
}

// open returns the packet reader of path: sipalive's, or gopacket's.
func open(path string, withGopacket bool) (packetReader, func() error, error) {
	if !withGopacket {
		f, err := capture.OpenFile(path)
		if err != nil {
			return nil, nil, err
		}
		return func() ([]byte, error) {
			_, data, _, _, err := f.Next()
			return data, err
		}, f.Close, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	// Both of pcapgo's readers return a packet in place.
	var r interface {
		ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	br := bufio.NewReaderSize(f, 1<<20)
	if magic, _ := br.Peek(4); bytes.Equal(magic, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		r, err = pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
	} else {
		r, err = pcapgo.NewReader(br)
	}
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return func() ([]byte, error) {
		data, _, err := r.ZeroCopyReadPacketData()
		return data, err
	}, f.Close, nil
}
