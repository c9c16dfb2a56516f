package controller_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
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
	"github.com/privlink/privlink/internal/forwarder"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/supervisor"
	"github.com/privlink/privlink/internal/vpcdns"
)

// callLog records the calls of the controller to its components, in order,
// across the data plane, the supervisor and the control plane.
type callLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *callLog) add(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

// take returns the calls since the last take, up to and including the
// first write-back ("advance …"), and checks that no later call is one.
func (l *callLog) take(t *testing.T) []string {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := l.lines
	l.lines = nil
	i := slices.IndexFunc(lines, func(s string) bool { return strings.HasPrefix(s, "advance") })
	if i < 0 {
		return lines
	}
	for _, s := range lines[i+1:] {
		if strings.HasPrefix(s, "advance") {
			t.Errorf("a second write-back: %q (all calls: %q)", s, lines)
		}
	}
	return lines[:i+1]
}

// recordingDP logs the host namespaces of every Set before it applies it.
type recordingDP struct {
	*dataplane.Fake
	log *callLog
}

func (r recordingDP) Set(ctx context.Context, cfg dataplane.Config) error {
	var hosts []string
	for _, h := range cfg.Hosts {
		hosts = append(hosts, h.Namespace)
	}
	r.log.add("dataplane hosts=%v", hosts)
	return r.Fake.Set(ctx, cfg)
}

// fakeSupervisor logs every Set and Forget.
type fakeSupervisor struct {
	log *callLog
	mu  sync.Mutex
	err error // returned by Set
}

func (s *fakeSupervisor) Set(ctx context.Context, ws []supervisor.Workload) error {
	var parts []string
	for _, w := range ws {
		run := "stop"
		if w.Run {
			run = "run"
		}
		parts = append(parts, fmt.Sprintf("%s@%s %s %q", w.ID, w.Namespace, run, w.Script))
	}
	s.log.add("supervisor %v", parts)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *fakeSupervisor) Forget(ctx context.Context, id string) error {
	s.log.add("forget %s", id)
	return nil
}

// pruningForwarder logs each Prune that drops its namespace ns: the
// forwarder's listeners there must go before the data plane deletes it.
type pruningForwarder struct {
	log *callLog
	ns  string
}

func (f pruningForwarder) Set(context.Context, forwarder.Table) error { return nil }
func (f pruningForwarder) Stats() []forwarder.ListenerStats           { return nil }
func (f pruningForwarder) Prune(keep func(string) bool) {
	if !keep(f.ns) {
		f.log.add("forwarder prune %s", f.ns)
	}
}

// fakeResolver keeps the last config it was given.
type fakeResolver struct {
	mu   sync.Mutex
	last vpcdns.Config
	err  error
}

func (r *fakeResolver) Set(ctx context.Context, cfg vpcdns.Config) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = cfg
	return r.err
}

func (r *fakeResolver) config() vpcdns.Config {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

func (f *fakeState) AdvanceInstances(ctx context.Context, p controlplane.InstanceProgress) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var parts []string
	for _, l := range []struct {
		name string
		refs []controlplane.Ref
		from string
		to   string
	}{
		{"running", p.Running, model.InstancePending, model.InstanceRunning},
		{"stopped", p.Stopped, model.InstanceStopping, model.InstanceStopped},
		{"terminated", p.Terminated, model.InstanceShuttingDown, model.InstanceTerminated},
		{"userDataRan", p.UserDataRan, "", ""},
	} {
		if len(l.refs) == 0 {
			continue
		}
		var ids []string
		for _, r := range l.refs {
			ids = append(ids, r.ID)
			i, ok := f.instances[r.ID]
			if !ok || i.OwnerID != r.Owner {
				continue
			}
			switch {
			case l.to == "":
				i.UserDataRan = true
			case i.State == l.from:
				i.State = l.to
				if l.to == model.InstanceTerminated {
					delete(f.enis, i.PrimaryENI)
					f.changedLocked("eni/" + i.OwnerID + "/" + i.PrimaryENI)
				}
			}
			f.instances[r.ID] = i
			f.changedLocked("instance/" + i.OwnerID + "/" + i.ID)
		}
		parts = append(parts, l.name+"="+strings.Join(ids, ","))
	}
	if f.log != nil {
		f.log.add("advance %s", strings.Join(parts, " "))
	}
	return nil
}

func (f *fakeState) PurgeTerminatedInstances(ctx context.Context) ([]controlplane.Ref, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []controlplane.Ref
	for _, id := range f.purgeable {
		if i, ok := f.instances[id]; ok && i.State == model.InstanceTerminated {
			delete(f.instances, id)
			f.changedLocked("instance/" + i.OwnerID + "/" + id)
			out = append(out, controlplane.Ref{Owner: i.OwnerID, ID: id})
		}
	}
	f.purgeable = nil
	return out, nil
}

func (f *fakeState) putGroup(g model.SecurityGroup) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.groups[g.ID] = g
	f.changedLocked("sg/" + g.OwnerID + "/" + g.ID)
}

func (f *fakeState) putInstance(i model.Instance, eni model.NetworkInterface) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.instances[i.ID] = i
	f.enis[eni.ID] = eni
	f.changedLocked("eni/" + eni.OwnerID + "/" + eni.ID)
	f.changedLocked("instance/" + i.OwnerID + "/" + i.ID)
}

func (f *fakeState) setInstanceState(id, state string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.instances[id]
	i.State = state
	f.instances[id] = i
	f.changedLocked("instance/" + i.OwnerID + "/" + id)
}

func (f *fakeState) instance(id string) (model.Instance, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, ok := f.instances[id]
	return i, ok
}

const (
	inst1 = "i-01111111111111111"
	eni1  = "eni-01111111111111111"
	sg1   = "sg-01111111111111111"
)

// dnsVpc returns an available VPC with DNS support and its subnet1.
func dnsVpc() (model.Vpc, model.Subnet) {
	v := vpc(vpcA)
	v.State, v.EnableDnsSupport = model.StateAvailable, true
	s := subnet(subnet1, vpcA, "10.0.1.0/24")
	s.State = model.StateAvailable
	return v, s
}

func pendingInstance(id, eniID, ip, mac, userData string) (model.Instance, model.NetworkInterface) {
	i := model.Instance{
		ID: id, OwnerID: owner, VpcID: vpcA, SubnetID: subnet1, PrimaryENI: eniID, PrivateIP: ip,
		State: model.InstancePending, UserData: base64.StdEncoding.EncodeToString([]byte(userData)),
	}
	e := model.NetworkInterface{
		ID: eniID, OwnerID: owner, VpcID: vpcA, SubnetID: subnet1, PrivateIP: ip, MacAddress: mac,
		Groups: []string{sg1}, InstanceID: id, BridgePort: "p" + eniID[len(eniID)-4:],
	}
	return i, e
}

// TestInstanceLifecycle follows an instance through launch, stop, start and
// terminate, and checks the order of the calls across the data plane, the
// supervisor and the control plane: processes are killed while the
// namespace still exists, and the status is written back once, after both.
func TestInstanceLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newFakeState()
		log := &callLog{}
		st.log = log
		v, s := dnsVpc()
		st.putVpc(v)
		st.putSubnet(s)
		st.putGroup(model.SecurityGroup{ID: sg1, OwnerID: owner, VpcID: vpcA, Name: "default",
			Ingress: []model.SecurityGroupRule{{Protocol: "-1", FromPort: -1, ToPort: -1, GroupID: sg1}},
			Egress:  []model.SecurityGroupRule{{Protocol: "-1", FromPort: -1, ToPort: -1, CidrIPv4: "0.0.0.0/0"}},
		})
		const script = "#!/bin/sh\necho hello\n"
		i, e := pendingInstance(inst1, eni1, "10.0.1.10", "02:00:00:00:01:10", script)
		st.putInstance(i, e)

		dp := dataplane.NewFake()
		sup := &fakeSupervisor{log: log}
		res := &fakeResolver{}
		ns := prefix + inst1
		h := startWith(t, st, dp, func(c *controller.Config) {
			c.DataPlane = recordingDP{dp, log}
			c.Supervisor = sup
			c.Resolver = res
			c.Purger = st
			c.Forwarder = pruningForwarder{log, ns}
		})
		h.settle(time.Second)
		run := fmt.Sprintf("supervisor [%s@%s run %q]", inst1, ns, script)
		stop := fmt.Sprintf("supervisor [%s@%s stop %q]", inst1, ns, script)
		check := func(step string, want []string, state string, hosted bool) {
			t.Helper()
			if diff := cmp.Diff(want, log.take(t)); diff != "" {
				t.Errorf("%s: calls mismatch (-want +got):\n%s", step, diff)
			}
			if got, _ := st.instance(inst1); got.State != state {
				t.Errorf("%s: state = %q, want %q", step, got.State, state)
			}
			names, _ := dp.Namespaces(t.Context(), prefix)
			if got := slices.Contains(names, ns); got != hosted {
				t.Errorf("%s: namespace %s exists = %v, want %v (namespaces %q)", step, ns, got, hosted, names)
			}
		}
		check("launch", []string{
			"dataplane hosts=[" + ns + "]",
			run,
			"advance running=" + inst1 + " userDataRan=" + inst1,
		}, model.InstanceRunning, true)
		if resolv, _ := dp.Resolv(ns); !strings.Contains(resolv, "nameserver 10.0.0.2") {
			t.Errorf("resolv.conf of %s = %q, want nameserver 10.0.0.2", ns, resolv)
		}
		if got, _ := st.instance(inst1); !got.UserDataRan {
			t.Error("UserDataRan = false after launch")
		}

		st.setInstanceState(inst1, model.InstanceStopping)
		h.settle(time.Second)
		check("stop", []string{
			"dataplane hosts=[" + ns + "]",
			stop,
			"advance stopped=" + inst1,
		}, model.InstanceStopped, true)

		st.setInstanceState(inst1, model.InstancePending)
		h.settle(time.Second)
		check("start", []string{
			"dataplane hosts=[" + ns + "]",
			run,
			"advance running=" + inst1,
		}, model.InstanceRunning, true)

		st.setInstanceState(inst1, model.InstanceShuttingDown)
		h.settle(time.Second)
		check("terminate", []string{
			"dataplane hosts=[" + ns + "]",
			stop,
			"forwarder prune " + ns, // before its namespace goes
			"dataplane hosts=[]",
			"advance terminated=" + inst1,
		}, model.InstanceTerminated, false)
		h.settle(controller.DefaultResync) // the next pass
		if got := log.take(t); !slices.Contains(got, "supervisor []") {
			t.Errorf("after termination: calls %q, want the workload unlisted", got)
		}
		if got := res.config().Resolvers[0].Records.A; len(got) != 0 {
			t.Errorf("records after termination = %v, want none", got)
		}

		// The purge runs once a minute and forgets the workload.
		st.mu.Lock()
		st.purgeable = []string{inst1}
		st.mu.Unlock()
		h.settle(controller.DefaultPurge)
		if got := log.take(t); !slices.Contains(got, "forget "+inst1) {
			t.Errorf("after the purge period: calls %q, want forget %s", got, inst1)
		}
		if _, ok := st.instance(inst1); ok {
			t.Error("instance still in the store after the purge")
		}
		if got := h.ctrl.Status().LastError; got != "" {
			t.Errorf("Status().LastError = %q", got)
		}
	})
}

// TestFailureIsolation checks that a failing supervisor or resolver does
// not keep the kernel from being configured, nor each other from running,
// and that the instance advances once the failure is gone.
func TestFailureIsolation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newFakeState()
		log := &callLog{}
		v, s := dnsVpc()
		st.putVpc(v)
		st.putSubnet(s)
		i, e := pendingInstance(inst1, eni1, "10.0.1.10", "02:00:00:00:01:10", "")
		st.putInstance(i, e)
		dp := dataplane.NewFake()
		sup := &fakeSupervisor{log: log, err: errors.New("nsexec: boom")}
		res := &fakeResolver{err: errors.New("listen: boom")}
		h := startWith(t, st, dp, func(c *controller.Config) {
			c.Supervisor = sup
			c.Resolver = res
		})
		h.settle(time.Second)
		want := "supervisor: nsexec: boom\nvpc dns: listen: boom"
		if got := h.ctrl.Status().LastError; got != want {
			t.Errorf("Status().LastError = %q, want %q", got, want)
		}
		if names, _ := dp.Namespaces(t.Context(), prefix); !slices.Contains(names, prefix+inst1) {
			t.Errorf("namespaces = %q, want the instance's despite the failures", names)
		}
		if len(res.config().Resolvers) != 1 {
			t.Errorf("resolver config = %+v, want one resolver despite the supervisor", res.config())
		}
		if got, _ := st.instance(inst1); got.State != model.InstancePending {
			t.Errorf("state = %q, want pending while the supervisor fails", got.State)
		}

		sup.mu.Lock()
		sup.err = nil
		sup.mu.Unlock()
		h.settle(controller.DefaultMaxBackoff)
		if got, _ := st.instance(inst1); got.State != model.InstanceRunning {
			t.Errorf("state = %q, want running once the supervisor recovers", got.State)
		}
	})
}

// TestDNSRecords checks the resolvers the controller asks for: one per VPC
// with DNS support, at base+2 in its router, answering the names of that
// VPC's instances only.
func TestDNSRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newFakeState()
		v, s := dnsVpc()
		st.putVpc(v)
		st.putSubnet(s)
		noDNS := vpc(vpcB)
		noDNS.CidrBlock = "10.0.0.0/16"
		st.putVpc(noDNS)
		i, e := pendingInstance(inst1, eni1, "10.0.1.10", "02:00:00:00:01:10", "")
		st.putInstance(i, e)
		i2, e2 := pendingInstance("i-02222222222222222", "eni-02222222222222222", "10.0.1.11", "02:00:00:00:01:11", "")
		st.putInstance(i2, e2)
		gone, goneENI := pendingInstance("i-03333333333333333", "eni-03333333333333333", "10.0.1.12", "02:00:00:00:01:12", "")
		gone.State = model.InstanceTerminated
		st.putInstance(gone, goneENI)
		res := &fakeResolver{}
		h := startWith(t, st, dataplane.NewFake(), func(c *controller.Config) { c.Resolver = res })
		h.settle(time.Second)
		want := vpcdns.Config{Resolvers: []vpcdns.Resolver{{
			Namespace: prefix + vpcA,
			Addr:      netip.MustParseAddr("10.0.0.2"),
			Records: vpcdns.Records{A: map[string][]netip.Addr{
				"ip-10-0-1-10.ec2.internal.": {netip.MustParseAddr("10.0.1.10")},
				"ip-10-0-1-11.ec2.internal.": {netip.MustParseAddr("10.0.1.11")},
			}},
		}}}
		if diff := cmp.Diff(want, res.config(), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
			t.Errorf("resolver config mismatch (-want +got):\n%s", diff)
		}
	})
}
