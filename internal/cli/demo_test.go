package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/privlink/privlink/internal/demo"
)

func TestDemoFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    demo.Config
		wantErr string
	}{
		{name: "defaults", want: demo.Config{}},
		{
			name: "flags",
			args: []string{"--data-dir", "/srv/plk", "--keep", "--listen", "127.0.0.1:5000", "--endpoint-url", "http://127.0.0.1:4566", "--log-level", "debug", "--log-format", "json"},
			want: demo.Config{DataDir: "/srv/plk", Keep: true, Listen: "127.0.0.1:5000", Endpoint: "http://127.0.0.1:4566"},
		},
		{name: "bad level", args: []string{"--log-level", "loud"}, wantErr: `--log-level: log level "loud"`},
		{name: "bad format", args: []string{"--log-format", "xml"}, wantErr: `--log-format "xml": want text or json`},
		{name: "argument", args: []string{"now"}, wantErr: `unknown command "now"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *demo.Config
			e := env{runDemo: func(ctx context.Context, cfg demo.Config) error {
				got = &cfg
				if cfg.Stdout == nil || cfg.Logger == nil {
					t.Error("the demo got no Stdout or no Logger")
				}
				return nil
			}}
			_, err := run(t, e, append([]string{"demo"}, tt.args...)...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("demo error = %v, want one containing %q", err, tt.wantErr)
				}
				if got != nil {
					t.Error("the demo ran despite the error")
				}
				return
			}
			if err != nil {
				t.Fatalf("demo error = %v", err)
			}
			if got == nil {
				t.Fatal("the demo did not run")
			}
			if diff := cmp.Diff(tt.want, *got, cmpopts.IgnoreFields(demo.Config{}, "Stdout", "Logger")); diff != "" {
				t.Errorf("demo.Config mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
