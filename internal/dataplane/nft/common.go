package nft

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
)

// Ruleset is a compiled Firewall or ACLSet: the desired content of one
// table, ready to render or to apply. A Ruleset without a table (from an
// empty config) means the table must not exist.
type Ruleset struct {
	name   string
	table  *table
	lines  []string
	digest string
}

func newRuleset(name string, t *table) *Ruleset {
	rs := &Ruleset{name: name, table: t}
	if t != nil {
		rs.lines = t.render()
		rs.digest = digest(rs.lines)
	}
	return rs
}

// Table returns the name of the table the ruleset replaces.
func (rs *Ruleset) Table() string { return rs.name }

// Lines returns the rendering of the table in nft syntax, one line per
// element; none if the table is to be absent.
func (rs *Ruleset) Lines() []string { return slices.Clone(rs.lines) }

// UnknownDigest is what TableDigests reports for a privlink table that
// carries no digest: one that Apply did not write, or that someone edited.
// It never equals a Ruleset's Digest, so applying the ruleset replaces it.
const UnknownDigest = "unknown"

// Digest returns a short hash of Lines ("" if the table is to be absent).
// Apply stores it in the table as the comment of the first rule of the first
// chain, to recognise a table that is already up to date.
func (rs *Ruleset) Digest() string { return rs.digest }

// protoMatches returns the matches for a protocol with its destination
// ports or ICMP type and code, shared by security-group and ACL rules.
func protoMatches(proto uint8, from, to uint16, icmpType, icmpCode int16) []match {
	if proto == ProtoAll {
		return nil
	}
	m := []match{l4proto{proto}}
	switch proto {
	case ProtoTCP, ProtoUDP:
		if from != 0 || to != 65535 {
			m = append(m, dport{from, to})
		}
	case ProtoICMP, ProtoICMPv6:
		v6 := proto == ProtoICMPv6
		if icmpType >= 0 {
			m = append(m, icmpField{v6: v6, lo: uint8(icmpType), hi: uint8(icmpType)})
		}
		if icmpCode >= 0 {
			m = append(m, icmpField{v6: v6, code: true, lo: uint8(icmpCode), hi: uint8(icmpCode)})
		}
	}
	return m
}

// family is the part of a prefix list in one address family.
type family struct {
	v6       bool
	any      bool           // a /0: every address of the family
	prefixes []netip.Prefix // otherwise: masked, sorted, none covering another
}

// matches returns the address match of the family: against the
// destination, or the source.
func (f family) matches(dst bool) []match {
	if f.any {
		return []match{nfproto{v6: f.v6}}
	}
	return []match{addr{dst: dst, v6: f.v6, prefixes: f.prefixes}}
}

// splitPrefixes normalises prefixes and splits them by family, IPv4 first;
// a family without prefixes is left out.
func splitPrefixes(prefixes []netip.Prefix) []family {
	var out []family
	for _, v6 := range []bool{false, true} {
		var ps []netip.Prefix
		for _, p := range prefixes {
			if p.Addr().Is6() == v6 {
				ps = append(ps, p.Masked())
			}
		}
		if len(ps) == 0 {
			continue
		}
		slices.SortFunc(ps, func(a, b netip.Prefix) int {
			if c := a.Addr().Compare(b.Addr()); c != 0 {
				return c
			}
			return a.Bits() - b.Bits()
		})
		if ps[0].Bits() == 0 {
			out = append(out, family{v6: v6, any: true})
			continue
		}
		// Prefixes nest or are disjoint, and a covering prefix sorts
		// before those it covers: keep those not covered by the last kept.
		kept := ps[:1]
		for _, p := range ps[1:] {
			if !kept[len(kept)-1].Contains(p.Addr()) {
				kept = append(kept, p)
			}
		}
		out = append(out, family{v6: v6, prefixes: kept})
	}
	return out
}

func checkPrefix(p netip.Prefix) error {
	if !p.IsValid() {
		return errors.New("invalid prefix")
	}
	if p.Addr().Is4In6() {
		return fmt.Errorf("prefix %s: IPv4-mapped IPv6 prefixes are not supported", p)
	}
	return nil
}

func checkProto(proto uint8, from, to uint16, icmpType, icmpCode int16) error {
	switch proto {
	case ProtoTCP, ProtoUDP:
		if from > to {
			return fmt.Errorf("port range %d-%d is reversed", from, to)
		}
	case ProtoICMP, ProtoICMPv6:
		if icmpType < -1 || icmpType > 255 {
			return fmt.Errorf("icmp type %d out of range", icmpType)
		}
		if icmpCode < -1 || icmpCode > 255 {
			return fmt.Errorf("icmp code %d out of range", icmpCode)
		}
	}
	return nil
}
