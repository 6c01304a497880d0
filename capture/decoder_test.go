package capture_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/sipalive/sipalive/capture"
	"github.com/sipalive/sipalive/samples/synth"
)

var (
	alice = &synth.Party{User: "alice", Addr: netip.MustParseAddrPort("192.0.2.10:5060"), Agent: "Initech-Phone/2.3"}
	bob   = &synth.Party{User: "bob", Addr: netip.MustParseAddrPort("192.0.2.20:5062"), Agent: "Acme-PBX/7.1"}
	alic6 = &synth.Party{User: "alice", Addr: netip.MustParseAddrPort("[2001:db8::10]:5060"), Agent: "Initech-Phone/2.3"}
	bob6  = &synth.Party{User: "bob", Addr: netip.MustParseAddrPort("[2001:db8::20]:5060"), Agent: "Acme-PBX/7.1"}
)

// call writes a call with two INFO keep-alives and a BYE: 11 SIP messages.
func call(tcp bool, a, b *synth.Party) func(w *synth.Writer) error {
	return func(w *synth.Writer) error {
		c := w.NewCall("cap-1@test", a, b)
		c.TCP = tcp
		if err := c.Invite(nil, nil); err != nil {
			return err
		}
		for i := 0; i < 2; i++ {
			if err := c.Request(a, "INFO", "", 200); err != nil {
				return err
			}
		}
		return c.Bye(a, 200)
	}
}

const callMessages = 11

func writeCapture(t *testing.T, opts synth.Options, f func(*synth.Writer) error) string {
	t.Helper()
	var buf bytes.Buffer
	w, err := synth.NewWriter(&buf, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := f(w); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "c.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

type result struct {
	msgs  []capture.Message
	raw   []string
	stats capture.Stats
	err   error
}

func decode(t *testing.T, path string) result {
	t.Helper()
	return decodeWith(t, path, capture.NewDecoder)
}

func decodeWith(t *testing.T, path string, newDecoder func(func(*capture.Message)) *capture.Decoder) result {
	t.Helper()
	f, err := capture.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r result
	dec := newDecoder(func(m *capture.Message) {
		cp := *m
		cp.Payload = append([]byte(nil), m.Payload...)
		cp.Frames = append([]uint64(nil), m.Frames...)
		r.msgs = append(r.msgs, cp)
		if m.Kind == capture.SIP {
			r.raw = append(r.raw, string(m.Payload))
		}
	})
	for {
		_, data, ci, link, err := f.Next()
		if err != nil {
			if err != io.EOF {
				r.err = err
			}
			break
		}
		dec.Packet(data, ci, link)
	}
	dec.Flush()
	r.stats = dec.Stats
	if got := r.stats.Accounted(); got != r.stats.Packets {
		t.Errorf("accounted %d packets of %d read: %+v", got, r.stats.Packets, r.stats)
	}
	return r
}

func TestLinkLayersGiveTheSameMessages(t *testing.T) {
	want := decode(t, writeCapture(t, synth.Options{}, call(false, alice, bob))).raw
	if len(want) != callMessages {
		t.Fatalf("plain Ethernet: %d messages, want %d", len(want), callMessages)
	}
	want6 := decode(t, writeCapture(t, synth.Options{}, call(false, alic6, bob6))).raw
	for name, opts := range map[string]synth.Options{
		"802.1Q VLAN":                  {Link: synth.EthernetVLAN},
		"QinQ":                         {Link: synth.EthernetQinQ},
		"Linux SLL":                    {Link: synth.LinuxSLL},
		"Linux SLL2 (-i any)":          {Link: synth.LinuxSLL2},
		"raw IP":                       {Link: synth.RawIP},
		"BSD loopback":                 {Link: synth.Loopback},
		"IP-in-IP":                     {Tunnel: synth.IPIP},
		"GRE":                          {Tunnel: synth.GRE},
		"ERSPAN II":                    {Tunnel: synth.ERSPAN2},
		"ERSPAN III":                   {Tunnel: synth.ERSPAN3},
		"VXLAN":                        {Tunnel: synth.VXLAN},
		"GRE on a VLAN":                {Link: synth.EthernetVLAN, Tunnel: synth.GRE},
		"IP-in-IPv6":                   {Tunnel: synth.IPIP, TunnelIPv6: true},
		"GRE over IPv6":                {Tunnel: synth.GRE, TunnelIPv6: true},
		"VXLAN over IPv6":              {Tunnel: synth.VXLAN, TunnelIPv6: true},
		"VXLAN, fragments, SLL2":       {Link: synth.LinuxSLL2, Tunnel: synth.VXLAN, MTU: 400},
		"Geneve":                       {Tunnel: synth.Geneve},
		"Geneve over IPv6":             {Tunnel: synth.Geneve, TunnelIPv6: true},
		"MPLS":                         {Link: synth.EthernetMPLS},
		"MPLS pseudowire":              {Link: synth.EthernetMPLSPW},
		"PPPoE":                        {Link: synth.EthernetPPPoE},
		"PPPoE, fragments":             {Link: synth.EthernetPPPoE, MTU: 400},
		"MPLS, VXLAN":                  {Link: synth.EthernetMPLS, Tunnel: synth.VXLAN},
		"IPv6 extension headers":       {IPv6Extensions: true},
		"GRE, outer fragments":         {Tunnel: synth.GRE, TunnelMTU: 500},
		"VXLAN, outer fragments":       {Tunnel: synth.VXLAN, TunnelMTU: 500},
		"ERSPAN III, outer fragments":  {Tunnel: synth.ERSPAN3, TunnelMTU: 500},
		"IP-in-IPv6, outer fragments":  {Tunnel: synth.IPIP, TunnelIPv6: true, TunnelMTU: 500},
		"Geneve over IPv6, fragments":  {Tunnel: synth.Geneve, TunnelIPv6: true, TunnelMTU: 500},
		"VXLAN, inner and outer frags": {Tunnel: synth.VXLAN, MTU: 400, TunnelMTU: 300},
	} {
		for _, v6 := range []bool{false, true} {
			a, b, w := alice, bob, want
			if v6 {
				a, b, w = alic6, bob6, want6
			}
			r := decode(t, writeCapture(t, opts, call(false, a, b)))
			if strings.Join(r.raw, "") != strings.Join(w, "") {
				t.Errorf("%s (IPv6 %v): %d messages differ from plain Ethernet", name, v6, len(r.raw))
				continue
			}
			if r.msgs[0].Src != a.Addr {
				t.Errorf("%s (IPv6 %v): source %v, want the inner %v", name, v6, r.msgs[0].Src, a.Addr)
			}
		}
	}
}

func TestIPv6(t *testing.T) {
	r := decode(t, writeCapture(t, synth.Options{}, call(false, alic6, bob6)))
	if len(r.raw) != callMessages || r.msgs[0].Src.Addr() != alic6.Addr.Addr() {
		t.Errorf("%d messages, first from %v", len(r.raw), r.msgs[0].Src)
	}
}

func TestFragmentedIPv6(t *testing.T) {
	r := decode(t, writeCapture(t, synth.Options{MTU: 400}, call(false, alic6, bob6)))
	if len(r.raw) != callMessages || r.stats.FragmentsReassembled < 2 {
		t.Errorf("%d messages, stats %+v", len(r.raw), r.stats)
	}
}

func TestFragmentedINVITE(t *testing.T) {
	// MTU 400: the INVITE and its 200 (with SDP) go out in fragments.
	r := decode(t, writeCapture(t, synth.Options{MTU: 400}, call(false, alice, bob)))
	if len(r.raw) != callMessages {
		t.Fatalf("%d messages, want %d", len(r.raw), callMessages)
	}
	if r.stats.FragmentsReassembled < 2 || r.stats.Fragments == 0 || r.stats.FragmentsPending != 0 {
		t.Errorf("fragment stats %+v", r.stats)
	}
	if !strings.HasPrefix(r.raw[0], "INVITE ") || !strings.Contains(r.raw[0], "a=sendrecv") {
		t.Errorf("INVITE not rebuilt whole: %q", r.raw[0][:40])
	}
	if len(r.msgs[0].Frames) < 2 {
		t.Errorf("INVITE frames %v, want every fragment", r.msgs[0].Frames)
	}
}

func TestTCPSegmentsAndRetransmission(t *testing.T) {
	want := decode(t, writeCapture(t, synth.Options{}, call(false, alice, bob))).raw
	for _, mss := range []int{0, 1, 37, 100, 536} {
		path := writeCapture(t, synth.Options{MSS: mss}, func(w *synth.Writer) error {
			if err := call(true, alice, bob)(w); err != nil {
				return err
			}
			// the BYE's last bytes again: a retransmission
			return w.Retransmit(alice.Addr, bob.Addr, []byte("0\r\n\r\n"))
		})
		r := decode(t, path)
		if len(r.raw) != callMessages {
			t.Errorf("MSS %d: %d messages, want %d", mss, len(r.raw), callMessages)
			continue
		}
		for i := range r.raw {
			if r.raw[i] != strings.Replace(want[i], "/UDP ", "/TCP ", 1) {
				t.Errorf("MSS %d: message %d differs", mss, i)
			}
		}
		if r.stats.TCPStreams != 1 || r.stats.TCPMessages != callMessages || r.stats.TCPBytesSkipped != 0 {
			t.Errorf("MSS %d: stats %+v", mss, r.stats)
		}
	}
}

// TestTCPMessagesInPlace: a message that comes whole in one in-order
// segment is emitted as a slice of that packet's bytes, which a pipeline
// holding the read block keeps without a copy; one split over segments
// is rebuilt, still whole.
func TestTCPMessagesInPlace(t *testing.T) {
	for _, mss := range []int{0, 100} {
		path := writeCapture(t, synth.Options{MSS: mss}, call(true, alice, bob))
		f, err := capture.OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var data []byte
		inPlace, messages := 0, 0
		dec := capture.NewDecoder(func(m *capture.Message) {
			if m.Kind != capture.SIP {
				return
			}
			messages++
			if len(m.Payload) > 0 && len(data) > 0 {
				start := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
				p := uintptr(unsafe.Pointer(unsafe.SliceData(m.Payload)))
				if p >= start && p+uintptr(len(m.Payload)) <= start+uintptr(len(data)) {
					inPlace++
				}
			}
		})
		for {
			_, d, ci, link, err := f.Next()
			if err != nil {
				break
			}
			data = d
			dec.Packet(d, ci, link)
		}
		f.Close()
		switch {
		case messages != callMessages:
			t.Errorf("MSS %d: %d messages, want %d", mss, messages, callMessages)
		case mss == 0 && inPlace != callMessages:
			t.Errorf("whole segments: %d of %d messages in place, want all", inPlace, messages)
		case mss == 100 && inPlace == callMessages:
			t.Errorf("MSS 100: every message in place, though most span segments")
		}
	}
}

func TestTCPCaptureStartsMidStream(t *testing.T) {
	path := writeCapture(t, synth.Options{MSS: 100}, call(true, alice, bob))
	// Drop the handshake and the first 4 segments: the INVITE loses its start.
	var buf bytes.Buffer
	copyPackets(t, path, &buf, 7)
	cut := filepath.Join(t.TempDir(), "cut.pcap")
	os.WriteFile(cut, buf.Bytes(), 0o644)
	r := decode(t, cut)
	if len(r.raw) < callMessages-2 || r.stats.TCPBytesSkipped == 0 {
		t.Errorf("mid-stream: %d messages, skipped %d bytes", len(r.raw), r.stats.TCPBytesSkipped)
	}
	for _, m := range r.raw {
		if !strings.HasPrefix(m, "SIP/2.0 ") && !strings.Contains(m[:20], " sip:") {
			t.Errorf("resynchronised on a non-start: %q", m[:20])
		}
	}
}

// copyPackets rewrites a pcap without its first skip packets.
func copyPackets(t *testing.T, path string, out *bytes.Buffer, skip int) {
	t.Helper()
	raw, _ := os.ReadFile(path)
	out.Write(raw[:24])
	off := 24
	for i := 0; off+16 <= len(raw); i++ {
		n := int(uint32(raw[off+8]) | uint32(raw[off+9])<<8 | uint32(raw[off+10])<<16 | uint32(raw[off+11])<<24)
		if i >= skip {
			out.Write(raw[off : off+16+n])
		}
		off += 16 + n
	}
}

func TestGzipAndTruncation(t *testing.T) {
	path := writeCapture(t, synth.Options{}, call(false, alice, bob))
	raw, _ := os.ReadFile(path)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	gzPath := path + ".gz"
	os.WriteFile(gzPath, gz.Bytes(), 0o644)
	if r := decode(t, gzPath); len(r.raw) != callMessages || r.err != nil {
		t.Errorf("gzip: %d messages, err %v", len(r.raw), r.err)
	}
	cut := path + ".cut"
	os.WriteFile(cut, raw[:len(raw)-30], 0o644)
	r := decode(t, cut)
	if !errors.Is(r.err, io.ErrUnexpectedEOF) || len(r.raw) != callMessages-1 {
		t.Errorf("truncated: %d messages, err %v", len(r.raw), r.err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"empty":   "",
		"text":    "this is a text file, not a capture\n",
		"short":   "\xd4\xc3",
		"badgzip": "\x1f\x8b\x08garbage",
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o644)
		if _, err := capture.OpenFile(p); err == nil {
			t.Errorf("%s: opened without error", name)
		}
	}
	if _, err := capture.OpenFile(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestNATKeepAlives(t *testing.T) {
	path := writeCapture(t, synth.Options{}, func(w *synth.Writer) error {
		for _, p := range []string{"\r\n\r\n", "\r\n", "", "\x00\x00\x00\x00", "not sip at all"} {
			if err := w.UDP(alice.Addr, bob.Addr, []byte(p)); err != nil {
				return err
			}
		}
		return nil
	})
	r := decode(t, path)
	if r.stats.UDPKeepAlive != 4 || r.stats.UDPOther != 1 || len(r.msgs) != 4 {
		t.Errorf("stats %+v, %d messages", r.stats, len(r.msgs))
	}
}

func TestWebSocket(t *testing.T) {
	sipMsg := "OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/WS h;branch=z9hG4bKws1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: ws-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	masked := func(payload string) []byte {
		key := []byte{1, 2, 3, 4}
		f := []byte{0x81, 0x80 | 126, byte(len(payload) >> 8), byte(len(payload))}
		f = append(f, key...)
		for i := 0; i < len(payload); i++ {
			f = append(f, payload[i]^key[i&3])
		}
		return f
	}
	path := writeCapture(t, synth.Options{MSS: 64}, func(w *synth.Writer) error {
		up := "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Protocol: sip\r\n\r\n"
		if err := w.TCP(alice.Addr, bob.Addr, append([]byte(up), masked(sipMsg)...)); err != nil {
			return err
		}
		resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"
		// the server's keep-alive ping (unmasked) and the client's pong
		// (masked), as Kamailio's websocket module and a browser send them
		ping := append([]byte(resp), 0x89, 4, 'k', 'a', 'm', 'a')
		if err := w.TCP(bob.Addr, alice.Addr, ping); err != nil {
			return err
		}
		pong := []byte{0x8a, 0x80 | 4, 1, 2, 3, 4, 'k' ^ 1, 'a' ^ 2, 'm' ^ 3, 'a' ^ 4}
		return w.TCP(alice.Addr, bob.Addr, pong)
	})
	r := decode(t, path)
	if len(r.raw) != 1 || r.raw[0] != sipMsg || r.msgs[0].Transport != capture.WS || r.stats.WSStreams != 1 {
		t.Errorf("%d messages %q, stats %+v", len(r.raw), r.raw, r.stats)
	}
	var kinds []capture.Kind
	for _, m := range r.msgs[1:] {
		kinds = append(kinds, m.Kind)
	}
	if !slices.Equal(kinds, []capture.Kind{capture.WSPing, capture.WSPong}) || r.stats.TCPKeepAlives != 2 {
		t.Errorf("after the SIP message %v, %d stream keep-alives; want a ping and a pong", kinds, r.stats.TCPKeepAlives)
	}
}

func TestTLSIsCounted(t *testing.T) {
	path := writeCapture(t, synth.Options{}, func(w *synth.Writer) error {
		if err := w.TCP(alice.Addr, netip.MustParseAddrPort("192.0.2.20:5061"), []byte("\x16\x03\x01\x00\x10client hello....")); err != nil {
			return err
		}
		// a capture that starts mid-session: application data records
		return w.TCP(netip.MustParseAddrPort("192.0.2.30:40000"), netip.MustParseAddrPort("192.0.2.20:5061"), []byte("\x17\x03\x03\x00\x20encrypted SIP, unreadable......."))
	})
	r := decode(t, path)
	if r.stats.TLSStreams != 2 || len(r.msgs) != 0 || r.stats.TCPBytesSkipped != 0 {
		t.Errorf("TLS: stats %+v", r.stats)
	}
}

// TestPcapngMixedLinkTypes writes one pcapng whose two interfaces have
// different link types (Ethernet and Linux SLL2), gzip'd and not.
func TestPcapngMixedLinkTypes(t *testing.T) {
	eth := writeCapture(t, synth.Options{}, call(false, alice, bob))
	sll := writeCapture(t, synth.Options{Link: synth.LinuxSLL2}, call(false, alic6, bob6))
	var buf bytes.Buffer
	ng, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet, SnapLength: 65535, TimestampResolution: 9}, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	id, err := ng.AddInterface(pcapgo.NgInterface{Name: "any", LinkType: layers.LinkTypeLinuxSLL2, SnapLength: 65535, TimestampResolution: 9})
	if err != nil {
		t.Fatal(err)
	}
	for i, path := range []string{eth, sll} {
		f, _ := os.Open(path)
		r, _ := pcapgo.NewReader(f)
		for {
			data, ci, err := r.ReadPacketData()
			if err != nil {
				break
			}
			ci.InterfaceIndex = []int{0, id}[i]
			if err := ng.WritePacket(ci, data); err != nil {
				t.Fatal(err)
			}
		}
		f.Close()
	}
	ng.Flush()
	path := filepath.Join(t.TempDir(), "mixed.pcapng")
	os.WriteFile(path, buf.Bytes(), 0o644)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(buf.Bytes())
	zw.Close()
	os.WriteFile(path+".gz", gz.Bytes(), 0o644)
	for _, p := range []string{path, path + ".gz"} {
		r := decode(t, p)
		if len(r.raw) != 2*callMessages || r.stats.UnsupportedLink != 0 {
			t.Errorf("%s: %d messages, stats %+v", filepath.Base(p), len(r.raw), r.stats)
		}
	}
}

// records splits a pcap into its header and packet records.
func records(t *testing.T, path string) (hdr []byte, recs [][]byte) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for off := 24; off+16 <= len(raw); {
		n := int(uint32(raw[off+8]) | uint32(raw[off+9])<<8 | uint32(raw[off+10])<<16 | uint32(raw[off+11])<<24)
		recs = append(recs, raw[off:off+16+n])
		off += 16 + n
	}
	return raw[:24], recs
}

func writeRecords(t *testing.T, hdr []byte, recs [][]byte) string {
	t.Helper()
	var buf bytes.Buffer
	buf.Write(hdr)
	for _, r := range recs {
		buf.Write(r)
	}
	path := filepath.Join(t.TempDir(), "edited.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTCPOutOfOrderAndGaps(t *testing.T) {
	path := writeCapture(t, synth.Options{MSS: 80}, call(true, alice, bob))
	want := decode(t, path).raw
	hdr, recs := records(t, path)
	// Packets 3.. are data segments (after the handshake); the INVITE
	// takes the first several, all from alice.
	swapped := append([][]byte{}, recs...)
	swapped[4], swapped[5] = swapped[5], swapped[4]
	swapped[6], swapped[8] = swapped[8], swapped[6]
	r := decode(t, writeRecords(t, hdr, swapped))
	if strings.Join(r.raw, "") != strings.Join(want, "") || r.stats.TCPBytesMissing != 0 {
		t.Errorf("out of order: %d messages (want %d), %d bytes missing", len(r.raw), len(want), r.stats.TCPBytesMissing)
	}
	// Drop one segment in the middle of the INVITE: it is lost, the
	// stream resynchronises and every later message survives.
	dropped := append(append([][]byte{}, recs[:5]...), recs[6:]...)
	r = decode(t, writeRecords(t, hdr, dropped))
	if r.stats.TCPBytesMissing == 0 || r.stats.TCPBytesSkipped == 0 || r.stats.TCPIncompleteSIP != 1 {
		t.Errorf("gap: stats %+v, want the INVITE's start counted as one incomplete SIP message", r.stats)
	}
	// The capture ends inside the last message: one incomplete SIP
	// message, and no byte called "not SIP".
	cut := decode(t, writeRecords(t, hdr, recs[:len(recs)-1]))
	if cut.stats.TCPIncompleteSIP != 1 || cut.stats.TCPBytesSkipped != 0 || len(cut.raw) != len(want)-1 {
		t.Errorf("cut at the end: %d messages (want %d), stats %+v", len(cut.raw), len(want)-1, cut.stats)
	}
	if len(r.raw) != len(want)-1 || r.raw[0] != want[1] {
		t.Errorf("gap: %d messages, want every one but the INVITE (%d)", len(r.raw), len(want)-1)
	}
}

// TestTCPGapReleasedOnTime checks that data held behind a lost segment
// comes out a few seconds of capture time later, between the UDP messages
// of that time, and not only when the input ends.
func TestTCPGapReleasedOnTime(t *testing.T) {
	const before = 90 // pings between the calls: the decoder's first flushes are long past
	var second int    // packets written before the second call
	path := writeCapture(t, synth.Options{MSS: 80}, func(w *synth.Writer) error {
		if err := call(true, alice, bob)(w); err != nil { // opens the connection
			return err
		}
		for i := 0; i < before+30; i++ {
			if i == before {
				second = w.Packets
				if err := call(true, alice, bob)(w); err != nil {
					return err
				}
			}
			w.Advance(time.Second)
			if err := w.OutOfDialog(alice, bob, "OPTIONS", fmt.Sprintf("ping-%d@test", i), "", nil, 200); err != nil {
				return err
			}
		}
		return nil
	})
	hdr, recs := records(t, path)
	// The second call's third segment is inside its INVITE. The capture
	// saw only alice's side of that call, and the connection stays open:
	// no acknowledgement from bob and no FIN release what follows the gap,
	// only the gap timeout does.
	cut := second + 2
	var kept [][]byte
	for i, rec := range recs {
		data := rec[16:]
		tcp := data[23] == 6
		fromBob := tcp && i >= second && netip.AddrFrom4([4]byte(data[26:30])) == bob.Addr.Addr()
		fin := tcp && data[47]&1 != 0 // a FIN would release the rest at once
		if i != cut && !fromBob && !fin {
			kept = append(kept, rec)
		}
	}
	r := decode(t, writeRecords(t, hdr, kept))
	if r.stats.TCPBytesMissing == 0 {
		t.Fatalf("no segment was lost: %+v", r.stats)
	}
	lastTCP, lastUDP := -1, -1
	for i, m := range r.msgs {
		if m.Kind != capture.SIP {
			continue
		}
		if m.Transport == capture.TCP && m.Frames[0] > uint64(second) {
			lastTCP = i
		} else {
			lastUDP = i
		}
	}
	if lastTCP < 0 || lastTCP > lastUDP-20 {
		t.Errorf("the TCP messages held behind the gap came out at message %d of %d (the UDP pings end at %d)", lastTCP, len(r.msgs), lastUDP)
	}
}

// TestFastPathDecodesAsLayers checks that the Ethernet/IPv4/UDP fast path
// finds the same messages, in the same order, with the same counts, as
// decoding every frame layer by layer: on the bundled samples, the shared
// corpus, the field captures of real traffic, calls over every link and
// tunnel the generator writes (VXLAN and
// Geneve ride on UDP), fragmented and segmented, and frames the fast path
// must leave alone (IP options, bad lengths, cut by the snap length).
func TestFastPathDecodesAsLayers(t *testing.T) {
	var files []string
	for _, s := range synth.Scenarios() {
		files = append(files, filepath.Join("..", "samples", s.Name+".pcap"))
	}
	corpus, _ := filepath.Glob("../../shared/corpus/*.pcap*")
	field, _ := filepath.Glob("testdata/netns/*.pcap*")
	files = append(append(files, corpus...), field...)
	for _, opts := range []synth.Options{{}, {Link: synth.EthernetVLAN}, {Link: synth.LinuxSLL2}, {Tunnel: synth.VXLAN},
		{Tunnel: synth.Geneve}, {Tunnel: synth.GRE}, {MTU: 600}, {Tunnel: synth.VXLAN, TunnelMTU: 500}, {MSS: 200}} {
		files = append(files, writeCapture(t, opts, func(w *synth.Writer) error {
			if err := call(false, alice, bob)(w); err != nil {
				return err
			}
			return call(true, alice, bob)(w)
		}))
	}
	files = append(files, writeOddFrames(t))
	for _, path := range files {
		fast, layered := decode(t, path), decodeWith(t, path, capture.NewLayeredDecoder)
		if !reflect.DeepEqual(fast, layered) {
			t.Errorf("%s: the fast path gives %d messages, stats %+v; layer by layer %d, %+v",
				path, len(fast.msgs), fast.stats, len(layered.msgs), layered.stats)
		}
	}
}

// writeOddFrames writes Ethernet/IPv4/UDP frames that look like the fast
// path's but are not all plain: options, lengths that lie, padding, a
// frame cut by the snap length, a tunnel port.
func writeOddFrames(t *testing.T) string {
	t.Helper()
	msg := []byte("OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKo1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: odd\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
	frame := func(ihl int, total, udpLen, sport, dport int, flags byte, tail []byte) []byte {
		ip := make([]byte, 4*ihl)
		ip[0], ip[6], ip[8], ip[9] = byte(0x40|ihl), flags, 64, 17
		copy(ip[12:], []byte{192, 0, 2, 10, 192, 0, 2, 20})
		for i := 20; i < len(ip); i++ {
			ip[i] = 1 // no-operation options
		}
		udp := []byte{byte(sport >> 8), byte(sport), byte(dport >> 8), byte(dport), byte(udpLen >> 8), byte(udpLen), 0, 0}
		body := append(append(udp, msg...), tail...)
		if total < 0 {
			total = len(ip) + len(body)
		}
		ip[2], ip[3] = byte(total>>8), byte(total)
		return ethernet(0x0800, ip, body)
	}
	n := 8 + len(msg)
	frames := [][]byte{
		frame(5, -1, n, 5060, 5060, 0x40, nil),           // plain, DF set
		frame(6, -1, n, 5060, 5060, 0, nil),              // an option word
		frame(5, -1, n, 5060, 5060, 0, make([]byte, 20)), // trailing padding past the UDP length
		frame(5, 20+n-9, n, 5060, 5060, 0, nil),          // IP length shorter than the UDP length
		frame(5, 20+n+40, n, 5060, 5060, 0, nil),         // IP length past the frame
		frame(5, 0, n, 5060, 5060, 0, nil),               // IP length 0 (TSO)
		frame(5, -1, 0, 5060, 5060, 0, nil),              // UDP length 0 (jumbogram)
		frame(5, -1, 5, 5060, 5060, 0, nil),              // UDP length below its header
		frame(5, -1, n+30, 5060, 5060, 0, nil),           // UDP length past the datagram
		frame(5, -1, n, 5060, 4789, 0, nil),              // to the VXLAN port
		frame(5, -1, n, 53, 5060, 0, nil),                // from the DNS port
		frame(5, -1, n, 5060, 5060, 0x20, nil),           // more fragments
		frame(5, -1, n, 5060, 5060, 0x80, nil),           // the reserved flag
	}
	var buf bytes.Buffer
	pw := pcapgo.NewWriter(&buf)
	if err := pw.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, f := range frames {
		ci := gopacket.CaptureInfo{Timestamp: at.Add(time.Duration(i) * time.Second), CaptureLength: len(f), Length: len(f)}
		if err := pw.WritePacket(ci, f); err != nil {
			t.Fatal(err)
		}
	}
	cut := frames[0][:60] // cut by the snap length
	if err := pw.WritePacket(gopacket.CaptureInfo{Timestamp: at.Add(time.Minute), CaptureLength: len(cut), Length: len(frames[0])}, cut); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "odd.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// sctpPacket builds an SCTP packet with one DATA chunk per message.
func sctpPacket(srcPort, dstPort uint16, msgs ...string) []byte {
	b := []byte{byte(srcPort >> 8), byte(srcPort), byte(dstPort >> 8), byte(dstPort), 0, 0, 0, 1, 0, 0, 0, 0}
	for i, m := range msgs {
		n := 16 + len(m)
		chunk := []byte{0, 3, byte(n >> 8), byte(n), 0, 0, 0, byte(i + 1), 0, 0, 0, byte(i), 0, 0, 0, 0}
		chunk = append(chunk, m...)
		for len(chunk)%4 != 0 {
			chunk = append(chunk, 0)
		}
		b = append(b, chunk...)
	}
	return b
}

func TestSCTP(t *testing.T) {
	a := "OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/SCTP h;branch=z9hG4bKs1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: sctp-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	b := "SIP/2.0 200 OK\r\nVia: SIP/2.0/SCTP h;branch=z9hG4bKs1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: sctp-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	for _, v6 := range []bool{false, true} {
		src, dst := alice.Addr.Addr(), bob.Addr.Addr()
		if v6 {
			src, dst = alic6.Addr.Addr(), bob6.Addr.Addr()
		}
		path := writeCapture(t, synth.Options{}, func(w *synth.Writer) error {
			// two messages bundled in one packet, then an answer
			if err := w.IP(src, dst, 132, sctpPacket(5060, 5060, a, a)); err != nil {
				return err
			}
			return w.IP(dst, src, 132, sctpPacket(5060, 5060, b))
		})
		r := decode(t, path)
		if len(r.raw) != 3 || r.msgs[0].Transport != capture.SCTP || r.stats.SCTPPackets != 2 || r.stats.SCTPMessages != 3 ||
			r.msgs[2].Src != netip.AddrPortFrom(dst, 5060) {
			t.Errorf("IPv6 %v: %d messages, stats %+v", v6, len(r.raw), r.stats)
		}
	}
}

func TestHEP(t *testing.T) {
	ts := time.Date(2026, 3, 1, 12, 0, 0, 250000000, time.UTC)
	agent, collector := netip.MustParseAddrPort("198.51.100.9:40000"), netip.MustParseAddrPort("198.51.100.10:9060")
	msg := "INFO sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKh1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: hep-1\r\nCSeq: 2 INFO\r\nContent-Length: 0\r\n\r\n"
	path := writeCapture(t, synth.Options{}, func(w *synth.Writer) error {
		if err := w.UDP(agent, collector, synth.HEP3(alice.Addr, bob.Addr, ts, msg)); err != nil {
			return err
		}
		if err := w.UDP(agent, collector, synth.HEP3(alic6.Addr, bob6.Addr, ts, msg)); err != nil {
			return err
		}
		return w.UDP(agent, collector, []byte("HEP3\x00\x07x")) // a broken one
	})
	r := decode(t, path)
	if len(r.raw) != 2 || r.raw[0] != msg || r.stats.HEP != 2 || r.stats.UDPOther != 1 {
		t.Fatalf("%d messages, stats %+v", len(r.raw), r.stats)
	}
	if r.msgs[0].Src != alice.Addr || r.msgs[0].Dst != bob.Addr || !r.msgs[0].Time.Equal(ts) || r.msgs[1].Src != alic6.Addr {
		t.Errorf("HEP message from %v to %v at %v", r.msgs[0].Src, r.msgs[0].Dst, r.msgs[0].Time)
	}
}

// hep12Packet builds a HEP version 1 or 2 packet as Kamailio's siptrace
// sends it: a fixed header in network order, then for version 2 the time
// in little-endian words and the capture id, padded to 12 bytes.
func hep12Packet(version byte, src, dst netip.AddrPort, ts time.Time, payload string) []byte {
	hl, fam := byte(16), byte(2)
	if src.Addr().Is6() {
		hl, fam = 40, 10
	}
	b := []byte{version, hl, fam, 17, byte(src.Port() >> 8), byte(src.Port()), byte(dst.Port() >> 8), byte(dst.Port())}
	b = append(b, src.Addr().AsSlice()...)
	b = append(b, dst.Addr().AsSlice()...)
	if version == 2 {
		b = binary.LittleEndian.AppendUint32(b, uint32(ts.Unix()))
		b = binary.LittleEndian.AppendUint32(b, uint32(ts.Nanosecond()/1000))
		b = append(b, 7, 0, 0, 0)
	}
	return append(b, payload...)
}

// TestHEPVersions1And2 reads the HEP that siptrace modules send by
// default: version 1 (no time: the capture's is taken) and version 2 (its
// own time), over IPv4 and IPv6; a datagram that starts like one but adds
// up to no HEP header is not taken for one.
func TestHEPVersions1And2(t *testing.T) {
	ts := time.Date(2026, 3, 1, 12, 0, 0, 250000000, time.UTC)
	agent, collector := netip.MustParseAddrPort("198.51.100.9:5060"), netip.MustParseAddrPort("198.51.100.10:9060")
	msg := "INFO sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKh1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: hep-1\r\nCSeq: 2 INFO\r\nContent-Length: 0\r\n\r\n"
	path := writeCapture(t, synth.Options{}, func(w *synth.Writer) error {
		for _, p := range [][]byte{
			hep12Packet(1, alice.Addr, bob.Addr, ts, msg),
			hep12Packet(2, alice.Addr, bob.Addr, ts, msg),
			hep12Packet(1, alic6.Addr, bob6.Addr, ts, msg),
			hep12Packet(2, alic6.Addr, bob6.Addr, ts, msg),
			hep12Packet(2, alice.Addr, bob.Addr, ts, "not SIP at all"),
			append([]byte{1, 17}, msg...), // no header length of either family
		} {
			if err := w.UDP(agent, collector, p); err != nil {
				return err
			}
		}
		return nil
	})
	r := decode(t, path)
	if len(r.raw) != 4 || r.stats.HEP != 4 || r.stats.UDPOther != 2 {
		t.Fatalf("%d messages, stats %+v", len(r.raw), r.stats)
	}
	for i, m := range r.msgs {
		if r.raw[i] != msg {
			t.Errorf("message %d: %q", i, r.raw[i])
		}
		src, dst := alice.Addr, bob.Addr
		if i >= 2 {
			src, dst = alic6.Addr, bob6.Addr
		}
		if m.Src != src || m.Dst != dst {
			t.Errorf("message %d from %v to %v, want %v to %v", i, m.Src, m.Dst, src, dst)
		}
		if version2 := i%2 == 1; version2 != m.Time.Equal(ts) {
			t.Errorf("message %d (version %d) at %v: version 2 has its own time %v, version 1 the capture's", i, 1+i%2, m.Time, ts)
		}
	}
}

// TestHEPOverTCP reads HEP3 packets a capture agent streams to its
// collector over TCP (heplify -nt tcp, siptrace with transport=tcp): one
// packet split over two segments, two in one, and bytes that are no HEP
// between them, skipped up to the next packet.
func TestHEPOverTCP(t *testing.T) {
	ts := time.Date(2026, 3, 1, 12, 0, 0, 250000000, time.UTC)
	agent, collector := netip.MustParseAddrPort("198.51.100.9:40000"), netip.MustParseAddrPort("198.51.100.10:9060")
	msg := func(cseq int) string {
		return fmt.Sprintf("INFO sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKt%d\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: hep-tcp\r\nCSeq: %d INFO\r\nContent-Length: 0\r\n\r\n", cseq, cseq)
	}
	p1, p2, p3 := synth.HEP3(alice.Addr, bob.Addr, ts, msg(1)), synth.HEP3(bob.Addr, alice.Addr, ts, msg(2)), synth.HEP3(alice.Addr, bob.Addr, ts, msg(3))
	path := writeCapture(t, synth.Options{}, func(w *synth.Writer) error {
		for _, seg := range [][]byte{p1[:20], append(append(p1[20:], p2...), "junk"...), p3} {
			if err := w.TCP(agent, collector, seg); err != nil {
				return err
			}
		}
		return nil
	})
	r := decode(t, path)
	if len(r.raw) != 3 || r.stats.HEPStreams != 1 || r.stats.TCPHEPMessages != 3 || r.stats.TCPBytesSkipped != 4 {
		t.Fatalf("%d messages, stats %+v", len(r.raw), r.stats)
	}
	for i, m := range r.msgs {
		src := alice.Addr
		if i == 1 {
			src = bob.Addr
		}
		if r.raw[i] != msg(i+1) || m.Src != src || !m.Time.Equal(ts) {
			t.Errorf("message %d from %v at %v: %q", i, m.Src, m.Time, r.raw[i])
		}
	}
}

// TestTCPOverlap re-sends a segment's bytes together with the next ones,
// as a sender that coalesces its retransmission does: every byte is taken
// once.
func TestTCPOverlap(t *testing.T) {
	m1 := "OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bKo1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: ov-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	m2 := strings.Replace(m1, "CSeq: 1", "CSeq: 2", 1)
	path := writeCapture(t, synth.Options{}, func(w *synth.Writer) error {
		if err := w.TCP(alice.Addr, bob.Addr, []byte(m1[:60])); err != nil {
			return err
		}
		if err := w.TCP(alice.Addr, bob.Addr, []byte(m1[60:]+m2)); err != nil {
			return err
		}
		// the second half of m1 and all of m2 again, in one segment
		return w.Retransmit(alice.Addr, bob.Addr, []byte(m1[60:]+m2))
	})
	r := decode(t, path)
	if len(r.raw) != 2 || r.raw[0] != m1 || r.raw[1] != m2 || r.stats.TCPBytesSkipped != 0 {
		t.Errorf("%d messages %q, stats %+v", len(r.raw), r.raw, r.stats)
	}
}
