package capture

import (
	"fmt"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Source yields raw packets in the order they are to be analysed. A File,
// a Merge of files and a Live interface implement it; one read loop
// (analyze/driver) reads them all.
type Source interface {
	// Next returns the next packet, the index of the input it came from
	// (0 for a single file or interface), its capture information and
	// link type. data and ci are valid until the following call (data
	// longer while its Block is held). At the end it returns io.EOF; a
	// live source with nothing to read within its poll interval returns
	// ErrNoPacket. An *InputError says one input ended early: the others
	// go on. Any other error ends the source.
	Next() (input int, data []byte, ci *gopacket.CaptureInfo, link layers.LinkType, err error)
	// Block returns the read block the last packet's data lies in, for a
	// consumer to Hold past the next call; nil when the data lies in a
	// buffer the next packet reuses.
	Block() *Block
	// Describe says what each input gave so far.
	Describe() []InputState
	Close() error
}

// InputState is what one input of a Source gave.
type InputState struct {
	Path    string
	Format  string // "pcap", "pcapng", with "+gzip"; "live"
	Packets uint64
	Err     error // what ended it early, if anything
	// Unreadable says it could not be read as a capture at all (Err says
	// why); the other inputs were read.
	Unreadable bool
	// Damages are the places it was damaged and reading went on from the
	// next plausible record.
	Damages []Damage
}

// InputError says input Input of a Source ended early (a damaged or cut
// file); the Source goes on with its other inputs.
type InputError struct {
	Input int
	Path  string
	Err   error
}

func (e *InputError) Error() string { return fmt.Sprintf("%s: %v", e.Path, e.Err) }
func (e *InputError) Unwrap() error { return e.Err }

// Counter is a Source that counts packets of its own: what loopback's
// second copies and the kernel's drops add to a decoder's Stats.
type Counter interface {
	CountInto(s *Stats)
}
