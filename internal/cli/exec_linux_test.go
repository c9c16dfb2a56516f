package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/privlink/privlink/internal/dataplane/netns"
	"github.com/privlink/privlink/internal/nsexec"
	"github.com/privlink/privlink/internal/testenv"
)

// The test binary plays the privlink binary that exec re-executes: it runs
// the real command tree, hidden helper included.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == nsexec.HelperCommand {
		root := New(os.Stdout, os.Stderr)
		root.SetArgs(os.Args[1:])
		if err := root.Execute(); err != nil {
			fmt.Fprintln(os.Stderr, "privlink:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestPrivilegedExec(t *testing.T) {
	testenv.RequirePrivileged(t)
	p := testenv.Prefix(t)
	const id = "i-0123456789abcdef0"
	ns := p + id
	if err := netns.Create(ns); err != nil {
		t.Fatal(err)
	}
	etc := filepath.Join(nsexec.EtcDir, ns)
	t.Cleanup(func() { os.RemoveAll(etc) })
	if err := os.MkdirAll(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	const resolv = "nameserver 10.0.0.2\n"
	if err := os.WriteFile(filepath.Join(etc, "resolv.conf"), []byte(resolv), 0o644); err != nil {
		t.Fatal(err)
	}

	managing := serve(t, &fakeBackend{namespaces: []string{ns}})
	tests := []struct {
		name     string
		args     []string
		stdin    string
		wantOut  string
		wantCode int
		wantErr  string
	}{
		{
			name: "status and streams", args: []string{"exec", id, "--", "sh", "-c", "cat /etc/resolv.conf; cat; exit 3"},
			stdin: "from stdin\n", wantOut: resolv + "from stdin\n", wantCode: 3,
		},
		{name: "the namespace's links, without --", args: []string{"exec", id, "ls", "/sys/class/net"}, wantOut: "lo\n"},
		{name: "flags are the command's", args: []string{"exec", id, "--", "ls", "--help"}, wantOut: "Usage: ls"},
		{name: "killed by a signal", args: []string{"exec", id, "--", "sh", "-c", "kill -TERM $$"}, wantCode: 128 + 15},
		{name: "command not found", args: []string{"exec", id, "--", "plktest-no-such-command"}, wantCode: nsexec.ExitNotFound},
		{name: "unknown instance", args: []string{"exec", "i-0000000000000000f", "--", "true"}, wantErr: "instance i-0000000000000000f has no namespace: is it running?"},
		{name: "the daemon's own", args: []string{"exec", "--data-dir", managing, id, "--", "true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code := 0
			e := env{
				stdin:     strings.NewReader(tt.stdin),
				exit:      func(c int) { code = c },
				namespace: func(id string) string { return p + id },
			}
			out, err := run(t, e, tt.args...)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("error = %v", err)
			}
			if code != tt.wantCode {
				t.Errorf("exit status = %d, want %d", code, tt.wantCode)
			}
			if !strings.HasPrefix(out, tt.wantOut) {
				t.Errorf("stdout = %q, want it to start with %q", out, tt.wantOut)
			}
		})
	}
}
