package capture

import (
	"encoding/binary"
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

func (p *pppoeSession) LayerType() gopacket.LayerType     { return layers.LayerTypePPPoE }
func (p *pppoeSession) CanDecode() gopacket.LayerClass    { return layers.LayerTypePPPoE }
func (p *pppoeSession) NextLayerType() gopacket.LayerType { return p.next }

func (p *pppoeSession) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 6 {
		df.SetTruncated()
		return errors.New("PPPoE header cut short")
	}
	p.next = gopacket.LayerTypeZero
	end := 6 + int(binary.BigEndian.Uint16(data[4:6]))
	if end > len(data) {
		df.SetTruncated()
		end = len(data)
	}
	p.BaseLayer = layers.BaseLayer{Contents: data[:6], Payload: data[6:end]}
	if data[0] != 0x11 || data[1] != 0 || end < 8 {
		return nil // another version, a discovery frame, or no PPP protocol
	}
	switch binary.BigEndian.Uint16(data[6:8]) {
	case pppIPv4:
		p.next = layers.LayerTypeIPv4
	case pppIPv6:
		p.next = layers.LayerTypeIPv6
	}
	p.BaseLayer = layers.BaseLayer{Contents: data[:8], Payload: data[8:end]}
	return nil
}
