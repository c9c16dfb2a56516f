package config_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/config"
	"github.com/privlink/privlink/internal/model"
)

func TestDefaultIsValid(t *testing.T) {
	cfg := config.Default()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	zones, err := cfg.ZoneList()
	if err != nil {
		t.Fatal(err)
	}
	want := []model.Zone{
		{Name: "us-east-1a", ID: "use1-az1"},
		{Name: "us-east-1b", ID: "use1-az2"},
		{Name: "us-east-1c", ID: "use1-az3"},
	}
	if diff := cmp.Diff(want, zones); diff != "" {
		t.Errorf("ZoneList() mismatch (-want +got):\n%s", diff)
	}
	if got, want := cfg.StorePath(), "/var/lib/privlink/privlink.db"; got != want {
		t.Errorf("StorePath() = %q, want %q", got, want)
	}
	if got, want := cfg.AdminSocketPath(), "/var/lib/privlink/admin.sock"; got != want {
		t.Errorf("AdminSocketPath() = %q, want %q", got, want)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*config.Config)
		wantErr string // substring; "" means valid
	}{
		{"default", func(*config.Config) {}, ""},
		{"port zero", func(c *config.Config) { c.Listen = "127.0.0.1:0" }, ""},
		{"all addresses", func(c *config.Config) { c.Listen = ":4566" }, ""},
		{"localhost", func(c *config.Config) { c.Listen = "localhost:4566" }, ""},
		{"ipv6", func(c *config.Config) { c.Listen = "[::1]:4566" }, ""},
		{"full zone names", func(c *config.Config) { c.Zones = []string{"us-east-1a", "us-east-1d"} }, ""},
		{"other region", func(c *config.Config) { c.Region = "eu-west-2" }, ""},
		{"json logs", func(c *config.Config) { c.LogFormat = "json"; c.LogLevel = "DEBUG" }, ""},
		{"no port", func(c *config.Config) { c.Listen = "127.0.0.1" }, `listen "127.0.0.1"`},
		{"bad port", func(c *config.Config) { c.Listen = "127.0.0.1:http" }, `port "http"`},
		{"port too big", func(c *config.Config) { c.Listen = "127.0.0.1:70000" }, `port "70000"`},
		{"host name", func(c *config.Config) { c.Listen = "example.com:1" }, `host "example.com"`},
		{"empty data dir", func(c *config.Config) { c.DataDir = "" }, "data dir: empty"},
		{"relative data dir", func(c *config.Config) { c.DataDir = "data" }, "absolute path"},
		{"bad region", func(c *config.Config) { c.Region = "mars" }, `region "mars"`},
		{"zone of other region", func(c *config.Config) { c.Zones = []string{"eu-west-1a"} }, "zone"},
		{"no zones", func(c *config.Config) { c.Zones = nil }, "no zones"},
		{"duplicate zone", func(c *config.Config) { c.Zones = []string{"a", "us-east-1a"} }, "listed twice"},
		{"bad level", func(c *config.Config) { c.LogLevel = "verbose" }, `log level "verbose"`},
		{"bad format", func(c *config.Config) { c.LogFormat = "xml" }, `log format "xml"`},
		{"resolver ip", func(c *config.Config) { c.VerificationResolver = "10.0.0.2:53" }, ""},
		{"resolver ipv6", func(c *config.Config) { c.VerificationResolver = "[2001:db8::53]:5353" }, ""},
		{"resolver host name", func(c *config.Config) { c.VerificationResolver = "dns.internal:53" }, ""},
		{"resolver no port", func(c *config.Config) { c.VerificationResolver = "10.0.0.2" }, `verification resolver "10.0.0.2"`},
		{"resolver port zero", func(c *config.Config) { c.VerificationResolver = "10.0.0.2:0" }, `port "0"`},
		{"resolver bad port", func(c *config.Config) { c.VerificationResolver = "10.0.0.2:dns" }, `port "dns"`},
		{"resolver no host", func(c *config.Config) { c.VerificationResolver = ":53" }, `host ""`},
		{"resolver bad host", func(c *config.Config) { c.VerificationResolver = "bad_host!:53" }, `host "bad_host!"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			tt.edit(&cfg)
			err := cfg.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && err == nil:
				t.Errorf("Validate() = nil, want an error containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	cfg := config.Config{Listen: "x", Region: "us-east-1", LogLevel: "x", LogFormat: "x"}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate() = nil")
	}
	for _, want := range []string{"listen", "data dir", "no zones", "log level", "log format"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %q", err, want)
		}
	}
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		want    func() config.Config
		wantErr string
	}{
		{
			name: "empty object keeps defaults",
			file: `{}`,
			want: config.Default,
		},
		{
			name: "overrides",
			file: `{"listen": "0.0.0.0:5000", "dataDir": "/srv/plk", "region": "eu-west-1", "zones": ["a"], "logLevel": "debug", "logFormat": "json", "verificationResolver": "10.0.0.2:53"}`,
			want: func() config.Config {
				return config.Config{Listen: "0.0.0.0:5000", DataDir: "/srv/plk", Region: "eu-west-1", Zones: []string{"a"}, LogLevel: "debug", LogFormat: "json",
					VerificationResolver: "10.0.0.2:53"}
			},
		},
		{
			name: "partial",
			file: `{"region": "us-west-2"}`,
			want: func() config.Config {
				c := config.Default()
				c.Region = "us-west-2"
				return c
			},
		},
		{name: "unknown key", file: `{"lisen": "x"}`, wantErr: `unknown field "lisen"`},
		{name: "wrong type", file: `{"zones": "a,b"}`, wantErr: "cannot unmarshal"},
		{name: "trailing data", file: `{} {}`, wantErr: "trailing data"},
		{name: "not json", file: `listen = 1`, wantErr: "invalid character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "privlink.json")
			if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := config.Load(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			if diff := cmp.Diff(tt.want(), got); diff != "" {
				t.Errorf("Load() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := config.Load(filepath.Join(t.TempDir(), "nope.json"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want an error matching fs.ErrNotExist", err)
	}
}
