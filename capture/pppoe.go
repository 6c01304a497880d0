package capture

import (
	"errors"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// pppoeSession decodes a PPPoE session header and the PPP protocol field
// behind it (RFC 2516), in place: the WAN side of a DSL or fibre router,
// where a customer's phone registers, is PPPoE, and gopacket's PPPoE and
// PPP layers decode only through its allocating packet decoder. Discovery
// frames and PPP control protocols (LCP, IPCP) end decoding there and
// count as non-IP.
type pppoeSession struct {
	layers.BaseLayer
	next gopacket.LayerType
}

// PPP protocol numbers of the network layers SIP rides on.
const (
	pppIPv4 = 0x0021
	pppIPv6 = 0x0057
)

// pppNext is the layer a PPP protocol number leads to: IPv4 or IPv6, or
// none (LCP, IPCP, compressed or encrypted data end decoding).
func pppNext(proto uint16) gopacket.LayerType {
	switch proto {
	case pppIPv4:
		return layers.LayerTypeIPv4
	case pppIPv6:
		return layers.LayerTypeIPv6
	}
	return gopacket.LayerTypeZero
}

func (p *pppoeSession) LayerType() gopacket.LayerType     { return layers.LayerTypePPPoE }
func (p *pppoeSession) CanDecode() gopacket.LayerClass    { return layers.LayerTypePPPoE }
func (p *pppoeSession) NextLayerType() gopacket.LayerType { return p.next }

// RFC 2516 section 4: the session header, then PPP's protocol field.
const (
	pppoeHeader      = 6    // version and type, code, session id, length
	pppoeLengthAt    = 4    // the payload length's offset
	pppoeVersionType = 0x11 // version 1, type 1
	pppoeSessionData = 0    // the code of session data
	pppProtocolLen   = 2
)

func (p *pppoeSession) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	length, _, ok := readUint16(data, pppoeLengthAt)
	if !ok || len(data) < pppoeHeader {
		df.SetTruncated()
		return errors.New("PPPoE header cut short")
	}
	p.next = gopacket.LayerTypeZero
	end := pppoeHeader + int(length)
	if end > len(data) {
		df.SetTruncated()
		end = len(data)
	}
	p.BaseLayer = layers.BaseLayer{Contents: data[:pppoeHeader], Payload: data[pppoeHeader:end]}
	proto, _, ok := readUint16(data[:end], pppoeHeader)
	if data[0] != pppoeVersionType || data[1] != pppoeSessionData || !ok {
		return nil // another version, a discovery frame, or no PPP protocol
	}
	p.next = pppNext(proto)
	start := pppoeHeader + pppProtocolLen
	p.BaseLayer = layers.BaseLayer{Contents: data[:start], Payload: data[start:end]}
	return nil
}
