// Command vpcapi measures the latency of the VPC API of privlink against moto
// (the usual local EC2 mock), with one aws-sdk-go-v2 EC2 client.
//
// For each run and each target in turn it makes n sequential CreateVpc calls
// (10.x.0.0/16, x cycling over 0..255), then n sequential DescribeVpcs calls
// that each describe one VPC by id (VpcId.1, no filters), then n DeleteVpc
// calls; it times every call at the client, from just before the SDK call to
// just after it returns, and reports p50 and p99 per phase and target, the
// median of each over the runs, and the privlink/moto ratio. On privlink it
// waits between phases for the data plane to catch up (every plk-<vpc-id>
// namespace created, or gone), so that the DescribeVpcs phase measures the
// API alone and runs do not overlap; CreateVpc and DeleteVpc run alongside
// the controller, as they do in real use.
//
// It needs root (privlink makes a network namespace per VPC) and moto
// (`moto_server` or `python3 -m moto.server`). It writes its section of
// RESULTS.md (between vpcapi markers; the rest of the file is kept).
//
//	go build -o /tmp/privlink ./cmd/privlink
//	go run ./bench/vpcapi -privlink /tmp/privlink -n 1000 -runs 3 -out bench/RESULTS.md
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"golang.org/x/sys/unix"

	"github.com/privlink/privlink/bench/internal/benchd"
	"github.com/privlink/privlink/bench/internal/cmdline"
	"github.com/privlink/privlink/bench/internal/report"
)

type options struct {
	n        int
	runs     int
	privlink string
	moto     string
	out      string
	cpuprof  string
	settle   time.Duration
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 1000, "calls per phase (CreateVpc, DescribeVpcs, DeleteVpc)")
	flag.IntVar(&o.runs, "runs", 3, "runs; the report gives the median over runs")
	cmdline.PrivlinkFlag(&o.privlink)
	flag.StringVar(&o.moto, "moto", "", "command that starts moto, with the port appended as `-p PORT` (default: moto_server if on PATH, else python3 -m moto.server)")
	cmdline.OutFlag(&o.out, "vpcapi")
	flag.StringVar(&o.cpuprof, "cpuprofile", "", "if set, fetch a CPU profile of the daemon (/debug/pprof/profile) during the first CreateVpc phase and write it here")
	flag.DurationVar(&o.settle, "settle", 5*time.Minute, "how long to wait for privlink's namespaces to appear or go between phases")
	flag.Parse()
	cmdline.Main(func(ctx context.Context) error { return run(ctx, o, os.Args) })
}

func run(ctx context.Context, o options, argv []string) error {
	if o.n < 1 || o.runs < 1 {
		return errors.New("-n and -runs must be at least 1")
	}
	if os.Geteuid() != 0 {
		return errors.New("vpcapi needs root: privlink creates a network namespace per VPC")
	}
	tmp, err := os.MkdirTemp("", "privlink-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if o.privlink, err = benchd.Binary(ctx, o.privlink, tmp); err != nil {
		return err
	}

	pl, err := startPrivlink(ctx, o.privlink, tmp, o.settle)
	if err != nil {
		return err
	}
	defer pl.stop()
	mo, err := startMoto(ctx, o.moto, tmp)
	if err != nil {
		return err
	}
	defer mo.stop()

	loadBefore := report.LoadAvg()
	targets := []*target{pl.target, mo.target}
	results := map[string]map[string][]stats{} // target → phase → one per run
	for r := 1; r <= o.runs; r++ {
		for _, tg := range targets {
			log.Printf("run %d/%d: %s", r, o.runs, tg.name)
			res, err := benchOnce(ctx, tg, o, r == 1)
			if err != nil {
				return fmt.Errorf("run %d, %s: %w", r, tg.name, err)
			}
			if results[tg.name] == nil {
				results[tg.name] = map[string][]stats{}
			}
			for _, ph := range phases {
				s := res[ph]
				results[tg.name][ph] = append(results[tg.name][ph], s)
				log.Printf("  %-12s p50 %8s  p99 %8s", ph, fmtDur(s.p50), fmtDur(s.p99))
			}
		}
	}
	section := render(o, argv, results, pl.version, mo.version, loadBefore, report.LoadAvg())
	return report.Publish(o.out, beginMarker, endMarker, section)
}

var phases = []string{"CreateVpc", "DescribeVpcs", "DeleteVpc"}

// target is one EC2 API server.
type target struct {
	name   string
	client *ec2.Client
	// afterCreate and afterDelete wait for the server's background work;
	// nil for none.
	afterCreate, afterDelete func(ctx context.Context, ids []string) error
	// track records a VPC id for the final namespace sweep; nil for none.
	track    func(id string)
	pprofURL string // "" if the server has no pprof
}

type stats struct {
	p50, p99 time.Duration
}

// benchOnce runs the three phases against tg and deletes what it created.
func benchOnce(ctx context.Context, tg *target, o options, first bool) (map[string]stats, error) {
	ids := make([]string, 0, o.n)
	// A few untimed calls of each kind, so that connection set-up and lazy
	// initialisation (moto loads its EC2 backend on first use) are not in
	// the numbers.
	var warm []string
	for i := range 3 {
		out, err := tg.client.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(fmt.Sprintf("10.%d.0.0/16", i))})
		if err != nil {
			return nil, fmt.Errorf("warm-up CreateVpc: %w", err)
		}
		if tg.track != nil {
			tg.track(aws.ToString(out.Vpc.VpcId))
		}
		if _, err := tg.client.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{aws.ToString(out.Vpc.VpcId)}}); err != nil {
			return nil, fmt.Errorf("warm-up DescribeVpcs: %w", err)
		}
		if _, err := tg.client.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: out.Vpc.VpcId}); err != nil {
			return nil, fmt.Errorf("warm-up DeleteVpc: %w", err)
		}
		warm = append(warm, aws.ToString(out.Vpc.VpcId))
	}
	if tg.afterDelete != nil {
		if err := tg.afterDelete(ctx, warm); err != nil {
			return nil, err
		}
	}
	var prof chan error
	if first && o.cpuprof != "" && tg.pprofURL != "" {
		prof = make(chan error, 1)
		go func() { prof <- fetchProfile(ctx, tg.pprofURL, o.cpuprof) }()
	}
	res := map[string]stats{}
	lat := make([]time.Duration, 0, o.n)
	for i := range o.n {
		cidr := fmt.Sprintf("10.%d.0.0/16", i%256)
		start := time.Now()
		out, err := tg.client.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(cidr)})
		lat = append(lat, time.Since(start))
		if err != nil {
			deleteAll(ctx, tg, ids)
			return nil, fmt.Errorf("CreateVpc %d (%s): %w", i, cidr, err)
		}
		ids = append(ids, aws.ToString(out.Vpc.VpcId))
		if tg.track != nil {
			tg.track(ids[len(ids)-1])
		}
	}
	res["CreateVpc"] = percentiles(lat)
	if prof != nil {
		if err := <-prof; err != nil {
			log.Printf("  cpu profile: %v", err)
		} else {
			log.Printf("  cpu profile of the daemon during CreateVpc written to %s", o.cpuprof)
		}
	}
	if tg.afterCreate != nil {
		start := time.Now()
		if err := tg.afterCreate(ctx, ids); err != nil {
			deleteAll(ctx, tg, ids)
			return nil, err
		}
		log.Printf("  data plane caught up %v after the last CreateVpc", time.Since(start).Round(time.Millisecond))
	}

	lat = lat[:0]
	for _, id := range ids {
		start := time.Now()
		out, err := tg.client.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{id}})
		lat = append(lat, time.Since(start))
		if err != nil {
			deleteAll(ctx, tg, ids)
			return nil, fmt.Errorf("DescribeVpcs %s: %w", id, err)
		}
		if len(out.Vpcs) != 1 {
			deleteAll(ctx, tg, ids)
			return nil, fmt.Errorf("DescribeVpcs %s: %d VPCs", id, len(out.Vpcs))
		}
	}
	res["DescribeVpcs"] = percentiles(lat)

	lat = lat[:0]
	for i, id := range ids {
		start := time.Now()
		_, err := tg.client.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(id)})
		lat = append(lat, time.Since(start))
		if err != nil {
			deleteAll(ctx, tg, ids[i:])
			return nil, fmt.Errorf("DeleteVpc %s: %w", id, err)
		}
	}
	res["DeleteVpc"] = percentiles(lat)
	if tg.afterDelete != nil {
		start := time.Now()
		if err := tg.afterDelete(ctx, ids); err != nil {
			return nil, err
		}
		log.Printf("  data plane caught up %v after the last DeleteVpc", time.Since(start).Round(time.Millisecond))
	}
	return res, nil
}

// deleteAll is the best-effort clean-up after a failed phase.
func deleteAll(ctx context.Context, tg *target, ids []string) {
	ctx = context.WithoutCancel(ctx)
	for _, id := range ids {
		if _, err := tg.client.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(id)}); err != nil {
			log.Printf("clean-up: DeleteVpc %s: %v", id, err)
		}
	}
}

// percentiles returns the nearest-rank p50 and p99 of lat.
func percentiles(lat []time.Duration) stats {
	return stats{p50: report.Percentile(lat, 0.50), p99: report.Percentile(lat, 0.99)}
}

func newClient(url, key, secret string) *ec2.Client {
	return ec2.New(ec2.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider(key, secret, ""),
		Retryer:      aws.NopRetryer{},
	})
}

// server is a child process serving one target.
type server struct {
	*target
	cmd     *exec.Cmd
	done    chan struct{}
	logPath string
	version string
	cleanup func()
}

func (s *server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		log.Printf("%s did not stop within 15s of SIGTERM; killing it", s.name)
		s.cmd.Process.Kill()
		<-s.done
	}
	if s.cleanup != nil {
		s.cleanup()
	}
}

func (s *server) logTail() string { return benchd.TailLines(s.logPath, 30) }

func startProcess(name, logPath string, argv []string) (*server, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	s := &server{target: &target{name: name}, cmd: cmd, done: make(chan struct{}), logPath: logPath}
	go func() { cmd.Wait(); close(s.done) }()
	return s, nil
}

// waitHTTP polls url until it answers 200, the process exits or 60 s pass.
func (s *server) waitHTTP(ctx context.Context, url string) error {
	return benchd.WaitHTTP(ctx, s.name, url, s.done, s.logTail)
}

func startPrivlink(ctx context.Context, bin, tmp string, settle time.Duration) (*server, error) {
	port, err := benchd.FreePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	dataDir := filepath.Join(tmp, "privlink-data")
	s, err := startProcess("privlink", filepath.Join(tmp, "privlink.log"), []string{
		bin, "server", "--listen", addr, "--data-dir", dataDir, "--region", "us-east-1", "--zones", "a,b,c",
	})
	if err != nil {
		return nil, err
	}
	url := "http://" + addr
	if err := s.waitHTTP(ctx, url+"/healthz"); err != nil {
		s.stop()
		return nil, err
	}
	s.client = newClient(url, "test", "test")
	created := map[string]bool{}
	s.track = func(id string) { created[id] = true }
	s.afterCreate = func(ctx context.Context, ids []string) error {
		return waitNamespaces(ctx, ids, true, settle)
	}
	s.afterDelete = func(ctx context.Context, ids []string) error {
		return waitNamespaces(ctx, ids, false, settle)
	}
	if resp, err := http.Get(url + "/debug/pprof/"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			s.pprofURL = url + "/debug/pprof/profile"
		}
	}
	// After the daemon stops: remove any namespace of a VPC this bench
	// created that is still there (never any other plk- namespace).
	s.cleanup = func() {
		for id := range created {
			path := "/run/netns/plk-" + id
			if _, err := os.Stat(path); err != nil {
				continue
			}
			unix.Unmount(path, unix.MNT_DETACH)
			os.Remove(path)
			log.Printf("removed leftover namespace plk-%s", id)
		}
	}
	s.version = report.Output("go", "version", bin)
	return s, nil
}

// waitNamespaces waits until every plk-<id> exists (present) or none does.
func waitNamespaces(ctx context.Context, ids []string, present bool, timeout time.Duration) error {
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = "plk-" + id
	}
	return benchd.WaitNamespaces(ctx, names, present, timeout)
}

func startMoto(ctx context.Context, motoCmd, tmp string) (*server, error) {
	var argv []string
	switch {
	case motoCmd != "":
		argv = strings.Fields(motoCmd)
	default:
		if p, err := exec.LookPath("moto_server"); err == nil {
			argv = []string{p}
		} else {
			argv = []string{"python3", "-m", "moto.server"}
		}
	}
	port, err := benchd.FreePort()
	if err != nil {
		return nil, err
	}
	argv = append(argv, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	s, err := startProcess("moto", filepath.Join(tmp, "moto.log"), argv)
	if err != nil {
		return nil, err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := s.waitHTTP(ctx, url+"/moto-api/"); err != nil {
		s.stop()
		return nil, err
	}
	s.client = newClient(url, "test", "test")
	s.version = "moto " + report.Output("python3", "-c", "import moto; print(moto.__version__)") + " (`" + strings.Join(argv[:len(argv)-4], " ") + "`)"
	return s, nil
}

// fetchProfile saves a 10 s CPU profile from a pprof endpoint.
func fetchProfile(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"?seconds=10", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

var beginMarker, endMarker = report.Markers("vpcapi")

func render(o options, argv []string, results map[string]map[string][]stats, plVersion, motoVersion, loadBefore, loadAfter string) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("%s\n## vpcapi: CreateVpc / DescribeVpcs / DeleteVpc latency, privlink vs moto\n\n", beginMarker)
	w("- Date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	w("- Machine: %s; load average (1/5/15 min) %s at the start, %s at the end\n", report.Machine(), loadBefore, loadAfter)
	w("- Bench: %s, aws-sdk-go-v2 service/ec2, one client, retries off, HTTP keep-alive, loopback\n", runtime.Version())
	w("- privlink: %s (bbolt store, fsync on every commit)\n", plVersion)
	w("- moto: %s\n", motoVersion)
	w("- Command: `%s`\n", report.Command(argv, "./bench/vpcapi"))
	w("- n = %d calls per phase, %d runs; the table gives the median over runs of each run's p50/p99 (nearest rank), with every run's value in brackets\n", o.n, o.runs)
	w("- Phases, in order, all sequential: n × CreateVpc (10.x.0.0/16, x = i mod 256); n × DescribeVpcs, each for one VPC by id (`VpcId.1`, no filter); n × DeleteVpc. Latency is measured at the client around each SDK call. On privlink the bench waits after CreateVpc until every plk-<vpc-id> namespace exists and after DeleteVpc until all are gone, so DescribeVpcs runs on an idle data plane and runs do not overlap; CreateVpc and DeleteVpc run alongside the controller building or removing namespaces, as in real use.\n\n")
	w("| target | phase | p50 | p99 |\n|---|---|---|---|\n")
	for _, tg := range []string{"privlink", "moto"} {
		for _, ph := range phases {
			ss := results[tg][ph]
			w("| %s | %s | %s [%s] | %s [%s] |\n", tg, ph, fmtDur(medianOf(ss, p50)), fmtAll(ss, p50), fmtDur(medianOf(ss, p99)), fmtAll(ss, p99))
		}
	}
	w("\n| phase | p50 privlink/moto | p99 privlink/moto |\n|---|---|---|\n")
	for _, ph := range phases {
		pl, mo := results["privlink"][ph], results["moto"][ph]
		w("| %s | %.2f | %.2f |\n", ph, ratio(medianOf(pl, p50), medianOf(mo, p50)), ratio(medianOf(pl, p99), medianOf(mo, p99)))
	}
	const target = 2 * time.Millisecond
	w("\nTarget (issue): p50 ≤ 2 ms for CreateVpc and DescribeVpcs on privlink.")
	for _, ph := range phases[:2] {
		got := medianOf(results["privlink"][ph], p50)
		verdict := "met"
		if got > target {
			verdict = "MISSED"
		}
		w(" %s: %s (%s).", ph, verdict, fmtDur(got))
	}
	w("\n%s\n", endMarker)
	return b.String()
}

func p50(s stats) time.Duration { return s.p50 }
func p99(s stats) time.Duration { return s.p99 }

func medianOf(ss []stats, f func(stats) time.Duration) time.Duration {
	ds := make([]time.Duration, len(ss))
	for i, s := range ss {
		ds[i] = f(s)
	}
	return report.MedianDuration(ds)
}

func fmtAll(ss []stats, f func(stats) time.Duration) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = fmtDur(f(s))
	}
	return strings.Join(parts, ", ")
}

func fmtDur(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
