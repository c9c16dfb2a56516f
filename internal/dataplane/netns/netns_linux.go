package netns

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// RunDir is the directory holding the bind mounts of named namespaces. It is
// the directory that github.com/vishvananda/netns and iproute2 use
// (/var/run is a symlink to /run).
const RunDir = "/run/netns"

// Handle is an open network namespace: a file descriptor that must be
// closed.
type Handle = vnetns.NsHandle

// Do runs fn with the calling thread in the network namespace ns and returns
// fn's error. fn runs on a fresh goroutine locked to its OS thread; goroutines
// that fn starts do not run in ns. The thread is released to the scheduler
// only after the original namespace is restored. If restoring fails, the
// thread stays locked, so the runtime terminates it when the goroutine exits.
func Do(ns Handle, fn func() error) error {
	return onLockedThread(func() (bool, error) {
		orig, err := vnetns.Get()
		if err != nil {
			return true, fmt.Errorf("get current netns: %w", err)
		}
		defer orig.Close()
		if err := vnetns.Set(ns); err != nil {
			// setns failed: the thread is still where it was.
			return true, fmt.Errorf("enter netns: %w", err)
		}
		fnErr := fn()
		if err := vnetns.Set(orig); err != nil {
			return false, errors.Join(fnErr, fmt.Errorf("restore netns: %w", err))
		}
		return true, fnErr
	})
}

// DoNamed is Do for the named namespace name.
func DoNamed(name string, fn func() error) error {
	h, err := Open(name)
	if err != nil {
		return err
	}
	defer h.Close()
	return Do(h, fn)
}

// onLockedThread runs fn on a fresh goroutine locked to its OS thread. fn
// reports whether the thread is clean (in its original namespace); only then
// is the thread unlocked.
func onLockedThread(fn func() (clean bool, err error)) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		clean, err := fn()
		if clean {
			runtime.UnlockOSThread()
		}
		// Otherwise exit locked: the runtime then terminates the thread
		// instead of reusing it in the wrong namespace.
		errc <- err
	}()
	return <-errc
}

// Create creates the named network namespace name and bind-mounts it under
// RunDir, without moving any goroutine of the caller into it. It fails with
// an error matching fs.ErrExist if the name is already taken.
func Create(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	path := filepath.Join(RunDir, name)
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("create netns %s: %w", name, fs.ErrExist)
	}
	err := onLockedThread(func() (bool, error) {
		orig, err := vnetns.Get()
		if err != nil {
			return true, fmt.Errorf("get current netns: %w", err)
		}
		defer orig.Close()
		// NewNamed unshares the calling thread into the new namespace
		// before it bind-mounts it, and leaves it there, also on error.
		h, createErr := vnetns.NewNamed(name)
		if createErr == nil {
			h.Close()
		}
		if err := vnetns.Set(orig); err != nil {
			return false, errors.Join(createErr, fmt.Errorf("restore netns: %w", err))
		}
		return true, createErr
	})
	if err != nil {
		// NewNamed leaves its placeholder file behind if the bind mount
		// failed; the name was free before, so the file is ours.
		if ok, _ := isNamespace(path); !ok {
			os.Remove(path)
		}
		return fmt.Errorf("create netns %s: %w", name, err)
	}
	return nil
}

// Delete removes the named namespace name: it detaches the bind mount and
// removes the mount point. The kernel frees the namespace, with its links,
// once nothing else holds it. A leftover mount point that is not mounted
// (an interrupted Create) is removed too. A missing name is not an error.
func Delete(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	path := filepath.Join(RunDir, name)
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if ok, _ := isNamespace(path); ok {
		if err := vnetns.DeleteNamed(name); err != nil {
			return fmt.Errorf("delete netns %s: %w", name, err)
		}
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete netns %s: %w", name, err)
	}
	return nil
}

// Open returns a handle to the named namespace name. The caller closes it.
func Open(name string) (Handle, error) {
	if err := checkName(name); err != nil {
		return vnetns.None(), err
	}
	h, err := vnetns.GetFromPath(filepath.Join(RunDir, name))
	if err != nil {
		return vnetns.None(), fmt.Errorf("open netns %s: %w", name, err)
	}
	if ok, err := isNamespaceFd(int(h)); !ok {
		h.Close()
		if err == nil {
			err = ErrNotMounted
		}
		return vnetns.None(), fmt.Errorf("open netns %s: %w", name, err)
	}
	return h, nil
}

// ErrNotMounted is the error of Open for a name under RunDir with no
// namespace mounted on it: the leftover of an interrupted Create, or a
// namespace being created or deleted.
var ErrNotMounted = errors.New("not a mounted network namespace")

// Entry is a name under RunDir.
type Entry struct {
	Name string
	// Mounted reports whether a network namespace is bind-mounted on
	// the name. An unmounted name is the leftover of an interrupted
	// create.
	Mounted bool
	// ID identifies the namespace mounted on the name (zero if none):
	// it changes when the name is deleted and created again.
	ID ID
}

// ID identifies a network namespace for as long as it lives: the inode of
// its nsfs file and that inode's change time. The kernel reuses inode
// numbers of freed namespaces; the change time, set when the inode is made
// for a new namespace, tells the reuse apart.
type ID struct {
	Ino   uint64
	Ctime int64 // nanoseconds since the epoch
}

// List returns the names under RunDir that start with prefix, sorted. It
// costs one readdir and one stat per name: no namespace is opened.
func List(prefix string) ([]Entry, error) {
	des, err := os.ReadDir(RunDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list netns: %w", err)
	}
	nsfs, err := nsfsDev()
	if err != nil {
		return nil, fmt.Errorf("list netns: %w", err)
	}
	var out []Entry
	for _, de := range des {
		if !strings.HasPrefix(de.Name(), prefix) {
			continue
		}
		var st unix.Stat_t
		err := unix.Stat(filepath.Join(RunDir, de.Name()), &st)
		if errors.Is(err, unix.ENOENT) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("list netns: stat %s: %w", de.Name(), err)
		}
		e := Entry{Name: de.Name()}
		// A bind-mounted namespace shows the nsfs inode; the bare mount
		// point, a file of the file system under RunDir.
		if st.Dev == nsfs {
			e.Mounted = true
			e.ID = ID{Ino: st.Ino, Ctime: st.Ctim.Nano()}
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// nsfsDev returns the device of nsfs, the pseudo file system that holds
// every namespace's inode.
var nsfsDev = sync.OnceValues(func() (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/net", &st); err != nil {
		return 0, fmt.Errorf("stat nsfs: %w", err)
	}
	return st.Dev, nil
})

// IDOf returns the ID of the named namespace name, and whether one is
// mounted there.
func IDOf(name string) (ID, bool, error) {
	if err := checkName(name); err != nil {
		return ID{}, false, err
	}
	nsfs, err := nsfsDev()
	if err != nil {
		return ID{}, false, err
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(RunDir, name), &st); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return ID{}, false, nil
		}
		return ID{}, false, fmt.Errorf("stat netns %s: %w", name, err)
	}
	if st.Dev != nsfs {
		return ID{}, false, nil
	}
	return ID{Ino: st.Ino, Ctime: st.Ctim.Nano()}, true, nil
}

// isNamespace reports whether path is a mounted network namespace.
func isNamespace(path string) (bool, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	return isNamespaceFd(fd)
}

func isNamespaceFd(fd int) (bool, error) {
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		return false, fmt.Errorf("fstatfs: %w", err)
	}
	return st.Type == unix.NSFS_MAGIC, nil
}

// checkName rejects names that are not a single path element.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("invalid netns name %q", name)
	}
	return nil
}
