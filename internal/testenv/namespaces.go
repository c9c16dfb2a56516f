package testenv

import (
	"errors"
	"io/fs"
	"os"
	"slices"
	"strings"
)

// runDir holds the bind mounts of named network namespaces.
const runDir = "/run/netns"

// etcNetnsDir holds a directory of files per named namespace (its
// resolv.conf) that `ip netns exec` binds over /etc.
const etcNetnsDir = "/etc/netns"

// ListNamespaces returns the names under /run/netns (the named network
// namespaces, as `ip netns list` shows them) that start with prefix, sorted.
func ListNamespaces(prefix string) ([]string, error) {
	return listDir(runDir, prefix)
}

func listDir(dir, prefix string) ([]string, error) {
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, de := range des {
		if strings.HasPrefix(de.Name(), prefix) {
			out = append(out, de.Name())
		}
	}
	slices.Sort(out)
	return out, nil
}
