package tcpload

import (
	"net"
	"testing"
	"time"
)

// serveOne accepts one connection on a listener of 127.0.0.1 and serves it
// with serve; it returns the address and serve's error.
func serveOne(t *testing.T, serve func(net.Conn) error) (string, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	errc := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			errc <- err
			return
		}
		defer c.Close()
		errc <- serve(c)
	}()
	return ln.Addr().String(), errc
}

func dial(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

func TestStreamSink(t *testing.T) {
	addr, errc := serveOne(t, Sink)
	got, elapsed, err := Stream(dial(t, addr), 50*time.Millisecond, 4096)
	if err != nil {
		t.Fatalf("Stream() error = %v", err)
	}
	if got <= 0 || elapsed < 50*time.Millisecond {
		t.Errorf("Stream() = %d bytes in %v, want some bytes in at least 50ms", got, elapsed)
	}
	if err := <-errc; err != nil {
		t.Errorf("Sink() error = %v", err)
	}
}

func TestPingPongEcho(t *testing.T) {
	addr, errc := serveOne(t, func(c net.Conn) error { return Echo(c, 3) })
	c := dial(t, addr)
	lat, _, err := PingPong(c, []byte("abc"), 20)
	if err != nil {
		t.Fatalf("PingPong() error = %v", err)
	}
	if len(lat) != 20 {
		t.Errorf("PingPong() timed %d round trips, want 20", len(lat))
	}
	c.CloseWrite()
	if err := <-errc; err != nil {
		t.Errorf("Echo() error = %v", err)
	}
}
