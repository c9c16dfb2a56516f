package daemon_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/admin"
	"github.com/privlink/privlink/internal/config"
	"github.com/privlink/privlink/internal/daemon"
	"github.com/privlink/privlink/internal/dataplane"
	"github.com/privlink/privlink/internal/supervisor"
	"github.com/privlink/privlink/internal/testenv"
	"github.com/privlink/privlink/internal/vpcdns"
)

// syncBuffer is a log sink that is safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// nopSupervisor and nopResolver stand in for the UserData supervisor and
// the VPC DNS server, which need root and real namespaces.
type nopSupervisor struct{}

func (nopSupervisor) Set(context.Context, []supervisor.Workload) error   { return nil }
func (nopSupervisor) Forget(context.Context, string) error               { return nil }
func (nopSupervisor) ConsoleLog(context.Context, string) ([]byte, error) { return nil, nil }

type nopResolver struct{}

func (nopResolver) Set(context.Context, vpcdns.Config) error { return nil }

// fakes are the options that run a daemon without root: dp as its data
// plane, and no-op supervisor and resolver.
func fakes(dp daemon.DataPlane) []daemon.Option {
	return []daemon.Option{daemon.WithDataPlane(dp), daemon.WithSupervisor(nopSupervisor{}), daemon.WithResolver(nopResolver{})}
}

// running is a daemon started by start.
type running struct {
	daemon.Ready
	logs *syncBuffer
	stop func() error // cancels Run and returns its error
}

// start runs a daemon on 127.0.0.1:0 over dataDir with the fake data plane.
func start(t *testing.T, dataDir string, dp *dataplane.Fake) *running {
	t.Helper()
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = dataDir
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan daemon.Ready, 1)
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, cfg, logger, append(fakes(dp), daemon.WithReady(func(r daemon.Ready) { ready <- r }))...)
	}()
	r := &running{logs: logs}
	select {
	case r.Ready = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("Run() = %v before it was ready; logs:\n%s", err, logs)
	}
	var once sync.Once
	var runErr error
	r.stop = func() error {
		once.Do(func() {
			cancel()
			runErr = <-done
		})
		return runErr
	}
	t.Cleanup(func() { r.stop() })
	return r
}

func (r *running) url(path string) string { return "http://" + r.APIAddr + path }

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// dataDir returns a path that does not exist yet, short enough for a unix
// socket path inside it.
func dataDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "plkd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "data")
}

func TestRun(t *testing.T) {
	dir := dataDir(t)
	dp := dataplane.NewFake()
	d := start(t, dir, dp)

	waitHealthy(t, d)
	if code, body := get(t, d.url("/healthz")); code != http.StatusOK || body != "ok\n" {
		t.Errorf("GET /healthz = %d %q, want 200 \"ok\\n\"", code, body)
	}

	// Files and modes.
	for _, tt := range []struct {
		path string
		mode fs.FileMode
	}{
		{dir, fs.ModeDir | 0o700},
		{filepath.Join(dir, "privlink.db"), 0o600},
		{filepath.Join(dir, "admin.sock"), fs.ModeSocket | 0o600},
	} {
		fi, err := os.Lstat(tt.path)
		if err != nil {
			t.Error(err)
			continue
		}
		if fi.Mode() != tt.mode {
			t.Errorf("%s: mode %v, want %v", tt.path, fi.Mode(), tt.mode)
		}
	}
	if d.AdminSocket != filepath.Join(dir, "admin.sock") {
		t.Errorf("Ready.AdminSocket = %q", d.AdminSocket)
	}
	if !strings.Contains(d.logs.String(), `"msg":"created bootstrap account","account":"000000000000","access_key":"test","secret_key":"test"`) {
		t.Errorf("no bootstrap record in the logs:\n%s", d.logs)
	}

	// The admin socket: create and list accounts.
	c := admin.NewClient(d.AdminSocket)
	acct, err := c.CreateAccount(t.Context(), "alice")
	if err != nil {
		t.Fatalf("CreateAccount() error = %v", err)
	}
	if len(acct.AccountID) != 12 || !strings.HasPrefix(acct.AccessKeyID, "AKIA") || len(acct.SecretAccessKey) != 40 || acct.Name != "alice" {
		t.Errorf("CreateAccount() = %+v", acct)
	}
	list, err := c.ListAccounts(t.Context())
	if err != nil {
		t.Fatalf("ListAccounts() error = %v", err)
	}
	var ids []string
	for _, a := range list {
		ids = append(ids, a.AccountID+" "+a.Name+" "+strings.Join(a.AccessKeyIDs, ","))
	}
	want := []string{"000000000000 default test", acct.AccountID + " alice " + acct.AccessKeyID}
	if acct.AccountID < "000000000000" {
		want[0], want[1] = want[1], want[0]
	}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("ListAccounts() mismatch (-want +got):\n%s", diff)
	}

	st, err := c.Status(t.Context())
	if err != nil {
		t.Fatalf("Status() error = %v", err)
	}
	wantSt := admin.Status{Region: "us-east-1", Zones: []string{"us-east-1a", "us-east-1b", "us-east-1c"}, Listen: d.APIAddr,
		StoreRevision: st.StoreRevision, Accounts: 2, Namespaces: []string{}, Reconciled: true}
	if diff := cmp.Diff(wantSt, st); diff != "" {
		t.Errorf("Status() mismatch (-want +got):\n%s", diff)
	}
	if st.StoreRevision < 2 {
		t.Errorf("Status().StoreRevision = %d, want at least 2 (bootstrap, alice)", st.StoreRevision)
	}

	// The AWS API: a signed call reaches each service's handlers, routed
	// by the credential scope; an action privlink lacks says so in the
	// service's own error envelope.
	code, body := signedCall(t, d.APIAddr, "ec2", "Action=DescribeRegions&Version=2016-11-15")
	if code >= 500 {
		t.Errorf("EC2 DescribeRegions: %d %s", code, body)
	}
	code, body = signedCall(t, d.APIAddr, "elasticloadbalancing", "Action=DescribeLoadBalancers&Version=2015-12-01")
	if code != 200 || !strings.Contains(body, "<DescribeLoadBalancersResult>") {
		t.Errorf("ELBv2 DescribeLoadBalancers: %d %s, want 200 and a result", code, body)
	}
	code, body = signedCall(t, d.APIAddr, "elasticloadbalancing", "Action=DescribeTrustStores&Version=2015-12-01")
	if code != 400 || !strings.Contains(body, "<ErrorResponse") || !strings.Contains(body, "<Code>") {
		t.Errorf("ELBv2 call privlink lacks: %d %s, want 400 in the query envelope", code, body)
	}
	code, body = get(t, d.url("/?Action=DescribeVpcs&Version=2016-11-15"))
	if code < 400 || code >= 500 || !strings.Contains(body, "<Code>") {
		t.Errorf("unsigned call: %d %s, want a 4xx AWS error", code, body)
	}

	// Metrics.
	code, body = get(t, d.url("/metrics"))
	if code != http.StatusOK {
		t.Fatalf("GET /metrics = %d", code)
	}
	for _, want := range []string{
		"# TYPE privlink_store_revision gauge\nprivlink_store_revision ",
		"# TYPE privlink_reconcile_passes_total counter\nprivlink_reconcile_passes_total ",
		"privlink_managed_namespaces 0\n",
		`privlink_http_requests_total{code="200"} `,
		`privlink_api_requests_total{service="ec2",action="DescribeRegions",code="`,
		`privlink_api_request_duration_seconds_count{service="ec2",action="DescribeRegions"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("GET /metrics lacks %q:\n%s", want, body)
		}
	}

	// Clean exit: the socket is gone, the store closed.
	if err := d.stop(); err != nil {
		t.Fatalf("Run() after cancel = %v, want nil", err)
	}
	if _, err := os.Lstat(d.AdminSocket); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("admin socket after shutdown: Lstat error = %v, want not exist", err)
	}
	_, err = admin.NewClient(d.AdminSocket).Status(t.Context())
	if want := "cannot reach privlink daemon at " + d.AdminSocket + ": is `privlink server` running?"; err == nil || err.Error() != want {
		t.Errorf("Status() after shutdown: error = %v, want %q", err, want)
	}

	// A restart keeps the accounts and does not bootstrap again.
	d2 := start(t, dir, dp)
	list2, err := admin.NewClient(d2.AdminSocket).ListAccounts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(list, list2); diff != "" {
		t.Errorf("accounts after restart mismatch (-want +got):\n%s", diff)
	}
	if strings.Contains(d2.logs.String(), "created bootstrap account") {
		t.Error("bootstrap account created again on restart")
	}
}

// TestVpcLifecycle drives the daemon through the EC2 API with the fake data
// plane: a VPC becomes a router namespace and turns available, a restart
// adopts the namespace without touching it, and deleting the VPC removes it.
func TestVpcLifecycle(t *testing.T) {
	dir := dataDir(t)
	dp := dataplane.NewFake()
	d := start(t, dir, dp)
	waitHealthy(t, d)

	vpcID := call(t, d, "Action=CreateVpc&Version=2016-11-15&CidrBlock=10.0.0.0%2F16", `<vpcId>(vpc-[0-9a-f]+)</vpcId>`)
	subnetID := call(t, d, "Action=CreateSubnet&Version=2016-11-15&VpcId="+vpcID+"&CidrBlock=10.0.1.0%2F24&AvailabilityZone=us-east-1a", `<subnetId>(subnet-[0-9a-f]+)</subnetId>`)
	ns := "plk-" + vpcID
	testenv.WaitFor(t, 5*time.Second, "the VPC and subnet to be available", func() error {
		_, body := signedCall(t, d.APIAddr, "ec2", "Action=DescribeSubnets&Version=2016-11-15&SubnetId.1="+subnetID)
		if !strings.Contains(body, "<state>available</state>") {
			return fmt.Errorf("DescribeSubnets: %s", body)
		}
		_, body = signedCall(t, d.APIAddr, "ec2", "Action=DescribeVpcs&Version=2016-11-15&VpcId.1="+vpcID)
		if !strings.Contains(body, "<state>available</state>") {
			return fmt.Errorf("DescribeVpcs: %s", body)
		}
		return nil
	})
	got, _ := dp.Namespaces(t.Context(), "")
	if diff := cmp.Diff([]string{ns}, got); diff != "" {
		t.Errorf("namespaces mismatch (-want +got):\n%s", diff)
	}
	// The router with one bridge at 10.0.1.1/24, the resolver address
	// (base+2) and the subnet's default network ACL.
	ops := dp.Ops()
	bridgeAddr := slices.ContainsFunc(ops, func(op string) bool {
		return strings.HasPrefix(op, "add addr 10.0.1.1/24 on ") && strings.HasSuffix(op, " in "+ns)
	})
	if len(ops) == 0 || ops[0] != "add netns "+ns || !bridgeAddr ||
		!slices.Contains(ops, "add addr 10.0.0.2/32 on lo in "+ns) || !slices.Contains(ops, "apply acl in "+ns) {
		t.Errorf("ops = %q, want the namespace with one bridge at 10.0.1.1/24, the resolver address and an ACL", ops)
	}

	// The kernel state survives a restart, and the new daemon adopts it.
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	if got, _ := dp.Namespaces(t.Context(), ""); !slices.Equal(got, []string{ns}) {
		t.Errorf("namespaces after stop = %q, want %q", got, ns)
	}
	dp.Reset()
	d = start(t, dir, dp)
	waitHealthy(t, d)
	if ops := dp.Ops(); len(ops) != 0 {
		t.Errorf("restart changed the kernel: %q", ops)
	}

	call(t, d, "Action=DeleteSubnet&Version=2016-11-15&SubnetId="+subnetID, `<return>(true)</return>`)
	call(t, d, "Action=DeleteVpc&Version=2016-11-15&VpcId="+vpcID, `<return>(true)</return>`)
	testenv.WaitFor(t, 5*time.Second, "the namespace to go", func() error {
		if got, _ := dp.Namespaces(t.Context(), ""); len(got) > 0 {
			return fmt.Errorf("namespaces %q", got)
		}
		return nil
	})
}

func waitHealthy(t *testing.T, d *running) {
	t.Helper()
	testenv.WaitFor(t, 5*time.Second, "/healthz to answer 200", func() error {
		if code, body := get(t, d.url("/healthz")); code != http.StatusOK {
			return fmt.Errorf("GET /healthz = %d %q", code, body)
		}
		return nil
	})
}

// call makes a signed EC2 call that must succeed and returns the first
// submatch of re in the response.
func call(t *testing.T, d *running, form, re string) string {
	t.Helper()
	code, body := signedCall(t, d.APIAddr, "ec2", form)
	m := regexp.MustCompile(re).FindStringSubmatch(body)
	if code != http.StatusOK || m == nil {
		t.Fatalf("%s: %d %s", form, code, body)
	}
	return m[1]
}

// gatedDataPlane holds every Set until open is closed.
type gatedDataPlane struct {
	*dataplane.Fake
	open chan struct{}
}

func (g gatedDataPlane) Set(ctx context.Context, cfg dataplane.Config) error {
	select {
	case <-g.open:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.Fake.Set(ctx, cfg)
}

func TestHealthzWaitsForController(t *testing.T) {
	dp := gatedDataPlane{Fake: dataplane.NewFake(), open: make(chan struct{})}
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = dataDir(t)
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan daemon.Ready, 1)
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, cfg, slog.New(slog.DiscardHandler), append(fakes(dp), daemon.WithReady(func(r daemon.Ready) { ready <- r }))...)
	}()
	r := <-ready
	code, body := get(t, "http://"+r.APIAddr+"/healthz")
	if code != http.StatusServiceUnavailable || body != "controller: no reconcile pass has completed yet\n" {
		t.Errorf("GET /healthz before the first pass = %d %q, want 503", code, body)
	}
	close(dp.open)
	testenv.WaitFor(t, 5*time.Second, "/healthz to answer 200", func() error {
		if code, body := get(t, "http://"+r.APIAddr+"/healthz"); code != http.StatusOK {
			return fmt.Errorf("GET /healthz = %d %q", code, body)
		}
		return nil
	})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run() = %v", err)
	}
}

func TestRefusesSecondDaemon(t *testing.T) {
	dir := dataDir(t)
	start(t, dir, dataplane.NewFake())
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = dir
	err := daemon.Run(t.Context(), cfg, slog.New(slog.DiscardHandler), fakes(dataplane.NewFake())...)
	if !errors.Is(err, admin.ErrDaemonRunning) {
		t.Errorf("second Run() = %v, want ErrDaemonRunning", err)
	}
}

func TestStaleSocket(t *testing.T) {
	dir := dataDir(t)
	d := start(t, dir, dataplane.NewFake())
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = dir

	// A regular file at the socket path is not ours to remove.
	sock := filepath.Join(dir, "admin.sock")
	if err := os.WriteFile(sock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err := daemon.Run(t.Context(), cfg, slog.New(slog.DiscardHandler), fakes(dataplane.NewFake())...)
	if err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("Run() with a file at the socket path = %v, want 'not a socket'", err)
	}
	if err := os.Remove(sock); err != nil {
		t.Fatal(err)
	}

	// What a killed daemon leaves behind, a socket nobody listens on, is
	// replaced.
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	d = start(t, dir, dataplane.NewFake())
	if _, err := admin.NewClient(d.AdminSocket).Status(t.Context()); err != nil {
		t.Errorf("Status() after replacing a stale socket: %v", err)
	}
}

func TestInvalidConfig(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = "relative"
	err := daemon.Run(t.Context(), cfg, slog.New(slog.DiscardHandler), fakes(dataplane.NewFake())...)
	if err == nil || !strings.Contains(err.Error(), "config: data dir") {
		t.Errorf("Run() = %v, want a config error", err)
	}
}

// signedCall POSTs a form body to the API signed with the bootstrap keys
// for service, using the SDK's signer as a test oracle.
func signedCall(t *testing.T, addr, service, form string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+addr+"/", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(form))
	creds := aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}
	if err := v4.NewSigner().SignHTTP(t.Context(), creds, req, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// ownerOf returns the owner id that a daemon logged when it started.
func ownerOf(t *testing.T, d *running) string {
	t.Helper()
	m := regexp.MustCompile(`"msg":"privlink daemon running",.*"owner":"([0-9a-f]{16})"`).FindStringSubmatch(d.logs.String())
	if m == nil {
		t.Fatalf("no owner id in the start-up log:\n%s", d.logs)
	}
	return m[1]
}

// createVpc creates a VPC through the API and waits until it is available.
func createVpc(t *testing.T, d *running) string {
	t.Helper()
	vpcID := call(t, d, "Action=CreateVpc&Version=2016-11-15&CidrBlock=10.0.0.0%2F16", `<vpcId>(vpc-[0-9a-f]+)</vpcId>`)
	testenv.WaitFor(t, 5*time.Second, "the VPC to be available", func() error {
		_, body := signedCall(t, d.APIAddr, "ec2", "Action=DescribeVpcs&Version=2016-11-15&VpcId.1="+vpcID)
		if !strings.Contains(body, "<state>available</state>") {
			return fmt.Errorf("DescribeVpcs: %s", body)
		}
		return nil
	})
	return vpcID
}

// TestOwnerID checks that a daemon keeps its owner id in its data dir
// across restarts, stamps it on its namespaces, and that two daemons on one
// host (sharing one kernel, here one Fake) with different data dirs have
// different ids and never touch each other's namespaces.
func TestOwnerID(t *testing.T) {
	dp := dataplane.NewFake()
	dirA := dataDir(t)
	a := start(t, dirA, dp)
	waitHealthy(t, a)
	ownerA := ownerOf(t, a)
	if !strings.Contains(a.logs.String(), `"msg":"created owner id","owner":"`+ownerA+`"`) {
		t.Errorf("first start did not log the new owner id:\n%s", a.logs)
	}
	nsA := "plk-" + createVpc(t, a)
	if got, ok := dp.Owner(nsA); !ok || got != ownerA {
		t.Errorf("Owner(%s) = %q, %v; want %q, true", nsA, got, ok, ownerA)
	}

	// A restart with the same data dir has the same id and adopts the
	// namespace as it is.
	if err := a.stop(); err != nil {
		t.Fatal(err)
	}
	dp.Reset()
	a = start(t, dirA, dp)
	waitHealthy(t, a)
	if got := ownerOf(t, a); got != ownerA {
		t.Errorf("owner id after restart = %q, want %q", got, ownerA)
	}
	if strings.Contains(a.logs.String(), "created owner id") {
		t.Error("owner id created again on restart")
	}
	if ops := dp.Ops(); len(ops) != 0 {
		t.Errorf("restart changed the kernel: %q", ops)
	}

	// A second daemon with its own data dir on the same host: another
	// id; it creates its VPC and leaves the first daemon's alone.
	b := start(t, dataDir(t), dp)
	waitHealthy(t, b)
	ownerB := ownerOf(t, b)
	if ownerB == ownerA {
		t.Fatalf("two data dirs have the same owner id %q", ownerA)
	}
	nsB := "plk-" + createVpc(t, b)
	if got, ok := dp.Owner(nsB); !ok || got != ownerB {
		t.Errorf("Owner(%s) = %q, %v; want %q, true", nsB, got, ok, ownerB)
	}
	// B's passes ran while A's namespace existed; A's pass for the
	// delete runs while B's exists.
	call(t, a, "Action=DeleteVpc&Version=2016-11-15&VpcId="+strings.TrimPrefix(nsA, "plk-"), `<return>(true)</return>`)
	testenv.WaitFor(t, 5*time.Second, "the first daemon's namespace to go", func() error {
		if _, ok := dp.Owner(nsA); ok {
			return fmt.Errorf("%s still exists", nsA)
		}
		return nil
	})
	for _, op := range dp.Ops() {
		if strings.HasPrefix(op, "del netns ") && op != "del netns "+nsA {
			t.Errorf("a daemon deleted a namespace that is not its own: %q", op)
		}
	}
	if got, _ := dp.Namespaces(t.Context(), ""); !slices.Equal(got, []string{nsB}) {
		t.Errorf("namespaces = %q, want only %q", got, nsB)
	}
}
