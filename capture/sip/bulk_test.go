package sip_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/sipalive/sipalive/capture/sip"
	"github.com/sipalive/sipalive/samples/synth"
)

// BenchmarkParseBulk scans the SIP messages of a generated trunk capture
// (the mix of methods, responses and bodies the 1 GB bench file has). One
// op is one message.
func BenchmarkParseBulk(b *testing.B) {
	raw, err := synth.BulkPcap(500)
	if err != nil {
		b.Fatal(err)
	}
	r, err := pcapgo.NewReader(bytes.NewReader(raw))
	if err != nil {
		b.Fatal(err)
	}
	var msgs [][]byte
	for {
		data, _, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.NoCopy)
		if u, ok := p.TransportLayer().(*layers.UDP); ok && len(u.Payload) > 0 {
			msgs = append(msgs, u.Payload)
		}
	}
	var m sip.Message
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := sip.Parse(msgs[i%len(msgs)], &m); err != nil {
			b.Fatal(err)
		}
	}
}
