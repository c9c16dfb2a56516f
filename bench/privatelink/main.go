// Command privatelink measures privlink's PrivateLink data plane and
// control plane: traffic through an interface endpoint against the direct
// path and against HAProxy in the forwarder's place, the time from
// CreateVpcEndpoint until the first byte flows, and 1,000 endpoints in 100
// VPCs (creation, memory, a daemon restart). Every ratio is against a
// baseline measured in the same run.
//
// It starts a privlink daemon (temporary data dir, free 127.0.0.1 port).
// The provider (the bootstrap account) gets a VPC 10.0.0.0/16 with a
// subnet 10.0.1.0/24 in us-east-1a, a server instance at 10.0.1.10 (running
// `privatelink serve`, a hidden subcommand of this binary), a client
// instance at 10.0.1.20, an internal NLB with one node at 10.0.1.100
// (listener TCP 80 → target group TCP 5001) and an endpoint service for it
// that needs no acceptance. A consumer account gets a VPC with the same
// CIDR and subnet, a client instance at 10.0.1.20 and, for the traffic
// test, an interface endpoint whose network interface is 10.0.1.50. The
// phases (-phases):
//
//   - traffic: the three tests of bench/nlb (one-stream throughput,
//     connections per second, ping-pong latency; package proxycmp) through
//     direct (the provider's client → the server), endpoint (the consumer's
//     client → 10.0.1.50:80 → the forwarder, dialling from the NLB node →
//     the server) and HAProxy (listening in the endpoint ENI's namespace on
//     10.0.1.50:81, dialling from the NLB node's namespace), in each CPU
//     placement of -splits, -runs times;
//   - create: -creates endpoints one at a time, each from the start of
//     CreateVpcEndpoint until the consumer's client, retrying every
//     -interval, receives the server's first byte through it;
//   - scale: -endpoints endpoints over -vpcs consumer VPCs (a client
//     instance in each), the time until all are available and serve, the
//     daemon's VmRSS, then for each of -restarts a restart of the daemon on
//     the same data dir and the time until every endpoint serves again.
//
// It rewrites the privatelink section of RESULTS.md. Everything it creates
// (daemon, namespaces, accounts' resources, haproxy, server) goes on exit,
// also after an error or SIGINT. It needs root, ip, taskset and haproxy
// with network namespace support (Debian's has it).
//
//	go build -o /tmp/privlink ./cmd/privlink
//	go run ./bench/privatelink -privlink /tmp/privlink -out bench/RESULTS.md
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/privlink/privlink/bench/internal/benchd"
	"github.com/privlink/privlink/bench/internal/cmdline"
	"github.com/privlink/privlink/bench/internal/proxycmp"
	"github.com/privlink/privlink/bench/internal/report"
	"github.com/privlink/privlink/bench/internal/tcpload"
)

type options struct {
	phases map[string]bool

	// traffic
	duration time.Duration
	n        int
	size     int
	workers  int
	runs     int
	splits   []proxycmp.Split
	variants []string
	haproxy  string

	// create
	creates       int
	createWarmup  int
	interval      time.Duration
	statePoll     time.Duration
	createTimeout time.Duration
	gap           time.Duration
	distinct      bool

	// scale
	endpoints      int
	vpcs           int
	vpcsPerAccount int
	parallel       int
	restarts       []syscall.Signal
	probeInterval  time.Duration
	scaleTimeout   time.Duration
	serveTimeout   time.Duration

	privlink string
	out      string
}

func main() {
	tcpload.Subcommand()
	var o options
	phases := flag.String("phases", "traffic,create,scale", "what to measure: traffic (throughput, conn/s, latency), create (CreateVpcEndpoint → first byte), scale (many endpoints, restart)")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "traffic: length of each throughput and connections-per-second test")
	flag.IntVar(&o.n, "n", 20000, "traffic: timed round trips of each latency test")
	flag.IntVar(&o.size, "size", 64, "traffic: bytes of each ping-pong message, request and answer")
	flag.IntVar(&o.workers, "workers", 32, "traffic: concurrent connections of the connections-per-second test")
	flag.IntVar(&o.runs, "runs", 3, "traffic: runs; the report gives the median over runs")
	splits := flag.String("splits", "0/1/1,0/0/1", "traffic: CPU placements, comma-separated, each PROXY/SERVER/CLIENT: the CPU of the proxies (every daemon thread, haproxy), of the server and of the load generator")
	variants := flag.String("variants", "direct,endpoint,haproxy", "traffic: paths to measure, of direct, endpoint, haproxy, nlb")
	flag.StringVar(&o.haproxy, "haproxy", "haproxy", "traffic: haproxy binary")
	flag.IntVar(&o.creates, "creates", 20, "create: timed endpoints")
	flag.IntVar(&o.createWarmup, "create-warmup", 1, "create: untimed endpoints first")
	flag.DurationVar(&o.interval, "interval", 2*time.Millisecond, "create: how often the client starts a connect")
	flag.DurationVar(&o.statePoll, "state-poll", 10*time.Millisecond, "create: how often DescribeVpcEndpoints is polled for available (0: not at all)")
	flag.DurationVar(&o.createTimeout, "create-timeout", 10*time.Second, "create: give up on an endpoint after this long")
	flag.DurationVar(&o.gap, "gap", 250*time.Millisecond, "create: pause after each deletion")
	flag.BoolVar(&o.distinct, "distinct", false, "create: give each endpoint an address of its own (10.0.1.60, .61, …) instead of reusing 10.0.1.60")
	flag.IntVar(&o.endpoints, "endpoints", 1000, "scale: endpoints")
	flag.IntVar(&o.vpcs, "vpcs", 100, "scale: consumer VPCs the endpoints are spread over")
	flag.IntVar(&o.vpcsPerAccount, "vpcs-per-account", 20, "scale: consumer VPCs per account (each has a client instance; the instance quota is 20 an account)")
	flag.IntVar(&o.parallel, "parallel", 1, "scale: CreateVpcEndpoint calls at a time")
	restarts := flag.String("restarts", "kill,term", "scale: daemon restarts, in order, each kill (SIGKILL) or term (SIGTERM); \"\" for none")
	flag.DurationVar(&o.probeInterval, "probe-interval", 250*time.Millisecond, "scale: least time between two probe rounds over the endpoints not yet answering")
	flag.DurationVar(&o.scaleTimeout, "scale-timeout", 10*time.Minute, "scale: give up waiting for the endpoints to be available or deleted after this long")
	flag.DurationVar(&o.serveTimeout, "serve-timeout", time.Minute, "scale: stop probing the endpoints that do not answer after this long, and report how many")
	cmdline.PrivlinkFlag(&o.privlink)
	cmdline.OutFlag(&o.out, "privatelink")
	flag.Parse()
	cmdline.Main(func(ctx context.Context) error {
		if err := o.parse(*phases, *splits, *variants, *restarts); err != nil {
			return err
		}
		return run(ctx, o, os.Args)
	})
}

// parse checks the flags and parses the lists.
func (o *options) parse(phases, splits, variants, restarts string) error {
	o.phases = map[string]bool{}
	for p := range strings.SplitSeq(phases, ",") {
		switch p = strings.TrimSpace(p); p {
		case "traffic", "create", "scale":
			o.phases[p] = true
		default:
			return fmt.Errorf("-phases: unknown phase %q (traffic, create, scale)", p)
		}
	}
	var err error
	if o.splits, err = proxycmp.ParseSplits(splits); err != nil {
		return fmt.Errorf("-splits: %w", err)
	}
	for v := range strings.SplitSeq(variants, ",") {
		switch v = strings.TrimSpace(v); v {
		case "direct":
			o.variants = append(o.variants, vDirect)
		case "endpoint":
			o.variants = append(o.variants, vEndpoint)
		case "haproxy":
			o.variants = append(o.variants, vHAProxy)
		case "nlb":
			o.variants = append(o.variants, vNLB)
		default:
			return fmt.Errorf("-variants: unknown variant %q (direct, endpoint, haproxy, nlb)", v)
		}
	}
	for r := range strings.SplitSeq(restarts, ",") {
		switch r = strings.TrimSpace(r); r {
		case "kill":
			o.restarts = append(o.restarts, syscall.SIGKILL)
		case "term":
			o.restarts = append(o.restarts, syscall.SIGTERM)
		case "":
		default:
			return fmt.Errorf("-restarts: unknown restart %q (kill, term)", r)
		}
	}
	switch {
	case o.duration <= 0 || o.n < 1 || o.size < 2 || o.workers < 1 || o.runs < 1:
		return errors.New("-duration, -n, -workers and -runs must be positive, -size at least 2")
	case o.creates < 1 || o.createWarmup < 0 || o.interval <= 0 || o.createTimeout <= 0 || o.creates+o.createWarmup > 150:
		return errors.New("need -creates ≥ 1, -create-warmup ≥ 0, -creates + -create-warmup ≤ 150, -interval and -create-timeout > 0")
	case o.endpoints < 1 || o.vpcs < 1 || o.vpcsPerAccount < 1 || o.vpcsPerAccount > 20 || o.parallel < 1 || o.probeInterval <= 0 || o.serveTimeout <= 0:
		return errors.New("need -endpoints, -vpcs, -parallel, -probe-interval, -serve-timeout > 0 and 1 ≤ -vpcs-per-account ≤ 20")
	case (o.endpoints+o.vpcs-1)/o.vpcs > 50:
		return fmt.Errorf("-endpoints %d over -vpcs %d is more than 50 a VPC, the limit", o.endpoints, o.vpcs)
	}
	return nil
}

func (o options) variantSet() map[string]bool {
	m := map[string]bool{}
	for _, v := range o.variants {
		m[v] = true
	}
	return m
}

// tests are the parameters of the traffic tests.
func (o options) tests() proxycmp.Tests {
	return proxycmp.Tests{Duration: o.duration, N: o.n, Size: o.size, Workers: o.workers}
}

// results is what the phases measured; nil for a phase not run.
type results struct {
	traffic *trafficResult
	create  *createResult
	scale   *scaleResult
}

func run(ctx context.Context, o options, argv []string) (err error) {
	if os.Geteuid() != 0 {
		return errors.New("privatelink needs root: privlink creates network namespaces")
	}
	for _, tool := range []string{"ip", "taskset"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is needed: %w", tool, err)
		}
	}
	if o.phases["traffic"] && o.variantSet()[vHAProxy] {
		path, err := exec.LookPath(o.haproxy)
		if err != nil {
			return fmt.Errorf("haproxy not found (%w): install it with `apt-get install -y haproxy`, or leave it out with -variants direct,endpoint", err)
		}
		o.haproxy = path
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	d, err := benchd.StartTemp(ctx, o.privlink, "privlink-privatelink-")
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, d.Close()) }()

	p, err := setupProvider(ctx, d, exe, o.splits[0].Server, o.size, d.Dir)
	if err != nil {
		return err
	}
	var res results
	if o.phases["traffic"] || o.phases["create"] {
		cons, err := d.CreateAccount(ctx, "privatelink-bench-consumer")
		if err != nil {
			return err
		}
		if err := d.AllowPrincipals(ctx, p.serviceID, cons.Principal()); err != nil {
			return err
		}
		c, err := setupConsumerVPC(ctx, cons, "privatelink-consumer", clientIP, nlbPort, haproxyPort)
		if err != nil {
			return err
		}
		if _, err := runInstancesWait(ctx, c); err != nil {
			return err
		}
		log.Printf("consumer %s (account %s): client %s %s", c.vpc, cons.ID, c.clientID, clientIP)
		if o.phases["traffic"] {
			ep, err := trafficEndpoint(ctx, c, p.service)
			if err != nil {
				return fmt.Errorf("%w\n%s", err, d.LogTail(20))
			}
			if res.traffic, err = trafficTest(ctx, o, d, exe, p, c, ep, d.Dir); err != nil {
				return err
			}
		}
		if o.phases["create"] {
			log.Printf("create: %d endpoints, one at a time", o.createWarmup+o.creates)
			if res.create, err = createTest(ctx, o, d, c, p.service); err != nil {
				return err
			}
		}
	}
	if o.phases["scale"] {
		if res.scale, err = scaleTest(ctx, o, d, p); err != nil {
			return err
		}
	}

	return report.Publish(o.out, beginMarker, endMarker, render(o, argv, d.Version, p, res))
}

// runInstancesWait waits until the consumer's client runs.
func runInstancesWait(ctx context.Context, c *consumerVPC) (time.Time, error) {
	return c.acct.WaitState(ctx, c.clientID, ec2types.InstanceStateNameRunning, 20*time.Millisecond, 2*time.Minute)
}

// trafficEndpoint creates the traffic test's endpoint at endpointIP and
// waits until it is available and its namespace exists.
func trafficEndpoint(ctx context.Context, c *consumerVPC, service string) (endpoint, error) {
	ip := netip.MustParseAddr(endpointIP)
	e, err := c.acct.CreateVpcEndpoint(ctx, endpointInput(c, service, ip))
	if err != nil {
		return endpoint{}, err
	}
	ep, err := created(e, ip)
	if err != nil {
		return endpoint{}, err
	}
	if _, err := c.acct.WaitEndpointsAvailable(ctx, []string{ep.id}, 20*time.Millisecond, time.Minute); err != nil {
		return endpoint{}, err
	}
	if err := benchd.WaitNamespaces(ctx, []string{benchd.NamespacePrefix + ep.eniID}, true, time.Minute); err != nil {
		return endpoint{}, err
	}
	log.Printf("endpoint %s (%s) available, ENI %s %s", ep.id, aws.ToString(e.ServiceName), ep.eniID, endpointIP)
	return ep, nil
}
