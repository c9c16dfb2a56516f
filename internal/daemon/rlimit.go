package daemon

import (
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// wantOpenFiles is the open-file limit the daemon asks for: every proxied
// connection holds two descriptors, and a load balancer is expected to hold
// tens of thousands of idle connections, far above the usual 1024 or 20000.
const wantOpenFiles = 1 << 20

// raiseOpenFiles raises the process's open-file limit, soft and hard, to
// wantOpenFiles, or to the kernel's ceiling (fs.nr_open) if that is lower.
// Raising the hard limit needs CAP_SYS_RESOURCE; without it the soft limit
// goes as high as the hard one. A failure is logged, not fatal: the daemon
// works with fewer connections.
func raiseOpenFiles(logger *slog.Logger) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		logger.Warn("read the open-file limit", "err", err)
		return
	}
	want := uint64(wantOpenFiles)
	if b, err := os.ReadFile("/proc/sys/fs/nr_open"); err == nil {
		if n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil && n < want {
			want = n
		}
	}
	if lim.Cur >= want {
		return
	}
	next := syscall.Rlimit{Cur: want, Max: max(want, lim.Max)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &next); err != nil {
		next = syscall.Rlimit{Cur: lim.Max, Max: lim.Max}
		if err2 := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &next); err2 != nil {
			logger.Warn("raise the open-file limit", "err", err, "limit", lim.Cur)
			return
		}
		logger.Warn("open-file limit capped by the hard limit; raise it (LimitNOFILE=) for many connections",
			"limit", lim.Max, "wanted", want, "err", err)
	}
}
