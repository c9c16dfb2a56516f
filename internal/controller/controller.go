package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/privlink/privlink/internal/controlplane"
	"github.com/privlink/privlink/internal/dataplane"
	"github.com/privlink/privlink/internal/forwarder"
	"github.com/privlink/privlink/internal/metrics"
	"github.com/privlink/privlink/internal/store"
	"github.com/privlink/privlink/internal/supervisor"
	"github.com/privlink/privlink/internal/vpcdns"
)

// dataPlane applies a node's complete desired configuration.
type dataPlane interface {
	Set(ctx context.Context, cfg dataplane.Config) error
}

// desiredState is the control plane as the controller sees it: the network
// of every account, read consistently, and the status write-back.
type desiredState interface {
	Snapshot(ctx context.Context) (controlplane.NetworkSnapshot, error)
	MarkAvailable(ctx context.Context, vpcs, subnets []controlplane.Ref) error
	AdvanceInstances(ctx context.Context, p controlplane.InstanceProgress) error
}

// purger deletes the records of instances terminated long ago.
type purger interface {
	PurgeTerminatedInstances(ctx context.Context) ([]controlplane.Ref, error)
}

// workloadSupervisor runs the instances' UserData: supervisor.Supervisor.
type workloadSupervisor interface {
	Set(ctx context.Context, ws []supervisor.Workload) error
	Forget(ctx context.Context, id string) error
}

// resolver serves the VPCs' DNS: vpcdns.Server.
type resolver interface {
	Set(ctx context.Context, cfg vpcdns.Config) error
}

// forwardingEngine carries the load balancers' traffic: forwarder.Engine.
type forwardingEngine interface {
	Set(ctx context.Context, t forwarder.Table) error
	Prune(keep func(namespace string) bool)
	Stats() []forwarder.ListenerStats
}

// healthChecker probes the targets: forwarder.Checker. It reports through
// Controller.ReportHealth.
type healthChecker interface {
	Set(checks []forwarder.Check)
}

// loadBalancerStatus is the control plane's write-back for load balancers.
type loadBalancerStatus interface {
	ActivateLoadBalancers(ctx context.Context, arns []string) error
	RecordTargetHealth(ctx context.Context, updates []controlplane.TargetHealthUpdate) error
	AdvanceEndpoints(ctx context.Context, available, forget []controlplane.Ref) error
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
	DefaultPurge      = time.Minute
)

// watchedKinds are the store kinds whose changes trigger a pass.
var watchedKinds = []string{
	store.KindVpc, store.KindSubnet, store.KindSecurityGroup, store.KindNetworkAcl,
	store.KindInstance, store.KindENI,
	store.KindLoadBalancer, store.KindListener, store.KindTargetGroup, store.KindTargetHealth,
	store.KindEndpointService, store.KindVpcEndpoint,
}

// Config configures a Controller.
type Config struct {
	// State is the control plane. Required.
	State desiredState
	// Changes is the store, watched for changes. Required.
	Changes changes
	// DataPlane applies the configuration. Required.
	DataPlane dataPlane
	// Supervisor runs the instances' UserData and kills their processes
	// on stop and terminate; nil runs nothing (tests).
	Supervisor workloadSupervisor
	// Resolver serves each VPC's DNS at base+2; nil serves none (tests).
	Resolver resolver
	// Forwarder carries the load balancers' listeners, Checker runs their
	// health checks and LoadBalancers takes the status back (nodes up,
	// target health). Each may be nil (tests): no traffic, no checks, or
	// no status.
	Forwarder     forwardingEngine
	Checker       healthChecker
	LoadBalancers loadBalancerStatus
	// Purger deletes the records of instances terminated long ago, every
	// Purge; nil never purges.
	Purger purger
	// Region names the instances' private DNS names
	// (model.PrivateDNSName). Required.
	Region string
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
	// Debounce is the least time between the end of a pass and the start
	// of the next, so that a burst of changes costs one pass (see Run for
	// the pacing). 0 means DefaultDebounce.
	Debounce time.Duration
	// MinBackoff and MaxBackoff bound the wait before retrying a failed
	// pass; it doubles with each failure in a row. 0 means the defaults.
	MinBackoff, MaxBackoff time.Duration
	// Purge is the period of PurgeTerminatedInstances. 0 means
	// DefaultPurge.
	Purge time.Duration
}

// Status is the outcome of the controller's passes so far.
type Status struct {
	// Reconciled reports whether a pass has succeeded.
	Reconciled bool
	// Vpcs, Subnets, Instances and Namespaces are what the last pass
	// whose data-plane Set succeeded configured; Namespaces holds the
	// routers' and the hosts'.
	Vpcs, Subnets, Instances int
	Namespaces               []string
	// LastError is the error of the last pass, or "" if it succeeded.
	LastError string
}

// Controller reconciles VPCs, subnets, instances, security groups and
// network ACLs into namespaces, bridges, veths and nftables rules, UserData
// into processes, and VPCs into resolvers.
type Controller struct {
	state    desiredState
	changes  changes
	dp       dataPlane
	sup      workloadSupervisor
	resolver resolver
	purger   purger
	fwd      forwardingEngine
	checker  healthChecker
	lbStatus loadBalancerStatus
	prefix   string
	owner    string
	region   string
	log      *slog.Logger
	resync   time.Duration
	debounce time.Duration
	minBack  time.Duration
	maxBack  time.Duration
	purge    time.Duration

	// lastPurge is when the pass last purged; only the Run goroutine
	// touches it.
	lastPurge time.Time

	// The checker's reports wait in pendingHealth (under mu, the latest
	// per check) for writeHealth, which healthKick wakes; checkTargets
	// (under mu) maps the current checks' keys to their targets.
	pendingHealth map[string]forwarder.Health
	healthKick    chan struct{}
	checkTargets  map[string]checkTarget

	// plMetrics exports the endpoints' traffic; lastHosted holds the host
	// namespaces of the last pass whose data-plane Set succeeded. Only
	// the Run goroutine touches them.
	plMetrics  *privateLinkMetrics
	lastHosted map[string]bool
	// lastNLBListeners are the load balancer listeners of the last
	// forwarder table (elbDesired.nlbListeners); only Run touches them.
	lastNLBListeners map[string]string

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
	if cfg.Region == "" {
		return nil, errors.New("controller: empty region")
	}
	c := &Controller{
		state:      cfg.State,
		changes:    cfg.Changes,
		dp:         cfg.DataPlane,
		sup:        cfg.Supervisor,
		resolver:   cfg.Resolver,
		purger:     cfg.Purger,
		fwd:        cfg.Forwarder,
		checker:    cfg.Checker,
		lbStatus:   cfg.LoadBalancers,
		healthKick: make(chan struct{}, 1),
		prefix:     cfg.Prefix,
		owner:      cfg.Owner,
		region:     cfg.Region,
		log:        cfg.Logger,
		resync:     orDefault(cfg.Resync, DefaultResync),
		debounce:   orDefault(cfg.Debounce, DefaultDebounce),
		minBack:    orDefault(cfg.MinBackoff, DefaultMinBackoff),
		maxBack:    orDefault(cfg.MaxBackoff, DefaultMaxBackoff),
		purge:      orDefault(cfg.Purge, DefaultPurge),
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
	c.plMetrics = newPrivateLinkMetrics(reg)
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
	wg.Go(func() { c.writeHealth(ctx) })
	defer wg.Wait()

	resync := time.NewTicker(c.resync)
	defer resync.Stop()
	failed := 0
	for {
		start := time.Now()
		err := c.pass(ctx)
		if ctx.Err() != nil {
			return nil
		}
		lastEnd, lastDur := time.Now(), time.Since(start)
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
		// Pace the passes. A change after a quiet spell is reconciled at
		// once; under a stream of changes, passes start at least twice
		// their own duration (and at least the debounce) apart, so that
		// the changes of a burst share a pass and the controller, whose
		// passes grow with the number of resources, leaves at least two
		// thirds of the time to the API.
		spacing := max(c.debounce, 2*lastDur)
		if !sleep(ctx, spacing-time.Since(lastEnd)) {
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
	d := buildConfig(c.prefix, c.owner, c.region, snap)
	for _, s := range d.skipped {
		c.log.WarnContext(ctx, "controller: "+s.kind+" not configured", "id", s.id, "vpc", s.vpcID, "reason", s.reason)
	}

	// Each step runs even if an earlier one failed, so that one failing
	// component does not starve the others; the pass then fails and is
	// retried with backoff. Only what depends on a step waits for it.
	var errs []error
	c.pruneTo(d.cfg)
	kernelErr := c.dp.Set(ctx, d.cfg)
	if kernelErr != nil {
		errs = append(errs, fmt.Errorf("data plane: %w", kernelErr))
	} else {
		c.configured(snap, d)
	}

	// The supervisor kills the processes of stopping and shutting-down
	// instances while their namespaces still exist, and starts UserData in
	// the namespaces just configured.
	supervisorOK := true
	if c.sup != nil {
		if err := c.sup.Set(ctx, d.workloads(kernelErr == nil)); err != nil {
			supervisorOK = false
			errs = append(errs, fmt.Errorf("supervisor: %w", err))
		}
	}
	// Then the namespaces of shutting-down instances go.
	terminatedOK := false
	if drop := d.terminating(); supervisorOK && len(drop) > 0 {
		cfg := withoutHosts(d.cfg, drop)
		c.pruneTo(cfg)
		if err := c.dp.Set(ctx, cfg); err != nil {
			errs = append(errs, fmt.Errorf("data plane: %w", err))
		} else {
			terminatedOK = true
		}
	}
	errs = append(errs, c.loadBalancers(ctx, snap, &d, kernelErr == nil)...)
	if c.resolver != nil {
		if err := c.resolver.Set(ctx, d.dns); err != nil {
			errs = append(errs, fmt.Errorf("vpc dns: %w", err))
		}
	}

	// Write back what the kernel and the supervisor now have.
	if p := d.progress(kernelErr == nil, supervisorOK, terminatedOK); !emptyProgress(p) {
		if err := c.state.AdvanceInstances(ctx, p); err != nil {
			errs = append(errs, err)
		} else {
			logRefs(ctx, c.log, "instance running", p.Running)
			logRefs(ctx, c.log, "instance stopped", p.Stopped)
			logRefs(ctx, c.log, "instance terminated", p.Terminated)
		}
	}
	if kernelErr == nil && len(d.pendingVpcs)+len(d.pendingSubnets) > 0 {
		if err := c.state.MarkAvailable(ctx, d.pendingVpcs, d.pendingSubnets); err != nil {
			errs = append(errs, err)
		} else {
			logRefs(ctx, c.log, "vpc available", d.pendingVpcs)
			logRefs(ctx, c.log, "subnet available", d.pendingSubnets)
		}
	}
	c.purgeTerminated(ctx)
	return errors.Join(errs...)
}

// pruneTo has the forwarder drop the listeners in the namespaces cfg does
// not host, before a data-plane Set with cfg deletes those namespaces (a
// deleted endpoint's or load balancer's interfaces): the resets of their
// flows need the interfaces to reach the clients.
func (c *Controller) pruneTo(cfg dataplane.Config) {
	if c.fwd == nil {
		return
	}
	hosts := make(map[string]bool, len(cfg.Hosts))
	for _, h := range cfg.Hosts {
		hosts[h.Namespace] = true
	}
	c.fwd.Prune(func(ns string) bool { return hosts[ns] })
}

// configured records what a pass whose data-plane Set succeeded configured.
func (c *Controller) configured(snap controlplane.NetworkSnapshot, d desired) {
	namespaces := make([]string, 0, len(d.cfg.Routers)+len(d.cfg.Hosts))
	for _, r := range d.cfg.Routers {
		namespaces = append(namespaces, r.Namespace)
	}
	for _, h := range d.cfg.Hosts {
		namespaces = append(namespaces, h.Namespace)
	}
	c.managed.Set(float64(len(namespaces)))
	c.mu.Lock()
	defer c.mu.Unlock()
	c.status.Reconciled = true
	c.status.Vpcs, c.status.Subnets, c.status.Instances = len(snap.Vpcs), d.subnets, d.hostedInstances()
	c.status.Namespaces = namespaces
}

// purgeTerminated deletes, once every Purge, the records of instances
// terminated long ago, and what the supervisor keeps of them. Failures are
// logged; the next period retries.
func (c *Controller) purgeTerminated(ctx context.Context) {
	if c.purger == nil || (!c.lastPurge.IsZero() && time.Since(c.lastPurge) < c.purge) {
		return
	}
	c.lastPurge = time.Now()
	purged, err := c.purger.PurgeTerminatedInstances(ctx)
	if err != nil {
		c.log.WarnContext(ctx, "controller: purge terminated instances", "err", err)
		return
	}
	for _, r := range purged {
		c.log.InfoContext(ctx, "terminated instance purged", "instance", r.ID)
		if c.sup == nil {
			continue
		}
		if err := c.sup.Forget(ctx, r.ID); err != nil {
			c.log.WarnContext(ctx, "controller: forget the workload of a purged instance", "instance", r.ID, "err", err)
		}
	}
}

// loadBalancers configures the forwarder and the health checks of the load
// balancers and endpoints, adds their names to the VPC resolvers' answers
// (d.dns), moves the provisioning load balancers whose nodes are up to
// active, the pending endpoints whose listeners are up to available, and
// forgets the deleted endpoints that are torn down. kernelOK
// reports whether the pass's data-plane Set succeeded: only then do the
// nodes' namespaces exist.
func (c *Controller) loadBalancers(ctx context.Context, snap controlplane.NetworkSnapshot, d *desired, kernelOK bool) []error {
	// The namespaces that are up: those of this pass if its data-plane
	// Set succeeded; otherwise those of the last pass that succeeded
	// that this pass still wants. A failing data plane must not reset
	// the flows of namespaces that are fine, nor keep serving what was
	// removed (a rejected endpoint stops listening either way).
	hosted := make(map[string]bool, len(d.cfg.Hosts))
	for _, h := range d.cfg.Hosts {
		if kernelOK || c.lastHosted[h.Namespace] {
			hosted[h.Namespace] = true
		}
	}
	if kernelOK {
		c.lastHosted = hosted
	}
	e := buildELB(c.prefix, c.region, time.Now(), snap, kernelOK, func(eniID string) bool { return hosted[c.prefix+eniID] })
	addNames(&d.dns, c.prefix, c.region, e.names)
	var errs []error
	if c.checker != nil {
		c.mu.Lock()
		c.checkTargets = e.checkTargets
		c.mu.Unlock()
		c.checker.Set(e.checks)
	}
	if c.fwd != nil {
		e.table.Retire = e.retired(c.lastNLBListeners)
		c.lastNLBListeners = e.nlbListeners
		err := c.fwd.Set(ctx, e.table)
		c.plMetrics.sync(c.fwd.Stats(), e.endpointLabels, e.endpointsCount)
		if err != nil {
			return append(errs, fmt.Errorf("forwarder: %w", err))
		}
	}
	if c.lbStatus != nil && len(e.provisioning) > 0 {
		if err := c.lbStatus.ActivateLoadBalancers(ctx, e.provisioning); err != nil {
			errs = append(errs, err)
		} else {
			for _, arn := range e.provisioning {
				c.log.InfoContext(ctx, "load balancer active", "arn", arn)
			}
		}
	}
	if c.lbStatus != nil && len(e.endpointsUp)+len(e.endpointsGone) > 0 {
		if err := c.lbStatus.AdvanceEndpoints(ctx, e.endpointsUp, e.endpointsGone); err != nil {
			errs = append(errs, err)
		} else {
			logRefs(ctx, c.log, "endpoint available", e.endpointsUp)
			logRefs(ctx, c.log, "endpoint deleted", e.endpointsGone)
		}
	}
	return errs
}

// ReportHealth takes the health checker's reports (forwarder
// CheckerOptions.Report). It never blocks: the latest report of each check
// waits in pending for the goroutine that writes them to the store.
func (c *Controller) ReportHealth(hs []forwarder.Health) {
	c.mu.Lock()
	if c.pendingHealth == nil {
		c.pendingHealth = map[string]forwarder.Health{}
	}
	for _, h := range hs {
		c.pendingHealth[h.Key] = h
	}
	c.mu.Unlock()
	select {
	case c.healthKick <- struct{}{}:
	default:
	}
}

// writeHealth writes the checker's reports to the store until ctx is done.
// The checker reports changes only, so a failed write is retried (with
// backoff) rather than dropped: a newer report of the same check replaces
// the one waiting.
func (c *Controller) writeHealth(ctx context.Context) {
	failed := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.healthKick:
		}
		c.mu.Lock()
		hs := slices.Collect(maps.Values(c.pendingHealth))
		c.pendingHealth = nil
		updates := healthUpdates(hs, c.checkTargets)
		c.mu.Unlock()
		if c.lbStatus == nil || len(updates) == 0 {
			continue
		}
		if err := c.lbStatus.RecordTargetHealth(ctx, updates); err != nil && ctx.Err() == nil {
			failed++
			c.log.WarnContext(ctx, "controller: record target health", "err", err)
			// Put back what no newer report replaced, and try again.
			c.mu.Lock()
			for _, h := range hs {
				if _, newer := c.pendingHealth[h.Key]; !newer {
					if c.pendingHealth == nil {
						c.pendingHealth = map[string]forwarder.Health{}
					}
					c.pendingHealth[h.Key] = h
				}
			}
			c.mu.Unlock()
			c.ReportHealth(nil)
			if !sleep(ctx, c.backoff(failed)) {
				return
			}
			continue
		}
		failed = 0
	}
}

func logRefs(ctx context.Context, log *slog.Logger, msg string, refs []controlplane.Ref) {
	for _, r := range refs {
		log.InfoContext(ctx, msg, "id", r.ID, "owner", r.Owner)
	}
}
