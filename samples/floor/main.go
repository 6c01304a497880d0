// Command floor reads a capture and decodes every packet down to its UDP or
// TCP payload, and nothing more: the floor that samples/bench.sh compares
// sipalive with (the same file reader, capture.OpenFile, and gopacket's
// decoder; no reassembly, no SIP work).
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/sipalive/sipalive/capture"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: floor FILE.pcap")
		os.Exit(2)
	}
	f, err := capture.OpenFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(2)
	}
	defer f.Close()
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
	var packets, payload int
	for {
		data, _, _, err := f.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "floor:", err)
			os.Exit(1)
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
	fmt.Printf("%d packets, %d payload bytes\n", packets, payload)
}
