package cli

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/privlink/privlink/internal/config"
	"github.com/privlink/privlink/internal/daemon"
	"github.com/privlink/privlink/internal/demo"
	"github.com/privlink/privlink/internal/model"
)

// env is what the commands need from the outside world; tests replace it.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// runDaemon runs the daemon; daemon.Run outside tests.
	runDaemon func(ctx context.Context, cfg config.Config, logger *slog.Logger) error
	// exit ends the process with a status other than 0 or 1 (exec passes
	// on its command's); os.Exit outside tests.
	exit func(code int)
	// namespace names an instance's network namespace;
	// model.NamespaceName outside tests.
	namespace func(instanceID string) string
	// runDemo plays the demo; demo.Run outside tests.
	runDemo func(ctx context.Context, cfg demo.Config) error
}

// New returns the root command. It reads stdin only for exec, writes
// results to stdout, and logs and errors to stderr; Execute's error has not
// been printed yet. exec and the hidden nsexec helper end the process
// themselves when their command fails, with its exit status.
func New(stdout, stderr io.Writer) *cobra.Command {
	return newRoot(env{
		stdin:  os.Stdin,
		stdout: stdout,
		stderr: stderr,
		runDaemon: func(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
			return daemon.Run(ctx, cfg, logger)
		},
		exit:      os.Exit,
		namespace: model.NamespaceName,
		runDemo:   demo.Run,
	})
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
		newConsoleOutputCmd(e),
		newDemoCmd(e),
		newExecCmd(e),
		newNetnsExecCmd(e),
	)
	return root
}
