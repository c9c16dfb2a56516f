package dataplane

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Config is the complete desired data-plane state of one node.
type Config struct {
	// Prefix is the ownership prefix: every network namespace whose name
	// starts with it belongs to the data plane, and Set deletes those
	// that Routers does not list. Namespaces without it are never
	// touched. Examples: "plk-" in the daemon, "plktest-ab12cd-" in tests.
	Prefix string
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
