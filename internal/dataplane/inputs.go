package dataplane

import (
	"bytes"
	"slices"

	"github.com/privlink/privlink/internal/dataplane/nft"
)

// nsInput is the part of a Config that decides one namespace's desired
// state: a router with the ports its hosts plug into it, or a host. The
// Linux data plane keeps a deep copy of what it last applied for each
// namespace, and compares it with the next Config's, which is far cheaper
// than building and compiling the desired state again.
type nsInput struct {
	Router *Router
	Ports  []port // of Router, in Config order
	Host   *Host
}

// inputsOf returns the inputs of every namespace that cfg wants. They
// share memory with cfg.
func inputsOf(cfg Config) map[string]nsInput {
	out := make(map[string]nsInput, len(cfg.Routers)+len(cfg.Hosts))
	ports := portsByRouter(cfg.Hosts)
	for i := range cfg.Routers {
		r := &cfg.Routers[i]
		out[r.Namespace] = nsInput{Router: r, Ports: ports[r.Namespace]}
	}
	for i := range cfg.Hosts {
		h := &cfg.Hosts[i]
		out[h.Namespace] = nsInput{Host: h}
	}
	return out
}

// wanted reports whether in is a namespace's input, rather than the zero
// input of a namespace the config does not want.
func (in nsInput) wanted() bool { return in.Router != nil || in.Host != nil }

// routers returns the router namespaces that a host's interfaces plug into.
func (in nsInput) routers() []string {
	if in.Host == nil {
		return nil
	}
	var out []string
	for _, ifc := range in.Host.Interfaces {
		if !slices.Contains(out, ifc.Router) {
			out = append(out, ifc.Router)
		}
	}
	return out
}

// hosts returns the host namespaces that plug into a router.
func (in nsInput) hosts() []string {
	var out []string
	for _, p := range in.Ports {
		if !slices.Contains(out, p.Host.NS) {
			out = append(out, p.Host.NS)
		}
	}
	return out
}

// desired returns the state and rulesets that in asks for.
func (in nsInput) desired(owner string) (*nsState, tables, error) {
	if in.Host != nil {
		return desiredHost(owner, *in.Host)
	}
	return desiredRouter(owner, *in.Router, in.Ports)
}

// equal reports whether in and o ask for the same state. It runs for
// every namespace on every Set, so it compares field by field rather than
// with reflect.DeepEqual, which costs ten times as much; TestInputEqual
// checks that it misses no field.
func (in nsInput) equal(o nsInput) bool {
	if (in.Router == nil) != (o.Router == nil) || (in.Host == nil) != (o.Host == nil) || !slices.Equal(in.Ports, o.Ports) {
		return false
	}
	if in.Router != nil && !routerEqual(in.Router, o.Router) {
		return false
	}
	return in.Host == nil || hostEqual(in.Host, o.Host)
}

func routerEqual(a, b *Router) bool {
	return a.Namespace == b.Namespace && slices.Equal(a.Bridges, b.Bridges) && a.ResolverAddr == b.ResolverAddr &&
		slices.EqualFunc(a.ACLs.Subnets, b.ACLs.Subnets, func(x, y nft.SubnetACL) bool {
			return x.Iface == y.Iface && slices.Equal(x.Inbound, y.Inbound) && slices.Equal(x.Outbound, y.Outbound)
		})
}

func hostEqual(a, b *Host) bool {
	return a.Namespace == b.Namespace && slices.Equal(a.DNS, b.DNS) &&
		slices.EqualFunc(a.Interfaces, b.Interfaces, func(x, y Interface) bool {
			return x.Name == y.Name && x.BridgePort == y.BridgePort && x.Router == y.Router && x.Bridge == y.Bridge &&
				x.Address == y.Address && bytes.Equal(x.MAC, y.MAC) && x.Gateway == y.Gateway && x.DefaultRoute == y.DefaultRoute
		}) &&
		slices.EqualFunc(a.Firewall.Interfaces, b.Firewall.Interfaces, func(x, y nft.IfacePolicy) bool {
			return x.Iface == y.Iface && slices.EqualFunc(x.Ingress, y.Ingress, ruleEqual) && slices.EqualFunc(x.Egress, y.Egress, ruleEqual)
		})
}

func ruleEqual(a, b nft.Rule) bool {
	return a.Proto == b.Proto && a.FromPort == b.FromPort && a.ToPort == b.ToPort &&
		a.IcmpType == b.IcmpType && a.IcmpCode == b.IcmpCode && slices.Equal(a.Prefixes, b.Prefixes)
}

// clone returns a deep copy of in, which shares no memory with the Config
// it came from.
func (in nsInput) clone() nsInput {
	out := nsInput{Ports: slices.Clone(in.Ports)}
	if in.Router != nil {
		r := *in.Router
		r.Bridges = slices.Clone(r.Bridges)
		r.ACLs = cloneACLs(r.ACLs)
		out.Router = &r
	}
	if in.Host != nil {
		h := *in.Host
		h.Interfaces = slices.Clone(h.Interfaces)
		for i := range h.Interfaces {
			h.Interfaces[i].MAC = slices.Clone(h.Interfaces[i].MAC)
		}
		h.DNS = slices.Clone(h.DNS)
		h.Firewall = cloneFirewall(h.Firewall)
		out.Host = &h
	}
	return out
}

func cloneFirewall(fw nft.Firewall) nft.Firewall {
	fw.Interfaces = slices.Clone(fw.Interfaces)
	for i := range fw.Interfaces {
		p := &fw.Interfaces[i]
		p.Ingress = cloneRules(p.Ingress)
		p.Egress = cloneRules(p.Egress)
	}
	return fw
}

func cloneRules(rules []nft.Rule) []nft.Rule {
	rules = slices.Clone(rules)
	for i := range rules {
		rules[i].Prefixes = slices.Clone(rules[i].Prefixes)
	}
	return rules
}

func cloneACLs(s nft.ACLSet) nft.ACLSet {
	s.Subnets = slices.Clone(s.Subnets)
	for i := range s.Subnets {
		s.Subnets[i].Inbound = slices.Clone(s.Subnets[i].Inbound)
		s.Subnets[i].Outbound = slices.Clone(s.Subnets[i].Outbound)
	}
	return s
}
