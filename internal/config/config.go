// Package config holds the daemon's one configuration struct: its defaults,
// loading from a JSON file and validation. Flags are applied by the CLI on
// top of what Load returns.
//
// It imports only model (for zone names) and must not import anything that
// does I/O beyond reading the config file.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/privlink/privlink/internal/model"
)

// Defaults.
const (
	DefaultListen  = "127.0.0.1:4566"
	DefaultDataDir = "/var/lib/privlink"
	DefaultRegion  = "us-east-1"
)

// File names inside the data directory.
const (
	StoreFile       = "privlink.db"
	AdminSocketFile = "admin.sock"
)

// Config configures the daemon. The JSON names are the keys of the config
// file.
type Config struct {
	// Listen is the TCP address of the AWS API, /healthz and /metrics.
	Listen string `json:"listen"`
	// DataDir holds the store file and the admin socket.
	DataDir string `json:"dataDir"`
	// Region is the one region this daemon serves.
	Region string `json:"region"`
	// Zones are the region's availability zones, as suffix letters ("a")
	// or full names ("us-east-1a").
	Zones []string `json:"zones"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `json:"logLevel"`
	// LogFormat is text or json.
	LogFormat string `json:"logFormat"`
	// VerificationResolver is the host:port of the DNS server that
	// StartVpcEndpointServicePrivateDnsVerification asks for the TXT record
	// that proves a private DNS name; "" means the first nameserver of
	// /etc/resolv.conf.
	VerificationResolver string `json:"verificationResolver,omitempty"`
}

// Default returns the configuration used when neither a file nor flags say
// otherwise.
func Default() Config {
	return Config{
		Listen:    DefaultListen,
		DataDir:   DefaultDataDir,
		Region:    DefaultRegion,
		Zones:     []string{"a", "b", "c"},
		LogLevel:  "info",
		LogFormat: "text",
	}
}

// Load reads the JSON file at path over Default: keys the file omits keep
// their default. Unknown keys are an error, so that a typo is not silently
// ignored. Load does not validate; call Validate after applying flags.
func Load(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("load config: %w", err)
	}
	cfg := Default()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return Config{}, fmt.Errorf("load config %s: %w", path, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Config{}, fmt.Errorf("load config %s: trailing data after the JSON object", path)
	}
	return cfg, nil
}

// Validate reports every problem with c, or nil.
func (c Config) Validate() error {
	var errs []error
	if err := checkListen(c.Listen); err != nil {
		errs = append(errs, err)
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data dir: empty"))
	} else if !filepath.IsAbs(c.DataDir) {
		errs = append(errs, fmt.Errorf("data dir %q: must be an absolute path", c.DataDir))
	}
	if _, err := c.ZoneList(); err != nil {
		errs = append(errs, err)
	}
	if _, err := ParseLogLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("log format %q: want text or json", c.LogFormat))
	}
	if c.VerificationResolver != "" {
		if err := checkResolver(c.VerificationResolver); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ZoneList resolves Zones in Region.
func (c Config) ZoneList() ([]model.Zone, error) {
	return model.Zones(c.Region, c.Zones)
}

// StorePath is the bbolt file inside DataDir.
func (c Config) StorePath() string { return filepath.Join(c.DataDir, StoreFile) }

// AdminSocketPath is the admin socket inside DataDir.
func (c Config) AdminSocketPath() string { return AdminSocket(c.DataDir) }

// AdminSocket is the admin socket inside dataDir. Clients that know only the
// data directory use it to find the daemon.
func AdminSocket(dataDir string) string { return filepath.Join(dataDir, AdminSocketFile) }

// ParseLogLevel parses debug, info, warn or error (case-insensitive).
func ParseLogLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log level %q: want debug, info, warn or error", s)
}

// NewLogger returns a logger that writes to w in c's format at c's level.
// c must be valid.
func (c Config) NewLogger(w io.Writer) *slog.Logger {
	level, err := ParseLogLevel(c.LogLevel)
	if err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// checkListen accepts "<ip>:<port>", "localhost:<port>" and ":<port>"
// (every address). Port 0 picks a free port.
func checkListen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen %q: %w", addr, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("listen %q: port %q is not a number from 0 to 65535", addr, port)
	}
	if host != "" && host != "localhost" && net.ParseIP(host) == nil {
		return fmt.Errorf("listen %q: host %q is not an IP address", addr, host)
	}
	return nil
}

// checkResolver accepts "<host>:<port>" with an IP address or a host name
// and a port from 1 to 65535.
func checkResolver(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("verification resolver %q: %w", addr, err)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return fmt.Errorf("verification resolver %q: port %q is not a number from 1 to 65535", addr, port)
	}
	if net.ParseIP(host) == nil && !isHostName(host) {
		return fmt.Errorf("verification resolver %q: host %q is neither an IP address nor a host name", addr, host)
	}
	return nil
}

// isHostName reports whether s is a DNS host name: dot-separated labels of
// letters, digits and inner hyphens, each 1 to 63 characters.
func isHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
