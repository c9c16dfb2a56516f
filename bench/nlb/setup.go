package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/privlink/privlink/bench/internal/benchd"
	"github.com/privlink/privlink/bench/internal/proc"
	"github.com/privlink/privlink/bench/internal/tcpload"
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

// memResult is the memory test.
type memResult struct {
	want int
	// before: no connection; held: the most connections that fit under
	// the daemon's open-file limit, all open; pushed: after trying to
	// open the rest up to want; closed: after the client closed them.
	before, held, pushed, closed proc.Status
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

// memoryTest opens idle connections through the NLB from the client, in
// batches, each answered by the server through the forwarder, as many as
// fit under the daemon's open-file limit, and measures the daemon with them
// open; then it opens the rest up to idle and records what happens.
func memoryTest(ctx context.Context, exe, clientNS string, clientCPU, idle int, d *benchd.Daemon, server *proc.Process) (*memResult, error) {
	pid := d.PID()
	m := &memResult{want: idle, logs: map[string][]string{}}
	settle := func() {
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
	settle()
	m.before = proc.ReadStatus(pid)
	serverBase := proc.ReadStatus(server.PID()).FDs
	logBase := len(strings.Split(d.LogTail(1<<30), "\n"))
	cmd := tcpload.Command(ctx, exe, clientNS, clientCPU, "load", "-mode", "hold", "-addr", fmt.Sprintf("%s:%d", nodeIP, nlbPort), "-parallel", "32")
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
	open := func(n int) (tcpload.Result, error) {
		if _, err := fmt.Fprintf(stdin, "open %d\n", n); err != nil {
			return tcpload.Result{}, err
		}
		line, err := answers.ReadBytes('\n')
		if err != nil {
			return tcpload.Result{}, fmt.Errorf("load -mode hold: %w\n%s", err, stderr.Bytes())
		}
		var r tcpload.Result
		if err := json.Unmarshal(line, &r); err != nil {
			return tcpload.Result{}, fmt.Errorf("load's answer %q: %w", line, err)
		}
		return r, nil
	}
	m.clientFDLimit = proc.ReadStatus(cmd.Process.Pid).Limit
	limit := m.before.SoftLimit()
	const batch, margin = 250, 64
	total := 0
	for total < idle {
		n := min(batch, idle-total)
		if total > 0 && limit > 0 {
			now := proc.ReadStatus(pid)
			per := float64(now.FDs-m.before.FDs) / float64(total)
			if float64(now.FDs)+per*float64(n) > float64(limit-margin) {
				m.stopReason = fmt.Sprintf("stopped at %d connections: the daemon held %d descriptors, %.1f per connection, and %d more connections would pass its open-file limit of %d", total, now.FDs, per, n, limit)
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
	m.held = proc.ReadStatus(pid)
	m.serverHeld = proc.ReadStatus(server.PID()).FDs - serverBase
	if m.open > 0 {
		m.fdsPerConn = float64(m.held.FDs-m.before.FDs) / float64(m.open)
	}
	if total < idle && ctx.Err() == nil {
		log.Printf("  %d connections held; now opening the other %d", total, idle-total)
		r, err := open(idle - total)
		if err != nil {
			return nil, err
		}
		m.pushedTo, m.pushErr = r.Open, r.FirstErr
		settle()
		m.pushed = proc.ReadStatus(pid)
		m.survivors = proc.ReadStatus(server.PID()).FDs - serverBase
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("load -mode hold: %w\n%s", err, stderr.Bytes())
	}
	settle()
	m.closed = proc.ReadStatus(pid)
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
		m.open, m.want, m.serverHeld, mb(m.before.RSSKB), mb(m.held.RSSKB), m.perConnKB(), m.before.FDs, m.held.FDs, m.fdsPerConn,
		m.before.Threads, m.held.Threads, m.held.Limit)
	if m.stopReason != "" {
		s += "; " + m.stopReason
	}
	if m.pushedTo > 0 {
		s += fmt.Sprintf("; pushed to %d (first failure: %s), 2 s later %d connections left at the server, daemon fds %d", m.pushedTo, m.pushErr, m.survivors, m.pushed.FDs)
	}
	s += fmt.Sprintf("; after closing: RSS %.1f MB, fds %d", mb(m.closed.RSSKB), m.closed.FDs)
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
	return float64(m.held.RSSKB-m.before.RSSKB) / float64(m.open)
}

func mb(kb int64) float64 { return float64(kb) / 1024 }
