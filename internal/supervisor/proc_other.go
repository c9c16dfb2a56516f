//go:build !linux

package supervisor

import (
	"errors"
	"os"
	"runtime"
	"syscall"

	"github.com/privlink/privlink/internal/procfs"
)

var errNotLinux = errors.New("supervisor needs Linux, not " + runtime.GOOS)

func readStat(pid int) (procfs.Stat, error)         { return procfs.Stat{}, errNotLinux }
func procNetNS(pid int) (uint64, error)             { return 0, errNotLinux }
func nsInode(name string) (uint64, error)           { return 0, errNotLinux }
func readBootID() (string, error)                   { return "", errNotLinux }
func hostNetNS() (map[uint64]bool, error)           { return nil, errNotLinux }
func scanNamespaces(map[uint64]bool) ([]int, error) { return nil, errNotLinux }
func signalIn(int, map[uint64]bool, syscall.Signal) {}
func sysProcAttr() *syscall.SysProcAttr             { return nil }

func fileUsage(*os.File) (int64, int64, error) { return 0, 0, errNotLinux }
func punchHole(*os.File, int64) error          { return errNotLinux }
