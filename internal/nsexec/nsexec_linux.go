package nsexec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// Exec replaces the process with argv running inside the named network
// namespace ns, as `ip netns exec ns argv...` does: it locks the calling
// goroutine to its thread for good, enters ns, makes a private mount
// namespace (a recursive slave of the host's), mounts a sysfs for ns on
// /sys, bind-mounts every file of EtcDir/ns/ over the /etc file of the same
// name (skipping names that do not exist in /etc, as iproute2 does), and
// executes argv[0], resolved through PATH, with the process's environment.
//
// Exec returns only on failure, with an *Error. The thread has then possibly
// been moved into ns, so the process must exit: see Main.
func Exec(ns string, argv []string) error {
	if err := checkName(ns); err != nil {
		return &Error{Code: ExitNotFound, Err: err}
	}
	if len(argv) == 0 {
		return &Error{Code: ExitNotFound, Err: errors.New("no command to run")}
	}
	// Never unlocked: from here on the thread's namespaces are not the
	// process's, and execve must run on this very thread.
	runtime.LockOSThread()
	if err := enter(ns); err != nil {
		return &Error{Code: ExitNotFound, Err: err}
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		code := ExitNotFound
		if errors.Is(err, fs.ErrPermission) {
			code = ExitCannotExecute
		}
		return &Error{Code: code, Err: err}
	}
	err = syscall.Exec(path, argv, os.Environ())
	code := ExitCannotExecute
	if errors.Is(err, syscall.ENOENT) {
		code = ExitNotFound
	}
	return &Error{Code: code, Err: fmt.Errorf("exec %s: %w", path, err)}
}

// Check reports whether a network namespace named ns is mounted under
// RunDir; if not, the error matches ErrNoNamespace.
func Check(ns string) error {
	if err := checkName(ns); err != nil {
		return err
	}
	fd, err := openNamespace(ns)
	if err != nil {
		return err
	}
	unix.Close(fd)
	return nil
}

// openNamespace opens the mounted network namespace ns.
func openNamespace(ns string) (int, error) {
	path := filepath.Join(RunDir, ns)
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return -1, fmt.Errorf("network namespace %q: %w", ns, ErrNoNamespace)
	}
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", path, err)
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("fstatfs %s: %w", path, err)
	}
	if st.Type != unix.NSFS_MAGIC {
		unix.Close(fd)
		return -1, fmt.Errorf("network namespace %q (nothing mounted on %s): %w", ns, path, ErrNoNamespace)
	}
	return fd, nil
}

// enter moves the calling thread into ns and a fresh mount namespace set up
// as iproute2's netns_switch does.
func enter(ns string) error {
	fd, err := openNamespace(ns)
	if err != nil {
		return err
	}
	err = unix.Setns(fd, unix.CLONE_NEWNET)
	unix.Close(fd)
	if err != nil {
		return fmt.Errorf("enter network namespace %s: %w", ns, err)
	}
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("unshare mount namespace: %w", err)
	}
	// Nothing mounted from here on propagates back to the host.
	if err := unix.Mount("", "/", "none", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make / a recursive slave: %w", err)
	}
	if err := remountSys(ns); err != nil {
		return err
	}
	return bindEtc(ns)
}

// remountSys mounts a sysfs that describes the current network namespace on
// /sys (its class/net lists that namespace's links).
func remountSys(ns string) error {
	var flags uintptr
	if err := unix.Unmount("/sys", unix.MNT_DETACH); err != nil {
		// Perhaps no sysfs was mounted; shadow whatever is there, and a
		// read-only /sys only with a read-only sysfs.
		var st unix.Statfs_t
		if unix.Statfs("/sys", &st) == nil && st.Flags&unix.ST_RDONLY != 0 {
			flags = unix.MS_RDONLY
		}
	}
	if err := unix.Mount(ns, "/sys", "sysfs", flags, ""); err != nil {
		return fmt.Errorf("mount sysfs on /sys: %w", err)
	}
	return nil
}

// bindEtc bind-mounts each entry of EtcDir/ns over /etc/<entry>.
func bindEtc(ns string) error {
	dir := filepath.Join(EtcDir, ns)
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", dir, err)
	}
	for _, de := range des {
		src, dst := filepath.Join(dir, de.Name()), filepath.Join("/etc", de.Name())
		err := unix.Mount(src, dst, "none", unix.MS_BIND, "")
		if errors.Is(err, unix.ENOENT) {
			continue // nothing in /etc to shadow
		}
		if err != nil {
			return fmt.Errorf("bind-mount %s on %s: %w", src, dst, err)
		}
	}
	return nil
}
