//go:build !linux

package dataplane

import (
	"context"
	"errors"
	"log/slog"
)

// Linux is the data plane on the host's kernel. On this system it only
// reports errors.ErrUnsupported.
type Linux struct{}

// NewLinux returns the Linux data plane.
func NewLinux(logger *slog.Logger, opts ...LinuxOption) *Linux { return &Linux{} }

// Set reports errors.ErrUnsupported.
func (l *Linux) Set(ctx context.Context, cfg Config) error { return errors.ErrUnsupported }

// Resync does nothing.
func (l *Linux) Resync() {}

// Plan reports errors.ErrUnsupported.
func (l *Linux) Plan(ctx context.Context, cfg Config) ([]string, error) {
	return nil, errors.ErrUnsupported
}

// Namespaces reports errors.ErrUnsupported.
func (l *Linux) Namespaces(ctx context.Context, prefix string) ([]string, error) {
	return nil, errors.ErrUnsupported
}
