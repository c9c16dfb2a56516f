package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/privlink/privlink/internal/config"
)

// serverFlags are the flags of `privlink server`. Each one that is set
// overrides the config file.
type serverFlags struct {
	configPath string
	cfg        config.Config // flag values; defaults from config.Default
}

func newServerCmd(e env) *cobra.Command {
	f := &serverFlags{cfg: config.Default()}
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the privlink daemon in the foreground",
		Long: "Run the privlink daemon in the foreground: the AWS API (plus /healthz and /metrics) on\n" +
			"--listen, the admin socket in --data-dir, and the controller that builds the network\n" +
			"namespaces. SIGINT or SIGTERM stops it; namespaces stay and the next start adopts them.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.resolve(cmd.Flags())
			if err != nil {
				return err
			}
			return e.runDaemon(cmd.Context(), cfg, cfg.NewLogger(e.stderr))
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.configPath, "config", "", "JSON config file; flags override it")
	fs.StringVar(&f.cfg.Listen, "listen", f.cfg.Listen, "address of the AWS API, /healthz and /metrics")
	fs.StringVar(&f.cfg.DataDir, "data-dir", f.cfg.DataDir, "directory of the store and the admin socket (created 0700)")
	fs.StringVar(&f.cfg.Region, "region", f.cfg.Region, "the region this daemon serves")
	fs.StringSliceVar(&f.cfg.Zones, "zones", f.cfg.Zones, "availability zones: letters (a,b,c) or full names (us-east-1a)")
	fs.StringVar(&f.cfg.LogLevel, "log-level", f.cfg.LogLevel, "debug, info, warn or error")
	fs.StringVar(&f.cfg.LogFormat, "log-format", f.cfg.LogFormat, "text or json")
	fs.StringVar(&f.cfg.VerificationResolver, "verification-resolver", f.cfg.VerificationResolver,
		"host:port of the DNS server that StartVpcEndpointServicePrivateDnsVerification queries for the TXT record; "+
			"default: the first nameserver of /etc/resolv.conf")
	return cmd
}

// resolve returns the config file (or the defaults) with every flag that was
// set on top, validated.
func (f *serverFlags) resolve(fs *pflag.FlagSet) (config.Config, error) {
	cfg := config.Default()
	if f.configPath != "" {
		var err error
		if cfg, err = config.Load(f.configPath); err != nil {
			return config.Config{}, err
		}
	}
	set := map[string]func(){
		"listen":                func() { cfg.Listen = f.cfg.Listen },
		"data-dir":              func() { cfg.DataDir = f.cfg.DataDir },
		"region":                func() { cfg.Region = f.cfg.Region },
		"zones":                 func() { cfg.Zones = f.cfg.Zones },
		"log-level":             func() { cfg.LogLevel = f.cfg.LogLevel },
		"log-format":            func() { cfg.LogFormat = f.cfg.LogFormat },
		"verification-resolver": func() { cfg.VerificationResolver = f.cfg.VerificationResolver },
	}
	fs.Visit(func(fl *pflag.Flag) {
		if apply, ok := set[fl.Name]; ok {
			apply()
		}
	})
	if err := cfg.Validate(); err != nil {
		return config.Config{}, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}
