package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/privlink/privlink/bench/internal/benchd"
)

// env is what setup created: the namespaces the bench works in.
type env struct {
	vpc, subnet, group string
	serverID           string
	serverNS, clientNS string
	haproxyNS          string // -haproxy-in instance
	nodeNS             string // the NLB node's ENI
}

// setupInstances creates the VPC, the subnet, the group and the instances;
// Close deletes them.
func setupInstances(ctx context.Context, d *benchd.Daemon, haproxyInstance bool) (*env, error) {
	e := &env{}
	var err error
	if e.vpc, err = d.CreateVpc(ctx, "10.0.0.0/16"); err != nil {
		return nil, err
	}
	if e.subnet, err = d.CreateSubnet(ctx, e.vpc, "10.0.1.0/24", "us-east-1a"); err != nil {
		return nil, err
	}
	if e.group, err = d.CreateSecurityGroup(ctx, e.vpc, "nlb-bench", "10.0.0.0/16", nlbPort, serverPort); err != nil {
		return nil, err
	}
	ips := []string{serverIP, clientIP}
	if haproxyInstance {
		ips = append(ips, haproxyIP)
	}
	var ids []string
	for _, ip := range ips {
		inst, err := d.RunInstance(ctx, benchd.Instance{SubnetID: e.subnet, GroupID: e.group, IP: ip})
		if err != nil {
			return nil, err
		}
		ids = append(ids, aws.ToString(inst.InstanceId))
	}
	for _, id := range ids {
		if _, err := d.WaitState(ctx, id, ec2types.InstanceStateNameRunning, 20*time.Millisecond, time.Minute); err != nil {
			return nil, err
		}
	}
	e.serverID = ids[0]
	e.serverNS, e.clientNS = benchd.NamespacePrefix+ids[0], benchd.NamespacePrefix+ids[1]
	if haproxyInstance {
		e.haproxyNS = benchd.NamespacePrefix + ids[2]
	}
	log.Printf("%s, subnet %s, group %s; server %s %s, client %s %s", e.vpc, e.subnet, e.group, ids[0], serverIP, ids[1], clientIP)
	return e, nil
}

// setupNLB creates the target group with the server registered, the load
// balancer with one node at nodeIP and the listener, and waits until the
// load balancer is active and the target healthy; Close deletes them.
func setupNLB(ctx context.Context, d *benchd.Daemon, e *env) error {
	t0 := time.Now()
	tg, err := d.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
		Name:                       aws.String("nlb-bench"),
		Protocol:                   types.ProtocolEnumTcp,
		Port:                       aws.Int32(serverPort),
		VpcId:                      aws.String(e.vpc),
		TargetType:                 types.TargetTypeEnumInstance,
		HealthCheckProtocol:        types.ProtocolEnumTcp,
		HealthCheckIntervalSeconds: aws.Int32(5),
		HealthyThresholdCount:      aws.Int32(2),
		UnhealthyThresholdCount:    aws.Int32(2),
	})
	if err != nil {
		return err
	}
	if _, err := d.ELBv2().RegisterTargets(ctx, &elbv2.RegisterTargetsInput{
		TargetGroupArn: aws.String(tg),
		Targets:        []types.TargetDescription{{Id: aws.String(e.serverID)}},
	}); err != nil {
		return fmt.Errorf("RegisterTargets %s: %w", e.serverID, err)
	}
	lb, err := d.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
		Name:           aws.String("nlb-bench"),
		Type:           types.LoadBalancerTypeEnumNetwork,
		Scheme:         types.LoadBalancerSchemeEnumInternal,
		SubnetMappings: []types.SubnetMapping{{SubnetId: aws.String(e.subnet), PrivateIPv4Address: aws.String(nodeIP)}},
	})
	if err != nil {
		return err
	}
	lbARN := aws.ToString(lb.LoadBalancerArn)
	if _, err := d.CreateListener(ctx, &elbv2.CreateListenerInput{
		LoadBalancerArn: aws.String(lbARN),
		Protocol:        types.ProtocolEnumTcp,
		Port:            aws.Int32(nlbPort),
		DefaultActions:  []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(tg)}},
	}); err != nil {
		return err
	}
	if _, err := d.WaitLoadBalancerActive(ctx, lbARN, 2*time.Minute); err != nil {
		return fmt.Errorf("%w\n%s", err, d.LogTail(20))
	}
	enis, err := d.LoadBalancerENIs(ctx, lb)
	if err != nil {
		return err
	}
	if len(enis) != 1 {
		return fmt.Errorf("load balancer %s has %d network interfaces, want 1", lbARN, len(enis))
	}
	e.nodeNS = benchd.NamespacePrefix + enis[0]
	if err := benchd.WaitNamespaces(ctx, []string{e.nodeNS}, true, 30*time.Second); err != nil {
		return fmt.Errorf("node namespace %s: %w", e.nodeNS, err)
	}
	if err := d.WaitTargetsHealthy(ctx, tg, 2*time.Minute); err != nil {
		return fmt.Errorf("%w\n%s", err, d.LogTail(20))
	}
	log.Printf("NLB %s active, node %s %s, target healthy (%.1fs)", lbARN, enis[0], nodeIP, time.Since(t0).Seconds())
	return nil
}

// memResult is the memory test.
type memResult struct {
	want int
	// before: no connection; held: the most connections that fit under
	// the daemon's open-file limit, all open; pushed: after trying to
	// open the rest up to want; closed: after the client closed them.
	before, held, pushed, closed procStat
	// open is the connections open at held; survivors the server's
	// connections after the push (0 if there was no push).
	open, survivors int
	pushedTo        int    // connections the client had open after the push
	pushErr         string // its first failure
	stopReason      string // why the held step stopped short of want
	fdsPerConn      float64
	serverHeld      int // the server's connections at held
	clientFDLimit   string
	logs            map[string][]string // daemon log lines of interest, by pattern
}

// logPatterns are the daemon log lines the memory test reports.
var logPatterns = []string{"too many open files", "flows reset", "reconcile failed"}

// procStat is what /proc says of a process.
type procStat struct {
	rssKB   int64
	fds     int
	threads int
	limit   string // Max open files: soft/hard
}

// softLimit is the soft open-file limit, 0 if unknown or unlimited.
func (s procStat) softLimit() int {
	soft, _, _ := strings.Cut(s.limit, "/")
	n, _ := strconv.Atoi(soft)
	return n
}

func readProc(pid int) procStat {
	var s procStat
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			k, v, _ := strings.Cut(line, ":")
			f := strings.Fields(v)
			if len(f) == 0 {
				continue
			}
			switch k {
			case "VmRSS":
				s.rssKB, _ = strconv.ParseInt(f[0], 10, 64)
			case "Threads":
				s.threads, _ = strconv.Atoi(f[0])
			}
		}
	}
	if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
		s.fds = len(ents)
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid)); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "Max open files"); ok {
				if f := strings.Fields(rest); len(f) >= 2 {
					s.limit = f[0] + "/" + f[1]
				}
			}
		}
	}
	return s
}

// memoryTest opens idle connections through the NLB from the client, in
// batches, each answered by the server through the forwarder, as many as
// fit under the daemon's open-file limit, and measures the daemon with them
// open; then it opens the rest up to idle and records what happens.
func memoryTest(ctx context.Context, exe, clientNS string, clientCPU, idle int, d *benchd.Daemon, server *child) (*memResult, error) {
	pid := d.PID()
	m := &memResult{want: idle, logs: map[string][]string{}}
	settle := func() {
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
	settle()
	m.before = readProc(pid)
	serverBase := readProc(server.pid()).fds
	logBase := len(strings.Split(d.LogTail(1<<30), "\n"))
	cmd := nsCommand(ctx, exe, clientNS, clientCPU, "load", "-mode", "hold", "-addr", fmt.Sprintf("%s:%d", nodeIP, nlbPort), "-parallel", "32")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer cmd.Wait()
	defer stdin.Close()
	answers := bufio.NewReader(stdout)
	open := func(n int) (loadResult, error) {
		if _, err := fmt.Fprintf(stdin, "open %d\n", n); err != nil {
			return loadResult{}, err
		}
		line, err := answers.ReadBytes('\n')
		if err != nil {
			return loadResult{}, fmt.Errorf("load -mode hold: %w\n%s", err, stderr.Bytes())
		}
		var r loadResult
		if err := json.Unmarshal(line, &r); err != nil {
			return loadResult{}, fmt.Errorf("load's answer %q: %w", line, err)
		}
		return r, nil
	}
	m.clientFDLimit = readProc(cmd.Process.Pid).limit
	limit := m.before.softLimit()
	const batch, margin = 250, 64
	total := 0
	for total < idle {
		n := min(batch, idle-total)
		if total > 0 && limit > 0 {
			now := readProc(pid)
			per := float64(now.fds-m.before.fds) / float64(total)
			if float64(now.fds)+per*float64(n) > float64(limit-margin) {
				m.stopReason = fmt.Sprintf("stopped at %d connections: the daemon held %d descriptors, %.1f per connection, and %d more connections would pass its open-file limit of %d", total, now.fds, per, n, limit)
				break
			}
		}
		r, err := open(n)
		if err != nil {
			return nil, err
		}
		total = r.Open
		if r.FirstErr != "" {
			m.stopReason = fmt.Sprintf("stopped at %d connections by a failure: %s", total, r.FirstErr)
			break
		}
	}
	settle()
	m.open = total
	m.held = readProc(pid)
	m.serverHeld = readProc(server.pid()).fds - serverBase
	if m.open > 0 {
		m.fdsPerConn = float64(m.held.fds-m.before.fds) / float64(m.open)
	}
	if total < idle && ctx.Err() == nil {
		log.Printf("  %d connections held; now opening the other %d", total, idle-total)
		r, err := open(idle - total)
		if err != nil {
			return nil, err
		}
		m.pushedTo, m.pushErr = r.Open, r.FirstErr
		settle()
		m.pushed = readProc(pid)
		m.survivors = readProc(server.pid()).fds - serverBase
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("load -mode hold: %w\n%s", err, stderr.Bytes())
	}
	settle()
	m.closed = readProc(pid)
	lines := strings.Split(d.LogTail(1<<30), "\n")
	for _, l := range lines[min(logBase, len(lines)):] {
		for _, p := range logPatterns {
			if strings.Contains(l, p) {
				m.logs[p] = append(m.logs[p], l)
			}
		}
	}
	return m, nil
}

func (m *memResult) summary() string {
	s := fmt.Sprintf("held %d of %d (server side: %d): daemon RSS %.1f → %.1f MB (%.1f KB per connection), fds %d → %d (%.1f per connection), threads %d → %d, open-file limit %s",
		m.open, m.want, m.serverHeld, mb(m.before.rssKB), mb(m.held.rssKB), m.perConnKB(), m.before.fds, m.held.fds, m.fdsPerConn,
		m.before.threads, m.held.threads, m.held.limit)
	if m.stopReason != "" {
		s += "; " + m.stopReason
	}
	if m.pushedTo > 0 {
		s += fmt.Sprintf("; pushed to %d (first failure: %s), 2 s later %d connections left at the server, daemon fds %d", m.pushedTo, m.pushErr, m.survivors, m.pushed.fds)
	}
	s += fmt.Sprintf("; after closing: RSS %.1f MB, fds %d", mb(m.closed.rssKB), m.closed.fds)
	for _, p := range logPatterns {
		if n := len(m.logs[p]); n > 0 {
			s += fmt.Sprintf("; %d log lines with %q", n, p)
		}
	}
	return s
}

func (m *memResult) perConnKB() float64 {
	if m.open == 0 {
		return 0
	}
	return float64(m.held.rssKB-m.before.rssKB) / float64(m.open)
}

func mb(kb int64) float64 { return float64(kb) / 1024 }
