// Package haproxy runs HAProxy (Debian's `haproxy`) as the baseline proxy
// of the benchmark programs under bench/: in the foreground, one thread,
// pinned to a CPU, from a configuration the program writes.
//
// It imports only the standard library and bench/internal packages.
package haproxy

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/privlink/privlink/bench/internal/proc"
	"github.com/privlink/privlink/bench/internal/report"
)

// Defaults is the start of every configuration: one thread, mode tcp with
// splicing, no health checks, timeouts longer than any test.
const Defaults = `global
    nbthread 1
    maxconn 4096

defaults
    mode tcp
    option splice-auto
    timeout connect 5s
    timeout client 5m
    timeout server 5m
`

// Version returns the first line of `bin -v`.
func Version(bin string) string {
	v, _, _ := strings.Cut(report.Output(bin, "-v"), "\n")
	return v
}

// Start writes cfg to dir/haproxy.cfg and starts bin in the foreground
// (-db) in namespace ns ("": the bench's own), pinned to cpu, with its log
// in dir/haproxy.log, and checks half a second later that it has not
// exited on its configuration.
func Start(ctx context.Context, bin, cfg, ns string, cpu int, dir string) (*proc.Process, error) {
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	argv := []string{"taskset", "-c", strconv.Itoa(cpu), bin, "-db", "-f", path}
	if ns != "" {
		argv = append([]string{"ip", "netns", "exec", ns}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p, err := proc.Start(cmd, "haproxy", dir)
	if err != nil {
		return nil, err
	}
	time.Sleep(500 * time.Millisecond)
	if p.Exited() {
		return nil, fmt.Errorf("haproxy exited: %s", p.Log())
	}
	return p, nil
}
