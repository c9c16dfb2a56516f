package nsexec

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"

	"github.com/privlink/privlink/internal/dataplane/netns"
	"github.com/privlink/privlink/internal/testenv"
)

// The test binary doubles as the helper: Command re-executes it with
// HelperCommand, as it re-executes the privlink binary in production.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == HelperCommand {
		os.Exit(Main(os.Args[2:], os.Stderr))
	}
	os.Exit(m.Run())
}

// self is the binary that Command re-executes: this test binary.
func self(t *testing.T) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// newNamespace creates a namespace with a bridge (the kernel may lack dummy links) and an
// /etc/netns/<ns>/resolv.conf, all removed when t ends.
func newNamespace(t *testing.T, resolv string) string {
	t.Helper()
	ns := testenv.Prefix(t) + "x"
	if err := netns.Create(ns); err != nil {
		t.Fatal(err)
	}
	h, err := netns.Open(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	nl, err := netlink.NewHandleAt(h)
	if err != nil {
		t.Fatal(err)
	}
	defer nl.Close()
	if err := nl.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "plkbr0"}}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(EtcDir, ns)
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "resolv.conf"), []byte(resolv), 0o644); err != nil {
		t.Fatal(err)
	}
	// A file with no counterpart in /etc is skipped, as by iproute2.
	if err := os.WriteFile(filepath.Join(dir, "plktest-no-such-file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return ns
}

// runIn runs argv in ns with stdin and returns its stdout, stderr and exit
// status.
func runIn(t *testing.T, ns, stdin string, argv ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := Command(t.Context(), self(t), ns, argv)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		return out.String(), errb.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("run %q in %s: %v", argv, ns, err)
	}
	return out.String(), errb.String(), 0
}

func TestPrivilegedExec(t *testing.T) {
	testenv.RequirePrivileged(t)
	hostResolv, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		t.Fatal(err)
	}
	const resolv = "# plktest\nnameserver 10.99.0.2\n"
	ns := newNamespace(t, resolv)
	hostMounts := mounts(t)

	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(RunDir, ns), &st); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		stdin string
		argv  []string
		want  string
	}{
		{name: "resolv.conf", argv: []string{"cat", "/etc/resolv.conf"}, want: resolv},
		{name: "sysfs of the namespace", argv: []string{"ls", "/sys/class/net"}, want: "lo\nplkbr0\n"},
		{name: "proc of the namespace", argv: []string{"sh", "-c", "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort"}, want: "lo\nplkbr0\n"},
		{name: "network namespace", argv: []string{"readlink", "/proc/self/ns/net"}, want: fmt.Sprintf("net:[%d]\n", st.Ino)},
		{name: "stdin", stdin: "hello\n", argv: []string{"cat"}, want: "hello\n"},
		{name: "environment", argv: []string{"sh", "-c", "echo $PLKTEST_VAR"}, want: "from-parent\n"},
	}
	t.Setenv("PLKTEST_VAR", "from-parent")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runIn(t, ns, tt.stdin, tt.argv...)
			if code != 0 {
				t.Fatalf("exit status %d, stderr %q", code, errOut)
			}
			if out != tt.want {
				t.Errorf("stdout = %q, want %q", out, tt.want)
			}
		})
	}

	// Nothing leaked onto the host.
	if got, err := os.ReadFile("/etc/resolv.conf"); err != nil || !bytes.Equal(got, hostResolv) {
		t.Errorf("host /etc/resolv.conf = %q, %v; want it untouched (%q)", got, err, hostResolv)
	}
	if diff := cmp.Diff(hostMounts, mounts(t)); diff != "" {
		t.Errorf("host mounts changed (-before +after):\n%s", diff)
	}
}

// mounts returns the host's mount points, but for the namespaces under
// RunDir, which tests running in parallel create and delete.
func mounts(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) > 4 && !strings.HasPrefix(f[4], RunDir+"/") {
			out = append(out, f[4]+" "+f[3])
		}
	}
	return out
}

func TestPrivilegedExecStatus(t *testing.T) {
	testenv.RequirePrivileged(t)
	ns := newNamespace(t, "nameserver 10.99.0.2\n")
	noexec := filepath.Join(t.TempDir(), "noexec")
	if err := os.WriteFile(noexec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		ns         string
		argv       []string
		wantCode   int
		wantStderr string
	}{
		{name: "exit 0", ns: ns, argv: []string{"true"}, wantCode: 0},
		{name: "exit 3", ns: ns, argv: []string{"sh", "-c", "exit 3"}, wantCode: 3},
		{name: "signal", ns: ns, argv: []string{"sh", "-c", "kill -KILL $$"}, wantCode: -1},
		{name: "missing namespace", ns: ns + "-missing", argv: []string{"true"}, wantCode: ExitNotFound,
			wantStderr: `network namespace "` + ns + `-missing": no such network namespace`},
		{name: "command not found", ns: ns, argv: []string{"plktest-no-such-command"}, wantCode: ExitNotFound,
			wantStderr: "executable file not found"},
		{name: "not executable", ns: ns, argv: []string{noexec}, wantCode: ExitCannotExecute,
			wantStderr: "permission denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := runIn(t, tt.ns, "", tt.argv...)
			if code != tt.wantCode {
				t.Errorf("exit status = %d, want %d (stderr %q)", code, tt.wantCode, stderr)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.wantStderr)
			}
		})
	}
}

func TestPrivilegedCheck(t *testing.T) {
	testenv.RequirePrivileged(t)
	ns := newNamespace(t, "")
	if err := Check(ns); err != nil {
		t.Errorf("Check(%q) = %v, want nil", ns, err)
	}
	if err := Check(ns + "-missing"); !errors.Is(err, ErrNoNamespace) {
		t.Errorf("Check(missing) = %v, want ErrNoNamespace", err)
	}
	// A mount point left without a namespace (an interrupted create).
	stale := testenv.Prefix(t) + "stale"
	if err := os.WriteFile(filepath.Join(RunDir, stale), nil, 0o444); err != nil {
		t.Fatal(err)
	}
	if err := Check(stale); !errors.Is(err, ErrNoNamespace) {
		t.Errorf("Check(stale) = %v, want ErrNoNamespace", err)
	}
}
