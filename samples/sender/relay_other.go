//go:build !linux

package main

import "errors"

func relay(args []string) error { return errors.New("relay needs Linux (AF_PACKET)") }

func replay(args []string) error { return errors.New("replay needs Linux (AF_PACKET)") }
