package capture

import (
	"net/netip"
	"time"

	"github.com/gopacket/gopacket/ip4defrag"
	"github.com/gopacket/gopacket/ip6defrag"
	"github.com/gopacket/gopacket/layers"
)

// fragmentTimeout is how long an incomplete datagram waits for its missing
// fragments, on capture time (Linux's ipfrag_time is 30 s).
const fragmentTimeout = 30 * time.Second

// maxPendingDatagrams bounds the incomplete datagrams held at once.
const maxPendingDatagrams = 4096

// fragKey names one datagram being reassembled.
type fragKey struct {
	src, dst netip.Addr
	id       uint32
	proto    uint8
}

// fragList remembers which packets carried a datagram's fragments, so the
// rebuilt message can name them all.
type fragList struct {
	first  time.Time
	frames []uint64
}

// defragmenter wraps gopacket's ip4defrag and ip6defrag. Both keep what they
// are given, so fragments are copied out of the reused packet buffer first;
// fragments are rare, so this allocation is off the common path.
type defragmenter struct {
	v4    *ip4defrag.IPv4Defragmenter
	v6    *ip6defrag.IPv6Defragmenter
	lists map[fragKey]*fragList
}

func newDefragmenter() *defragmenter {
	return &defragmenter{
		v4:    ip4defrag.NewIPv4Defragmenter(),
		v6:    ip6defrag.NewIPv6Defragmenter(),
		lists: make(map[fragKey]*fragList),
	}
}

func (f *defragmenter) note(k fragKey, now time.Time, packet uint64) *fragList {
	l, ok := f.lists[k]
	if !ok {
		if len(f.lists) >= maxPendingDatagrams {
			return nil
		}
		l = &fragList{first: now}
		f.lists[k] = l
	}
	l.frames = append(l.frames, packet)
	return l
}

func (f *defragmenter) pending() int { return len(f.lists) }

func (f *defragmenter) reset() {
	f.v4 = ip4defrag.NewIPv4Defragmenter()
	f.v6 = ip6defrag.NewIPv6Defragmenter()
	clear(f.lists)
}

// expire drops datagrams that waited past fragmentTimeout.
func (f *defragmenter) expire(d *Decoder, now time.Time) {
	stale := 0
	for k, l := range f.lists {
		if now.Sub(l.first) > fragmentTimeout {
			delete(f.lists, k)
			stale++
		}
	}
	if stale == 0 {
		return
	}
	d.Stats.FragmentsPending += uint64(stale)
	f.v4.DiscardOlderThan(now.Add(-fragmentTimeout))
	if len(f.lists) == 0 {
		// ip6defrag ages lists on the wall clock, not capture time:
		// with nothing left pending here, start it afresh.
		f.v6 = ip6defrag.NewIPv6Defragmenter()
	}
}

// fragment4 feeds the current IPv4 fragment to the defragmenter and decodes
// the datagram once complete.
func (d *Decoder) fragment4(depth int) {
	f := d.defrag
	ip := d.ip4
	ip.Payload = append([]byte(nil), d.ip4.Payload...)
	ip.Contents = append([]byte(nil), d.ip4.Contents...)
	ip.SrcIP = append([]byte(nil), d.ip4.SrcIP...)
	ip.DstIP = append([]byte(nil), d.ip4.DstIP...)
	k := fragKey{src: ipAddr(4, ip.SrcIP, nil), dst: ipAddr(4, ip.DstIP, nil), id: uint32(ip.Id), proto: uint8(ip.Protocol)}
	l := f.note(k, d.now, d.packet)
	if l == nil {
		d.Stats.Fragments++
		d.Stats.FragmentsPending++
		return
	}
	out, err := f.v4.DefragIPv4WithTimestamp(&ip, d.now)
	if err != nil {
		// contradicting fragments: the list was dropped, as receivers do
		delete(f.lists, k)
		d.Stats.Fragments++
		d.Stats.FragmentsPending++
		return
	}
	if out == nil {
		d.Stats.Fragments++
		return
	}
	delete(f.lists, k)
	d.Stats.FragmentsReassembled++
	d.ip4 = *out
	d.reassembled(4, out.Protocol, out.Payload, l.frames, depth)
}

// fragment6 is fragment4 for an IPv6 fragment header.
func (d *Decoder) fragment6(depth int) {
	f := d.defrag
	ip := d.ip6
	ip.SrcIP = append([]byte(nil), d.ip6.SrcIP...)
	ip.DstIP = append([]byte(nil), d.ip6.DstIP...)
	fg := d.ip6frag
	fg.Payload = append([]byte(nil), d.ip6frag.Payload...)
	k := fragKey{src: ipAddr(6, nil, ip.SrcIP), dst: ipAddr(6, nil, ip.DstIP), id: fg.Identification, proto: uint8(fg.NextHeader)}
	l := f.note(k, d.now, d.packet)
	if l == nil {
		d.Stats.Fragments++
		d.Stats.FragmentsPending++
		return
	}
	out := f.v6.DefragIPv6(&ip, &fg)
	if out == nil {
		d.Stats.Fragments++
		return
	}
	delete(f.lists, k)
	d.Stats.FragmentsReassembled++
	d.ip6 = *out
	d.reassembled(6, out.NextHeader, out.Payload, l.frames, depth)
}

// reassembled decodes the transport layer of a rebuilt datagram.
func (d *Decoder) reassembled(ipv int, proto layers.IPProtocol, payload []byte, frames []uint64, depth int) {
	switch {
	case proto == sctpProto:
		d.sctp(ipv, payload, frames)
	case depth < maxDecodeDepth:
		// UDP and TCP, or a tunnel (GRE, IP-in-IP, VXLAN and Geneve
		// over UDP) whose outer packet was fragmented: decoded from the
		// transport on, as if it had come whole.
		d.decode(proto.LayerType(), payload, frames, ipv, depth+1)
	default:
		d.Stats.Undecodable++
	}
}
