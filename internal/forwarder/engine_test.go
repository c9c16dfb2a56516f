package forwarder

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/privlink/privlink/internal/metrics"
)

// TestEngineMissingNamespace needs no root: a namespace that does not
// exist fails its listener, and Set still applies the rest.
func TestEngineMissingNamespace(t *testing.T) {
	e := New(Options{Metrics: metrics.NewRegistry()})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()

	missing := "plktest-missing-" + strings.ReplaceAll(t.Name(), "/", "-")
	table := Table{Listeners: []Listener{
		{Key: "l1", Namespace: missing, Addr: netip.MustParseAddrPort("10.0.0.1:80"),
			Backends: []Backend{{Key: "b1", Namespace: missing, Addr: netip.MustParseAddrPort("10.0.0.2:80")}}},
		{Key: "l2", Namespace: missing, Addr: netip.MustParseAddrPort("10.0.0.1:81")},
		{Key: "l2", Namespace: missing, Addr: netip.MustParseAddrPort("10.0.0.1:82")},
	}}
	err := e.Set(t.Context(), table)
	if err == nil {
		t.Fatal("Set() = nil, want errors for the missing namespace")
	}
	for _, want := range []string{"listener l1", "backend b1", "listener l2", "duplicate key"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Set() = %q, want it to mention %q", err, want)
		}
	}
	want := []ListenerStats{{Key: "l1", Backends: []BackendStats{{Key: "b1"}}}, {Key: "l2"}}
	if diff := cmp.Diff(want, e.Stats()); diff != "" {
		t.Errorf("Stats() mismatch (-want +got):\n%s", diff)
	}

	if err := e.Set(t.Context(), Table{}); err != nil {
		t.Errorf("Set(empty) = %v", err)
	}
	if got := e.Stats(); len(got) != 0 {
		t.Errorf("Stats() after Set(empty) = %v, want none", got)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run() = %v, want nil", err)
	}
	if err := e.Set(t.Context(), table); !errors.Is(err, errEngineClosed) {
		t.Errorf("Set() after Run = %v, want %v", err, errEngineClosed)
	}
}
