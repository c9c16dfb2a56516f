package dataplane

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/privlink/privlink/internal/dataplane/nft"
)

func TestValidate(t *testing.T) {
	br := func(name, addr string) Bridge {
		var p netip.Prefix
		if addr != "" {
			p = netip.MustParsePrefix(addr)
		}
		return Bridge{Name: name, Address: p}
	}
	tests := []struct {
		name    string
		cfg     Config
		wantErr []string // substrings of the error; nil: valid
	}{
		{
			name: "empty config",
			cfg:  Config{Prefix: "plk-", Owner: "o1"},
		},
		{
			name: "valid",
			cfg: Config{Prefix: "plk-", Owner: "o1", Routers: []Router{
				{Namespace: "plk-vpc-0a1b2c3d4e5f67890", Bridges: []Bridge{br("plkb-0123456789", "10.0.1.1/24"), br("b2", "10.0.2.1/24")}},
				// The same bridge names and addresses in another router.
				{Namespace: "plk-vpc-2", Bridges: []Bridge{br("b2", "10.0.2.1/24"), br("b6", "fd00:1::1/64")}},
			}},
		},
		{
			name:    "no prefix",
			cfg:     Config{Owner: "o1", Routers: []Router{{Namespace: "vpc-1"}}},
			wantErr: []string{"prefix: empty name"},
		},
		{
			name:    "prefix with a slash",
			cfg:     Config{Prefix: "a/b", Owner: "o1"},
			wantErr: []string{"prefix: name \"a/b\" contains '/'"},
		},
		{
			name: "owner id of a daemon",
			cfg:  Config{Prefix: "plk-", Owner: "0123456789abcdef"},
		},
		{
			name:    "no owner",
			cfg:     Config{Prefix: "plk-", Routers: []Router{{Namespace: "plk-1"}}},
			wantErr: []string{"owner: empty owner"},
		},
		{
			name:    "owner with a space",
			cfg:     Config{Prefix: "plk-", Owner: "a b"},
			wantErr: []string{`owner: owner "a b" contains a character other than`},
		},
		{
			name:    "owner with a non-ASCII letter",
			cfg:     Config{Prefix: "plk-", Owner: "ownér"},
			wantErr: []string{`owner: owner "ownér" contains`},
		},
		{
			name:    "owner too long",
			cfg:     Config{Prefix: "plk-", Owner: strings.Repeat("a", MaxOwner+1)},
			wantErr: []string{"longer than 64 bytes"},
		},
		{
			name: "namespace without prefix",
			cfg: Config{Prefix: "plk-", Owner: "o1", Routers: []Router{
				{Namespace: "vpc-1"},
				{Namespace: "plk-"},
				{Namespace: "plktest-1"},
			}},
			wantErr: []string{
				`namespace "vpc-1" does not extend prefix "plk-"`,
				`namespace "plk-" does not extend prefix "plk-"`,
				`namespace "plktest-1" does not extend prefix "plk-"`,
			},
		},
		{
			name:    "duplicate namespace",
			cfg:     Config{Prefix: "plk-", Owner: "o1", Routers: []Router{{Namespace: "plk-1"}, {Namespace: "plk-1"}}},
			wantErr: []string{`router 1: duplicate namespace "plk-1"`},
		},
		{
			name: "bad link names",
			cfg: Config{Prefix: "plk-", Owner: "o1", Routers: []Router{{Namespace: "plk-1", Bridges: []Bridge{
				br("0123456789abcdef", "10.0.1.1/24"),
				br("", "10.0.2.1/24"),
				br("a b", "10.0.3.1/24"),
				br("lo", "10.0.4.1/24"),
				br("sit0", "10.0.5.1/24"),
				br("ok", "10.0.6.1/24"),
				br("ok", "10.0.7.1/24"),
			}}}},
			wantErr: []string{
				`link name "0123456789abcdef" longer than 15 bytes`,
				"empty link name",
				`link name "a b" contains`,
				`link name "lo" is reserved`,
				`link name "sit0" is reserved`,
				`duplicate link name "ok"`,
			},
		},
		{
			name: "bad addresses",
			cfg: Config{Prefix: "plk-", Owner: "o1", Routers: []Router{{Namespace: "plk-1", Bridges: []Bridge{
				br("b1", ""),
				br("b2", "::ffff:10.0.0.1/120"),
				br("b3", "10.0.0.1/16"),
				br("b4", "10.0.1.1/24"),
			}}}},
			wantErr: []string{
				"(b1): invalid address",
				"(b2): address ::ffff:10.0.0.1/120 must be plain",
				"(b4): address 10.0.1.1/24 overlaps 10.0.0.1/16 on b3",
			},
		},
	}
	tests = append(tests, hostValidationTests()...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %v\nwant it to contain %q", err, w)
				}
			}
			if got, want := len(strings.Split(err.Error(), "\n")), len(tt.wantErr); got != want {
				t.Errorf("Validate() reported %d problems, want %d:\n%v", got, want, err)
			}
		})
	}
}

func TestOwnerOfAlias(t *testing.T) {
	tests := []struct {
		alias, want string
	}{
		{OwnerAlias("0123456789abcdef"), "0123456789abcdef"},
		{"privlink owner=0123456789abcdef", "0123456789abcdef"},
		{"", ""},
		{"privlink owner=", ""},
		{"privlink owner=a b", ""},
		{"loopback of my test bed", ""},
		{"Privlink owner=abc", ""},
	}
	for _, tt := range tests {
		if got := ownerOfAlias(tt.alias); got != tt.want {
			t.Errorf("ownerOfAlias(%q) = %q, want %q", tt.alias, got, tt.want)
		}
	}
}

// hostValidationTests are the TestValidate cases about hosts, resolvers
// and firewalls.
func hostValidationTests() []struct {
	name    string
	cfg     Config
	wantErr []string
} {
	cfg := func(rs []Router, hs ...Host) Config {
		return Config{Prefix: "plk-", Owner: "o1", Routers: rs, Hosts: hs}
	}
	vpc := testVPC("plk-vpc")
	h1 := testHost("plk-i-1", "p1", "plk-vpc", "b1", "10.0.1.10/24", 1)
	edit := func(h Host, f func(*Interface)) Host {
		h.Interfaces = slices.Clone(h.Interfaces)
		f(&h.Interfaces[0])
		return h
	}
	return []struct {
		name    string
		cfg     Config
		wantErr []string
	}{
		{
			name: "valid hosts",
			cfg: cfg([]Router{vpc, testVPC("plk-vpc2")},
				h1,
				testHost("plk-i-2", "p2", "plk-vpc", "b2", "10.0.2.10/24", 2),
				// The same address, MAC and port name in another VPC.
				testHost("plk-i-3", "p1", "plk-vpc2", "b1", "10.0.1.10/24", 1),
				// A requester-managed interface: no default route, no DNS.
				Host{Namespace: "plk-eni-1", Interfaces: []Interface{{
					Name: "eth0", BridgePort: "p4", Router: "plk-vpc", Bridge: "b1",
					Address: netip.MustParsePrefix("10.0.1.20/24"), MAC: testMAC(4),
				}}, Firewall: webSG(443)},
			),
		},
		{
			name:    "host without prefix, duplicate of a router",
			cfg:     cfg([]Router{vpc}, Host{Namespace: "i-1"}, Host{Namespace: "plk-vpc"}),
			wantErr: []string{`host 0: namespace "i-1" does not extend prefix`, `host 1: duplicate namespace "plk-vpc"`},
		},
		{
			name: "unknown router and bridge",
			cfg: cfg([]Router{vpc},
				edit(h1, func(i *Interface) { i.Router = "plk-nope" }),
				edit(testHost("plk-i-2", "p2", "plk-vpc", "b1", "10.0.1.11/24", 2), func(i *Interface) { i.Bridge = "b9" }),
			),
			wantErr: []string{`router "plk-nope" is not in the config`, `bridge "b9" is not a bridge of router "plk-vpc"`},
		},
		{
			name: "bad names and MACs",
			cfg: cfg([]Router{vpc},
				edit(h1, func(i *Interface) {
					i.Name, i.BridgePort, i.MAC = "eth0-is-far-too-long", "lo", net.HardwareAddr{1, 2, 3, 4, 5, 6}
				}),
				edit(testHost("plk-i-2", "b1", "plk-vpc", "b1", "10.0.1.11/24", 2), func(i *Interface) { i.MAC = nil }),
			),
			wantErr: []string{
				`link name "eth0-is-far-too-long" longer than 15 bytes`,
				`bridge port: link name "lo" is reserved`,
				"MAC 01:02:03:04:05:06 is a multicast address",
				`MAC "" is not 6 bytes`,
				`bridge port "b1" is the name of a bridge`,
			},
		},
		{
			name: "addresses outside the subnet, of the router, of the resolver, IPv6",
			cfg: cfg([]Router{vpc},
				edit(h1, func(i *Interface) { i.Address = netip.MustParsePrefix("10.0.2.10/24") }),
				testHost("plk-i-2", "p2", "plk-vpc", "b1", "10.0.1.1/24", 2),
				edit(testHost("plk-i-3", "p3", "plk-vpc", "b1", "10.0.1.12/16", 3), func(i *Interface) {}),
				edit(testHost("plk-i-4", "p4", "plk-vpc", "b1", "10.0.1.13/24", 4), func(i *Interface) {
					i.Address = netip.MustParsePrefix("fd00::13/64")
				}),
			),
			wantErr: []string{
				"address 10.0.2.10/24 is not in the prefix 10.0.1.0/24 of bridge b1",
				`"plk-i-1": interface 0 (eth0): gateway 10.0.1.1 is not another address in 10.0.2.0/24`,
				"address 10.0.1.1 is the router's on bridge b1",
				`"plk-i-2": interface 0 (eth0): gateway 10.0.1.1 is not another address in 10.0.1.0/24`,
				"address 10.0.1.12/16 is not in the prefix 10.0.1.0/24",
				"address fd00::13/64 must be an IPv4 prefix",
				"gateway 10.0.1.1 is not another address in fd00::/64",
			},
		},
		{
			name: "duplicate address, MAC and port on a router",
			cfg: cfg([]Router{vpc}, h1,
				testHost("plk-i-2", "p1", "plk-vpc", "b1", "10.0.1.10/24", 1),
			),
			wantErr: []string{
				`bridge port "p1" is taken`,
				"address 10.0.1.10 is taken",
				"MAC 02:00:5e:00:00:01 is taken on bridge b1",
			},
		},
		{
			name: "two default routes, a gateway outside, too many name servers, a firewall on another interface",
			cfg: cfg([]Router{vpc}, Host{
				Namespace: "plk-i-1",
				Interfaces: []Interface{
					h1.Interfaces[0],
					{Name: "eth1", BridgePort: "p2", Router: "plk-vpc", Bridge: "b2", Address: netip.MustParsePrefix("10.0.2.10/24"),
						MAC: testMAC(2), Gateway: netip.MustParseAddr("10.0.1.1"), DefaultRoute: true},
				},
				DNS:      []netip.Addr{netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.3"), netip.MustParseAddr("10.0.0.4"), netip.MustParseAddr("10.0.0.5")},
				Firewall: nft.Firewall{Interfaces: []nft.IfacePolicy{{Iface: "eth7"}}},
			}),
			wantErr: []string{
				"gateway 10.0.1.1 is not another address in 10.0.2.0/24",
				"2 interfaces with a default route",
				"4 name servers, want at most 3",
				"firewall: eth7 is not an interface of the host",
			},
		},
		{
			name: "resolver on a bridge address, ACL on an unknown bridge",
			cfg: cfg([]Router{{
				Namespace:    "plk-vpc",
				Bridges:      []Bridge{{Name: "b1", Address: netip.MustParsePrefix("10.0.1.1/24")}},
				ResolverAddr: netip.MustParseAddr("10.0.1.1"),
				ACLs:         nft.ACLSet{Subnets: []nft.SubnetACL{{Iface: "b9"}}},
			}}),
			wantErr: []string{
				"resolver address 10.0.1.1 is the address of bridge b1",
				"acls: b9 is not a bridge of the router",
			},
		},
		{
			name: "an interface on the resolver address, a MAC of the bridge",
			cfg: cfg([]Router{{
				Namespace:    "plk-vpc",
				Bridges:      []Bridge{{Name: "b1", Address: netip.MustParsePrefix("10.0.0.1/24")}},
				ResolverAddr: netip.MustParseAddr("10.0.0.2"),
			}}, edit(testHost("plk-i-1", "p1", "plk-vpc", "b1", "10.0.0.2/24", 1), func(i *Interface) {
				i.MAC = BridgeMAC("b1")
			})),
			wantErr: []string{
				"address 10.0.0.2 is the router's resolver address",
				"is the MAC of bridge b1",
			},
		},
	}
}
