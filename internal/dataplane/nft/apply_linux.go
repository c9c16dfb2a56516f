package nft

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/privlink/privlink/internal/dataplane/netns"
	"golang.org/x/sys/unix"
)

// ApplyFirewall makes the table TableFirewall in the namespace ns match fw.
// It reports whether it changed anything.
func ApplyFirewall(ctx context.Context, ns netns.Handle, fw Firewall) (bool, error) {
	rs, err := CompileFirewall(fw)
	if err != nil {
		return false, err
	}
	return rs.Apply(ctx, ns)
}

// ApplyACLs makes the table TableACL in the namespace ns match s. It
// reports whether it changed anything.
func ApplyACLs(ctx context.Context, ns netns.Handle, s ACLSet) (bool, error) {
	rs, err := CompileACLs(s)
	if err != nil {
		return false, err
	}
	return rs.Apply(ctx, ns)
}

// digestPrefix starts the comment that carries a table's digest.
const digestPrefix = "privlink "

// InSync reports whether the namespace ns already holds the ruleset: its
// table is absent if it should be, or carries the ruleset's digest. It
// trusts the digest: nothing but Apply may edit privlink's tables.
func (rs *Ruleset) InSync(ctx context.Context, ns netns.Handle) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	c, err := nftables.New(nftables.WithNetNSFd(int(ns)), nftables.AsLasting())
	if err != nil {
		return false, fmt.Errorf("nftables %s: %w", rs.name, err)
	}
	defer c.CloseLasting()
	return rs.inSync(c)
}

func (rs *Ruleset) inSync(c *nftables.Conn) (bool, error) {
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return false, fmt.Errorf("list nftables tables: %w", err)
	}
	var t *nftables.Table
	for _, x := range tables {
		if x.Name == rs.name {
			t = x
		}
	}
	if rs.table == nil || t == nil {
		return rs.table == nil && t == nil, nil
	}
	rules, err := c.GetRules(t, &nftables.Chain{Name: rs.table.chains[0].name, Table: t})
	if err != nil || len(rules) == 0 {
		// The chain is missing: the table is not ours as we left it.
		return false, nil
	}
	got, _ := comment(rules[0].UserData)
	return got == digestPrefix+rs.digest, nil
}

// Apply makes the namespace ns hold the ruleset. Unless the table is already
// in sync, it deletes the old table (if any) and builds the new one in a
// single netlink batch, which the kernel commits atomically: packets see
// either the old rules or the new ones. Conntrack entries survive. It
// reports whether it changed anything.
func (rs *Ruleset) Apply(ctx context.Context, ns netns.Handle) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	c, err := nftables.New(nftables.WithNetNSFd(int(ns)), nftables.AsLasting())
	if err != nil {
		return false, fmt.Errorf("nftables %s: %w", rs.name, err)
	}
	defer c.CloseLasting()
	if ok, err := rs.inSync(c); err != nil || ok {
		return false, err
	}
	t := &nftables.Table{Name: rs.name, Family: nftables.TableFamilyINet}
	// Adding an existing table is a no-op, so the delete always finds it.
	c.AddTable(t)
	c.DelTable(t)
	if rs.table != nil {
		if err := rs.program(c, t); err != nil {
			return false, fmt.Errorf("nftables %s: %w", rs.name, err)
		}
	}
	if err := c.Flush(); err != nil {
		return false, fmt.Errorf("nftables %s: commit: %w", rs.name, err)
	}
	return true, nil
}

// program adds the table to c's batch.
func (rs *Ruleset) program(c *nftables.Conn, t *nftables.Table) error {
	c.AddTable(t)
	hooks := map[string]*nftables.ChainHook{
		"input":   nftables.ChainHookInput,
		"forward": nftables.ChainHookForward,
		"output":  nftables.ChainHookOutput,
	}
	chains := map[string]*nftables.Chain{}
	for _, ch := range rs.table.chains {
		nc := &nftables.Chain{Name: ch.name, Table: t}
		if ch.hook != "" {
			accept := nftables.ChainPolicyAccept
			nc.Type = nftables.ChainTypeFilter
			nc.Hooknum = hooks[ch.hook]
			nc.Priority = nftables.ChainPriorityFilter
			nc.Policy = &accept
			if nc.Hooknum == nil {
				return fmt.Errorf("chain %s: unknown hook %q", ch.name, ch.hook)
			}
		}
		chains[ch.name] = c.AddChain(nc)
	}
	l := &lowerer{c: c, t: t}
	for i, ch := range rs.table.chains {
		for j, r := range ch.rules {
			exprs, err := l.rule(r)
			if err != nil {
				return fmt.Errorf("chain %s rule %q: %w", ch.name, r, err)
			}
			text := r.comment
			if i == 0 && j == 0 {
				if text != "" {
					return fmt.Errorf("chain %s: first rule has a comment, it must carry the digest", ch.name)
				}
				text = digestPrefix + rs.digest
			}
			var ud []byte
			if text != "" {
				ud = userdata.AppendString(nil, userdata.TypeComment, text)
			}
			c.AddRule(&nftables.Rule{Table: t, Chain: chains[ch.name], Exprs: exprs, UserData: ud})
		}
	}
	return nil
}

// comment returns the comment in a rule's user data.
func comment(ud []byte) (string, bool) {
	for len(ud) >= 2 {
		typ, n := ud[0], int(ud[1])
		if len(ud) < 2+n {
			break
		}
		if userdata.Type(typ) == userdata.TypeComment {
			s := ud[2 : 2+n]
			if len(s) > 0 && s[len(s)-1] == 0 {
				s = s[:len(s)-1]
			}
			return string(s), true
		}
		ud = ud[2+n:]
	}
	return "", false
}

// lowerer turns rules into nftables expressions; it adds the anonymous sets
// they need to the batch.
type lowerer struct {
	c     *nftables.Conn
	t     *nftables.Table
	setID uint32 // the last set id used in this batch
}

const reg = 1 // NFT_REG_1, 16 bytes: wide enough for an IPv6 address

func (l *lowerer) rule(r rule) ([]expr.Any, error) {
	var out []expr.Any
	for _, m := range r.matches {
		e, err := l.match(m)
		if err != nil {
			return nil, err
		}
		out = append(out, e...)
	}
	v := &expr.Verdict{}
	switch r.verdict.kind {
	case vAccept:
		v.Kind = expr.VerdictAccept
	case vDrop:
		v.Kind = expr.VerdictDrop
	case vReturn:
		v.Kind = expr.VerdictReturn
	case vJump:
		v.Kind, v.Chain = expr.VerdictJump, r.verdict.chain
	default:
		return nil, fmt.Errorf("unknown verdict %d", r.verdict.kind)
	}
	return append(out, v), nil
}

func cmpEq(data []byte) *expr.Cmp { return &expr.Cmp{Op: expr.CmpOpEq, Register: reg, Data: data} }

func (l *lowerer) match(m match) ([]expr.Any, error) {
	switch m := m.(type) {
	case ifname:
		key := expr.MetaKeyIIFNAME
		if m.out {
			key = expr.MetaKeyOIFNAME
		}
		name := make([]byte, unix.IFNAMSIZ) // NUL-padded: an exact match
		copy(name, m.name)
		return []expr.Any{&expr.Meta{Key: key, Register: reg}, cmpEq(name)}, nil
	case ctState:
		return []expr.Any{
			&expr.Ct{Key: expr.CtKeySTATE, Register: reg},
			&expr.Bitwise{SourceRegister: reg, DestRegister: reg, Len: 4,
				Mask: binaryutil.NativeEndian.PutUint32(m.bits), Xor: make([]byte, 4)},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: reg, Data: make([]byte, 4)},
		}, nil
	case nfproto:
		return nfprotoExprs(m.v6), nil
	case l4proto:
		return []expr.Any{&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg}, cmpEq([]byte{m.proto})}, nil
	case addr:
		return l.addr(m)
	case dport:
		e := []expr.Any{&expr.Payload{DestRegister: reg, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2}}
		return append(e, rangeExpr(binaryutil.BigEndian.PutUint16(m.lo), binaryutil.BigEndian.PutUint16(m.hi))), nil
	case icmpField:
		var off uint32 // type; the code is the next byte
		if m.code {
			off = 1
		}
		e := []expr.Any{&expr.Payload{DestRegister: reg, Base: expr.PayloadBaseTransportHeader, Offset: off, Len: 1}}
		return append(e, rangeExpr([]byte{m.lo}, []byte{m.hi})), nil
	}
	return nil, fmt.Errorf("unknown match %T", m)
}

func nfprotoExprs(v6 bool) []expr.Any {
	p := byte(unix.NFPROTO_IPV4)
	if v6 {
		p = unix.NFPROTO_IPV6
	}
	return []expr.Any{&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: reg}, cmpEq([]byte{p})}
}

// rangeExpr compares the register with lo, or with the range [lo, hi].
func rangeExpr(lo, hi []byte) expr.Any {
	if string(lo) == string(hi) {
		return cmpEq(lo)
	}
	return &expr.Range{Op: expr.CmpOpEq, Register: reg, FromData: lo, ToData: hi}
}

// addr matches the source or destination address: with a mask and a
// comparison for one prefix, with a lookup in an anonymous interval set for
// several.
func (l *lowerer) addr(m addr) ([]expr.Any, error) {
	off, size := uint32(12), uint32(4) // IPv4 saddr; daddr at 16
	if m.v6 {
		off, size = 8, 16 // IPv6 saddr; daddr at 24
	}
	if m.dst {
		off += size
	}
	e := append(nfprotoExprs(m.v6),
		&expr.Payload{DestRegister: reg, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: size})
	if len(m.prefixes) == 1 {
		p := m.prefixes[0]
		if p.Bits() < p.Addr().BitLen() {
			e = append(e, &expr.Bitwise{SourceRegister: reg, DestRegister: reg, Len: size,
				Mask: maskBytes(p.Bits(), size), Xor: make([]byte, size)})
		}
		return append(e, cmpEq(p.Addr().AsSlice())), nil
	}
	keyType := nftables.TypeIPAddr
	if m.v6 {
		keyType = nftables.TypeIP6Addr
	}
	l.setID++
	set := &nftables.Set{
		Table:     l.t,
		ID:        l.setID, // set here, so the library's global counter is not used
		Name:      "__set%d",
		Anonymous: true,
		Constant:  true,
		Interval:  true,
		KeyType:   keyType,
	}
	if err := l.c.AddSet(set, intervals(m.prefixes)); err != nil {
		return nil, fmt.Errorf("add set: %w", err)
	}
	return append(e, &expr.Lookup{SourceRegister: reg, SetName: set.Name, SetID: set.ID}), nil
}

// maskBytes returns a network mask of bits ones in size bytes.
func maskBytes(bits int, size uint32) []byte {
	b := make([]byte, size)
	for i := range bits {
		b[i/8] |= 0x80 >> (i % 8)
	}
	return b
}

// intervals returns the elements of an interval set holding the prefixes
// (sorted, none covering another), encoded as nft does: each range is its
// first address and, flagged as an interval end, the address after its last
// one; adjacent ranges are merged; a range reaching the top of the address
// space has no end element; and the set starts with an interval end at the
// zero address unless a range starts there.
func intervals(prefixes []netip.Prefix) []nftables.SetElement {
	type span struct {
		lo   netip.Addr
		next netip.Addr // the address after the last; invalid at the top
	}
	var spans []span
	for _, p := range prefixes {
		lo := p.Addr()
		next := lastAddr(p).Next()
		if n := len(spans); n > 0 && spans[n-1].next == lo {
			spans[n-1].next = next
			continue
		}
		spans = append(spans, span{lo, next})
	}
	var els []nftables.SetElement
	if zero := netip.IPv4Unspecified(); prefixes[0].Addr().Is6() {
		if spans[0].lo != netip.IPv6Unspecified() {
			els = append(els, nftables.SetElement{Key: netip.IPv6Unspecified().AsSlice(), IntervalEnd: true})
		}
	} else if spans[0].lo != zero {
		els = append(els, nftables.SetElement{Key: zero.AsSlice(), IntervalEnd: true})
	}
	for _, s := range spans {
		els = append(els, nftables.SetElement{Key: s.lo.AsSlice()})
		if s.next.IsValid() {
			els = append(els, nftables.SetElement{Key: s.next.AsSlice(), IntervalEnd: true})
		}
	}
	return els
}

// lastAddr returns the last address of the masked prefix p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// firstChains names, for each of privlink's tables, the chain whose first
// rule carries the digest: the first chain that the compiler emits.
var firstChains = map[string]string{
	TableFirewall: "input",
	TableACL:      "forward",
}

// TableDigests reports, for each of privlink's tables (TableFirewall,
// TableACL) present in the namespace ns, the digest of the ruleset that
// Apply wrote there (see Ruleset.Digest), or UnknownDigest. Absent tables
// are not in the map. It costs one netlink socket in ns and one dump per
// present table, plus one.
func TableDigests(ctx context.Context, ns netns.Handle) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := nftables.New(nftables.WithNetNSFd(int(ns)), nftables.AsLasting())
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	defer c.CloseLasting()
	return tableDigests(c)
}

// Conn is a connection to the nftables of one network namespace.
type Conn struct {
	c *nftables.Conn
}

// DialCurrent opens a Conn to the nftables of the network namespace of the
// calling thread: call it inside netns.Do, where it saves the thread switch
// of TableDigests. The Conn keeps to that namespace wherever it is used.
func DialCurrent() (*Conn, error) {
	c, err := nftables.New(nftables.AsLasting())
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	return &Conn{c: c}, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.c.CloseLasting() }

// TableDigests is the package's TableDigests for the namespace of c.
func (c *Conn) TableDigests(ctx context.Context) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return tableDigests(c.c)
}

func tableDigests(c *nftables.Conn) (map[string]string, error) {
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return nil, fmt.Errorf("list nftables tables: %w", err)
	}
	out := map[string]string{}
	for _, t := range tables {
		first, ok := firstChains[t.Name]
		if !ok {
			continue
		}
		out[t.Name] = UnknownDigest
		rules, err := c.GetRules(t, &nftables.Chain{Name: first, Table: t})
		if err != nil || len(rules) == 0 {
			continue // no such chain: not as Apply left it
		}
		if got, _ := comment(rules[0].UserData); strings.HasPrefix(got, digestPrefix) {
			out[t.Name] = strings.TrimPrefix(got, digestPrefix)
		}
	}
	return out, nil
}
