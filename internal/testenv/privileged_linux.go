package testenv

import (
	"fmt"
	"os"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

var privilegedOnce = sync.OnceValue(probe)

func privileged() error { return privilegedOnce() }

// probe checks for root and for the right to create a network namespace.
func probe() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("running as uid %d, not root", os.Geteuid())
	}
	if err := tryUnshare(); err != nil {
		return fmt.Errorf("cannot create a network namespace: %w", err)
	}
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return fmt.Errorf("cannot create %s: %w", runDir, err)
	}
	return nil
}

// tryUnshare creates a throwaway network namespace on a locked thread and
// moves the thread back. The thread is released only if that succeeds: it
// may be the process's main thread, which the runtime cannot terminate, and
// whose namespace /proc/self/ns/net shows.
func tryUnshare() error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		self := fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid())
		orig, err := unix.Open(self, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open %s: %w", self, err)
			return
		}
		defer unix.Close(orig)
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("unshare: %w", err)
			return
		}
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns back: %w", err) // stay locked
			return
		}
		runtime.UnlockOSThread()
		errc <- nil
	}()
	return <-errc
}
