package dataplane

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeOutOfBand changes a Fake's kernel behind its back.
type fakeOutOfBand struct{ f *Fake }

func (k fakeOutOfBand) AddNamespace(t *testing.T, name string)    { k.f.AddNamespace(name) }
func (k fakeOutOfBand) DeleteNamespace(t *testing.T, name string) { k.f.DeleteNamespace(name) }

func TestFakeStates(t *testing.T) {
	f := NewFake()
	for _, step := range stateSteps("plktest-000000-") {
		f.Reset()
		if step.before != nil {
			step.before(t, fakeOutOfBand{f})
		}
		if step.failNext != nil {
			f.FailNext(step.failNext)
		}
		err := f.Set(t.Context(), step.cfg)
		if (err != nil) != step.wantErr {
			t.Fatalf("%s: Set() = %v, want error: %v", step.name, err, step.wantErr)
		}
		if diff := cmp.Diff(step.want, f.Ops()); diff != "" {
			t.Errorf("%s: Set() ops mismatch (-want +got):\n%s", step.name, diff)
		}
	}
	got, err := f.Namespaces(t.Context(), "plktest-000000-")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"plktest-000000-x-vpc"}, got); diff != "" {
		t.Errorf("Namespaces() mismatch (-want +got):\n%s", diff)
	}
}

func TestFakeNamespaces(t *testing.T) {
	f := NewFake()
	f.AddNamespace("other")
	cfg := Config{Prefix: "plk-", Routers: []Router{{Namespace: "plk-b"}, {Namespace: "plk-a"}}}
	if err := f.Set(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	got, err := f.Namespaces(t.Context(), "plk-")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"plk-a", "plk-b"}, got); diff != "" {
		t.Errorf("Namespaces() mismatch (-want +got):\n%s", diff)
	}
	got, _ = f.Namespaces(t.Context(), "")
	if diff := cmp.Diff([]string{"other", "plk-a", "plk-b"}, got); diff != "" {
		t.Errorf("Namespaces(\"\") mismatch (-want +got):\n%s", diff)
	}
}

func TestFakeCanceled(t *testing.T) {
	f := NewFake()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := f.Set(ctx, Config{Prefix: "plk-", Routers: []Router{{Namespace: "plk-a"}}}); err == nil {
		t.Fatal("Set() with a canceled context = nil, want an error")
	}
	if got := f.Ops(); len(got) != 0 {
		t.Errorf("Set() with a canceled context applied %q", got)
	}
}
