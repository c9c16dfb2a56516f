package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/privlink/privlink/internal/controlplane"
	"github.com/privlink/privlink/internal/dataplane"
	"github.com/privlink/privlink/internal/metrics"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// dataPlane applies a node's complete desired configuration.
type dataPlane interface {
	Set(ctx context.Context, cfg dataplane.Config) error
}

// desiredState is the control plane as the controller sees it: every VPC and
// subnet across accounts, read consistently, and the status write-back.
type desiredState interface {
	Snapshot(ctx context.Context) (controlplane.NetworkSnapshot, error)
	MarkAvailable(ctx context.Context, vpcs, subnets []controlplane.Ref) error
}

// changes is the store's change feed.
type changes interface {
	Rev(ctx context.Context) (int64, error)
	Watch(ctx context.Context, fromRev int64) (<-chan store.Event, error)
}

// Defaults of the timing fields of Config.
const (
	DefaultResync     = 2 * time.Second
	DefaultDebounce   = 20 * time.Millisecond
	DefaultMinBackoff = 250 * time.Millisecond
	DefaultMaxBackoff = 10 * time.Second
)

// watchedKinds are the store kinds whose changes trigger a pass.
var watchedKinds = []string{store.KindVpc, store.KindSubnet}

// Config configures a Controller.
type Config struct {
	// State is the control plane. Required.
	State desiredState
	// Changes is the store, watched for changes. Required.
	Changes changes
	// DataPlane applies the configuration. Required.
	DataPlane dataPlane
	// Prefix is the namespace prefix the controller works under: "plk-"
	// in the daemon, a testenv prefix in tests. A VPC's router namespace
	// is Prefix + VPC id, which for "plk-" is model.NamespaceName.
	Prefix string
	// Owner is the owner id of this controller's namespaces
	// (dataplane.Config.Owner): the daemon's id, kept in its store. Other
	// daemons on the host share Prefix; the data plane touches only the
	// namespaces stamped with Owner. Required.
	Owner string
	// Logger; nil discards.
	Logger *slog.Logger
	// Metrics receives the controller's metrics; nil keeps them private.
	Metrics *metrics.Registry
	// Resync is the period of the full pass that runs even without store
	// changes, so that changes behind the controller's back (a namespace
	// deleted by hand) heal. 0 means DefaultResync.
	Resync time.Duration
	// Debounce is how long a pass waits after a change, so that a burst of
	// changes costs one pass. 0 means DefaultDebounce.
	Debounce time.Duration
	// MinBackoff and MaxBackoff bound the wait before retrying a failed
	// pass; it doubles with each failure in a row. 0 means the defaults.
	MinBackoff, MaxBackoff time.Duration
}

// Status is the outcome of the controller's passes so far.
type Status struct {
	// Reconciled reports whether a pass has succeeded.
	Reconciled bool
	// Vpcs, Subnets and Namespaces are what the last successful pass
	// configured.
	Vpcs, Subnets int
	Namespaces    []string
	// LastError is the error of the last pass, or "" if it succeeded.
	LastError string
}

// Controller reconciles VPCs and subnets into router namespaces and bridges.
type Controller struct {
	state    desiredState
	changes  changes
	dp       dataPlane
	prefix   string
	owner    string
	log      *slog.Logger
	resync   time.Duration
	debounce time.Duration
	minBack  time.Duration
	maxBack  time.Duration

	passes   *metrics.Counter
	failures *metrics.Counter
	duration *metrics.Histogram
	managed  *metrics.Gauge

	mu     sync.Mutex
	status Status
}

// New returns a Controller. Run starts it.
func New(cfg Config) (*Controller, error) {
	if cfg.State == nil || cfg.Changes == nil || cfg.DataPlane == nil {
		return nil, errors.New("controller: State, Changes and DataPlane are required")
	}
	if cfg.Prefix == "" {
		return nil, errors.New("controller: empty namespace prefix")
	}
	if cfg.Owner == "" {
		return nil, errors.New("controller: empty owner")
	}
	c := &Controller{
		state:    cfg.State,
		changes:  cfg.Changes,
		dp:       cfg.DataPlane,
		prefix:   cfg.Prefix,
		owner:    cfg.Owner,
		log:      cfg.Logger,
		resync:   orDefault(cfg.Resync, DefaultResync),
		debounce: orDefault(cfg.Debounce, DefaultDebounce),
		minBack:  orDefault(cfg.MinBackoff, DefaultMinBackoff),
		maxBack:  orDefault(cfg.MaxBackoff, DefaultMaxBackoff),
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	reg := cfg.Metrics
	if reg == nil {
		reg = metrics.NewRegistry()
	}
	c.passes = reg.Counter("privlink_reconcile_passes_total", "Reconcile passes run.")
	c.failures = reg.Counter("privlink_reconcile_errors_total", "Reconcile passes that failed.")
	c.duration = reg.Histogram("privlink_reconcile_duration_seconds", "Duration of reconcile passes.", metrics.DefaultBuckets)
	c.managed = reg.Gauge("privlink_managed_namespaces", "Network namespaces the controller manages, as of its last successful pass.")
	return c, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Status returns the outcome of the passes so far.
func (c *Controller) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.status
	s.Namespaces = slices.Clone(s.Namespaces)
	return s
}

// Run reconciles until ctx is done, then returns nil. It never fails: errors
// are logged and retried. Kernel state stays as it is when Run returns.
func (c *Controller) Run(ctx context.Context) error {
	// Read the revision before the first pass lists anything, so that
	// every later change is seen by the watch.
	from, err := c.changes.Rev(ctx)
	if err != nil {
		c.log.WarnContext(ctx, "controller: read store revision", "err", err)
		from = -1 // the watcher reads it again
	}
	kick := make(chan struct{}, 1)
	var wg sync.WaitGroup
	wg.Go(func() { c.watch(ctx, from, kick) })
	defer wg.Wait()

	resync := time.NewTicker(c.resync)
	defer resync.Stop()
	failed := 0
	for {
		err := c.pass(ctx)
		if ctx.Err() != nil {
			return nil
		}
		resync.Reset(c.resync)
		if err != nil {
			failed++
			wait := c.backoff(failed)
			c.log.ErrorContext(ctx, "reconcile failed", "err", err, "failures", failed, "retry_in", wait)
			if !sleep(ctx, wait) {
				return nil
			}
			continue
		}
		if failed > 0 {
			c.log.InfoContext(ctx, "reconcile recovered", "after_failures", failed)
			failed = 0
		}
		select {
		case <-ctx.Done():
			return nil
		case <-kick:
		case <-resync.C:
		}
		// Let a burst of changes settle into one pass.
		if !sleep(ctx, c.debounce) {
			return nil
		}
		select {
		case <-kick:
		default:
		}
	}
}

// backoff returns the wait after the n-th failure in a row.
func (c *Controller) backoff(n int) time.Duration {
	d := c.minBack
	for i := 1; i < n && d < c.maxBack; i++ {
		d *= 2
	}
	return min(d, c.maxBack)
}

// sleep waits for d or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// watch follows the store's changes from revision from (-1: the current
// one) and signals kick, without blocking, for every change to a watched
// kind. When the watch ends or the store has compacted the revisions it
// needs, it starts over from the current revision and signals kick, since
// it may have missed changes. It returns when ctx is done.
func (c *Controller) watch(ctx context.Context, from int64, kick chan<- struct{}) {
	signal := func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	failed := 0
	retry := func(what string, err error) bool {
		failed++
		wait := c.backoff(failed)
		c.log.WarnContext(ctx, "controller: "+what, "err", err, "retry_in", wait)
		return sleep(ctx, wait)
	}
	for ctx.Err() == nil {
		if from < 0 {
			rev, err := c.changes.Rev(ctx)
			if err != nil {
				if ctx.Err() != nil || !retry("read store revision", err) {
					return
				}
				continue
			}
			from = rev
			signal()
		}
		ch, err := c.changes.Watch(ctx, from)
		if errors.Is(err, store.ErrCompacted) {
			c.log.InfoContext(ctx, "controller: store watch compacted; resyncing", "from_rev", from)
			from = -1
			continue
		}
		if err != nil {
			from = -1
			if ctx.Err() != nil || !retry("watch store", err) {
				return
			}
			continue
		}
		failed = 0
		for ev := range ch {
			from = ev.Rev
			if watched(ev.Key) {
				signal()
			}
		}
		// The watch ended: ctx is done, the store closed, or the watcher
		// fell behind. Watch again from the last revision seen; Watch
		// says ErrCompacted if that is too old.
	}
}

func watched(key string) bool {
	kind, _, _ := strings.Cut(key, "/")
	return slices.Contains(watchedKinds, kind)
}

// pass runs one reconcile pass.
func (c *Controller) pass(ctx context.Context) (err error) {
	start := time.Now()
	defer func() {
		if ctx.Err() != nil {
			return // shutting down; not a failure of the pass
		}
		c.passes.Inc()
		c.duration.Observe(time.Since(start).Seconds())
		c.mu.Lock()
		defer c.mu.Unlock()
		c.status.LastError = ""
		if err != nil {
			c.failures.Inc()
			c.status.LastError = err.Error()
		}
	}()

	snap, err := c.state.Snapshot(ctx)
	if err != nil {
		return fmt.Errorf("read desired state: %w", err)
	}
	d := buildConfig(c.prefix, c.owner, snap.Vpcs, snap.Subnets)
	for _, s := range d.skipped {
		c.log.WarnContext(ctx, "controller: subnet not configured", "subnet", s.id, "vpc", s.vpcID, "reason", s.reason)
	}
	if err := c.dp.Set(ctx, d.cfg); err != nil {
		return fmt.Errorf("data plane: %w", err)
	}

	namespaces := make([]string, len(d.cfg.Routers))
	for i, r := range d.cfg.Routers {
		namespaces[i] = r.Namespace
	}
	c.managed.Set(float64(len(namespaces)))
	c.mu.Lock()
	c.status.Reconciled = true
	c.status.Vpcs, c.status.Subnets, c.status.Namespaces = len(snap.Vpcs), d.subnets, namespaces
	c.mu.Unlock()

	// The kernel is configured: advance what was pending.
	if len(d.pendingVpcs)+len(d.pendingSubnets) == 0 {
		return nil
	}
	if err := c.state.MarkAvailable(ctx, d.pendingVpcs, d.pendingSubnets); err != nil {
		return err
	}
	for _, r := range d.pendingVpcs {
		c.log.InfoContext(ctx, "vpc available", "vpc", r.ID)
	}
	for _, r := range d.pendingSubnets {
		c.log.InfoContext(ctx, "subnet available", "subnet", r.ID)
	}
	return nil
}

// desired is the data-plane config for a set of VPCs and subnets, with the
// resources whose state the controller advances once it is applied.
type desired struct {
	cfg            dataplane.Config
	subnets        int // subnets configured
	pendingVpcs    []controlplane.Ref
	pendingSubnets []controlplane.Ref
	skipped        []skippedSubnet
}

// skippedSubnet is a subnet that cannot be configured. The control plane
// validates every subnet, so this is a bug or a damaged record; the
// controller configures everything else rather than nothing.
type skippedSubnet struct {
	id, vpcID, reason string
}

// buildConfig computes the data-plane config for owner: one router
// namespace (prefix + VPC id) per VPC, with one bridge per subnet that carries the
// subnet's first address (.1) with the subnet's prefix length. Routers are
// in VPC id order, bridges in subnet id order.
func buildConfig(prefix, owner string, vpcs []model.Vpc, subnets []model.Subnet) desired {
	d := desired{cfg: dataplane.Config{Prefix: prefix, Owner: owner}}
	vpcs = slices.Clone(vpcs)
	slices.SortFunc(vpcs, func(a, b model.Vpc) int { return strings.Compare(a.ID, b.ID) })
	subnets = slices.Clone(subnets)
	slices.SortFunc(subnets, func(a, b model.Subnet) int { return strings.Compare(a.ID, b.ID) })

	byVpc := make(map[string][]model.Subnet, len(vpcs))
	for _, s := range subnets {
		byVpc[s.VpcID] = append(byVpc[s.VpcID], s)
	}
	known := make(map[string]bool, len(vpcs))
	for _, v := range vpcs {
		known[v.ID] = true
		r := dataplane.Router{Namespace: prefix + v.ID}
		for _, s := range byVpc[v.ID] {
			addr, err := routerAddress(s.CidrBlock)
			switch {
			case err != nil:
				d.skipped = append(d.skipped, skippedSubnet{s.ID, s.VpcID, err.Error()})
				continue
			case s.BridgeName == "":
				d.skipped = append(d.skipped, skippedSubnet{s.ID, s.VpcID, "no bridge name recorded"})
				continue
			}
			r.Bridges = append(r.Bridges, dataplane.Bridge{Name: s.BridgeName, Address: addr})
			d.subnets++
			if s.State == model.StatePending {
				d.pendingSubnets = append(d.pendingSubnets, controlplane.Ref{Owner: s.OwnerID, ID: s.ID})
			}
		}
		d.cfg.Routers = append(d.cfg.Routers, r)
		if v.State == model.StatePending {
			d.pendingVpcs = append(d.pendingVpcs, controlplane.Ref{Owner: v.OwnerID, ID: v.ID})
		}
	}
	for _, s := range subnets {
		if !known[s.VpcID] {
			d.skipped = append(d.skipped, skippedSubnet{s.ID, s.VpcID, "its VPC does not exist"})
		}
	}
	return d
}

// routerAddress returns the router's address on a subnet: the subnet's
// first address after the network address, with the subnet's length.
func routerAddress(cidr string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("cidr block %q: %w", cidr, err)
	}
	p = p.Masked()
	a := p.Addr().Next()
	if !a.IsValid() || !p.Contains(a) {
		return netip.Prefix{}, fmt.Errorf("cidr block %q has no router address", cidr)
	}
	return netip.PrefixFrom(a, p.Bits()), nil
}
