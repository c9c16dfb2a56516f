//go:build !linux

package vpcdns

import (
	"context"
	"errors"
	"net/netip"
	"runtime"
)

var errNoNamespaces = errors.New("network namespaces need Linux, not " + runtime.GOOS)

func listen(context.Context, string, netip.Addr) (listeners, error) {
	return listeners{}, errNoNamespaces
}

func namespaceID(string) (string, error) { return "", errNoNamespaces }
