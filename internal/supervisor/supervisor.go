package supervisor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/privlink/privlink/internal/nsexec"
)

// Defaults of Config.
const (
	DefaultStopGrace    = 3 * time.Second
	DefaultPollInterval = time.Second
)

// ConsoleMax is the most ConsoleLog returns: the last 64 KiB of the log, as
// much as EC2 keeps.
const ConsoleMax = 64 << 10

// Files in each workload's directory, StateDir/<id>/.
const (
	ScriptFile  = "user-data"
	ConsoleFile = "console.log"
	RecordFile  = "process.json"
)

// killTimeout bounds the wait for processes to vanish after SIGKILL.
const killTimeout = 5 * time.Second

// scriptEnv is the environment of a script: a plain PATH and HOME, nothing
// of the daemon's.
var scriptEnv = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root",
}

// Config configures a Supervisor.
type Config struct {
	// StateDir holds a directory per workload; <data-dir>/instances in
	// the daemon. Created 0700 if missing.
	StateDir string
	// Self is the privlink binary, re-executed to enter namespaces (see
	// nsexec).
	Self   string
	Logger *slog.Logger
	// StopGrace is how long stopped processes get between SIGTERM and
	// SIGKILL; DefaultStopGrace if zero.
	StopGrace time.Duration
	// PollInterval is how often Run checks adopted processes;
	// DefaultPollInterval if zero.
	PollInterval time.Duration
}

// Workload is one instance as the supervisor sees it.
type Workload struct {
	// ID names the workload's directory (an instance id).
	ID string
	// Namespace is the named network namespace the script runs in. It
	// must exist when the script is to start, and it should still exist
	// when Set stops the workload: processes are found through it.
	Namespace string
	// Script is the decoded UserData. It runs only if it starts with "#!".
	Script []byte
	// Run is whether the workload should be running: the instance is
	// running. False (stopped, terminated) kills every process in
	// Namespace.
	Run bool
}

// IsScript reports whether userData is a script that the supervisor runs:
// it starts with "#!".
func IsScript(userData []byte) bool { return bytes.HasPrefix(userData, []byte("#!")) }

// Supervisor runs and tracks workloads' scripts. It is safe for concurrent
// use.
type Supervisor struct {
	cfg    Config
	log    *slog.Logger
	bootID string
	never  map[uint64]bool // network namespaces never to kill in

	setMu sync.Mutex // serialises Set and Forget

	mu     sync.Mutex // guards known and closed
	known  map[string]*entry
	closed bool // Run has returned: record no more exits
}

// entry is what the supervisor knows of one workload.
type entry struct {
	ns  string
	rec *record // nil: never started here (no script, or no record)
	// proc is the process while it is this supervisor's unreaped child.
	proc *os.Process
	// finished: the workload left the list, and nothing of it is left to
	// kill; Set ignores it until Forget.
	finished bool
	// trimFailed: its console file cannot be trimmed (trimConsole); not
	// tried again.
	trimFailed bool
}

// New returns a supervisor for cfg. It adopts nothing until Set says what
// should run.
func New(cfg Config) (*Supervisor, error) {
	if !filepath.IsAbs(cfg.StateDir) {
		return nil, fmt.Errorf("supervisor: state dir %q: must be an absolute path", cfg.StateDir)
	}
	if cfg.Self == "" {
		return nil, errors.New("supervisor: no privlink binary (Self) to enter namespaces with")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = DefaultStopGrace
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	bootID, err := readBootID()
	if err != nil {
		return nil, fmt.Errorf("supervisor: boot id: %w", err)
	}
	never, err := hostNetNS()
	if err != nil {
		return nil, fmt.Errorf("supervisor: %w", err)
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("supervisor: %w", err)
	}
	return &Supervisor{
		cfg:    cfg,
		log:    cfg.Logger,
		bootID: bootID,
		never:  never,
		known:  map[string]*entry{},
	}, nil
}

// Set makes the processes match ws, the full list of workloads, by the rules
// in the package comment: it starts first boots and restarts scripts that
// died with the daemon, adopts live ones, and kills every process of the
// workloads that should not run or are no longer listed. Kills wait up to
// StopGrace (then up to a few seconds after SIGKILL). Set returns the errors
// of the workloads it could not handle; a later Set retries them (a
// namespace that does not exist yet, for instance).
func (s *Supervisor) Set(ctx context.Context, ws []Workload) error {
	s.setMu.Lock()
	defer s.setMu.Unlock()
	want := make(map[string]Workload, len(ws))
	for _, w := range ws {
		if err := checkWorkload(w); err != nil {
			return err
		}
		if _, dup := want[w.ID]; dup {
			return fmt.Errorf("workload %s: listed twice", w.ID)
		}
		want[w.ID] = w
	}
	var errs []error
	var stops []target
	for _, id := range slices.Sorted(maps.Keys(want)) {
		w := want[id]
		if !w.Run {
			stops = append(stops, target{id: id, ns: w.Namespace})
			continue
		}
		if err := s.ensure(ctx, w); err != nil {
			errs = append(errs, err)
		}
	}
	gone, err := s.unlisted(want)
	if err != nil {
		errs = append(errs, err)
	}
	stops = append(stops, gone...)
	if err := s.stop(ctx, stops); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ensure makes w's script run once: start, adopt, restart or leave it.
func (s *Supervisor) ensure(ctx context.Context, w Workload) error {
	s.mu.Lock()
	e := s.known[w.ID]
	if e == nil {
		e = &entry{ns: w.Namespace}
		s.known[w.ID] = e
	}
	e.finished = false
	if e.rec != nil {
		// Started or adopted here, or known to be over.
		if e.rec.State == stateRunning && e.proc == nil && !s.alive(e.rec) {
			s.ended(w.ID, e)
		}
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	if !IsScript(w.Script) {
		return nil
	}
	rec, err := s.load(w.ID)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	boot, why := 1, "running user-data (first boot)"
	if rec != nil {
		if rec.State == stateRunning && s.alive(rec) {
			s.log.Info("adopted user-data", "workload", w.ID, "pid", rec.PID, "boot", rec.Boots)
		} else if rec.State == stateRunning {
			boot = rec.Boots + 1
			why = fmt.Sprintf("user-data (pid %d) died with the daemon or the host; running it again", rec.PID)
			rec = nil
		}
		if rec != nil {
			s.mu.Lock()
			e.rec = rec
			s.mu.Unlock()
			return nil
		}
	}
	return s.start(ctx, w, e, boot, why)
}

// start runs w's script as boot number boot, and records it.
func (s *Supervisor) start(ctx context.Context, w Workload, e *entry, boot int, why string) error {
	netns, err := nsInode(w.Namespace)
	if err != nil {
		return fmt.Errorf("start user-data of %s: %w", w.ID, err)
	}
	dir := s.dir(w.ID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("start user-data of %s: %w", w.ID, err)
	}
	script := filepath.Join(dir, ScriptFile)
	if err := writeFileAtomic(script, w.Script, 0o700); err != nil {
		return fmt.Errorf("start user-data of %s: write script: %w", w.ID, err)
	}
	console, err := os.OpenFile(filepath.Join(dir, ConsoleFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("start user-data of %s: %w", w.ID, err)
	}
	started := time.Now().UTC()
	if _, err := fmt.Fprintf(console, "privlink-init: boot %d of %s at %s: %s\n", boot, w.ID, stamp(started), why); err != nil {
		console.Close()
		return fmt.Errorf("start user-data of %s: write console: %w", w.ID, err)
	}
	// The script outlives this call and the daemon: no cancellation.
	cmd := nsexec.Command(context.WithoutCancel(ctx), s.cfg.Self, w.Namespace, []string{script})
	cmd.Dir = "/"
	cmd.Env = scriptEnv
	cmd.Stdout, cmd.Stderr = console, console
	cmd.SysProcAttr = sysProcAttr()
	err = cmd.Start()
	console.Close() // the child has its own copy
	if err != nil {
		return fmt.Errorf("start user-data of %s: %w", w.ID, err)
	}
	pid := cmd.Process.Pid
	// The child is unreaped, so its stat exists even if it already ended.
	st, err := readStat(pid)
	if err == nil {
		rec := &record{
			Namespace: w.Namespace, NetNS: netns, PID: pid, StartTime: st.StartTime, BootID: s.bootID,
			State: stateRunning, Boots: boot, Started: started,
		}
		if err = s.save(w.ID, rec); err == nil {
			s.mu.Lock()
			e.rec, e.proc = rec, cmd.Process
			s.mu.Unlock()
			go s.reap(w.ID, cmd)
			s.log.Info("started user-data", "workload", w.ID, "namespace", w.Namespace, "pid", pid, "boot", boot)
			return nil
		}
	}
	// Without a record the next daemon could not tell it ran: undo.
	cmd.Process.Kill()
	cmd.Wait()
	return fmt.Errorf("start user-data of %s: %w", w.ID, err)
}

// reap waits for a started script and records how it ended.
func (s *Supervisor) reap(id string, cmd *exec.Cmd) {
	cmd.Wait() // the status is in ProcessState
	code := exitStatus(cmd.ProcessState)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.known[id]
	if e == nil || e.proc != cmd.Process {
		return
	}
	e.proc = nil
	if s.closed || e.rec.State != stateRunning {
		return // the daemon is going, or Set stopped it
	}
	rec := *e.rec
	rec.State, rec.ExitCode, rec.Finished = stateExited, &code, time.Now().UTC()
	e.rec = &rec
	s.log.Info("user-data exited", "workload", id, "pid", rec.PID, "status", code)
	err := errors.Join(
		s.appendConsole(id, "user-data exited with status %d at %s", code, stamp(rec.Finished)),
		s.save(id, &rec))
	if err != nil {
		s.log.Error("record the end of user-data", "workload", id, "err", err)
	}
}

// exitStatus is a shell's $? for a process that ended: its exit code, or
// 128+n after signal n.
func exitStatus(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// alive reports whether the process of rec still runs: the same pid with
// the same start time, in the same boot of the host.
func (s *Supervisor) alive(rec *record) bool {
	if rec.BootID != s.bootID || rec.PID <= 0 {
		return false
	}
	st, err := readStat(rec.PID)
	return err == nil && !st.Dead() && st.StartTime == rec.StartTime
}

// ended records that the adopted process of e has ended; its status is
// unknown. s.mu is held.
func (s *Supervisor) ended(id string, e *entry) {
	if s.closed {
		return
	}
	rec := *e.rec
	rec.State, rec.ExitCode, rec.Finished = stateExited, nil, time.Now().UTC()
	e.rec = &rec
	s.log.Info("adopted user-data ended", "workload", id, "pid", rec.PID)
	err := errors.Join(
		s.appendConsole(id, "user-data (pid %d) ended by %s; its exit status is unknown", rec.PID, stamp(rec.Finished)),
		s.save(id, &rec))
	if err != nil {
		s.log.Error("record the end of user-data", "workload", id, "err", err)
	}
}

// Run watches adopted processes (those that are not this supervisor's
// children) until ctx is done, records the ones that end, and keeps the
// console files of running scripts from filling the disk (trimConsole). When it
// returns, the supervisor stops recording ends at all: the daemon is going
// down, and what dies from now on died with it.
func (s *Supervisor) Run(ctx context.Context) error {
	defer func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
	}()
	t := time.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		s.mu.Lock()
		for id, e := range s.known {
			if e.rec != nil && e.rec.State == stateRunning && e.proc == nil && !s.alive(e.rec) {
				s.ended(id, e)
			}
		}
		s.mu.Unlock()
		s.trimConsoles()
	}
}

// target is a workload whose processes must go.
type target struct {
	id, ns   string
	unlisted bool
}

// unlisted returns the workloads that are known here or have a directory
// but are not in want.
func (s *Supervisor) unlisted(want map[string]Workload) ([]target, error) {
	des, err := os.ReadDir(s.cfg.StateDir)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", s.cfg.StateDir, err)
	}
	ids := map[string]bool{}
	for _, de := range des {
		if de.IsDir() && checkID(de.Name()) == nil {
			ids[de.Name()] = true
		}
	}
	s.mu.Lock()
	for id := range s.known {
		ids[id] = true
	}
	var out []target
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		if _, ok := want[id]; ok {
			continue
		}
		e := s.known[id]
		if e != nil && e.finished {
			continue
		}
		t := target{id: id, unlisted: true}
		if e != nil {
			t.ns = e.ns
		}
		out = append(out, t)
	}
	s.mu.Unlock()
	return out, nil
}

// stop kills every process of the targets and records them stopped.
func (s *Supervisor) stop(ctx context.Context, targets []target) error {
	if len(targets) == 0 {
		return nil
	}
	inodes := map[uint64]bool{}
	var children []*os.Process
	var errs []error
	for _, t := range targets {
		s.mu.Lock()
		e := s.known[t.id]
		if e == nil {
			e = &entry{ns: t.ns}
			s.known[t.id] = e
		}
		rec := e.rec
		s.mu.Unlock()
		if rec == nil {
			var err error
			if rec, err = s.load(t.id); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
				continue
			}
		}
		s.mu.Lock()
		if e.rec != nil { // set by reap meanwhile
			rec = e.rec
		}
		ns := t.ns
		if ns == "" && rec != nil {
			ns = rec.Namespace
		}
		ino, found := s.netnsOf(ns, rec)
		if found {
			inodes[ino] = true
		}
		if e.proc != nil {
			children = append(children, e.proc)
		}
		if rec != nil && rec.State == stateRunning {
			r := *rec
			r.State, r.Finished = stateStopped, time.Now().UTC()
			why := "instance stopped"
			if t.unlisted {
				why = "instance terminated"
			}
			err := errors.Join(
				s.appendConsole(t.id, "%s at %s: stopping every process of the instance", why, stamp(r.Finished)),
				s.save(t.id, &r))
			if err != nil {
				errs = append(errs, err)
			} else {
				e.rec = &r
				s.log.Info("stopping user-data", "workload", t.id, "pid", r.PID, "reason", why)
			}
		} else if rec != nil {
			e.rec = rec
		}
		// An unlisted workload with nothing left to kill is done with.
		e.finished = t.unlisted && !found && e.proc == nil
		s.mu.Unlock()
	}
	if err := s.killAll(ctx, inodes, children); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// netnsOf returns the namespace to empty: the named one if it exists,
// otherwise the recorded one, but only while the recorded process proves it
// is still the same namespace by being alive in it.
func (s *Supervisor) netnsOf(ns string, rec *record) (uint64, bool) {
	if ns != "" {
		if ino, err := nsInode(ns); err == nil && !s.never[ino] {
			return ino, true
		}
	}
	if rec == nil || rec.NetNS == 0 || s.never[rec.NetNS] || !s.alive(rec) {
		return 0, false
	}
	if ino, err := procNetNS(rec.PID); err == nil && ino == rec.NetNS {
		return ino, true
	}
	return 0, false
}

// killAll sends SIGTERM to every process in the namespaces inodes and to
// children, waits up to StopGrace for them to go, then SIGKILLs whatever is
// left until nothing is.
func (s *Supervisor) killAll(ctx context.Context, inodes map[uint64]bool, children []*os.Process) error {
	for ino := range s.never {
		delete(inodes, ino) // never the host's
	}
	if len(inodes) == 0 && len(children) == 0 {
		return nil
	}
	left := func() ([]int, error) {
		pids, err := scanNamespaces(inodes)
		for _, c := range children {
			if c.Signal(syscall.Signal(0)) == nil { // not reaped yet
				pids = append(pids, c.Pid)
			}
		}
		return pids, err
	}
	signal := func(pids []int, sig syscall.Signal) {
		for _, pid := range pids {
			signalIn(pid, inodes, sig)
		}
		for _, c := range children {
			c.Signal(sig)
		}
	}
	pids, err := left()
	if err != nil {
		return err
	}
	if len(pids) == 0 {
		return nil
	}
	s.log.Info("stopping processes", "pids", pids)
	signal(pids, syscall.SIGTERM)
	if err := waitGone(ctx, time.Now().Add(s.cfg.StopGrace), left); err == nil {
		return nil
	}
	// Kill until nothing is left: a process may fork as it dies.
	deadline := time.Now().Add(killTimeout)
	for {
		pids, err := left()
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			return nil
		}
		signal(pids, syscall.SIGKILL)
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v still running after SIGKILL", pids)
		}
		if err := sleep(context.WithoutCancel(ctx), 10*time.Millisecond); err != nil {
			return err
		}
	}
}

// waitGone polls left until it returns nothing, deadline passes or ctx is
// done.
func waitGone(ctx context.Context, deadline time.Time, left func() ([]int, error)) error {
	interval := 5 * time.Millisecond
	for {
		pids, err := left()
		if err == nil && len(pids) == 0 {
			return nil
		}
		d := time.Until(deadline)
		if d <= 0 {
			return errors.New("grace period over")
		}
		if err := sleep(ctx, min(interval, d)); err != nil {
			return err
		}
		interval = min(2*interval, 100*time.Millisecond)
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ConsoleLog returns the console output of workload id: the last ConsoleMax
// bytes of its log. A workload that has none (no script, or unknown) has
// empty output, not an error.
func (s *Supervisor) ConsoleLog(ctx context.Context, id string) ([]byte, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(s.dir(id), ConsoleFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("console of %s: %w", id, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("console of %s: %w", id, err)
	}
	off := max(0, st.Size()-ConsoleMax)
	b, err := io.ReadAll(io.NewSectionReader(f, off, ConsoleMax))
	if err != nil {
		return nil, fmt.Errorf("console of %s: %w", id, err)
	}
	return b, nil
}

// Forget removes what the supervisor keeps of workload id: its directory,
// console log included. It refuses while the workload's script is running:
// stop it (Set) first.
func (s *Supervisor) Forget(ctx context.Context, id string) error {
	if err := checkID(id); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.setMu.Lock()
	defer s.setMu.Unlock()
	rec, err := s.load(id)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.known[id]; e != nil && e.rec != nil {
		rec = e.rec
	}
	if rec != nil && rec.State == stateRunning && s.alive(rec) {
		return fmt.Errorf("forget %s: its user-data is running (pid %d); stop it first", id, rec.PID)
	}
	delete(s.known, id)
	if err := os.RemoveAll(s.dir(id)); err != nil {
		return fmt.Errorf("forget %s: %w", id, err)
	}
	return nil
}

// checkWorkload rejects a workload whose id or namespace is not a single
// path element.
func checkWorkload(w Workload) error {
	if err := checkID(w.ID); err != nil {
		return err
	}
	if err := checkElem(w.Namespace); err != nil {
		return fmt.Errorf("workload %s: namespace: %w", w.ID, err)
	}
	return nil
}

func checkID(id string) error {
	if err := checkElem(id); err != nil || strings.HasPrefix(id, ".") {
		return fmt.Errorf("invalid workload id %q", id)
	}
	return nil
}

func checkElem(s string) error {
	if s == "" || s == "." || strings.Contains(s, "..") || strings.ContainsAny(s, "/\x00") {
		return fmt.Errorf("%q is not a single path element", s)
	}
	return nil
}
