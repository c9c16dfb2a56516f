package dataplane

import (
	"net"
	"net/netip"
	"testing"

	"github.com/privlink/privlink/internal/dataplane/nft"
)

// testMAC returns a locally administered unicast MAC ending in n.
func testMAC(n byte) net.HardwareAddr { return net.HardwareAddr{0x02, 0x00, 0x5e, 0x00, 0x00, n} }

// testVPC returns a router with two subnets, 10.0.1.0/24 on b1 and
// 10.0.2.0/24 on b2, and the resolver at 10.0.0.2.
func testVPC(ns string) Router {
	return Router{
		Namespace: ns,
		Bridges: []Bridge{
			{Name: "b1", Address: netip.MustParsePrefix("10.0.1.1/24")},
			{Name: "b2", Address: netip.MustParsePrefix("10.0.2.1/24")},
		},
		ResolverAddr: netip.MustParseAddr("10.0.0.2"),
	}
}

// testHost returns a host with eth0 on the bridge of router: an instance,
// with a default route and the VPC's resolver.
func testHost(ns, port, router, bridge, addr string, mac byte) Host {
	a := netip.MustParsePrefix(addr)
	gw := a.Masked().Addr().Next()
	return Host{
		Namespace: ns,
		Interfaces: []Interface{{
			Name: "eth0", BridgePort: port, Router: router, Bridge: bridge,
			Address: a, MAC: testMAC(mac), Gateway: gw, DefaultRoute: true,
		}},
		DNS: []netip.Addr{netip.MustParseAddr("10.0.0.2")},
	}
}

// webSG lets 10.0.0.0/16 reach TCP port 80 on eth0, and eth0 reach
// anything.
func webSG(port uint16) nft.Firewall {
	all := []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}
	return nft.Firewall{Interfaces: []nft.IfacePolicy{{
		Iface:   "eth0",
		Ingress: []nft.Rule{{Proto: nft.ProtoTCP, FromPort: port, ToPort: port, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16")}}},
		Egress:  []nft.Rule{{Proto: nft.ProtoAll, Prefixes: all}},
	}}}
}

// hostSteps returns the state-transition steps for routers and hosts
// under base; the data plane has the prefix base+"h-". The Fake and the
// Linux data plane must both pass them, and leave nothing behind.
func hostSteps(base string) []stateStep {
	p := base + "h-"
	vpcA, vpcB := p+"vpc-a", p+"vpc-b"
	a1, a2, b1 := p+"i-a1", p+"i-a2", p+"i-b1"
	cfg := func(rs []Router, hs ...Host) Config {
		return Config{Prefix: p, Owner: statesOwner, Routers: rs, Hosts: hs}
	}
	routerA, routerB := testVPC(vpcA), testVPC(vpcB)
	withACL := testVPC(vpcA)
	withACL.ACLs = nft.ACLSet{Subnets: []nft.SubnetACL{{
		Iface:    "b2",
		Inbound:  []nft.ACLEntry{{Number: 100, Allow: true, Prefix: netip.MustParsePrefix("10.0.0.0/16")}},
		Outbound: []nft.ACLEntry{{Number: 100, Allow: true, Prefix: netip.MustParsePrefix("10.0.0.0/16")}},
	}}}
	hostA1 := testHost(a1, "pa1", vpcA, "b1", "10.0.1.10/24", 1)
	withSG := hostA1
	withSG.Firewall = webSG(80)
	withSG8080 := hostA1
	withSG8080.Firewall = webSG(8080)
	moved := withSG8080
	moved.Interfaces = []Interface{moved.Interfaces[0]}
	moved.Interfaces[0].Address = netip.MustParsePrefix("10.0.1.11/24")
	otherSubnet := moved
	otherSubnet.Interfaces = []Interface{moved.Interfaces[0]}
	otherSubnet.Interfaces[0].Bridge = "b2"
	otherSubnet.Interfaces[0].Address = netip.MustParsePrefix("10.0.2.11/24")
	otherSubnet.Interfaces[0].Gateway = netip.MustParseAddr("10.0.2.1")
	newMAC := otherSubnet
	newMAC.Interfaces = []Interface{otherSubnet.Interfaces[0]}
	newMAC.Interfaces[0].MAC = testMAC(9)
	hostA2 := testHost(a2, "pa2", vpcA, "b2", "10.0.2.10/24", 2)
	// The same port name, address and MAC as hostA1, in the other VPC.
	hostB1 := testHost(b1, "pa1", vpcB, "b1", "10.0.1.10/24", 1)
	both := []Router{withACL, routerB}

	addHost := func(ns, port, router, bridge, addr, gw string) []string {
		return []string{
			"add netns " + ns,
			"up lo in " + ns,
			"forwarding off in " + ns,
			"add veth eth0 in " + ns + " peer " + port + " in " + router,
			"add addr " + addr + " on eth0 in " + ns,
			"up eth0 in " + ns,
			"up " + port + " in " + router,
			"master " + port + " " + bridge + " in " + router,
			"announce " + netip.MustParsePrefix(addr).Addr().String() + " on eth0 in " + ns,
			"add route default via " + gw + " dev eth0 in " + ns,
		}
	}
	addRouter := func(ns string) []string {
		return []string{
			"add netns " + ns,
			"up lo in " + ns,
			"forwarding on in " + ns,
			"add addr 10.0.0.2/32 on lo in " + ns,
			"add bridge b1 in " + ns,
			"add addr 10.0.1.1/24 on b1 in " + ns,
			"up b1 in " + ns,
			"add bridge b2 in " + ns,
			"add addr 10.0.2.1/24 on b2 in " + ns,
			"up b2 in " + ns,
		}
	}
	cat := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	return []stateStep{
		{
			name: "a VPC with its resolver address and an instance",
			cfg:  cfg([]Router{routerA}, hostA1),
			want: cat(
				addRouter(vpcA),
				addHost(a1, "pa1", vpcA, "b1", "10.0.1.10/24", "10.0.1.1"),
				[]string{"write resolv.conf for " + a1},
			),
		},
		{name: "same again", cfg: cfg([]Router{routerA}, hostA1)},
		{
			name: "a security group",
			cfg:  cfg([]Router{routerA}, withSG),
			want: []string{"apply sg in " + a1},
		},
		{
			name: "a changed security group rule",
			cfg:  cfg([]Router{routerA}, withSG8080),
			want: []string{"apply sg in " + a1},
		},
		{
			name: "a network ACL",
			cfg:  cfg([]Router{withACL}, withSG8080),
			want: []string{"apply acl in " + vpcA},
		},
		{
			name: "a second instance in the other subnet, and an overlapping VPC with the same instance",
			cfg:  cfg(both, withSG8080, hostA2, hostB1),
			want: cat(
				addRouter(vpcB),
				addHost(a2, "pa2", vpcA, "b2", "10.0.2.10/24", "10.0.2.1"),
				[]string{"write resolv.conf for " + a2},
				addHost(b1, "pa1", vpcB, "b1", "10.0.1.10/24", "10.0.1.1"),
				[]string{"write resolv.conf for " + b1},
			),
		},
		{
			name: "a new address in the same subnet",
			cfg:  cfg(both, moved, hostA2, hostB1),
			want: []string{
				"del addr 10.0.1.10/24 on eth0 in " + a1,
				"add addr 10.0.1.11/24 on eth0 in " + a1,
				"announce 10.0.1.11 on eth0 in " + a1,
				"add route default via 10.0.1.1 dev eth0 in " + a1,
			},
		},
		{
			name: "another subnet",
			cfg:  cfg(both, otherSubnet, hostA2, hostB1),
			want: []string{
				"master pa1 b2 in " + vpcA,
				"del route default via 10.0.1.1 dev eth0 in " + a1,
				"del addr 10.0.1.11/24 on eth0 in " + a1,
				"add addr 10.0.2.11/24 on eth0 in " + a1,
				"announce 10.0.2.11 on eth0 in " + a1,
				"add route default via 10.0.2.1 dev eth0 in " + a1,
			},
		},
		{
			name: "a new MAC replaces the veth pair",
			cfg:  cfg(both, newMAC, hostA2, hostB1),
			want: []string{
				"del veth pa1 in " + vpcA,
				"add veth eth0 in " + a1 + " peer pa1 in " + vpcA,
				"add addr 10.0.2.11/24 on eth0 in " + a1,
				"up eth0 in " + a1,
				"up pa1 in " + vpcA,
				"master pa1 b2 in " + vpcA,
				"announce 10.0.2.11 on eth0 in " + a1,
				"add route default via 10.0.2.1 dev eth0 in " + a1,
			},
		},
		{
			name: "an instance deleted by hand is recreated, and its resolv.conf kept",
			before: func(t *testing.T, k outOfBand) {
				k.DeleteNamespace(t, a2)
			},
			cfg:  cfg(both, newMAC, hostA2, hostB1),
			want: addHost(a2, "pa2", vpcA, "b2", "10.0.2.10/24", "10.0.2.1"),
		},
		{
			name: "an instance deleted by hand and no longer wanted: its resolv.conf goes",
			before: func(t *testing.T, k outOfBand) {
				k.DeleteNamespace(t, a2)
			},
			cfg:  cfg(both, newMAC, hostB1),
			want: []string{"del resolv.conf for " + a2},
		},
		{
			name: "no DNS any more",
			cfg: cfg(both, newMAC, func() Host {
				h := hostB1
				h.DNS = nil
				return h
			}()),
			want: []string{"del resolv.conf for " + b1},
		},
		{
			name: "an instance moves to the other VPC",
			cfg: cfg(both, func() Host {
				h := newMAC
				h.Interfaces = []Interface{h.Interfaces[0]}
				h.Interfaces[0].Router, h.Interfaces[0].BridgePort = vpcB, "pa9"
				return h
			}(), hostB1),
			want: []string{
				"del veth pa1 in " + vpcA,
				"add veth eth0 in " + a1 + " peer pa9 in " + vpcB,
				"add addr 10.0.2.11/24 on eth0 in " + a1,
				"up eth0 in " + a1,
				"up pa9 in " + vpcB,
				"master pa9 b2 in " + vpcB,
				"announce 10.0.2.11 on eth0 in " + a1,
				"add route default via 10.0.2.1 dev eth0 in " + a1,
				"write resolv.conf for " + b1,
			},
		},
		{
			name: "remove everything",
			cfg:  cfg(nil),
			want: []string{
				"del veth eth0 in " + a1,
				"del netns " + a1,
				"del veth eth0 in " + b1,
				"del netns " + b1,
				"del netns " + vpcA,
				"del netns " + vpcB,
			},
		},
	}
}
