package sip

import "bytes"

// Via (RFC 3261 section 20.42): sent-protocol, sent-by and the branch of
// the topmost value, and how many values a line holds.

// parseVia counts the comma-separated values of a Via header line and,
// when first, reads its first value into via, which is zero:
// SIP / 2.0 / transport LWS sent-by *( SEMI via-params ).
func parseVia(v []byte, via *Via, first bool) int {
	comma := bytes.IndexByte(v, ',') >= 0 // rare: several values on the line
	values := 1
	if comma {
		values = countValues(v)
	}
	if !first {
		return values
	}
	// Skip "SIP / 2.0 /", allowing LWS around the slashes.
	slashes := 0
	if len(v) > 8 && string(v[:8]) == "SIP/2.0/" {
		v, slashes = v[8:], 2 // as nearly everyone writes it
	}
	for ; slashes < 2; slashes++ {
		i := bytes.IndexByte(v, '/')
		if i < 0 {
			return values
		}
		v = v[i+1:]
	}
	v = trimLeftLWS(v)
	i := 0
	for i < len(v) && !isLWS(v[i]) && v[i] != ';' {
		i++
	}
	via.Transport, v = v[:i], trimLeftLWS(v[i:])
	if comma {
		if c := indexUnquoted(v, ','); c >= 0 {
			v = v[:c]
		}
	}
	i = bytes.IndexByte(v, ';')
	if i < 0 {
		i = len(v)
	}
	via.SentBy = trimLWS(v[:i])
	if params := v[i:]; len(params) > 8 && string(params[:8]) == ";branch=" {
		via.Branch = paramValue(params[8:]) // as nearly everyone writes it
	} else {
		via.Branch = param(params, "branch")
	}
	return values
}

// countValues counts the comma-separated values of a header line.
func countValues(v []byte) int {
	n, inQuote := 1, false
	for _, c := range v {
		switch c {
		case '"':
			inQuote = !inQuote
		case ',':
			if !inQuote {
				n++
			}
		}
	}
	return n
}
