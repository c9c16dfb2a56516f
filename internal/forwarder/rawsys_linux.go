package forwarder

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The system calls of a flow's path, made without telling the scheduler.
//
// syscall.Syscall and x/sys/unix's wrappers call entersyscall and
// exitsyscall around each call, so that a call which blocks gives up its
// P. Every call here is on a non-blocking socket or pipe and never
// sleeps: it returns at once or with EAGAIN. But a call that sends a
// segment runs the receiver's side of the veth in the same call, tens of
// microseconds, long enough for sysmon to count the P as stuck in a
// system call: it then hands the P to another thread (a futex wake) and
// keeps itself polling every 20 µs. RawSyscall skips all of it; the P
// stays with the goroutine, which is the goroutine's own CPU work anyway.
// On the connection benchmark that took a third of the engine's context
// switches and of sysmon's wakeups away.

func errnoErr(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// rawSplice is splice(2) with spliceFlags, no offsets, retried on EINTR.
func rawSplice(in, out, n int) (int, error) {
	for {
		r, _, e := unix.RawSyscall6(unix.SYS_SPLICE, uintptr(in), 0, uintptr(out), 0, uintptr(n), spliceFlags)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(r), nil
	}
}

// rawRead and rawWrite are read(2) and write(2), retried on EINTR.
func rawRead(fd int, b []byte) (int, error)  { return rawRW(unix.SYS_READ, fd, b) }
func rawWrite(fd int, b []byte) (int, error) { return rawRW(unix.SYS_WRITE, fd, b) }

func rawRW(trap uintptr, fd int, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for {
		r, _, e := unix.RawSyscall(trap, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(r), nil
	}
}

func rawShutdown(fd, how int) error {
	_, _, e := unix.RawSyscall(unix.SYS_SHUTDOWN, uintptr(fd), uintptr(how), 0)
	return errnoErr(e)
}

func rawSetsockoptInt(fd, level, opt, value int) error {
	v := int32(value)
	_, _, e := unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt), uintptr(unsafe.Pointer(&v)), 4, 0)
	return errnoErr(e)
}

// rawSockaddr is a socket address in the kernel's layout.
type rawSockaddr struct {
	any unix.RawSockaddrAny
	len uint32
}

func (sa *rawSockaddr) ptr() uintptr { return uintptr(unsafe.Pointer(&sa.any)) }

func makeRawSockaddr(ap netip.AddrPort) rawSockaddr {
	var sa rawSockaddr
	a, port := ap.Addr().Unmap(), ap.Port()
	if a.Is4() {
		in := (*unix.RawSockaddrInet4)(unsafe.Pointer(&sa.any))
		in.Family = unix.AF_INET
		in.Addr = a.As4()
		putPort(&in.Port, port)
		sa.len = unix.SizeofSockaddrInet4
		return sa
	}
	in := (*unix.RawSockaddrInet6)(unsafe.Pointer(&sa.any))
	in.Family = unix.AF_INET6
	in.Addr = a.As16()
	putPort(&in.Port, port)
	sa.len = unix.SizeofSockaddrInet6
	return sa
}

// putPort stores port in network byte order.
func putPort(p *uint16, port uint16) {
	b := (*[2]byte)(unsafe.Pointer(p))
	b[0], b[1] = byte(port>>8), byte(port)
}

func (sa *rawSockaddr) addrPort() netip.AddrPort {
	switch sa.any.Addr.Family {
	case unix.AF_INET:
		in := (*unix.RawSockaddrInet4)(unsafe.Pointer(&sa.any))
		b := (*[2]byte)(unsafe.Pointer(&in.Port))
		return netip.AddrPortFrom(netip.AddrFrom4(in.Addr), uint16(b[0])<<8|uint16(b[1]))
	case unix.AF_INET6:
		in := (*unix.RawSockaddrInet6)(unsafe.Pointer(&sa.any))
		b := (*[2]byte)(unsafe.Pointer(&in.Port))
		return netip.AddrPortFrom(netip.AddrFrom16(in.Addr).Unmap(), uint16(b[0])<<8|uint16(b[1]))
	}
	return netip.AddrPort{}
}

func rawConnect(fd int, sa *rawSockaddr) error {
	_, _, e := unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), sa.ptr(), uintptr(sa.len))
	return errnoErr(e)
}

func rawBind(fd int, sa *rawSockaddr) error {
	_, _, e := unix.RawSyscall(unix.SYS_BIND, uintptr(fd), sa.ptr(), uintptr(sa.len))
	return errnoErr(e)
}

// rawAccept4 accepts a connection on a non-blocking listener, retried on
// EINTR.
func rawAccept4(fd, flags int) (int, netip.AddrPort, error) {
	for {
		var sa rawSockaddr
		sa.len = unix.SizeofSockaddrAny
		r, _, e := unix.RawSyscall6(unix.SYS_ACCEPT4, uintptr(fd), sa.ptr(), uintptr(unsafe.Pointer(&sa.len)), uintptr(flags), 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return -1, netip.AddrPort{}, e
		}
		return int(r), sa.addrPort(), nil
	}
}
