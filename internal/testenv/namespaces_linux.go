package testenv

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// RemoveNamespaces deletes every named network namespace whose name starts
// with prefix: it detaches the bind mount under /run/netns and removes the
// mount point. prefix must be one that Prefix returns.
func RemoveNamespaces(prefix string) error {
	return removeNamespaces(runDir, prefix)
}

// removeNamespaces does what RemoveNamespaces does, in dir rather than in
// /run/netns. It tolerates another process removing the same namespaces at
// the same time.
func removeNamespaces(dir, prefix string) error {
	if err := checkPrefix(prefix); err != nil {
		return err
	}
	names, err := listDir(dir, prefix)
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range names {
		errs = append(errs, removeNamespace(dir, name))
	}
	return errors.Join(errs...)
}

// removeNamespace detaches the namespace mounted at dir/name and removes
// the mount point. A name that is not there is not an error.
func removeNamespace(dir, name string) error {
	path := dir + "/" + name
	// EINVAL: not a mount point (the leftover of an interrupted create);
	// just remove it.
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
