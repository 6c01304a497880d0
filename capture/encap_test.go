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

// ipv4 wraps payload in an IPv4 header of the given protocol, and that in
// Ethernet.
func ipv4(t *testing.T, proto layers.IPProtocol, payload []byte) []byte {
	t.Helper()
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
	b := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(b, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return ethernet(0x0800, b.Bytes())
}

// udp4 is an Ethernet/IPv4/UDP frame between the ports given.
func udp4(t *testing.T, sport, dport layers.UDPPort, payload []byte) []byte {
	t.Helper()
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
	udp := &layers.UDP{SrcPort: sport, DstPort: dport}
	_ = udp.SetNetworkLayerForChecksum(ip)
	b := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(b, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, udp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return ethernet(0x0800, b.Bytes())
}

// gtpu is a GTP-U G-PDU header (TS 29.281) before inner, with a PDU
// session container extension header when ext is set.
func gtpu(inner []byte, ext bool, msgType byte) []byte {
	h := []byte{0x30, msgType, 0, 0, 0, 0, 0, 1} // version 1, PT 1, TEID 1
	if ext {
		h[0] |= 0x04 // E: the next-extension field follows
		h = append(h, 0, 0, 0, 0x85, 1, 0x10, 0x01, 0)
	}
	n := len(h) - 8 + len(inner)
	h[2], h[3] = byte(n>>8), byte(n)
	return append(h, inner...)
}

// TestTunnelsOfMobileCoresAndPPTP: SIP in GTP-U (with and without an
// extension header) and in PPTP's enhanced GRE with PPP is opened like the
// other tunnels; what cannot be opened (IPsec ESP, GTP-C, GTP-U echo, GRE
// of another protocol) is counted by kind.
func TestTunnelsOfMobileCoresAndPPTP(t *testing.T) {
	ip := sipPacket(t)
	pptp := func(ppp []byte) []byte {
		// K and S set, version 1 (RFC 2637 4.1): payload length, call id, sequence
		gre := []byte{0x30, 0x01, 0x88, 0x0b, byte(len(ppp) >> 8), byte(len(ppp)), 0, 7, 0, 0, 0, 1}
		return append(gre, ppp...)
	}
	for _, tc := range []struct {
		name  string
		frame []byte
		want  string
	}{
		{"GTP-U, inner IPv4", udp4(t, 2152, 2152, gtpu(ip, false, 0xff)), "sip"},
		{"GTP-U with a PDU session container", udp4(t, 2152, 2152, gtpu(ip, true, 0xff)), "sip"},
		{"GTP-U echo request", udp4(t, 2152, 2152, gtpu(nil, false, 1)), "tunnels_unopened"},
		{"PPTP: GRE v1, PPP with address and control", ipv4(t, layers.IPProtocolGRE, pptp(append([]byte{0xff, 0x03, 0x00, 0x21}, ip...))), "sip"},
		{"PPTP: GRE v1, compressed PPP protocol", ipv4(t, layers.IPProtocolGRE, pptp(append([]byte{0x21}, ip...))), "sip"},
		{"PPTP: LCP", ipv4(t, layers.IPProtocolGRE, pptp([]byte{0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4})), "tunnels_unopened"},
		{"GRE of an unknown protocol", ipv4(t, layers.IPProtocolGRE, []byte{0, 0, 0x12, 0x34, 1, 2, 3, 4}), "tunnels_unopened"},
		{"IPsec ESP", ipv4(t, layers.IPProtocolESP, []byte{0, 0, 0, 1, 0, 0, 0, 1, 0xde, 0xad}), "esp"},
		{"GTP-C", udp4(t, 2123, 2123, []byte{0x48, 0x20, 0, 8, 0, 0, 0, 0, 0, 0, 1, 0}), "gtp_control"},
	} {
		var got []string
		dec := capture.NewDecoder(func(m *capture.Message) { got = append(got, string(m.Payload)) })
		dec.Packet(tc.frame, &gopacket.CaptureInfo{Timestamp: time.Unix(1700000000, 0), CaptureLength: len(tc.frame), Length: len(tc.frame)}, layers.LinkTypeEthernet)
		dec.Flush()
		s := dec.Stats
		counted := map[string]uint64{"sip": s.UDPSIP, "tunnels_unopened": s.TunnelsUnopened, "esp": s.ESP, "gtp_control": s.GTPControl}[tc.want]
		if counted != 1 || s.Accounted() != 1 {
			t.Errorf("%s: not counted as %s: %+v", tc.name, tc.want, s)
		}
		if tc.want == "sip" && (len(got) != 1 || got[0][:14] != "SIP/2.0 200 OK") {
			t.Errorf("%s: messages %q", tc.name, got)
		}
	}
}
