//go:build !linux

package testenv

import (
	"errors"
	"runtime"
)

func privileged() error {
	return errors.New("network namespaces need Linux, not " + runtime.GOOS)
}
