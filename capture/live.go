package capture

import "errors"

// ErrNoPacket says no packet arrived within the poll timeout; the caller
// may check its stop conditions and call Next again.
var ErrNoPacket = errors.New("no packet yet")

// ErrPermission says the process may not open a packet socket.
var ErrPermission = errors.New("permission denied")
