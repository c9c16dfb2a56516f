package forwarder

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/privlink/privlink/internal/testenv"
	"golang.org/x/sys/unix"
)

// loopPair returns a flow's sock connected over loopback (made and
// connected as the engine makes its outbound sockets) and the peer's end.
func loopPair(t *testing.T) (*sock, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r := newSocket(unix.AF_INET, sockOpts[:])
	if r.err != nil {
		t.Fatal(r.err)
	}
	s, err := newSock(r.fd, "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := connect(t.Context(), s, ln.Addr().(*net.TCPAddr).AddrPort(), 3*time.Second); err != nil {
		t.Fatal(err)
	}
	peer, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	return s, peer.(*net.TCPConn)
}

// startPipe runs f.pipe(dst, src) and returns its result channel.
func startPipe(f *flow, dst, src *sock) <-chan error {
	done := make(chan error, 1)
	go func() { done <- f.pipe(dst, src, true) }()
	return done
}

func testFlow() *flow {
	return &flow{l: &listener{}, b: &backend{}, pipes: &pipePool{}}
}

func wait(t *testing.T, done <-chan error, d time.Duration) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("pipe still running after %v", d)
		return nil
	}
}

func TestPipeCopiesAndHalfCloses(t *testing.T) {
	for _, tt := range []struct {
		name     string
		noPipes  bool // pipe2 fails: the copy goes through a buffer
		wantFree int
	}{
		{"splice", false, 1},
		{"buffer", true, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := testFlow()
			if tt.noPipes {
				f.pipes.close() // get fails, as when out of descriptors
			}
			testCopy(t, f)
			if n := len(f.pipes.free); n != tt.wantFree {
				t.Errorf("free pipes after the copy = %d, want %d", n, tt.wantFree)
			}
			f.pipes.close()
		})
	}
}

func testCopy(t *testing.T, f *flow) {
	t.Helper()
	src, client := loopPair(t)
	dst, server := loopPair(t)
	done := startPipe(f, dst, src)

	msg := strings.Repeat("through the pipe ", 200000) // 3.4 MB: several splices
	go func() {
		io.WriteString(client, msg)
		client.CloseWrite()
	}()
	server.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(server) // ends at the half-close passed on
	if err != nil {
		t.Fatal(err)
	}
	if got := string(got); got != msg {
		t.Errorf("peer got %d bytes, want %d", len(got), len(msg))
	}
	if err := wait(t, done, 5*time.Second); err != nil {
		t.Errorf("pipe() = %v, want nil", err)
	}
	if got, want := f.l.ctr.bytesIn.Load(), uint64(len(msg)); got != want {
		t.Errorf("bytesIn = %d, want %d", got, want)
	}
}

// A pipe waiting for the destination to take data, with data in its pipe,
// ends when the flow is reset, and the pipe with data is closed, not
// reused.
func TestPipeResetWhileWriting(t *testing.T) {
	src, client := loopPair(t)
	dst, peer := loopPair(t) // the peer never reads
	// Small buffers fill fast.
	client.SetWriteBuffer(64 << 10)
	peer.SetReadBuffer(64 << 10)
	for _, s := range []*sock{src, dst} {
		s.raw.Control(func(fd uintptr) {
			unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 64<<10)
			unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF, 64<<10)
		})
	}
	f := testFlow()
	done := startPipe(f, dst, src)

	// Write until the client's writes stall: every buffer on the way,
	// the pipe's included, is full, so the pipe waits on dst. Twice in a
	// row, a second each: one stall could be the pipe's goroutine not
	// running for a while, with its pipe back in the free list.
	chunk := bytes.Repeat([]byte("x"), 256<<10)
	stalls := 0
	testenv.WaitFor(t, 30*time.Second, "the client's writes to stall", func() error {
		client.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := client.Write(chunk); !errors.Is(err, os.ErrDeadlineExceeded) {
			stalls = 0
			return errors.New("writes still flow")
		}
		if stalls++; stalls < 2 {
			return errors.New("writes stalled once")
		}
		return nil
	})
	dst.reset()
	src.reset()
	if err := wait(t, done, 5*time.Second); err == nil {
		t.Error("pipe() = nil after a reset, want an error")
	}
	if n := len(f.pipes.free); n != 0 {
		t.Errorf("free pipes = %d, want 0: a pipe with data is not reused", n)
	}
}

// A pipe waiting for data holds no pipe, and ends when the flow is reset.
func TestPipeIdleHoldsNoPipeAndResets(t *testing.T) {
	src, client := loopPair(t)
	dst, server := loopPair(t)
	f := testFlow()
	done := startPipe(f, dst, src)

	if _, err := client.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	server.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(server, buf); err != nil {
		t.Fatal(err)
	}
	// The data went through, so the pipe is back in the free list
	// (put before the next wait) or about to be.
	testenv.WaitFor(t, 5*time.Second, "the pipe back in the free list", func() error {
		f.pipes.mu.Lock()
		defer f.pipes.mu.Unlock()
		if len(f.pipes.free) != 1 {
			return errors.New("pipe still held")
		}
		return nil
	})
	src.reset()
	dst.reset()
	if err := wait(t, done, 5*time.Second); err == nil {
		t.Error("pipe() = nil after a reset, want an error")
	}
	f.pipes.close()
}

func TestPipePoolBounded(t *testing.T) {
	var pp pipePool
	var ps []pipeEnds
	for range maxFreePipes + 5 {
		p, err := pp.get()
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	for _, p := range ps {
		pp.put(p)
	}
	if n := len(pp.free); n != maxFreePipes {
		t.Errorf("free pipes = %d, want %d", n, maxFreePipes)
	}
	pp.close()
	if n := len(pp.free); n != 0 {
		t.Errorf("free pipes after close = %d, want 0", n)
	}
	if _, err := pp.get(); !errors.Is(err, errPoolClosed) {
		t.Errorf("get() after close = %v, want %v", err, errPoolClosed)
	}
	// A pipe put after close is closed.
	p, err := newPipe()
	if err != nil {
		t.Fatal(err)
	}
	pp.put(p)
	if _, err := unix.FcntlInt(uintptr(p.r), unix.F_GETFD, 0); err != unix.EBADF {
		t.Errorf("fcntl on a pipe put after close = %v, want EBADF", err)
	}
}
