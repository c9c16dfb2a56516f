package forwarder

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
)

// probeNet makes one attempt of check chk over the network, from the
// check's namespace and source address, within ctx's deadline.
func (c *Checker) probeNet(ctx context.Context, chk Check, m matcher) result {
	conn, err := c.dial(ctx, chk)
	if err != nil {
		return failure(err)
	}
	defer conn.Close()
	// One deadline for the whole exchange, and cancellation on top.
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(aLongTimeAgo) })
	defer stop()

	if chk.ProxyProtocol {
		if _, err := conn.Write(appendProxyLocal(nil)); err != nil {
			return failure(fmt.Errorf("write proxy header: %w", err))
		}
	}
	switch strings.ToUpper(chk.Protocol) {
	case "", "TCP":
		return result{}
	case "HTTP":
		return httpCheck(conn, chk, m)
	case "HTTPS":
		// Load balancers do not verify their targets' certificates:
		// targets commonly present self-signed ones.
		tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // as ELB does
		if err := tc.HandshakeContext(ctx); err != nil {
			return failure(fmt.Errorf("tls handshake: %w", err))
		}
		return httpCheck(tc, chk, m)
	}
	return result{reason: FailRefused, err: fmt.Errorf("unknown health check protocol %q", chk.Protocol)}
}

func (c *Checker) dial(ctx context.Context, chk Check) (net.Conn, error) {
	f, err := c.socks.get(chk.Namespace)
	if err != nil {
		return nil, err
	}
	conn, err := newOutbound(ctx, f, chk.Source, family(chk.Addr.Addr()))
	if err != nil {
		return nil, err
	}
	if err := connect(ctx, conn, chk.Addr, connectTimeout); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// httpCheck sends the check's GET on rw and matches the status of the
// answer; the body is not read.
func httpCheck(rw net.Conn, chk Check, m matcher) result {
	path := chk.Path
	if path == "" {
		path = "/"
	}
	if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n") {
		return result{reason: FailRefused, err: fmt.Errorf("bad health check path %q", path)}
	}
	// Written by hand: one segment, exactly these headers, and the
	// Host a load balancer sends (the target's ip:port).
	req := "GET " + path + " HTTP/1.1\r\nHost: " + chk.Addr.String() +
		"\r\nUser-Agent: ELB-HealthChecker/2.0\r\nAccept: */*\r\nConnection: close\r\n\r\n"
	if _, err := rw.Write([]byte(req)); err != nil {
		return failure(fmt.Errorf("write request: %w", err))
	}
	resp, err := http.ReadResponse(bufio.NewReader(rw), nil)
	if err != nil {
		return failure(fmt.Errorf("read response: %w", err))
	}
	resp.Body.Close()
	if !m.match(resp.StatusCode) {
		return result{reason: FailMismatch, code: resp.StatusCode, err: fmt.Errorf("status %d", resp.StatusCode)}
	}
	return result{}
}

// failure classifies err: no answer in time is a timeout, anything else
// (refused, reset, unreachable, a malformed answer) a failure.
func failure(err error) result {
	if isTimeout(err) {
		return result{reason: FailTimeout, err: err}
	}
	return result{reason: FailRefused, err: err}
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
