// Command apply measures how soon privlink applies a change that an API call
// asks for, the two promises of the issues: a security group rule change
// takes effect on new connections within one second (issue 3), and a
// rejected or deleted interface endpoint's established flows are reset
// within one second (issue 5).
//
// It starts a privlink daemon (temporary data dir, free 127.0.0.1 port) and
// creates, with aws-sdk-go-v2, in the bootstrap account (the provider) a VPC
// 10.0.0.0/16 with subnets 10.0.1.0/24 (us-east-1a) and 10.0.2.0/24
// (us-east-1b), groups apply-client and apply-server (the latter allowing
// TCP 5001 from the VPC), a server instance at 10.0.1.10 (apply-server), a
// client instance at 10.0.2.10 (apply-client), an internal NLB with one
// node at 10.0.1.100 (listener TCP 80 → the server's 5001) and an endpoint
// service for it that needs no acceptance; and in a consumer account a VPC
// 10.0.0.0/16 with a subnet 10.0.1.0/24 (us-east-1a), a group allowing TCP
// 80 from the VPC and a client instance at 10.0.1.20. No program runs in the
// instances: the bench's own sockets, made inside their namespaces (setns on
// a locked thread), are the server and the clients.
//
// Each of -runs runs takes -n samples of each measurement, every one timed
// from the moment the API call returned:
//
//   - authorize: AuthorizeSecurityGroupIngress (apply-server, TCP 8080 from
//     apply-client) → the start of the first new connection from the client
//     to 10.0.1.10:8080 that gets through;
//   - revoke: RevokeSecurityGroupIngress of that rule → the start of the
//     first new connection that is dropped (no answer within
//     -attempt-timeout);
//   - reject: RejectVpcEndpointConnections of an available endpoint → an
//     established connection through it, held by the consumer's client, is
//     reset;
//   - delete: DeleteVpcEndpoints of an available endpoint → the same.
//
// The connections of authorize and revoke come from a loop on one thread
// inside the client's namespace that starts a non-blocking connect every
// -interval, gives each up after -attempt-timeout, and records each
// attempt's start (monotonic clock); a sample over-states by at most the
// time between two starts. The held connections are watched by a blocking
// poll(2) on the socket, which wakes when the reset arrives. The baselines,
// measured in the same run: the time a connect takes on the unchanged path,
// and the time a reset sent by the server itself takes to reach the blocked
// poll through the endpoint. Before each call the daemon is left idle for
// -gap.
//
// It reports per measurement p50, p90 and max (the median over runs), the
// worst sample, the ratios to the baseline and to the 1 s target, and
// rewrites the apply section of RESULTS.md. Everything it creates is removed
// on exit, also after an error or SIGINT. It needs root.
//
//	go build -o /tmp/privlink ./cmd/privlink
//	go run ./bench/apply -privlink /tmp/privlink -n 20 -runs 3 -out bench/RESULTS.md
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/privlink/privlink/bench/internal/benchd"
	"github.com/privlink/privlink/bench/internal/cmdline"
	"github.com/privlink/privlink/bench/internal/report"
)

type options struct {
	n, runs        int
	baseline       int
	interval       time.Duration
	attemptTimeout time.Duration
	timeout        time.Duration
	gap            time.Duration
	privlink       string
	out            string
}

// target is the issues' promise for every measurement.
const target = time.Second

func main() {
	var o options
	flag.IntVar(&o.n, "n", 20, "samples of each measurement per run")
	flag.IntVar(&o.runs, "runs", 3, "runs; the report gives the median over runs")
	flag.IntVar(&o.baseline, "baseline", 20, "connects that must get through before each RevokeSecurityGroupIngress call (the connect baseline)")
	flag.DurationVar(&o.interval, "interval", time.Millisecond, "security groups: start a new connect this often")
	flag.DurationVar(&o.attemptTimeout, "attempt-timeout", 50*time.Millisecond, "security groups: give a connect up (count it dropped) after this long")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Second, "give up waiting for a change after this long (the sample counts as missed)")
	flag.DurationVar(&o.gap, "gap", 250*time.Millisecond, "pause after each sample, and between an endpoint's becoming available and its sample")
	cmdline.PrivlinkFlag(&o.privlink)
	cmdline.OutFlag(&o.out, "apply")
	flag.Parse()
	cmdline.Main(func(ctx context.Context) error { return run(ctx, o, os.Args) })
}

func run(ctx context.Context, o options, argv []string) (err error) {
	if o.n < 1 || o.runs < 1 || o.baseline < 1 || o.interval <= 0 || o.attemptTimeout <= o.interval || o.timeout <= o.attemptTimeout {
		return errors.New("need -n, -runs, -baseline ≥ 1 and 0 < -interval < -attempt-timeout < -timeout")
	}
	if os.Geteuid() != 0 {
		return errors.New("apply needs root: privlink creates network namespaces")
	}
	d, err := benchd.StartTemp(ctx, o.privlink, "privlink-apply-")
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, d.Close()) }()
	e, err := setup(ctx, d)
	if err != nil {
		return err
	}

	var runs []*runResult
	for r := range o.runs {
		log.Printf("run %d/%d", r+1, o.runs)
		res := &runResult{loadBefore: report.LoadAvg()}
		if err := securityGroupTest(ctx, o, e, res); err != nil {
			return fmt.Errorf("run %d: %w\ndaemon log:\n%s", r+1, err, d.LogTail(20))
		}
		if err := endpointTest(ctx, o, e, res); err != nil {
			return fmt.Errorf("run %d: %w\ndaemon log:\n%s", r+1, err, d.LogTail(20))
		}
		res.loadAfter = report.LoadAvg()
		runs = append(runs, res)
	}
	return report.Publish(o.out, beginMarker, endMarker, render(o, argv, d.Version, runs))
}

// pause waits o.gap, so that the daemon is idle before the next sample.
func pause(ctx context.Context, o options) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(o.gap):
		return nil
	}
}
