package supervisor

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/privlink/privlink/internal/dataplane/netns"
	"github.com/privlink/privlink/internal/nsexec"
	"github.com/privlink/privlink/internal/testenv"
)

// daemonEnv makes the test binary act as a daemon that runs a supervisor:
// its value is a daemonSpec in JSON. Tests kill it with SIGKILL, as a crash.
const daemonEnv = "PLKTEST_SUPERVISOR_DAEMON"

type daemonSpec struct {
	StateDir  string
	Workloads []Workload
}

// The test binary doubles as the privlink binary: the nsexec helper, and a
// daemon whose crash the tests can cause.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == nsexec.HelperCommand {
		os.Exit(nsexec.Main(os.Args[2:], os.Stderr))
	}
	if spec := os.Getenv(daemonEnv); spec != "" {
		os.Exit(runDaemon(spec))
	}
	os.Exit(m.Run())
}

func runDaemon(spec string) int {
	var d daemonSpec
	if err := json.Unmarshal([]byte(spec), &d); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	s, err := New(Config{StateDir: d.StateDir, Self: self})
	if err == nil {
		err = s.Set(context.Background(), d.Workloads)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	s.Run(context.Background()) // until killed
	return 0
}

const (
	timeout = 10 * time.Second
	grace   = 200 * time.Millisecond
)

// startDaemon runs a daemon process that Sets ws and waits until it has.
func startDaemon(t *testing.T, dir string, ws []Workload) *exec.Cmd {
	t.Helper()
	spec, err := json.Marshal(daemonSpec{StateDir: dir, Workloads: ws})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self(t))
	cmd.Env = append(os.Environ(), daemonEnv+"="+string(spec))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if line != "ready\n" {
		t.Fatalf("daemon: %q, %v", line, err)
	}
	return cmd
}

// crash kills a daemon process with SIGKILL.
func crash(t *testing.T, d *exec.Cmd) {
	t.Helper()
	if err := d.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	d.Wait()
}

func self(t *testing.T) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// newSupervisor returns a supervisor on dir whose workloads are all
// terminated when t ends.
func newSupervisor(t *testing.T, dir string) *Supervisor {
	t.Helper()
	s, err := New(Config{StateDir: dir, Self: self(t), Logger: slog.New(slog.DiscardHandler), StopGrace: grace, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Set(context.Background(), nil); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return s
}

// newNamespace creates a namespace and returns its name and inode. Every
// process left in it is killed when t ends, before it is deleted.
func newNamespace(t *testing.T) (string, uint64) {
	t.Helper()
	testenv.RequirePrivileged(t)
	ns := testenv.Prefix(t) + "i"
	if err := netns.Create(ns); err != nil {
		t.Fatal(err)
	}
	ino, err := nsInode(ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in := map[uint64]bool{ino: true}
		err := pollUntil(timeout, func() error {
			pids, err := scanNamespaces(in)
			for _, pid := range pids {
				signalIn(pid, in, syscall.SIGKILL)
			}
			if err == nil && len(pids) > 0 {
				err = fmt.Errorf("processes %v left", pids)
			}
			return err
		})
		if err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return ns, ino
}

// inNamespace returns the processes in the namespace ino.
func inNamespace(t *testing.T, ino uint64) []int {
	t.Helper()
	pids, err := scanNamespaces(map[uint64]bool{ino: true})
	if err != nil {
		t.Fatal(err)
	}
	return pids
}

func readRecord(t *testing.T, dir, id string) *record {
	t.Helper()
	s := &Supervisor{cfg: Config{StateDir: dir}}
	r, err := s.load(id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func console(t *testing.T, dir, id string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, id, ConsoleFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return string(b)
}

func boots(console string) int { return strings.Count(console, "privlink-init: boot ") }

// waitRunningIn waits until pid runs in the namespace ino.
func waitRunningIn(t *testing.T, pid int, ino uint64) {
	t.Helper()
	testenv.WaitFor(t, timeout, fmt.Sprintf("pid %d in the namespace", pid), func() error {
		got, err := procNetNS(pid)
		if err == nil && got != ino {
			err = fmt.Errorf("in net:[%d], want net:[%d]", got, ino)
		}
		return err
	})
}

func waitDead(t *testing.T, pid int) {
	t.Helper()
	testenv.WaitFor(t, timeout, fmt.Sprintf("pid %d to end", pid), func() error {
		st, err := readStat(pid)
		if err != nil || st.Dead() {
			return nil
		}
		return fmt.Errorf("state %c", st.State)
	})
}

func waitConsole(t *testing.T, dir, id, want string, n int) {
	t.Helper()
	testenv.WaitFor(t, timeout, fmt.Sprintf("%d× %q in the console", n, want), func() error {
		if got := console(t, dir, id); strings.Count(got, want) != n {
			return fmt.Errorf("console:\n%s", got)
		}
		return nil
	})
}

const id = "i-0123456789abcdef0"

// The acceptance rule of issue 3: a running UserData process is restarted
// if it died with the daemon; otherwise it is left alone.
func TestPrivilegedAdoptAndRestart(t *testing.T) {
	dir := t.TempDir()
	ns, ino := newNamespace(t)
	ws := []Workload{{ID: id, Namespace: ns, Run: true, Script: []byte(
		"#!/bin/sh\necho \"booted in $(readlink /proc/self/ns/net) as $(id -u)\"\nexec sleep 1000\n")}}
	booted := fmt.Sprintf("booted in net:[%d] as 0\n", ino)

	d := startDaemon(t, dir, ws)
	first := readRecord(t, dir, id)
	if first.State != stateRunning || first.Boots != 1 || first.PID <= 0 {
		t.Fatalf("record after the first boot = %+v", first)
	}
	waitRunningIn(t, first.PID, ino)
	waitConsole(t, dir, id, booted, 1)
	if sid, err := unix.Getsid(first.PID); err != nil || sid != first.PID {
		t.Errorf("session of the script = %d, %v; want its own (%d)", sid, err, first.PID)
	}
	if fi, err := os.Stat(filepath.Join(dir, id, ScriptFile)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("script file: %v, %v; want mode 0700", fi, err)
	}

	// kill -9 of the daemon: the script lives on, and the next daemon
	// adopts it.
	crash(t, d)
	if st, err := readStat(first.PID); err != nil || st.Dead() {
		t.Fatalf("the script died with the daemon: %+v, %v", st, err)
	}
	b := newSupervisor(t, dir)
	if err := b.Set(t.Context(), ws); err != nil {
		t.Fatal(err)
	}
	if got := readRecord(t, dir, id); got.PID != first.PID || got.Boots != 1 || got.State != stateRunning {
		t.Errorf("record after adoption = %+v, want pid %d, boot 1, running", got, first.PID)
	}
	if c := console(t, dir, id); boots(c) != 1 {
		t.Errorf("console after adoption shows %d boots, want 1:\n%s", boots(c), c)
	}

	// The script dies while no daemon runs (this one is dropped without
	// Run): the next daemon runs it again.
	if err := syscall.Kill(first.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitDead(t, first.PID)
	c := newSupervisor(t, dir)
	if err := c.Set(t.Context(), ws); err != nil {
		t.Fatal(err)
	}
	second := readRecord(t, dir, id)
	if second.PID == first.PID || second.Boots != 2 || second.State != stateRunning {
		t.Fatalf("record after the restart = %+v, want a new pid, boot 2, running", second)
	}
	waitRunningIn(t, second.PID, ino)
	waitConsole(t, dir, id, booted, 2)
	if got := console(t, dir, id); !strings.Contains(got, "privlink-init: boot 2 of "+id) || !strings.Contains(got, "died with the daemon") {
		t.Errorf("console does not show the second boot:\n%s", got)
	}
	// Idempotent: another pass changes nothing.
	if err := c.Set(t.Context(), ws); err != nil {
		t.Fatal(err)
	}
	if got := readRecord(t, dir, id); got.PID != second.PID || got.Boots != 2 {
		t.Errorf("record after another Set = %+v, want it unchanged", got)
	}
}

// A script that ends by itself ran once: neither the same supervisor nor the
// next one runs it again.
func TestPrivilegedExitedIsNotRestarted(t *testing.T) {
	dir := t.TempDir()
	ns, _ := newNamespace(t)
	ws := []Workload{{ID: id, Namespace: ns, Run: true, Script: []byte("#!/bin/sh\necho ran once\nexit 7\n")}}
	s := newSupervisor(t, dir)
	if err := s.Set(t.Context(), ws); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, timeout, "the script to exit", func() error {
		if r := readRecord(t, dir, id); r.State != stateExited || r.ExitCode == nil || *r.ExitCode != 7 {
			return fmt.Errorf("record %+v", r)
		}
		return nil
	})
	if err := s.Set(t.Context(), ws); err != nil {
		t.Fatal(err)
	}
	if err := newSupervisor(t, dir).Set(t.Context(), ws); err != nil {
		t.Fatal(err)
	}
	if r := readRecord(t, dir, id); r.Boots != 1 || r.State != stateExited {
		t.Errorf("record = %+v, want boot 1, exited", r)
	}
	got := console(t, dir, id)
	if boots(got) != 1 || strings.Count(got, "ran once\n") != 1 || !strings.Contains(got, "user-data exited with status 7") {
		t.Errorf("console:\n%s\nwant one boot, one run and its exit status", got)
	}
}

// An adopted script that ends while the next daemon watches is not run
// again either.
func TestPrivilegedAdoptedEndIsFinal(t *testing.T) {
	dir := t.TempDir()
	ns, ino := newNamespace(t)
	ws := []Workload{{ID: id, Namespace: ns, Run: true, Script: []byte("#!/bin/sh\nexec sleep 1000\n")}}
	d := startDaemon(t, dir, ws)
	pid := readRecord(t, dir, id).PID
	waitRunningIn(t, pid, ino)
	crash(t, d)

	b := newSupervisor(t, dir)
	if err := b.Set(t.Context(), ws); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, timeout, "the end of the adopted script to be recorded", func() error {
		if r := readRecord(t, dir, id); r.State != stateExited || r.ExitCode != nil {
			return fmt.Errorf("record %+v", r)
		}
		return nil
	})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run() = %v", err)
	}
	if err := newSupervisor(t, dir).Set(t.Context(), ws); err != nil {
		t.Fatal(err)
	}
	if r := readRecord(t, dir, id); r.PID != pid || r.Boots != 1 || r.State != stateExited {
		t.Errorf("record = %+v, want pid %d, boot 1, exited", r, pid)
	}
	if got := console(t, dir, id); !strings.Contains(got, "exit status is unknown") {
		t.Errorf("console does not show the end:\n%s", got)
	}
}

// Stop kills every process of the namespace: the script, a child it put in
// the background, a daemon that left its session, a process that ignores
// SIGTERM, and a command that `privlink exec` started.
func TestPrivilegedStopKillsEverything(t *testing.T) {
	dir := t.TempDir()
	ns, ino := newNamespace(t)
	ws := []Workload{{ID: id, Namespace: ns, Run: true, Script: []byte(`#!/bin/sh
sleep 1001 &
setsid sleep 1002 &
echo started
trap '' TERM
exec sleep 1003
`)}}
	s := newSupervisor(t, dir)
	if err := s.Set(t.Context(), ws); err != nil {
		t.Fatal(err)
	}
	waitConsole(t, dir, id, "started\n", 1)

	exe := nsexec.Command(t.Context(), self(t), ns, []string{"sleep", "1004"})
	if err := exe.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- exe.Wait() }()
	testenv.WaitFor(t, timeout, "4 processes in the namespace", func() error {
		if pids := inNamespace(t, ino); len(pids) != 4 {
			return fmt.Errorf("%d processes: %v", len(pids), pids)
		}
		return nil
	})

	ws[0].Run = false
	start := time.Now()
	if err := s.Set(t.Context(), ws); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < grace {
		t.Errorf("Set took %v: the process that ignores SIGTERM went before the grace period (%v)", d, grace)
	}
	if pids := inNamespace(t, ino); len(pids) != 0 {
		t.Errorf("processes left in the namespace after stop: %v", pids)
	}
	if err := <-waited; err == nil {
		t.Error("the exec'd command ended normally, want it killed")
	}
	if r := readRecord(t, dir, id); r.State != stateStopped {
		t.Errorf("record = %+v, want stopped", r)
	}
	if got := console(t, dir, id); !strings.Contains(got, "instance stopped at") {
		t.Errorf("console does not show the stop:\n%s", got)
	}

	// Started again: UserData ran at first boot only.
	ws[0].Run = true
	if err := s.Set(t.Context(), ws); err != nil {
		t.Fatal(err)
	}
	if err := newSupervisor(t, dir).Set(t.Context(), ws); err != nil {
		t.Fatal(err)
	}
	if pids := inNamespace(t, ino); len(pids) != 0 {
		t.Errorf("processes in the namespace after a restart of the instance: %v", pids)
	}
	if r := readRecord(t, dir, id); r.State != stateStopped || r.Boots != 1 {
		t.Errorf("record = %+v, want stopped after boot 1", r)
	}
}

// A workload that leaves the list is killed; its console output stays until
// Forget.
func TestPrivilegedTerminateAndForget(t *testing.T) {
	dir := t.TempDir()
	ns, ino := newNamespace(t)
	ws := []Workload{{ID: id, Namespace: ns, Run: true, Script: []byte("#!/bin/sh\necho hello\nexec sleep 1000\n")}}
	s := newSupervisor(t, dir)
	if err := s.Set(t.Context(), ws); err != nil {
		t.Fatal(err)
	}
	waitRunningIn(t, readRecord(t, dir, id).PID, ino)
	waitConsole(t, dir, id, "hello\n", 1)
	if err := s.Forget(t.Context(), id); err == nil || !strings.Contains(err.Error(), "stop it first") {
		t.Errorf("Forget(running) = %v, want a refusal", err)
	}

	if err := s.Set(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	if pids := inNamespace(t, ino); len(pids) != 0 {
		t.Errorf("processes left after terminate: %v", pids)
	}
	out, err := s.ConsoleLog(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "hello\n") || !strings.Contains(string(out), "instance terminated at") {
		t.Errorf("ConsoleLog() = %q, want the output and the termination", out)
	}
	// A later daemon neither runs nor kills anything for it.
	if err := newSupervisor(t, dir).Set(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Forget(t.Context(), id); err != nil {
		t.Fatalf("Forget() = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, id)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("state dir after Forget: %v, want it gone", err)
	}
	if out, err := s.ConsoleLog(t.Context(), id); err != nil || len(out) != 0 {
		t.Errorf("ConsoleLog() after Forget = %q, %v; want nothing", out, err)
	}
}

// UserData that is not a "#!" script does not run; a namespace that does not
// exist yet is an error that a later Set recovers from.
func TestPrivilegedNotAScriptAndMissingNamespace(t *testing.T) {
	dir := t.TempDir()
	ns, ino := newNamespace(t)
	s := newSupervisor(t, dir)
	marker := filepath.Join(t.TempDir(), "ran")
	notScript := Workload{ID: "i-00000001", Namespace: ns, Run: true, Script: []byte("touch " + marker + "\n")}
	missing := Workload{ID: "i-00000002", Namespace: ns + "-later", Run: true, Script: []byte("#!/bin/sh\necho late\nexec sleep 1000\n")}
	ws := []Workload{notScript, missing}
	err := s.Set(t.Context(), ws)
	if err == nil || !errors.Is(err, nsexec.ErrNoNamespace) {
		t.Errorf("Set() with a missing namespace = %v, want ErrNoNamespace", err)
	}
	if pids := inNamespace(t, ino); len(pids) != 0 {
		t.Errorf("processes in the namespace of a workload without a script: %v", pids)
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(des) != 0 {
		t.Errorf("state dir holds %v, want nothing yet", des)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the non-script UserData ran")
	}

	if err := netns.Create(missing.Namespace); err != nil {
		t.Fatal(err)
	}
	lateIno, err := nsInode(missing.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // before the namespace goes
		if err := s.Set(context.Background(), nil); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	if err := s.Set(t.Context(), ws); err != nil {
		t.Fatal(err)
	}
	waitRunningIn(t, readRecord(t, dir, missing.ID).PID, lateIno)
	waitConsole(t, dir, missing.ID, "late\n", 1)
	if names := dirNames(t, dir); !slices.Equal(names, []string{missing.ID}) {
		t.Errorf("state dir holds %v, want only %s", names, missing.ID)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		out = append(out, de.Name())
	}
	return out
}

// pollUntil calls cond until it returns nil or timeout passes, for cleanups,
// whose t.Context is already done.
func pollUntil(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		<-time.After(10 * time.Millisecond)
	}
}
