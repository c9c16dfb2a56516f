// Package benchd runs a privlink daemon for a benchmark program: it builds
// the binary if asked, starts `privlink server` on a free 127.0.0.1 port with
// a data dir of its own (and can stop it and start it again on the same data
// dir), creates accounts through its admin socket, and gives aws-sdk-go-v2
// EC2 and ELBv2 clients for it. The resources a benchmark creates through
// its helpers (VPCs, subnets, security groups, instances, load balancers,
// target groups, listeners, endpoint services, VPC endpoints), in any
// account, are undone by Close in reverse order, also after an error;
// Close then stops the daemon and removes any namespace of those resources
// that is still there, with the processes inside it. Its readiness poll,
// free port and log tail (WaitHTTP, FreePort, TailLines) also serve programs
// that start other servers (bench/vpcapi's moto).
//
// It is for programs under bench/ only. It imports the EC2 and ELBv2 service
// clients, so nothing that ends up in the daemon binary may import it.
package benchd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"golang.org/x/sys/unix"

	"github.com/privlink/privlink/bench/internal/report"
	"github.com/privlink/privlink/internal/controlplane"
)

// NamespacePrefix is the prefix of the daemon's namespaces: a VPC's router
// is NamespacePrefix + VPC id, an instance NamespacePrefix + instance id.
const NamespacePrefix = "plk-"

// Build builds ./cmd/privlink (the working directory must be the
// repository root) into dir and returns the binary's path.
func Build(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "privlink")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/privlink").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/privlink: %w\n%s", err, out)
	}
	return bin, nil
}

// Binary returns bin, or when bin is "" builds ./cmd/privlink into dir
// (Build) and returns the binary's path.
func Binary(ctx context.Context, bin, dir string) (string, error) {
	if bin != "" {
		return bin, nil
	}
	log.Printf("building ./cmd/privlink")
	return Build(ctx, dir)
}

// Daemon is a running privlink daemon and what a benchmark created in it.
type Daemon struct {
	// Dir is the temporary directory of StartTemp, which Close removes:
	// the daemon's data dir and log are in it, and the benchmark may put
	// its own files there. "" after Start.
	Dir string
	// URL is the daemon's API endpoint, http://127.0.0.1:PORT.
	URL string
	// DataDir is the daemon's --data-dir.
	DataDir string
	// Version is `go version` of the binary.
	Version string
	// Account is the bootstrap account (000000000000, static credentials
	// test/test): d.EC2 is its client, and d.CreateVpc and the other
	// helpers create its resources.
	*Account

	bin, addr string
	startedAt time.Time // of the current process
	cmd       *exec.Cmd
	done      chan struct{}
	logPath   string

	mu         sync.Mutex
	undo       []undoStep
	namespaces []string
	elb        *elasticloadbalancingv2.Client
	transport  *http.Transport
}

type undoStep struct {
	what string
	fn   func(ctx context.Context) error
}

// StartTemp makes a temporary directory (os.MkdirTemp's pattern), which
// Close removes, and starts the daemon in it (Start): bin, or when bin is
// "" ./cmd/privlink built there (Binary).
func StartTemp(ctx context.Context, bin, pattern string) (_ *Daemon, err error) {
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	if bin, err = Binary(ctx, bin, dir); err != nil {
		return nil, err
	}
	d, err := Start(ctx, bin, dir)
	if err != nil {
		return nil, err
	}
	d.Dir = dir
	return d, nil
}

// Start starts `bin server` with its data dir and log under dir, and waits
// until it answers /healthz.
func Start(ctx context.Context, bin, dir string) (*Daemon, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	d := &Daemon{
		URL:     "http://" + addr,
		DataDir: filepath.Join(dir, "privlink-data"),
		Version: version(bin),
		bin:     bin,
		addr:    addr,
		logPath: filepath.Join(dir, "privlink.log"),
	}
	if err := d.start(ctx); err != nil {
		return nil, err
	}
	d.Account = d.newAccount(controlplane.BootstrapAccountID, controlplane.BootstrapAccessKey, controlplane.BootstrapSecretKey)
	return d, nil
}

// start starts the daemon process on d's address and data dir, its output
// appended to the log, and waits until it answers /healthz.
func (d *Daemon) start(ctx context.Context) error {
	logf, err := os.OpenFile(d.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	d.done = make(chan struct{})
	d.startedAt = time.Now()
	d.cmd = exec.Command(d.bin, "server", "--listen", d.addr, "--data-dir", d.DataDir, "--region", "us-east-1", "--zones", "a,b,c")
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	// Its own process group: a Ctrl-C at the terminal reaches the bench,
	// which then needs the daemon to clean up, and not the daemon.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		return fmt.Errorf("start privlink: %w", err)
	}
	cmd, done := d.cmd, d.done
	go func() { cmd.Wait(); close(done) }()
	if err := d.waitHealthy(ctx); err != nil {
		d.stop()
		return err
	}
	return nil
}

// Kill stops the daemon with sig (SIGKILL: at once; SIGTERM: it shuts down
// gracefully, leaving its namespaces in place; after 30 s it is killed) and
// returns when the process had exited. StartAgain starts it again.
func (d *Daemon) Kill(sig syscall.Signal) time.Time {
	d.cmd.Process.Signal(sig)
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
	}
	return time.Now()
}

// StartAgain starts the daemon again, after Kill, on the same address and
// data dir, and waits until it answers /healthz (its controller has
// completed a pass). It returns when the process was started and when it
// first answered.
func (d *Daemon) StartAgain(ctx context.Context) (started, healthy time.Time, err error) {
	d.mu.Lock()
	if d.transport != nil {
		d.transport.CloseIdleConnections() // to the old process
	}
	d.mu.Unlock()
	if err := d.start(ctx); err != nil {
		return d.startedAt, time.Time{}, fmt.Errorf("start again: %w", err)
	}
	return d.startedAt, time.Now(), nil
}

func (d *Daemon) waitHealthy(ctx context.Context) error {
	return WaitHTTP(ctx, "privlink", d.URL+"/healthz", d.done, func() string { return d.LogTail(30) })
}

// WaitHTTP polls url until it answers 200, the server's process exits
// (exited is closed) or 60 s pass; name and logTail (the end of the
// server's log) go in the error.
func WaitHTTP(ctx context.Context, name, url string, exited <-chan struct{}, logTail func() string) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s: %s", url, resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after 60s: %v\n%s", name, err, logTail())
		}
		select {
		case <-exited:
			return fmt.Errorf("%s exited before it was ready\n%s", name, logTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// PID returns the daemon's process id.
func (d *Daemon) PID() int { return d.cmd.Process.Pid }

// LogTail returns the last n lines of the daemon's log.
func (d *Daemon) LogTail(n int) string { return TailLines(d.logPath, n) }

// TailLines returns the last n lines of the file at path ("" when it cannot
// be read).
func TailLines(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ConsoleLog returns the console output (the UserData's stdout and stderr)
// of an instance, as the daemon keeps it.
func (d *Daemon) ConsoleLog(instanceID string) ([]byte, error) {
	return os.ReadFile(filepath.Join(d.DataDir, "instances", instanceID, "console.log"))
}

// Defer registers fn to run in Close, before the steps registered earlier.
func (d *Daemon) Defer(what string, fn func(ctx context.Context) error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.undo = append(d.undo, undoStep{what, fn})
}

// TrackNamespace records the namespace of a resource the benchmark created,
// for the sweep at the end of Close.
func (d *Daemon) TrackNamespace(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.namespaces = append(d.namespaces, name)
}

// Close undoes what the benchmark registered, latest first, waits for the
// daemon to remove the namespaces of the tracked resources, stops the
// daemon, and removes those namespaces that are still there (killing what
// runs in them). It logs what fails and returns the first error.
func (d *Daemon) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d.mu.Lock()
	undo, namespaces := d.undo, d.namespaces
	d.undo = nil
	d.mu.Unlock()
	var errs []error
	for i := len(undo) - 1; i >= 0; i-- {
		if err := undo[i].fn(ctx); err != nil {
			log.Printf("clean-up: %s: %v", undo[i].what, err)
			errs = append(errs, fmt.Errorf("%s: %w", undo[i].what, err))
		}
	}
	if len(errs) == 0 {
		if err := WaitNamespaces(ctx, namespaces, false, 30*time.Second); err != nil {
			log.Printf("clean-up: %v", err)
		}
	}
	d.stop()
	for _, ns := range namespaces {
		if removed, err := removeNamespace(ns); err != nil {
			log.Printf("clean-up: %v", err)
			errs = append(errs, err)
		} else if removed {
			log.Printf("clean-up: removed leftover namespace %s", ns)
		}
	}
	if d.Dir != "" {
		os.RemoveAll(d.Dir)
	}
	return errors.Join(errs...)
}

func (d *Daemon) stop() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(15 * time.Second):
		log.Printf("privlink did not stop within 15s of SIGTERM; killing it")
		d.cmd.Process.Kill()
		<-d.done
	}
}

// WaitNamespaces polls /run/netns until every name exists (present) or
// none does, for at most timeout.
func WaitNamespaces(ctx context.Context, names []string, present bool, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		pending := 0
		for _, n := range names {
			if NamespaceExists(n) != present {
				pending++
			}
		}
		if pending == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			verb := "to appear"
			if !present {
				verb = "to go"
			}
			return fmt.Errorf("%d of %d namespaces still waiting %s after %v", pending, len(names), verb, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// NamespaceExists reports whether /run/netns/name exists.
func NamespaceExists(name string) bool {
	_, err := os.Lstat("/run/netns/" + name)
	return err == nil
}

// removeNamespace kills the processes in the named namespace, unmounts and
// removes it, and removes /etc/netns/name. It reports whether there was
// anything to remove.
func removeNamespace(name string) (bool, error) {
	path := "/run/netns/" + name
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return false, nil
	}
	for _, pid := range pidsInNetns(st.Ino) {
		unix.Kill(pid, unix.SIGKILL)
	}
	unix.Unmount(path, unix.MNT_DETACH)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return true, fmt.Errorf("remove namespace %s: %w", name, err)
	}
	os.RemoveAll("/etc/netns/" + name)
	return true, nil
}

// pidsInNetns returns the pids of the processes whose network namespace
// has inode ino.
func pidsInNetns(ino uint64) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	want := fmt.Sprintf("net:[%d]", ino)
	var pids []int
	for _, de := range ents {
		pid, err := strconv.Atoi(de.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if link, err := os.Readlink("/proc/" + de.Name() + "/ns/net"); err == nil && link == want {
			pids = append(pids, pid)
		}
	}
	return pids
}

// version describes the binary: `go version`, when it was built, and the
// working tree it was presumably built from.
func version(bin string) string {
	v := report.Output("go", "version", bin)
	if fi, err := os.Stat(bin); err == nil {
		v += ", built " + fi.ModTime().UTC().Format("2006-01-02 15:04 MST")
	}
	return v + "; working tree " + report.Tree()
}

// FreePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
