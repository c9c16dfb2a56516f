package cli

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/privlink/privlink/internal/config"
	"github.com/privlink/privlink/internal/daemon"
)

// env is what the commands need from the outside world; tests replace it.
type env struct {
	stdout, stderr io.Writer
	// runDaemon runs the daemon; daemon.Run outside tests.
	runDaemon func(ctx context.Context, cfg config.Config, logger *slog.Logger) error
}

// New returns the root command. It writes results to stdout, and logs and
// errors to stderr; Execute's error has not been printed yet.
func New(stdout, stderr io.Writer) *cobra.Command {
	return newRoot(env{stdout: stdout, stderr: stderr, runDaemon: func(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
		return daemon.Run(ctx, cfg, logger)
	}})
}

func newRoot(e env) *cobra.Command {
	root := &cobra.Command{
		Use:   "privlink",
		Short: "A self-hosted AWS PrivateLink with a real data plane",
		Long: "privlink serves the EC2 and ELBv2 APIs, keeps their state in a local store and builds\n" +
			"VPCs, subnets and endpoints out of Linux network namespaces.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.CompletionOptions.DisableDefaultCmd = true
	root.AddCommand(
		newServerCmd(e),
		newAccountsCmd(e),
		newStatusCmd(e),
		newDemoCmd(),
		newExecCmd(),
	)
	return root
}

func newDemoCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Run a PrivateLink demo end to end (not built yet)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("demo: not built yet (needs instances and endpoints, issues 3–5)")
		},
	}
}

func newExecCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "exec INSTANCE-ID -- COMMAND [ARG...]",
		Short:              "Run a command inside an instance's namespace (not built yet)",
		DisableFlagParsing: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("exec: not built yet (needs instances, issue 3)")
		},
	}
}
