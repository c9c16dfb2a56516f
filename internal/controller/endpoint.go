package controller

import (
	"net/netip"

	"github.com/privlink/privlink/internal/controlplane"
	"github.com/privlink/privlink/internal/forwarder"
	"github.com/privlink/privlink/internal/model"
)

// This file turns interface endpoints into forwarder listeners and DNS
// answers. An endpoint ENI's namespace (managedHost) holds a listener on the
// ENI's address for every listener port of the service's load balancer in
// the ENI's zone; each flow is dialled from that load balancer's node, as
// the load balancer itself would, so that the provider's targets see the
// node's address. Nothing links the consumer's VPC to the provider's: the
// forwarder is the only path, and it exists only while the endpoint is
// pending or available.

// endpointIndex is what the endpoint part of a pass looks things up in.
type endpointIndex struct {
	lbIndex
	region   string
	services map[string]model.EndpointService
	lbs      map[string]model.LoadBalancer
	// enis holds the ids of the ENIs the snapshot has.
	enis map[string]bool
	// kernelOK reports whether the pass's data-plane Set succeeded.
	kernelOK bool
	// eniHosted reports whether an ENI's namespace is up after the pass.
	eniHosted func(eniID string) bool
}

// buildEndpoints adds the endpoints' listeners, names and progress to d.
func buildEndpoints(prefix string, ix endpointIndex, endpoints []model.VpcEndpoint, d *elbDesired) {
	for _, e := range sortedBy(endpoints, func(e model.VpcEndpoint) string { return e.ID }) {
		ref := controlplane.Ref{Owner: e.OwnerID, ID: e.ID}
		if e.State == model.EndpointDeleting {
			if ix.kernelOK && !ix.anyENI(e) {
				d.endpointsGone = append(d.endpointsGone, ref)
			}
			continue
		}
		svc, ok := ix.services[e.ServiceID]
		if !ok {
			continue
		}
		carries := e.State == model.EndpointPending || e.State == model.EndpointAvailable
		up, healthyZones := true, map[string]bool{}
		for _, en := range e.ENIs {
			if !ix.eniHosted(en.ENIID) {
				up = false
				continue
			}
			if !carries {
				continue
			}
			fls, lbARN := ix.endpointListeners(prefix, e, en, svc)
			for _, fl := range fls {
				d.table.Listeners = append(d.table.Listeners, fl)
				d.endpointLabels[fl.Key] = endpointLabels{
					endpointID: e.ID, serviceName: svc.Name, vpcID: e.VpcID, subnetID: en.SubnetID,
					serviceID: svc.ID, lbARN: lbARN, zone: en.AvailabilityZone,
				}
				for _, b := range fl.Backends {
					if b.State == forwarder.Healthy {
						healthyZones[en.AvailabilityZone] = true
					}
				}
			}
		}
		if carries {
			for _, arn := range svc.NetworkLoadBalancerARNs {
				d.endpointsCount[serviceLB{svc.ID, arn}]++
			}
		}
		if e.State == model.EndpointPending && up && len(e.ENIs) > 0 {
			d.endpointsUp = append(d.endpointsUp, ref)
		}
		ix.endpointNames(e, svc, healthyZones, d.vpcNames(e.VpcID))
	}
}

// anyENI reports whether any ENI of the endpoint still exists.
func (ix endpointIndex) anyENI(e model.VpcEndpoint) bool {
	for _, en := range e.ENIs {
		if ix.enis[en.ENIID] {
			return true
		}
	}
	return false
}

// endpointListeners returns the listeners of one endpoint ENI: one per
// listener of the load balancer that serves the ENI's zone
// (zoneLoadBalancer), dialling from its node there, and that load
// balancer's ARN.
func (ix endpointIndex) endpointListeners(prefix string, e model.VpcEndpoint, en model.EndpointENI, svc model.EndpointService) ([]forwarder.Listener, string) {
	ip, err := netip.ParseAddr(en.PrivateIP)
	if err != nil || !ip.Is4() {
		return nil, ""
	}
	lb, n, ok := zoneLoadBalancer(svc, ix.lbs, en.AvailabilityZone)
	if !ok {
		return nil, ""
	}
	nodeIP, ok := nodeAddr(n)
	if !ok {
		return nil, lb.ARN
	}
	var out []forwarder.Listener
	for _, l := range ix.listeners[lb.ARN] {
		g, ok := ix.groups[l.TargetGroupARN]
		if !ok || l.Port <= 0 || l.Port > 65535 {
			continue
		}
		// The flows idle out as the load balancer's listener says: an
		// endpoint's are the load balancer's (350 s by default, as AWS
		// documents for PrivateLink too).
		fl, ok := ix.forward(prefix, lb, n, nodeIP, g, forwarder.Listener{
			Key:         l.ARN + "@" + en.ENIID,
			Namespace:   prefix + en.ENIID,
			Addr:        netip.AddrPortFrom(ip, uint16(l.Port)),
			EndpointID:  e.ID,
			IdleTimeout: l.TCPIdleTimeout(),
		})
		if ok {
			out = append(out, fl)
		}
	}
	return out, lb.ARN
}

// zoneLoadBalancer returns the load balancer of svc that serves zone, the
// first with a node there (AWS connects an endpoint to one load balancer
// per zone), and that node.
func zoneLoadBalancer(svc model.EndpointService, lbs map[string]model.LoadBalancer, zone string) (model.LoadBalancer, model.LBNode, bool) {
	for _, arn := range svc.NetworkLoadBalancerARNs {
		lb, ok := lbs[arn]
		if !ok {
			continue
		}
		for _, n := range lb.Nodes {
			if n.AvailabilityZone == zone {
				return lb, n, true
			}
		}
	}
	return model.LoadBalancer{}, model.LBNode{}, false
}

// endpointNames adds the endpoint's names to its VPC's: the regional name
// answers the ENIs of the zones with a healthy target (all ENIs when none
// has one), each zonal name its own ENI, and with private DNS on and the
// service's name verified, the service's private DNS name is a CNAME to the
// regional name, as AWS's private hosted zone has it.
func (ix endpointIndex) endpointNames(e model.VpcEndpoint, svc model.EndpointService, healthyZones map[string]bool, names *vpcNames) {
	regional := model.EndpointRegionalDNSName(ix.region, e.DNSLabel, svc.ID) + "."
	var all, healthy []netip.Addr
	for _, en := range e.ENIs {
		a, err := netip.ParseAddr(en.PrivateIP)
		if err != nil {
			continue
		}
		all = append(all, a)
		if healthyZones[en.AvailabilityZone] {
			healthy = append(healthy, a)
		}
		zonal := model.EndpointZonalDNSName(ix.region, e.DNSLabel, en.AvailabilityZone, svc.ID) + "."
		names.A[zonal] = append(names.A[zonal], a)
	}
	if len(healthy) == 0 {
		healthy = all
	}
	if len(healthy) > 0 {
		names.A[regional] = append(names.A[regional], healthy...)
	}
	if e.PrivateDNSEnabled && svc.PrivateDNSName != "" && svc.PrivateDNS != nil && svc.PrivateDNS.State == model.DNSVerified {
		names.CNAME[svc.PrivateDNSName+"."] = regional
	}
}
