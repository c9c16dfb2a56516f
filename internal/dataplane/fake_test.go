package dataplane

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeOutOfBand changes a Fake's kernel behind its back.
type fakeOutOfBand struct{ f *Fake }

func (k fakeOutOfBand) AddNamespace(t *testing.T, name string)    { k.f.AddNamespace(name) }
func (k fakeOutOfBand) DeleteNamespace(t *testing.T, name string) { k.f.DeleteNamespace(name) }
func (k fakeOutOfBand) AddForeignNamespace(t *testing.T, name, owner string) {
	k.f.AddForeignNamespace(name, owner)
}

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
		checkErr(t, step.name+": Set()", err, step.wantErr)
		if diff := cmp.Diff(step.want, f.Ops()); diff != "" {
			t.Errorf("%s: Set() ops mismatch (-want +got):\n%s", step.name, diff)
		}
	}
	got, err := f.Namespaces(t.Context(), "plktest-000000-")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(stateStepsLeft("plktest-000000-"), got); diff != "" {
		t.Errorf("Namespaces() mismatch (-want +got):\n%s", diff)
	}
	for name, want := range map[string]string{"plktest-000000-r-vpc-o": statesOther, "plktest-000000-r-vpc-h": ""} {
		if got, ok := f.Owner(name); !ok || got != want {
			t.Errorf("Owner(%q) = %q, %v; want %q, true", name, got, ok, want)
		}
	}
}

// checkErr fails t unless err contains want, or is nil if want is "".
func checkErr(t *testing.T, what string, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("%s = %v, want nil", what, err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Fatalf("%s = %v, want an error containing %q", what, err, want)
	}
}

// TestFakeTwoOwners has two daemons with the same prefix share one Fake:
// each configures its own namespaces and never touches the other's.
func TestFakeTwoOwners(t *testing.T) {
	f := NewFake()
	cfgA := Config{Prefix: "plk-", Owner: "aaaa", Routers: []Router{{Namespace: "plk-a1"}, {Namespace: "plk-a2"}}}
	cfgB := Config{Prefix: "plk-", Owner: "bbbb", Routers: []Router{{Namespace: "plk-b1"}}}
	for range 2 {
		for _, cfg := range []Config{cfgA, cfgB} {
			if err := f.Set(t.Context(), cfg); err != nil {
				t.Fatalf("Set(%s) = %v", cfg.Owner, err)
			}
		}
	}
	want := []string{
		"add netns plk-a1", "up lo in plk-a1", "forwarding on in plk-a1",
		"add netns plk-a2", "up lo in plk-a2", "forwarding on in plk-a2",
		"add netns plk-b1", "up lo in plk-b1", "forwarding on in plk-b1",
	}
	if diff := cmp.Diff(want, f.Ops()); diff != "" {
		t.Errorf("Set() ops mismatch (-want +got):\n%s", diff)
	}
	f.Reset()
	if err := f.Set(t.Context(), Config{Prefix: "plk-", Owner: "aaaa"}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"del netns plk-a1", "del netns plk-a2"}, f.Ops()); diff != "" {
		t.Errorf("Set() with nothing wanted: ops mismatch (-want +got):\n%s", diff)
	}
	if owner, ok := f.Owner("plk-b1"); !ok || owner != "bbbb" {
		t.Errorf("Owner(plk-b1) = %q, %v; want bbbb, true", owner, ok)
	}

	// B wanting a namespace of A's fails for that one only.
	f.Reset()
	if err := f.Set(t.Context(), cfgA); err != nil {
		t.Fatal(err)
	}
	f.Reset()
	cfgB.Routers = append(cfgB.Routers, Router{Namespace: "plk-a1"}, Router{Namespace: "plk-b2"})
	err := f.Set(t.Context(), cfgB)
	checkErr(t, "Set() of a namespace of another owner", err, "namespace plk-a1 belongs to privlink owner aaaa")
	if diff := cmp.Diff([]string{"add netns plk-b2", "up lo in plk-b2", "forwarding on in plk-b2"}, f.Ops()); diff != "" {
		t.Errorf("Set() ops mismatch (-want +got):\n%s", diff)
	}
}

func TestFakeNamespaces(t *testing.T) {
	f := NewFake()
	f.AddNamespace("other")
	cfg := Config{Prefix: "plk-", Owner: "o1", Routers: []Router{{Namespace: "plk-b"}, {Namespace: "plk-a"}}}
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
	if err := f.Set(ctx, Config{Prefix: "plk-", Owner: "o1", Routers: []Router{{Namespace: "plk-a"}}}); err == nil {
		t.Fatal("Set() with a canceled context = nil, want an error")
	}
	if got := f.Ops(); len(got) != 0 {
		t.Errorf("Set() with a canceled context applied %q", got)
	}
}

func TestFakeHostStates(t *testing.T) {
	f := NewFake()
	base := "plktest-000000-"
	for _, step := range hostSteps(base) {
		f.Reset()
		if step.before != nil {
			step.before(t, fakeOutOfBand{f})
		}
		err := f.Set(t.Context(), step.cfg)
		checkErr(t, step.name+": Set()", err, step.wantErr)
		if diff := cmp.Diff(step.want, f.Ops()); diff != "" {
			t.Errorf("%s: Set() ops mismatch (-want +got):\n%s", step.name, diff)
		}
		f.Reset()
		if err := f.Set(t.Context(), step.cfg); err != nil || len(f.Ops()) != 0 {
			t.Errorf("%s: Set() again = %v, applied %q; want nothing", step.name, err, f.Ops())
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.kernel) != 0 {
		t.Errorf("fake kernel after the steps = %v, want it empty", sortedKeys(f.kernel))
	}
}
