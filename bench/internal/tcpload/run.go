package tcpload

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"github.com/privlink/privlink/bench/internal/proc"
)

// Command runs the program exe (a bench binary whose `serve` and `load`
// subcommands are ServeMain and LoadMain) with args in namespace ns,
// pinned to cpu.
func Command(ctx context.Context, exe, ns string, cpu int, args ...string) *exec.Cmd {
	argv := append([]string{"netns", "exec", ns, "taskset", "-c", strconv.Itoa(cpu), exe}, args...)
	cmd := exec.CommandContext(ctx, "ip", argv...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// Run runs `exe load args` in namespace ns, pinned to cpu, and returns its
// result and the CPU used meanwhile (proxyPID's share too, when not 0).
func Run(ctx context.Context, exe, ns string, cpu, proxyPID int, args ...string) (Result, proc.Use, error) {
	cmd := Command(ctx, exe, ns, cpu, append([]string{"load"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	c0 := proc.ReadCPUs(proxyPID)
	out, err := cmd.Output()
	use := proc.ReadCPUs(proxyPID).Since(c0)
	if err != nil {
		return Result{}, use, fmt.Errorf("%w\n%s", err, stderr.Bytes())
	}
	var r Result
	if err := json.Unmarshal(out, &r); err != nil {
		return Result{}, use, fmt.Errorf("load's answer %q: %w", out, err)
	}
	return r, use, nil
}

// StartServer starts `exe serve` on port in namespace ns, pinned to cpu,
// with its log in dir, and waits until it listens.
func StartServer(ctx context.Context, exe, ns string, cpu, port, size int, dir string) (*proc.Process, error) {
	cmd := Command(ctx, exe, ns, cpu, "serve", "-addr", fmt.Sprintf(":%d", port), "-size", strconv.Itoa(size))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p, err := proc.Start(cmd, "server", dir)
	if err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		p.Stop()
		return nil, fmt.Errorf("server did not start (%q, %v): %s", line, err, p.Log())
	}
	go io.Copy(io.Discard, stdout)
	return p, nil
}
