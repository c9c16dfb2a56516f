package main

import (
	"context"
	"fmt"
	"log"

	"github.com/privlink/privlink/bench/internal/benchd"
	"github.com/privlink/privlink/bench/internal/haproxy"
	"github.com/privlink/privlink/bench/internal/proc"
	"github.com/privlink/privlink/bench/internal/proxycmp"
	"github.com/privlink/privlink/bench/internal/report"
)

// Variant names.
const (
	vDirect   = "direct"
	vEndpoint = "endpoint"
	vHAProxy  = "HAProxy"
	vNLB      = "NLB"
)

// trafficResult is the traffic test: every placement's samples by variant.
type trafficResult struct {
	variants              []*proxycmp.Variant
	splits                []proxycmp.Split
	res                   []map[string][]proxycmp.Sample
	loadBefore, loadAfter string
	haproxyVersion        string
}

// trafficTest measures throughput, connections per second and latency of
// each variant in each placement of -splits, -runs times, the variants in
// a rotating order. The daemon is pinned like the proxies meanwhile and
// unpinned after.
func trafficTest(ctx context.Context, o options, d *benchd.Daemon, exe string, p *provider, c *consumerVPC, ep endpoint, dir string) (*trafficResult, error) {
	tr := &trafficResult{splits: o.splits}
	want := o.variantSet()
	defer func() {
		proc.Unpin(d.PID())
		proc.Unpin(p.server.PID())
	}()
	if err := proc.Pin(d.PID(), o.splits[0].Proxy); err != nil {
		return nil, fmt.Errorf("pin the daemon to CPU %d: %w", o.splits[0].Proxy, err)
	}
	eniNS := benchd.NamespacePrefix + ep.eniID
	if want[vDirect] {
		tr.variants = append(tr.variants, &proxycmp.Variant{
			Name: vDirect, ClientNS: p.clientNS, Addr: fmt.Sprintf("%s:%d", serverIP, serverPort),
			Desc: fmt.Sprintf("the provider's client %s → server %s:%d, same subnet of the provider's VPC (veth, bridge, veth; the instances' security groups): the consumer's client cannot reach the server directly, so the direct path starts from an identical instance in the provider's VPC", clientIP, serverIP, serverPort),
		})
	}
	if want[vEndpoint] {
		tr.variants = append(tr.variants, &proxycmp.Variant{
			Name: vEndpoint, ClientNS: c.clientNS, Addr: fmt.Sprintf("%s:%d", endpointIP, nlbPort), PID: d.PID(),
			Desc: fmt.Sprintf("the consumer's client %s → endpoint ENI %s:%d (its namespace %s, behind the consumer's security group) → the daemon's forwarder, which dials from the NLB node's namespace %s (%s) → server %s:%d",
				clientIP, endpointIP, nlbPort, eniNS, p.nlb.NodeNS, nodeIP, serverIP, serverPort),
		})
	}
	if want[vHAProxy] {
		tr.haproxyVersion = haproxy.Version(o.haproxy)
		cfg := haproxy.Defaults + fmt.Sprintf(`
frontend bench
    bind %s:%d namespace %s
    default_backend server

backend server
    server s1 %s:%d namespace %s
`, endpointIP, haproxyPort, eniNS, serverIP, serverPort, p.nlb.NodeNS)
		hp, err := haproxy.Start(ctx, o.haproxy, cfg, "", o.splits[0].Proxy, dir)
		if err != nil {
			return nil, err
		}
		defer hp.Stop()
		log.Printf("haproxy (pid %d) listening in %s on %s:%d, connecting from %s", hp.PID(), eniNS, endpointIP, haproxyPort, p.nlb.NodeNS)
		tr.variants = append(tr.variants, &proxycmp.Variant{
			Name: vHAProxy, ClientNS: c.clientNS, Addr: fmt.Sprintf("%s:%d", endpointIP, haproxyPort), PID: hp.PID(),
			Desc: fmt.Sprintf("the consumer's client %s → %s:%d, %s (mode tcp, nbthread 1, option splice-auto, no health checks), its listening socket in the endpoint ENI's namespace (`bind … namespace %s`) and its connections to the server dialled from the NLB node's namespace (`server … namespace %s`): exactly the forwarder's position, the same address, veths and firewall on both sides → server %s:%d",
				clientIP, endpointIP, haproxyPort, tr.haproxyVersion, eniNS, p.nlb.NodeNS, serverIP, serverPort),
		})
	}
	if want[vNLB] {
		tr.variants = append(tr.variants, &proxycmp.Variant{
			Name: vNLB, ClientNS: p.clientNS, Addr: fmt.Sprintf("%s:%d", nodeIP, nlbPort), PID: d.PID(),
			Desc: fmt.Sprintf("the provider's client %s → the NLB node %s:%d → the forwarder → server %s:%d: the provider's own path through its NLB", clientIP, nodeIP, nlbPort, serverIP, serverPort),
		})
	}
	if err := proxycmp.Check(ctx, exe, o.splits[0].Client, o.tests(), tr.variants); err != nil {
		return nil, fmt.Errorf("%w\n%s", err, d.LogTail(20))
	}
	tr.loadBefore = report.LoadAvg()
	var err error
	if tr.res, err = proxycmp.Compare(ctx, exe, o.tests(), o.splits, o.runs, d.PID(), p.server.PID(), tr.variants); err != nil {
		return nil, err
	}
	tr.loadAfter = report.LoadAvg()
	return tr, nil
}
