package nft

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// The intermediate representation: what Render prints and what Apply
// programs. Every base chain is of type filter, at priority filter (0), with
// policy accept; a table decides with explicit drop rules.

type table struct {
	name   string
	chains []*chain
}

type chain struct {
	name  string
	hook  string // "input", "forward" or "output"; "" for a regular chain
	rules []rule
}

type verdictKind int

const (
	vAccept verdictKind = iota
	vDrop
	vJump
	vReturn
)

type verdict struct {
	kind  verdictKind
	chain string // for vJump
}

func (v verdict) String() string {
	switch v.kind {
	case vAccept:
		return "accept"
	case vDrop:
		return "drop"
	case vJump:
		return "jump " + v.chain
	case vReturn:
		return "return"
	}
	panic(fmt.Sprintf("nft: unknown verdict %d", v.kind))
}

type rule struct {
	matches []match // all must match
	verdict verdict
	comment string
}

func (r rule) String() string {
	var b strings.Builder
	for _, m := range r.matches {
		b.WriteString(m.String())
		b.WriteByte(' ')
	}
	b.WriteString(r.verdict.String())
	if r.comment != "" {
		fmt.Fprintf(&b, " comment %q", r.comment)
	}
	return b.String()
}

// A match is one of the types below; the Linux lowering switches on them.
type match interface{ String() string }

// ifname matches the input (or output) interface by name, so that a table
// can be programmed before its links exist and survives their re-creation.
type ifname struct {
	out  bool
	name string
}

func (m ifname) String() string {
	if m.out {
		return fmt.Sprintf("oifname %q", m.name)
	}
	return fmt.Sprintf("iifname %q", m.name)
}

// ctState matches if the conntrack state is any of the bits.
type ctState struct{ bits uint32 }

// Conntrack state bits, as the kernel (and nft) number them.
const (
	ctInvalid     uint32 = 1
	ctEstablished uint32 = 2
	ctRelated     uint32 = 4
	ctNew         uint32 = 8
	ctUntracked   uint32 = 64
)

func (m ctState) String() string {
	var names []string
	for _, s := range []struct {
		bit  uint32
		name string
	}{{ctInvalid, "invalid"}, {ctEstablished, "established"}, {ctRelated, "related"}, {ctNew, "new"}, {ctUntracked, "untracked"}} {
		if m.bits&s.bit != 0 {
			names = append(names, s.name)
		}
	}
	return "ct state " + strings.Join(names, ",")
}

// nfproto matches the network protocol of the packet.
type nfproto struct{ v6 bool }

func (m nfproto) String() string {
	if m.v6 {
		return "meta nfproto ipv6"
	}
	return "meta nfproto ipv4"
}

// l4proto matches the transport protocol (after IPv6 extension headers).
type l4proto struct{ proto uint8 }

func (m l4proto) String() string { return "meta l4proto " + protoName(m.proto) }

func protoName(p uint8) string {
	switch p {
	case ProtoICMP:
		return "icmp"
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoICMPv6:
		return "ipv6-icmp"
	}
	return strconv.Itoa(int(p))
}

// addr matches the source (or destination) address against one or more
// prefixes of one family. The prefixes are masked, sorted, and none covers
// another; there is no /0 among them (that is an nfproto match). It implies
// the nfproto match of its family.
type addr struct {
	dst      bool
	v6       bool
	prefixes []netip.Prefix
}

func (m addr) String() string {
	var b strings.Builder
	b.WriteString("ip")
	if m.v6 {
		b.WriteString("6")
	}
	if m.dst {
		b.WriteString(" daddr ")
	} else {
		b.WriteString(" saddr ")
	}
	if len(m.prefixes) == 1 {
		b.WriteString(prefixString(m.prefixes[0]))
		return b.String()
	}
	b.WriteString("{ ")
	for i, p := range m.prefixes {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(prefixString(p))
	}
	b.WriteString(" }")
	return b.String()
}

// prefixString prints a host prefix as its address, as nft does.
func prefixString(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

// dport matches the transport destination port range [lo, hi]. It must
// follow an l4proto match for tcp or udp.
type dport struct{ lo, hi uint16 }

func (m dport) String() string { return "th dport " + rangeString(int(m.lo), int(m.hi)) }

// icmpField matches the ICMP (or ICMPv6) type, or code, range [lo, hi]. It
// must follow an l4proto match for icmp or ipv6-icmp.
type icmpField struct {
	v6     bool
	code   bool // the code byte, not the type byte
	lo, hi uint8
}

func (m icmpField) String() string {
	s := "icmp"
	if m.v6 {
		s = "icmpv6"
	}
	if m.code {
		s += " code "
	} else {
		s += " type "
	}
	return s + rangeString(int(m.lo), int(m.hi))
}

func rangeString(lo, hi int) string {
	if lo == hi {
		return strconv.Itoa(lo)
	}
	return strconv.Itoa(lo) + "-" + strconv.Itoa(hi)
}

// render prints t in the syntax of `nft list table`, one line per element.
func (t *table) render() []string {
	lines := []string{"table inet " + t.name + " {"}
	for _, c := range t.chains {
		lines = append(lines, "\tchain "+c.name+" {")
		if c.hook != "" {
			lines = append(lines, "\t\ttype filter hook "+c.hook+" priority filter; policy accept;")
		}
		for _, r := range c.rules {
			lines = append(lines, "\t\t"+r.String())
		}
		lines = append(lines, "\t}")
	}
	return append(lines, "}")
}

// digest identifies the rendering of t; Apply stores it in the table to
// recognise a table that is already up to date.
func digest(lines []string) string {
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(sum[:16])
}
