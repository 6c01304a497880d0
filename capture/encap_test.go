package capture_test

import (
	"net"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/sipalive/sipalive/capture"
)

// sipPacket is an IPv4/UDP packet holding a SIP response.
func sipPacket(t *testing.T) []byte {
	t.Helper()
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP,
		SrcIP: net.IP{192, 0, 2, 10}, DstIP: net.IP{192, 0, 2, 20}}
	udp := &layers.UDP{SrcPort: 5060, DstPort: 5060}
	_ = udp.SetNetworkLayerForChecksum(ip)
	b := gopacket.NewSerializeBuffer()
	err := gopacket.SerializeLayers(b, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		ip, udp, gopacket.Payload("SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// ethernet is an Ethernet header of the given type followed by rest.
func ethernet(etherType uint16, rest ...[]byte) []byte {
	f := []byte{2, 0, 0, 0, 0, 0x0b, 2, 0, 0, 0, 0, 0x0a, byte(etherType >> 8), byte(etherType)}
	for _, r := range rest {
		f = append(f, r...)
	}
	return f
}

// TestEncapsulations checks where frames behind MPLS labels and PPPoE
// sessions are counted, well formed or not: SIP inside is found, the rest
// lands in a counter, nothing panics.
func TestEncapsulations(t *testing.T) {
	ip := sipPacket(t)
	bottom := []byte{0x00, 0x3e, 0x81, 0x40} // label 1000, bottom of stack
	inner := []byte{0x00, 0x3e, 0x80, 0x40}  // label 1000, more follow
	var deep []byte
	for i := 0; i < 20; i++ {
		deep = append(deep, inner...)
	}
	pppoe := func(code byte, proto uint16, payload []byte) []byte {
		n := len(payload) + 2
		return []byte{0x11, code, 0x12, 0x34, byte(n >> 8), byte(n), byte(proto >> 8), byte(proto)}
	}
	for _, tc := range []struct {
		name  string
		frame []byte
		want  string
	}{
		{"MPLS, one label", ethernet(0x8847, bottom, ip), "sip"},
		{"MPLS multicast, two labels", ethernet(0x8848, inner, bottom, ip), "sip"},
		{"MPLS pseudowire with control word", ethernet(0x8847, bottom, make([]byte, 4), ethernet(0x0800, ip)), "sip"},
		{"MPLS pseudowire without control word", ethernet(0x8847, bottom, ethernet(0x0800, ip)), "sip"},
		{"MPLS cut in the label", ethernet(0x8847, bottom[:2]), "undecodable"},
		{"MPLS without a bottom label", ethernet(0x8847, deep, ip), "undecodable"},
		{"MPLS with nothing behind", ethernet(0x8847, bottom), "non-IP"},
		{"PPPoE session, IPv4", ethernet(0x8864, pppoe(0, 0x0021, ip), ip), "sip"},
		{"PPPoE session, LCP", ethernet(0x8864, pppoe(0, 0xc021, []byte{1, 1, 0, 4}), []byte{1, 1, 0, 4}), "non-IP"},
		{"PPPoE discovery (PADI)", ethernet(0x8863, []byte{0x11, 0x09, 0, 0, 0, 0}), "non-IP"},
		{"PPPoE cut in the header", ethernet(0x8864, []byte{0x11, 0}), "undecodable"},
		{"PPPoE length past the frame", ethernet(0x8864, pppoe(0, 0x0021, make([]byte, 2000)), ip), "sip"},
	} {
		var got []string
		dec := capture.NewDecoder(func(m *capture.Message) { got = append(got, string(m.Payload)) })
		dec.Packet(tc.frame, &gopacket.CaptureInfo{Timestamp: time.Unix(1700000000, 0), CaptureLength: len(tc.frame), Length: len(tc.frame)}, layers.LinkTypeEthernet)
		dec.Flush()
		s := dec.Stats
		counted := map[string]uint64{"sip": s.UDPSIP, "undecodable": s.Undecodable, "non-IP": s.NonIP}[tc.want]
		if counted != 1 || s.Accounted() != 1 {
			t.Errorf("%s: not counted as %s: %+v", tc.name, tc.want, s)
		}
		if tc.want == "sip" && (len(got) != 1 || got[0][:14] != "SIP/2.0 200 OK") {
			t.Errorf("%s: messages %q", tc.name, got)
		}
	}
}

// TestSnapLengthCut checks that a packet cut short by the snap length is
// counted, and that its message keeps only whole lines: a half Call-ID
// must not reach the analysis.
func TestSnapLengthCut(t *testing.T) {
	frame := ethernet(0x0800, sipPacket(t))
	msg := string(frame[42:])
	callID := 16 + len("Content-Length: ") // inside the Content-Length line
	for _, tc := range []struct {
		name string
		keep int // bytes of the message captured
		want string
	}{
		{"cut inside the second line", callID, "SIP/2.0 200 OK\r\n"},
		{"cut after a whole line", 16, "SIP/2.0 200 OK\r\n"},
		{"cut inside the start line", 10, ""},
		{"not cut", len(msg), msg},
	} {
		var got []capture.Message
		dec := capture.NewDecoder(func(m *capture.Message) { got = append(got, *m) })
		data := frame[:42+tc.keep]
		dec.Packet(data, &gopacket.CaptureInfo{Timestamp: time.Unix(1700000000, 0), CaptureLength: len(data), Length: len(frame)}, layers.LinkTypeEthernet)
		cut := tc.keep < len(msg)
		s := dec.Stats
		if wantCut := map[bool]uint64{true: 1}[cut]; s.SnapCut != wantCut || (cut && s.SnapLength != len(data)) {
			t.Errorf("%s: snap_cut %d, snap_length %d", tc.name, s.SnapCut, s.SnapLength)
		}
		if tc.want == "" {
			if len(got) == 1 && len(got[0].Payload) != 0 {
				t.Errorf("%s: payload %q, want nothing", tc.name, got[0].Payload)
			}
			continue
		}
		if len(got) != 1 || string(got[0].Payload) != tc.want || got[0].Cut != cut {
			t.Errorf("%s: messages %+v", tc.name, got)
		}
	}
}
