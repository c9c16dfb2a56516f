//go:build !linux

package testenv

import "testing"

// claimPrefix returns a fresh prefix. There is nothing to record or sweep:
// network namespaces need Linux.
func claimPrefix(t testing.TB) (prefix string, release func()) {
	return newPrefix(), nil
}
