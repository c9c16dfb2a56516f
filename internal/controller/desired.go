package controller

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/privlink/privlink/internal/controlplane"
	"github.com/privlink/privlink/internal/dataplane"
	"github.com/privlink/privlink/internal/dataplane/nft"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/supervisor"
	"github.com/privlink/privlink/internal/vpcdns"
)

// instanceIface is the name of an instance's primary ENI inside its
// namespace.
const instanceIface = "eth0"

// desired is everything one pass wants for the node, computed from one
// snapshot: the data-plane config, the workloads, the resolvers, and the
// resources whose state the controller advances once they are applied.
type desired struct {
	cfg            dataplane.Config
	subnets        int // subnets configured
	pendingVpcs    []controlplane.Ref
	pendingSubnets []controlplane.Ref
	skipped        []skipped

	// instances are the instances that are not terminated, in id order.
	instances []instanceWork
	dns       vpcdns.Config
}

// instanceWork is one instance that is not terminated, as a pass sees it.
type instanceWork struct {
	ref    controlplane.Ref
	ns     string
	state  string
	hosted bool   // cfg has its Host
	script []byte // decoded UserData
	ran    bool   // its UserData was started before (model.Instance.UserDataRan)
}

// skipped is a resource that cannot be configured. The control plane
// validates everything, so this is a bug or a damaged record; the controller
// configures everything else rather than nothing.
type skipped struct {
	kind, id, vpcID, reason string
}

// buildConfig computes what the node should have for owner: one router
// namespace (prefix + VPC id) per VPC, with one bridge per subnet that
// carries the subnet's first address (.1) with the subnet's prefix length,
// the resolver address (VPC base+2) when the VPC has DNS support and the
// subnets' network ACLs; one host namespace (prefix + instance id) per
// instance that is not terminated, with its primary ENI as eth0 and its
// security groups as its firewall; and one resolver per VPC with DNS
// support. Routers are in VPC id order, bridges in subnet id order, hosts in
// instance id order.
func buildConfig(prefix, owner, region string, snap controlplane.NetworkSnapshot) desired {
	d := desired{cfg: dataplane.Config{Prefix: prefix, Owner: owner}}
	vpcs := sortedBy(snap.Vpcs, func(v model.Vpc) string { return v.ID })
	subnets := sortedBy(snap.Subnets, func(s model.Subnet) string { return s.ID })

	byVpc := make(map[string][]model.Subnet, len(vpcs))
	for _, s := range subnets {
		byVpc[s.VpcID] = append(byVpc[s.VpcID], s)
	}
	aclOf := subnetACLs(snap.NetworkAcls)
	vpcByID := keyedBy(vpcs, func(v model.Vpc) string { return v.ID })
	// configured are the subnets that have a bridge, with the router's
	// address on it.
	configured := make(map[string]netip.Prefix, len(subnets))
	for _, v := range vpcs {
		r := dataplane.Router{Namespace: prefix + v.ID}
		if v.EnableDnsSupport {
			r.ResolverAddr = resolverAddr(v.CidrBlock)
		}
		for _, s := range byVpc[v.ID] {
			addr, err := routerAddress(s.CidrBlock)
			switch {
			case err != nil:
				d.skipped = append(d.skipped, skipped{"subnet", s.ID, s.VpcID, err.Error()})
				continue
			case s.BridgeName == "":
				d.skipped = append(d.skipped, skipped{"subnet", s.ID, s.VpcID, "no bridge name recorded"})
				continue
			}
			r.Bridges = append(r.Bridges, dataplane.Bridge{Name: s.BridgeName, Address: addr})
			configured[s.ID] = addr
			d.subnets++
			if acl, ok := aclOf[s.ID]; ok {
				in, out := aclEntries(acl)
				r.ACLs.Subnets = append(r.ACLs.Subnets, nftSubnetACL(s.BridgeName, in, out))
			}
			if s.State == model.StatePending {
				d.pendingSubnets = append(d.pendingSubnets, controlplane.Ref{Owner: s.OwnerID, ID: s.ID})
			}
		}
		d.cfg.Routers = append(d.cfg.Routers, r)
		if v.State == model.StatePending {
			d.pendingVpcs = append(d.pendingVpcs, controlplane.Ref{Owner: v.OwnerID, ID: v.ID})
		}
	}
	for _, s := range subnets {
		if _, ok := vpcByID[s.VpcID]; !ok {
			d.skipped = append(d.skipped, skipped{"subnet", s.ID, s.VpcID, "its VPC does not exist"})
		}
	}

	subnetByID := keyedBy(subnets, func(s model.Subnet) string { return s.ID })
	eniByID := keyedBy(snap.ENIs, func(e model.NetworkInterface) string { return e.ID })
	groups := keyedBy(snap.SecurityGroups, func(g model.SecurityGroup) string { return g.ID })
	members := groupMembers(snap.ENIs)

	instances := sortedBy(snap.Instances, func(i model.Instance) string { return i.ID })
	for _, inst := range instances {
		if inst.State == model.InstanceTerminated {
			continue
		}
		w := instanceWork{
			ref:   controlplane.Ref{Owner: inst.OwnerID, ID: inst.ID},
			ns:    prefix + inst.ID,
			state: inst.State,
			ran:   inst.UserDataRan,
		}
		if inst.UserData != "" {
			script, err := base64.StdEncoding.DecodeString(inst.UserData)
			if err != nil {
				d.skipped = append(d.skipped, skipped{"instance user data", inst.ID, inst.VpcID, "not base64: " + err.Error()})
			} else {
				w.script = script
			}
		}
		h, err := instanceHost(prefix, inst, eniByID, subnetByID, configured, vpcByID, groups, members)
		if err != nil {
			d.skipped = append(d.skipped, skipped{"instance", inst.ID, inst.VpcID, err.Error()})
		} else {
			d.cfg.Hosts = append(d.cfg.Hosts, h)
			w.hosted = true
		}
		d.instances = append(d.instances, w)
	}
	// Requester-managed ENIs (NLB nodes, endpoint ENIs) have namespaces of
	// their own.
	gates := privateLinkGates(snap)
	for _, eni := range sortedBy(snap.ENIs, func(e model.NetworkInterface) string { return e.ID }) {
		if !eni.RequesterManaged || eni.InstanceID != "" {
			continue
		}
		h, err := managedHost(prefix, eni, subnetByID, configured, vpcByID, groups, members)
		if err != nil {
			d.skipped = append(d.skipped, skipped{"network interface", eni.ID, eni.VpcID, err.Error()})
			continue
		}
		if lb, ok := gates[eni.ID]; ok {
			h.Firewall = gateByLoadBalancer(h.Firewall, lb, groups)
		}
		d.cfg.Hosts = append(d.cfg.Hosts, h)
	}
	d.dns = dnsConfig(prefix, region, vpcs, instances)
	return d
}

// instanceHost returns the host namespace of an instance: its primary ENI
// as eth0 on its subnet's bridge, the VPC resolver as its name server when
// the VPC has DNS support, and the ENI's security groups as its firewall.
func instanceHost(prefix string, inst model.Instance, enis map[string]model.NetworkInterface, subnets map[string]model.Subnet,
	configured map[string]netip.Prefix, vpcs map[string]model.Vpc, groups map[string]model.SecurityGroup, members groupIndex) (dataplane.Host, error) {
	eni, ok := enis[inst.PrimaryENI]
	if !ok {
		return dataplane.Host{}, fmt.Errorf("primary ENI %q does not exist", inst.PrimaryENI)
	}
	h, vpc, err := eniHost(prefix, prefix+inst.ID, eni, subnets, configured, vpcs)
	if err != nil {
		return dataplane.Host{}, err
	}
	h.Firewall = firewall(instanceIface, eni, groups, members)
	if vpc.EnableDnsSupport {
		if a := resolverAddr(vpc.CidrBlock); a.IsValid() {
			h.DNS = []netip.Addr{a}
		}
	}
	return h, nil
}

// managedHost returns the namespace of a requester-managed ENI (an NLB
// node, an endpoint ENI): the ENI as eth0 on its subnet's bridge, with its
// security groups as its firewall. An ENI without groups (an NLB created
// without security groups) filters nothing, as AWS does for such a load
// balancer.
func managedHost(prefix string, eni model.NetworkInterface, subnets map[string]model.Subnet,
	configured map[string]netip.Prefix, vpcs map[string]model.Vpc, groups map[string]model.SecurityGroup, members groupIndex) (dataplane.Host, error) {
	h, _, err := eniHost(prefix, prefix+eni.ID, eni, subnets, configured, vpcs)
	if err != nil {
		return dataplane.Host{}, err
	}
	if len(eni.Groups) > 0 {
		h.Firewall = firewall(instanceIface, eni, groups, members)
	}
	return h, nil
}

// privateLinkGates returns, by endpoint ENI id, the load balancer whose
// security groups' inbound rules also apply to the ENI's traffic: the one
// its flows go to (the service's first with a node in the ENI's zone, as
// endpointListeners picks it), when it has security groups and enforces
// them on PrivateLink traffic (EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic
// "on", AWS's default).
func privateLinkGates(snap controlplane.NetworkSnapshot) map[string]model.LoadBalancer {
	services, lbs := servicesByID(snap), loadBalancersByARN(snap)
	gates := map[string]model.LoadBalancer{}
	for _, e := range snap.VpcEndpoints {
		svc, ok := services[e.ServiceID]
		if !ok {
			continue
		}
		for _, en := range e.ENIs {
			if lb, _, ok := zoneLoadBalancer(svc, lbs, en.AvailabilityZone); ok &&
				len(lb.SecurityGroups) > 0 && lb.EnforceSGOnPrivateLink == controlplane.EnforceOn {
				gates[en.ENIID] = lb
			}
		}
	}
	return gates
}

// gateByLoadBalancer narrows an endpoint ENI's firewall fw to what the
// inbound rules of lb's security groups admit as well: a connection to the
// endpoint must pass the consumer's groups on the ENI and the provider's on
// the load balancer. The load balancer's rules see the consumer's client
// address; only their CIDR rules can match it (a group reference names
// ENIs of the provider's VPC, never a consumer). Egress stays the ENI's.
func gateByLoadBalancer(fw nft.Firewall, lb model.LoadBalancer, groups map[string]model.SecurityGroup) nft.Firewall {
	var lbRules []nft.Rule
	for _, id := range lb.SecurityGroups {
		for _, r := range groups[id].Ingress {
			if r.CidrIPv4 == "" {
				continue
			}
			if nr, ok := sgRule(r, lb.VpcID, nil); ok {
				lbRules = append(lbRules, nr)
			}
		}
	}
	if len(fw.Interfaces) == 0 {
		// No groups on the ENI: it admitted everything, now only
		// what the load balancer's groups admit.
		return nft.Firewall{Interfaces: []nft.IfacePolicy{{Iface: instanceIface, Ingress: lbRules, Egress: []nft.Rule{allTraffic()}}}}
	}
	out := nft.Firewall{Interfaces: make([]nft.IfacePolicy, len(fw.Interfaces))}
	for i, p := range fw.Interfaces {
		p.Ingress = intersectRules(p.Ingress, lbRules)
		out.Interfaces[i] = p
	}
	return out
}

// allTraffic is a rule that admits every protocol to or from anywhere
// (IPv4).
func allTraffic() nft.Rule {
	return nft.Rule{Proto: nft.ProtoAll, IcmpType: -1, IcmpCode: -1, Prefixes: []netip.Prefix{netip.PrefixFrom(netip.IPv4Unspecified(), 0)}}
}

// eniHost returns the namespace ns holding eni as eth0 on its subnet's
// bridge, with a default route via the VPC router (prefix + VPC id), and
// the ENI's VPC.
func eniHost(prefix, ns string, eni model.NetworkInterface, subnets map[string]model.Subnet,
	configured map[string]netip.Prefix, vpcs map[string]model.Vpc) (dataplane.Host, model.Vpc, error) {
	sn, ok := subnets[eni.SubnetID]
	if !ok {
		return dataplane.Host{}, model.Vpc{}, fmt.Errorf("subnet %s of ENI %s does not exist", eni.SubnetID, eni.ID)
	}
	gw, ok := configured[sn.ID]
	if !ok {
		return dataplane.Host{}, model.Vpc{}, fmt.Errorf("subnet %s of ENI %s is not configured", sn.ID, eni.ID)
	}
	vpc, ok := vpcs[sn.VpcID]
	if !ok {
		return dataplane.Host{}, model.Vpc{}, fmt.Errorf("VPC %s of ENI %s does not exist", sn.VpcID, eni.ID)
	}
	ip, err := netip.ParseAddr(eni.PrivateIP)
	if err != nil || !ip.Is4() {
		return dataplane.Host{}, model.Vpc{}, fmt.Errorf("ENI %s: private IP %q is not an IPv4 address", eni.ID, eni.PrivateIP)
	}
	mac, err := net.ParseMAC(eni.MacAddress)
	if err != nil {
		return dataplane.Host{}, model.Vpc{}, fmt.Errorf("ENI %s: MAC address: %w", eni.ID, err)
	}
	if eni.BridgePort == "" {
		return dataplane.Host{}, model.Vpc{}, fmt.Errorf("ENI %s: no bridge port recorded", eni.ID)
	}
	return dataplane.Host{
		Namespace: ns,
		Interfaces: []dataplane.Interface{{
			Name:         instanceIface,
			BridgePort:   eni.BridgePort,
			Router:       prefix + vpc.ID,
			Bridge:       sn.BridgeName,
			Address:      netip.PrefixFrom(ip, gw.Bits()),
			MAC:          mac,
			Gateway:      gw.Addr(),
			DefaultRoute: true,
		}},
	}, vpc, nil
}

// workloads returns the supervisor's complete list: every instance that is
// not terminated. A running instance's UserData runs; a pending one's only
// once its namespace is configured (kernelOK); a stopping, stopped or
// shutting-down one's processes are killed.
func (d desired) workloads(kernelOK bool) []supervisor.Workload {
	out := make([]supervisor.Workload, 0, len(d.instances))
	for _, w := range d.instances {
		run := w.hosted && (w.state == model.InstanceRunning || w.state == model.InstancePending && kernelOK)
		out = append(out, supervisor.Workload{ID: w.ref.ID, Namespace: w.ns, Script: w.script, Run: run})
	}
	return out
}

// hostedInstances returns how many instances have a namespace in the
// configuration.
func (d desired) hostedInstances() int {
	n := 0
	for _, w := range d.instances {
		if w.hosted {
			n++
		}
	}
	return n
}

// terminating returns the namespaces of the shutting-down instances.
func (d desired) terminating() map[string]bool {
	out := map[string]bool{}
	for _, w := range d.instances {
		if w.state == model.InstanceShuttingDown {
			out[w.ns] = true
		}
	}
	return out
}

// withoutHosts returns cfg without the hosts whose namespaces are in drop.
func withoutHosts(cfg dataplane.Config, drop map[string]bool) dataplane.Config {
	cfg.Hosts = slices.DeleteFunc(slices.Clone(cfg.Hosts), func(h dataplane.Host) bool { return drop[h.Namespace] })
	return cfg
}

// progress returns what a pass did to instances: pending ones are running
// once their namespace is configured and their UserData handed to the
// supervisor, stopping ones are stopped once the supervisor has killed their
// processes, and shutting-down ones are terminated once their namespace is
// gone (terminatedOK).
func (d desired) progress(kernelOK, supervisorOK, terminatedOK bool) controlplane.InstanceProgress {
	var p controlplane.InstanceProgress
	if !supervisorOK {
		return p
	}
	for _, w := range d.instances {
		switch w.state {
		case model.InstancePending:
			if kernelOK && w.hosted {
				p.Running = append(p.Running, w.ref)
				if len(w.script) > 0 && !w.ran {
					p.UserDataRan = append(p.UserDataRan, w.ref)
				}
			}
		case model.InstanceStopping:
			p.Stopped = append(p.Stopped, w.ref)
		case model.InstanceShuttingDown:
			if terminatedOK {
				p.Terminated = append(p.Terminated, w.ref)
			}
		}
	}
	return p
}

func emptyProgress(p controlplane.InstanceProgress) bool {
	return len(p.Running)+len(p.Stopped)+len(p.Terminated)+len(p.UserDataRan) == 0
}

// dnsConfig returns one resolver per VPC with DNS support, in its router
// namespace at base+2, that answers the private DNS name of every instance
// of the VPC that is not terminated (and the reverse lookups, which vpcdns
// derives).
func dnsConfig(prefix, region string, vpcs []model.Vpc, instances []model.Instance) vpcdns.Config {
	var cfg vpcdns.Config
	for _, v := range vpcs {
		if !v.EnableDnsSupport {
			continue
		}
		addr := resolverAddr(v.CidrBlock)
		if !addr.IsValid() {
			continue
		}
		recs := vpcdns.Records{A: map[string][]netip.Addr{}}
		for _, inst := range instances {
			if inst.VpcID != v.ID || inst.State == model.InstanceTerminated {
				continue
			}
			ip, err := netip.ParseAddr(inst.PrivateIP)
			name := model.PrivateDNSName(region, inst.PrivateIP)
			if err != nil || name == "" {
				continue
			}
			recs.A[name+"."] = append(recs.A[name+"."], ip)
		}
		cfg.Resolvers = append(cfg.Resolvers, vpcdns.Resolver{Namespace: prefix + v.ID, Addr: addr, Records: recs})
	}
	return cfg
}

// resolverAddr returns the VPC's resolver address, base+2, or the zero
// Addr if the CIDR block is not a valid IPv4 prefix.
func resolverAddr(cidr string) netip.Addr {
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() {
		return netip.Addr{}
	}
	a := p.Masked().Addr().Next().Next()
	if !p.Contains(a) {
		return netip.Addr{}
	}
	return a
}

// routerAddress returns the router's address on a subnet: the subnet's
// first address after the network address, with the subnet's length.
func routerAddress(cidr string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("cidr block %q: %w", cidr, err)
	}
	p = p.Masked()
	a := p.Addr().Next()
	if !a.IsValid() || !p.Contains(a) {
		return netip.Prefix{}, fmt.Errorf("cidr block %q has no router address", cidr)
	}
	return netip.PrefixFrom(a, p.Bits()), nil
}

// keyedBy returns the items of s by their key.
func keyedBy[T any](s []T, key func(T) string) map[string]T {
	m := make(map[string]T, len(s))
	for _, v := range s {
		m[key(v)] = v
	}
	return m
}

// servicesByID and loadBalancersByARN index the snapshot's endpoint
// services and load balancers, for the firewall part of a pass and for its
// load balancer part.
func servicesByID(snap controlplane.NetworkSnapshot) map[string]model.EndpointService {
	return keyedBy(snap.EndpointServices, func(s model.EndpointService) string { return s.ID })
}

func loadBalancersByARN(snap controlplane.NetworkSnapshot) map[string]model.LoadBalancer {
	return keyedBy(snap.LoadBalancers, func(lb model.LoadBalancer) string { return lb.ARN })
}

// sortedBy returns a copy of s sorted by key, so that a pass builds the
// same configuration from the same snapshot.
func sortedBy[T any](s []T, key func(T) string) []T {
	s = slices.Clone(s)
	slices.SortFunc(s, func(a, b T) int { return strings.Compare(key(a), key(b)) })
	return s
}
