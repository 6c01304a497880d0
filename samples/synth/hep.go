package synth

import (
	"net/netip"
	"time"
)

// HEP3 builds a HEPv3 packet (as Kamailio's siptrace, heplify or Asterisk
// send to a collector) carrying one SIP message from src to dst seen at ts:
// "HEP3", the total length, and the generic chunks (vendor 0) of family,
// addresses, ports, time, protocol type (SIP), capture id and payload.
func HEP3(src, dst netip.AddrPort, ts time.Time, payload string) []byte {
	chunk := func(typ uint16, v []byte) []byte {
		n := 6 + len(v)
		return append([]byte{0, 0, byte(typ >> 8), byte(typ), byte(n >> 8), byte(n)}, v...)
	}
	u32 := func(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }
	var body []byte
	if src.Addr().Is4() {
		s4, d4 := src.Addr().As4(), dst.Addr().As4()
		body = append(body, chunk(1, []byte{2})...)
		body = append(body, chunk(3, s4[:])...)
		body = append(body, chunk(4, d4[:])...)
	} else {
		s16, d16 := src.Addr().As16(), dst.Addr().As16()
		body = append(body, chunk(1, []byte{10})...)
		body = append(body, chunk(5, s16[:])...)
		body = append(body, chunk(6, d16[:])...)
	}
	body = append(body, chunk(7, []byte{byte(src.Port() >> 8), byte(src.Port())})...)
	body = append(body, chunk(8, []byte{byte(dst.Port() >> 8), byte(dst.Port())})...)
	body = append(body, chunk(9, u32(uint32(ts.Unix())))...)
	body = append(body, chunk(10, u32(uint32(ts.Nanosecond()/1000)))...)
	body = append(body, chunk(11, []byte{1})...)
	body = append(body, chunk(12, u32(2001))...)
	body = append(body, chunk(15, []byte(payload))...)
	n := 6 + len(body)
	return append([]byte{'H', 'E', 'P', '3', byte(n >> 8), byte(n)}, body...)
}
