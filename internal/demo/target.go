package demo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/privlink/privlink/internal/admin"
	"github.com/privlink/privlink/internal/config"
	"github.com/privlink/privlink/internal/daemon"
	"github.com/privlink/privlink/internal/txtserver"
)

// DefaultEndpoint is where a daemon started with the defaults serves the API.
const DefaultEndpoint = "http://" + config.DefaultListen

// healthTimeout bounds the wait for a daemon's /healthz to answer 200.
const healthTimeout = 60 * time.Second

// target is the daemon the demo drives.
type target struct {
	endpoint string // the API's URL, without a trailing slash
	dataDir  string
	region   string
	own      *ownDaemon // nil when the daemon was running already
}

// adminClient returns a client for the daemon's admin socket.
func (t *target) adminClient() *admin.Client {
	return admin.NewClient(config.AdminSocket(t.dataDir))
}

// ownDaemon is a daemon the demo runs in-process.
type ownDaemon struct {
	cancel  context.CancelFunc
	errc    chan error        // daemon.Run's result
	tempDir bool              // the demo created the data directory
	txt     *txtserver.Server // the daemon's verification resolver
}

// stop stops the daemon and its TXT server and returns daemon.Run's error.
func (d *ownDaemon) stop(ctx context.Context) error {
	d.cancel()
	err := <-d.errc
	if d.txt != nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		err = errors.Join(err, d.txt.Close(ctx))
	}
	if err != nil {
		return fmt.Errorf("the demo's daemon: %w", err)
	}
	return nil
}

// findRunning returns the daemon to use if one is running, or nil. With
// --endpoint-url, that daemon must answer, and its admin socket (in
// --data-dir or the default data directory) must too: the demo creates its
// accounts there. Without it, a daemon whose admin socket answers in
// --data-dir (or the default data directory) is used, at the address it
// reports.
func findRunning(ctx context.Context, cfg Config) (*target, error) {
	dir := cmp.Or(cfg.DataDir, config.DefaultDataDir)
	if cfg.Endpoint != "" {
		ep := strings.TrimRight(cfg.Endpoint, "/")
		if err := checkHealth(ctx, ep); err != nil {
			return nil, fmt.Errorf("no privlink daemon answers at --endpoint-url %s: %w", ep, err)
		}
		st, err := statusOf(ctx, dir)
		if err != nil {
			return nil, fmt.Errorf("the demo creates its accounts through the admin socket of the daemon at %s (pass its --data-dir): %w", ep, err)
		}
		return &target{endpoint: ep, dataDir: dir, region: st.Region}, nil
	}
	st, err := statusOf(ctx, dir)
	if err != nil {
		return nil, nil // none: the demo starts its own
	}
	ep := "http://" + dialable(st.Listen)
	if err := waitHealthy(ctx, ep, nil); err != nil {
		return nil, fmt.Errorf("the privlink daemon of %s answers on its admin socket but not at %s: %w", dir, ep, err)
	}
	return &target{endpoint: ep, dataDir: dir, region: st.Region}, nil
}

// statusOf asks the daemon whose data directory is dir for its status.
func statusOf(ctx context.Context, dir string) (admin.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return admin.NewClient(config.AdminSocket(dir)).Status(ctx)
}

// dialable turns a listen address into one to connect to: a wildcard host
// becomes the loopback address.
func dialable(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}

// startOwn runs a daemon in-process: in cfg.DataDir or a fresh temporary
// directory, on cfg.Listen or pickListen's address, with a TXT server as its
// verification resolver. It returns once /healthz answers 200.
func startOwn(ctx context.Context, cfg Config, logger *slog.Logger) (*target, error) {
	d := &ownDaemon{errc: make(chan error, 1)}
	dir := cfg.DataDir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "privlink-demo-"); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
		d.tempDir = true
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if d.txt, err = txtserver.Start(); err != nil {
		if d.tempDir {
			err = errors.Join(err, os.RemoveAll(dir))
		}
		return nil, err
	}
	dcfg := config.Default()
	dcfg.DataDir = dir
	dcfg.Listen = cmp.Or(cfg.Listen, pickListen())
	dcfg.VerificationResolver = d.txt.Addr()

	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.cancel = cancel
	ready := make(chan daemon.Ready, 1)
	go func() {
		d.errc <- daemon.Run(dctx, dcfg, logger, daemon.WithReady(func(r daemon.Ready) { ready <- r }))
	}()
	fail := func(err error) (*target, error) {
		err = errors.Join(err, d.stop(ctx))
		if d.tempDir {
			err = errors.Join(err, os.RemoveAll(dir))
		}
		return nil, err
	}
	var r daemon.Ready
	select {
	case r = <-ready:
	case err := <-d.errc:
		d.errc <- err // for stop
		return fail(fmt.Errorf("start the demo's daemon: %w", err))
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	t := &target{endpoint: "http://" + dialable(r.APIAddr), dataDir: dir, region: dcfg.Region, own: d}
	if err := waitHealthy(ctx, t.endpoint, d.errc); err != nil {
		return fail(fmt.Errorf("start the demo's daemon: %w", err))
	}
	return t, nil
}

// pickListen returns the default API address if it is free, else a free
// port of 127.0.0.1 (chosen by the daemon).
func pickListen() string {
	ln, err := net.Listen("tcp", config.DefaultListen)
	if err != nil {
		return "127.0.0.1:0"
	}
	ln.Close()
	return config.DefaultListen
}

// checkHealth asks endpoint's /healthz once.
func checkHealth(ctx context.Context, endpoint string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/healthz: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// waitHealthy polls endpoint's /healthz until it answers 200 (the daemon
// has completed a reconcile pass), healthTimeout passes, or errc (the
// daemon's result, if it runs in-process) reports that it ended.
func waitHealthy(ctx context.Context, endpoint string, errc chan error) error {
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := checkHealth(ctx, endpoint)
		if err == nil {
			return nil
		}
		select {
		case derr := <-errc:
			errc <- derr // for stop
			return fmt.Errorf("the daemon ended: %v", derr)
		case <-ctx.Done():
			return fmt.Errorf("%s/healthz: %w", endpoint, err)
		case <-tick.C:
		}
	}
}
