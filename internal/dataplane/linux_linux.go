package dataplane

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"

	"github.com/privlink/privlink/internal/dataplane/netns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Linux is the data plane on the host's kernel. It works through netlink
// handles opened in each namespace, and switches threads into a namespace
// only to create it or to touch its /proc/sys/net. Its methods are safe for
// concurrent use; Set calls are serialised.
type Linux struct {
	logger *slog.Logger
	mu     sync.Mutex
}

// NewLinux returns the Linux data plane. It logs every change it applies to
// logger at level Info; a nil logger discards them.
func NewLinux(logger *slog.Logger) *Linux {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Linux{logger: logger}
}

// Set makes the kernel match cfg. It reads every namespace whose name starts
// with cfg.Prefix, with the owner stamped on it (the alias of its lo, see
// OwnerAlias), plans the difference and applies it: it creates missing
// namespaces (stamped with cfg.Owner, lo up, IPv4 forwarding on inside),
// bridges and addresses, fixes wrong addresses, and deletes links and
// namespaces of cfg.Owner that cfg does not want. Correct state is left as
// it is. A wanted namespace that nobody owns is adopted: stamped and
// configured. Namespaces of other owners are never changed or deleted, and
// unowned ones that cfg does not want are left alone.
//
// When an op fails, Set skips the remaining ops of that namespace, carries
// on with the other namespaces and returns all the errors; the next Set
// retries. A wanted namespace that another owner has is an error of its
// own ("namespace X belongs to privlink owner Y"), and the others are
// still configured. An invalid cfg changes nothing.
func (l *Linux) Set(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid config: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, err := readState(ctx, cfg.Prefix, cfg.Owner)
	if err != nil {
		return err
	}
	ops, conflicts := plan(cfg.Prefix, cfg.Owner, cur, desired(cfg))
	return errors.Join(l.apply(ctx, ops), conflictErr(conflicts))
}

// Plan returns the ops, one line each, that Set(ctx, cfg) would apply now,
// without applying them. An empty plan means the kernel matches cfg. If cfg
// wants namespaces that other owners have, Plan returns the ops for the
// rest together with an error naming them, as Set would.
func (l *Linux) Plan(ctx context.Context, cfg Config) ([]string, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid config: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, err := readState(ctx, cfg.Prefix, cfg.Owner)
	if err != nil {
		return nil, err
	}
	ops, conflicts := plan(cfg.Prefix, cfg.Owner, cur, desired(cfg))
	return render(ops), conflictErr(conflicts)
}

// Namespaces returns the names of the mounted network namespaces whose names
// start with prefix, whoever owns them, sorted.
func (l *Linux) Namespaces(ctx context.Context, prefix string) ([]string, error) {
	entries, err := netns.List(prefix)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.Mounted {
			out = append(out, e.Name)
		}
	}
	return out, nil
}

func (l *Linux) apply(ctx context.Context, ops []op) error {
	ex := executor{conns: make(map[string]*nsConn)}
	defer ex.close()
	var errs []error
	failed := make(map[string]bool)
	for _, o := range ops {
		if failed[o.NS] {
			continue
		}
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		if err := ex.do(o); err != nil {
			failed[o.NS] = true
			errs = append(errs, fmt.Errorf("%s: %w", o, err))
			continue
		}
		l.logger.Info("dataplane change", "op", o.String())
	}
	return errors.Join(errs...)
}

// readState reads the namespaces whose names start with prefix. Those that
// another owner than owner has are read only as far as their owner.
func readState(ctx context.Context, prefix, owner string) (state, error) {
	entries, err := netns.List(prefix)
	if err != nil {
		return nil, err
	}
	s := make(state, len(entries))
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !e.Mounted {
			s[e.Name] = &nsState{Stale: true}
			continue
		}
		ns, err := readNamespace(e.Name, owner)
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted meanwhile
		}
		if errors.Is(err, netns.ErrNotMounted) {
			// Unmounted meanwhile: being deleted by its owner.
			s[e.Name] = &nsState{Stale: true}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read netns %s: %w", e.Name, err)
		}
		s[e.Name] = ns
	}
	return s, nil
}

// readNamespace reads the namespace name. If another owner than owner has
// it, only its owner is read.
func readNamespace(name, owner string) (*nsState, error) {
	c, err := openConn(name)
	if err != nil {
		return nil, err
	}
	defer c.close()
	lo, err := c.nl.LinkByName("lo")
	if err != nil {
		return nil, fmt.Errorf("read lo: %w", err)
	}
	if o := ownerOfAlias(lo.Attrs().Alias); o != "" && o != owner {
		return &nsState{Owner: o}, nil
	}
	links, err := dump(c.nl.LinkList)
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	addrs, err := dump(func() ([]netlink.Addr, error) { return c.nl.AddrList(nil, netlink.FAMILY_ALL) })
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	byIndex := make(map[int][]netip.Prefix)
	for _, a := range addrs {
		p, ok := prefixOf(a.IPNet)
		if !ok || (p.Addr().Is6() && p.Addr().IsLinkLocalUnicast()) {
			continue
		}
		byIndex[a.LinkIndex] = append(byIndex[a.LinkIndex], p)
	}
	ns := &nsState{Owner: ownerOfAlias(lo.Attrs().Alias), Links: make(map[string]linkState)}
	for _, l := range links {
		attrs := l.Attrs()
		up := attrs.Flags&net.FlagUp != 0
		if attrs.Name == "lo" {
			ns.LoUp = up
		}
		if reservedLinks[attrs.Name] {
			continue
		}
		ls := linkState{Kind: l.Type(), Up: up, Addrs: byIndex[attrs.Index]}
		sortPrefixes(ls.Addrs)
		ns.Links[attrs.Name] = ls
	}
	ns.Forwarding, err = readForwarding(c.ns)
	if err != nil {
		return nil, err
	}
	return ns, nil
}

const ipForward = "/proc/sys/net/ipv4/ip_forward"

// readForwarding reads net.ipv4.ip_forward inside ns. /proc/sys/net shows the
// namespace of the thread that opens it, hence the switch.
func readForwarding(ns netns.Handle) (bool, error) {
	var v []byte
	err := netns.Do(ns, func() error {
		var err error
		v, err = os.ReadFile(ipForward)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("read ip_forward: %w", err)
	}
	return strings.TrimSpace(string(v)) == "1", nil
}

func writeForwarding(ns netns.Handle, on bool) error {
	v := "0\n"
	if on {
		v = "1\n"
	}
	return netns.Do(ns, func() error {
		return os.WriteFile(ipForward, []byte(v), 0o644)
	})
}

// maxDumpAttempts bounds the retries of a netlink dump that the kernel
// reports as interrupted (NLM_F_DUMP_INTR: the table changed mid-dump).
const maxDumpAttempts = 10

// dump calls list until it returns a result that was not interrupted.
func dump[T any](list func() ([]T, error)) ([]T, error) {
	var err error
	for range maxDumpAttempts {
		var v []T
		v, err = list()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return v, err
		}
	}
	return nil, fmt.Errorf("%d attempts: %w", maxDumpAttempts, err)
}

// prefixOf converts a netlink address to a netip.Prefix that keeps the
// address bits (10.0.1.1/24, not 10.0.1.0/24).
func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	ones, bits := n.Mask.Size()
	if a.Is4() && bits == 128 {
		ones, bits = ones-96, 32 // a 16-byte IPv4 address with a 16-byte mask
	}
	if bits != a.BitLen() || ones < 0 {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, ones), true
}

func ipNetOf(p netip.Prefix) *net.IPNet {
	return &net.IPNet{
		IP:   net.IP(p.Addr().AsSlice()),
		Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen()),
	}
}

// nsConn is an open namespace with a netlink handle in it.
type nsConn struct {
	ns netns.Handle
	nl *netlink.Handle
}

func openConn(name string) (*nsConn, error) {
	h, err := netns.Open(name)
	if err != nil {
		return nil, err
	}
	nl, err := netlink.NewHandleAt(h, unix.NETLINK_ROUTE)
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("netlink handle in netns %s: %w", name, err)
	}
	return &nsConn{ns: h, nl: nl}, nil
}

func (c *nsConn) close() {
	c.nl.Close()
	c.ns.Close()
}

// executor applies ops, keeping one connection per namespace open.
type executor struct {
	conns map[string]*nsConn
}

func (e *executor) conn(name string) (*nsConn, error) {
	if c, ok := e.conns[name]; ok {
		return c, nil
	}
	c, err := openConn(name)
	if err != nil {
		return nil, err
	}
	e.conns[name] = c
	return c, nil
}

func (e *executor) drop(name string) {
	if c, ok := e.conns[name]; ok {
		c.close()
		delete(e.conns, name)
	}
}

func (e *executor) close() {
	for name := range e.conns {
		e.drop(name)
	}
}

func (e *executor) do(o op) error {
	switch o.Kind {
	case opAddNetns:
		// Stamp the namespace at once: a crash in between leaves it
		// unowned, which the next Set adopts if it still wants it and
		// otherwise leaves alone.
		if err := netns.Create(o.NS); err != nil {
			return err
		}
		c, err := e.conn(o.NS)
		if err != nil {
			return err
		}
		return setOwner(c.nl, o.Owner)
	case opDelNetns:
		e.drop(o.NS)
		return netns.Delete(o.NS)
	}
	c, err := e.conn(o.NS)
	if err != nil {
		return err
	}
	switch o.Kind {
	case opOwn:
		return setOwner(c.nl, o.Owner)
	case opForwarding:
		return writeForwarding(c.ns, o.On)
	case opLoUp:
		return setUp(c.nl, "lo")
	case opAddLink:
		return addLink(c.nl, o)
	case opLinkUp:
		return setUp(c.nl, o.Link)
	}
	link, err := c.nl.LinkByName(o.Link)
	if err != nil {
		return err
	}
	switch o.Kind {
	case opDelLink:
		return c.nl.LinkDel(link)
	case opAddAddr:
		return c.nl.AddrAdd(link, &netlink.Addr{IPNet: ipNetOf(o.Addr)})
	case opDelAddr:
		return c.nl.AddrDel(link, &netlink.Addr{IPNet: ipNetOf(o.Addr)})
	}
	return fmt.Errorf("unknown op %d", o.Kind)
}

// setOwner stamps the namespace of h with owner: the alias of its lo.
func setOwner(h *netlink.Handle, owner string) error {
	lo, err := h.LinkByName("lo")
	if err != nil {
		return err
	}
	return h.LinkSetAlias(lo, OwnerAlias(owner))
}

func setUp(h *netlink.Handle, name string) error {
	link, err := h.LinkByName(name)
	if err != nil {
		return err
	}
	return h.LinkSetUp(link)
}

// addLink creates the link o describes. Each kind of link the data plane
// manages gets a case here (veth pairs next).
func addLink(h *netlink.Handle, o op) error {
	attrs := netlink.LinkAttrs{Name: o.Link}
	switch o.LinkKind {
	case kindBridge:
		return h.LinkAdd(&netlink.Bridge{LinkAttrs: attrs})
	}
	return fmt.Errorf("unsupported link kind %q", o.LinkKind)
}
