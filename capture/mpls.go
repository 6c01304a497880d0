package capture

import (
	"errors"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// mplsMaxLabels bounds a label stack: real stacks hold two to four labels,
// and a corrupt frame without a bottom-of-stack bit must not be walked to
// its end.
const mplsMaxLabels = 16

// mplsStack skips an MPLS label stack (Ethernet types 0x8847 and 0x8848)
// in place. gopacket decodes MPLS only through its allocating packet
// decoder, and a DecodingLayerParser without this stops at the Ethernet
// header: SIP seen on a provider's core link would be lost to "non-IP".
//
// MPLS does not name its payload, so it is guessed as Wireshark does: a
// first nibble of 4 or 6 is IPv4 or IPv6; 0 is a pseudowire control word
// (RFC 4385) ahead of an Ethernet frame, unless the frame fits only
// without it; anything else is taken for an Ethernet pseudowire without a
// control word.
type mplsStack struct {
	layers.BaseLayer
	next gopacket.LayerType
}

func (m *mplsStack) LayerType() gopacket.LayerType     { return layers.LayerTypeMPLS }
func (m *mplsStack) CanDecode() gopacket.LayerClass    { return layers.LayerTypeMPLS }
func (m *mplsStack) NextLayerType() gopacket.LayerType { return m.next }

var errMPLSStack = errors.New("MPLS label stack without a bottom label")

func (m *mplsStack) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	n := 0
	for {
		if len(data) < n+4 {
			df.SetTruncated()
			return errors.New("MPLS label stack cut short")
		}
		bottom := data[n+2]&1 != 0
		n += 4
		if bottom {
			break
		}
		if n == 4*mplsMaxLabels {
			return errMPLSStack
		}
	}
	payload := data[n:]
	m.next = gopacket.LayerTypeZero
	if len(payload) > 0 {
		switch payload[0] >> 4 {
		case 4:
			m.next = layers.LayerTypeIPv4
		case 6:
			m.next = layers.LayerTypeIPv6
		case 0:
			// A control word, or a MAC address starting with a 0 nibble:
			// the EtherType behind tells which.
			switch {
			case len(payload) >= 18 && ipCarrier(payload[16:18]):
				payload, m.next = payload[4:], layers.LayerTypeEthernet
			case len(payload) >= 14 && ipCarrier(payload[12:14]):
				m.next = layers.LayerTypeEthernet
			case len(payload) >= 4:
				payload, m.next = payload[4:], layers.LayerTypeEthernet
			}
		default:
			m.next = layers.LayerTypeEthernet
		}
	}
	m.BaseLayer = layers.BaseLayer{Contents: data[:n], Payload: payload}
	return nil
}

// ipCarrier reports whether an EtherType leads, directly or through tags
// and labels, to IP.
func ipCarrier(b []byte) bool {
	t, _, ok := readUint16(b, 0)
	if !ok {
		return false
	}
	switch layers.EthernetType(t) {
	case layers.EthernetTypeIPv4, layers.EthernetTypeIPv6, layers.EthernetTypeDot1Q, layers.EthernetTypeQinQ,
		layers.EthernetTypeMPLSUnicast, layers.EthernetTypeMPLSMulticast, layers.EthernetTypePPPoESession:
		return true
	}
	return false
}
