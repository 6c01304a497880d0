package capture

import "errors"

// ErrNoPacket says no packet arrived within the poll timeout; the caller
// may check its stop conditions and call Next again.
var ErrNoPacket = errors.New("no packet yet")

// DefaultRingMiB is the kernel ring a live capture gets unless told (-B):
// 16 blocks of 1 MiB, a few seconds of a busy SBC's SIP.
const DefaultRingMiB = 16

// ErrVanished says the interface being captured on went away mid-run.
var ErrVanished = errors.New("the capture interface vanished")

// ErrPermission says the process may not open a packet socket.
var ErrPermission = errors.New("permission denied")
