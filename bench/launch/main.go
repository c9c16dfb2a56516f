// Command launch measures how long privlink takes from RunInstances to an
// instance that answers a TCP connect.
//
// It starts a privlink daemon (temporary data dir, free 127.0.0.1 port),
// creates a VPC 10.0.0.0/16, a subnet 10.0.1.0/24 and a security group that
// allows TCP 8080 from the VPC, and a long-lived prober instance at
// 10.0.1.250. It builds ./bench/launch/listener, a tiny static Go listener,
// so that what is measured is the platform and not an interpreter's start-up.
// Then, -warmup untimed times and -n timed times, one instance at a time:
//
//  1. t0; RunInstances with UserData "#!/bin/sh\nexec <listener> 8080"
//     (the subnet chooses the address, so every launch reuses the one the
//     last instance freed; -distinct gives each launch an address of its
//     own);
//  2. from the prober's namespace (a socket opened there with setns on a
//     locked thread), a non-blocking connect to <ip>:8080 every -interval,
//     each attempt given up after 200 ms, until one completes; the sample is
//     t0 → that connect's completion;
//  3. meanwhile, DescribeInstances every -state-poll until the state is
//     running; the bench also notes when /run/netns/plk-<id> appears, and
//     the listener prints the wall-clock time at which it was listening
//     (read back from the console log);
//  4. TerminateInstances, wait until Describe says terminated and the
//     namespace is gone, then -gap, so that the kernel has finished tearing
//     the last namespace down and samples do not overlap.
//
// It reports p50/p90/p99 of the samples, the medians of the breakdown, the
// controller's pass count and mean duration (from the daemon's /metrics),
// and rewrites the launch section of RESULTS.md. Everything it creates is
// removed on exit, also after an error or SIGINT. It needs root.
//
//	go build -o /tmp/privlink ./cmd/privlink
//	go run ./bench/launch -privlink /tmp/privlink -n 30 -out bench/RESULTS.md
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/sys/unix"

	"github.com/privlink/privlink/bench/internal/benchd"
	"github.com/privlink/privlink/bench/internal/cmdline"
	"github.com/privlink/privlink/bench/internal/report"
	"github.com/privlink/privlink/internal/dataplane/netns"
)

type options struct {
	n         int
	warmup    int
	interval  time.Duration
	statePoll time.Duration
	timeout   time.Duration
	gap       time.Duration
	distinct  bool
	privlink  string
	out       string
}

const (
	port           = 8080
	proberIP       = "10.0.1.250"
	attemptTimeout = 200 * time.Millisecond
)

func main() {
	var o options
	flag.IntVar(&o.n, "n", 30, "timed launches")
	flag.IntVar(&o.warmup, "warmup", 1, "untimed launches first")
	flag.DurationVar(&o.interval, "interval", 2*time.Millisecond, "how often the prober starts a connect")
	flag.DurationVar(&o.statePoll, "state-poll", 10*time.Millisecond, "how often DescribeInstances is polled for running (0: not at all)")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Second, "give up on a launch after this long")
	flag.DurationVar(&o.gap, "gap", 250*time.Millisecond, "pause after each termination")
	flag.BoolVar(&o.distinct, "distinct", false, "give each launch an address of its own (10.0.1.10, .11, …) instead of letting the subnet reuse the lowest free one")
	cmdline.PrivlinkFlag(&o.privlink)
	cmdline.OutFlag(&o.out, "launch")
	flag.Parse()
	cmdline.Main(func(ctx context.Context) error { return run(ctx, o, os.Args) })
}

func run(ctx context.Context, o options, argv []string) (err error) {
	if o.n < 1 || o.warmup < 0 || o.interval <= 0 || o.timeout <= 0 || o.n+o.warmup > 200 {
		return errors.New("need -n ≥ 1, -warmup ≥ 0, -n + -warmup ≤ 200, -interval and -timeout > 0")
	}
	if os.Geteuid() != 0 {
		return errors.New("launch needs root: privlink creates network namespaces")
	}
	d, err := benchd.StartTemp(ctx, o.privlink, "privlink-launch-")
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, d.Close()) }()
	listener := filepath.Join(d.Dir, "listener")
	build := exec.CommandContext(ctx, "go", "build", "-o", listener, "./bench/launch/listener")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./bench/launch/listener: %w\n%s", err, out)
	}
	vpc, err := d.CreateVpc(ctx, "10.0.0.0/16")
	if err != nil {
		return err
	}
	subnet, err := d.CreateSubnet(ctx, vpc, "10.0.1.0/24", "us-east-1a")
	if err != nil {
		return err
	}
	sg, err := d.CreateSecurityGroup(ctx, vpc, "launch", "10.0.0.0/16", port, port)
	if err != nil {
		return err
	}
	pi, err := d.RunInstance(ctx, benchd.Instance{SubnetID: subnet, GroupID: sg, IP: proberIP})
	if err != nil {
		return err
	}
	proberID := aws.ToString(pi.InstanceId)
	if _, err := d.WaitState(ctx, proberID, types.InstanceStateNameRunning, 20*time.Millisecond, time.Minute); err != nil {
		return err
	}
	prober, err := netns.Open(benchd.NamespacePrefix + proberID)
	if err != nil {
		return err
	}
	defer prober.Close()
	log.Printf("%s, subnet %s, group %s, prober %s at %s", vpc, subnet, sg, proberID, proberIP)

	userData := fmt.Sprintf("#!/bin/sh\nexec %s %d\n", listener, port)
	loadBefore := report.LoadAvg()
	var samples []sample
	var passes0 benchd.Passes
	for i := range o.warmup + o.n {
		timed := i >= o.warmup
		if i == o.warmup {
			passes0 = d.Passes()
		}
		in := benchd.Instance{SubnetID: subnet, GroupID: sg, UserData: userData}
		if o.distinct {
			in.IP = fmt.Sprintf("10.0.1.%d", 10+i)
		}
		s, err := launchOnce(ctx, d, prober, in, o)
		if err != nil {
			return fmt.Errorf("launch %d: %w", i+1, err)
		}
		label := "warm-up"
		if timed {
			label = fmt.Sprintf("%d/%d", i-o.warmup+1, o.n)
			samples = append(samples, s)
		}
		log.Printf("%-7s %s %-10s connect %7s  (api %s, netns %s, listening %s, running %s; %d connects)",
			label, s.id, s.ip, ms(s.connect), ms(s.api), ms(s.netns), ms(s.listening), ms(s.running), s.attempts)
		if err := d.Terminate(ctx, s.id, time.Minute); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(o.gap):
		}
	}
	passes := d.Passes().Minus(passes0)
	section := render(o, argv, d.Version, samples, passes, loadBefore, report.LoadAvg())
	return report.Publish(o.out, beginMarker, endMarker, section)
}

// sample is one launch; the durations count from just before RunInstances.
type sample struct {
	id, ip    string
	api       time.Duration // RunInstances returned
	netns     time.Duration // /run/netns/plk-<id> seen (to -interval)
	listening time.Duration // the listener was listening (its own clock)
	running   time.Duration // DescribeInstances first said running (to -state-poll); 0 if not polled
	connect   time.Duration // first connect from the prober completed
	attempts  int           // connects started
}

func launchOnce(ctx context.Context, d *benchd.Daemon, prober netns.Handle, in benchd.Instance, o options) (sample, error) {
	t0 := time.Now()
	out, err := d.EC2.RunInstances(ctx, benchd.RunInstanceInput(in))
	api := time.Since(t0)
	inst, err := d.Launched(out, err)
	if err != nil {
		return sample{}, err
	}
	s := sample{id: aws.ToString(inst.InstanceId), ip: aws.ToString(inst.PrivateIpAddress), api: api}
	ip := net.ParseIP(s.ip).To4()
	if ip == nil {
		return s, fmt.Errorf("%s: private IP %q", s.id, s.ip)
	}

	pollCtx, stopPoll := context.WithCancel(ctx)
	defer stopPoll()
	runningC := make(chan time.Duration, 1)
	if o.statePoll > 0 {
		go func() {
			at, err := d.WaitState(pollCtx, s.id, types.InstanceStateNameRunning, o.statePoll, o.timeout)
			if err != nil {
				runningC <- -1
				return
			}
			runningC <- at.Sub(t0)
		}()
	}
	pr, err := probe(prober, ip, benchd.NamespacePrefix+s.id, t0, o.interval, o.timeout)
	s.netns, s.connect, s.attempts = pr.netns, pr.connect, pr.attempts
	if err != nil {
		return s, fmt.Errorf("%s (%s): %w\nconsole:\n%s\ndaemon log:\n%s", s.id, s.ip, err, consoleOf(d, s.id), d.LogTail(20))
	}
	if o.statePoll > 0 {
		select {
		case s.running = <-runningC:
		case <-ctx.Done():
			return s, ctx.Err()
		}
		if s.running < 0 {
			return s, fmt.Errorf("%s: not running after %v", s.id, o.timeout)
		}
	}
	s.listening, err = listeningAt(d, s.id, t0)
	if err != nil {
		return s, err
	}
	return s, nil
}

type probeResult struct {
	netns, connect time.Duration
	attempts       int
}

// probe starts, from a socket of namespace ns, a non-blocking connect to
// ip:port every interval (each given up after attemptTimeout) until one
// completes or timeout passes since t0. It also notes when the named
// namespace nsName appears. Everything runs on one thread, inside ns.
func probe(ns netns.Handle, ip net.IP, nsName string, t0 time.Time, interval, timeout time.Duration) (probeResult, error) {
	var res probeResult
	err := netns.Do(ns, func() error {
		sa := &unix.SockaddrInet4{Port: port}
		copy(sa.Addr[:], ip)
		type attempt struct {
			fd      int
			started time.Time
		}
		var inflight []attempt
		defer func() {
			for _, a := range inflight {
				unix.Close(a.fd)
			}
		}()
		var lastErr error
		deadline := t0.Add(timeout)
		next := time.Now()
		pfds := make([]unix.PollFd, 0, 128)
		for {
			now := time.Now()
			if res.netns == 0 && benchd.NamespaceExists(nsName) {
				res.netns = now.Sub(t0)
			}
			if now.After(deadline) {
				return fmt.Errorf("no connect to %s:%d after %v (%d attempts; last error: %v)", ip, port, timeout, res.attempts, lastErr)
			}
			if !now.Before(next) {
				next = now.Add(interval)
				res.attempts++
				fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
				if err != nil {
					return fmt.Errorf("socket: %w", err)
				}
				switch err := unix.Connect(fd, sa); {
				case err == nil:
					unix.Close(fd)
					res.connect = time.Since(t0)
					return nil
				case errors.Is(err, unix.EINPROGRESS):
					inflight = append(inflight, attempt{fd, now})
				default:
					unix.Close(fd)
					lastErr = err
				}
			}
			// Give up attempts that have waited too long (a SYN that
			// went nowhere); newer ones take over.
			kept := inflight[:0]
			for _, a := range inflight {
				if now.Sub(a.started) > attemptTimeout {
					unix.Close(a.fd)
					lastErr = fmt.Errorf("attempt timed out after %v", attemptTimeout)
					continue
				}
				kept = append(kept, a)
			}
			inflight = kept
			wait := max(time.Until(next), 0)
			if len(inflight) == 0 {
				time.Sleep(wait)
				continue
			}
			pfds = pfds[:0]
			for _, a := range inflight {
				pfds = append(pfds, unix.PollFd{Fd: int32(a.fd), Events: unix.POLLOUT})
			}
			ts := unix.NsecToTimespec(int64(wait))
			n, err := unix.Ppoll(pfds, &ts, nil)
			if errors.Is(err, unix.EINTR) || n == 0 {
				continue
			}
			if err != nil {
				return fmt.Errorf("ppoll: %w", err)
			}
			done := time.Since(t0)
			for i, p := range pfds {
				if p.Revents == 0 {
					continue
				}
				soErr, err := unix.GetsockoptInt(int(p.Fd), unix.SOL_SOCKET, unix.SO_ERROR)
				if err == nil && soErr == 0 {
					res.connect = done
					return nil
				}
				lastErr = unix.Errno(soErr)
				unix.Close(int(p.Fd))
				inflight[i].fd = -1
			}
			kept = inflight[:0]
			for _, a := range inflight {
				if a.fd >= 0 {
					kept = append(kept, a)
				}
			}
			inflight = kept
		}
	})
	return res, err
}

// listeningAt reads from the instance's console log when the listener was
// listening, relative to t0. The listener prints the line just after
// listen(2), so a connect can complete before it is written: it waits for
// the line for up to a second.
func listeningAt(d *benchd.Daemon, id string, t0 time.Time) (time.Duration, error) {
	deadline := time.Now().Add(time.Second)
	for {
		b, err := d.ConsoleLog(id)
		if err != nil {
			return 0, fmt.Errorf("console log of %s: %w", id, err)
		}
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) == 5 && f[0] == "listener:" && f[3] == "listening" {
				ns, err := strconv.ParseInt(f[4], 10, 64)
				if err != nil {
					return 0, fmt.Errorf("console log of %s: %q: %w", id, sc.Text(), err)
				}
				return time.Unix(0, ns).Sub(t0), nil
			}
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("console log of %s has no listener line:\n%s", id, b)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func consoleOf(d *benchd.Daemon, id string) string {
	b, err := d.ConsoleLog(id)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

var beginMarker, endMarker = report.Markers("launch")

func render(o options, argv []string, plVersion string, samples []sample, passes benchd.Passes, loadBefore, loadAfter string) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	col := func(f func(sample) time.Duration) []time.Duration {
		ds := make([]time.Duration, len(samples))
		for i, s := range samples {
			ds[i] = f(s)
		}
		return ds
	}
	connect := col(func(s sample) time.Duration { return s.connect })
	addr := "the subnet chooses the lowest free address, so each launch reuses the one the previous instance freed"
	if o.distinct {
		addr = "each launch has an address of its own (10.0.1.10, .11, …)"
	}
	w("%s\n## launch: RunInstances until the instance answers a TCP connect\n\n", beginMarker)
	w("- Date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	w("- Machine: %s; load average (1/5/15 min) %s at the start, %s at the end\n", report.Machine(), loadBefore, loadAfter)
	w("- Bench: %s, aws-sdk-go-v2 service/ec2, one client, retries off, HTTP keep-alive, loopback\n", runtime.Version())
	w("- privlink: %s (controller defaults: 20 ms debounce)\n", plVersion)
	w("- Command: `%s`\n", report.Command(argv, "./bench/launch"))
	w("- One VPC, one subnet 10.0.1.0/24, a group allowing TCP %d from 10.0.0.0/16; a prober instance at %s in the same subnet. Each launch: RunInstances with UserData `#!/bin/sh` + `exec <static Go listener> %d`; %s. The prober starts a non-blocking connect to <ip>:%d every %v (each given up after %v) from a socket in its namespace; a sample is RunInstances call start → first completed connect. DescribeInstances is polled every %v meanwhile. After each sample: TerminateInstances, wait for terminated and the namespace gone, then %v. %d untimed launch(es) first, then n = %d, one at a time.\n",
		port, proberIP, port, addr, port, o.interval, attemptTimeout, o.statePoll, o.gap, o.warmup, o.n)
	w("\n| RunInstances → TCP connect | p50 | p90 | p99 | min | max |\n|---|---|---|---|---|---|\n")
	w("| n = %d | %s | %s | %s | %s | %s |\n", len(samples),
		ms(report.Percentile(connect, 0.5)), ms(report.Percentile(connect, 0.9)), ms(report.Percentile(connect, 0.99)),
		ms(report.Percentile(connect, 0)), ms(report.Percentile(connect, 1)))
	w("\nBreakdown, each from RunInstances call start (p50 / p90 over the samples):\n\n| step | p50 | p90 |\n|---|---|---|\n")
	type step struct {
		name string
		f    func(sample) time.Duration
	}
	steps := []step{
		{"RunInstances returned", func(s sample) time.Duration { return s.api }},
		{fmt.Sprintf("namespace plk-<id> exists (polled every ≤ %v)", o.interval), func(s sample) time.Duration { return s.netns }},
		{"listener listening (its own clock, from the console log)", func(s sample) time.Duration { return s.listening }},
		{"first TCP connect completed", func(s sample) time.Duration { return s.connect }},
	}
	if o.statePoll > 0 {
		steps = append(steps, step{fmt.Sprintf("DescribeInstances says running (polled every %v)", o.statePoll), func(s sample) time.Duration { return s.running }})
	}
	for _, st := range steps {
		ds := col(st.f)
		w("| %s | %s | %s |\n", st.name, ms(report.Percentile(ds, 0.5)), ms(report.Percentile(ds, 0.9)))
	}
	if passes.Count > 0 {
		w("\nController during the timed launches (daemon /metrics): %.0f reconcile passes, %.1f per launch, mean pass %s.\n",
			passes.Count, passes.Count/float64(len(samples)), ms(passes.Mean()))
	}
	all := make([]string, len(samples))
	for i, s := range samples {
		all[i] = strconv.FormatFloat(float64(s.connect)/float64(time.Millisecond), 'f', 1, 64)
	}
	w("\nEvery sample, in launch order (ms): %s\n", strings.Join(all, ", "))
	const target = 100 * time.Millisecond
	got := report.Percentile(connect, 0.5)
	verdict := "met"
	if got > target {
		verdict = "MISSED"
	}
	w("\nTarget (issue 3): p50 ≤ 100 ms: %s (%s).\n", verdict, ms(got))
	w("%s\n", endMarker)
	return b.String()
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}
