package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/privlink/privlink/internal/testenv"
)

// Region is the region every Env's daemon serves.
const Region = "us-east-1"

// Zones are the availability zones every Env's daemon serves.
var Zones = []string{"us-east-1a", "us-east-1b", "us-east-1c"}

const (
	startTimeout   = 30 * time.Second // build is separate; this is process start to /healthz
	stopTimeout    = 10 * time.Second // SIGTERM to exit before we SIGKILL
	cleanupTimeout = 30 * time.Second // API deletions at the end of a test
	nsGoneTimeout  = 15 * time.Second // namespaces to disappear after their VPCs are deleted
)

// BinaryEnv names an environment variable that points at a prebuilt privlink
// binary; when it is empty the harness builds ./cmd/privlink once per test
// process.
const BinaryEnv = "PRIVLINK_E2E_BINARY"

var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

// Main runs the package's tests and removes the daemon binary built for
// them. Call it from TestMain: os.Exit(e2e.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	return code
}

// Binary returns the path of the privlink binary under test, building it on
// first use.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if p := os.Getenv(BinaryEnv); p != "" {
			buildBin = p
			return
		}
		buildBin, buildErr = build()
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

func build() (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "privlink-e2e-")
	if err != nil {
		return "", err
	}
	buildDir = dir
	bin := filepath.Join(dir, "privlink")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/privlink")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/privlink: %w\n%s", err, out)
	}
	return bin, nil
}

// ModuleRoot returns the directory of the privlink module's go.mod.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("go env GOMOD: not inside the privlink module")
	}
	return filepath.Dir(gomod), nil
}

// Env is one privlink daemon under test, with its data dir and accounts.
type Env struct {
	t       testing.TB
	bin     string
	dir     string
	dataDir string
	addr    string
	logPath string
	http    *http.Client

	proc *proc // nil while stopped

	// prefix is the test's testenv prefix: the daemon's namespaces,
	// plk-<id>, are claimed under it, so that a test process killed
	// before its cleanup leaves nothing for good (the next test's
	// testenv.Prefix removes them).
	prefix string

	mu       sync.Mutex
	vpcIDs   map[string]bool // every VPC id seen created, for the last-resort sweep
	accounts map[string]*Account

	instanceIDs map[string]bool // every instance id seen launched, for the same sweep (under mu)
	enis        map[string]bool // every load balancer node and endpoint ENI seen, for the same sweep (under mu)

	verificationResolver string // --verification-resolver, "" for none
}

// Option changes how New starts the daemon.
type Option func(*Env)

// WithVerificationResolver starts the daemon with --verification-resolver
// addr (host:port): the DNS server that private DNS name verification
// asks for TXT records.
func WithVerificationResolver(addr string) Option {
	return func(e *Env) { e.verificationResolver = addr }
}

// proc is one run of `privlink server`.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once Wait returns
	err  error         // Wait's result, valid after done
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// New starts a privlink daemon for t on a free loopback port with a fresh
// data dir and zones a, b and c, and waits until /healthz answers 200. When t
// ends it deletes, through the API, every VPC endpoint of every account it
// handed out (and waits until they are gone), then every endpoint service,
// then every VPC with what is in it; it stops the daemon (SIGTERM, then
// SIGKILL), removes any plk-<vpc-id> namespace of a VPC it saw created, and
// on failure copies the daemon's log into the test log. Options change how
// the daemon is started (each start).
func New(t *testing.T, opts ...Option) *Env {
	t.Helper()
	testenv.RequirePrivileged(t)
	e := &Env{
		t:        t,
		bin:      Binary(t),
		dir:      t.TempDir(),
		addr:     freeAddr(t),
		http:     &http.Client{Timeout: 30 * time.Second},
		vpcIDs:   map[string]bool{},
		accounts: map[string]*Account{},
		prefix:   testenv.Prefix(t),
	}
	for _, o := range opts {
		o(e)
	}
	e.dataDir = filepath.Join(e.dir, "data")
	e.logPath = filepath.Join(e.dir, "daemon.log")
	t.Cleanup(e.cleanup)
	e.Start(t)
	return e
}

// freeAddr returns a loopback address with a port that was free a moment
// ago. The daemon must bind it itself (the contract takes --listen ADDR),
// and every restart binds it again; so that no other test's socket on
// 127.0.0.1 (packages run at the same time) can take the port in between,
// the address is a random one of 127.0.0.0/8, all of which is local.
func freeAddr(t testing.TB) string {
	t.Helper()
	ip := netip.AddrFrom4([4]byte{127, byte(1 + rand.IntN(254)), byte(rand.IntN(256)), byte(1 + rand.IntN(254))})
	l, err := net.Listen("tcp", netip.AddrPortFrom(ip, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// URL is the daemon's API endpoint, e.g. http://127.83.4.17:41234.
func (e *Env) URL() string { return "http://" + e.addr }

// DataDir is the daemon's --data-dir.
func (e *Env) DataDir() string { return e.dataDir }

// Start starts the daemon on the Env's data dir and address and waits for
// /healthz. It fails t if the process exits first.
func (e *Env) Start(t testing.TB) {
	t.Helper()
	if e.proc != nil {
		t.Fatal("e2e: Start while the daemon is running")
	}
	logf, err := os.OpenFile(e.logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	args := []string{"server", "--listen", e.addr, "--data-dir", e.dataDir, "--region", Region, "--zones", "a,b,c"}
	if e.verificationResolver != "" {
		args = append(args, "--verification-resolver", e.verificationResolver)
	}
	fmt.Fprintf(logf, "=== e2e: %s %s\n", e.bin, strings.Join(args, " "))
	cmd := exec.Command(e.bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// If the test binary dies (a -timeout panic), the daemon dies with it
	// rather than running on with its namespaces.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start privlink server: %v", err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	e.proc = p
	start := time.Now()
	testenv.WaitFor(t, startTimeout, "privlink server /healthz", func() error {
		if p.exited() {
			e.proc = nil
			t.Fatalf("privlink server exited before it was healthy: %v\n%s", p.err, e.logTail(100))
		}
		return e.healthy()
	})
	t.Logf("privlink server pid %d healthy on %s after %v", cmd.Process.Pid, e.addr, time.Since(start).Round(time.Millisecond))
}

func (e *Env) healthy() error {
	resp, err := e.http.Get(e.URL() + "/healthz")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/healthz: %s", resp.Status)
	}
	return nil
}

// Stop sends SIGTERM and waits for the daemon to exit. A daemon that needs
// longer than 10 s, or exits non-zero, fails t (it is then SIGKILLed).
func (e *Env) Stop(t testing.TB) {
	t.Helper()
	if err := e.stop(syscall.SIGTERM); err != nil {
		t.Error(err)
	}
}

// Restart is Stop then Start on the same data dir and port.
func (e *Env) Restart(t testing.TB) {
	t.Helper()
	e.Stop(t)
	e.Start(t)
}

// Kill9 kills the daemon with SIGKILL (no chance to flush anything) and
// starts it again on the same data dir and port.
func (e *Env) Kill9(t testing.TB) {
	t.Helper()
	if err := e.stop(syscall.SIGKILL); err != nil {
		t.Error(err)
	}
	e.Start(t)
}

// Crash kills the daemon with SIGKILL and leaves it stopped, so that a test
// can change the host before Start brings the daemon back.
func (e *Env) Crash(t testing.TB) {
	t.Helper()
	if err := e.stop(syscall.SIGKILL); err != nil {
		t.Error(err)
	}
}

// stop signals the daemon and waits for it. For SIGTERM it reports a slow or
// unclean exit.
func (e *Env) stop(sig syscall.Signal) error {
	p := e.proc
	if p == nil {
		return nil
	}
	e.proc = nil
	if err := p.cmd.Process.Signal(sig); err != nil && !p.exited() {
		return fmt.Errorf("signal %v: %w", sig, err)
	}
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("privlink server did not exit within %v of %v; killed", stopTimeout, sig)
	}
	if sig == syscall.SIGTERM && p.err != nil {
		return fmt.Errorf("privlink server exited uncleanly after SIGTERM: %v\n%s", p.err, e.logTail(40))
	}
	return nil
}

// Metrics returns the body of /metrics.
func (e *Env) Metrics(t testing.TB) string {
	t.Helper()
	resp, err := e.http.Get(e.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %s\n%s", resp.Status, b)
	}
	return string(b)
}

// StoreRevision returns the store revision from /metrics
// (privlink_store_revision), or -1 when the daemon does not export it. A
// request that changes nothing must leave it alone.
func (e *Env) StoreRevision(t testing.TB) int64 {
	t.Helper()
	for _, line := range strings.Split(e.Metrics(t), "\n") {
		name, value, ok := strings.Cut(line, " ")
		if !ok || name != "privlink_store_revision" {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			t.Fatalf("/metrics: privlink_store_revision %q: %v", value, err)
		}
		return int64(f)
	}
	return -1
}

// Log returns everything the daemon has written to stdout and stderr so far,
// across restarts.
func (e *Env) Log() string {
	b, _ := os.ReadFile(e.logPath)
	return string(b)
}

func (e *Env) logTail(n int) string {
	lines := strings.Split(strings.TrimRight(e.Log(), "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("… (%d earlier lines)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// TrackVpc records a VPC id so that the end-of-test sweep may remove its
// namespace. Clients from Account and Client do it for every CreateVpc.
func (e *Env) TrackVpc(id string) { e.track(&e.vpcIDs, id) }

// TrackENI records the network interface of a load balancer node or of an
// endpoint so that the end-of-test cleanup waits for its namespace to go,
// and removes it if the daemon did not. Clients from Account do it for
// every CreateVpcEndpoint, CreateNLB for the nodes.
func (e *Env) TrackENI(id string) { e.track(&e.enis, id) }

// track adds id to one of Env's sets of ids for the end-of-test sweep,
// making the set on first use, and claims its namespace under e.prefix
// for the sweep of a killed test (testenv.ClaimNamespaces).
func (e *Env) track(set *map[string]bool, id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if *set == nil {
		*set = map[string]bool{}
	}
	if (*set)[id] {
		return
	}
	(*set)[id] = true
	// Every tracked id is a namespace of its own.
	if err := testenv.ClaimNamespaces(e.prefix, NamespaceName(id)); err != nil {
		e.t.Logf("claim namespace %s: %v", NamespaceName(id), err)
	}
}

// tracked returns the ids of one of Env's sets, sorted.
func (e *Env) tracked(set *map[string]bool) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	ids := make([]string, 0, len(*set))
	for id := range *set {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// sweepNamespaces is the last resort after the daemon has stopped: it
// removes the namespaces of tracked ids (VPCs, network interfaces) that are
// still there, and their /etc/netns directories.
func sweepNamespaces(t testing.TB, ids []string) {
	for _, id := range ids {
		name := NamespaceName(id)
		defer removeNetnsEtc(t, name)
		if !HasNamespace(name) {
			continue
		}
		if err := removeNamespace(name); err != nil {
			t.Errorf("cleanup: remove leftover namespace %s: %v", name, err)
		} else {
			t.Logf("cleanup: removed leftover namespace %s", name)
		}
	}
}

// cleanup runs when the test ends; t.Context() is already cancelled then.
func (e *Env) cleanup() {
	t := e.t
	if e.proc != nil && !e.proc.exited() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		e.mu.Lock()
		accts := make([]*Account, 0, len(e.accounts))
		for _, a := range e.accounts {
			accts = append(accts, a)
		}
		e.mu.Unlock()
		// Endpoints first, of every account, then endpoint services: a
		// consumer's endpoint keeps its provider's service, and a service
		// its load balancers, in place.
		for _, a := range accts {
			if err := a.deleteEndpoints(ctx); err != nil {
				t.Logf("cleanup: account %s: %v", a.Name, err)
			}
		}
		for _, a := range accts {
			if err := a.deleteEndpointServices(ctx); err != nil {
				t.Logf("cleanup: account %s: %v", a.Name, err)
			}
		}
		var deleted []string
		for _, a := range accts {
			ids, err := a.deleteAll(ctx)
			for _, id := range ids {
				e.TrackVpc(id)
			}
			deleted = append(deleted, ids...)
			if err != nil {
				t.Logf("cleanup: account %s: %v", a.Name, err)
			}
		}
		gone := append(deleted, e.tracked(&e.enis)...)
		if len(gone) > 0 {
			err := pollUntil(ctx, nsGoneTimeout, func() error {
				for _, id := range gone {
					if HasNamespace(NamespaceName(id)) {
						return fmt.Errorf("namespace %s still exists", NamespaceName(id))
					}
				}
				return nil
			})
			if err != nil {
				t.Logf("cleanup: VPCs deleted through the API but %v", err)
			}
		}
		cancel()
	}
	if err := e.stop(syscall.SIGTERM); err != nil {
		t.Errorf("cleanup: %v", err)
	}
	e.sweepInstances(t)
	sweepNamespaces(t, e.tracked(&e.enis))
	sweepNamespaces(t, e.tracked(&e.vpcIDs))
	if t.Failed() {
		t.Logf("privlink server log (%s):\n%s", e.logPath, e.logTail(300))
	}
}

// pollUntil is testenv.WaitFor for places where t is unusable (cleanup, where
// t.Context() is already done): it polls cond until it returns nil, ctx ends
// or timeout passes, and returns the last error.
func pollUntil(ctx context.Context, timeout time.Duration, cond func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("after %v: %w", timeout, err)
		case <-tick.C:
		}
	}
}

// CLI runs `privlink args…` against the Env's data dir and returns its
// stdout; stderr goes into the error.
func (e *Env) CLI(t testing.TB, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("privlink %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.Bytes()
}
