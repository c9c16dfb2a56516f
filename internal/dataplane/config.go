package dataplane

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/privlink/privlink/internal/dataplane/nft"
)

// Config is the complete desired data-plane state of one node.
type Config struct {
	// Prefix is the namespace prefix: Set only ever looks at network
	// namespaces whose names start with it. Namespaces without it are
	// never touched. Examples: "plk-" in the daemon, "plktest-ab12cd-" in
	// tests. Several data planes (several daemons on one host) may share a
	// prefix; Owner tells their namespaces apart.
	Prefix string
	// Owner identifies this data plane among those that share Prefix,
	// such as a daemon's id kept in its store: 1 to MaxOwner bytes of
	// ASCII letters, digits, '.', '_' and '-'. Set stamps it on every
	// namespace it creates (as the alias of the namespace's lo, see
	// OwnerAlias) and deletes or changes only namespaces that carry it,
	// so two daemons never touch each other's namespaces.
	Owner string
	// Routers are the router namespaces, one per VPC.
	Routers []Router
	// Hosts are the namespaces that hold interfaces on the routers'
	// bridges: one per instance, and one per interface that has no
	// instance (an endpoint's or a load balancer node's).
	Hosts []Host
}

// Router is a namespace that routes between its bridges and is linked to
// nothing else: no link to the host or to another router. Hosts' interfaces
// plug into its bridges.
type Router struct {
	// Namespace is the full namespace name; it must start with
	// Config.Prefix.
	Namespace string
	// Bridges are the bridges inside Namespace, one per subnet.
	Bridges []Bridge
	// ResolverAddr, if valid, is an address of the router itself, kept
	// on its lo as a /32 (or /128), so that every subnet reaches it
	// through its gateway: where a resolver for the VPC listens. It must
	// not be one of the router's bridge addresses nor a host's.
	ResolverAddr netip.Addr
	// ACLs filter what the router forwards between its bridges; every
	// SubnetACL names one of Bridges. The zero ACLSet filters nothing.
	ACLs nft.ACLSet
}

// Bridge is a Linux bridge inside a router namespace.
type Bridge struct {
	// Name is the link name, chosen by the caller: 1 to 15 bytes.
	Name string
	// Address is the router's address on the bridge, such as
	// 10.0.1.1/24. The bridge has no other address (IPv6 link-local
	// addresses aside, which the kernel manages). The bridge's MAC
	// address is derived from Name (see BridgeMAC), so that it never
	// changes as ports come and go.
	Address netip.Prefix
}

// Host is a namespace that holds interfaces plugged into routers' bridges:
// an instance's namespace, or the namespace of an interface of its own.
// Nothing in it forwards.
type Host struct {
	// Namespace is the full namespace name; it must start with
	// Config.Prefix.
	Namespace string
	// Interfaces are the host's interfaces, each one end of a veth pair
	// whose other end is a port of a router's bridge.
	Interfaces []Interface
	// DNS are the name servers of the host, written to
	// /etc/netns/<Namespace>/resolv.conf (at most MaxDNS). Without any,
	// there is no such file.
	DNS []netip.Addr
	// Firewall is the stateful policy of the host's interfaces; its
	// IfacePolicy.Iface names are Interface.Name values. The zero
	// Firewall filters nothing.
	Firewall nft.Firewall
}

// Interface is one interface of a host: a veth pair with one end inside the
// host and the other a port of a router's bridge.
type Interface struct {
	// Name is the link name inside the host, such as "eth0".
	Name string
	// BridgePort is the link name of the other end, in the router
	// namespace, enslaved to Bridge. It must be unique in the router
	// (no bridge or other port has it); derive it from a short hash of
	// something unique to the interface.
	BridgePort string
	// Router is the router's namespace, one of Config.Routers.
	Router string
	// Bridge is the name of one of the router's bridges.
	Bridge string
	// Address is the interface's IPv4 address with the length of the
	// bridge's prefix (10.0.1.10/24). No other interface on the bridge
	// has it, and it is not the router's.
	Address netip.Prefix
	// MAC is the interface's hardware address: unicast, and unique on
	// the bridge. A different MAC replaces the veth pair.
	MAC net.HardwareAddr
	// Gateway is the router's address on the bridge, the next hop of the
	// default route when DefaultRoute is set; it must lie in Address's
	// prefix.
	Gateway netip.Addr
	// DefaultRoute adds a default route via Gateway on this interface.
	// At most one interface of a host has it.
	DefaultRoute bool
}

// MaxOwner is the longest Config.Owner in bytes.
const MaxOwner = 64

// ownerAliasPrefix starts the alias of lo in every namespace the data plane
// owns; the owner id follows it.
const ownerAliasPrefix = "privlink owner="

// OwnerAlias returns the alias that Set gives the lo link of every
// namespace it creates for owner: "privlink owner=<owner>". `ip -n NS link
// show lo` shows it.
func OwnerAlias(owner string) string { return ownerAliasPrefix + owner }

// ownerOfAlias returns the owner that an alias of lo names, or "" if the
// alias is not one that OwnerAlias makes.
func ownerOfAlias(alias string) string {
	owner, ok := strings.CutPrefix(alias, ownerAliasPrefix)
	if !ok || checkOwner(owner) != nil {
		return ""
	}
	return owner
}

// MaxLinkName is the longest Linux interface name in bytes (IFNAMSIZ - 1).
const MaxLinkName = 15

// reservedLinks are the links that the kernel creates in every new network
// namespace: loopback and, when their modules are loaded, the fallback
// tunnel devices. They cannot be deleted; Set leaves them alone (except for
// bringing lo up) and the Config may not name a link after them.
var reservedLinks = map[string]bool{
	"lo":       true,
	"tunl0":    true,
	"gre0":     true,
	"gretap0":  true,
	"erspan0":  true,
	"ip_vti0":  true,
	"ip6_vti0": true,
	"sit0":     true,
	"ip6tnl0":  true,
	"ip6gre0":  true,
}

// MaxDNS is the most name servers a Host may list: what the resolver of
// the C library reads from resolv.conf.
const MaxDNS = 3

// Validate reports every problem with c, or nil.
func (c Config) Validate() error {
	var errs []error
	if err := checkNamespaceName(c.Prefix); err != nil {
		errs = append(errs, fmt.Errorf("prefix: %w", err))
	}
	if err := checkOwner(c.Owner); err != nil {
		errs = append(errs, fmt.Errorf("owner: %w", err))
	}
	seenNS := make(map[string]bool)
	checkNS := func(kind string, i int, ns string) {
		nameErr := checkNamespaceName(ns)
		noPrefix := nameErr == nil && c.Prefix != "" && (!strings.HasPrefix(ns, c.Prefix) || ns == c.Prefix)
		if nameErr != nil || noPrefix || seenNS[ns] {
			// Formatted only here: Set validates thousands of names.
			what := fmt.Sprintf("%s %d", kind, i)
			if nameErr != nil {
				errs = append(errs, fmt.Errorf("%s: namespace: %w", what, nameErr))
			}
			if noPrefix {
				errs = append(errs, fmt.Errorf("%s: namespace %q does not extend prefix %q", what, ns, c.Prefix))
			}
			if seenNS[ns] {
				errs = append(errs, fmt.Errorf("%s: duplicate namespace %q", what, ns))
			}
		}
		seenNS[ns] = true
	}
	routers := make(map[string]*routerCheck, len(c.Routers))
	for i, r := range c.Routers {
		checkNS("router", i, r.Namespace)
		errs = append(errs, r.validateBridges()...)
		rc := &routerCheck{
			bridges: make(map[string]bridgeCheck, len(r.Bridges)),
			ports:   make(map[string]fmt.Stringer),
			addrs:   make(map[netip.Addr]fmt.Stringer),
			macs:    make(map[macKey]fmt.Stringer),
		}
		for _, b := range r.Bridges {
			rc.bridges[b.Name] = bridgeCheck{Bridge: b, mac: [6]byte(BridgeMAC(b.Name))}
		}
		errs = append(errs, r.validateExtras(rc)...)
		if _, dup := routers[r.Namespace]; !dup {
			routers[r.Namespace] = rc
		}
	}
	for i, h := range c.Hosts {
		checkNS("host", i, h.Namespace)
		errs = append(errs, h.validate(routers)...)
	}
	return errors.Join(errs...)
}

// routerCheck is what Validate remembers of a router to check the hosts'
// interfaces against it.
type routerCheck struct {
	bridges  map[string]bridgeCheck
	resolver netip.Addr
	ports    map[string]fmt.Stringer     // port name: the interface that has it
	addrs    map[netip.Addr]fmt.Stringer // interface address: the interface
	macs     map[macKey]fmt.Stringer     // the interface
}

type bridgeCheck struct {
	Bridge
	mac [6]byte // BridgeMAC(Name)
}

type macKey struct {
	bridge string
	mac    [6]byte
}

// ifaceAt names an interface in errors; it is formatted only for one.
type ifaceAt struct {
	host string
	j    int
	name string
}

func (w ifaceAt) String() string {
	return fmt.Sprintf("host %q: interface %d (%s)", w.host, w.j, w.name)
}

func (r Router) validateBridges() []error {
	var errs []error
	seen := make(map[string]bool)
	for j, b := range r.Bridges {
		where := fmt.Sprintf("router %q: bridge %d", r.Namespace, j)
		if err := checkLinkName(b.Name); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		}
		if seen[b.Name] {
			errs = append(errs, fmt.Errorf("%s: duplicate link name %q", where, b.Name))
		}
		seen[b.Name] = true
		if !b.Address.IsValid() {
			errs = append(errs, fmt.Errorf("%s (%s): invalid address %v", where, b.Name, b.Address))
			continue
		}
		if !isPlain(b.Address.Addr()) {
			errs = append(errs, fmt.Errorf("%s (%s): address %v must be plain IPv4 or IPv6", where, b.Name, b.Address))
			continue
		}
		for _, o := range r.Bridges[:j] {
			if o.Address.IsValid() && o.Address.Overlaps(b.Address) {
				errs = append(errs, fmt.Errorf("%s (%s): address %v overlaps %v on %s", where, b.Name, b.Address, o.Address, o.Name))
			}
		}
	}
	return errs
}

// validateExtras checks the resolver address and the ACLs.
func (r Router) validateExtras(rc *routerCheck) []error {
	var errs []error
	where := fmt.Sprintf("router %q", r.Namespace)
	if a := r.ResolverAddr; a.IsValid() {
		if !isPlain(a) || a.IsUnspecified() || a.IsLoopback() || a.IsMulticast() {
			errs = append(errs, fmt.Errorf("%s: resolver address %v must be a plain unicast IPv4 or IPv6 address", where, a))
		} else {
			rc.resolver = a
		}
		for _, b := range r.Bridges {
			if b.Address.Addr() == a {
				errs = append(errs, fmt.Errorf("%s: resolver address %v is the address of bridge %s", where, a, b.Name))
			}
		}
	}
	if err := r.ACLs.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("%s: acls: %w", where, err))
	}
	for _, sub := range r.ACLs.Subnets {
		if _, ok := rc.bridges[sub.Iface]; !ok {
			errs = append(errs, fmt.Errorf("%s: acls: %s is not a bridge of the router", where, sub.Iface))
		}
	}
	return errs
}

func (h Host) validate(routers map[string]*routerCheck) []error {
	var errs []error
	where := hostAt(h.Namespace)
	names := make(map[string]bool, len(h.Interfaces))
	defaultRoutes := 0
	for j, ifc := range h.Interfaces {
		iw := ifaceAt{h.Namespace, j, ifc.Name}
		if err := checkLinkName(ifc.Name); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", iw, err))
		}
		if names[ifc.Name] {
			errs = append(errs, fmt.Errorf("%s: duplicate link name %q", iw, ifc.Name))
		}
		names[ifc.Name] = true
		if err := checkLinkName(ifc.BridgePort); err != nil {
			errs = append(errs, fmt.Errorf("%s: bridge port: %w", iw, err))
		}
		if ifc.DefaultRoute {
			defaultRoutes++
		}
		if err := checkMAC(ifc.MAC); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", iw, err))
		}
		a := ifc.Address
		if !a.IsValid() || !a.Addr().Is4() {
			errs = append(errs, fmt.Errorf("%s: address %v must be an IPv4 prefix", iw, a))
		}
		if ifc.DefaultRoute && (!ifc.Gateway.IsValid() || !a.IsValid() || !a.Contains(ifc.Gateway) || ifc.Gateway == a.Addr()) {
			errs = append(errs, fmt.Errorf("%s: gateway %v is not another address in %v", iw, ifc.Gateway, a.Masked()))
		}
		rc, ok := routers[ifc.Router]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: router %q is not in the config", iw, ifc.Router))
			continue
		}
		b, ok := rc.bridges[ifc.Bridge]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: bridge %q is not a bridge of router %q", iw, ifc.Bridge, ifc.Router))
			continue
		}
		if _, clash := rc.bridges[ifc.BridgePort]; clash {
			errs = append(errs, fmt.Errorf("%s: bridge port %q is the name of a bridge of router %q", iw, ifc.BridgePort, ifc.Router))
		} else if other, dup := rc.ports[ifc.BridgePort]; dup {
			errs = append(errs, fmt.Errorf("%s: bridge port %q is taken in router %q by %s", iw, ifc.BridgePort, ifc.Router, other))
		} else {
			rc.ports[ifc.BridgePort] = iw
		}
		if a.IsValid() && a.Addr().Is4() {
			switch {
			case !b.Address.IsValid() || a.Masked() != b.Address.Masked():
				errs = append(errs, fmt.Errorf("%s: address %v is not in the prefix %v of bridge %s", iw, a, b.Address.Masked(), b.Name))
			case a.Addr() == b.Address.Addr():
				errs = append(errs, fmt.Errorf("%s: address %v is the router's on bridge %s", iw, a.Addr(), b.Name))
			case a.Addr() == rc.resolver:
				errs = append(errs, fmt.Errorf("%s: address %v is the router's resolver address", iw, a.Addr()))
			}
			if other, dup := rc.addrs[a.Addr()]; dup {
				errs = append(errs, fmt.Errorf("%s: address %v is taken in router %q by %s", iw, a.Addr(), ifc.Router, other))
			} else {
				rc.addrs[a.Addr()] = iw
			}
		}
		if len(ifc.MAC) == 6 {
			key := macKey{ifc.Bridge, [6]byte(ifc.MAC)}
			if key.mac == b.mac {
				errs = append(errs, fmt.Errorf("%s: MAC %v is the MAC of bridge %s", iw, ifc.MAC, ifc.Bridge))
			} else if other, dup := rc.macs[key]; dup {
				errs = append(errs, fmt.Errorf("%s: MAC %v is taken on bridge %s by %s", iw, ifc.MAC, ifc.Bridge, other))
			} else {
				rc.macs[key] = iw
			}
		}
	}
	if defaultRoutes > 1 {
		errs = append(errs, fmt.Errorf("%s: %d interfaces with a default route, want at most one", where, defaultRoutes))
	}
	if len(h.DNS) > MaxDNS {
		errs = append(errs, fmt.Errorf("%s: %d name servers, want at most %d", where, len(h.DNS), MaxDNS))
	}
	for _, d := range h.DNS {
		if !d.IsValid() || !isPlain(d) || d.IsUnspecified() {
			errs = append(errs, fmt.Errorf("%s: invalid name server %v", where, d))
		}
	}
	if err := h.Firewall.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("%s: firewall: %w", where, err))
	}
	for _, p := range h.Firewall.Interfaces {
		if !names[p.Iface] {
			errs = append(errs, fmt.Errorf("%s: firewall: %s is not an interface of the host", where, p.Iface))
		}
	}
	return errs
}

// hostAt names a host in errors; it is formatted only for one.
type hostAt string

func (h hostAt) String() string { return fmt.Sprintf("host %q", string(h)) }

// isPlain reports whether a is an IPv4 or IPv6 address without a zone and
// not an IPv4-mapped IPv6 address.
func isPlain(a netip.Addr) bool {
	return a.IsValid() && !a.Is4In6() && a.Zone() == ""
}

func checkMAC(mac net.HardwareAddr) error {
	switch {
	case len(mac) != 6:
		return fmt.Errorf("MAC %q is not 6 bytes", mac.String())
	case mac[0]&1 != 0:
		return fmt.Errorf("MAC %v is a multicast address", mac)
	case bytes.Equal(mac, make(net.HardwareAddr, 6)):
		return errors.New("MAC is all zeros")
	}
	return nil
}

// BridgeMAC returns the MAC address that Set gives the bridge name: a
// locally administered unicast address derived from the name. A bridge
// whose address was never set takes the lowest address of its ports, so
// every port that joins or leaves could change the gateway's address under
// the hosts' neighbour caches; a set address never changes.
func BridgeMAC(name string) net.HardwareAddr {
	sum := sha256.Sum256([]byte("privlink bridge " + name))
	mac := net.HardwareAddr(sum[:6])
	mac[0] = mac[0]&^0x01 | 0x02
	return mac
}

func checkNamespaceName(name string) error {
	switch {
	case name == "":
		return errors.New("empty name")
	case name == "." || name == "..":
		return fmt.Errorf("invalid name %q", name)
	case len(name) > 255:
		return fmt.Errorf("name %q longer than 255 bytes", name)
	case strings.ContainsAny(name, "/\x00") || strings.ContainsFunc(name, isSpaceOrControl):
		return fmt.Errorf("name %q contains '/', a space or a control character", name)
	}
	return nil
}

func checkOwner(owner string) error {
	switch {
	case owner == "":
		return errors.New("empty owner")
	case len(owner) > MaxOwner:
		return fmt.Errorf("owner %q longer than %d bytes", owner, MaxOwner)
	case strings.ContainsFunc(owner, func(r rune) bool { return !isOwnerChar(r) }):
		return fmt.Errorf("owner %q contains a character other than ASCII letters, digits, '.', '_' and '-'", owner)
	}
	return nil
}

func isOwnerChar(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '.' || r == '_' || r == '-'
}

func checkLinkName(name string) error {
	switch {
	case name == "":
		return errors.New("empty link name")
	case len(name) > MaxLinkName:
		return fmt.Errorf("link name %q longer than %d bytes", name, MaxLinkName)
	case name == "." || name == "..":
		return fmt.Errorf("invalid link name %q", name)
	case strings.ContainsAny(name, "/:\x00") || strings.ContainsFunc(name, isSpaceOrControl):
		return fmt.Errorf("link name %q contains '/', ':', a space or a control character", name)
	case reservedLinks[name]:
		return fmt.Errorf("link name %q is reserved by the kernel", name)
	}
	return nil
}

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }
