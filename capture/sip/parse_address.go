package sip

import "bytes"

// name-addr / addr-spec with header parameters (RFC 3261 section 25.1:
// From, To, Contact) and the generic parameter list they end in.

// parseAddress reads name-addr or addr-spec followed by header parameters
// into a, which is zero. It writes in place: a returned struct costs a
// copy per header.
func parseAddress(v []byte, a *Address) {
	var params []byte
	a.URI, params = splitAddress(v)
	if len(params) > 5 && string(params[:5]) == ";tag=" {
		a.Tag = paramValue(params[5:]) // as nearly everyone writes it
	} else {
		a.Tag = param(params, "tag")
	}
}

// splitAddress cuts name-addr or addr-spec followed by header parameters
// (From, To, Contact) into the addr-spec, trimmed, and the parameters.
func splitAddress(v []byte) (uri, params []byte) {
	lt := 0
	if len(v) == 0 || v[0] != '<' { // most have no display name
		lt = indexUnquoted(v, '<')
	}
	if lt >= 0 {
		if gt := bytes.IndexByte(v[lt:], '>'); gt >= 0 {
			uri, params = v[lt+1:lt+gt], v[lt+gt+1:]
		} else {
			uri = v[lt+1:]
		}
	} else if sc := bytes.IndexByte(v, ';'); sc >= 0 {
		// addr-spec form: parameters after the URI belong to the header.
		uri, params = v[:sc], v[sc:]
	} else {
		uri = v
	}
	return trimLWS(uri), params
}

// paramValue returns the value of a parameter that starts rest, up to the
// next ';' or ',', as param gives it.
func paramValue(rest []byte) []byte {
	val := trimLWS(rest[:indexParamEnd(rest)])
	if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
		val = val[1 : len(val)-1]
	}
	return val
}

// param finds ;name=value in a parameter list and returns value, with
// quotes removed. A parameter without a value returns nil. Parameter lists
// are short, so one plain pass beats repeated vector searches.
func param(params []byte, name string) []byte {
	n := len(params)
	// Fast path: the parameter comes first, written ;name=value.
	if k := len(name); n > k+1 && params[0] == ';' && params[k+1] == '=' && equalFoldString(params[1:k+1], name) {
		i := k + 2 + indexParamEnd(params[k+2:])
		val := trimLWS(params[k+2 : i])
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = val[1 : len(val)-1]
		}
		return val
	}
	for i := 0; i < n; {
		for i < n && params[i] != ';' {
			i++
		}
		if i == n {
			return nil
		}
		i++
		for i < n && isLWS(params[i]) {
			i++
		}
		k := i
		for i < n && !isLWS(params[i]) && params[i] != '=' && params[i] != ';' && params[i] != ',' {
			i++
		}
		key := params[k:i]
		for i < n && isLWS(params[i]) {
			i++
		}
		if i < n && params[i] != '=' && params[i] != ';' && params[i] != ',' {
			continue // a key with white space inside is no parameter name
		}
		var val []byte
		if i < n && params[i] == '=' {
			i++
			v := i
			i += indexParamEnd(params[i:])
			val = trimLWS(params[v:i])
		}
		if equalFoldString(key, name) {
			if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
				val = val[1 : len(val)-1]
			}
			return val
		}
	}
	return nil
}

// indexUnquoted finds c outside double-quoted strings. Header values are
// short and c is usually near their start, so a plain loop is the fastest.
func indexUnquoted(v []byte, c byte) int {
	inQuote := false
	for i := 0; i < len(v); i++ {
		switch b := v[i]; {
		case inQuote:
			if b == '\\' {
				i++
			} else if b == '"' {
				inQuote = false
			}
		case b == '"':
			inQuote = true
		case b == c:
			return i
		}
	}
	return -1
}
