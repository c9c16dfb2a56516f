// Package proc is what the benchmark programs under bench/ do with
// processes: start a long-running one with its output in a log file and
// stop it, pin a process to a CPU, and read what /proc says of a process
// (CPU time, VmRSS, descriptors, threads, open-file limit) and of the CPUs
// (busy time).
//
// It imports only the standard library and golang.org/x/sys.
package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Process is a long-running process of a benchmark.
type Process struct {
	Name string
	Cmd  *exec.Cmd
	done chan struct{}
	log  string
}

// Start starts cmd with its stderr (and its stdout, unless the caller took
// it) in dir/name.log.
func Start(cmd *exec.Cmd, name, dir string) (*Process, error) {
	p := &Process{Name: name, Cmd: cmd, done: make(chan struct{}), log: filepath.Join(dir, name+".log")}
	f, err := os.Create(p.log)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if cmd.Stdout == nil {
		cmd.Stdout = f
	}
	cmd.Stderr = f
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	return p, nil
}

// PID is the process id.
func (p *Process) PID() int { return p.Cmd.Process.Pid }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop ends the process: SIGTERM, then SIGKILL after 5 s.
func (p *Process) Stop() {
	if p.Exited() {
		return
	}
	p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.Cmd.Process.Kill()
		<-p.done
	}
}

// Log returns what the process wrote to its log.
func (p *Process) Log() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// Pin sets the CPU affinity of every thread of process pid to cpu; threads
// it creates later inherit it.
func Pin(pid, cpu int) error {
	var set unix.CPUSet
	set.Set(cpu)
	return setAffinity(pid, &set)
}

// Unpin lets every thread of process pid run on every CPU again.
func Unpin(pid int) error {
	var set unix.CPUSet
	for cpu := range 1024 {
		set.Set(cpu)
	}
	return setAffinity(pid, &set)
}

func setAffinity(pid int, set *unix.CPUSet) error {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, set); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("thread %d: %w", tid, err)
		}
	}
	return nil
}

// CPUTimes are the per-CPU jiffies from /proc/stat and a process's CPU
// time.
type CPUTimes struct {
	at         time.Time
	busy, all  []uint64
	proc       uint64 // utime+stime of the process, ticks
	hasProcess bool
}

// ReadCPUs reads the CPUs' times and, for pid > 0, the process's.
func ReadCPUs(pid int) CPUTimes {
	t := CPUTimes{at: time.Now()}
	b, _ := os.ReadFile("/proc/stat")
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 9 || !strings.HasPrefix(f[0], "cpu") || f[0] == "cpu" {
			continue
		}
		var busy, all uint64
		for i, s := range f[1:] {
			v, _ := strconv.ParseUint(s, 10, 64)
			if i == 8 || i == 9 { // guest, guest_nice: inside user, nice
				continue
			}
			all += v
			if i != 3 && i != 4 { // idle, iowait
				busy += v
			}
		}
		t.busy, t.all = append(t.busy, busy), append(t.all, all)
	}
	if pid > 0 {
		if ticks, ok := processTicks(pid); ok {
			t.proc, t.hasProcess = ticks, true
		}
	}
	return t
}

// processTicks returns utime+stime of process pid.
func processTicks(pid int) (uint64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// After the ")" that ends comm: state is field 3, utime 14, stime 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) <= 12 {
		return 0, false
	}
	u, _ := strconv.ParseUint(f[11], 10, 64)
	s, _ := strconv.ParseUint(f[12], 10, 64)
	return u + s, true
}

// CPUSeconds returns the CPU time (user + system) process pid has used.
func CPUSeconds(pid int) float64 {
	t, _ := processTicks(pid)
	return float64(t) / ticksPerSecond
}

const ticksPerSecond = 100 // USER_HZ

// Use is the CPU used between two readings: each CPU's busy share, and
// the process's CPU time as a share of one CPU (-1 without a process).
type Use struct {
	PerCPU  []float64
	Process float64
}

// Since returns the CPU use from t0 to t.
func (t CPUTimes) Since(t0 CPUTimes) Use {
	u := Use{Process: -1}
	for i := range min(len(t.busy), len(t0.busy)) {
		if d := t.all[i] - t0.all[i]; d > 0 {
			u.PerCPU = append(u.PerCPU, float64(t.busy[i]-t0.busy[i])/float64(d))
		} else {
			u.PerCPU = append(u.PerCPU, 0)
		}
	}
	if t.hasProcess && t0.hasProcess {
		u.Process = float64(t.proc-t0.proc) / ticksPerSecond / t.at.Sub(t0.at).Seconds()
	}
	return u
}

func (u Use) String() string {
	var parts []string
	for i, x := range u.PerCPU {
		parts = append(parts, fmt.Sprintf("CPU%d %.0f%%", i, x*100))
	}
	if u.Process >= 0 {
		parts = append(parts, fmt.Sprintf("proxy process %.0f%% of a CPU", u.Process*100))
	}
	return strings.Join(parts, ", ")
}

// Status is what /proc says of a process's memory, descriptors and
// threads.
type Status struct {
	RSSKB   int64
	FDs     int
	Threads int
	Limit   string // Max open files: soft/hard
}

// SoftLimit is the soft open-file limit, 0 if unknown or unlimited.
func (s Status) SoftLimit() int {
	soft, _, _ := strings.Cut(s.Limit, "/")
	n, _ := strconv.Atoi(soft)
	return n
}

// RSSMB is VmRSS in MiB.
func (s Status) RSSMB() float64 { return float64(s.RSSKB) / 1024 }

// ReadStatus reads /proc/pid/status, fd and limits.
func ReadStatus(pid int) Status {
	var s Status
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			k, v, _ := strings.Cut(line, ":")
			f := strings.Fields(v)
			if len(f) == 0 {
				continue
			}
			switch k {
			case "VmRSS":
				s.RSSKB, _ = strconv.ParseInt(f[0], 10, 64)
			case "Threads":
				s.Threads, _ = strconv.Atoi(f[0])
			}
		}
	}
	if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
		s.FDs = len(ents)
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid)); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "Max open files"); ok {
				if f := strings.Fields(rest); len(f) >= 2 {
					s.Limit = f[0] + "/" + f[1]
				}
			}
		}
	}
	return s
}
