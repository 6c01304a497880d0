package capture

import "errors"

// ErrNoPacket says no packet arrived within the poll timeout; the caller
// may check its stop conditions and call Next again.
var ErrNoPacket = errors.New("no packet yet")

// ErrVanished says the interface being captured on went away mid-run.
var ErrVanished = errors.New("the capture interface vanished")

// ErrPermission says the process may not open a packet socket.
var ErrPermission = errors.New("permission denied")
