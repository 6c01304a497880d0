package capture

import (
	"errors"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// pppFrame decodes the PPP frame that enhanced GRE (version 1, RFC 2637)
// carries in a PPTP tunnel, in place: gopacket's PPP layer decodes only
// through its allocating packet decoder. The address and control bytes
// (0xff 0x03) may be left out, and the protocol field may be one byte
// (RFC 1661 section 6.5, protocol field compression); IPv4 and IPv6 lead
// on, anything else (LCP, CCP, compressed or encrypted data) ends decoding.
type pppFrame struct {
	layers.BaseLayer
	next gopacket.LayerType
}

// PPP framing.
const (
	pppAddress = 0xff
	pppControl = 0x03
)

func (p *pppFrame) LayerType() gopacket.LayerType     { return layers.LayerTypePPP }
func (p *pppFrame) CanDecode() gopacket.LayerClass    { return layers.LayerTypePPP }
func (p *pppFrame) NextLayerType() gopacket.LayerType { return p.next }

func (p *pppFrame) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	p.next = gopacket.LayerTypeZero
	off := 0
	if a, next, ok := readUint8(data, 0); ok && a == pppAddress {
		if c, next2, ok := readUint8(data, next); ok && c == pppControl {
			off = next2
		}
	}
	first, _, ok := readUint8(data, off)
	if !ok {
		df.SetTruncated()
		return errors.New("PPP frame cut short")
	}
	var proto uint16
	if first&1 == 1 { // a compressed, one-byte protocol field
		proto, off = uint16(first), off+1
	} else if proto, off, ok = readUint16(data, off); !ok {
		df.SetTruncated()
		return errors.New("PPP frame cut short")
	}
	p.next = pppNext(proto)
	p.BaseLayer = layers.BaseLayer{Contents: data[:off], Payload: data[off:]}
	return nil
}
