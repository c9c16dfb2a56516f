package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/privlink/privlink/internal/admin"
	"github.com/privlink/privlink/internal/config"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/nsexec"
)

func newExecCmd(e env) *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "exec INSTANCE-ID [--] COMMAND [ARG...]",
		Short: "Run a command inside an instance's network namespace",
		Long: "Run a command inside the network namespace of a running instance, as\n" +
			"`ip netns exec plk-INSTANCE-ID` does: with the instance's eth0 and routes, and its\n" +
			"resolv.conf (the VPC resolver) as /etc/resolv.conf; the rest of the host's\n" +
			"filesystem is shared. Standard input and output pass through. privlink exits with\n" +
			"the command's status, 128+N if signal N killed it. SIGTERM and SIGHUP are passed\n" +
			"on to the command; SIGINT and SIGQUIT from a terminal reach it directly.\n" +
			"It needs root, and no running daemon. With --data-dir it first asks the daemon\n" +
			"whose admin socket is there whether the instance's namespace is one of its own.",
		Example: "  privlink exec i-0123456789abcdef0 -- curl -s http://10.0.1.10/\n" +
			"  privlink exec i-0123456789abcdef0 -- dig ip-10-0-1-10.ec2.internal",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, argv := args[0], args[1:]
			if len(argv) > 0 && argv[0] == "--" {
				argv = argv[1:]
			}
			if !model.ValidID(model.PrefixInstance, id) {
				return fmt.Errorf("exec: %q is not an instance id (i- and 8 or 17 hex digits)", id)
			}
			if len(argv) == 0 {
				return fmt.Errorf("exec: no command to run: privlink exec %s -- COMMAND [ARG...]", id)
			}
			if cmd.Flags().Changed("data-dir") {
				if err := checkManaged(cmd.Context(), dataDir, e.namespace(id), id); err != nil {
					return err
				}
			}
			code, err := runIn(cmd.Context(), e, id, argv)
			if err != nil {
				return err
			}
			if code != 0 {
				e.exit(code)
			}
			return nil
		},
	}
	// Flags only before the instance id: everything after it is the
	// command's.
	cmd.Flags().SetInterspersed(false)
	// Scripts pass --data-dir to every privlink subcommand; exec needs no
	// daemon, so without the flag it asks none.
	cmd.Flags().StringVar(&dataDir, "data-dir", config.DefaultDataDir, "data directory of a daemon to ask whether the instance is its own (default: ask none)")
	return cmd
}

// checkManaged asks the daemon with its admin socket in dataDir whether
// namespace ns, of instance id, is one it manages: a namespace of the same
// name from another daemon on the host, or one left behind, is not it.
func checkManaged(ctx context.Context, dataDir, ns, id string) error {
	st, err := admin.NewClient(config.AdminSocket(dataDir)).Status(ctx)
	if err != nil {
		return err
	}
	if !slices.Contains(st.Namespaces, ns) {
		return fmt.Errorf("instance %s is not running on the daemon in %s", id, dataDir)
	}
	return nil
}

// runIn runs argv in the namespace of instance id and returns its exit
// status.
func runIn(ctx context.Context, e env, id string, argv []string) (int, error) {
	ns := e.namespace(id)
	if err := nsexec.Check(ns); errors.Is(err, nsexec.ErrNoNamespace) {
		return 0, fmt.Errorf("instance %s has no namespace: is it running?", id)
	} else if err != nil {
		return 0, fmt.Errorf("exec: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("exec: find the privlink binary: %w", err)
	}
	// The command ends when it wants; a signal to privlink does not kill
	// it (see forwardSignals).
	c := nsexec.Command(context.WithoutCancel(ctx), self, ns, argv)
	c.Stdin, c.Stdout, c.Stderr = e.stdin, e.stdout, e.stderr
	// From now on no signal ends privlink before the command ends.
	sigc := make(chan os.Signal, 4)
	signal.Notify(sigc, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigc)
	if err := c.Start(); err != nil {
		return 0, fmt.Errorf("exec: %w", err)
	}
	stop := forwardSignals(sigc, c.Process)
	err = c.Wait()
	stop()
	if _, ok := errors.AsType[*exec.ExitError](err); err != nil && !ok {
		return 0, fmt.Errorf("exec: %w", err)
	}
	ws, ok := c.ProcessState.Sys().(syscall.WaitStatus)
	if ok && ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return c.ProcessState.ExitCode(), nil
}

// forwardSignals passes SIGTERM and SIGHUP from sigc on to p until stop is
// called. SIGINT and SIGQUIT are not passed on: from a terminal they reach p
// already, as it is in privlink's process group.
func forwardSignals(sigc <-chan os.Signal, p *os.Process) (stop func()) {
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		for {
			select {
			case <-done:
				return
			case sig := <-sigc:
				if sig == syscall.SIGTERM || sig == syscall.SIGHUP {
					p.Signal(sig)
				}
			}
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}

// newNetnsExecCmd is the helper that nsexec re-executes privlink with.
func newNetnsExecCmd(e env) *cobra.Command {
	return &cobra.Command{
		Use:                nsexec.HelperCommand + " NAMESPACE -- COMMAND [ARG...]",
		Short:              "Replace privlink with a command inside a named network namespace (internal)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(_ *cobra.Command, args []string) error {
			// Main returns only if the command could not start.
			e.exit(nsexec.Main(args, e.stderr))
			return nil
		},
	}
}
