package controller_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"

	"github.com/privlink/privlink/internal/controller"
	"github.com/privlink/privlink/internal/controlplane"
	"github.com/privlink/privlink/internal/dataplane"
	"github.com/privlink/privlink/internal/dataplane/netns"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store/boltstore"
	"github.com/privlink/privlink/internal/testenv"
)

// newStoreAndControlPlane returns a control plane in us-east-1 with the
// given zones over a fresh bbolt store, which it also returns for the
// controller's change feed.
func newStoreAndControlPlane(t *testing.T, logger *slog.Logger, zones ...string) (*controlplane.Service, *boltstore.Store) {
	t.Helper()
	st, err := boltstore.Open(t.Context(), filepath.Join(t.TempDir(), "privlink.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	zs, err := model.Zones("us-east-1", zones)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := controlplane.New(controlplane.Config{Store: st, Region: "us-east-1", Zones: zs, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	return cp, st
}

// TestPrivilegedController runs the controller with the Linux data plane
// against a real store: VPCs and subnets created through the control plane
// become namespaces and bridges, a namespace deleted by hand comes back, and
// deleting the VPC removes its namespace. Namespaces under the prefix that
// are not its own (another daemon's, one made by hand) are left alone.
func TestPrivilegedController(t *testing.T) {
	testenv.RequirePrivileged(t)
	prefix := testenv.Prefix(t)
	ctx := t.Context()
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))

	cp, st := newStoreAndControlPlane(t, logger, "a", "b", "c")
	if _, err := cp.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}

	// The leftover of an earlier run that the store no longer has, a
	// namespace of another daemon and one made by hand.
	const dpOwner = "0123456789abcdef"
	stale, other, handMade := prefix+"vpc-0123456789abcdef0", prefix+"vpc-0ffffffffffffffff", prefix+"vpc-0eeeeeeeeeeeeeeee"
	for name, owner := range map[string]string{stale: dpOwner, other: "fedcba9876543210", handMade: ""} {
		if err := netns.Create(name); err != nil {
			t.Fatal(err)
		}
		if owner != "" {
			setAlias(t, name, dataplane.OwnerAlias(owner))
		}
	}

	ctrl, err := controller.New(controller.Config{
		State: cp, Changes: st, DataPlane: dataplane.NewLinux(logger), Prefix: prefix, Owner: dpOwner, Region: "us-east-1", Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- ctrl.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v", err)
		}
	})

	testenv.WaitFor(t, 10*time.Second, "the stale namespace to go", func() error {
		return namespaceGone(stale)
	})

	const account = controlplane.BootstrapAccountID
	vpc, err := cp.CreateVpc(ctx, account, controlplane.CreateVpcInput{CidrBlock: "10.0.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	var subnets []controlplane.Subnet
	for i, zone := range []string{"us-east-1a", "us-east-1b"} {
		sn, err := cp.CreateSubnet(ctx, account, controlplane.CreateSubnetInput{
			VpcID: vpc.ID, CidrBlock: fmt.Sprintf("10.0.%d.0/24", i+1), AvailabilityZone: zone,
		})
		if err != nil {
			t.Fatal(err)
		}
		subnets = append(subnets, sn)
	}
	ns := prefix + vpc.ID
	want := map[string]netip.Prefix{
		subnets[0].BridgeName: netip.MustParsePrefix("10.0.1.1/24"),
		subnets[1].BridgeName: netip.MustParsePrefix("10.0.2.1/24"),
	}
	configured := func() error { return checkRouter(ns, want) }

	testenv.WaitFor(t, 10*time.Second, "the VPC router with two bridges", configured)
	testenv.WaitFor(t, 10*time.Second, "the VPC and subnets to be available", func() error {
		snap, err := cp.Snapshot(ctx)
		if err != nil {
			return err
		}
		for _, v := range snap.Vpcs {
			if v.State != model.StateAvailable {
				return fmt.Errorf("vpc %s is %s", v.ID, v.State)
			}
		}
		for _, s := range snap.Subnets {
			if s.State != model.StateAvailable {
				return fmt.Errorf("subnet %s is %s", s.ID, s.State)
			}
		}
		return nil
	})

	// Deleted by hand, the namespace comes back on the periodic resync.
	// A pass may run between the unmount and the removal of the mount
	// point, see the half-deleted namespace as stale and re-create it;
	// the removal then finds a mount (EBUSY): delete again.
	testenv.WaitFor(t, 5*time.Second, "deleting the namespace by hand", func() error { return netns.Delete(ns) })
	testenv.WaitFor(t, 3*controller.DefaultResync+time.Second, "the deleted namespace to come back", configured)

	for _, sn := range subnets {
		if err := cp.DeleteSubnet(ctx, account, controlplane.DeleteSubnetInput{SubnetID: sn.ID}); err != nil {
			t.Fatal(err)
		}
	}
	testenv.WaitFor(t, 10*time.Second, "the bridges to go", func() error { return checkRouter(ns, nil) })
	if err := cp.DeleteVpc(ctx, account, controlplane.DeleteVpcInput{VpcID: vpc.ID}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 10*time.Second, "the VPC namespace to go", func() error { return namespaceGone(ns) })

	left, err := testenv.ListNamespaces(prefix)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{handMade, other}; !slices.Equal(left, want) {
		t.Errorf("namespaces at the end = %q, want %q", left, want)
	}
}

// setAlias sets the alias of lo in the namespace name.
func setAlias(t *testing.T, name, alias string) {
	t.Helper()
	h, err := vnetns.GetFromName(name)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	nl, err := netlink.NewHandleAt(h)
	if err != nil {
		t.Fatal(err)
	}
	defer nl.Close()
	lo, err := nl.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	if err := nl.LinkSetAlias(lo, alias); err != nil {
		t.Fatal(err)
	}
}

func namespaceGone(name string) error {
	names, err := testenv.ListNamespaces(name)
	if err != nil {
		return err
	}
	if slices.Contains(names, name) {
		return fmt.Errorf("namespace %s still exists", name)
	}
	return nil
}

// checkRouter checks that namespace ns has exactly the bridges of want, up,
// each with its one IPv4 address.
func checkRouter(ns string, want map[string]netip.Prefix) error {
	h, err := vnetns.GetFromName(ns)
	if err != nil {
		return fmt.Errorf("open namespace %s: %w", ns, err)
	}
	defer h.Close()
	nl, err := netlink.NewHandleAt(h)
	if err != nil {
		return err
	}
	defer nl.Close()
	links, err := nl.LinkList()
	if errors.Is(err, netlink.ErrDumpInterrupted) {
		return err // WaitFor polls again
	}
	if err != nil {
		return err
	}
	got := map[string]netip.Prefix{}
	for _, l := range links {
		if l.Type() != "bridge" {
			continue
		}
		attrs := l.Attrs()
		if attrs.Flags&net.FlagUp == 0 {
			return fmt.Errorf("bridge %s is down", attrs.Name)
		}
		addrs, err := nl.AddrList(l, netlink.FAMILY_V4)
		if err != nil {
			return err
		}
		if len(addrs) != 1 {
			return fmt.Errorf("bridge %s has %d IPv4 addresses, want 1", attrs.Name, len(addrs))
		}
		ip, _ := netip.AddrFromSlice(addrs[0].IP.To4())
		ones, _ := addrs[0].Mask.Size()
		got[attrs.Name] = netip.PrefixFrom(ip, ones)
	}
	if len(got) != len(want) {
		return fmt.Errorf("bridges %v, want %v", got, want)
	}
	for name, p := range want {
		if got[name] != p {
			return fmt.Errorf("bridges %v, want %v", got, want)
		}
	}
	return nil
}
