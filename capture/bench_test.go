package capture_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/sipalive/sipalive/capture"
	"github.com/sipalive/sipalive/capture/sip"
	"github.com/sipalive/sipalive/samples/synth"
)

type rawPacket struct {
	data []byte
	ci   gopacket.CaptureInfo
}

// bulkPackets is a generated trunk capture held in memory.
func bulkPackets(b *testing.B, calls int) ([]rawPacket, layers.LinkType) {
	raw, err := synth.BulkPcap(calls)
	if err != nil {
		b.Fatal(err)
	}
	r, err := pcapgo.NewReader(bytes.NewReader(raw))
	if err != nil {
		b.Fatal(err)
	}
	var pkts []rawPacket
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		pkts = append(pkts, rawPacket{data, ci})
	}
	return pkts, r.LinkType()
}

// BenchmarkDecodeAndScan measures the per-packet path: link, IP, UDP/TCP
// decoding, TCP reassembly and framing, and the SIP scan of every message.
// One op is one packet; allocs/op must be 0.
func BenchmarkDecodeAndScan(b *testing.B) {
	pkts, link := bulkPackets(b, 2000)
	var m sip.Message
	scanned := 0
	dec := capture.NewDecoder(func(cm *capture.Message) {
		if cm.Kind == capture.SIP && sip.Parse(cm.Payload, &m) == nil {
			scanned++
		}
	})
	// one pass to warm the decoder's buffers and connection table
	for _, p := range pkts {
		dec.Packet(p.data, &p.ci, link)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := pkts[i%len(pkts)]
		dec.Packet(p.data, &p.ci, link)
	}
	b.StopTimer()
	if scanned == 0 {
		b.Fatal("no SIP message scanned")
	}
}

// BenchmarkReadDecodeFloor is the floor samples/bench.sh compares with:
// decoding alone, into the same preallocated layers.
func BenchmarkReadDecodeFloor(b *testing.B) {
	pkts, _ := bulkPackets(b, 2000)
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
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = p.DecodeLayers(pkts[i%len(pkts)].data, &decoded)
	}
}

// decodeSubset decodes the UDP or the TCP packets of a generated trunk
// capture once per op with a fresh decoder, so that TCP segments are new
// to the reassembler each time (replayed to one decoder they would be
// retransmissions, which it drops unread), and reports the time per
// packet.
func decodeSubset(b *testing.B, tcp bool) {
	pkts, link := bulkPackets(b, 20000)
	var sub []rawPacket
	for _, p := range pkts {
		if len(p.data) > 23 && (p.data[23] == 6) == tcp { // Ethernet, IPv4: the protocol byte
			sub = append(sub, p)
		}
	}
	messages := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dec := capture.NewDecoder(func(cm *capture.Message) { messages++ })
		b.StartTimer()
		for j := range sub {
			dec.Packet(sub[j].data, &sub[j].ci, link)
		}
		dec.Flush()
	}
	b.StopTimer()
	if messages == 0 {
		b.Fatal("no message decoded")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(sub)), "ns/packet")
}

// BenchmarkDecodeUDP and BenchmarkDecodeTCP compare the two transports'
// cost per packet, from the frame to the emitted message (no SIP scan).
// An op is a whole pass: its allocations are the fresh decoder's first
// connection (gopacket's stream pool makes its connections in a batch),
// none per packet.
func BenchmarkDecodeUDP(b *testing.B) { decodeSubset(b, false) }
func BenchmarkDecodeTCP(b *testing.B) { decodeSubset(b, true) }
