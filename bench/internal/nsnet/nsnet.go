// Package nsnet opens TCP sockets inside a network namespace for the
// benchmark programs under bench/: a listener, or a connection that retries
// while the path comes up. Only the socket is made there (setns on a locked
// thread, internal/dataplane/netns.Do); the socket stays in its namespace
// and any goroutine can use it.
//
// It imports only the standard library and internal/dataplane/netns.
package nsnet

import (
	"context"
	"net"
	"time"

	"github.com/privlink/privlink/internal/dataplane/netns"
)

// Listen listens on addr (IPv4) with a socket of namespace ns.
func Listen(ns netns.Handle, addr string) (*net.TCPListener, error) {
	var ln net.Listener
	err := netns.Do(ns, func() error {
		var err error
		ln, err = net.Listen("tcp4", addr)
		return err
	})
	if err != nil {
		return nil, err
	}
	return ln.(*net.TCPListener), nil
}

// Dial connects to addr (IPv4) with a socket of namespace ns, each attempt
// given up after a second, retrying for up to 10 s while the path comes up
// (neighbour resolution, rules).
func Dial(ctx context.Context, ns netns.Handle, addr string) (*net.TCPConn, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		var c net.Conn
		err := netns.Do(ns, func() error {
			var err error
			d := net.Dialer{Timeout: time.Second}
			c, err = d.DialContext(ctx, "tcp4", addr)
			return err
		})
		if err == nil {
			return c.(*net.TCPConn), nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return nil, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
