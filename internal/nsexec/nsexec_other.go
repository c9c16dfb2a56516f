//go:build !linux

package nsexec

import (
	"errors"
	"runtime"
)

var errNotLinux = errors.New("network namespaces need Linux, not " + runtime.GOOS)

// Exec would run argv inside the network namespace ns; it needs Linux.
func Exec(ns string, argv []string) error {
	return &Error{Code: ExitNotFound, Err: errNotLinux}
}

// Check would report whether the network namespace ns exists; it needs
// Linux.
func Check(ns string) error { return errNotLinux }
