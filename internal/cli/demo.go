package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/privlink/privlink/internal/config"
	"github.com/privlink/privlink/internal/demo"
)

func newDemoCmd(e env) *cobra.Command {
	var (
		cfg                 demo.Config
		logLevel, logFormat string
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Play the PrivateLink scenario end to end, with real traffic",
		Long: "Play the PrivateLink scenario end to end: a provider account serves a web page behind an\n" +
			"internal Network Load Balancer and publishes it as an endpoint service; a consumer account\n" +
			"whose VPC has the same CIDR connects through an interface endpoint once the provider accepts,\n" +
			"and curl from the consumer's instance reaches the page by the endpoint's DNS name and by the\n" +
			"service's verified private DNS name, but not the provider's address. Each step is printed as\n" +
			"the equivalent AWS CLI command with the key part of its result.\n\n" +
			"It uses a running daemon if one answers on the admin socket in --data-dir (default\n" +
			config.DefaultDataDir + "), or the one at --endpoint-url; otherwise it starts its own in-process,\n" +
			"in a fresh temporary data directory, on --listen. At the end it deletes everything it created\n" +
			"(the two accounts stay) and stops its own daemon; with --keep it leaves everything in place,\n" +
			"prints how to explore it, and keeps its daemon running until Ctrl-C. It needs root.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lc := config.Config{LogLevel: logLevel, LogFormat: logFormat}
			if _, err := config.ParseLogLevel(logLevel); err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			if logFormat != "text" && logFormat != "json" {
				return fmt.Errorf("--log-format %q: want text or json", logFormat)
			}
			cfg.Stdout = e.stdout
			cfg.Logger = lc.NewLogger(e.stderr)
			return e.runDemo(cmd.Context(), cfg)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&cfg.DataDir, "data-dir", "", "data directory of the daemon to use, or of the one the demo starts "+
		"(default: "+config.DefaultDataDir+" to find a running daemon, else a fresh temporary directory)")
	fs.StringVar(&cfg.Endpoint, "endpoint-url", "", "API URL of a running daemon to use (default: the running daemon's address, if any)")
	fs.StringVar(&cfg.Listen, "listen", "", "API address of the demo's own daemon (default: "+config.DefaultListen+" if free, else a free port)")
	fs.BoolVar(&cfg.Keep, "keep", false, "keep everything at the end, and the demo's own daemon running until Ctrl-C")
	fs.StringVar(&logLevel, "log-level", "warn", "log level of the demo and its daemon: debug, info, warn or error")
	fs.StringVar(&logFormat, "log-format", "text", "text or json")
	return cmd
}
