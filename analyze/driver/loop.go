// Package driver owns the read loop: it reads a capture.Source (files, a
// merge of files, a live interface), hands each packet to the decoder,
// runs the batch pipeline that splits decoding and analysis over two
// goroutines, and writes packets back out as pcap or pcapng.
package driver

import (
	"errors"
	"io"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/sipalive/sipalive/capture"
)

// Visit takes one packet of a Source; data and ci are valid until it
// returns (data longer while the source's Block is held).
type Visit func(input int, data []byte, ci *gopacket.CaptureInfo, link layers.LinkType) error

// Loop is the read loop, the only one: every command reads its source
// through it.
type Loop struct {
	Src capture.Source
	// Stop, checked before every read, ends the loop early (-c, a
	// signal, --duration); nil never stops.
	Stop func() bool
	// Damaged hears of an input that ended early (a cut or corrupt file);
	// the others are read on. nil ignores it.
	Damaged func(*capture.InputError)
	// Idle runs after every packet and every quiet poll of a live source,
	// for what is due on the clock (a live refresh); nil: nothing.
	Idle func() error
}

// Run reads until the source ends, Stop says so, Visit or Idle fails, or
// the source fails as a whole (a vanished interface).
func (l *Loop) Run(visit Visit) error {
	for l.Stop == nil || !l.Stop() {
		input, data, ci, link, err := l.Src.Next()
		switch {
		case err == nil:
			if err := visit(input, data, ci, link); err != nil {
				return err
			}
		case err == io.EOF:
			return nil
		case errors.Is(err, capture.ErrNoPacket):
		default:
			damaged := inputError(err)
			if damaged == nil {
				return err
			}
			if l.Damaged != nil {
				l.Damaged(damaged)
			}
			continue
		}
		if l.Idle != nil {
			if err := l.Idle(); err != nil {
				return err
			}
		}
	}
	return nil
}

// inputError is the damaged input err tells of, or nil. It is a function
// of its own so that the variable errors.As is given, which escapes, is
// made on the error path only and not for every packet read.
func inputError(err error) *capture.InputError {
	var damaged *capture.InputError
	if errors.As(err, &damaged) {
		return damaged
	}
	return nil
}
