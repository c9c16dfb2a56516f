package vpcdns

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"github.com/miekg/dns"
)

// Records are the names one resolver answers. Names are fully qualified
// (they end in a dot) and compared without regard to ASCII case.
type Records struct {
	// A maps names to their addresses. IPv4 addresses answer A queries
	// and IPv6 addresses AAAA queries. Each address also gets a reverse
	// (PTR) record pointing back to the name, unless PTR lists the
	// address.
	A map[string][]netip.Addr
	// CNAME maps alias names to their target names. A target may be
	// another alias (chains are followed up to MaxCNAMEChain) or a name
	// that this table does not have, which then answers NXDOMAIN after
	// the CNAME. An alias may have no other records.
	CNAME map[string]string
	// PTR maps addresses to the names their reverse lookup returns, in
	// this order (clients take the first). An address listed here
	// answers with exactly these names, replacing the reverse records
	// derived from A; an address that no A record has gets them too.
	PTR map[netip.Addr][]string
}

// TTL is the time to live of every answer, in seconds, as AWS uses for
// instance names.
const TTL = 60

// negativeTTL is the time for which a client may cache NXDOMAIN or NODATA,
// in seconds (the TTL and MINIMUM of the SOA in negative answers). It is
// short because a name that does not exist yet (an endpoint being created)
// is often asked for again shortly.
const negativeTTL = 5

// MaxCNAMEChain is the longest chain of aliases that Records may hold.
const MaxCNAMEChain = 8

// table is the compiled, immutable form of Records that the query path
// reads. Keys are canonical (lower-case, fully qualified) names.
type table struct {
	nodes map[string]*node
}

// node is everything at one name. A node with nothing in it is an empty
// non-terminal: a name that exists only because names below it do.
type node struct {
	a     []netip.Addr // IPv4, sorted
	aaaa  []netip.Addr // IPv6, sorted
	cname string       // canonical target, or ""
	ptr   []string     // canonical names
}

// emptyTable answers NXDOMAIN for everything.
var emptyTable = &table{nodes: map[string]*node{}}

// compile checks r and builds its table. The error lists every problem.
func (r Records) compile() (*table, error) {
	t := &table{nodes: make(map[string]*node)}
	get := func(name string) *node {
		n := t.nodes[name]
		if n == nil {
			n = new(node)
			t.nodes[name] = n
		}
		return n
	}
	var errs []error

	// Forward records. Names that differ only in case are one name.
	for _, name := range slices.Sorted(maps.Keys(r.A)) {
		key, err := canonical(name)
		if err != nil {
			errs = append(errs, fmt.Errorf("A %q: %w", name, err))
			continue
		}
		n := get(key)
		for _, a := range r.A[name] {
			if err := checkAddr(a); err != nil {
				errs = append(errs, fmt.Errorf("A %q: %w", name, err))
				continue
			}
			if a.Is4() {
				n.a = append(n.a, a)
			} else {
				n.aaaa = append(n.aaaa, a)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(r.CNAME)) {
		key, err := canonical(name)
		if err != nil {
			errs = append(errs, fmt.Errorf("CNAME %q: %w", name, err))
			continue
		}
		target, err := canonical(r.CNAME[name])
		if err != nil {
			errs = append(errs, fmt.Errorf("CNAME %q: target %q: %w", name, r.CNAME[name], err))
			continue
		}
		n := get(key)
		if n.cname != "" && n.cname != target {
			errs = append(errs, fmt.Errorf("CNAME %q: two targets, %q and %q", name, n.cname, target))
			continue
		}
		n.cname = target
	}

	// Reverse records: the explicit ones first, then those derived from
	// the forward records for every other address.
	explicit := make(map[string]bool)
	for _, addr := range slices.SortedFunc(maps.Keys(r.PTR), netip.Addr.Compare) {
		if err := checkAddr(addr); err != nil {
			errs = append(errs, fmt.Errorf("PTR %v: %w", addr, err))
			continue
		}
		rev := reverseName(addr)
		explicit[rev] = true
		n := get(rev)
		for _, name := range r.PTR[addr] {
			key, err := canonical(name)
			if err != nil {
				errs = append(errs, fmt.Errorf("PTR %v: %q: %w", addr, name, err))
				continue
			}
			if !slices.Contains(n.ptr, key) {
				n.ptr = append(n.ptr, key)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(t.nodes)) {
		n := t.nodes[name]
		for _, a := range slices.Concat(n.a, n.aaaa) {
			rev := reverseName(a)
			if explicit[rev] {
				continue
			}
			p := get(rev)
			if !slices.Contains(p.ptr, name) {
				p.ptr = append(p.ptr, name) // names in sorted order
			}
		}
	}

	for _, name := range slices.Sorted(maps.Keys(t.nodes)) {
		n := t.nodes[name]
		n.a = sortedUnique(n.a)
		n.aaaa = sortedUnique(n.aaaa)
		if n.cname != "" && (len(n.a) > 0 || len(n.aaaa) > 0 || len(n.ptr) > 0) {
			errs = append(errs, fmt.Errorf("CNAME %q: the name has other records too", name))
		}
	}
	errs = append(errs, t.checkChains()...)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	t.addEmptyNonTerminals()
	return t, nil
}

// checkChains reports aliases whose chain is longer than MaxCNAMEChain or
// loops.
func (t *table) checkChains() []error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(t.nodes)) {
		cur := name
		for hops := 0; ; hops++ {
			n := t.nodes[cur]
			if n == nil || n.cname == "" {
				break
			}
			if hops == MaxCNAMEChain {
				errs = append(errs, fmt.Errorf("CNAME %q: chain longer than %d or a loop", name, MaxCNAMEChain))
				break
			}
			cur = n.cname
		}
	}
	return errs
}

// addEmptyNonTerminals adds every ancestor of every name, so that a query
// for ec2.internal. answers NODATA rather than NXDOMAIN when
// ip-10-0-1-5.ec2.internal. exists: NXDOMAIN would tell a caching client
// that nothing below the name exists (RFC 8020).
func (t *table) addEmptyNonTerminals() {
	for _, name := range slices.Collect(maps.Keys(t.nodes)) {
		for off, end := dns.NextLabel(name, 0); !end; off, end = dns.NextLabel(name, off) {
			parent := name[off:]
			if t.nodes[parent] != nil {
				continue
			}
			t.nodes[parent] = new(node)
		}
	}
	if t.nodes["."] == nil {
		t.nodes["."] = new(node)
	}
}

// canonical checks that name is a fully qualified domain name and returns
// it in lower case.
func canonical(name string) (string, error) {
	if !dns.IsFqdn(name) {
		return "", errors.New("not fully qualified (no trailing dot)")
	}
	if _, ok := dns.IsDomainName(name); !ok {
		return "", errors.New("not a valid domain name")
	}
	return dns.CanonicalName(name), nil
}

func checkAddr(a netip.Addr) error {
	switch {
	case !a.IsValid():
		return errors.New("invalid address")
	case a.Is4In6() || a.Zone() != "":
		return fmt.Errorf("address %v must be plain IPv4 or IPv6", a)
	}
	return nil
}

// reverseName returns the in-addr.arpa. or ip6.arpa. name of a.
func reverseName(a netip.Addr) string {
	rev, err := dns.ReverseAddr(a.String())
	if err != nil {
		panic(fmt.Sprintf("vpcdns: reverse of a checked address %v: %v", a, err)) // cannot happen
	}
	return rev
}

func sortedUnique(s []netip.Addr) []netip.Addr {
	if len(s) == 0 {
		return nil
	}
	slices.SortFunc(s, netip.Addr.Compare)
	return slices.Compact(s)
}
