// Package tcpload is the TCP server and load generator that the benchmark
// programs under bench/ run inside instance namespaces, as hidden
// subcommands of their own binaries (`serve`, `load`: ServeMain and
// LoadMain), and the code that runs them there under `ip netns exec NS
// taskset -c CPU` and reads their answers.
//
// Both programs are plain Go net code with the runtime's defaults
// (TCP_NODELAY, default socket buffers); under taskset with one CPU the
// runtime sets GOMAXPROCS to 1. The first byte of a connection says what
// the server does with it (ModeSink, ModePing, ModeRequest, ModeHold).
// The two ends of the throughput and ping-pong tests (Sink and Stream, Echo
// and PingPong) serve programs that open their sockets themselves too.
//
// It imports only the standard library, golang.org/x/sys and bench/internal
// packages.
package tcpload

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/privlink/privlink/bench/internal/report"
)

// The first byte of a connection says what the server does with it.
const (
	// ModeSink makes the server read to EOF, then answer the byte count
	// (8 bytes, big endian) and close.
	ModeSink = 'T'
	// ModePing makes it echo messages of -size bytes until EOF.
	ModePing = 'P'
	// ModeRequest makes it read the rest of a -size byte request, answer
	// -size bytes and close first, as an HTTP/1.0 server does.
	ModeRequest = 'R'
	// ModeHold makes it answer one byte, then hold the connection until
	// EOF.
	ModeHold = 'H'
)

// Subcommand runs the hidden subcommand that os.Args names, if it names
// one, and exits with its status: `serve` (ServeMain) or `load`
// (LoadMain). A bench program calls it first thing in main.
func Subcommand() {
	if len(os.Args) < 2 {
		return
	}
	switch os.Args[1] {
	case "serve":
		os.Exit(ServeMain(os.Args[2:]))
	case "load":
		os.Exit(LoadMain(os.Args[2:]))
	}
}

// ServeMain is `serve -addr :PORT -size N`: it prints "ready" once it
// listens and serves until killed.
func ServeMain(args []string) int {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	addr := fs.String("addr", ":5001", "listen address")
	size := fs.Int("size", 64, "message size of ping-pong and request/response")
	fs.Parse(args)
	log.SetPrefix("serve: ")
	ln, err := net.Listen("tcp4", *addr)
	if err != nil {
		log.Print(err)
		return 1
	}
	fmt.Println("ready")
	for {
		c, err := ln.Accept()
		if err != nil {
			// EMFILE and the like: back off and go on.
			log.Print(err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go serveConn(c, *size)
	}
}

func serveConn(c net.Conn, size int) {
	defer c.Close()
	var mode [1]byte
	if _, err := io.ReadFull(c, mode[:]); err != nil {
		return // a health check's connect, or a closed client
	}
	switch mode[0] {
	case ModeSink:
		Sink(c)
	case ModePing:
		Echo(c, size)
	case ModeRequest:
		buf := make([]byte, size)
		if _, err := io.ReadFull(c, buf[:size-1]); err != nil {
			return
		}
		c.Write(buf)
	case ModeHold:
		if _, err := c.Write([]byte{'h'}); err != nil {
			return
		}
		io.Copy(io.Discard, c)
	}
}

// Sink reads c to EOF and answers the number of bytes read, 8 bytes big
// endian (ModeSink). A read error other than EOF is returned unanswered.
func Sink(c net.Conn) error {
	buf := make([]byte, 256<<10)
	var total int64
	for {
		n, err := c.Read(buf)
		total += int64(n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	var count [8]byte
	binary.BigEndian.PutUint64(count[:], uint64(total))
	_, err := c.Write(count[:])
	return err
}

// Echo sends back every message of size bytes read from c until EOF
// (ModePing); it returns nil at EOF.
func Echo(c net.Conn, size int) error {
	buf := make([]byte, size)
	for {
		if _, err := io.ReadFull(c, buf); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if _, err := c.Write(buf); err != nil {
			return err
		}
	}
}

// Stream writes bufSize-byte buffers to c for dur, closes its sending side
// and reads the count of bytes the peer received (Sink's answer). It
// returns the count and the time from the first write until the count came
// back; a count other than what was sent is an error.
func Stream(c *net.TCPConn, dur time.Duration, bufSize int) (int64, time.Duration, error) {
	buf := make([]byte, bufSize)
	start := time.Now()
	end := start.Add(dur)
	var sent int64
	for time.Now().Before(end) {
		n, err := c.Write(buf)
		sent += int64(n)
		if err != nil {
			return 0, 0, fmt.Errorf("write: %w", err)
		}
	}
	if err := c.CloseWrite(); err != nil {
		return 0, 0, err
	}
	var count [8]byte
	if _, err := io.ReadFull(c, count[:]); err != nil {
		return 0, 0, fmt.Errorf("read the server's count: %w", err)
	}
	elapsed := time.Since(start)
	got := int64(binary.BigEndian.Uint64(count[:]))
	if got != sent {
		return 0, 0, fmt.Errorf("server received %d bytes, client sent %d", got, sent)
	}
	return got, elapsed, nil
}

// PingPong sends msg on c and reads as many bytes back (Echo's answer),
// n/10 times (at least once) untimed, then n times timed. It returns each
// timed round trip and the time they took together.
func PingPong(c net.Conn, msg []byte, n int) ([]time.Duration, time.Duration, error) {
	roundTrip := func() error {
		if _, err := c.Write(msg); err != nil {
			return err
		}
		_, err := io.ReadFull(c, msg)
		return err
	}
	for range max(n/10, 1) {
		if err := roundTrip(); err != nil {
			return nil, 0, err
		}
	}
	lat := make([]time.Duration, n)
	start := time.Now()
	for i := range lat {
		t := time.Now()
		if err := roundTrip(); err != nil {
			return nil, 0, err
		}
		lat[i] = time.Since(t)
	}
	return lat, time.Since(start), nil
}

// Result is what `load` prints, one JSON object on stdout.
type Result struct {
	// tput
	Bytes int64 `json:"bytes,omitempty"`
	// cps: completed transactions and failed ones
	Conns  int64 `json:"conns,omitempty"`
	Errors int64 `json:"errors,omitempty"`
	// rr
	P50 time.Duration `json:"p50,omitempty"`
	P99 time.Duration `json:"p99,omitempty"`
	// hold: connections open and answered
	Open int `json:"open,omitempty"`

	Seconds  float64 `json:"seconds,omitempty"`
	FirstErr string  `json:"firstErr,omitempty"`
}

// LoadMain is `load -mode tput|cps|rr|hold -addr IP:PORT ...`.
func LoadMain(args []string) int {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	mode := fs.String("mode", "", "tput, cps, rr or hold")
	addr := fs.String("addr", "", "server or proxy address")
	dur := fs.Duration("duration", 5*time.Second, "tput, cps: how long")
	buf := fs.Int("buf", 64<<10, "tput: size of each write")
	size := fs.Int("size", 64, "cps, rr: message size")
	workers := fs.Int("workers", 32, "cps: concurrent connections")
	n := fs.Int("n", 20000, "rr: timed round trips")
	parallel := fs.Int("parallel", 32, "hold: connections opened at once")
	fs.Parse(args)
	log.SetPrefix("load: ")
	var (
		r   Result
		err error
	)
	switch *mode {
	case "tput":
		r, err = loadThroughput(*addr, *dur, *buf)
	case "cps":
		r, err = loadConnections(*addr, *dur, *workers, *size)
	case "rr":
		r, err = loadPingPong(*addr, *n, *size)
	case "hold":
		return loadHold(*addr, *parallel)
	default:
		err = fmt.Errorf("unknown -mode %q", *mode)
	}
	if err != nil {
		log.Print(err)
		return 1
	}
	json.NewEncoder(os.Stdout).Encode(r)
	return 0
}

// dialRetry connects to addr, retrying for up to 10 s while the path comes
// up.
func dialRetry(addr string) (*net.TCPConn, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp4", addr, time.Second)
		if err == nil {
			return c.(*net.TCPConn), nil
		}
		if time.Now().After(deadline) {
			return nil, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func loadThroughput(addr string, dur time.Duration, bufSize int) (Result, error) {
	c, err := dialRetry(addr)
	if err != nil {
		return Result{}, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(dur + time.Minute))
	if _, err := c.Write([]byte{ModeSink}); err != nil {
		return Result{}, err
	}
	got, elapsed, err := Stream(c, dur, bufSize)
	if err != nil {
		return Result{}, err
	}
	return Result{Bytes: got, Seconds: elapsed.Seconds()}, nil
}

// loadConnections runs workers loops of: connect, send a size-byte
// request, read the size-byte answer and the server's EOF, close.
func loadConnections(addr string, dur time.Duration, workers, size int) (Result, error) {
	var done, failed atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	end := start.Add(dur)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			req := make([]byte, size)
			req[0] = ModeRequest
			resp := make([]byte, size+1)
			for time.Now().Before(end) {
				err := transaction(addr, req, resp)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					time.Sleep(time.Millisecond)
					continue
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	r := Result{Conns: done.Load(), Errors: failed.Load(), Seconds: time.Since(start).Seconds()}
	if e, ok := firstErr.Load().(string); ok {
		r.FirstErr = e
	}
	return r, nil
}

func transaction(addr string, req, resp []byte) error {
	c, err := net.DialTimeout("tcp4", addr, 2*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(req); err != nil {
		return err
	}
	if _, err := io.ReadFull(c, resp[:len(req)]); err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if n, err := c.Read(resp); !errors.Is(err, io.EOF) {
		return fmt.Errorf("after the answer: %d more bytes, %v instead of EOF", n, err)
	}
	return nil
}

func loadPingPong(addr string, n, size int) (Result, error) {
	c, err := dialRetry(addr)
	if err != nil {
		return Result{}, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Minute))
	if _, err := c.Write([]byte{ModePing}); err != nil {
		return Result{}, err
	}
	lat, elapsed, err := PingPong(c, make([]byte, size), n)
	if err != nil {
		return Result{}, err
	}
	return Result{P50: report.Percentile(lat, 0.50), P99: report.Percentile(lat, 0.99), Seconds: elapsed.Seconds()}, nil
}

// loadHold holds connections, each answered by the server through the
// path, and takes commands on stdin, one a line: "open N" opens N more,
// parallel at a time, stopping at the first failure, and prints the
// number now open (and the first failure) as JSON; "close" or EOF closes
// them all and exits.
func loadHold(addr string, parallel int) int {
	var conns []net.Conn
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var n int
		if _, err := fmt.Sscanf(in.Text(), "open %d", &n); err != nil {
			break
		}
		opened, firstErr, secs := openHeld(addr, n, parallel)
		conns = append(conns, opened...)
		json.NewEncoder(os.Stdout).Encode(Result{Open: len(conns), FirstErr: firstErr, Seconds: secs})
	}
	for _, c := range conns {
		c.Close()
	}
	return 0
}

// openHeld opens up to n connections, parallel at a time, and stops at the
// first failure.
func openHeld(addr string, n, parallel int) ([]net.Conn, string, float64) {
	conns := make([]net.Conn, n)
	var next atomic.Int64
	var stop atomic.Bool
	var firstErr atomic.Value
	start := time.Now()
	var wg sync.WaitGroup
	for range parallel {
		wg.Go(func() {
			for !stop.Load() {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				c, err := hold(addr)
				if err != nil {
					stop.Store(true)
					firstErr.CompareAndSwap(nil, err.Error())
					return
				}
				conns[i] = c
			}
		})
	}
	wg.Wait()
	var out []net.Conn
	for _, c := range conns {
		if c != nil {
			out = append(out, c)
		}
	}
	e, _ := firstErr.Load().(string)
	return out, e, time.Since(start).Seconds()
}

func hold(addr string) (net.Conn, error) {
	c, err := net.DialTimeout("tcp4", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	var b [1]byte
	if _, err := c.Write([]byte{ModeHold}); err != nil {
		c.Close()
		return nil, err
	}
	if _, err := io.ReadFull(c, b[:]); err != nil {
		c.Close()
		return nil, fmt.Errorf("no answer through the path: %w", err)
	}
	c.SetDeadline(time.Time{})
	return c, nil
}
