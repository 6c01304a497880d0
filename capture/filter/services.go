package filter

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"sync"
)

// Service names in port primitives ("port sip") are looked up in
// /etc/services as tcpdump does; SIP's own names are known without it,
// for systems (containers) that ship none.
var builtinServices = map[string]uint16{"sip": 5060, "sips": 5061, "sip-tls": 5061}

var services = sync.OnceValue(func() map[string]uint16 {
	m := map[string]uint16{}
	f, err := os.Open("/etc/services")
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		portProto := strings.SplitN(fields[1], "/", 2)
		port, err := strconv.ParseUint(portProto[0], 10, 16)
		if err != nil {
			continue
		}
		for _, name := range append([]string{fields[0]}, fields[2:]...) {
			if _, ok := m[name]; !ok {
				m[name] = uint16(port)
			}
		}
	}
	return m
})

// portNumber reads a port: a number, or a service name.
func portNumber(w, proto string) (uint16, bool) {
	if v, err := strconv.ParseUint(w, 10, 16); err == nil {
		return uint16(v), true
	}
	if p, ok := services()[w]; ok {
		return p, true
	}
	p, ok := builtinServices[w]
	return p, ok
}
