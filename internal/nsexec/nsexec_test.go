package nsexec

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		args     []string
		wantNS   string
		wantArgv []string
		wantErr  bool
	}{
		{args: []string{"plk-i-1", "--", "ip", "addr"}, wantNS: "plk-i-1", wantArgv: []string{"ip", "addr"}},
		{args: []string{"plk-i-1", "ip", "--", "x"}, wantNS: "plk-i-1", wantArgv: []string{"ip", "--", "x"}},
		{args: []string{"plk-i-1", "--", "--"}, wantNS: "plk-i-1", wantArgv: []string{"--"}},
		{args: nil, wantErr: true},
		{args: []string{"plk-i-1"}, wantErr: true},
		{args: []string{"plk-i-1", "--"}, wantErr: true},
	}
	for _, tt := range tests {
		ns, argv, err := parseArgs(tt.args)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseArgs(%q) error = %v, want error: %v", tt.args, err, tt.wantErr)
			continue
		}
		if ns != tt.wantNS {
			t.Errorf("parseArgs(%q) ns = %q, want %q", tt.args, ns, tt.wantNS)
		}
		if diff := cmp.Diff(tt.wantArgv, argv); diff != "" {
			t.Errorf("parseArgs(%q) argv mismatch (-want +got):\n%s", tt.args, diff)
		}
	}
}

func TestCheckName(t *testing.T) {
	for _, ns := range []string{"plk-i-0123456789abcdef0", "plktest-ab12cd-a", "a.b"} {
		if err := checkName(ns); err != nil {
			t.Errorf("checkName(%q) = %v, want nil", ns, err)
		}
	}
	for _, ns := range []string{"", ".", "..", "a/b", "../etc", "a..b", "a\x00b"} {
		if err := checkName(ns); err == nil {
			t.Errorf("checkName(%q) = nil, want an error", ns)
		}
	}
}

func TestCommand(t *testing.T) {
	cmd := Command(context.Background(), "/usr/bin/privlink", "plk-i-1", []string{"sh", "-c", "true"})
	want := []string{"/usr/bin/privlink", HelperCommand, "plk-i-1", "--", "sh", "-c", "true"}
	if diff := cmp.Diff(want, cmd.Args); diff != "" {
		t.Errorf("Command() args mismatch (-want +got):\n%s", diff)
	}
	if cmd.Err != nil {
		t.Errorf("Command() Err = %v, want nil", cmd.Err)
	}
	for _, tt := range []struct {
		ns   string
		argv []string
		want string
	}{
		{"../x", []string{"true"}, "invalid network namespace name"},
		{"plk-i-1", nil, "no command"},
	} {
		err := Command(context.Background(), "/bin/true", tt.ns, tt.argv).Start()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Command(%q, %q).Start() = %v, want an error containing %q", tt.ns, tt.argv, err, tt.want)
		}
	}
}

func TestMainErrors(t *testing.T) {
	var stderr strings.Builder
	if code := Main([]string{"plk-x"}, &stderr); code != ExitNotFound {
		t.Errorf("Main(no command) = %d, want %d", code, ExitNotFound)
	}
	if !strings.Contains(stderr.String(), "no command to run") {
		t.Errorf("Main(no command) printed %q", stderr.String())
	}
	stderr.Reset()
	if code := Main([]string{"../x", "--", "true"}, &stderr); code != ExitNotFound {
		t.Errorf("Main(bad name) = %d, want %d", code, ExitNotFound)
	}
	if !strings.Contains(stderr.String(), "invalid network namespace name") {
		t.Errorf("Main(bad name) printed %q", stderr.String())
	}
}
