package supervisor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/privlink/privlink/internal/nsexec"
	"github.com/privlink/privlink/internal/procfs"
)

// readStat reads /proc/<pid>/stat.
func readStat(pid int) (procfs.Stat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procfs.Stat{}, err
	}
	return procfs.ParseStat(b)
}

// procNetNS returns the inode of the network namespace of process pid (of
// its main thread). It fails for a process that has ended, zombies included.
func procNetNS(pid int) (uint64, error) {
	link, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/net")
	if err != nil {
		return 0, err
	}
	return procfs.ParseNSLink("net", link)
}

// nsInode returns the inode of the named network namespace.
func nsInode(name string) (uint64, error) {
	if err := nsexec.Check(name); err != nil {
		return 0, err
	}
	var st unix.Stat_t
	path := filepath.Join(nsexec.RunDir, name)
	if err := unix.Stat(path, &st); err != nil {
		return 0, fmt.Errorf("stat %s: %w", path, err)
	}
	return st.Ino, nil
}

// readBootID returns the host's boot id, which changes on every boot.
func readBootID() (string, error) {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// hostNetNS returns the inodes of the network namespaces that a kill must
// never target: the daemon's own and, if it may see it, init's.
func hostNetNS() (map[uint64]bool, error) {
	self, err := procNetNS(os.Getpid())
	if err != nil {
		return nil, fmt.Errorf("own network namespace: %w", err)
	}
	out := map[uint64]bool{self: true}
	if ino, err := procNetNS(1); err == nil {
		out[ino] = true
	}
	return out, nil
}

// scanNamespaces returns the pids of the processes, other than this one,
// whose network namespace is one of inodes.
func scanNamespaces(inodes map[uint64]bool) ([]int, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, fmt.Errorf("read /proc: %w", err)
	}
	self := os.Getpid()
	var pids []int
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil || pid == self {
			continue
		}
		if ino, err := procNetNS(pid); err == nil && inodes[ino] {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// signalIn sends sig to pid if it is (still) in one of inodes. A pidfd pins
// the process, so a pid reused since the scan is never signalled.
func signalIn(pid int, inodes map[uint64]bool, sig syscall.Signal) {
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ENOSYS) {
		if ino, err := procNetNS(pid); err == nil && inodes[ino] {
			unix.Kill(pid, sig) // kernels before 5.3: small reuse window
		}
		return
	}
	if err != nil {
		return // gone
	}
	defer unix.Close(fd)
	if ino, err := procNetNS(pid); err != nil || !inodes[ino] {
		return
	}
	unix.PidfdSendSignal(fd, sig, nil, 0)
}

// sysProcAttr detaches a script from the daemon: a session of its own, and
// no parent-death signal, so it outlives a daemon crash or restart.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }

// fileUsage returns f's size and the bytes its blocks take on disk.
func fileUsage(f *os.File) (size, used int64, err error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return 0, 0, err
	}
	return st.Size, st.Blocks * 512, nil
}

// punchHole frees f's blocks in [0, end) and keeps its size.
func punchHole(f *os.File, end int64) error {
	if end <= 0 {
		return nil
	}
	return unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 0, end)
}
