package driver

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Rotation says when -w starts a new file, as tcpdump's -C, -G and -W do.
type Rotation struct {
	// Size: a new file once this many bytes were written (-C, in
	// millions of bytes); 0 never.
	Size int64
	// Every: a new file this often (-G); the name goes through strftime
	// (%Y %m %d %H %M %S %j %%) at each file's start; 0 never.
	Every time.Duration
	// Files (-W): with Size, the files are a ring of this many,
	// overwritten oldest first; with Every alone, the run stops after
	// this many files. 0: no limit.
	Files int
}

// RotatingFile writes packets to a file that rotates (see Rotation): a
// Visit for Config.Tap, like PacketFile.
type RotatingFile struct {
	pattern string
	link    layers.LinkType
	names   *Interfaces
	rot     Rotation
	cur     *PacketFile
	written int64
	opened  time.Time
	count   int // files opened so far
	// Done is set when Every and Files ended the run (tcpdump exits 0).
	Done bool
	now  func() time.Time
}

// CreateRotatingFile opens the first file of a rotating -w.
func CreateRotatingFile(pattern string, link layers.LinkType, names *Interfaces, rot Rotation) (*RotatingFile, error) {
	return createRotating(pattern, link, names, rot, time.Now)
}

func createRotating(pattern string, link layers.LinkType, names *Interfaces, rot Rotation, now func() time.Time) (*RotatingFile, error) {
	r := &RotatingFile{pattern: pattern, link: link, names: names, rot: rot, now: now}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

// name is the n-th file's name (0-based), opened at t: strftime'd with
// -G, numbered after the first with -C as tcpdump numbers them (with -W,
// every file, padded to the width of the count).
func (r *RotatingFile) name(n int, t time.Time) string {
	name := r.pattern
	if r.rot.Every > 0 {
		name = strftime(name, t.UTC())
	}
	if r.rot.Size > 0 {
		switch {
		case r.rot.Files > 0:
			width := len(strconv.Itoa(r.rot.Files - 1))
			name += fmt.Sprintf("%0*d", width, n%r.rot.Files)
		case n > 0:
			name += strconv.Itoa(n)
		}
	}
	return name
}

func (r *RotatingFile) open() error {
	t := r.now()
	f, err := CreatePacketFile(r.name(r.count, t), r.link, r.names)
	if err != nil {
		return err
	}
	r.cur, r.written, r.opened = f, 0, t
	r.count++
	return nil
}

// Write writes one packet, rotating first when it is time.
func (r *RotatingFile) Write(input int, data []byte, ci *gopacket.CaptureInfo, link layers.LinkType) error {
	if r.Done {
		return nil
	}
	due := (r.rot.Size > 0 && r.written >= r.rot.Size) || (r.rot.Every > 0 && r.now().Sub(r.opened) >= r.rot.Every)
	if due {
		if err := r.cur.Close(); err != nil {
			return err
		}
		if r.rot.Every > 0 && r.rot.Size == 0 && r.rot.Files > 0 && r.count >= r.rot.Files {
			r.Done, r.cur = true, nil
			return nil
		}
		if err := r.open(); err != nil {
			return err
		}
	}
	r.written += int64(len(data)) + 16 // the record header
	return r.cur.Write(input, data, ci, link)
}

// Flush pushes what is buffered to the current file.
func (r *RotatingFile) Flush() error {
	if r.cur == nil {
		return nil
	}
	return r.cur.Flush()
}

// Close closes the current file.
func (r *RotatingFile) Close() error {
	if r.cur == nil {
		return nil
	}
	err := r.cur.Close()
	r.cur = nil
	return err
}

// strftime expands the conversions tcpdump's -G names use.
func strftime(pattern string, t time.Time) string {
	var b strings.Builder
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if c != '%' || i+1 == len(pattern) {
			b.WriteByte(c)
			continue
		}
		i++
		switch pattern[i] {
		case 'Y':
			fmt.Fprintf(&b, "%04d", t.Year())
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case 's':
			fmt.Fprintf(&b, "%d", t.Unix())
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(pattern[i])
		}
	}
	return b.String()
}
