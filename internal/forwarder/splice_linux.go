package forwarder

import (
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// A direction of a flow copies with splice(2) through a pipe: socket to
// pipe, pipe to socket, no copy to user space. It takes a pipe only once
// data is there, and gives it back as soon as the pipe is empty again, so
// an idle flow holds no pipe: its only descriptors are its two sockets.
// Net's TCPConn.ReadFrom would splice too, but it holds a pipe for the
// whole call, waiting for data included, and keeps unused pipes until the
// garbage collector runs.

// pipeSize is the capacity asked of each pipe (F_SETPIPE_SZ), the most one
// splice moves. 1 MiB is the default pipe-max-size; a smaller pipe is kept
// if the kernel refuses.
const pipeSize = 1 << 20

// maxFreePipes bounds the empty pipes a pipePool keeps for reuse (two
// descriptors each). Only directions moving data at the same instant use
// pipes, so a few dozen serve many flows; more are made when needed and
// closed after.
const maxFreePipes = 8

// pipeShards is how many pipePools an engine splits its free pipes
// into: a flow takes its pipes from one, picked by its client port, so
// that flows on different CPUs rarely wait on the same mutex and none is
// global.
const pipeShards = 8

// pipePools are an engine's free lists of pipes. The zero value is ready.
type pipePools [pipeShards]pipePool

// pick returns the pool of a flow from client port port.
func (ps *pipePools) pick(port uint16) *pipePool { return &ps[int(port)%pipeShards] }

// close closes every pool.
func (ps *pipePools) close() {
	for i := range ps {
		ps[i].close()
	}
}

// pipeEnds are the two ends of a non-blocking pipe.
type pipeEnds struct{ r, w int }

func newPipe() (pipeEnds, error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return pipeEnds{}, fmt.Errorf("pipe2: %w", err)
	}
	unix.FcntlInt(uintptr(fds[0]), unix.F_SETPIPE_SZ, pipeSize)
	return pipeEnds{r: fds[0], w: fds[1]}, nil
}

func (p pipeEnds) close() {
	unix.Close(p.r)
	unix.Close(p.w)
}

var errPoolClosed = errors.New("pipe pool closed")

// pipePool is a bounded free list of empty pipes, and the buffers of
// directions that could not get a pipe. The zero value is ready.
type pipePool struct {
	mu     sync.Mutex
	free   []pipeEnds
	closed bool
	bufs   sync.Pool // of *[]byte
}

// copyBufSize is the size of a buffer used instead of a pipe.
const copyBufSize = 64 << 10

func (pp *pipePool) getBuf() *[]byte {
	if b, ok := pp.bufs.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, copyBufSize)
	return &b
}

// get returns a free pipe or a new one. It fails once the pool is closed.
func (pp *pipePool) get() (pipeEnds, error) {
	pp.mu.Lock()
	if pp.closed {
		pp.mu.Unlock()
		return pipeEnds{}, errPoolClosed
	}
	if n := len(pp.free); n > 0 {
		p := pp.free[n-1]
		pp.free = pp.free[:n-1]
		pp.mu.Unlock()
		return p, nil
	}
	pp.mu.Unlock()
	return newPipe()
}

// put takes back p, which must be empty.
func (pp *pipePool) put(p pipeEnds) {
	pp.mu.Lock()
	if !pp.closed && len(pp.free) < maxFreePipes {
		pp.free = append(pp.free, p)
		pp.mu.Unlock()
		return
	}
	pp.mu.Unlock()
	p.close()
}

// close closes the free pipes; pipes put back later are closed.
func (pp *pipePool) close() {
	pp.mu.Lock()
	free := pp.free
	pp.free, pp.closed = nil, true
	pp.mu.Unlock()
	for _, p := range free {
		p.close()
	}
}

// spliceFlags: neither the pipe nor the socket may block the thread;
// readiness is the runtime poller's business.
const spliceFlags = unix.SPLICE_F_NONBLOCK | unix.SPLICE_F_MOVE

// errStalled is a splice from a non-empty pipe that moved nothing.
var errStalled = errors.New("splice moved no data")

// chunk is what a direction holds while it moves data: a pipe, or a
// buffer when no pipe can be made (the process is out of descriptors),
// so that a flow goes on, copying through user space, rather than
// failing. It holds neither while it waits for data.
type chunk struct {
	p    pipeEnds
	pipe bool    // p is held
	buf  *[]byte // held instead of a pipe
}

func (c *chunk) take(pp *pipePool) {
	if c.pipe || c.buf != nil {
		return
	}
	if p, err := pp.get(); err == nil {
		c.p, c.pipe = p, true
		return
	}
	c.buf = pp.getBuf()
}

// release gives back what c holds, which must be empty.
func (c *chunk) release(pp *pipePool) {
	if c.pipe {
		pp.put(c.p)
		c.pipe = false
	}
	if c.buf != nil {
		pp.bufs.Put(c.buf)
		c.buf = nil
	}
}

// fill waits for data on src and moves what is there, up to pipeSize
// bytes, into c. It returns 0 at src's EOF.
func (c *chunk) fill(pp *pipePool, src *sock) (int, error) {
	var n int
	var err error
	rerr := src.raw.Read(func(fd uintptr) bool {
		c.take(pp)
		if c.pipe {
			n, err = rawSplice(int(fd), c.p.w, pipeSize)
		} else {
			n, err = rawRead(int(fd), *c.buf)
		}
		if err == unix.EAGAIN {
			c.release(pp) // nothing held while waiting
			err = nil
			return false // wait for readability
		}
		return true
	})
	if rerr != nil {
		return 0, rerr
	}
	return n, err
}

// drain writes the n bytes that c holds to dst and returns how many went.
// On an error a pipe that still holds data is closed, not reused.
func (c *chunk) drain(dst *sock, n int) (int, error) {
	done := 0
	for done < n {
		var m int
		var err error
		werr := dst.raw.Write(func(fd uintptr) bool {
			if c.pipe {
				m, err = rawSplice(c.p.r, int(fd), n-done)
			} else {
				m, err = rawWrite(int(fd), (*c.buf)[done:n])
			}
			if err == unix.EAGAIN {
				err = nil
				return false // wait for writability
			}
			return true
		})
		if werr == nil {
			werr = err
		}
		if werr == nil && m == 0 {
			werr = errStalled
		}
		if werr != nil {
			if c.pipe {
				c.p.close()
				c.pipe = false
			}
			return done, werr
		}
		done += m
	}
	return done, nil
}

// pipe copies src to dst until src's EOF, which it passes on with a
// half-close. It waits for data on the runtime poller (RawConn.Read) and
// for room to write likewise, so closing either socket ends it. Bytes are
// added to the counters every countChunk and at the end. Each batch marks
// the flow busy while it writes and records the activity when written,
// for the idle timeout: two atomic adds and a store, no system call.
func (f *flow) pipe(dst, src *sock, in bool) error {
	var c chunk
	defer c.release(f.pipes)
	var uncounted uint64
	defer func() { f.count(in, uncounted) }()
	for {
		n, err := c.fill(f.pipes, src)
		if err != nil {
			return err
		}
		if n == 0 {
			f.touch() // a FIN is activity too
			if f.eofs.Add(1) == 2 {
				// The other direction ended first, and its
				// source's EOF means nothing is left to read on
				// dst: closing both, which comes next, sends
				// this FIN without a shutdown of its own.
				return nil
			}
			return dst.closeWrite()
		}
		f.busy.Add(1)
		m, err := c.drain(dst, n)
		f.touch() // before busy drops, so that the sweep sees one or the other
		f.busy.Add(-1)
		uncounted += uint64(m)
		if err != nil {
			return err
		}
		if uncounted >= countChunk {
			f.count(in, uncounted)
			uncounted = 0
		}
	}
}
