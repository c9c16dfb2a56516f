package e2e_test

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/test/e2e"
)

// TestPrivilegedDurability: an acknowledged CreateVpc survives kill -9, a
// namespace removed behind the daemon's back comes back without a restart,
// and a clean restart adopts the namespaces it finds instead of recreating
// them.
func TestPrivilegedDurability(t *testing.T) {
	env := e2e.New(t)
	acct := env.Account("default")

	t.Run("kill -9 right after CreateVpc", func(t *testing.T) {
		vpc := acct.CreateVpc(t, "10.1.0.0/16", "Name=durable")
		id := aws.ToString(vpc.VpcId)
		env.Kill9(t) // no delay: the API answered, so the write is on disk

		got := acct.WaitVpcAvailable(t, id, settle)
		if c := aws.ToString(got.CidrBlock); c != "10.1.0.0/16" {
			t.Errorf("after kill -9: VPC %s CidrBlock = %q, want 10.1.0.0/16", id, c)
		}
		if diff := cmp.Diff(map[string]string{"Name": "durable"}, tagMap(got.Tags)); diff != "" {
			t.Errorf("after kill -9: VPC %s tags mismatch (-want +got):\n%s", id, diff)
		}
		e2e.WaitNamespace(t, id, true, settle)

		// The same for a subnet, the write that follows.
		sn := acct.CreateSubnet(t, id, "10.1.1.0/24", "us-east-1a")
		env.Kill9(t)
		acct.WaitSubnetAvailable(t, aws.ToString(sn.SubnetId), settle)
		e2e.WaitNamespaceAddr(t, id, "10.1.1.1/24", settle)
	})

	t.Run("namespace deleted by hand comes back", func(t *testing.T) {
		vpc := acct.CreateVpc(t, "10.2.0.0/16")
		id := aws.ToString(vpc.VpcId)
		acct.CreateSubnet(t, id, "10.2.1.0/24", "us-east-1b")
		e2e.WaitNamespaceAddr(t, id, "10.2.1.1/24", settle)
		name := e2e.NamespaceName(id)
		before := e2e.NamespaceInode(t, name)
		release := e2e.HoldNamespace(t, name)

		e2e.DeleteNamespace(t, name)
		e2e.WaitNamespace(t, id, true, settle)
		// A new namespace, rebuilt in full: the subnet bridge and the
		// router's address are back too.
		e2e.WaitNamespaceAddr(t, id, "10.2.1.1/24", settle)
		if after := e2e.NamespaceInode(t, name); after == before {
			t.Errorf("namespace %s has its old inode %d after deletion; want a new namespace", name, before)
		}
		release()
		if got := acct.Vpc(t, id).State; got != "available" {
			t.Errorf("VPC %s state = %q after its namespace was rebuilt, want available", id, got)
		}
	})

	t.Run("SIGTERM restart keeps namespaces", func(t *testing.T) {
		vpc := acct.CreateVpc(t, "10.3.0.0/16")
		id := aws.ToString(vpc.VpcId)
		acct.CreateSubnet(t, id, "10.3.1.0/24", "us-east-1c")
		e2e.WaitNamespaceAddr(t, id, "10.3.1.1/24", settle)
		name := e2e.NamespaceName(id)
		before := e2e.NamespaceInode(t, name)
		release := e2e.HoldNamespace(t, name) // so that one made again gets another inode

		env.Stop(t)
		// Shutdown leaves the kernel state in place.
		if !e2e.HasNamespace(name) {
			t.Fatalf("namespace %s is gone after SIGTERM; want it left in place", name)
		}
		if got := e2e.NamespaceAddrs(t, name); !slices.Contains(got, "10.3.1.1/24") {
			t.Errorf("after SIGTERM: addresses in %s = %v, want 10.3.1.1/24 kept", name, got)
		}
		env.Start(t)
		acct.WaitVpcAvailable(t, id, settle)
		e2e.WaitNamespaceAddr(t, id, "10.3.1.1/24", settle)
		if after := e2e.NamespaceInode(t, name); after != before {
			t.Errorf("namespace %s inode %d → %d across a clean restart; want it adopted, not recreated", name, before, after)
		}
		release()
	})
}
