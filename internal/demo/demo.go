package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"time"

	"github.com/privlink/privlink/internal/config"
)

// Config says how to run the demo.
type Config struct {
	// Endpoint is the API URL of a running daemon to use. "" looks for a
	// running daemon through the admin socket in DataDir (default
	// /var/lib/privlink) and starts one in-process if none answers.
	Endpoint string
	// DataDir is the data directory of the daemon: of the running one (its
	// admin socket), or of the one the demo starts. "" means the default
	// data directory when looking for a running daemon, and a fresh
	// temporary directory, removed at the end, for the demo's own.
	DataDir string
	// Listen is the API address of the demo's own daemon. "" means
	// 127.0.0.1:4566 if that port is free, else a free port.
	Listen string
	// Keep leaves everything in place at the end, prints how to explore
	// it, and keeps the demo's own daemon running until ctx is done.
	Keep bool
	// Stdout receives the demo's story. Required.
	Stdout io.Writer
	// Logger receives the logs of the demo and of its own daemon; nil
	// discards them.
	Logger *slog.Logger
	// Self is the privlink binary, re-executed to run commands inside the
	// instances (`privlink exec`); "" means os.Executable().
	Self string
}

// cleanupTimeout bounds the deletion of everything the demo created.
const cleanupTimeout = 3 * time.Minute

// Run plays the scenario. It needs root: it enters network namespaces,
// and the daemon it may start creates them. Unless cfg.Keep is set, it
// deletes everything it created (the accounts stay) also when a step
// fails or ctx is cancelled, and stops its own daemon.
func Run(ctx context.Context, cfg Config) (err error) {
	// removeDataDir is set once the demo's own temporary data directory
	// holds nothing that namespaces still depend on.
	removeDataDir := false
	if os.Geteuid() != 0 {
		return errors.New("privlink demo needs root: it runs commands inside network namespaces " +
			"and its daemon creates them (try: sudo privlink demo)")
	}
	if cfg.Stdout == nil {
		return errors.New("demo: no Stdout")
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	tools, err := findTools(cfg.Self)
	if err != nil {
		return err
	}

	t, err := findRunning(ctx, cfg)
	if err != nil {
		return err
	}
	out := &printer{w: cfg.Stdout}
	if t == nil {
		if t, err = startOwn(ctx, cfg, logger); err != nil {
			return err
		}
		fmt.Fprintf(out.w, "Started a privlink daemon for the demo: API %s, data dir %s.\n", t.endpoint, t.dataDir)
		defer func() {
			err = errors.Join(err, t.own.stop(ctx))
			if removeDataDir {
				err = errors.Join(err, os.RemoveAll(t.dataDir))
			}
		}()
	} else {
		fmt.Fprintf(out.w, "Using the running privlink daemon: API %s, data dir %s.\n", t.endpoint, t.dataDir)
	}
	out.endpoint = t.endpoint

	webDir, err := os.MkdirTemp("", "privlink-demo-web-")
	if err != nil {
		return fmt.Errorf("web server directory: %w", err)
	}
	s := &scenario{out: out, log: logger, t: t, tools: tools, webDir: webDir}
	if t.own != nil {
		s.txt = t.own.txt
	}
	runErr := s.run(ctx)
	if runErr != nil && ctx.Err() != nil {
		runErr = fmt.Errorf("demo interrupted: %w", runErr)
	}
	if cfg.Keep {
		s.explore(runErr)
		if t.own != nil {
			<-ctx.Done()
			fmt.Fprintln(out.w, "\nStopping the demo's daemon; the namespaces stay.")
		}
		return runErr
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	cleanErr := s.cleanup(cctx)
	if cleanErr == nil {
		cleanErr = os.RemoveAll(webDir)
	}
	if runErr == nil && cleanErr == nil {
		fmt.Fprintf(out.w, "\nDone. Everything the demo created is gone; the accounts %s (provider) and %s (consumer) stay.\n",
			s.prov.id, s.cons.id)
		if t.own != nil {
			fmt.Fprintln(out.w, "The demo's daemon stops now. Run `privlink demo --keep` to explore the result instead.")
		}
	}
	switch {
	case cleanErr == nil:
		removeDataDir = t.own != nil && t.own.tempDir
	case t.own != nil && t.own.tempDir:
		cleanErr = fmt.Errorf("clean up: %w (the demo's data dir %s stays: `privlink server --data-dir %s` adopts what is left)",
			cleanErr, t.dataDir, t.dataDir)
	default:
		cleanErr = fmt.Errorf("clean up: %w", cleanErr)
	}
	return errors.Join(runErr, cleanErr)
}

// tools are the programs the demo runs.
type tools struct {
	self   string // privlink
	curl   string
	python string // python3, for the provider's web server
}

func findTools(self string) (tools, error) {
	var ts tools
	var err error
	if ts.self = self; ts.self == "" {
		if ts.self, err = os.Executable(); err != nil {
			return tools{}, fmt.Errorf("find the privlink binary: %w", err)
		}
	}
	if ts.curl, err = exec.LookPath("curl"); err != nil {
		return tools{}, errors.New("the demo needs curl on the host (apt-get install curl)")
	}
	if ts.python, err = exec.LookPath("python3"); err != nil {
		return tools{}, errors.New("the demo needs python3 on the host for the provider's web server (apt-get install python3)")
	}
	return ts, nil
}

// dataDirArgs are the --data-dir arguments of a printed privlink command.
func (t *target) dataDirArgs() []string {
	if t.dataDir == config.DefaultDataDir {
		return nil
	}
	return []string{"--data-dir", t.dataDir}
}
