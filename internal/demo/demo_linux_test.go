package demo_test

import (
	"bytes"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/privlink/privlink/internal/admin"
	"github.com/privlink/privlink/internal/config"
	"github.com/privlink/privlink/internal/demo"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/nsexec"
	"github.com/privlink/privlink/internal/testenv"
)

// The test binary plays the privlink binary that the demo and its daemon
// re-execute to enter namespaces.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == nsexec.HelperCommand {
		os.Exit(nsexec.Main(os.Args[2:], os.Stderr))
	}
	os.Exit(m.Run())
}

// syncBuffer is a bytes.Buffer safe for the daemon's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// idRE matches the ids whose namespaces the demo's resources make.
var idRE = regexp.MustCompile(`\b(?:vpc|i|eni)-[0-9a-f]{17}\b`)

// TestPrivilegedDemo plays the whole scenario against an in-process daemon
// in a temporary data directory, and checks that traffic flowed where it
// must and only there, that everything is cleaned up (no namespace of the
// demo is left) and that the daemon is stopped.
func TestPrivilegedDemo(t *testing.T) {
	testenv.RequirePrivileged(t)
	for _, tool := range []string{"curl", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the demo needs %s: %v", tool, err)
		}
	}
	dir := t.TempDir()
	var out, logs syncBuffer
	start := time.Now()
	err := demo.Run(t.Context(), demo.Config{
		DataDir: dir,
		Listen:  "127.0.0.1:0",
		Stdout:  &out,
		Logger:  slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	t.Logf("the demo took %v", time.Since(start).Round(100*time.Millisecond))
	if err != nil {
		t.Fatalf("Run() error = %v\nstdout:\n%s\nlogs:\n%s", err, out.String(), logs.String())
	}
	got := out.String()
	for _, want := range []string{
		"Started a privlink daemon for the demo",
		"State: pendingAcceptance",
		"VpcEndpointState: pendingAcceptance",
		"available\n  → Endpoint interfaces: eni-",
		"State: verified",
		"--private-dns-enabled",
		"privlink exec i-",
		"curl -sS -m 2 http://10.0.1.10/",
		"Done. Everything the demo created is gone",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the demo's output lacks %q", want)
		}
	}
	// The page comes twice: by the endpoint's DNS name and by the private
	// DNS name; the curls that must fail print curl's error.
	if n := strings.Count(got, "| Hello from the provider!"); n != 2 {
		t.Errorf("the provider's page was printed %d times, want 2 (endpoint DNS name, private DNS name)", n)
	}
	if n := strings.Count(got, "→ curl exit status: "); n != 2 {
		t.Errorf("%d curls failed, want 2 (before acceptance, to the provider's address)", n)
	}
	ids := slices.Compact(slices.Sorted(slices.Values(idRE.FindAllString(got, -1))))
	if len(ids) < 6 {
		t.Errorf("the output names %d VPCs, instances and interfaces (%v), want at least 6", len(ids), ids)
	}
	for _, id := range ids {
		if _, err := os.Stat(filepath.Join(nsexec.RunDir, model.NamespaceName(id))); err == nil {
			t.Errorf("namespace %s is left after the demo", model.NamespaceName(id))
		}
	}
	if _, err := admin.NewClient(config.AdminSocket(dir)).Status(t.Context()); err == nil {
		t.Error("the demo's daemon still answers on its admin socket")
	}
	if t.Failed() {
		t.Logf("stdout:\n%s\nlogs:\n%s", got, logs.String())
	}
}
