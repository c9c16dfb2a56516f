package controller_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/controller"
	"github.com/privlink/privlink/internal/controlplane"
	"github.com/privlink/privlink/internal/dataplane"
	"github.com/privlink/privlink/internal/metrics"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// fakeState is an in-memory control plane with a change feed: every
// mutation bumps the revision and sends one event to every watcher.
type fakeState struct {
	mu        sync.Mutex
	vpcs      map[string]model.Vpc
	subnets   map[string]model.Subnet
	groups    map[string]model.SecurityGroup
	acls      map[string]model.NetworkAcl
	instances map[string]model.Instance
	enis      map[string]model.NetworkInterface
	// purgeable are the ids PurgeTerminatedInstances removes next.
	purgeable []string
	log       *callLog // if set, records AdvanceInstances
	rev       int64
	watchers  map[chan store.Event]bool
	// compactOnce makes the next Watch fail with store.ErrCompacted.
	compactOnce bool
	listErr     error
}

func newFakeState() *fakeState {
	return &fakeState{
		vpcs: map[string]model.Vpc{}, subnets: map[string]model.Subnet{},
		groups: map[string]model.SecurityGroup{}, acls: map[string]model.NetworkAcl{},
		instances: map[string]model.Instance{}, enis: map[string]model.NetworkInterface{},
		watchers: map[chan store.Event]bool{},
	}
}

func (f *fakeState) Snapshot(ctx context.Context) (controlplane.NetworkSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.listErr != nil {
		return controlplane.NetworkSnapshot{}, f.listErr
	}
	// Map order: the controller must not depend on the order it gets.
	return controlplane.NetworkSnapshot{
		Rev:            f.rev,
		Vpcs:           slices.Collect(maps.Values(f.vpcs)),
		Subnets:        slices.Collect(maps.Values(f.subnets)),
		SecurityGroups: slices.Collect(maps.Values(f.groups)),
		NetworkAcls:    slices.Collect(maps.Values(f.acls)),
		Instances:      slices.Collect(maps.Values(f.instances)),
		ENIs:           slices.Collect(maps.Values(f.enis)),
	}, nil
}

func (f *fakeState) MarkAvailable(ctx context.Context, vpcs, subnets []controlplane.Ref) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range vpcs {
		if v, ok := f.vpcs[r.ID]; ok && v.OwnerID == r.Owner && v.State == model.StatePending {
			v.State = model.StateAvailable
			f.vpcs[r.ID] = v
			f.changedLocked("vpc/" + r.Owner + "/" + r.ID)
		}
	}
	for _, r := range subnets {
		if s, ok := f.subnets[r.ID]; ok && s.OwnerID == r.Owner && s.State == model.StatePending {
			s.State = model.StateAvailable
			f.subnets[r.ID] = s
			f.changedLocked("subnet/" + r.Owner + "/" + r.ID)
		}
	}
	return nil
}

func (f *fakeState) putVpc(v model.Vpc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.vpcs[v.ID] = v
	f.changedLocked("vpc/" + v.OwnerID + "/" + v.ID)
}

func (f *fakeState) putSubnet(s model.Subnet) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subnets[s.ID] = s
	f.changedLocked("subnet/" + s.OwnerID + "/" + s.ID)
}

func (f *fakeState) deleteVpc(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for sid, s := range f.subnets {
		if s.VpcID == id {
			delete(f.subnets, sid)
			f.changedLocked("subnet/" + s.OwnerID + "/" + sid)
		}
	}
	delete(f.vpcs, id)
	f.changedLocked("vpc/111111111111/" + id)
}

func (f *fakeState) vpcState(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.vpcs[id].State
}

func (f *fakeState) subnetState(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.subnets[id].State
}

func (f *fakeState) changedLocked(key string) {
	f.rev++
	for ch := range f.watchers {
		select {
		case ch <- store.Event{Type: store.EventPut, Key: key, Rev: f.rev}:
		default: // a slow watcher loses events in this fake; tests keep them few
		}
	}
}

func (f *fakeState) Rev(ctx context.Context) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rev, nil
}

func (f *fakeState) Watch(ctx context.Context, from int64) (<-chan store.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.compactOnce {
		f.compactOnce = false
		return nil, store.ErrCompacted
	}
	ch := make(chan store.Event, 64)
	f.watchers[ch] = true
	context.AfterFunc(ctx, func() { f.endWatch(ch) })
	return ch, nil
}

// endWatch closes one watch, as the store does when ctx ends or the watcher
// falls behind.
func (f *fakeState) endWatch(ch chan store.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.watchers[ch] {
		delete(f.watchers, ch)
		close(ch)
	}
}

// endAllWatches closes every open watch.
func (f *fakeState) endAllWatches() {
	f.mu.Lock()
	chs := slices.Collect(maps.Keys(f.watchers))
	f.mu.Unlock()
	for _, ch := range chs {
		f.endWatch(ch)
	}
}

const (
	prefix = "plk-"
	// dpOwner is the owner id of the controller's namespaces.
	dpOwner = "0123456789abcdef"
	owner   = "111111111111" // the account
	region  = "us-east-1"
	vpcA    = "vpc-0aaaaaaaaaaaaaaaa"
	vpcB    = "vpc-0bbbbbbbbbbbbbbbb"
	subnet1 = "subnet-01111111111111111"
	subnet2 = "subnet-02222222222222222"
	subnet3 = "subnet-03333333333333333"
)

func vpc(id string) model.Vpc {
	return model.Vpc{ID: id, OwnerID: owner, CidrBlock: "10.0.0.0/16", State: model.StatePending}
}

// subnet returns a pending subnet whose bridge is "br-" and the id's last
// digit, so that the bridges sort as the subnets do.
func subnet(id, vpcID, cidr string) model.Subnet {
	return model.Subnet{ID: id, OwnerID: owner, VpcID: vpcID, CidrBlock: cidr, State: model.StatePending, BridgeName: bridge(id)}
}

func bridge(subnetID string) string { return "br-" + subnetID[len(subnetID)-1:] }

// harness runs a controller in a synctest bubble.
type harness struct {
	t     *testing.T
	state *fakeState
	dp    *dataplane.Fake
	ctrl  *controller.Controller
	reg   *metrics.Registry
}

func start(t *testing.T, st *fakeState, dp *dataplane.Fake) *harness {
	t.Helper()
	return startWith(t, st, dp, nil)
}

// startWith is start with a hook that completes the controller's Config
// (a supervisor, a resolver, a wrapped data plane).
func startWith(t *testing.T, st *fakeState, dp *dataplane.Fake, configure func(*controller.Config)) *harness {
	t.Helper()
	h := &harness{t: t, state: st, dp: dp, reg: metrics.NewRegistry()}
	cfg := controller.Config{
		State: st, Changes: st, DataPlane: dp, Prefix: prefix, Owner: dpOwner, Region: region,
		Logger: slog.New(slog.DiscardHandler), Metrics: h.reg,
	}
	if configure != nil {
		configure(&cfg)
	}
	ctrl, err := controller.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.ctrl = ctrl
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- ctrl.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v, want nil", err)
		}
	})
	synctest.Wait()
	return h
}

// settle lets d of fake time pass and waits until the controller is idle.
func (h *harness) settle(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// step checks and forgets the ops applied since the last step.
func (h *harness) step(name string, want []string) {
	h.t.Helper()
	got := h.dp.Ops()
	h.dp.Reset()
	if diff := cmp.Diff(want, got); diff != "" {
		h.t.Errorf("%s: ops mismatch (-want +got):\n%s", name, diff)
	}
}

func TestStates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newFakeState()
		dp := dataplane.NewFake()
		h := start(t, st, dp)
		h.step("start with nothing", nil)
		if !h.ctrl.Status().Reconciled {
			t.Error("Status().Reconciled = false after the first pass")
		}

		nsA, nsB := prefix+vpcA, prefix+vpcB
		br1, br2, br3 := bridge(subnet1), bridge(subnet2), bridge(subnet3)

		st.putVpc(vpc(vpcA))
		st.putSubnet(subnet(subnet1, vpcA, "10.0.1.0/24"))
		st.putSubnet(subnet(subnet2, vpcA, "10.0.2.16/28"))
		h.settle(time.Second)
		h.step("a VPC with two subnets", []string{
			"add netns " + nsA,
			"up lo in " + nsA,
			"forwarding on in " + nsA,
			"add bridge " + br1 + " in " + nsA,
			"add addr 10.0.1.1/24 on " + br1 + " in " + nsA,
			"up " + br1 + " in " + nsA,
			"add bridge " + br2 + " in " + nsA,
			"add addr 10.0.2.17/28 on " + br2 + " in " + nsA,
			"up " + br2 + " in " + nsA,
		})
		for _, got := range []string{st.vpcState(vpcA), st.subnetState(subnet1), st.subnetState(subnet2)} {
			if got != model.StateAvailable {
				t.Errorf("state = %q, want available", got)
			}
		}

		// An overlapping VPC in another namespace, same CIDR.
		st.putVpc(vpc(vpcB))
		st.putSubnet(subnet(subnet3, vpcB, "10.0.1.0/24"))
		h.settle(time.Second)
		h.step("an overlapping VPC", []string{
			"add netns " + nsB,
			"up lo in " + nsB,
			"forwarding on in " + nsB,
			"add bridge " + br3 + " in " + nsB,
			"add addr 10.0.1.1/24 on " + br3 + " in " + nsB,
			"up " + br3 + " in " + nsB,
		})

		dp.DeleteNamespace(nsA)
		h.settle(controller.DefaultResync)
		h.step("namespace deleted by hand comes back on resync", []string{
			"add netns " + nsA,
			"up lo in " + nsA,
			"forwarding on in " + nsA,
			"add bridge " + br1 + " in " + nsA,
			"add addr 10.0.1.1/24 on " + br1 + " in " + nsA,
			"up " + br1 + " in " + nsA,
			"add bridge " + br2 + " in " + nsA,
			"add addr 10.0.2.17/28 on " + br2 + " in " + nsA,
			"up " + br2 + " in " + nsA,
		})

		st.deleteVpc(vpcA)
		h.settle(time.Second)
		h.step("VPC deleted", []string{"del netns " + nsA})

		want := controller.Status{Reconciled: true, Vpcs: 1, Subnets: 1, Namespaces: []string{nsB}}
		if diff := cmp.Diff(want, h.ctrl.Status()); diff != "" {
			t.Errorf("Status() mismatch (-want +got):\n%s", diff)
		}
		h.settle(10 * controller.DefaultResync)
		h.step("idle resyncs change nothing", nil)
	})
}

func TestAdoptsAndCleansUpOnStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newFakeState()
		dp := dataplane.NewFake()
		// The state of an earlier run: vpcA is configured, vpcB is gone
		// from the store, and a foreign namespace must stay.
		st.putVpc(vpc(vpcA))
		st.putSubnet(subnet(subnet1, vpcA, "10.0.1.0/24"))
		d := dataplane.Config{Prefix: prefix, Owner: dpOwner, Routers: []dataplane.Router{
			{Namespace: prefix + vpcA, Bridges: []dataplane.Bridge{{Name: bridge(subnet1), Address: netip.MustParsePrefix("10.0.1.1/24")}}},
			{Namespace: prefix + vpcB},
		}}
		if err := dp.Set(t.Context(), d); err != nil {
			t.Fatal(err)
		}
		dp.AddNamespace("other-ns")
		dp.Reset()

		h := start(t, st, dp)
		h.step("start", []string{"del netns " + prefix + vpcB})
		if got := st.vpcState(vpcA); got != model.StateAvailable {
			t.Errorf("adopted VPC state = %q, want available", got)
		}
		got, _ := dp.Namespaces(t.Context(), "")
		if diff := cmp.Diff([]string{"other-ns", prefix + vpcA}, got); diff != "" {
			t.Errorf("namespaces mismatch (-want +got):\n%s", diff)
		}
	})
}

// TestLeavesOtherOwnersAlone runs the controller on a host where another
// daemon has namespaces under the same prefix, and someone made one by
// hand: the controller configures its own VPCs, adopts the hand-made
// namespace when a VPC wants it, and never touches the other daemon's.
func TestLeavesOtherOwnersAlone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newFakeState()
		dp := dataplane.NewFake()
		const other = "fedcba9876543210"
		otherNS, handNS := prefix+"vpc-0cccccccccccccccc", prefix+"vpc-0dddddddddddddddd"
		dp.AddForeignNamespace(otherNS, other)
		dp.AddNamespace(handNS)
		dp.AddNamespace(prefix + vpcB) // left by a crash before the stamp

		st.putVpc(vpc(vpcA))
		st.putVpc(vpc(vpcB))
		h := start(t, st, dp)
		h.step("start", []string{
			"add netns " + prefix + vpcA,
			"up lo in " + prefix + vpcA,
			"forwarding on in " + prefix + vpcA,
			"own " + prefix + vpcB,
			"up lo in " + prefix + vpcB,
			"forwarding on in " + prefix + vpcB,
		})
		for _, id := range []string{vpcA, vpcB} {
			if got := st.vpcState(id); got != model.StateAvailable {
				t.Errorf("%s state = %q, want available", id, got)
			}
		}

		st.deleteVpc(vpcA)
		st.deleteVpc(vpcB)
		h.settle(time.Second)
		h.step("VPCs deleted", []string{"del netns " + prefix + vpcA, "del netns " + prefix + vpcB})
		h.settle(10 * controller.DefaultResync)
		h.step("idle resyncs change nothing", nil)
		got, _ := dp.Namespaces(t.Context(), "")
		if diff := cmp.Diff([]string{otherNS, handNS}, got); diff != "" {
			t.Errorf("namespaces mismatch (-want +got):\n%s", diff)
		}
		if o, _ := dp.Owner(otherNS); o != other {
			t.Errorf("owner of the other daemon's namespace = %q, want %q", o, other)
		}

		// A VPC whose namespace the other daemon has: the pass fails
		// and says why, and the namespace stays the other's.
		st.putVpc(vpc("vpc-0cccccccccccccccc"))
		h.settle(time.Second)
		h.step("a VPC whose namespace is another daemon's", nil)
		want := "data plane: namespace " + otherNS + " belongs to privlink owner " + other
		if got := h.ctrl.Status().LastError; got != want {
			t.Errorf("Status().LastError = %q, want %q", got, want)
		}
	})
}

func TestRetriesWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newFakeState()
		dp := dataplane.NewFake()
		h := start(t, st, dp)

		dp.FailNext(errors.New("netlink: boom"))
		st.putVpc(vpc(vpcA))
		h.settle(controller.DefaultDebounce)
		h.step("failed pass", nil)
		if got := st.vpcState(vpcA); got != model.StatePending {
			t.Errorf("state after a failed pass = %q, want pending", got)
		}
		if got := h.ctrl.Status().LastError; got != "data plane: netlink: boom" {
			t.Errorf("Status().LastError = %q", got)
		}
		h.settle(controller.DefaultMinBackoff)
		h.step("retry", []string{
			"add netns " + prefix + vpcA,
			"up lo in " + prefix + vpcA,
			"forwarding on in " + prefix + vpcA,
		})
		if got := st.vpcState(vpcA); got != model.StateAvailable {
			t.Errorf("state after the retry = %q, want available", got)
		}
		if got := h.ctrl.Status().LastError; got != "" {
			t.Errorf("Status().LastError after recovery = %q, want empty", got)
		}
	})
}

func TestBackoffGrows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newFakeState()
		st.listErr = errors.New("store: closed")
		dp := dataplane.NewFake()
		h := start(t, st, dp)
		// Failures at 0, then after 250ms, 500ms, 1s, 2s, 4s: six passes
		// within 7.75s, not one every debounce.
		h.settle(7750*time.Millisecond + time.Millisecond)
		var b strings.Builder
		if err := h.reg.WriteText(t.Context(), &b); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"privlink_reconcile_errors_total 6\n", "privlink_reconcile_passes_total 6\n"} {
			if !strings.Contains(b.String(), want) {
				t.Errorf("metrics lack %q:\n%s", want, b.String())
			}
		}
		if h.ctrl.Status().Reconciled {
			t.Error("Status().Reconciled = true, want false: no pass succeeded")
		}
	})
}

func TestCoalescesBursts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newFakeState()
		dp := dataplane.NewFake()
		h := start(t, st, dp)
		passes := func() string {
			var b strings.Builder
			if err := h.reg.WriteText(t.Context(), &b); err != nil {
				t.Fatal(err)
			}
			return b.String()
		}
		// 50 VPCs in one burst: one pass configures them, one more sees
		// the state write-back. Not 50 passes.
		for i := range 50 {
			st.putVpc(vpc(fmt.Sprintf("vpc-%017x", i)))
		}
		h.settle(time.Second)
		if got := passes(); !strings.Contains(got, "privlink_reconcile_passes_total 3\n") {
			t.Errorf("want 3 passes (start, burst, write-back):\n%s", got)
		}
		if got := len(h.ctrl.Status().Namespaces); got != 50 {
			t.Errorf("namespaces = %d, want 50", got)
		}
	})
}

func TestWatchRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newFakeState()
		st.compactOnce = true // the first Watch finds its revision compacted
		dp := dataplane.NewFake()
		h := start(t, st, dp)

		st.putVpc(vpc(vpcA))
		h.settle(time.Second)
		if got := st.vpcState(vpcA); got != model.StateAvailable {
			t.Errorf("after a compacted watch: state = %q, want available", got)
		}

		// The store ends the watch (the watcher fell behind); the next
		// change is still seen well before the periodic resync.
		st.endAllWatches()
		synctest.Wait()
		st.putVpc(vpc(vpcB))
		h.settle(controller.DefaultDebounce)
		if got := st.vpcState(vpcB); got != model.StateAvailable {
			t.Errorf("after an ended watch: state = %q, want available", got)
		}
	})
}

func TestSkipsBadSubnets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newFakeState()
		st.putVpc(vpc(vpcA))
		bad := subnet(subnet1, vpcA, "10.0.1.0/33")
		noBridge := subnet(subnet2, vpcA, "10.0.2.0/24")
		noBridge.BridgeName = ""
		orphan := subnet(subnet3, vpcB, "10.0.3.0/24")
		st.putSubnet(bad)
		st.putSubnet(noBridge)
		st.putSubnet(orphan)
		dp := dataplane.NewFake()
		h := start(t, st, dp)
		h.step("start", []string{
			"add netns " + prefix + vpcA,
			"up lo in " + prefix + vpcA,
			"forwarding on in " + prefix + vpcA,
		})
		if got := st.vpcState(vpcA); got != model.StateAvailable {
			t.Errorf("VPC state = %q, want available", got)
		}
		for _, id := range []string{subnet1, subnet2, subnet3} {
			if got := st.subnetState(id); got != model.StatePending {
				t.Errorf("%s state = %q, want pending", id, got)
			}
		}
	})
}

func TestNewErrors(t *testing.T) {
	st := newFakeState()
	dp := dataplane.NewFake()
	tests := []struct {
		name string
		cfg  controller.Config
	}{
		{"no state", controller.Config{Changes: st, DataPlane: dp, Prefix: prefix, Owner: dpOwner, Region: region}},
		{"no changes", controller.Config{State: st, DataPlane: dp, Prefix: prefix, Owner: dpOwner, Region: region}},
		{"no data plane", controller.Config{State: st, Changes: st, Prefix: prefix, Owner: dpOwner, Region: region}},
		{"no prefix", controller.Config{State: st, Changes: st, DataPlane: dp, Owner: dpOwner, Region: region}},
		{"no owner", controller.Config{State: st, Changes: st, DataPlane: dp, Prefix: prefix, Region: region}},
		{"no region", controller.Config{State: st, Changes: st, DataPlane: dp, Prefix: prefix, Owner: dpOwner}},
	}
	for _, tt := range tests {
		if _, err := controller.New(tt.cfg); err == nil {
			t.Errorf("%s: New() = nil error", tt.name)
		}
	}
}
