package controller

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/privlink/privlink/internal/controlplane"
	"github.com/privlink/privlink/internal/forwarder"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/vpcdns"
)

// This file turns load balancers into the forwarder's table, the health
// checks and the DNS answers of their names. A node is the namespace of
// its requester-managed ENI (managedHost); its listeners listen there on
// the node's address and dial targets from there, so that targets see the
// node's address as the source, as they do on AWS.

// elbDesired is what one pass wants for load balancers.
type elbDesired struct {
	table  forwarder.Table
	checks []forwarder.Check
	// checkTargets maps a check's key to the target it checks.
	checkTargets map[string]checkTarget
	// provisioning are the provisioning load balancers whose nodes all
	// have a namespace in this pass's configuration.
	provisioning []string
	// names are the names the VPCs' resolvers answer besides their
	// instances': load balancers' and endpoints', by VPC id.
	names map[string]*vpcNames
	// endpointsUp are the pending endpoints whose ENIs and listeners are
	// all up; endpointsGone the deleting ones that are torn down.
	endpointsUp, endpointsGone []controlplane.Ref
	// endpointLabels are the metric dimensions of the endpoint listeners,
	// by listener key; endpointsCount counts the endpoints that carry
	// traffic (pending or available) per service and load balancer, for
	// every service.
	endpointLabels map[string]endpointLabels
	endpointsCount map[serviceLB]int
	// nlbListeners are the table's load balancer listeners (not the
	// endpoints'), by key, with their node's ENI id; liveNodes the ENIs
	// of the nodes of every load balancer in the snapshot.
	nlbListeners map[string]string
	liveNodes    map[string]bool
}

// retired returns the load balancer listeners of the last table (last,
// as d.nlbListeners) that d's table drops while their node stays: those
// deleted from a load balancer that still exists. Their flows go on, as
// AWS keeps a deleted NLB listener's connections; every other listener
// that goes (its load balancer deleted, an endpoint rejected or deleted)
// is reset, so the data plane fails closed.
func (d elbDesired) retired(last map[string]string) []string {
	var out []string
	for key, eni := range last {
		if _, ok := d.nlbListeners[key]; !ok && d.liveNodes[eni] {
			out = append(out, key)
		}
	}
	slices.Sort(out)
	return out
}

// checkTarget names the target a health check is about.
type checkTarget struct {
	targetGroupARN string
	targetKey      string
}

// lbIndex is the snapshot's load balancer side, indexed.
type lbIndex struct {
	now        time.Time
	groups     map[string]model.TargetGroup
	health     map[string]map[string]model.TargetHealthStatus // by group ARN, then target key
	instances  map[string]model.Instance
	listeners  map[string][]model.Listener // by load balancer ARN
	nodeHosted func(eniID string) bool
}

// buildELB computes the load balancers' and the endpoints' part of a pass.
// kernelOK reports whether the pass's data-plane Set succeeded, and hosted
// whether an ENI's namespace is then up.
func buildELB(prefix, region string, now time.Time, snap controlplane.NetworkSnapshot, kernelOK bool, hosted func(eniID string) bool) elbDesired {
	ix := lbIndex{
		now:        now,
		groups:     keyedBy(snap.TargetGroups, func(g model.TargetGroup) string { return g.ARN }),
		health:     make(map[string]map[string]model.TargetHealthStatus, len(snap.TargetHealth)),
		instances:  keyedBy(snap.Instances, func(i model.Instance) string { return i.ID }),
		listeners:  map[string][]model.Listener{},
		nodeHosted: hosted,
	}
	for _, h := range snap.TargetHealth {
		ix.health[h.TargetGroupARN] = h.Targets
	}
	for _, l := range sortedBy(snap.Listeners, func(l model.Listener) string { return l.ARN }) {
		ix.listeners[l.LoadBalancerARN] = append(ix.listeners[l.LoadBalancerARN], l)
	}

	d := elbDesired{checkTargets: map[string]checkTarget{}, names: map[string]*vpcNames{},
		endpointLabels: map[string]endpointLabels{}, endpointsCount: map[serviceLB]int{},
		nlbListeners: map[string]string{}, liveNodes: map[string]bool{}}
	checked := map[string]bool{} // check keys already added
	for _, lb := range sortedBy(snap.LoadBalancers, func(lb model.LoadBalancer) string { return lb.ARN }) {
		allHosted := len(lb.Nodes) > 0
		for _, n := range lb.Nodes {
			allHosted = allHosted && hosted(n.ENIID)
			d.liveNodes[n.ENIID] = true
		}
		if lb.State == model.LBProvisioning && allHosted {
			d.provisioning = append(d.provisioning, lb.ARN)
		}
		healthyZones := map[string]bool{}
		for _, l := range ix.listeners[lb.ARN] {
			g, ok := ix.groups[l.TargetGroupARN]
			if !ok {
				continue
			}
			for _, n := range lb.Nodes {
				fl, ok := ix.listener(prefix, lb, n, l, g)
				if !ok {
					continue
				}
				d.table.Listeners = append(d.table.Listeners, fl)
				d.nlbListeners[fl.Key] = n.ENIID
				for _, b := range fl.Backends {
					if b.State == forwarder.Healthy {
						healthyZones[n.AvailabilityZone] = true
					}
				}
			}
			for _, c := range ix.checks(prefix, lb, g) {
				if checked[c.Key] {
					continue
				}
				checked[c.Key] = true
				d.checks = append(d.checks, c.check)
				d.checkTargets[c.Key] = c.target
			}
		}
		d.vpcNames(lb.VpcID).A[lb.DNSName+"."] = nodeAddrs(lb, healthyZones)
	}
	eix := endpointIndex{
		lbIndex:   ix,
		region:    region,
		services:  servicesByID(snap),
		lbs:       loadBalancersByARN(snap),
		enis:      make(map[string]bool, len(snap.ENIs)),
		kernelOK:  kernelOK,
		eniHosted: hosted,
	}
	for _, svc := range snap.EndpointServices {
		for _, arn := range svc.NetworkLoadBalancerARNs {
			d.endpointsCount[serviceLB{svc.ID, arn}] = 0 // a service without endpoints counts 0
		}
	}
	for _, e := range snap.ENIs {
		eix.enis[e.ID] = true
	}
	buildEndpoints(prefix, eix, snap.VpcEndpoints, &d)
	return d
}

// nodeAddrs returns the addresses of the load balancer's nodes in the
// zones with a healthy target, or of every node when no zone has one: AWS
// takes a zone out of the DNS answer when it cannot serve, and fails open
// when none can.
func nodeAddrs(lb model.LoadBalancer, healthyZones map[string]bool) []netip.Addr {
	var all, healthy []netip.Addr
	for _, n := range lb.Nodes {
		a, err := netip.ParseAddr(n.PrivateIP)
		if err != nil {
			continue
		}
		all = append(all, a)
		if healthyZones[n.AvailabilityZone] {
			healthy = append(healthy, a)
		}
	}
	if len(healthy) > 0 {
		return healthy
	}
	return all
}

// crossZone reports whether a node of lb sends to targets of g in every
// zone: the group's attribute, unless it defers to the load balancer's.
func crossZone(lb model.LoadBalancer, g model.TargetGroup) bool {
	v := g.Attributes[model.AttrCrossZone]
	if v == "" || v == "use_load_balancer_configuration" {
		v = lb.Attributes[model.AttrCrossZone]
	}
	return v == "true"
}

// lbZones returns the zones the load balancer has a node in.
func lbZones(lb model.LoadBalancer) map[string]bool {
	z := make(map[string]bool, len(lb.Nodes))
	for _, n := range lb.Nodes {
		z[n.AvailabilityZone] = true
	}
	return z
}

// inService reports whether a target of g can take traffic from lb at all:
// registered (draining counts), in a zone of the load balancer, and for an
// instance target, a running instance.
func (ix lbIndex) inService(lb model.LoadBalancer, g model.TargetGroup, t model.Target) bool {
	if t.Gone(ix.now) || !lbZones(lb)[t.Zone] {
		return false
	}
	if g.TargetType == model.TargetTypeInstance {
		inst, ok := ix.instances[t.ID]
		if !ok || inst.State != model.InstanceRunning {
			return false
		}
	}
	return true
}

// listener returns the forwarder listener of one listener on one node: it
// listens on the node's address, in the node's namespace.
func (ix lbIndex) listener(prefix string, lb model.LoadBalancer, n model.LBNode, l model.Listener, g model.TargetGroup) (forwarder.Listener, bool) {
	nodeIP, ok := nodeAddr(n)
	if !ok || l.Port <= 0 || l.Port > 65535 {
		return forwarder.Listener{}, false
	}
	return ix.forward(prefix, lb, n, nodeIP, g, forwarder.Listener{
		Key:         l.ARN + "@" + n.ENIID,
		Namespace:   prefix + n.ENIID,
		Addr:        netip.AddrPortFrom(nodeIP, uint16(l.Port)),
		IdleTimeout: l.TCPIdleTimeout(),
	})
}

// nodeAddr returns a node's IPv4 address.
func nodeAddr(n model.LBNode) (netip.Addr, bool) {
	ip, err := netip.ParseAddr(n.PrivateIP)
	return ip, err == nil && ip.Is4()
}

// forward completes fl, a listener that carries a listener of lb, with the
// backends of g that the node n (address nodeIP) sends to, dialled from
// the node's namespace and address so that targets see the node as the
// source, and the group's proxy protocol and stickiness. It reports false
// when the node has no namespace.
//
// A backend's flows end as the group's attributes say: a deregistered
// target's at the end of its deregistration delay only with
// model.AttrConnTermOnDeregistration (otherwise they outlive it, as on AWS), and
// an unhealthy target's per unhealthyResetAt; the forwarder keeps the
// latter while its listener fails open.
func (ix lbIndex) forward(prefix string, lb model.LoadBalancer, n model.LBNode, nodeIP netip.Addr, g model.TargetGroup, fl forwarder.Listener) (forwarder.Listener, bool) {
	if !ix.nodeHosted(n.ENIID) {
		return forwarder.Listener{}, false
	}
	ns := prefix + n.ENIID
	fl.ProxyProtocol = g.Attributes[model.AttrProxyProtocolV2] == "true"
	fl.StickySource = g.Attributes[model.AttrStickinessEnabled] == "true"
	cross := crossZone(lb, g)
	for _, t := range g.Targets {
		if !ix.inService(lb, g, t) || (!cross && t.Zone != n.AvailabilityZone) {
			continue
		}
		ip, err := netip.ParseAddr(t.IP)
		if err != nil || !ip.Is4() || t.Port <= 0 || t.Port > 65535 {
			continue
		}
		b := forwarder.Backend{
			Key:       t.Key(),
			Namespace: ns,
			Source:    nodeIP,
			Addr:      netip.AddrPortFrom(ip, uint16(t.Port)),
			State:     forwarder.Unhealthy,
			// Also when the target leaves without a drain, or the
			// listener moves to another group: an NLB's flows stay on
			// their target.
			KeepFlows: g.Attributes[model.AttrConnTermOnDeregistration] != "true",
		}
		switch {
		case t.Draining(ix.now):
			b.State, b.DrainUntil = forwarder.Draining, t.DrainUntil
		case ix.healthy(g, t):
			b.State = forwarder.Healthy
		default:
			b.UnhealthyResetAt = ix.unhealthyResetAt(g, t)
		}
		fl.Backends = append(fl.Backends, b)
	}
	return fl, true
}

// healthy reports whether the checks found the target healthy since its
// registration.
func (ix lbIndex) healthy(g model.TargetGroup, t model.Target) bool {
	h, ok := ix.health[g.ARN][t.Key()]
	return ok && h.State == model.TargetHealthy && !h.Since.Before(t.Registered)
}

// unhealthyResetAt returns when the flows of target t of g are reset for
// being unhealthy (see model.TargetGroup.UnhealthyDrain), or the zero time
// for never: a target that is healthy, or not checked yet since its
// registration, keeps its flows.
func (ix lbIndex) unhealthyResetAt(g model.TargetGroup, t model.Target) time.Time {
	h, ok := ix.health[g.ARN][t.Key()]
	if !ok || h.State != model.TargetUnhealthy || h.Since.Before(t.Registered) {
		return time.Time{}
	}
	drain, reset := g.UnhealthyDrain()
	if !reset {
		return time.Time{}
	}
	since := h.Since
	if since.IsZero() {
		since = ix.now
	}
	return since.Add(drain)
}

type keyedCheck struct {
	Key    string
	check  forwarder.Check
	target checkTarget
}

// checks returns the health checks of the target group's targets as lb
// makes them: each target is checked from the node in its zone, from the
// node's address.
func (ix lbIndex) checks(prefix string, lb model.LoadBalancer, g model.TargetGroup) []keyedCheck {
	nodes := map[string]model.LBNode{}
	for _, n := range lb.Nodes {
		nodes[n.AvailabilityZone] = n
	}
	var out []keyedCheck
	for _, t := range g.Targets {
		if !ix.inService(lb, g, t) || t.Draining(ix.now) {
			continue
		}
		n := nodes[t.Zone]
		src, err1 := netip.ParseAddr(n.PrivateIP)
		ip, err2 := netip.ParseAddr(t.IP)
		if err1 != nil || err2 != nil || !ix.nodeHosted(n.ENIID) {
			continue
		}
		port := t.Port
		if g.HealthCheck.Port != "" && g.HealthCheck.Port != model.TrafficPort {
			p, err := strconv.Atoi(g.HealthCheck.Port)
			if err != nil {
				continue
			}
			port = int32(p)
		}
		if port <= 0 || port > 65535 {
			continue
		}
		// The registration time is part of the key: a target registered
		// again starts its checks afresh, as a new registration does on
		// AWS.
		key := fmt.Sprintf("%s|%s|%d", g.ARN, t.Key(), t.Registered.UnixNano())
		out = append(out, keyedCheck{
			Key: key,
			check: forwarder.Check{
				Key:                key,
				Namespace:          prefix + n.ENIID,
				Source:             src,
				Addr:               netip.AddrPortFrom(ip, uint16(port)),
				Protocol:           g.HealthCheck.Protocol,
				Path:               g.HealthCheck.Path,
				Matcher:            g.HealthCheck.Matcher,
				Interval:           time.Duration(g.HealthCheck.IntervalSeconds) * time.Second,
				Timeout:            time.Duration(g.HealthCheck.TimeoutSeconds) * time.Second,
				HealthyThreshold:   int(g.HealthCheck.HealthyThreshold),
				UnhealthyThreshold: int(g.HealthCheck.UnhealthyThreshold),
				ProxyProtocol:      g.Attributes[model.AttrProxyProtocolV2] == "true",
			},
			target: checkTarget{targetGroupARN: g.ARN, targetKey: t.Key()},
		})
	}
	return out
}

// healthUpdates translates the checker's reports into the control plane's
// terms; checks the pass no longer wants are dropped.
func healthUpdates(hs []forwarder.Health, targets map[string]checkTarget) []controlplane.TargetHealthUpdate {
	var out []controlplane.TargetHealthUpdate
	for _, h := range hs {
		t, ok := targets[h.Key]
		if !ok {
			continue
		}
		u := controlplane.TargetHealthUpdate{TargetGroupARN: t.targetGroupARN, TargetKey: t.targetKey}
		switch h.State {
		case forwarder.StateHealthy:
			u.State = model.TargetHealthy
		case forwarder.StateUnhealthy:
			u.State = model.TargetUnhealthy
			switch h.Reason {
			case forwarder.FailTimeout:
				u.Reason = model.ReasonTimeout
			case forwarder.FailMismatch:
				u.Reason = model.ReasonResponseCodeMismatch
				u.Description = fmt.Sprintf("Health checks failed with these codes: [%d]", h.Code)
			default:
				u.Reason = model.ReasonFailedHealthChecks
			}
		default:
			continue // initial: nothing concluded yet
		}
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b controlplane.TargetHealthUpdate) int {
		return cmp.Or(strings.Compare(a.TargetGroupARN, b.TargetGroupARN), strings.Compare(a.TargetKey, b.TargetKey))
	})
	return out
}

// vpcNames are the names one VPC's resolver answers besides its instances'.
type vpcNames struct {
	A     map[string][]netip.Addr
	CNAME map[string]string
}

// vpcNames returns the names of vpcID, made on first use.
func (d *elbDesired) vpcNames(vpcID string) *vpcNames {
	n := d.names[vpcID]
	if n == nil {
		n = &vpcNames{A: map[string][]netip.Addr{}, CNAME: map[string]string{}}
		d.names[vpcID] = n
	}
	return n
}

// addNames adds the names of load balancers and endpoints to their VPCs'
// resolvers. An address's reverse lookup stays the address's EC2 name, as
// for any ENI. Other VPCs do not get the names: their CIDRs may overlap
// this one, and they could not reach the addresses anyway.
func addNames(cfg *vpcdns.Config, prefix, region string, names map[string]*vpcNames) {
	for i := range cfg.Resolvers {
		r := &cfg.Resolvers[i]
		vpcID, ok := strings.CutPrefix(r.Namespace, prefix)
		if !ok || names[vpcID] == nil {
			continue
		}
		n := names[vpcID]
		for name, addrs := range n.A {
			r.Records.A[name] = append(r.Records.A[name], addrs...)
			for _, a := range addrs {
				if r.Records.PTR == nil {
					r.Records.PTR = map[netip.Addr][]string{}
				}
				if _, ok := r.Records.PTR[a]; !ok {
					r.Records.PTR[a] = []string{model.PrivateDNSName(region, a.String()) + "."}
				}
			}
		}
		for alias, target := range n.CNAME {
			if r.Records.CNAME == nil {
				r.Records.CNAME = map[string]string{}
			}
			r.Records.CNAME[alias] = target
		}
	}
}
