package dataplane

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
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
}

// Router is a namespace that routes between its bridges and is linked to
// nothing else: no link to the host or to another router.
type Router struct {
	// Namespace is the full namespace name; it must start with
	// Config.Prefix.
	Namespace string
	// Bridges are the bridges inside Namespace, one per subnet.
	Bridges []Bridge
}

// Bridge is a Linux bridge inside a router namespace.
type Bridge struct {
	// Name is the link name, chosen by the caller: 1 to 15 bytes.
	Name string
	// Address is the router's address on the bridge, such as
	// 10.0.1.1/24. The bridge has no other address (IPv6 link-local
	// addresses aside, which the kernel manages).
	Address netip.Prefix
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
	for i, r := range c.Routers {
		if err := checkNamespaceName(r.Namespace); err != nil {
			errs = append(errs, fmt.Errorf("router %d: namespace: %w", i, err))
		} else if c.Prefix != "" && (!strings.HasPrefix(r.Namespace, c.Prefix) || r.Namespace == c.Prefix) {
			errs = append(errs, fmt.Errorf("router %d: namespace %q does not extend prefix %q", i, r.Namespace, c.Prefix))
		}
		if seenNS[r.Namespace] {
			errs = append(errs, fmt.Errorf("router %d: duplicate namespace %q", i, r.Namespace))
		}
		seenNS[r.Namespace] = true
		errs = append(errs, r.validateBridges()...)
	}
	return errors.Join(errs...)
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
		if b.Address.Addr().Is4In6() || b.Address.Addr().Zone() != "" {
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
