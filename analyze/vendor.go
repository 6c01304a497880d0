package analyze

import (
	"strings"
)

// VendorName normalises a User-Agent or Server value to "Product Version",
// keeping the version to major.minor so that builds of one release group
// together: "Acme-PBX/7.1.2 (build 55)" becomes "Acme-PBX 7.1". It knows
// the ways products write it: "Name/1.2.3", "Name Words 1.2.3",
// "Name-1.2.3" and, as Kamailio and OpenSIPS do, "Name (1.2.3 (platform))".
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
	if product, version, ok := strings.Cut(tok, "/"); ok && product != "" {
		return join(product, shortVersion(version))
	}
	fields := strings.Fields(agent)
	for i := 1; i < len(fields) && i <= 3; i++ {
		if v := strings.TrimPrefix(fields[i], "("); startsWithDigit(v) {
			return join(strings.Join(fields[:i], " "), shortVersion(strings.TrimRight(v, ")")))
		}
	}
	for i := 1; i+1 < len(tok); i++ {
		if tok[i] == '-' && startsWithDigit(tok[i+1:]) {
			return join(tok[:i], shortVersion(tok[i+1:]))
		}
	}
	return tok
}

func join(product, version string) string {
	if version == "" {
		return product
	}
	return product + " " + version
}

// shortVersion keeps major.minor of a version, dropping what follows it.
func shortVersion(v string) string {
	if i := strings.IndexAny(v, " \t("); i >= 0 {
		v = v[:i]
	}
	parts := strings.SplitN(v, ".", 3)
	if len(parts) > 2 {
		parts = parts[:2]
	}
	return strings.Join(parts, ".")
}

func startsWithDigit(s string) bool { return s != "" && s[0] >= '0' && s[0] <= '9' }
