package e2e_test

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/privlink/privlink/internal/testenv"
	"github.com/privlink/privlink/test/e2e"
)

// The acceptance scripts of issue 4: an internal Network Load Balancer
// whose nodes are namespaces with real sockets, that spreads new
// connections over healthy targets, takes a target out within interval ×
// threshold of its health check failing, puts it back when it passes again,
// fails open when no target is healthy, speaks Proxy Protocol v2, and is
// reachable by name and address only from its own VPC. Traffic is driven
// with curl and testdata/probe.py from inside client instances.

const (
	hcInterval  = 5 // HealthCheckIntervalSeconds of every target group here
	hcThreshold = 2 // HealthyThresholdCount and UnhealthyThresholdCount
	// hcSlack is what a health state change may take beyond interval ×
	// threshold: the first check after the change may be up to one
	// interval away, and the result has to reach the store.
	hcSlack = 6 * time.Second
	// hcLimit is the most a target may take to change state.
	hcLimit = hcInterval*hcThreshold*time.Second + hcSlack
	// hcMin is the least: threshold checks in a row, an interval apart
	// (less a little for the checker's timer and the test's clock).
	hcMin = (hcThreshold-1)*hcInterval*time.Second - 500*time.Millisecond
	// lbActive bounds a new load balancer's provisioning → active.
	lbActive = 30 * time.Second
	// requests is how many new connections a spread is judged on.
	requests = 40
)

// dnsNameRE is the shape of a Network Load Balancer's DNS name.
var dnsNameRE = regexp.MustCompile(`^[a-z0-9-]+-[0-9a-f]{16}\.elb\.us-east-1\.amazonaws\.com$`)

// TestPrivilegedNLBAcceptance: two targets in two zones behind an internal
// NLB with a TCP:80 listener. Each target serves HTTP on 80 (answering its
// name and the address the connection came from) and, separately, its
// health check on 8081, so that a target can fail its checks while it
// still serves: that makes fail-open observable.
//
// Cross-zone load balancing starts off (the NLB default): each node sends
// only to its own zone's target, and clients reach both zones because the
// VPC resolver answers the NLB name with both nodes in random order. Then
// cross-zone goes on, and every later step goes through the DNS name: a
// target whose health check fails is unhealthy within interval × threshold
// and gets no new connections; it comes back when its check passes again;
// with no target healthy, connections go to all of them.
func TestPrivilegedNLBAcceptance(t *testing.T) {
	dir := t.TempDir() // before New: its cleanup must run after the servers are gone
	env := e2e.New(t)
	acct := env.Account("provider")
	vpc := aws.ToString(acct.CreateVpc(t, "10.0.0.0/16").VpcId)
	subA := aws.ToString(acct.CreateSubnet(t, vpc, "10.0.1.0/24", "us-east-1a").SubnetId)
	subB := aws.ToString(acct.CreateSubnet(t, vpc, "10.0.2.0/24", "us-east-1b").SubnetId)
	subC := aws.ToString(acct.CreateSubnet(t, vpc, "10.0.3.0/24", "us-east-1c").SubnetId)
	for _, sn := range []string{subA, subB, subC} {
		acct.WaitSubnetAvailable(t, sn, settle)
	}
	targetSG := createGroup(t, acct, vpc, "targets")
	authorize(t, acct, targetSG, tcpFromCIDR(80, 80, "10.0.0.0/16"))
	authorize(t, acct, targetSG, tcpFromCIDR(8081, 8081, "10.0.0.0/16"))

	srv := newWebServers(t, dir)
	a := launch(t, acct, "target-a", subA, "10.0.1.10", srv.userData("A"), targetSG)
	b := launch(t, acct, "target-b", subB, "10.0.2.10", srv.userData("B"), targetSG)
	client := launch(t, acct, "client", subC, "10.0.3.10", "")

	tg := acct.CreateTargetGroup(t, &elb.CreateTargetGroupInput{
		Name:                       aws.String("web"),
		Protocol:                   elbtypes.ProtocolEnumTcp,
		Port:                       aws.Int32(80),
		VpcId:                      aws.String(vpc),
		TargetType:                 elbtypes.TargetTypeEnumInstance,
		HealthCheckProtocol:        elbtypes.ProtocolEnumHttp,
		HealthCheckPort:            aws.String("8081"),
		HealthCheckPath:            aws.String("/healthz"),
		HealthCheckIntervalSeconds: aws.Int32(hcInterval),
		HealthyThresholdCount:      aws.Int32(hcThreshold),
		UnhealthyThresholdCount:    aws.Int32(hcThreshold),
	})
	tgARN := aws.ToString(tg.TargetGroupArn)
	created := acct.CreateNLB(t, "web-nlb", []string{subA, subB})
	lbARN := aws.ToString(created.LoadBalancerArn)
	if got := created.State; got == nil || got.Code != elbtypes.LoadBalancerStateEnumProvisioning {
		t.Errorf("CreateLoadBalancer: State %+v, want provisioning", got)
	}
	listener := acct.CreateTCPListener(t, lbARN, 80, tgARN)
	waitRunning(t, acct, a, b, client)
	acct.RegisterTargets(t, tgARN, a.id, b.id)

	lb := acct.WaitLoadBalancerActive(t, lbARN, lbActive)
	name := aws.ToString(lb.DNSName)
	nodes := acct.NodeIPs(t, lbARN)
	nodeA, nodeB := nodes["us-east-1a"], nodes["us-east-1b"]
	nodeIPs := []string{nodeA, nodeB}
	t.Logf("load balancer %s is active: %s → %v", lbARN, name, nodes)

	t.Run("describe", func(t *testing.T) {
		checkDescribedNLB(t, lb, vpc, map[string]string{"us-east-1a": subA, "us-east-1b": subB})
		if !dnsNameRE.MatchString(name) || !strings.HasPrefix(name, "web-nlb-") {
			t.Errorf("DNSName = %q, want web-nlb-<16 hex>.elb.us-east-1.amazonaws.com", name)
		}
		for zone, prefix := range map[string]string{"us-east-1a": "10.0.1.0/24", "us-east-1b": "10.0.2.0/24"} {
			if ip, err := netip.ParseAddr(nodes[zone]); err != nil || !netip.MustParsePrefix(prefix).Contains(ip) {
				t.Errorf("node address in %s = %q, want an address of its subnet %s", zone, nodes[zone], prefix)
			}
		}
		enis := acct.NodeENIs(t, lbARN)
		if len(enis) != 2 {
			t.Fatalf("%d ENIs with the description ELB net/web-nlb/…, want one per node (2)", len(enis))
		}
		for _, n := range enis {
			id := aws.ToString(n.NetworkInterfaceId)
			if !aws.ToBool(n.RequesterManaged) || n.InterfaceType != ec2types.NetworkInterfaceTypeNetworkLoadBalancer {
				t.Errorf("node ENI %s: RequesterManaged=%v InterfaceType=%q, want a requester-managed network_load_balancer interface", id, aws.ToBool(n.RequesterManaged), n.InterfaceType)
			}
			if got, want := aws.ToString(n.SubnetId), map[string]string{"us-east-1a": subA, "us-east-1b": subB}[aws.ToString(n.AvailabilityZone)]; got != want {
				t.Errorf("node ENI %s in %s is in subnet %s, want %s", id, aws.ToString(n.AvailabilityZone), got, want)
			}
			if got := aws.ToString(n.VpcId); got != vpc {
				t.Errorf("node ENI %s is in VPC %s, want %s", id, got, vpc)
			}
			if !e2e.HasNamespace(e2e.NamespaceName(id)) {
				t.Errorf("node ENI %s has no namespace %s", id, e2e.NamespaceName(id))
			}
		}
		tgs, err := acct.Observer().ELB.DescribeTargetGroups(t.Context(), &elb.DescribeTargetGroupsInput{LoadBalancerArn: aws.String(lbARN)})
		if err != nil {
			t.Fatalf("DescribeTargetGroups(LoadBalancerArn): %v", err)
		}
		if len(tgs.TargetGroups) != 1 || aws.ToString(tgs.TargetGroups[0].TargetGroupArn) != tgARN ||
			!slices.Equal(tgs.TargetGroups[0].LoadBalancerArns, []string{lbARN}) {
			t.Errorf("DescribeTargetGroups(LoadBalancerArn=%s) = %+v, want the one group %s with LoadBalancerArns [%s]", lbARN, tgs.TargetGroups, tgARN, lbARN)
		}
		ls, err := acct.Observer().ELB.DescribeListeners(t.Context(), &elb.DescribeListenersInput{LoadBalancerArn: aws.String(lbARN)})
		if err != nil {
			t.Fatalf("DescribeListeners: %v", err)
		}
		if len(ls.Listeners) != 1 || aws.ToString(ls.Listeners[0].ListenerArn) != aws.ToString(listener.ListenerArn) ||
			ls.Listeners[0].Protocol != elbtypes.ProtocolEnumTcp || aws.ToInt32(ls.Listeners[0].Port) != 80 {
			t.Errorf("DescribeListeners(%s) = %+v, want the TCP:80 listener %s", lbARN, ls.Listeners, aws.ToString(listener.ListenerArn))
		}
	})

	start := time.Now()
	acct.WaitTargetStates(t, tgARN, states(elbtypes.TargetHealthStateEnumHealthy, a.id, b.id), 2*hcLimit)
	t.Logf("both targets healthy %v after the load balancer was active", time.Since(start).Round(100*time.Millisecond))

	t.Run("resolver answers the name with both nodes", func(t *testing.T) {
		// The resolver follows the store a controller pass later, and the
		// two targets may have turned healthy in different passes.
		testenv.WaitFor(t, settle, "the resolver to answer "+name+" with both nodes", func() error {
			if r := dnsQuery(t, env, client, "A", name); r.Rcode != "NOERROR" || !sameSet(r.Answers, []string{nodeA, nodeB}) {
				return fmt.Errorf("dig @10.0.0.2 A %s = %s, want NOERROR with both nodes %s and %s", name, r, nodeA, nodeB)
			}
			return nil
		})
		// And through resolv.conf, as every client looks it up.
		if r := getaddr(t, env, client, name); r.Addr != nodeA && r.Addr != nodeB {
			t.Errorf("gethostbyname(%s) = %+v, want one of the nodes %s and %s", name, r, nodeA, nodeB)
		}
	})

	t.Run("each node sends to its own zone without cross-zone", func(t *testing.T) {
		for node, want := range map[string]string{nodeA: "A", nodeB: "B"} {
			for _, r := range curlMany(t, env, client, "http://"+node+"/", 10) {
				if !r.OK || r.Label != want || r.Peer != node {
					t.Errorf("curl http://%s/ (node in the zone of %s): %s; want %s answering a connection from the node %s", node, want, r, want, node)
				}
			}
		}
	})

	t.Run("the name reaches both zones", func(t *testing.T) {
		// AWS's resolver shuffles the addresses of a name with several;
		// clients take the first, so one fixed order would send every
		// client to one zone.
		got := spread(t, curlMany(t, env, client, "http://"+name+"/", requests), nodeIPs, map[string]string{"A": nodeA, "B": nodeB})
		if got["A"] == 0 || got["B"] == 0 {
			t.Errorf("%d new connections to http://%s/ reached %v; want both targets (the resolver must not always answer in one order)", requests, name, got)
		}
	})

	acct.SetLoadBalancerAttributes(t, lbARN, "load_balancing.cross_zone.enabled=true")

	t.Run("cross-zone: one node reaches both targets from its own address", func(t *testing.T) {
		var got map[string]int
		testenv.WaitFor(t, settle, "node "+nodeA+" to send to both zones", func() error {
			got = spread(t, curlMany(t, env, client, "http://"+nodeA+"/", 20), nodeIPs, map[string]string{"A": nodeA, "B": nodeA})
			if got["A"] == 0 || got["B"] == 0 {
				return fmt.Errorf("20 connections to the node %s reached %v", nodeA, got)
			}
			return nil
		})
		got = spread(t, curlMany(t, env, client, "http://"+name+"/", requests), nodeIPs, nil)
		if got["A"] == 0 || got["B"] == 0 {
			t.Errorf("%d new connections to http://%s/ reached %v; want both targets", requests, name, got)
		}
		console := acct.Observer().ConsoleOutput(t, a.id) + acct.Observer().ConsoleOutput(t, b.id)
		if strings.Contains(console, " "+client.ip+" ") {
			t.Errorf("a target saw the client's address %s as a source; it must see only the nodes'", client.ip)
		}
	})

	t.Run("a target that fails its checks is taken out", func(t *testing.T) {
		killed := srv.stopHealth(t, a)
		acct.WaitTargetStates(t, tgARN, map[string]elbtypes.TargetHealthStateEnum{
			a.id: elbtypes.TargetHealthStateEnumUnhealthy, b.id: elbtypes.TargetHealthStateEnumHealthy,
		}, 2*hcLimit)
		took := time.Since(killed)
		t.Logf("%s unhealthy %v after its health server stopped", a, took.Round(100*time.Millisecond))
		if took > hcLimit {
			t.Errorf("%s became unhealthy %v after its health check started failing; want within interval × threshold (%ds × %d) + %v", a, took.Round(100*time.Millisecond), hcInterval, hcThreshold, hcSlack)
		}
		if took < hcMin {
			t.Errorf("%s became unhealthy %v after its health check started failing; it takes %d failed checks in a row, %ds apart", a, took.Round(100*time.Millisecond), hcThreshold, hcInterval)
		}
		h := acct.TargetHealth(t, tgARN)[a.id]
		if h.Reason != elbtypes.TargetHealthReasonEnumFailedHealthChecks && h.Reason != elbtypes.TargetHealthReasonEnumTimeout {
			t.Errorf("%s: unhealthy with reason %q (%q), want Target.FailedHealthChecks (the check's connection is refused)", a, h.Reason, aws.ToString(h.Description))
		}
		// The forwarder follows the store a controller pass later: wait
		// for that, then every new connection must go to B.
		testenv.WaitFor(t, settle, "new connections to leave "+a.String(), func() error {
			for _, r := range curlMany(t, env, client, "http://"+name+"/", 10) {
				if !r.OK || r.Label != "B" {
					return fmt.Errorf("curl http://%s/: %s", name, r)
				}
			}
			return nil
		})
		for _, r := range curlMany(t, env, client, "http://"+name+"/", requests) {
			if !r.OK || r.Label != "B" {
				t.Errorf("curl http://%s/ with %s unhealthy: %s; want every new connection on B", name, a, r)
			}
		}
	})

	t.Run("it comes back once its checks pass", func(t *testing.T) {
		started := srv.startHealth(t, env, a)
		acct.WaitTargetStates(t, tgARN, states(elbtypes.TargetHealthStateEnumHealthy, a.id, b.id), 2*hcLimit)
		took := time.Since(started)
		t.Logf("%s healthy again %v after its health server started", a, took.Round(100*time.Millisecond))
		if took > hcLimit {
			t.Errorf("%s became healthy %v after its health check passed again; want within interval × threshold (%ds × %d) + %v", a, took.Round(100*time.Millisecond), hcInterval, hcThreshold, hcSlack)
		}
		if took < hcMin {
			t.Errorf("%s became healthy %v after its health check passed again; it takes %d passed checks in a row, %ds apart", a, took.Round(100*time.Millisecond), hcThreshold, hcInterval)
		}
		got := spread(t, curlMany(t, env, client, "http://"+name+"/", requests), nodeIPs, nil)
		if got["A"] == 0 || got["B"] == 0 {
			t.Errorf("%d new connections to http://%s/ reached %v once A was healthy again; want both targets", requests, name, got)
		}
	})

	t.Run("fail open when no target is healthy", func(t *testing.T) {
		srv.stopHealth(t, a)
		srv.stopHealth(t, b)
		acct.WaitTargetStates(t, tgARN, states(elbtypes.TargetHealthStateEnumUnhealthy, a.id, b.id), 2*hcLimit)
		// The resolver follows the store a controller pass later, after
		// the forwarder: once it answers both nodes, the nodes fail open.
		testenv.WaitFor(t, settle, "the resolver to answer both nodes with no healthy target", func() error {
			if r := dnsQuery(t, env, client, "A", name); r.Rcode != "NOERROR" || !sameSet(r.Answers, []string{nodeA, nodeB}) {
				return fmt.Errorf("dig @10.0.0.2 A %s with no healthy target = %s, want NOERROR with both nodes %s and %s", name, r, nodeA, nodeB)
			}
			return nil
		})
		rs := curlMany(t, env, client, "http://"+name+"/", requests)
		got := spread(t, rs, nodeIPs, nil)
		if got["A"] == 0 || got["B"] == 0 {
			t.Errorf("%d new connections to http://%s/ with both targets unhealthy reached %v; want both (fail open)", requests, name, got)
		}
	})
}

// states maps each id to state.
func states(state elbtypes.TargetHealthStateEnum, ids ...string) map[string]elbtypes.TargetHealthStateEnum {
	m := map[string]elbtypes.TargetHealthStateEnum{}
	for _, id := range ids {
		m[id] = state
	}
	return m
}

// checkDescribedNLB checks what DescribeLoadBalancers says of an active
// internal NLB with one node per subnet.
func checkDescribedNLB(t *testing.T, lb elbtypes.LoadBalancer, vpc string, subnets map[string]string) {
	t.Helper()
	if lb.Type != elbtypes.LoadBalancerTypeEnumNetwork || lb.Scheme != elbtypes.LoadBalancerSchemeEnumInternal ||
		aws.ToString(lb.VpcId) != vpc || lb.IpAddressType != elbtypes.IpAddressTypeIpv4 {
		t.Errorf("DescribeLoadBalancers: Type %q Scheme %q VpcId %q IpAddressType %q, want network internal %s ipv4", lb.Type, lb.Scheme, aws.ToString(lb.VpcId), lb.IpAddressType, vpc)
	}
	if lb.State == nil || lb.State.Code != elbtypes.LoadBalancerStateEnumActive {
		t.Errorf("DescribeLoadBalancers: State %+v, want active", lb.State)
	}
	if aws.ToString(lb.CanonicalHostedZoneId) == "" || lb.CreatedTime == nil {
		t.Errorf("DescribeLoadBalancers: CanonicalHostedZoneId %q CreatedTime %v, want both set", aws.ToString(lb.CanonicalHostedZoneId), lb.CreatedTime)
	}
	got := map[string]string{}
	for _, az := range lb.AvailabilityZones {
		got[aws.ToString(az.ZoneName)] = aws.ToString(az.SubnetId)
	}
	if fmt.Sprint(got) != fmt.Sprint(subnets) {
		t.Errorf("DescribeLoadBalancers: AvailabilityZones %v, want %v", got, subnets)
	}
}

// webServers are the HTTP servers of the targets, started from UserData
// and, for the health check port, stopped and started again by the test.
// The scripts, logs and pid files live in dir, which instances see: they
// share the host's file system.
type webServers struct {
	dir, python, script string
}

// webPy answers every GET with "<label> <address the connection came
// from>" and prints a line per request. After it is listening it writes its
// pid to the file named by its third argument, if any.
const webPy = `import os, sys, http.server
label, port = sys.argv[1], int(sys.argv[2])
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def do_GET(self):
        body = ("%s %s\n" % (label, self.client_address[0])).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, fmt, *args):
        print("privlink-e2e: %s %s %s" % (label, self.client_address[0], fmt % args), flush=True)
class S(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True
s = S(("0.0.0.0", port), H)
print("privlink-e2e: %s listening on %d" % (label, port), flush=True)
if len(sys.argv) > 3:
    with open(sys.argv[3] + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.rename(sys.argv[3] + ".tmp", sys.argv[3])
s.serve_forever()
`

func newWebServers(t *testing.T, dir string) *webServers {
	t.Helper()
	py, _ := pythonAndProbe(t)
	script := filepath.Join(dir, "web.py")
	if err := os.WriteFile(script, []byte(webPy), 0o644); err != nil {
		t.Fatal(err)
	}
	return &webServers{dir: dir, python: py, script: script}
}

func (w *webServers) pidFile(label string) string { return filepath.Join(w.dir, label+"-health.pid") }

// healthCommand is the shell command that starts label's health server on
// 8081 in the background, its output in a log of its own.
func (w *webServers) healthCommand(label string) string {
	return fmt.Sprintf("%s -u %s health-%s 8081 %s </dev/null >>%s 2>&1 &",
		w.python, w.script, label, w.pidFile(label), filepath.Join(w.dir, label+"-health.log"))
}

// userData starts the health server in the background and then serves
// HTTP on 80 in the foreground.
func (w *webServers) userData(label string) string {
	return fmt.Sprintf("#!/bin/sh\necho \"privlink-e2e: %[1]s booting\"\n%[2]s\nexec %[3]s -u %[4]s %[1]s 80\n",
		label, w.healthCommand(label), w.python, w.script)
}

// healthPid waits for label's health server to have written its pid, and
// checks that the pid is a process in the instance's namespace.
func (w *webServers) healthPid(t *testing.T, v vm, label string) int {
	t.Helper()
	return serverPid(t, v, "health server", w.pidFile(label))
}

// stopHealth kills the health server of a target and returns when it is
// gone.
func (w *webServers) stopHealth(t *testing.T, v vm) time.Time {
	t.Helper()
	label := strings.ToUpper(strings.TrimPrefix(v.name, "target-"))
	return killServer(t, v, "health server", w.pidFile(label))
}

// serverPid waits for a server of v (what: "web server", "health server")
// to have written its pid to pidFile, and checks that the pid is a process
// in v's namespace.
func serverPid(t *testing.T, v vm, what, pidFile string) int {
	t.Helper()
	var pid int
	testenv.WaitFor(t, settle, "the "+what+" of "+v.String()+" to write its pid", func() error {
		b, err := os.ReadFile(pidFile)
		if err != nil {
			return err
		}
		if pid, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil {
			return err
		}
		if !slices.Contains(e2e.NamespacePids(t, e2e.InstanceNamespace(v.id)), pid) {
			return fmt.Errorf("pid %d (%s) is not a process of %s", pid, e2e.ProcessCmdline(pid), e2e.InstanceNamespace(v.id))
		}
		return nil
	})
	return pid
}

// killServer kills a server of v by the pid it wrote to pidFile (the
// instances share the host's pid namespace, so nothing is killed by name),
// returns when it is gone and removes the pid file.
func killServer(t *testing.T, v vm, what, pidFile string) time.Time {
	t.Helper()
	pid := serverPid(t, v, what, pidFile)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill the %s of %s (pid %d): %v", what, v, pid, err)
	}
	testenv.WaitFor(t, settle, "the "+what+" of "+v.String()+" to die", func() error {
		if e2e.ProcessAlive(pid) {
			return fmt.Errorf("pid %d alive", pid)
		}
		return nil
	})
	os.Remove(pidFile)
	return time.Now()
}

// startHealth starts the health server of a target again inside its
// namespace and returns once it listens.
func (w *webServers) startHealth(t *testing.T, env *e2e.Env, v vm) time.Time {
	t.Helper()
	label := strings.ToUpper(strings.TrimPrefix(v.name, "target-"))
	if out, code := env.Exec(t, v.id, "/bin/sh", "-c", w.healthCommand(label)); code != 0 {
		t.Fatalf("start the health server of %s again: exit status %d\n%s", v, code, out)
	}
	w.healthPid(t, v, label)
	return time.Now()
}

// curlResult is the outcome of one curl: the body, and for a body of
// webPy's, the target's label and the source address it saw; or curl's
// error.
type curlResult struct {
	OK          bool
	Body        string
	Label, Peer string
	Error       string
}

func (r curlResult) String() string {
	switch {
	case !r.OK:
		return "error: " + r.Error
	case r.Label != "":
		return fmt.Sprintf("%s answered a connection from %s", r.Label, r.Peer)
	}
	return fmt.Sprintf("answer %q", r.Body)
}

// curlScript runs curl $N times on $URL, each time a new process and a
// new connection, and prints "ok <body>" or "err <status> <message>" for
// each.
const curlScript = `curl=$1 url=$2 n=$3
i=0
while [ $i -lt $n ]; do
  i=$((i+1))
  if out=$("$curl" -sS --max-time 3 "$url" 2>&1); then echo "ok $out"; else echo "err $? $out"; fi
done
`

// curlMany fetches url n times from an instance, with a new curl (and so
// a new connection and a new name lookup) each time.
func curlMany(t *testing.T, env *e2e.Env, from vm, url string, n int) []curlResult {
	t.Helper()
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Fatalf("curl: %v", err)
	}
	out, code := env.Exec(t, from.id, "/bin/sh", "-c", curlScript, "sh", curl, url, strconv.Itoa(n))
	if code != 0 {
		t.Fatalf("curl loop in %s: exit status %d\n%s", from, code, out)
	}
	var rs []curlResult
	for line := range strings.Lines(out) {
		line = strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(line, "ok "); ok {
			r := curlResult{OK: true, Body: rest}
			if f := strings.Fields(rest); len(f) == 2 {
				r.Label, r.Peer = f[0], f[1]
			}
			rs = append(rs, r)
		} else {
			rs = append(rs, curlResult{Error: strings.TrimPrefix(line, "err ")})
		}
	}
	if len(rs) != n {
		t.Fatalf("curl loop in %s: %d results for %d requests:\n%s", from, len(rs), n, out)
	}
	return rs
}

// spread counts the answers by target label. Every request must have been
// answered, and every target must have seen the connection come from one of
// the nodes; with peers (label → the node that target must see) it checks
// which.
func spread(t *testing.T, rs []curlResult, nodes []string, peers map[string]string) map[string]int {
	t.Helper()
	got := map[string]int{}
	for _, r := range rs {
		if !r.OK || r.Label == "" {
			t.Errorf("a request failed: %s", r)
			continue
		}
		got[r.Label]++
		if want, ok := peers[r.Label]; ok && r.Peer != want {
			t.Errorf("%s saw the connection come from %s, want the node %s", r.Label, r.Peer, want)
		}
		if !slices.Contains(nodes, r.Peer) {
			t.Errorf("%s saw the connection come from %s, which is none of the nodes %v", r.Label, r.Peer, nodes)
		}
	}
	return got
}

func sameSet(got, want []string) bool {
	a, b := slices.Clone(got), slices.Clone(want)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestPrivilegedNLBProxyProtocol: with proxy_protocol_v2.enabled on the
// target group, the target receives a Proxy Protocol v2 header before
// every connection's data, naming the original client (not the node) as
// the source and the node's listener as the destination; the health
// checks carry a LOCAL header, and a target that insists on the header
// stays healthy.
func TestPrivilegedNLBProxyProtocol(t *testing.T) {
	dir := t.TempDir()
	env := e2e.New(t)
	acct := env.Account("pp")
	vpc := aws.ToString(acct.CreateVpc(t, "10.0.0.0/16").VpcId)
	subA := aws.ToString(acct.CreateSubnet(t, vpc, "10.0.1.0/24", "us-east-1a").SubnetId)
	subC := aws.ToString(acct.CreateSubnet(t, vpc, "10.0.3.0/24", "us-east-1c").SubnetId)
	acct.WaitSubnetAvailable(t, subA, settle)
	acct.WaitSubnetAvailable(t, subC, settle)
	targetSG := createGroup(t, acct, vpc, "targets")
	authorize(t, acct, targetSG, tcpFromCIDR(80, 80, "10.0.0.0/16"))

	target := launch(t, acct, "pp-target", subA, "10.0.1.10", ppTargetUserData(t, dir, false), targetSG)
	client := launch(t, acct, "client", subC, "10.0.3.10", "")

	tg := acct.CreateTargetGroup(t, &elb.CreateTargetGroupInput{
		Name:                       aws.String("pp"),
		Protocol:                   elbtypes.ProtocolEnumTcp,
		Port:                       aws.Int32(80),
		VpcId:                      aws.String(vpc),
		HealthCheckProtocol:        elbtypes.ProtocolEnumHttp,
		HealthCheckPath:            aws.String("/"),
		HealthCheckIntervalSeconds: aws.Int32(hcInterval),
		HealthyThresholdCount:      aws.Int32(hcThreshold),
		UnhealthyThresholdCount:    aws.Int32(hcThreshold),
	})
	tgARN := aws.ToString(tg.TargetGroupArn)
	acct.SetTargetGroupAttributes(t, tgARN, "proxy_protocol_v2.enabled=true")
	lbARN := aws.ToString(acct.CreateNLB(t, "pp-nlb", []string{subA}).LoadBalancerArn)
	acct.CreateTCPListener(t, lbARN, 80, tgARN)
	waitRunning(t, acct, target, client)
	acct.RegisterTargets(t, tgARN, target.id)
	lb := acct.WaitLoadBalancerActive(t, lbARN, lbActive)
	name, node := aws.ToString(lb.DNSName), acct.NodeIPs(t, lbARN)["us-east-1a"]

	acct.WaitTargetStates(t, tgARN, states(elbtypes.TargetHealthStateEnumHealthy, target.id), 2*hcLimit)

	t.Run("the target learns the client's address", func(t *testing.T) {
		for _, r := range curlMany(t, env, client, "http://"+name+"/", 10) {
			if !r.OK {
				t.Errorf("curl http://%s/: %s", name, r)
				continue
			}
			// "pp PROXY <src> <sport> <dst> <dport> peer <peer>"
			f := strings.Fields(r.Body)
			want := fmt.Sprintf("pp PROXY %s <port> %s 80 peer %s", client.ip, node, node)
			ok := len(f) == 8 && f[0] == "pp" && f[1] == "PROXY" && f[2] == client.ip && f[4] == node && f[5] == "80" && f[6] == "peer" && f[7] == node
			if port, err := strconv.Atoi(f[min(3, len(f)-1)]); !ok || err != nil || port < 1024 || port > 65535 {
				t.Errorf("the target got %q; want %q: the client's address and ephemeral port as the source, the node's listener as the destination, the node as the peer", r.Body, want)
			}
		}
	})

	t.Run("health checks carry a LOCAL header and pass", func(t *testing.T) {
		// The target turned healthy after HealthyThresholdCount checks
		// in a row that it took, each with a LOCAL header first; and it
		// stays healthy while serving.
		console := acct.Observer().ConsoleOutput(t, target.id)
		if n := strings.Count(console, "privlink-e2e: pp LOCAL via "+node+"\n"); n < hcThreshold {
			t.Errorf("the target's console shows %d health checks with a PPv2 LOCAL header from the node %s, want at least %d:\n%s", n, node, hcThreshold, console)
		}
		checkPPConsole(t, console)
		if h := acct.TargetHealth(t, tgARN)[target.id]; h.State != elbtypes.TargetHealthStateEnumHealthy {
			t.Errorf("%s: %s (%s: %s), want healthy: the checks must carry a header the target can parse", target, h.State, h.Reason, aws.ToString(h.Description))
		}
	})
}

// ppPy is a target that insists on a Proxy Protocol v2 header: without
// one, it closes the connection. It prints each header ("LOCAL" or "PROXY
// src sport dst dport" and the peer) and answers HTTP requests with the
// same. With a third argument "vpce" it also reads the header's TLVs and
// adds "vpce <endpoint id from TLV 0xEA/0x01, or ->" to "PROXY …".
const ppPy = `import socket, struct, sys, threading
label, port = sys.argv[1], int(sys.argv[2])
want_vpce = sys.argv[3:] == ["vpce"]
SIG = b"\r\n\r\n\x00\r\nQUIT\n"
def log(*a):
    print("privlink-e2e:", label, *a, flush=True)
def recvn(c, n):
    b = b""
    while len(b) < n:
        x = c.recv(n - len(b))
        if not x:
            raise EOFError("closed after %d of %d bytes" % (len(b), n))
        b += x
    return b
def tlvs(b):
    out, i = [], 0
    while i < len(b):
        if i + 3 > len(b):
            raise ValueError("truncated TLV at %d" % i)
        typ, n = b[i], struct.unpack("!H", b[i + 1:i + 3])[0]
        if i + 3 + n > len(b):
            raise ValueError("TLV 0x%02x overruns the header" % typ)
        out.append((typ, b[i + 3:i + 3 + n]))
        i += 3 + n
    return out
def handle(c, peer):
    try:
        c.settimeout(10)
        hdr = recvn(c, 16)
        if hdr[:12] != SIG:
            log("nopp", "from", peer, repr(hdr))
            return
        vc, fam, n = hdr[12], hdr[13], struct.unpack("!H", hdr[14:16])[0]
        body = recvn(c, n)
        if vc >> 4 != 2:
            log("bad", "version", vc, "from", peer)
            return
        if vc & 0xF == 0:
            info = "LOCAL"
        elif vc & 0xF == 1 and fam == 0x11 and n >= 12:
            src, dst = socket.inet_ntoa(body[0:4]), socket.inet_ntoa(body[4:8])
            sport, dport = struct.unpack("!HH", body[8:12])
            info = "PROXY %s %d %s %d" % (src, sport, dst, dport)
            if want_vpce:
                vpce = "-"
                for typ, v in tlvs(body[12:]):
                    if typ == 0xEA and v[:1] == b"\x01":
                        vpce = v[1:].decode("ascii")
                info += " vpce " + vpce
        else:
            log("bad", "command", vc, "family", fam, "from", peer)
            return
        log(info, "via", peer)
        req = b""
        while b"\r\n\r\n" not in req:
            x = c.recv(4096)
            if not x:
                return
            req += x
        out = ("%s %s peer %s\n" % (label, info, peer)).encode()
        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(out) + out)
    except Exception as e:
        log("error", "from", peer, repr(e))
    finally:
        c.close()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port))
s.listen(128)
log("listening on", port)
while True:
    c, a = s.accept()
    threading.Thread(target=handle, args=(c, a[0]), daemon=True).start()
`

// ppTargetUserData writes ppPy into dir and returns the UserData of a
// target that runs it as "pp" on port 80, with vpce reading the endpoint id
// from the header's TLVs.
func ppTargetUserData(t *testing.T, dir string, vpce bool) string {
	t.Helper()
	py, _ := pythonAndProbe(t)
	script := filepath.Join(dir, "pp.py")
	if err := os.WriteFile(script, []byte(ppPy), 0o644); err != nil {
		t.Fatal(err)
	}
	args := "pp 80"
	if vpce {
		args += " vpce"
	}
	return fmt.Sprintf("#!/bin/sh\nexec %s -u %s %s\n", py, script, args)
}

// checkPPConsole fails t for every connection that ppPy's target could not
// take, as its console shows them.
func checkPPConsole(t *testing.T, console string) {
	t.Helper()
	for line := range strings.Lines(console) {
		if strings.Contains(line, " nopp ") || strings.Contains(line, " error ") || strings.Contains(line, " bad ") {
			t.Errorf("the target got a connection it could not take: %s", strings.TrimSpace(line))
		}
	}
}

// TestPrivilegedNLBIsolation: an NLB is reachable by name and by address
// from its own VPC only. Another account's VPC with the same CIDR cannot
// resolve the name (NXDOMAIN), does not reach the node's address (nothing
// is there), and when it puts an instance of its own at that address,
// reaches that instance and never the load balancer. Nor can the other
// account see the load balancer through the API.
func TestPrivilegedNLBIsolation(t *testing.T) {
	env := e2e.New(t)
	alice := env.Account("alice")
	bob := env.Account("bob")

	type network struct {
		vpc, subA, subC string
	}
	build := func(acct *e2e.Account) network {
		var n network
		n.vpc = aws.ToString(acct.CreateVpc(t, "10.0.0.0/16").VpcId)
		n.subA = aws.ToString(acct.CreateSubnet(t, n.vpc, "10.0.1.0/24", "us-east-1a").SubnetId)
		n.subC = aws.ToString(acct.CreateSubnet(t, n.vpc, "10.0.3.0/24", "us-east-1c").SubnetId)
		acct.WaitSubnetAvailable(t, n.subA, settle)
		acct.WaitSubnetAvailable(t, n.subC, settle)
		return n
	}
	an, bn := build(alice), build(bob)

	// alice: a target behind an NLB, and a client.
	sg := createGroup(t, alice, an.vpc, "targets")
	authorize(t, alice, sg, tcpFromCIDR(80, 80, "10.0.0.0/16"))
	authorize(t, alice, sg, tcpFromCIDR(8081, 8081, "10.0.0.0/16"))
	// Health checks on 8081, so that connections on 80 are traffic only.
	target := launch(t, alice, "alice-target", an.subA, "10.0.1.10", serverScript("alice", 80, 8081), sg)
	aliceClient := launch(t, alice, "alice-client", an.subC, "10.0.3.10", "")
	tg := alice.CreateTargetGroup(t, &elb.CreateTargetGroupInput{
		Name: aws.String("iso"), Protocol: elbtypes.ProtocolEnumTcp, Port: aws.Int32(80), VpcId: aws.String(an.vpc),
		HealthCheckPort:            aws.String("8081"),
		HealthCheckIntervalSeconds: aws.Int32(hcInterval), HealthyThresholdCount: aws.Int32(hcThreshold),
	})
	tgARN := aws.ToString(tg.TargetGroupArn)
	lbARN := aws.ToString(alice.CreateNLB(t, "iso-nlb", []string{an.subA}).LoadBalancerArn)
	alice.CreateTCPListener(t, lbARN, 80, tgARN)
	// bob: a client at the same address as alice's.
	bobClient := launch(t, bob, "bob-client", bn.subC, "10.0.3.10", "")
	waitRunning(t, alice, target, aliceClient)
	waitRunning(t, bob, bobClient)
	alice.RegisterTargets(t, tgARN, target.id)
	lb := alice.WaitLoadBalancerActive(t, lbARN, lbActive)
	name, node := aws.ToString(lb.DNSName), alice.NodeIPs(t, lbARN)["us-east-1a"]
	alice.WaitTargetStates(t, tgARN, states(elbtypes.TargetHealthStateEnumHealthy, target.id), 2*hcLimit)

	// The positive control: alice's client reaches the NLB by name and
	// by address.
	waitResolves(t, env, aliceClient, name, node)
	reach(t, env, aliceClient, node+":80", "alice")
	// Connections on 80 that alice's target accepted (from the node).
	accepted := func() int {
		n := 0
		for line := range strings.Lines(alice.Observer().ConsoleOutput(t, target.id)) {
			if strings.HasPrefix(line, "privlink-e2e: alice accepted ") && strings.HasSuffix(line, " on 80\n") {
				n++
			}
		}
		return n
	}
	before := accepted()

	t.Run("the other VPC's resolver does not know the name", func(t *testing.T) {
		if r := dnsQuery(t, env, bobClient, "A", name); r.Rcode != "NXDOMAIN" || len(r.Answers) != 0 {
			t.Errorf("%s: dig @10.0.0.2 A %s (alice's NLB) = %s, want NXDOMAIN", bobClient, name, r)
		}
		if r := getaddr(t, env, bobClient, name); r.Gaierror != "EAI_NONAME" {
			t.Errorf("%s: gethostbyname(%s) (alice's NLB) = %+v, want EAI_NONAME (NXDOMAIN)", bobClient, name, r)
		}
	})

	t.Run("the node's address is nothing in the other VPC", func(t *testing.T) {
		blocked(t, env, bobClient, "the node is in alice's VPC", node+":80", "10.0.1.10:80")
	})

	t.Run("the same address in the other VPC is the other VPC's", func(t *testing.T) {
		impostor := launch(t, bob, "bob-impostor", bn.subA, node, serverScript("bob", 80))
		waitRunning(t, bob, impostor)
		waitServing(t, env, impostor, "bob", 80)
		reach(t, env, bobClient, node+":80", "bob")
		for _, r := range tcpAll(t, env, bobClient, connectTimeout, slices.Repeat([]string{node + ":80"}, 10)...) {
			if !r.OK || r.Data != "bob\n" {
				t.Errorf("%s → %s:80: %s; want bob's own instance at that address", bobClient, node, r)
			}
		}
	})

	if got := accepted() - before; got != 0 {
		t.Errorf("alice's target accepted %d connections through its NLB while only bob connected; want none", got)
	}
	// alice's NLB still serves alice.
	reach(t, env, aliceClient, node+":80", "alice")

	t.Run("the other account cannot see it", func(t *testing.T) {
		_, err := bob.ELB.DescribeLoadBalancers(t.Context(), &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{lbARN}})
		e2e.WantError(t, err, "LoadBalancerNotFound", 400)
		all, err := bob.ELB.DescribeLoadBalancers(t.Context(), &elb.DescribeLoadBalancersInput{})
		if err != nil {
			t.Fatalf("bob: DescribeLoadBalancers: %v", err)
		}
		if len(all.LoadBalancers) != 0 {
			t.Errorf("bob: DescribeLoadBalancers lists %d load balancers, want none", len(all.LoadBalancers))
		}
		_, err = bob.ELB.DescribeTargetHealth(t.Context(), &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(tgARN)})
		e2e.WantError(t, err, "TargetGroupNotFound", 400)
		enis, err := bob.EC2.DescribeNetworkInterfaces(t.Context(), &ec2.DescribeNetworkInterfacesInput{})
		if err != nil {
			t.Fatalf("bob: DescribeNetworkInterfaces: %v", err)
		}
		for _, n := range enis.NetworkInterfaces {
			if n.InterfaceType == ec2types.NetworkInterfaceTypeNetworkLoadBalancer {
				t.Errorf("bob sees alice's node ENI %s", aws.ToString(n.NetworkInterfaceId))
			}
		}
	})
}

// TestPrivilegedNLBAWSCLI drives the ELBv2 API with the AWS CLI: a target
// group and an internal NLB created and described, a listener between
// them, and an error code as the CLI reports it. Each CLI run takes
// seconds, so the independent ones run at once; the harness deletes what
// the test made.
func TestPrivilegedNLBAWSCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI (aws) is not on PATH; skipping the ELBv2 CLI check")
	}
	env := e2e.New(t)
	acct := env.Account("elbcli")
	vpc := aws.ToString(acct.CreateVpc(t, "10.0.0.0/16").VpcId)
	sub := aws.ToString(acct.CreateSubnet(t, vpc, "10.0.1.0/24", "us-east-1a").SubnetId)
	acct.WaitSubnetAvailable(t, sub, settle)

	// cli runs `aws elbv2 args…` with text output, each call in a
	// goroutine of its own, and returns their results in order.
	type result struct {
		args           []string
		stdout, stderr string
		err            error
	}
	cli := func(calls ...[]string) []result {
		out := make([]result, len(calls))
		var wg sync.WaitGroup
		for i, args := range calls {
			wg.Go(func() {
				cmd := exec.CommandContext(t.Context(), "aws", append([]string{"--endpoint-url", env.URL(), "--output", "text", "elbv2"}, args...)...)
				cmd.Env = clientEnv(env, acct)
				var stdout, stderr strings.Builder
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				err := cmd.Run()
				out[i] = result{args: args, stdout: strings.TrimSpace(stdout.String()), stderr: stderr.String(), err: err}
			})
		}
		wg.Wait()
		return out
	}
	ok := func(rs []result) {
		t.Helper()
		for _, r := range rs {
			if r.err != nil {
				t.Fatalf("aws elbv2 %s: %v\n%s", strings.Join(r.args, " "), r.err, r.stderr)
			}
		}
	}
	unknownTG := "arn:aws:elasticloadbalancing:us-east-1:" + acct.ID + ":targetgroup/cli-tg/0123456789abcdef"

	rs := cli(
		[]string{"create-target-group", "--name", "cli-tg", "--protocol", "TCP", "--port", "80", "--vpc-id", vpc,
			"--health-check-interval-seconds", "5", "--query", "TargetGroups[0].[TargetGroupArn,Protocol,Port,HealthCheckIntervalSeconds,TargetType]"},
		[]string{"create-load-balancer", "--name", "cli-nlb", "--type", "network", "--scheme", "internal", "--subnets", sub,
			"--query", "LoadBalancers[0].[LoadBalancerArn,DNSName,Type,Scheme,VpcId]"},
		[]string{"describe-target-health", "--target-group-arn", unknownTG},
	)
	if r := rs[2]; r.err == nil || !strings.Contains(r.stderr, "(TargetGroupNotFound)") {
		t.Errorf("describe-target-health of an unknown group: err %v, stderr %q; want the CLI to report TargetGroupNotFound", r.err, r.stderr)
	}
	ok(rs[:2])
	f := strings.Split(rs[0].stdout, "\t")
	if len(f) != 5 || !strings.Contains(f[0], ":targetgroup/cli-tg/") || strings.Join(f[1:], " ") != "TCP 80 5 instance" {
		t.Fatalf("create-target-group printed %q, want <arn> TCP 80 5 instance", rs[0].stdout)
	}
	tgARN := f[0]
	f = strings.Split(rs[1].stdout, "\t")
	if len(f) != 5 || !strings.Contains(f[0], ":loadbalancer/net/cli-nlb/") || !dnsNameRE.MatchString(f[1]) || strings.Join(f[2:], " ") != "network internal "+vpc {
		t.Fatalf("create-load-balancer printed %q, want <arn> <dns name> network internal %s", rs[1].stdout, vpc)
	}
	lbARN := f[0]
	acct.NodeENIs(t, lbARN) // tracked for the cleanup

	rs = cli(
		[]string{"describe-target-groups", "--names", "cli-tg", "--query", "TargetGroups[0].TargetGroupArn"},
		[]string{"describe-load-balancers", "--names", "cli-nlb", "--query", "LoadBalancers[0].[AvailabilityZones[0].ZoneName,AvailabilityZones[0].SubnetId,State.Code]"},
		[]string{"create-listener", "--load-balancer-arn", lbARN, "--protocol", "TCP", "--port", "80",
			"--default-actions", "Type=forward,TargetGroupArn=" + tgARN, "--query", "Listeners[0].[Protocol,Port,DefaultActions[0].TargetGroupArn,ListenerArn]"},
	)
	ok(rs)
	if got := rs[0].stdout; got != tgARN {
		t.Errorf("describe-target-groups --names cli-tg = %q, want %s", got, tgARN)
	}
	if got := rs[1].stdout; got != "us-east-1a\t"+sub+"\tprovisioning" && got != "us-east-1a\t"+sub+"\tactive" {
		t.Errorf("describe-load-balancers --names cli-nlb = %q, want us-east-1a %s provisioning|active", got, sub)
	}
	f = strings.Split(rs[2].stdout, "\t")
	if len(f) != 4 || strings.Join(f[:3], " ") != "TCP 80 "+tgARN || !strings.Contains(f[3], ":listener/net/cli-nlb/") {
		t.Fatalf("create-listener printed %q, want TCP 80 %s <listener arn>", rs[2].stdout, tgARN)
	}
	listenerARN := f[3]

	// Listener attributes: AWS's one TCP attribute, its default, a change
	// (answered with the attributes after it) and a value out of range.
	attrs := func(verb string, more ...string) []string {
		return append([]string{verb + "-listener-attributes", "--listener-arn", listenerARN, "--query", "Attributes[].[Key,Value]"}, more...)
	}
	rs = cli(attrs("describe"))
	ok(rs)
	if got := rs[0].stdout; got != "tcp.idle_timeout.seconds\t350" {
		t.Errorf("describe-listener-attributes = %q, want tcp.idle_timeout.seconds 350", got)
	}
	rs = cli(attrs("modify", "--attributes", "Key=tcp.idle_timeout.seconds,Value=120"))
	ok(rs)
	if got := rs[0].stdout; got != "tcp.idle_timeout.seconds\t120" {
		t.Errorf("modify-listener-attributes = %q, want tcp.idle_timeout.seconds 120", got)
	}
	rs = cli(attrs("describe"), attrs("modify", "--attributes", "Key=tcp.idle_timeout.seconds,Value=59"))
	ok(rs[:1])
	if got := rs[0].stdout; got != "tcp.idle_timeout.seconds\t120" {
		t.Errorf("describe-listener-attributes after the change = %q, want tcp.idle_timeout.seconds 120", got)
	}
	if r := rs[1]; r.err == nil || !strings.Contains(r.stderr, "(ValidationError)") {
		t.Errorf("modify-listener-attributes to 59 s: err %v, stderr %q; want the CLI to report ValidationError", r.err, r.stderr)
	}
}
