package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/privlink/privlink/internal/admin"
	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/config"
	"github.com/privlink/privlink/internal/controller"
	"github.com/privlink/privlink/internal/controlplane"
	"github.com/privlink/privlink/internal/dataplane"
	"github.com/privlink/privlink/internal/forwarder"
	"github.com/privlink/privlink/internal/metrics"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/neigh"
	"github.com/privlink/privlink/internal/store"
	"github.com/privlink/privlink/internal/store/boltstore"
	"github.com/privlink/privlink/internal/supervisor"
	"github.com/privlink/privlink/internal/txtlookup"
	"github.com/privlink/privlink/internal/vpcdns"
)

// NamespacePrefix is the prefix of every network namespace a daemon creates.
// Each VPC's router is model.NamespaceName(id), which starts with it. Every
// daemon on a host shares it; each tells its own namespaces apart by its
// owner id, which it keeps in its store and stamps on them.
const NamespacePrefix = "plk-"

// DataPlane applies a node's complete desired configuration:
// dataplane.Linux in production, dataplane.Fake in tests.
type DataPlane interface {
	Set(ctx context.Context, cfg dataplane.Config) error
}

// Supervisor runs the instances' UserData and keeps their console logs:
// supervisor.Supervisor in production, a fake in tests.
type Supervisor interface {
	Set(ctx context.Context, ws []supervisor.Workload) error
	Forget(ctx context.Context, id string) error
	ConsoleLog(ctx context.Context, id string) ([]byte, error)
}

// Resolver serves each VPC's DNS: vpcdns.Server in production, a fake in
// tests.
type Resolver interface {
	Set(ctx context.Context, cfg vpcdns.Config) error
}

// Ready describes a daemon that has bound its sockets.
type Ready struct {
	// APIAddr is the bound address of the AWS API listener ("127.0.0.1:4566").
	APIAddr string
	// AdminSocket is the path of the admin socket.
	AdminSocket string
}

// Option changes how Run builds the daemon; tests use them.
type Option func(*options)

type options struct {
	dataPlane DataPlane
	// dataPlaneReplaced is set when WithDataPlane replaced the Linux data
	// plane.
	dataPlaneReplaced bool
	supervisor        Supervisor
	resolver          Resolver
	ready             func(Ready)
}

// WithDataPlane replaces the Linux data plane, so that a daemon can run
// without root against dataplane.Fake.
func WithDataPlane(dp DataPlane) Option { return func(o *options) { o.dataPlane = dp } }

// WithSupervisor replaces the UserData supervisor, which needs root and
// real namespaces to start anything.
func WithSupervisor(sup Supervisor) Option { return func(o *options) { o.supervisor = sup } }

// WithResolver replaces the VPC DNS server, which opens its sockets inside
// real namespaces.
func WithResolver(r Resolver) Option { return func(o *options) { o.resolver = r } }

// WithReady calls fn once the API listener and the admin socket are bound,
// before Run serves anything.
func WithReady(fn func(Ready)) Option { return func(o *options) { o.ready = fn } }

// shutdownTimeout bounds the graceful shutdown of the HTTP servers.
const shutdownTimeout = 5 * time.Second

// Run runs the daemon until ctx is done, then shuts down cleanly and returns
// nil. The kernel state stays in place; the next start adopts it. Run fails
// if cfg is invalid, if another daemon runs on the same data directory, or if
// a component fails.
func Run(ctx context.Context, cfg config.Config, logger *slog.Logger, opts ...Option) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	zones, err := cfg.ZoneList()
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	o.dataPlaneReplaced = o.dataPlane != nil
	if o.dataPlane == nil {
		o.dataPlane = dataplane.NewLinux(logger.With("component", "dataplane"))
	}

	raiseOpenFiles(logger)
	if !o.dataPlaneReplaced {
		neigh.Raise(logger, neigh.ProcSysNet)
	}
	if err := prepareDataDir(cfg.DataDir, logger); err != nil {
		return err
	}
	adminLn, err := admin.Listen(cfg.AdminSocketPath())
	if err != nil {
		return err
	}
	defer adminLn.Close() // Server.Run closes it too; this covers early returns
	st, err := boltstore.Open(ctx, cfg.StorePath())
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			logger.Error("close store", "err", err)
		}
	}()

	reg := metrics.NewRegistry()
	// Long-lived components built here, besides those every daemon has.
	var runners []func(context.Context) error
	if o.supervisor == nil {
		sup, err := newSupervisor(cfg.DataDir, logger.With("component", "supervisor"))
		if err != nil {
			return err
		}
		o.supervisor = sup
		runners = append(runners, sup.Run)
	}
	if o.resolver == nil {
		queries := reg.Counter("privlink_dns_queries_total", "DNS queries answered by the VPC resolvers, by rcode.", "rcode")
		dns := vpcdns.New(logger.With("component", "vpcdns"), vpcdns.WithQueryCounter(queries))
		o.resolver = dns
		runners = append(runners, dns.Run)
	}

	// The forwarder and the health checker work in the namespaces the
	// data plane makes; a replaced data plane (dataplane.Fake) makes none.
	var (
		fwd     *forwarder.Engine
		checker *forwarder.Checker
		ctrl    *controller.Controller
	)
	if !o.dataPlaneReplaced {
		fwd = forwarder.New(forwarder.Options{Logger: logger.With("component", "forwarder"), Metrics: reg})
		checker = forwarder.NewChecker(forwarder.CheckerOptions{
			Logger: logger.With("component", "healthcheck"),
			// The checker starts checking only once the controller has
			// given it checks, so ctrl is set by then.
			Report: func(hs []forwarder.Health) { ctrl.ReportHealth(hs) },
		})
		runners = append(runners, fwd.Run, checker.Run)
	}

	cp, err := controlplane.New(controlplane.Config{
		Store: st, Region: cfg.Region, Zones: zones, ConsoleLogs: o.supervisor,
		Logger: logger.With("component", "controlplane"),
		TXT:    txtlookup.New(cfg.VerificationResolver),
	})
	if err != nil {
		return err
	}
	created, err := cp.Bootstrap(ctx)
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if created {
		logger.Info("created bootstrap account", "account", controlplane.BootstrapAccountID,
			"access_key", controlplane.BootstrapAccessKey, "secret_key", controlplane.BootstrapSecretKey)
	}
	owner, created, err := ownerID(ctx, st)
	if err != nil {
		return err
	}
	if created {
		logger.Info("created owner id", "owner", owner)
	}

	reg.GaugeFunc("privlink_store_revision", "Current revision of the store.", func(ctx context.Context) (float64, error) {
		rev, err := st.Rev(ctx)
		return float64(rev), err
	})
	ctrlCfg := controller.Config{
		State:         cp,
		Changes:       st,
		DataPlane:     o.dataPlane,
		Supervisor:    o.supervisor,
		Resolver:      o.resolver,
		LoadBalancers: cp,
		Purger:        cp,
		Prefix:        NamespacePrefix,
		Owner:         owner,
		Region:        cfg.Region,
		Logger:        logger.With("component", "controller"),
		Metrics:       reg,
	}
	if fwd != nil {
		ctrlCfg.Forwarder, ctrlCfg.Checker = fwd, checker
	}
	ctrl, err = controller.New(ctrlCfg)
	if err != nil {
		return err
	}

	api := awsapi.NewServer(awsapi.ServerConfig{
		Region:      cfg.Region,
		Credentials: cp,
		Handlers:    instrument(apiHandlers(cp), reg),
		Logger:      logger.With("component", "awsapi"),
	})
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", healthHandler(st, ctrl))
	mux.Handle("GET /metrics", reg)
	mux.Handle("/", api)
	apiLn, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer apiLn.Close()
	httpSrv := &http.Server{
		Handler:           instrumentHTTP(mux, reg),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	backend := &adminBackend{cfg: cfg, zones: zones, listen: apiLn.Addr().String(), store: st, cp: cp, ctrl: ctrl, consoles: o.supervisor}
	adminSrv := admin.NewServer(adminLn, backend, logger.With("component", "admin"))

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return serveHTTP(gctx, httpSrv, apiLn) })
	g.Go(func() error { return adminSrv.Run(gctx) })
	g.Go(func() error { return ctrl.Run(gctx) })
	for _, run := range runners {
		g.Go(func() error { return run(gctx) })
	}
	logger.Info("privlink daemon running", "listen", apiLn.Addr().String(), "data_dir", cfg.DataDir, "owner", owner,
		"region", cfg.Region, "zones", zoneNames(zones), "admin_socket", cfg.AdminSocketPath())
	if o.ready != nil {
		o.ready(Ready{APIAddr: apiLn.Addr().String(), AdminSocket: cfg.AdminSocketPath()})
	}
	err = g.Wait()
	if err != nil {
		return err
	}
	logger.Info("privlink daemon stopped; network namespaces stay in place")
	return nil
}

// newSupervisor returns the UserData supervisor, which keeps its state
// under <data-dir>/instances and re-executes this binary to enter
// namespaces.
func newSupervisor(dataDir string, logger *slog.Logger) (*supervisor.Supervisor, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("supervisor: find the privlink binary: %w", err)
	}
	dir, err := filepath.Abs(filepath.Join(dataDir, "instances"))
	if err != nil {
		return nil, fmt.Errorf("supervisor: %w", err)
	}
	return supervisor.New(supervisor.Config{StateDir: dir, Self: self, Logger: logger})
}

// prepareDataDir creates dir with mode 0700 if it is missing, and warns if
// an existing one is open to other users. (The store and the admin socket
// are 0600 themselves.)
func prepareDataDir(dir string, logger *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		logger.Warn("data dir is accessible to other users; 0700 is recommended", "data_dir", dir, "mode", fi.Mode().Perm())
	}
	return nil
}

// serveHTTP serves srv on ln until ctx is done, then shuts it down
// gracefully.
func serveHTTP(ctx context.Context, srv *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("api server: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		srv.Close()
		return fmt.Errorf("api server shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("api server: %w", err)
	}
	return nil
}

// healthHandler answers 200 "ok" once the store answers and the controller
// has completed a pass, and 503 with the reason before that.
func healthHandler(st store.Store, ctrl *controller.Controller) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if _, err := st.Rev(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "store: %v\n", err)
			return
		}
		if !ctrl.Status().Reconciled {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "controller: no reconcile pass has completed yet")
			return
		}
		fmt.Fprintln(w, "ok")
	})
}

func zoneNames(zones []model.Zone) []string {
	out := make([]string, len(zones))
	for i, z := range zones {
		out[i] = z.Name
	}
	return out
}
