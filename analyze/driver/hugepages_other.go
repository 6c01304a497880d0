//go:build !linux

package driver

// adviseHugePages does nothing but on Linux (see hugepages_linux.go).
func adviseHugePages(int) error { return nil }
