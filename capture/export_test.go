package capture

// NewLayeredDecoder returns a Decoder that takes no fast path: every frame
// is decoded layer by layer, for tests that compare the two ways.
func NewLayeredDecoder(emit func(*Message)) *Decoder {
	d := NewDecoder(emit)
	d.slow = true
	return d
}
