package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/privlink/privlink/bench/internal/tcpload"
	"github.com/privlink/privlink/internal/dataplane/netns"
)

// attempt is one probe of an endpoint: a connection from a client
// instance's namespace, the server's first byte through the path.
type attempt struct {
	// connected is when the TCP handshake completed (the listener of the
	// forwarder or proxy took it); answered when the server's first byte
	// arrived. Zero when the attempt did not get that far.
	connected, answered time.Time
	err                 error
}

// firstByte opens a TCP socket in namespace ns (the only work done on a
// thread switched into it) and runs firstByteOn with it.
func firstByte(ns netns.Handle, addr netip.AddrPort, deadline time.Time) attempt {
	fds, err := sockets(ns, 1)
	if err != nil {
		return attempt{err: err}
	}
	return firstByteOn(fds[0], addr, deadline)
}

// sockets opens n non-blocking TCP sockets in namespace ns, on one thread
// switched into it once.
func sockets(ns netns.Handle, n int) ([]int, error) {
	fds := make([]int, 0, n)
	err := netns.Do(ns, func() error {
		for range n {
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return err
			}
			fds = append(fds, fd)
		}
		return nil
	})
	if err != nil {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("socket: %w", err)
	}
	return fds, nil
}

// firstByteOn connects the socket fd (which it takes over) to addr, sends
// tcpload.ModeHold and waits for the one-byte answer the server sends
// through the path, each step bounded by the deadline; then it closes the
// connection.
func firstByteOn(fd int, addr netip.AddrPort, deadline time.Time) attempt {
	sa := &unix.SockaddrInet4{Port: int(addr.Port()), Addr: addr.Addr().As4()}
	if err := unix.Connect(fd, sa); err != nil && !errors.Is(err, unix.EINPROGRESS) {
		unix.Close(fd)
		return attempt{err: fmt.Errorf("connect: %w", err)}
	}
	f := os.NewFile(uintptr(fd), "probe")
	c, err := net.FileConn(f) // a dup, registered with the poller
	f.Close()
	if err != nil {
		return attempt{err: err}
	}
	defer c.Close()
	c.SetDeadline(deadline)
	var a attempt
	if err := waitConnected(c.(*net.TCPConn)); err != nil {
		a.err = err
		return a
	}
	a.connected = time.Now()
	if _, err := c.Write([]byte{tcpload.ModeHold}); err != nil {
		a.err = fmt.Errorf("write: %w", err)
		return a
	}
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		a.err = fmt.Errorf("no answer: %w", err)
		return a
	}
	a.answered = time.Now()
	return a
}

// waitConnected waits until the non-blocking connect of c has completed or
// failed (SO_ERROR), or c's deadline passes.
func waitConnected(c *net.TCPConn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var connErr error
	err = rc.Write(func(fd uintptr) bool {
		v, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		switch {
		case err != nil:
			connErr = err
		case v != 0:
			connErr = syscall.Errno(v)
		default:
			if _, err := unix.Getpeername(int(fd)); err != nil {
				return false // still connecting: wait until writable
			}
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	if connErr != nil {
		return fmt.Errorf("connect: %w", connErr)
	}
	return nil
}
