//go:build !linux

package forwarder

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// Network namespaces are Linux's: elsewhere the package builds, so that its
// importers do, and every socket fails.

var errUnsupported = errors.New("network namespaces need Linux")

type nsFactory struct{}

type nsSockets struct{ prefetch bool }

func (*nsSockets) get(string) (*nsFactory, error) { return nil, errUnsupported }
func (*nsSockets) retain(func(string) bool)       {}
func (*nsSockets) closeAll()                      {}

func family(netip.Addr) int { return 0 }

func listenIn(context.Context, *nsFactory, netip.AddrPort) (*listenSock, error) {
	return nil, errUnsupported
}

func newOutbound(context.Context, *nsFactory, netip.Addr, int) (*net.TCPConn, error) {
	return nil, errUnsupported
}

type sock struct{}

func newOutboundSock(context.Context, *nsFactory, netip.Addr, int) (*sock, error) {
	return nil, errUnsupported
}

type listenSock struct{}

func (*listenSock) Close() error { return errUnsupported }
func (*listenSock) accept() (*sock, netip.AddrPort, error) {
	return nil, netip.AddrPort{}, errUnsupported
}

func (*sock) SyscallConn() (syscall.RawConn, error) { return nil, errUnsupported }
func (*sock) SetWriteDeadline(time.Time) error      { return errUnsupported }
func (*sock) Write([]byte) (int, error)             { return 0, errUnsupported }
func (*sock) Close() error                          { return errUnsupported }
func (*sock) reset()                                {}
func (*sock) segsIn() (uint32, bool)                { return 0, false }

type pollConn interface {
	syscall.Conn
	SetWriteDeadline(time.Time) error
}

func connect(context.Context, pollConn, netip.AddrPort, time.Duration) error {
	return errUnsupported
}

type pipePool struct{}

type pipePools struct{}

func (*pipePools) pick(uint16) *pipePool { return nil }
func (*pipePools) close()                {}

func (*flow) pipe(_, _ *sock, _ bool) error { return errUnsupported }

func startConnect(*sock, netip.AddrPort) error { return errUnsupported }
func connecting(*sock) bool                    { return false }
