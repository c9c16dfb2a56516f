package e2e_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
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

// The acceptance scripts of issue 5: AWS PrivateLink. A provider puts an
// internal NLB (its targets web servers in its own VPC 10.0.0.0/16) behind
// an endpoint service; consumers, in other accounts and in VPCs with the
// same CIDR, create interface endpoints to it and reach the provider's page
// through the endpoint's DNS names, from instances of theirs, and never the
// provider's addresses themselves. Traffic is driven with curl and
// testdata/probe.py from inside the consumers' instances.

const (
	// endpointReady bounds an endpoint's pending → available, and any
	// other change of the data plane an API call makes.
	endpointReady = 15 * time.Second
	// restartLimit bounds how soon after a restart traffic flows again
	// (the test logs how soon it did).
	restartLimit = 15 * time.Second
)

// zoneNumber numbers the zones: each side's subnet in zone n is 10.0.n.0/24
// (provider) or 10.0.(4+n).0/24 (consumer).
var zoneNumber = map[string]int{"us-east-1a": 1, "us-east-1b": 2, "us-east-1c": 3}

// zoneLabel is the label of a zone's target: "A" for us-east-1a.
func zoneLabel(zone string) string { return strings.ToUpper(zone[len(zone)-1:]) }

// plProvider is the provider's side: a VPC 10.0.0.0/16 with one subnet and
// one target (a web server on 80 answering "<label> <peer>") per zone, a
// target group (health checks every 5 s, thresholds 2) and an internal
// NLB with a node in each zone and a TCP:80 listener.
type plProvider struct {
	acct    *e2e.Account
	vpc     string
	zones   []string
	subnets map[string]string // zone → subnet
	targets map[string]vm     // zone → target
	web     *webServers
	tgARN   string
	lbARN   string
	nlbSG   string            // the NLB's security group ("" without providerSpec.nlbFrom)
	nodes   map[string]string // zone → node address
}

type providerSpec struct {
	zones []string // default: us-east-1a
	// userData is a target's UserData; nil: web servers (webUserData).
	userData func(p *plProvider, label string) string
	tgAttrs  []string // "key=value" attributes of the target group
	// healthCheckPath, if set, makes the health check HTTP GET it.
	healthCheckPath string
	// nlbFrom, if set, gives the NLB a security group admitting TCP 80
	// from this CIDR only (plProvider.nlbGroup).
	nlbFrom string
}

// newProvider builds the provider's side and returns once the load
// balancer is active and every target healthy.
func newProvider(t *testing.T, acct *e2e.Account, dir string, spec providerSpec) *plProvider {
	t.Helper()
	if len(spec.zones) == 0 {
		spec.zones = []string{"us-east-1a"}
	}
	p := &plProvider{acct: acct, zones: spec.zones, subnets: map[string]string{}, targets: map[string]vm{}, web: newWebServers(t, dir)}
	p.vpc = aws.ToString(acct.CreateVpc(t, "10.0.0.0/16").VpcId)
	var subnets []string
	for _, z := range spec.zones {
		p.subnets[z] = aws.ToString(acct.CreateSubnet(t, p.vpc, fmt.Sprintf("10.0.%d.0/24", zoneNumber[z]), z).SubnetId)
		subnets = append(subnets, p.subnets[z])
	}
	for _, sn := range subnets {
		acct.WaitSubnetAvailable(t, sn, settle)
	}
	sg := createGroup(t, acct, p.vpc, "targets")
	authorize(t, acct, sg, tcpFromCIDR(80, 80, "10.0.0.0/16"))
	var targets []vm
	var ids []string
	for _, z := range spec.zones {
		label := zoneLabel(z)
		ud := webUserData(p.web, label)
		if spec.userData != nil {
			ud = spec.userData(p, label)
		}
		v := launch(t, acct, "target-"+label, p.subnets[z], fmt.Sprintf("10.0.%d.10", zoneNumber[z]), ud, sg)
		p.targets[z] = v
		targets = append(targets, v)
		ids = append(ids, v.id)
	}
	tgIn := &elb.CreateTargetGroupInput{
		Name:                       aws.String("svc"),
		Protocol:                   elbtypes.ProtocolEnumTcp,
		Port:                       aws.Int32(80),
		VpcId:                      aws.String(p.vpc),
		TargetType:                 elbtypes.TargetTypeEnumInstance,
		HealthCheckIntervalSeconds: aws.Int32(hcInterval),
		HealthyThresholdCount:      aws.Int32(hcThreshold),
		UnhealthyThresholdCount:    aws.Int32(hcThreshold),
	}
	if spec.healthCheckPath != "" {
		tgIn.HealthCheckProtocol = elbtypes.ProtocolEnumHttp
		tgIn.HealthCheckPath = aws.String(spec.healthCheckPath)
	}
	p.tgARN = aws.ToString(acct.CreateTargetGroup(t, tgIn).TargetGroupArn)
	if len(spec.tgAttrs) > 0 {
		acct.SetTargetGroupAttributes(t, p.tgARN, spec.tgAttrs...)
	}
	var lbMods []func(*elb.CreateLoadBalancerInput)
	if spec.nlbFrom != "" {
		p.nlbSG = createGroup(t, acct, p.vpc, "nlb")
		authorize(t, acct, p.nlbSG, tcpFromCIDR(80, 80, spec.nlbFrom))
		lbMods = append(lbMods, func(in *elb.CreateLoadBalancerInput) { in.SecurityGroups = []string{p.nlbSG} })
	}
	p.lbARN = aws.ToString(acct.CreateNLB(t, "svc-nlb", subnets, lbMods...).LoadBalancerArn)
	acct.CreateTCPListener(t, p.lbARN, 80, p.tgARN)
	waitRunning(t, acct, targets...)
	acct.RegisterTargets(t, p.tgARN, ids...)
	acct.WaitLoadBalancerActive(t, p.lbARN, lbActive)
	p.nodes = acct.NodeIPs(t, p.lbARN)
	acct.WaitTargetStates(t, p.tgARN, states(elbtypes.TargetHealthStateEnumHealthy, ids...), 2*hcLimit)
	t.Logf("provider %s: NLB %s active with nodes %v, targets %v healthy", acct.ID, p.lbARN, p.nodes, ids)
	return p
}

// service creates the provider's endpoint service on its NLB.
func (p *plProvider) service(t *testing.T, mods ...func(*ec2.CreateVpcEndpointServiceConfigurationInput)) ec2types.ServiceConfiguration {
	t.Helper()
	return p.acct.CreateEndpointService(t, []string{p.lbARN}, mods...)
}

// nodeIPs returns the addresses of the provider's nodes.
func (p *plProvider) nodeIPs() []string {
	var out []string
	for _, z := range p.zones {
		out = append(out, p.nodes[z])
	}
	return out
}

// webPid is where the target labelled label's web server writes its pid.
func webPid(w *webServers, label string) string { return filepath.Join(w.dir, label+"-web.pid") }

// webCommand runs label's web server on 80 (webPy), writing its pid.
func webCommand(w *webServers, label string) string {
	return fmt.Sprintf("%s -u %s %s 80 %s", w.python, w.script, label, webPid(w, label))
}

// webUserData is a target's UserData: the web server in the foreground.
func webUserData(w *webServers, label string) string {
	return fmt.Sprintf("#!/bin/sh\necho \"privlink-e2e: %s booting\"\nexec %s\n", label, webCommand(w, label))
}

// stopWeb kills the web server of a target (by the pid it wrote, which
// must be a process of the target's namespace) and returns when it is gone.
func stopWeb(t *testing.T, w *webServers, v vm, label string) time.Time {
	t.Helper()
	return killServer(t, v, "web server", webPid(w, label))
}

// startWeb starts a target's web server again, in the background inside
// its namespace, and returns once it has written its pid (it listens
// then).
func startWeb(t *testing.T, env *e2e.Env, w *webServers, v vm, label string) {
	t.Helper()
	cmd := fmt.Sprintf("%s </dev/null >>%s 2>&1 &", webCommand(w, label), filepath.Join(w.dir, label+"-web.log"))
	if out, code := env.Exec(t, v.id, "/bin/sh", "-c", cmd); code != 0 {
		t.Fatalf("start the web server of %s again: exit status %d\n%s", v, code, out)
	}
	testenv.WaitFor(t, settle, "the web server of "+v.String()+" to write its pid", func() error {
		_, err := os.Stat(webPid(w, label))
		return err
	})
}

// plConsumer is a consumer's side: a VPC 10.0.0.0/16 (the provider's CIDR)
// with a subnet 10.0.(4+n).0/24 per zone n for endpoints, a security group
// for endpoints that lets the VPC in on port 80, and a client instance at
// 10.0.4.10 in a subnet of its own, 10.0.4.0/24 in us-east-1c. (Not in an
// endpoint's subnet: glibc sorts the addresses of a name by RFC 6724, whose
// rule 9 puts an address of the client's own subnet first, so a client
// there would always pick the endpoint's interface next to it.)
type plConsumer struct {
	acct    *e2e.Account
	vpc     string
	subnets map[string]string // zone → subnet
	sg      string
	client  vm
}

// newConsumer builds a consumer's side in zones (default us-east-1a) and
// returns once its client runs.
func newConsumer(t *testing.T, acct *e2e.Account, zones ...string) *plConsumer {
	t.Helper()
	if len(zones) == 0 {
		zones = []string{"us-east-1a"}
	}
	c := &plConsumer{acct: acct, subnets: map[string]string{}}
	c.vpc = aws.ToString(acct.CreateVpc(t, "10.0.0.0/16").VpcId)
	for _, z := range zones {
		c.subnets[z] = aws.ToString(acct.CreateSubnet(t, c.vpc, fmt.Sprintf("10.0.%d.0/24", 4+zoneNumber[z]), z).SubnetId)
	}
	for _, sn := range c.subnets {
		acct.WaitSubnetAvailable(t, sn, settle)
	}
	clientSub := aws.ToString(acct.CreateSubnet(t, c.vpc, "10.0.4.0/24", "us-east-1c").SubnetId)
	acct.WaitSubnetAvailable(t, clientSub, settle)
	c.client = launch(t, acct, acct.Name+"-client", clientSub, "10.0.4.10", "")
	c.sg = createGroup(t, acct, c.vpc, "endpoint")
	authorize(t, acct, c.sg, tcpFromCIDR(80, 80, "10.0.0.0/16"))
	waitRunning(t, acct, c.client)
	return c
}

// endpoint creates an interface endpoint to serviceName with a network
// interface in each of zones (default: every zone of the consumer, in
// zone order) and the consumer's endpoint group.
func (c *plConsumer) endpoint(t *testing.T, serviceName string, zones []string, mods ...func(*ec2.CreateVpcEndpointInput)) ec2types.VpcEndpoint {
	t.Helper()
	if len(zones) == 0 {
		for z := range c.subnets {
			zones = append(zones, z)
		}
		slices.Sort(zones)
	}
	var subnets []string
	for _, z := range zones {
		subnets = append(subnets, c.subnets[z])
	}
	return c.acct.CreateInterfaceEndpoint(t, c.vpc, serviceName, subnets, []string{c.sg}, mods...)
}

// endpointIPs returns the addresses of an endpoint's network interfaces by
// zone, checking that each is a requester-managed vpc_endpoint interface,
// once each has a namespace of its own.
func endpointIPs(t *testing.T, acct *e2e.Account, ep ec2types.VpcEndpoint) map[string]string {
	t.Helper()
	out, err := acct.Observer().EC2.DescribeNetworkInterfaces(t.Context(), &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: ep.NetworkInterfaceIds})
	if err != nil {
		t.Fatalf("%s: DescribeNetworkInterfaces(%v): %v", acct.Name, ep.NetworkInterfaceIds, err)
	}
	if len(out.NetworkInterfaces) != len(ep.NetworkInterfaceIds) {
		t.Fatalf("%s: DescribeNetworkInterfaces(%v) returned %d interfaces", acct.Name, ep.NetworkInterfaceIds, len(out.NetworkInterfaces))
	}
	ips := map[string]string{}
	for _, n := range out.NetworkInterfaces {
		id := aws.ToString(n.NetworkInterfaceId)
		if n.InterfaceType != ec2types.NetworkInterfaceTypeVpcEndpoint || !aws.ToBool(n.RequesterManaged) {
			t.Errorf("endpoint ENI %s: InterfaceType %q RequesterManaged %v, want a requester-managed vpc_endpoint interface", id, n.InterfaceType, aws.ToBool(n.RequesterManaged))
		}
		if want := "VPC Endpoint Interface " + aws.ToString(ep.VpcEndpointId); aws.ToString(n.Description) != want {
			t.Errorf("endpoint ENI %s: Description %q, want %q", id, aws.ToString(n.Description), want)
		}
		testenv.WaitFor(t, endpointReady, "the namespace of endpoint ENI "+id, func() error {
			if !e2e.HasNamespace(e2e.NamespaceName(id)) {
				return fmt.Errorf("no namespace %s", e2e.NamespaceName(id))
			}
			return nil
		})
		ips[aws.ToString(n.AvailabilityZone)] = aws.ToString(n.PrivateIpAddress)
	}
	return ips
}

// regionalName is an endpoint's regional DNS name: the first DNS entry.
func regionalName(t *testing.T, ep ec2types.VpcEndpoint) string {
	t.Helper()
	if len(ep.DnsEntries) == 0 {
		t.Fatalf("endpoint %s has no DNS entries", aws.ToString(ep.VpcEndpointId))
	}
	return aws.ToString(ep.DnsEntries[0].DnsName)
}

// zonalName is an endpoint's DNS name in one zone.
func zonalName(t *testing.T, ep ec2types.VpcEndpoint, zone string) string {
	t.Helper()
	for _, d := range ep.DnsEntries[1:] {
		if n := aws.ToString(d.DnsName); strings.Contains(n, "-"+zone+".") {
			return n
		}
	}
	t.Fatalf("endpoint %s has no zonal DNS name for %s: %+v", aws.ToString(ep.VpcEndpointId), zone, ep.DnsEntries)
	return ""
}

// allServed checks that every result is the page of the target labelled
// label, answering a connection from the node at peer.
func allServed(t *testing.T, rs []curlResult, url, label, peer string) {
	t.Helper()
	for _, r := range rs {
		if !r.OK || r.Label != label || r.Peer != peer {
			t.Errorf("curl %s: %s; want %s answering a connection from its zone's node %s", url, r, label, peer)
		}
	}
}

// allFail checks that no request was answered.
func allFail(t *testing.T, rs []curlResult, url, why string) {
	t.Helper()
	for _, r := range rs {
		if r.OK {
			t.Errorf("curl %s: %s; want it to fail: %s", url, r, why)
		}
	}
	if len(rs) > 0 && !rs[0].OK {
		t.Logf("curl %s fails as it should (%s): %s", url, why, rs[0].Error)
	}
}

// waitServed polls, a new curl each time, until url answers with label's
// page, and returns how long that took.
func waitServed(t *testing.T, env *e2e.Env, from vm, url, label string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	testenv.WaitFor(t, timeout, from.String()+" → "+url+" answering "+label, func() error {
		r := curlMany(t, env, from, url, 1)[0]
		if !r.OK || r.Label != label {
			return errors.New(r.String())
		}
		return nil
	})
	return time.Since(start)
}

// waitRefused polls, a new connection each time, until target (host:port)
// accepts none within a second.
func waitRefused(t *testing.T, env *e2e.Env, from vm, target string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	testenv.WaitFor(t, timeout, from.String()+" → "+target+" to fail", func() error {
		if r := tcp(t, env, from, connectTimeout, target)[target]; r.OK {
			return errors.New(r.String())
		}
		return nil
	})
	return time.Since(start)
}

// curlEachScript fetches every URL at once with curl -m 2 and prints
// "ok <url> <body>" or "err <url> <status> <message>" for each.
const curlEachScript = `curl=$1; shift
for u in "$@"; do
  ( if out=$("$curl" -sS -m 2 "$u" 2>&1); then echo "ok $u $out"; else echo "err $u $? $out"; fi ) &
done
wait
`

// unreachable checks, with curl -m 2 from an instance, that none of the
// URLs answers.
func unreachable(t *testing.T, env *e2e.Env, from vm, why string, urls ...string) {
	t.Helper()
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Fatalf("curl: %v", err)
	}
	out, code := env.Exec(t, from.id, append([]string{"/bin/sh", "-c", curlEachScript, "sh", curl}, urls...)...)
	if code != 0 {
		t.Fatalf("curl in %s: exit status %d\n%s", from, code, out)
	}
	seen := 0
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		seen++
		if f[0] == "ok" {
			t.Errorf("%s: curl -m 2 %s answered %q; want nothing: %s", from, f[1], strings.Join(f[2:], " "), why)
		} else {
			t.Logf("%s: curl -m 2 %s: %s", from, f[1], strings.TrimSpace(strings.Join(f[2:], " ")))
		}
	}
	if seen != len(urls) {
		t.Fatalf("curl in %s: %d results for %d URLs:\n%s", from, seen, len(urls), out)
	}
}

// awsCLI runs `aws --endpoint-url <daemon> args…` as acct (AWS CLI, JSON
// output) and decodes its output into out (nil: ignore it).
func awsCLI(t *testing.T, env *e2e.Env, acct *e2e.Account, out any, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "aws", append([]string{"--endpoint-url", env.URL()}, args...)...)
	cmd.Env = clientEnv(env, acct)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: aws %s: %v\nstdout:\n%s\nstderr:\n%s", acct.Name, strings.Join(args, " "), err, stdout.Bytes(), stderr.Bytes())
	}
	t.Logf("%s: aws %s:\n%s", acct.Name, strings.Join(args, " "), stdout.Bytes())
	if out != nil {
		if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
			t.Fatalf("%s: aws %s printed %q: %v", acct.Name, strings.Join(args, " "), stdout.Bytes(), err)
		}
	}
}

// holdPy opens one connection, sends the start of an HTTP request (so
// that the web server waits for the rest), and logs to a file when it is
// connected and when the connection ends, with the time (Unix seconds).
const holdPy = `import socket, sys, time
host, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def log(line):
    with open(out, "a") as f:
        f.write(line + "\n")
try:
    s = socket.create_connection((host, port), timeout=3)
    s.sendall(b"GET / HTTP/1.0\r\n")
except OSError as e:
    log("error %.6f %s" % (time.time(), e))
    sys.exit(0)
log("connected %.6f" % time.time())
s.settimeout(60)
try:
    b = s.recv(4096)
    log("closed %.6f %s" % (time.time(), "eof" if not b else "data " + repr(b)))
except socket.timeout:
    log("timeout %.6f" % time.time())
except OSError as e:
    log("closed %.6f %s" % (time.time(), type(e).__name__))
`

// heldConn is a long-lived connection opened by holdPy in an instance.
type heldConn struct{ log string }

// hold opens a long-lived connection from an instance to target
// (host:port) and returns once it is established.
func hold(t *testing.T, env *e2e.Env, dir string, from vm, target string) heldConn {
	t.Helper()
	py, _ := pythonAndProbe(t)
	script := filepath.Join(dir, "hold.py")
	if err := os.WriteFile(script, []byte(holdPy), 0o644); err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(target, ":")
	h := heldConn{log: filepath.Join(dir, "hold-"+strings.ReplaceAll(target, ":", "-")+".log")}
	// The script appends: an earlier hold of the same target must not
	// answer for this one.
	if err := os.Remove(h.log); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	cmd := fmt.Sprintf("%s -u %s %s %s %s </dev/null >/dev/null 2>&1 &", py, script, host, port, h.log)
	if out, code := env.Exec(t, from.id, "/bin/sh", "-c", cmd); code != 0 {
		t.Fatalf("start a long-lived connection from %s: exit status %d\n%s", from, code, out)
	}
	testenv.WaitFor(t, settle, from.String()+" connected to "+target, func() error {
		b, _ := os.ReadFile(h.log)
		switch s := string(b); {
		case strings.HasPrefix(s, "error"):
			t.Fatalf("%s could not connect to %s: %s", from, target, s)
		case !strings.HasPrefix(s, "connected"):
			return errors.New("not connected yet")
		}
		return nil
	})
	return h
}

// closedAt waits until the held connection has ended and returns when it
// did (the instance's clock is the host's).
func (h heldConn) closedAt(t *testing.T, timeout time.Duration) (time.Time, string) {
	t.Helper()
	var at time.Time
	var how string
	testenv.WaitFor(t, timeout, "the long-lived connection to end", func() error {
		b, _ := os.ReadFile(h.log)
		for line := range strings.Lines(string(b)) {
			f := strings.Fields(line)
			if len(f) < 2 || f[0] == "connected" {
				continue
			}
			if f[0] == "timeout" {
				t.Fatalf("the long-lived connection was still open 60 s later")
			}
			sec, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				t.Fatalf("hold log line %q: %v", line, err)
			}
			at, how = time.Unix(0, int64(sec*1e9)), strings.Join(f[2:], " ")
			return nil
		}
		return errors.New("still open")
	})
	return at, how
}

// TestPrivilegedPrivateLinkAWSCLI is the seed's script, its three commands
// run with the AWS CLI as written (with --endpoint-url): the provider
// creates an endpoint service that requires acceptance for its NLB; a
// consumer in another account, in a VPC with the same CIDR, creates an
// interface endpoint to it; the provider accepts. Nothing flows before the
// acceptance; then the consumer's instance gets the provider's page through
// the endpoint's DNS name, and never reaches the provider's addresses.
// Rejecting the endpoint resets the flows through it within a second;
// deleting an endpoint stops it, and it is gone (NotFound) after.
func TestPrivilegedPrivateLinkAWSCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI (aws) is not on PATH; skipping the PrivateLink CLI script")
	}
	dir := t.TempDir()
	env := e2e.New(t)
	prov := newProvider(t, env.Account("provider"), dir, providerSpec{})
	cons := newConsumer(t, env.Account("consumer"))
	const zone = "us-east-1a"
	node, target := prov.nodes[zone], prov.targets[zone]

	// Provider: aws ec2 create-vpc-endpoint-service-configuration.
	var created struct {
		ServiceConfiguration struct {
			ServiceId, ServiceName, ServiceState string
			AcceptanceRequired                   bool
			ServiceType                          []struct{ ServiceType string }
			AvailabilityZones                    []string
			NetworkLoadBalancerArns              []string
			BaseEndpointDnsNames                 []string
		}
	}
	awsCLI(t, env, prov.acct, &created, "ec2", "create-vpc-endpoint-service-configuration",
		"--network-load-balancer-arns", prov.lbARN, "--acceptance-required")
	sc := created.ServiceConfiguration
	svcID, svcName := sc.ServiceId, sc.ServiceName
	if !strings.HasPrefix(svcID, "vpce-svc-") || svcName != "com.amazonaws.vpce.us-east-1."+svcID || sc.ServiceState != "Available" ||
		!sc.AcceptanceRequired || len(sc.ServiceType) != 1 || sc.ServiceType[0].ServiceType != "Interface" ||
		!slices.Equal(sc.AvailabilityZones, []string{zone}) || !slices.Equal(sc.NetworkLoadBalancerArns, []string{prov.lbARN}) ||
		!slices.Equal(sc.BaseEndpointDnsNames, []string{svcID + ".us-east-1.vpce.amazonaws.com"}) {
		t.Errorf("create-vpc-endpoint-service-configuration = %+v; want an Available Interface service com.amazonaws.vpce.us-east-1.vpce-svc-… in %s of %s that requires acceptance", sc, zone, prov.lbARN)
	}
	if svcID == "" {
		t.FailNow()
	}
	prov.acct.AllowPrincipals(t, svcID, cons.acct.Principal())

	// Consumer: aws ec2 create-vpc-endpoint.
	var ep1Out struct {
		VpcEndpoint struct {
			VpcEndpointId, VpcEndpointType, VpcId, ServiceName, State string
			SubnetIds, NetworkInterfaceIds                            []string
			Groups                                                    []struct{ GroupId string }
			DnsEntries                                                []struct{ DnsName string }
		}
	}
	awsCLI(t, env, cons.acct, &ep1Out, "ec2", "create-vpc-endpoint", "--vpc-id", cons.vpc, "--service-name", svcName,
		"--vpc-endpoint-type", "Interface", "--subnet-ids", cons.subnets[zone], "--security-group-ids", cons.sg)
	got := ep1Out.VpcEndpoint
	ep1ID := got.VpcEndpointId
	if !strings.HasPrefix(ep1ID, "vpce-") || got.VpcEndpointType != "Interface" || got.VpcId != cons.vpc || got.ServiceName != svcName ||
		got.State != e2e.EndpointPendingAcceptance || !slices.Equal(got.SubnetIds, []string{cons.subnets[zone]}) ||
		len(got.NetworkInterfaceIds) != 1 || len(got.Groups) != 1 || got.Groups[0].GroupId != cons.sg || len(got.DnsEntries) != 2 {
		t.Errorf("create-vpc-endpoint = %+v; want an Interface endpoint pendingAcceptance in %s with one interface in %s, group %s, a regional and a zonal name", got, cons.vpc, cons.subnets[zone], cons.sg)
	}
	if ep1ID == "" {
		t.FailNow()
	}
	ep1 := cons.acct.VpcEndpoint(t, ep1ID)
	name1, ip1 := regionalName(t, ep1), endpointIPs(t, cons.acct, ep1)[zone]
	url1 := "http://" + name1 + "/"
	if c, ok := prov.acct.Connections(t)[ep1ID]; !ok || string(c.VpcEndpointState) != e2e.EndpointPendingAcceptance || aws.ToString(c.VpcEndpointOwner) != cons.acct.ID || aws.ToString(c.ServiceId) != svcID {
		t.Errorf("the provider's DescribeVpcEndpointConnections: %s is %+v; want pendingAcceptance, owned by %s, to %s", ep1ID, c, cons.acct.ID, svcID)
	}

	t.Run("nothing flows before the acceptance", func(t *testing.T) {
		waitResolves(t, env, cons.client, name1, ip1)
		allFail(t, curlMany(t, env, cons.client, url1, 3), url1, "the endpoint is pendingAcceptance")
	})

	// Provider: aws ec2 accept-vpc-endpoint-connections.
	var accepted struct{ Unsuccessful []any }
	awsCLI(t, env, prov.acct, &accepted, "ec2", "accept-vpc-endpoint-connections", "--service-id", svcID, "--vpc-endpoint-ids", ep1ID)
	if len(accepted.Unsuccessful) != 0 {
		t.Errorf("accept-vpc-endpoint-connections: Unsuccessful %v, want none", accepted.Unsuccessful)
	}
	start := time.Now()
	cons.acct.WaitEndpointState(t, ep1ID, e2e.EndpointAvailable, endpointReady)
	t.Logf("%s available %v after the acceptance", ep1ID, time.Since(start).Round(time.Millisecond))

	t.Run("the endpoint's name reaches the provider's page", func(t *testing.T) {
		allServed(t, curlMany(t, env, cons.client, url1, 10), url1, "A", node)
		if c := prov.acct.Connections(t)[ep1ID]; string(c.VpcEndpointState) != e2e.EndpointAvailable {
			t.Errorf("the provider's connection %s is %q, want available", ep1ID, c.VpcEndpointState)
		}
		if strings.Contains(prov.acct.Observer().ConsoleOutput(t, target.id), " "+cons.client.ip+" ") {
			t.Errorf("the provider's target saw the consumer's address %s; it must see only its NLB's node", cons.client.ip)
		}
	})

	t.Run("the provider's addresses are not reachable", func(t *testing.T) {
		unreachable(t, env, cons.client, "they are the provider's, in another VPC",
			"http://"+target.ip+"/", "http://"+node+"/", "http://10.0.1.1/")
	})

	t.Run("rejecting resets established flows and stops new ones", func(t *testing.T) {
		held := hold(t, env, dir, cons.client, ip1+":80")
		before := time.Now()
		prov.acct.RejectEndpoints(t, svcID, ep1ID)
		returned := time.Now()
		// privlink promises 1 s; the log shows it, and only a flow still
		// open after 5 s fails: a tighter wall-clock bound fails on a loaded
		// machine for reasons of its own.
		at, how := held.closedAt(t, 5*time.Second)
		t.Logf("the long-lived connection ended (%s) %v after RejectVpcEndpointConnections returned", how, at.Sub(returned).Round(time.Millisecond))
		if at.Before(before) {
			t.Errorf("the long-lived connection ended (%s) before the rejection", how)
		}
		cons.acct.WaitEndpointState(t, ep1ID, e2e.EndpointRejected, endpointReady)
		allFail(t, curlMany(t, env, cons.client, url1, 3), url1, "the endpoint is rejected")
		if c := prov.acct.Connections(t)[ep1ID]; string(c.VpcEndpointState) != e2e.EndpointRejected {
			t.Errorf("the provider's connection %s is %q, want rejected", ep1ID, c.VpcEndpointState)
		}
	})

	t.Run("deleting an endpoint stops it and it is gone", func(t *testing.T) {
		ep2 := cons.endpoint(t, svcName, nil)
		ep2ID := aws.ToString(ep2.VpcEndpointId)
		prov.acct.AcceptEndpoints(t, svcID, ep2ID)
		ep2 = cons.acct.WaitEndpointState(t, ep2ID, e2e.EndpointAvailable, endpointReady)
		name2, ip2 := regionalName(t, ep2), endpointIPs(t, cons.acct, ep2)[zone]
		url2 := "http://" + name2 + "/"
		waitResolves(t, env, cons.client, name2, ip2)
		allServed(t, curlMany(t, env, cons.client, url2, 5), url2, "A", node)
		series := `privlink_endpoint_new_connections_total{vpc_endpoint_id="` + ep2ID + `",service_name="` + svcName + `",vpc_id="` + cons.vpc + `",subnet_id="` + cons.subnets[zone] + `"} `
		testenv.WaitFor(t, settle, "/metrics to count the endpoint's 5 connections", func() error {
			for line := range strings.Lines(env.Metrics(t)) {
				if v, ok := strings.CutPrefix(line, series); ok {
					if n, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err != nil || n < 5 {
						return fmt.Errorf("%s%s, want at least 5", series, strings.TrimSpace(v))
					}
					return nil
				}
			}
			return fmt.Errorf("no series %s", series)
		})

		held := hold(t, env, dir, cons.client, ip2+":80")
		cons.acct.DeleteEndpoints(t, ep2ID)
		returned := time.Now()
		// As for a rejection: the reset must reach the client before the
		// endpoint's interface goes, or the client hangs on.
		at, how := held.closedAt(t, 5*time.Second)
		t.Logf("the long-lived connection ended (%s) %v after DeleteVpcEndpoints returned", how, at.Sub(returned).Round(time.Millisecond))
		ep, err := cons.acct.Observer().EC2.DescribeVpcEndpoints(t.Context(), &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{ep2ID}})
		if err == nil && (len(ep.VpcEndpoints) != 1 || string(ep.VpcEndpoints[0].State) != e2e.EndpointDeleting) {
			t.Errorf("DescribeVpcEndpoints(%s) right after DeleteVpcEndpoints = %+v; want it deleting (or gone)", ep2ID, ep.VpcEndpoints)
		} else if code, _ := e2e.APIError(err); err != nil && code != "InvalidVpcEndpointId.NotFound" {
			t.Errorf("DescribeVpcEndpoints(%s) right after DeleteVpcEndpoints: %v", ep2ID, err)
		}
		took := waitRefused(t, env, cons.client, ip2+":80", ruleDeadline)
		t.Logf("%s:80 refused %v after DeleteVpcEndpoints", ip2, took.Round(time.Millisecond))
		start := time.Now()
		cons.acct.WaitEndpointGone(t, ep2ID, endpointReady)
		t.Logf("%s gone %v after DeleteVpcEndpoints", ep2ID, time.Since(start).Round(time.Millisecond))
		_, err = cons.acct.EC2.DescribeVpcEndpoints(t.Context(), &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{ep2ID}})
		e2e.WantError(t, err, "InvalidVpcEndpointId.NotFound", 400)
		unreachable(t, env, cons.client, "the endpoint is deleted", "http://"+ip2+"/", url2)
		if r := dnsQuery(t, env, cons.client, "A", name2); r.Rcode != "NXDOMAIN" {
			t.Errorf("dig @10.0.0.2 A %s (a deleted endpoint) = %s, want NXDOMAIN", name2, r)
		}
		testenv.WaitFor(t, settle, "/metrics to drop the deleted endpoint's series", func() error {
			for line := range strings.Lines(env.Metrics(t)) {
				if strings.Contains(line, ep2ID) {
					return fmt.Errorf("still exported: %s", strings.TrimSpace(line))
				}
			}
			return nil
		})
		for _, eni := range ep2.NetworkInterfaceIds {
			if e2e.HasNamespace(e2e.NamespaceName(eni)) {
				t.Errorf("the namespace %s of the deleted endpoint's interface is still there", e2e.NamespaceName(eni))
			}
		}
		if _, ok := prov.acct.Connections(t)[ep2ID]; ok {
			t.Errorf("the provider still lists the connection of the deleted endpoint %s", ep2ID)
		}
	})

	t.Run("the consumer deletes the rejected endpoint", func(t *testing.T) {
		var deleted struct{ Unsuccessful []any }
		awsCLI(t, env, cons.acct, &deleted, "ec2", "delete-vpc-endpoints", "--vpc-endpoint-ids", ep1ID)
		if len(deleted.Unsuccessful) != 0 {
			t.Errorf("delete-vpc-endpoints: Unsuccessful %v, want none", deleted.Unsuccessful)
		}
		cons.acct.WaitEndpointGone(t, ep1ID, endpointReady)
		_, err := cons.acct.EC2.DescribeVpcEndpoints(t.Context(), &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{ep1ID}})
		e2e.WantError(t, err, "InvalidVpcEndpointId.NotFound", 400)
		unreachable(t, env, cons.client, "the endpoint is deleted", "http://"+ip1+"/", url1)
		for _, eni := range ep1.NetworkInterfaceIds {
			if e2e.HasNamespace(e2e.NamespaceName(eni)) {
				t.Errorf("the namespace %s of the deleted endpoint's interface is still there", e2e.NamespaceName(eni))
			}
		}
	})
}

// TestPrivilegedPrivateLinkPermissions: only the accounts a service allows
// can see it or connect to it; an account it does not allow is told the
// service does not exist (InvalidServiceName). Two allowed consumers, each
// in a VPC with the provider's CIDR, use it at the same time. Removing a
// consumer's permission leaves its endpoint working, and keeps it from
// creating new ones.
func TestPrivilegedPrivateLinkPermissions(t *testing.T) {
	dir := t.TempDir()
	env := e2e.New(t)
	prov := newProvider(t, env.Account("provider"), dir, providerSpec{})
	c1 := newConsumer(t, env.Account("consumer1"))
	c2 := newConsumer(t, env.Account("consumer2"))
	outsider := env.Account("outsider")
	ovpc := aws.ToString(outsider.CreateVpc(t, "10.0.0.0/16").VpcId)
	osub := aws.ToString(outsider.CreateSubnet(t, ovpc, "10.0.5.0/24", "us-east-1a").SubnetId)
	outsider.WaitSubnetAvailable(t, osub, settle)
	const zone = "us-east-1a"
	node := prov.nodes[zone]

	svc := prov.service(t)
	svcID, svcName := aws.ToString(svc.ServiceId), aws.ToString(svc.ServiceName)
	prov.acct.AllowPrincipals(t, svcID, c1.acct.Principal(), c2.acct.Principal())

	describe := func(a *e2e.Account) error {
		_, err := a.EC2.DescribeVpcEndpointServices(t.Context(), &ec2.DescribeVpcEndpointServicesInput{ServiceNames: []string{svcName}})
		return err
	}
	create := func(a *e2e.Account, vpc, subnet string) error {
		_, err := a.EC2.CreateVpcEndpoint(t.Context(), &ec2.CreateVpcEndpointInput{
			VpcId: aws.String(vpc), ServiceName: aws.String(svcName), VpcEndpointType: ec2types.VpcEndpointTypeInterface, SubnetIds: []string{subnet},
		})
		return err
	}

	t.Run("an account not allowed is told the service does not exist", func(t *testing.T) {
		e2e.WantError(t, describe(outsider), "InvalidServiceName", 400)
		e2e.WantError(t, create(outsider, ovpc, osub), "InvalidServiceName", 400)
		all, err := outsider.EC2.DescribeVpcEndpointServices(t.Context(), &ec2.DescribeVpcEndpointServicesInput{})
		if err != nil {
			t.Fatalf("outsider: DescribeVpcEndpointServices: %v", err)
		}
		if slices.Contains(all.ServiceNames, svcName) {
			t.Errorf("outsider: DescribeVpcEndpointServices lists %s, which does not allow it", svcName)
		}
		eps, err := outsider.EC2.DescribeVpcEndpoints(t.Context(), &ec2.DescribeVpcEndpointsInput{})
		if err != nil || len(eps.VpcEndpoints) != 0 {
			t.Errorf("outsider: DescribeVpcEndpoints = %v, %v; want no endpoint", eps, err)
		}
	})

	t.Run("allowed accounts see it", func(t *testing.T) {
		for _, c := range []*plConsumer{c1, c2} {
			out, err := c.acct.EC2.DescribeVpcEndpointServices(t.Context(), &ec2.DescribeVpcEndpointServicesInput{ServiceNames: []string{svcName}})
			if err != nil {
				t.Fatalf("%s: DescribeVpcEndpointServices(%s): %v", c.acct.Name, svcName, err)
			}
			if len(out.ServiceDetails) != 1 || aws.ToString(out.ServiceDetails[0].Owner) != prov.acct.ID ||
				!slices.Equal(out.ServiceDetails[0].AvailabilityZones, []string{zone}) || aws.ToBool(out.ServiceDetails[0].AcceptanceRequired) {
				t.Errorf("%s: DescribeVpcEndpointServices(%s) = %+v; want the service of %s in %s, no acceptance required", c.acct.Name, svcName, out.ServiceDetails, prov.acct.ID, zone)
			}
		}
	})

	ep1 := c1.endpoint(t, svcName, nil)
	ep2 := c2.endpoint(t, svcName, nil)
	id1, id2 := aws.ToString(ep1.VpcEndpointId), aws.ToString(ep2.VpcEndpointId)
	for _, ep := range []ec2types.VpcEndpoint{ep1, ep2} {
		if string(ep.State) != e2e.EndpointPending && string(ep.State) != e2e.EndpointAvailable {
			t.Errorf("CreateVpcEndpoint to a service without acceptance: %s is %q, want pending", aws.ToString(ep.VpcEndpointId), ep.State)
		}
	}
	ep1 = c1.acct.WaitEndpointState(t, id1, e2e.EndpointAvailable, endpointReady)
	ep2 = c2.acct.WaitEndpointState(t, id2, e2e.EndpointAvailable, endpointReady)
	url1, url2 := "http://"+regionalName(t, ep1)+"/", "http://"+regionalName(t, ep2)+"/"
	waitResolves(t, env, c1.client, regionalName(t, ep1), endpointIPs(t, c1.acct, ep1)[zone])
	waitResolves(t, env, c2.client, regionalName(t, ep2), endpointIPs(t, c2.acct, ep2)[zone])

	t.Run("two consumers with the provider's CIDR use it at once", func(t *testing.T) {
		for range 3 {
			allServed(t, curlMany(t, env, c1.client, url1, 3), url1, "A", node)
			allServed(t, curlMany(t, env, c2.client, url2, 3), url2, "A", node)
		}
		conns := prov.acct.Connections(t)
		for id, owner := range map[string]string{id1: c1.acct.ID, id2: c2.acct.ID} {
			if c, ok := conns[id]; !ok || aws.ToString(c.VpcEndpointOwner) != owner || string(c.VpcEndpointState) != e2e.EndpointAvailable {
				t.Errorf("the provider's connection %s = %+v; want available, owned by %s", id, c, owner)
			}
		}
		// Each consumer's resolver knows only its own endpoint.
		if r := dnsQuery(t, env, c1.client, "A", regionalName(t, ep2)); r.Rcode != "NXDOMAIN" {
			t.Errorf("consumer1: dig A %s (consumer2's endpoint) = %s, want NXDOMAIN", regionalName(t, ep2), r)
		}
	})

	prov.acct.DisallowPrincipals(t, svcID, c2.acct.Principal())

	t.Run("removing a principal leaves its endpoint working", func(t *testing.T) {
		if ep := c2.acct.VpcEndpoint(t, id2); string(ep.State) != e2e.EndpointAvailable {
			t.Errorf("consumer2's endpoint %s is %q once its principal was removed, want still available", id2, ep.State)
		}
		if c := prov.acct.Connections(t)[id2]; string(c.VpcEndpointState) != e2e.EndpointAvailable {
			t.Errorf("the provider's connection %s is %q once its principal was removed, want still available", id2, c.VpcEndpointState)
		}
		allServed(t, curlMany(t, env, c2.client, url2, 5), url2, "A", node)
		allServed(t, curlMany(t, env, c1.client, url1, 5), url1, "A", node)
	})

	t.Run("but its account can create no new endpoint", func(t *testing.T) {
		e2e.WantError(t, create(c2.acct, c2.vpc, c2.subnets[zone]), "InvalidServiceName", 400)
		e2e.WantError(t, describe(c2.acct), "InvalidServiceName", 400)
		if err := describe(c1.acct); err != nil {
			t.Errorf("consumer1 (still allowed): DescribeVpcEndpointServices(%s): %v", svcName, err)
		}
	})
}

// TestPrivilegedPrivateLinkAZLoss: a service in two zones, a target in
// each, cross-zone load balancing off, and an endpoint with an interface in
// each zone. A flow entering the endpoint in a zone goes to that zone's
// node and target. When a zone's target dies, the resolver drops that
// zone's interface from the regional name within interval × threshold, and
// the name keeps working through the other zone. Removing a zone's subnet
// from the endpoint deletes its interface, and the name keeps working.
func TestPrivilegedPrivateLinkAZLoss(t *testing.T) {
	dir := t.TempDir()
	env := e2e.New(t)
	zones := []string{"us-east-1a", "us-east-1b"}
	prov := newProvider(t, env.Account("provider"), dir, providerSpec{zones: zones})
	cons := newConsumer(t, env.Account("consumer"), zones...)
	svc := prov.service(t)
	prov.acct.AllowPrincipals(t, aws.ToString(svc.ServiceId), cons.acct.Principal())

	ep := cons.endpoint(t, aws.ToString(svc.ServiceName), zones)
	id := aws.ToString(ep.VpcEndpointId)
	ep = cons.acct.WaitEndpointState(t, id, e2e.EndpointAvailable, endpointReady)
	ips := endpointIPs(t, cons.acct, ep)
	ipA, ipB := ips["us-east-1a"], ips["us-east-1b"]
	regional := regionalName(t, ep)
	url := "http://" + regional + "/"
	nodeA, nodeB := prov.nodes["us-east-1a"], prov.nodes["us-east-1b"]
	a, b := prov.targets["us-east-1a"], prov.targets["us-east-1b"]
	regionalIs := func(want ...string) func() error {
		return func() error {
			if r := dnsQuery(t, env, cons.client, "A", regional); r.Rcode != "NOERROR" || !sameSet(r.Answers, want) {
				return fmt.Errorf("dig A %s = %s, want %v", regional, r, want)
			}
			return nil
		}
	}

	t.Run("each zone's interface goes to its zone", func(t *testing.T) {
		testenv.WaitFor(t, settle, "the regional name to answer both interfaces", regionalIs(ipA, ipB))
		for zone, ip := range ips {
			zonal := zonalName(t, ep, zone)
			if r := dnsQuery(t, env, cons.client, "A", zonal); r.Rcode != "NOERROR" || !sameSet(r.Answers, []string{ip}) {
				t.Errorf("dig A %s = %s, want %s", zonal, r, ip)
			}
		}
		allServed(t, curlMany(t, env, cons.client, "http://"+ipA+"/", 5), "http://"+ipA+"/", "A", nodeA)
		allServed(t, curlMany(t, env, cons.client, "http://"+ipB+"/", 5), "http://"+ipB+"/", "B", nodeB)
		got := spread(t, curlMany(t, env, cons.client, url, requests), prov.nodeIPs(), map[string]string{"A": nodeA, "B": nodeB})
		if got["A"] == 0 || got["B"] == 0 {
			t.Errorf("%d new connections to %s reached %v; want both zones (the resolver must not always answer in one order)", requests, url, got)
		}
	})

	t.Run("a zone whose target dies leaves the regional name", func(t *testing.T) {
		killed := stopWeb(t, prov.web, a, "A")
		testenv.WaitFor(t, 2*hcLimit, "the regional name to drop the interface in us-east-1a", regionalIs(ipB))
		took := time.Since(killed)
		t.Logf("the regional name answers only %s %v after the target in us-east-1a died", ipB, took.Round(100*time.Millisecond))
		if took > hcLimit {
			t.Errorf("the regional name dropped the dead zone's interface %v after its target died; want within interval × threshold (%ds × %d) + %v", took.Round(100*time.Millisecond), hcInterval, hcThreshold, hcSlack)
		}
		if h := prov.acct.TargetHealth(t, prov.tgARN)[a.id]; h.State != elbtypes.TargetHealthStateEnumUnhealthy {
			t.Errorf("%s: %s, want unhealthy", a, h.State)
		}
		allServed(t, curlMany(t, env, cons.client, url, requests), url, "B", nodeB)
	})

	t.Run("it comes back with its target", func(t *testing.T) {
		startWeb(t, env, prov.web, a, "A")
		prov.acct.WaitTargetStates(t, prov.tgARN, states(elbtypes.TargetHealthStateEnumHealthy, a.id, b.id), 2*hcLimit)
		testenv.WaitFor(t, settle, "the regional name to answer both interfaces again", regionalIs(ipA, ipB))
		allServed(t, curlMany(t, env, cons.client, "http://"+ipA+"/", 3), "http://"+ipA+"/", "A", nodeA)
	})

	t.Run("removing a zone's subnet keeps the regional name working", func(t *testing.T) {
		if _, err := cons.acct.EC2.ModifyVpcEndpoint(t.Context(), &ec2.ModifyVpcEndpointInput{
			VpcEndpointId: aws.String(id), RemoveSubnetIds: []string{cons.subnets["us-east-1b"]},
		}); err != nil {
			t.Fatalf("ModifyVpcEndpoint(%s, RemoveSubnetIds %s): %v", id, cons.subnets["us-east-1b"], err)
		}
		start := time.Now()
		testenv.WaitFor(t, ruleDeadline, "the regional name to answer only the interface in us-east-1a", regionalIs(ipA))
		t.Logf("the regional name answers only %s %v after ModifyVpcEndpoint", ipA, time.Since(start).Round(time.Millisecond))
		allServed(t, curlMany(t, env, cons.client, url, requests), url, "A", nodeA)
		after := cons.acct.VpcEndpoint(t, id)
		if string(after.State) != e2e.EndpointAvailable || !slices.Equal(after.SubnetIds, []string{cons.subnets["us-east-1a"]}) || len(after.NetworkInterfaceIds) != 1 {
			t.Errorf("after ModifyVpcEndpoint: state %q, subnets %v, interfaces %v; want available with the one subnet %s", after.State, after.SubnetIds, after.NetworkInterfaceIds, cons.subnets["us-east-1a"])
		}
		var goneENI string
		for _, eni := range ep.NetworkInterfaceIds {
			if !slices.Contains(after.NetworkInterfaceIds, eni) {
				goneENI = eni
			}
		}
		testenv.WaitFor(t, settle, "the namespace of the removed interface to go", func() error {
			if e2e.HasNamespace(e2e.NamespaceName(goneENI)) {
				return fmt.Errorf("%s still exists", e2e.NamespaceName(goneENI))
			}
			return nil
		})
		zonalB := zonalName(t, ep, "us-east-1b")
		if r := dnsQuery(t, env, cons.client, "A", zonalB); r.Rcode != "NXDOMAIN" {
			t.Errorf("dig A %s (the removed zone) = %s, want NXDOMAIN", zonalB, r)
		}
		unreachable(t, env, cons.client, "the interface in us-east-1b is deleted", "http://"+ipB+"/")
	})
}

// TestPrivilegedPrivateLinkProxyProtocol: with proxy_protocol_v2.enabled on
// the service's target group, the target learns, from the header, the
// consumer instance's address (the connection itself comes from the NLB's
// node) and, from the AWS TLV 0xEA subtype 0x01, the endpoint's id.
func TestPrivilegedPrivateLinkProxyProtocol(t *testing.T) {
	dir := t.TempDir()
	env := e2e.New(t)
	userData := ppTargetUserData(t, dir, true)
	prov := newProvider(t, env.Account("provider"), dir, providerSpec{
		userData:        func(*plProvider, string) string { return userData },
		healthCheckPath: "/",
		tgAttrs:         []string{"proxy_protocol_v2.enabled=true"},
	})
	cons := newConsumer(t, env.Account("consumer"))
	const zone = "us-east-1a"
	node, target := prov.nodes[zone], prov.targets[zone]
	svc := prov.service(t)
	prov.acct.AllowPrincipals(t, aws.ToString(svc.ServiceId), cons.acct.Principal())
	ep := cons.endpoint(t, aws.ToString(svc.ServiceName), nil)
	id := aws.ToString(ep.VpcEndpointId)
	ep = cons.acct.WaitEndpointState(t, id, e2e.EndpointAvailable, endpointReady)
	eniIP := endpointIPs(t, cons.acct, ep)[zone]
	url := "http://" + regionalName(t, ep) + "/"
	waitResolves(t, env, cons.client, regionalName(t, ep), eniIP)

	for _, r := range curlMany(t, env, cons.client, url, 10) {
		if !r.OK {
			t.Errorf("curl %s: %s", url, r)
			continue
		}
		// "pp PROXY <src> <sport> <dst> <dport> vpce <id> peer <peer>"
		f := strings.Fields(r.Body)
		want := fmt.Sprintf("pp PROXY %s <port> <dst> 80 vpce %s peer %s", cons.client.ip, id, node)
		if len(f) != 10 || f[0] != "pp" || f[1] != "PROXY" || f[2] != cons.client.ip || f[5] != "80" || f[6] != "vpce" || f[7] != id || f[8] != "peer" || f[9] != node {
			t.Errorf("the target got %q; want %q: the consumer's address as the source, the endpoint's id in TLV 0xEA, the connection from the node", r.Body, want)
			continue
		}
		if port, err := strconv.Atoi(f[3]); err != nil || port < 1024 || port > 65535 {
			t.Errorf("the target got source port %q, want the consumer's ephemeral port", f[3])
		}
		t.Logf("the header's destination: %s:%s (the endpoint's interface is %s, the node %s)", f[4], f[5], eniIP, node)
	}
	console := prov.acct.Observer().ConsoleOutput(t, target.id)
	if !strings.Contains(console, "privlink-e2e: pp PROXY "+cons.client.ip+" ") || !strings.Contains(console, " vpce "+id+" via "+node+"\n") {
		t.Errorf("the target's console does not show a header from %s with endpoint %s via %s:\n%s", cons.client.ip, id, node, console)
	}
	checkPPConsole(t, console)
}

// TestPrivilegedPrivateLinkPrivateDNS: the provider gives its service a
// private DNS name and proves it owns the domain with the TXT record the
// service asks for (served here by a DNS server of the test's, the
// daemon's --verification-resolver). Until the name is verified, no
// endpoint may turn private DNS on; then a consumer's endpoint with private
// DNS makes the name a CNAME of the endpoint's regional name in the
// consumer's VPC, and only there.
func TestPrivilegedPrivateLinkPrivateDNS(t *testing.T) {
	const privateName = "api.example.test"
	dir := t.TempDir()
	txt := e2e.StartTXTServer(t)
	env := e2e.New(t, e2e.WithVerificationResolver(txt.Addr()))
	prov := newProvider(t, env.Account("provider"), dir, providerSpec{})
	cons := newConsumer(t, env.Account("consumer"))
	const zone = "us-east-1a"
	node := prov.nodes[zone]
	cons.acct.SetVpcDNS(t, cons.vpc, true, true)
	// Another VPC of the consumer's, with the same CIDR and DNS on, but no
	// endpoint.
	otherVpc := aws.ToString(cons.acct.CreateVpc(t, "10.0.0.0/16").VpcId)
	otherSub := aws.ToString(cons.acct.CreateSubnet(t, otherVpc, "10.0.5.0/24", zone).SubnetId)
	cons.acct.WaitSubnetAvailable(t, otherSub, settle)
	cons.acct.SetVpcDNS(t, otherVpc, true, true)
	otherClient := launch(t, cons.acct, "other-client", otherSub, "10.0.5.10", "")

	svc := prov.service(t, func(in *ec2.CreateVpcEndpointServiceConfigurationInput) { in.PrivateDnsName = aws.String(privateName) })
	svcID, svcName := aws.ToString(svc.ServiceId), aws.ToString(svc.ServiceName)
	prov.acct.AllowPrincipals(t, svcID, cons.acct.Principal())
	cfg := svc.PrivateDnsNameConfiguration
	if aws.ToString(svc.PrivateDnsName) != privateName || cfg == nil || cfg.State != ec2types.DnsNameStatePendingVerification ||
		aws.ToString(cfg.Type) != "TXT" || !strings.HasPrefix(aws.ToString(cfg.Name), "_") || !strings.HasPrefix(aws.ToString(cfg.Value), "vpce:") {
		t.Fatalf("CreateVpcEndpointServiceConfiguration(PrivateDnsName %s): PrivateDnsName %q, PrivateDnsNameConfiguration %+v; want pendingVerification of a TXT record _…= vpce:…", privateName, aws.ToString(svc.PrivateDnsName), cfg)
	}
	record, value := aws.ToString(cfg.Name)+"."+privateName, aws.ToString(cfg.Value)
	withPrivateDNS := func(in *ec2.CreateVpcEndpointInput) { in.PrivateDnsEnabled = aws.Bool(true) }
	verify := func() ec2types.DnsNameState {
		t.Helper()
		if _, err := prov.acct.EC2.StartVpcEndpointServicePrivateDnsVerification(t.Context(), &ec2.StartVpcEndpointServicePrivateDnsVerificationInput{ServiceId: aws.String(svcID)}); err != nil {
			t.Fatalf("StartVpcEndpointServicePrivateDnsVerification(%s): %v", svcID, err)
		}
		c := prov.acct.EndpointService(t, svcID).PrivateDnsNameConfiguration
		if c == nil {
			t.Fatalf("DescribeVpcEndpointServiceConfigurations(%s): no PrivateDnsNameConfiguration", svcID)
		}
		return c.State
	}

	t.Run("no private DNS before the name is verified", func(t *testing.T) {
		_, err := cons.acct.EC2.CreateVpcEndpoint(t.Context(), &ec2.CreateVpcEndpointInput{
			VpcId: aws.String(cons.vpc), ServiceName: aws.String(svcName), VpcEndpointType: ec2types.VpcEndpointTypeInterface,
			SubnetIds: []string{cons.subnets[zone]}, SecurityGroupIds: []string{cons.sg}, PrivateDnsEnabled: aws.Bool(true),
		})
		e2e.WantError(t, err, "InvalidParameter", 400)
		t.Logf("%v", err)
		out, err := cons.acct.EC2.DescribeVpcEndpointServices(t.Context(), &ec2.DescribeVpcEndpointServicesInput{ServiceNames: []string{svcName}})
		if err != nil || len(out.ServiceDetails) != 1 {
			t.Fatalf("consumer: DescribeVpcEndpointServices(%s) = %+v, %v", svcName, out, err)
		}
		if d := out.ServiceDetails[0]; aws.ToString(d.PrivateDnsName) != privateName || d.PrivateDnsNameVerificationState != ec2types.DnsNameStatePendingVerification {
			t.Errorf("consumer: DescribeVpcEndpointServices: PrivateDnsName %q, verification %q; want %s pendingVerification", aws.ToString(d.PrivateDnsName), d.PrivateDnsNameVerificationState, privateName)
		}
	})

	t.Run("verification fails without the TXT record, passes with it", func(t *testing.T) {
		if got := verify(); got != ec2types.DnsNameStateFailed {
			t.Errorf("verification without the TXT record: %q, want failed", got)
		}
		if q := txt.Queries(); !slices.Contains(q, "TXT "+record+".") {
			t.Errorf("the verification resolver was asked %v; want a TXT query for %s", q, record)
		}
		txt.Set(record, value)
		if got := verify(); got != ec2types.DnsNameStateVerified {
			t.Fatalf("verification with %s TXT %q: %q, want verified", record, value, got)
		}
	})

	ep := cons.endpoint(t, svcName, nil, withPrivateDNS)
	id := aws.ToString(ep.VpcEndpointId)
	ep = cons.acct.WaitEndpointState(t, id, e2e.EndpointAvailable, endpointReady)
	regional, eniIP := regionalName(t, ep), endpointIPs(t, cons.acct, ep)[zone]
	waitRunning(t, cons.acct, otherClient)

	t.Run("the endpoint lists the private name", func(t *testing.T) {
		last := ep.DnsEntries[len(ep.DnsEntries)-1]
		if !aws.ToBool(ep.PrivateDnsEnabled) || len(ep.DnsEntries) != 3 || aws.ToString(last.DnsName) != privateName ||
			aws.ToString(last.HostedZoneId) == "" || aws.ToString(last.HostedZoneId) == aws.ToString(ep.DnsEntries[0].HostedZoneId) {
			t.Errorf("endpoint %s: PrivateDnsEnabled %v, DnsEntries %+v; want the regional, the zonal and last %s in a private hosted zone of its own", id, aws.ToBool(ep.PrivateDnsEnabled), ep.DnsEntries, privateName)
		}
	})

	t.Run("the private name reaches the provider from the consumer's VPC", func(t *testing.T) {
		testenv.WaitFor(t, settle, "the private name to resolve in the consumer's VPC", func() error {
			r := dnsQuery(t, env, cons.client, "A", privateName)
			want := []string{regional + ".", eniIP}
			if r.Rcode != "NOERROR" || len(r.Answers) != 2 || !strings.EqualFold(r.Answers[0], want[0]) || r.Answers[1] != eniIP {
				return fmt.Errorf("dig @10.0.0.2 A %s = %s, want a CNAME to %s then %s", privateName, r, want[0], eniIP)
			}
			return nil
		})
		allServed(t, curlMany(t, env, cons.client, "http://"+privateName+"/", 5), "http://"+privateName+"/", "A", node)
	})

	t.Run("the private name is unknown elsewhere", func(t *testing.T) {
		for _, w := range []struct {
			where string
			from  vm
		}{{"the provider's VPC", prov.targets[zone]}, {"another VPC of the consumer's", otherClient}} {
			for _, name := range []string{privateName, regional} {
				if r := dnsQuery(t, env, w.from, "A", name); r.Rcode != "NXDOMAIN" || len(r.Answers) != 0 {
					t.Errorf("%s: dig @10.0.0.2 A %s = %s, want NXDOMAIN", w.where, name, r)
				}
			}
		}
		unreachable(t, env, otherClient, "no endpoint in this VPC", "http://"+privateName+"/")
	})
}

// TestPrivilegedPrivateLinkKill9: endpoints in each state a provider can
// leave them in (pendingAcceptance, available, rejected) survive a kill -9
// of the daemon: each comes back in its state, traffic flows again through
// the available one within seconds, and the others still refuse. The state
// machine goes on after: accepting the pending one makes it available.
func TestPrivilegedPrivateLinkKill9(t *testing.T) {
	dir := t.TempDir()
	env := e2e.New(t)
	prov := newProvider(t, env.Account("provider"), dir, providerSpec{})
	cons := newConsumer(t, env.Account("consumer"))
	const zone = "us-east-1a"
	node := prov.nodes[zone]
	svc := prov.service(t, func(in *ec2.CreateVpcEndpointServiceConfigurationInput) { in.AcceptanceRequired = aws.Bool(true) })
	svcID, svcName := aws.ToString(svc.ServiceId), aws.ToString(svc.ServiceName)
	prov.acct.AllowPrincipals(t, svcID, cons.acct.Principal())

	type endpoint struct {
		id, state, url string
		ns             []string // namespaces of its interfaces
		ino            []uint64
		release        []func() // of the holds on ns
	}
	eps := map[string]*endpoint{}
	for _, state := range []string{e2e.EndpointPendingAcceptance, e2e.EndpointAvailable, e2e.EndpointRejected} {
		ep := cons.endpoint(t, svcName, nil)
		eps[state] = &endpoint{id: aws.ToString(ep.VpcEndpointId), state: state}
	}
	prov.acct.AcceptEndpoints(t, svcID, eps[e2e.EndpointAvailable].id)
	prov.acct.RejectEndpoints(t, svcID, eps[e2e.EndpointRejected].id)
	for _, e := range eps {
		ep := cons.acct.WaitEndpointState(t, e.id, e.state, endpointReady)
		e.url = "http://" + endpointIPs(t, cons.acct, ep)[zone] + "/"
		for _, eni := range ep.NetworkInterfaceIds {
			e.ns = append(e.ns, e2e.NamespaceName(eni))
			e.ino = append(e.ino, e2e.NamespaceInode(t, e2e.NamespaceName(eni)))
			// Held, a namespace made again cannot get the same inode back.
			e.release = append(e.release, e2e.HoldNamespace(t, e2e.NamespaceName(eni)))
		}
	}
	check := func(t *testing.T) {
		t.Helper()
		conns := prov.acct.Connections(t)
		for state, e := range eps {
			if got := string(cons.acct.VpcEndpoint(t, e.id).State); got != state {
				t.Errorf("endpoint %s is %q, want %s", e.id, got, state)
			}
			if got := string(conns[e.id].VpcEndpointState); got != state {
				t.Errorf("the provider's connection %s is %q, want %s", e.id, got, state)
			}
		}
		allServed(t, curlMany(t, env, cons.client, eps[e2e.EndpointAvailable].url, 5), eps[e2e.EndpointAvailable].url, "A", node)
		allFail(t, curlMany(t, env, cons.client, eps[e2e.EndpointPendingAcceptance].url, 2), eps[e2e.EndpointPendingAcceptance].url, "pendingAcceptance")
		allFail(t, curlMany(t, env, cons.client, eps[e2e.EndpointRejected].url, 2), eps[e2e.EndpointRejected].url, "rejected")
	}
	t.Run("before", check)

	env.Kill9(t)
	took := waitServed(t, env, cons.client, eps[e2e.EndpointAvailable].url, "A", restartLimit)
	t.Logf("traffic through %s flows again %v after the restart", eps[e2e.EndpointAvailable].id, took.Round(time.Millisecond))

	t.Run("after kill -9", func(t *testing.T) {
		check(t)
		for _, e := range eps {
			for i, ns := range e.ns {
				if ino := e2e.NamespaceInode(t, ns); ino != e.ino[i] {
					t.Errorf("namespace %s of endpoint %s: inode %d, want %d: adopted, not made again", ns, e.id, ino, e.ino[i])
				}
				e.release[i]()
			}
		}
	})

	t.Run("the pending one can still be accepted", func(t *testing.T) {
		e := eps[e2e.EndpointPendingAcceptance]
		prov.acct.AcceptEndpoints(t, svcID, e.id)
		cons.acct.WaitEndpointState(t, e.id, e2e.EndpointAvailable, endpointReady)
		allServed(t, curlMany(t, env, cons.client, e.url, 5), e.url, "A", node)
	})
}

// TestPrivilegedPrivateLinkNLBSecurityGroups: an NLB's security groups
// apply to the traffic that reaches it through PrivateLink, as AWS's
// EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic "on" (the default)
// has it: their inbound rules see the consumer's client address, so a
// group that admits only other sources drops the consumer's connections
// (they time out), until the provider turns enforcement off or admits the
// consumer's address.
func TestPrivilegedPrivateLinkNLBSecurityGroups(t *testing.T) {
	dir := t.TempDir()
	env := e2e.New(t)
	prov := newProvider(t, env.Account("provider"), dir, providerSpec{nlbFrom: "192.168.0.0/16"})
	cons := newConsumer(t, env.Account("consumer"))
	const zone = "us-east-1a"
	node := prov.nodes[zone]
	svc := prov.service(t)
	prov.acct.AllowPrincipals(t, aws.ToString(svc.ServiceId), cons.acct.Principal())
	ep := cons.endpoint(t, aws.ToString(svc.ServiceName), nil)
	ep = cons.acct.WaitEndpointState(t, aws.ToString(ep.VpcEndpointId), e2e.EndpointAvailable, endpointReady)
	eniIP := endpointIPs(t, cons.acct, ep)[zone]
	url := "http://" + eniIP + "/"

	lb := prov.acct.LoadBalancer(t, prov.lbARN)
	if got := aws.ToString(lb.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic); got != "on" {
		t.Errorf("EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic = %q, want on (the default with security groups)", got)
	}
	unreachable(t, env, cons.client, "the NLB's group admits only 192.168.0.0/16", url)

	setGroups := func(enforce elbtypes.EnforceSecurityGroupInboundRulesOnPrivateLinkTrafficEnum) {
		t.Helper()
		out, err := prov.acct.ELB.SetSecurityGroups(t.Context(), &elb.SetSecurityGroupsInput{
			LoadBalancerArn: aws.String(prov.lbARN),
			SecurityGroups:  []string{prov.nlbSG},
			EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: enforce,
		})
		if err != nil {
			t.Fatalf("SetSecurityGroups(enforce %s): %v", enforce, err)
		}
		if out.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic != enforce {
			t.Errorf("SetSecurityGroups answered enforce %q, want %q", out.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic, enforce)
		}
	}
	setGroups(elbtypes.EnforceSecurityGroupInboundRulesOnPrivateLinkTrafficEnumOff)
	took := waitServed(t, env, cons.client, url, "A", endpointReady)
	t.Logf("enforcement off: the endpoint serves after %v", took)
	allServed(t, curlMany(t, env, cons.client, url, 5), url, "A", node)

	setGroups(elbtypes.EnforceSecurityGroupInboundRulesOnPrivateLinkTrafficEnumOn)
	testenv.WaitFor(t, endpointReady, "enforcement on to drop the consumer's connections again", func() error {
		if r := curlMany(t, env, cons.client, url, 1)[0]; r.OK {
			return errors.New(r.String())
		}
		return nil
	})
	// Admitting the consumer's client address (its VPC has the provider's
	// CIDR, so it is the consumer's /32 that tells them apart).
	authorize(t, prov.acct, prov.nlbSG, tcpFromCIDR(80, 80, cons.client.ip+"/32"))
	took = waitServed(t, env, cons.client, url, "A", endpointReady)
	t.Logf("a rule admitting %s/32: the endpoint serves after %v", cons.client.ip, took)
}
