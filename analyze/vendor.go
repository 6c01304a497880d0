package analyze

import (
	"net/netip"
	"strings"
)

// VendorName normalises a User-Agent or Server value to "Product Version",
// keeping the version to major.minor so that builds of one release group
// together: "Acme-PBX/7.1.2 (build 55)" becomes "Acme-PBX 7.1".
func VendorName(agent string) string {
	agent = strings.TrimSpace(agent)
	if agent == "" {
		return ""
	}
	// The first product token is the product; comments and further
	// tokens describe the platform (RFC 3261 section 20.41).
	tok := agent
	if i := strings.IndexAny(tok, " \t("); i > 0 {
		tok = tok[:i]
	}
	product, version, _ := strings.Cut(tok, "/")
	if version == "" {
		// "Acme PBX 7.1" style: a space-separated version
		fields := strings.Fields(agent)
		if len(fields) >= 2 && startsWithDigit(fields[1]) {
			product, version = fields[0], fields[1]
		} else {
			return tok
		}
	}
	parts := strings.SplitN(version, ".", 3)
	if len(parts) > 2 {
		parts = parts[:2]
	}
	return product + " " + strings.Join(parts, ".")
}

func startsWithDigit(s string) bool { return s != "" && s[0] >= '0' && s[0] <= '9' }

// agentOf names the party at addr: the agent string it sent, else what the
// address announced in other messages, else the address itself.
func (a *Analyzer) agentOf(agent string, addr netip.Addr) string {
	if agent == "" {
		agent = a.agents[addr]
	}
	if v := VendorName(agent); v != "" {
		return v
	}
	if !addr.IsValid() {
		return "unknown"
	}
	return "unknown (" + addr.String() + ")"
}
