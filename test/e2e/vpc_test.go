package e2e_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/test/e2e"
)

// settle bounds every wait for the daemon to catch up: a state to become
// available, a namespace to appear or go.
const settle = 10 * time.Second

// TestPrivilegedVPCAcceptance is the acceptance script of issue 2: two
// accounts build the same network (10.0.0.0/16 with a subnet in us-east-1a
// and one in us-east-1b), find it with filters, tag it, cannot see or touch
// each other's, and tear it down; each VPC is a namespace plk-<vpc-id> that
// comes and goes with it.
func TestPrivilegedVPCAcceptance(t *testing.T) {
	env := e2e.New(t)
	alice := env.Account("alice")
	bob := env.Account("bob")
	if alice.ID == bob.ID {
		t.Fatalf("two accounts got the same id %s", alice.ID)
	}

	type network struct {
		acct       *e2e.Account
		vpc        string
		subA, subB string
	}
	var nets []*network
	for _, a := range []*e2e.Account{alice, bob} {
		vpc := a.CreateVpc(t, "10.0.0.0/16", "Name=shared-"+a.Name, "owner="+a.Name)
		id := aws.ToString(vpc.VpcId)
		if got := aws.ToString(vpc.CidrBlock); got != "10.0.0.0/16" {
			t.Errorf("%s: CreateVpc CidrBlock = %q, want 10.0.0.0/16", a.Name, got)
		}
		if got := aws.ToString(vpc.OwnerId); got != a.ID {
			t.Errorf("%s: CreateVpc OwnerId = %q, want %s", a.Name, got, a.ID)
		}
		if vpc.State != types.VpcStatePending && vpc.State != types.VpcStateAvailable {
			t.Errorf("%s: CreateVpc State = %q, want pending or available", a.Name, vpc.State)
		}
		if diff := cmp.Diff(map[string]string{"Name": "shared-" + a.Name, "owner": a.Name}, tagMap(vpc.Tags)); diff != "" {
			t.Errorf("%s: CreateVpc Tags mismatch (-want +got):\n%s", a.Name, diff)
		}
		subA := a.CreateSubnet(t, id, "10.0.1.0/24", "us-east-1a", "Name="+a.Name+"-a")
		subB := a.CreateSubnet(t, id, "10.0.2.0/24", "us-east-1b", "Name="+a.Name+"-b")
		nets = append(nets, &network{acct: a, vpc: id, subA: aws.ToString(subA.SubnetId), subB: aws.ToString(subB.SubnetId)})
	}
	ali, bo := nets[0], nets[1]
	if ali.vpc == bo.vpc {
		t.Fatalf("both accounts got VPC id %s", ali.vpc)
	}

	t.Run("available", func(t *testing.T) {
		for _, n := range nets {
			n.acct.WaitVpcAvailable(t, n.vpc, settle)
			for _, want := range []struct{ id, cidr, az, azID string }{
				{n.subA, "10.0.1.0/24", "us-east-1a", "use1-az1"},
				{n.subB, "10.0.2.0/24", "us-east-1b", "use1-az2"},
			} {
				sn := n.acct.WaitSubnetAvailable(t, want.id, settle)
				got := []string{aws.ToString(sn.VpcId), aws.ToString(sn.CidrBlock), aws.ToString(sn.AvailabilityZone), aws.ToString(sn.AvailabilityZoneId), aws.ToString(sn.OwnerId)}
				if diff := cmp.Diff([]string{n.vpc, want.cidr, want.az, want.azID, n.acct.ID}, got); diff != "" {
					t.Errorf("%s: subnet %s (VpcId, CidrBlock, AZ, AZ id, OwnerId) mismatch (-want +got):\n%s", n.acct.Name, want.id, diff)
				}
				if got := aws.ToInt32(sn.AvailableIpAddressCount); got != 251 {
					t.Errorf("%s: subnet %s AvailableIpAddressCount = %d, want 251 (a /24 less the 5 reserved)", n.acct.Name, want.id, got)
				}
			}
		}
	})

	t.Run("namespaces", func(t *testing.T) {
		for _, n := range nets {
			e2e.WaitNamespace(t, n.vpc, true, settle)
			if !slices.Contains(env.Namespaces(t), e2e.NamespaceName(n.vpc)) {
				t.Errorf("Namespaces() lacks %s", e2e.NamespaceName(n.vpc))
			}
			// The router holds each subnet's .1: the same addresses in
			// both namespaces, which is fine because nothing routes
			// between VPCs.
			e2e.WaitNamespaceAddr(t, n.vpc, "10.0.1.1/24", settle)
			e2e.WaitNamespaceAddr(t, n.vpc, "10.0.2.1/24", settle)
		}
	})

	t.Run("filters", func(t *testing.T) {
		for _, n := range nets {
			a := n.acct
			for _, tc := range []struct {
				name    string
				filters []types.Filter
				want    []string
			}{
				{"vpc-id", []types.Filter{e2e.Filter("vpc-id", n.vpc)}, []string{n.vpc}},
				{"vpc-id OR", []types.Filter{e2e.Filter("vpc-id", n.vpc, "vpc-0123456789abcdef0")}, []string{n.vpc}},
				{"tag:Name", []types.Filter{e2e.Filter("tag:Name", "shared-"+a.Name)}, []string{n.vpc}},
				{"tag:Name wildcard", []types.Filter{e2e.Filter("tag:Name", "shared-*")}, []string{n.vpc}},
				{"tag-key", []types.Filter{e2e.Filter("tag-key", "owner")}, []string{n.vpc}},
				{"cidr-block-association.cidr-block", []types.Filter{e2e.Filter("cidr-block-association.cidr-block", "10.0.0.0/16")}, []string{n.vpc}},
				{"cidr", []types.Filter{e2e.Filter("cidr", "10.0.0.0/16")}, []string{n.vpc}},
				{"state", []types.Filter{e2e.Filter("state", "available"), e2e.Filter("vpc-id", n.vpc)}, []string{n.vpc}},
				{"owner-id", []types.Filter{e2e.Filter("owner-id", a.ID), e2e.Filter("vpc-id", n.vpc)}, []string{n.vpc}},
				{"AND without match", []types.Filter{e2e.Filter("vpc-id", n.vpc), e2e.Filter("tag:Name", "nope")}, nil},
				{"other account's id", []types.Filter{e2e.Filter("vpc-id", other(nets, n).vpc)}, nil},
			} {
				out, err := a.EC2.DescribeVpcs(t.Context(), &ec2.DescribeVpcsInput{Filters: tc.filters})
				if err != nil {
					t.Errorf("%s: DescribeVpcs(%s): %v", a.Name, tc.name, err)
					continue
				}
				if diff := cmp.Diff(tc.want, vpcIDs(out.Vpcs)); diff != "" {
					t.Errorf("%s: DescribeVpcs(%s) mismatch (-want +got):\n%s", a.Name, tc.name, diff)
				}
			}
			for _, tc := range []struct {
				name    string
				filters []types.Filter
				want    []string
			}{
				{"vpc-id", []types.Filter{e2e.Filter("vpc-id", n.vpc)}, sorted(n.subA, n.subB)},
				{"availability-zone", []types.Filter{e2e.Filter("availability-zone", "us-east-1b")}, []string{n.subB}},
				{"availability-zone-id", []types.Filter{e2e.Filter("availability-zone-id", "use1-az1")}, []string{n.subA}},
				{"cidr-block", []types.Filter{e2e.Filter("cidr-block", "10.0.1.0/24")}, []string{n.subA}},
				{"tag:Name", []types.Filter{e2e.Filter("tag:Name", a.Name+"-b")}, []string{n.subB}},
				{"state AND az", []types.Filter{e2e.Filter("state", "available"), e2e.Filter("availability-zone", "us-east-1a", "us-east-1b")}, sorted(n.subA, n.subB)},
				{"az without match", []types.Filter{e2e.Filter("availability-zone", "us-east-1c")}, nil},
			} {
				out, err := a.EC2.DescribeSubnets(t.Context(), &ec2.DescribeSubnetsInput{Filters: tc.filters})
				if err != nil {
					t.Errorf("%s: DescribeSubnets(%s): %v", a.Name, tc.name, err)
					continue
				}
				if diff := cmp.Diff(tc.want, subnetIDs(out.Subnets)); diff != "" {
					t.Errorf("%s: DescribeSubnets(%s) mismatch (-want +got):\n%s", a.Name, tc.name, diff)
				}
			}
		}
	})

	// AWS takes a CIDR with host bits set and stores its canonical form
	// ("if you specify 100.68.0.18/18 … we create a CIDR block of
	// 100.68.0.0/18", VPC user guide).
	t.Run("canonical CIDR", func(t *testing.T) {
		ctx := t.Context()
		vpc := alice.CreateVpc(t, "10.5.0.1/16")
		if got := aws.ToString(vpc.CidrBlock); got != "10.5.0.0/16" {
			t.Errorf("CreateVpc(10.5.0.1/16) CidrBlock = %q, want 10.5.0.0/16", got)
		}
		sn := alice.CreateSubnet(t, ali.vpc, "10.0.3.7/24", "us-east-1c")
		if got := aws.ToString(sn.CidrBlock); got != "10.0.3.0/24" {
			t.Errorf("CreateSubnet(10.0.3.7/24) CidrBlock = %q, want 10.0.3.0/24", got)
		}
		if _, err := alice.EC2.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: sn.SubnetId}); err != nil {
			t.Errorf("DeleteSubnet: %v", err)
		}
		if _, err := alice.EC2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: vpc.VpcId}); err != nil {
			t.Errorf("DeleteVpc: %v", err)
		}
	})

	t.Run("tags", func(t *testing.T) {
		a, ctx := alice, t.Context()
		if _, err := a.EC2.CreateTags(ctx, &ec2.CreateTagsInput{
			Resources: []string{ali.vpc, ali.subA},
			Tags:      e2e.Tags("team=blue", "stage=e2e"),
		}); err != nil {
			t.Fatalf("CreateTags: %v", err)
		}
		// Overwriting a key replaces its value.
		if _, err := a.EC2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{ali.vpc}, Tags: e2e.Tags("owner=alice2")}); err != nil {
			t.Fatalf("CreateTags(overwrite): %v", err)
		}
		wantVpcTags := map[string]string{"Name": "shared-alice", "owner": "alice2", "team": "blue", "stage": "e2e"}
		if diff := cmp.Diff(wantVpcTags, describeTags(t, a, e2e.Filter("resource-id", ali.vpc))); diff != "" {
			t.Errorf("DescribeTags(resource-id=%s) mismatch (-want +got):\n%s", ali.vpc, diff)
		}
		if diff := cmp.Diff(wantVpcTags, tagMap(a.Vpc(t, ali.vpc).Tags)); diff != "" {
			t.Errorf("DescribeVpcs(%s).Tags mismatch (-want +got):\n%s", ali.vpc, diff)
		}
		out, err := a.EC2.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []types.Filter{e2e.Filter("key", "team")}})
		if err != nil {
			t.Fatalf("DescribeTags(key=team): %v", err)
		}
		var got []string
		for _, td := range out.Tags {
			got = append(got, aws.ToString(td.ResourceId)+" "+string(td.ResourceType)+" "+aws.ToString(td.Value))
		}
		slices.Sort(got)
		want := sorted(ali.vpc+" vpc blue", ali.subA+" subnet blue")
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("DescribeTags(key=team) mismatch (-want +got):\n%s", diff)
		}
		out, err = a.EC2.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []types.Filter{e2e.Filter("resource-type", "subnet"), e2e.Filter("key", "Name")}})
		if err != nil {
			t.Fatalf("DescribeTags(resource-type=subnet, key=Name): %v", err)
		}
		got = nil
		for _, td := range out.Tags {
			got = append(got, aws.ToString(td.ResourceId))
		}
		slices.Sort(got)
		if diff := cmp.Diff(sorted(ali.subA, ali.subB), got); diff != "" {
			t.Errorf("DescribeTags(resource-type=subnet, key=Name) mismatch (-want +got):\n%s", diff)
		}

		// DeleteTags with a value deletes only on a match; without one it
		// deletes the key whatever its value.
		if _, err := a.EC2.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{ali.vpc}, Tags: e2e.Tags("team=red")}); err != nil {
			t.Fatalf("DeleteTags(team=red): %v", err)
		}
		if _, err := a.EC2.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{ali.vpc, ali.subA}, Tags: []types.Tag{{Key: aws.String("stage")}}}); err != nil {
			t.Fatalf("DeleteTags(stage): %v", err)
		}
		wantVpcTags = map[string]string{"Name": "shared-alice", "owner": "alice2", "team": "blue"}
		if diff := cmp.Diff(wantVpcTags, describeTags(t, a, e2e.Filter("resource-id", ali.vpc))); diff != "" {
			t.Errorf("after DeleteTags: DescribeTags(resource-id=%s) mismatch (-want +got):\n%s", ali.vpc, diff)
		}
		if _, err := a.EC2.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{ali.vpc, ali.subA}, Tags: e2e.Tags("team=blue")}); err != nil {
			t.Fatalf("DeleteTags(team=blue): %v", err)
		}
		if diff := cmp.Diff(map[string]string{"Name": "alice-a"}, describeTags(t, a, e2e.Filter("resource-id", ali.subA))); diff != "" {
			t.Errorf("after DeleteTags: DescribeTags(resource-id=%s) mismatch (-want +got):\n%s", ali.subA, diff)
		}
		// Bob's tags are his alone.
		if got := describeTags(t, bob, e2e.Filter("resource-id", ali.vpc, ali.subA)); len(got) != 0 {
			t.Errorf("bob: DescribeTags(resource-id=alice's) = %v, want nothing", got)
		}
	})

	t.Run("isolation", func(t *testing.T) {
		ctx := t.Context()
		before := alice.Snapshot(t)
		for _, tc := range []struct {
			name string
			call func() error
			code string
		}{
			{"DescribeVpcs", func() error {
				_, err := bob.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{ali.vpc}})
				return err
			}, "InvalidVpcID.NotFound"},
			{"DescribeSubnets", func() error {
				_, err := bob.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{ali.subA}})
				return err
			}, "InvalidSubnetID.NotFound"},
			{"DeleteVpc", func() error {
				_, err := bob.EC2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(ali.vpc)})
				return err
			}, "InvalidVpcID.NotFound"},
			{"DeleteSubnet", func() error {
				_, err := bob.EC2.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(ali.subB)})
				return err
			}, "InvalidSubnetID.NotFound"},
			{"CreateSubnet", func() error {
				_, err := bob.EC2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(ali.vpc), CidrBlock: aws.String("10.0.3.0/24"), AvailabilityZone: aws.String("us-east-1a")})
				return err
			}, "InvalidVpcID.NotFound"},
			{"CreateSecurityGroup", func() error {
				_, err := bob.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: aws.String(ali.vpc), GroupName: aws.String("intruder"), Description: aws.String("x")})
				return err
			}, "InvalidVpcID.NotFound"},
		} {
			err := tc.call()
			if code, status := e2e.APIError(err); code != tc.code || status != http.StatusBadRequest {
				t.Errorf("bob: %s on alice's resource: got %q (HTTP %d), want %s (HTTP 400); err=%v", tc.name, code, status, tc.code, err)
			}
		}
		// Tagging another account's resource must fail (AWS does not
		// document the code; it must not succeed).
		if _, err := bob.EC2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{ali.vpc}, Tags: e2e.Tags("pwned=1")}); err == nil {
			t.Errorf("bob: CreateTags on alice's VPC succeeded")
		}
		if _, err := bob.EC2.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{ali.vpc}, Tags: []types.Tag{{Key: aws.String("Name")}}}); err == nil {
			t.Errorf("bob: DeleteTags on alice's VPC succeeded")
		}
		out, err := bob.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
		if err != nil {
			t.Fatalf("bob: DescribeVpcs: %v", err)
		}
		if ids := vpcIDs(out.Vpcs); !slices.Contains(ids, bo.vpc) || slices.Contains(ids, ali.vpc) {
			t.Errorf("bob: DescribeVpcs() = %v, want his %s and not alice's %s", ids, bo.vpc, ali.vpc)
		}
		sns, err := bob.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
		if err != nil {
			t.Fatalf("bob: DescribeSubnets: %v", err)
		}
		for _, id := range subnetIDs(sns.Subnets) {
			if id == ali.subA || id == ali.subB {
				t.Errorf("bob: DescribeSubnets() includes alice's %s", id)
			}
		}
		if diff := cmp.Diff(before, alice.Snapshot(t)); diff != "" {
			t.Errorf("bob's attempts changed alice's resources (-before +after):\n%s", diff)
		}
	})

	t.Run("delete", func(t *testing.T) {
		for i, n := range nets {
			a, ctx := n.acct, t.Context()
			for _, sn := range []string{n.subA, n.subB} {
				if _, err := a.EC2.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(sn)}); err != nil {
					t.Fatalf("%s: DeleteSubnet(%s): %v", a.Name, sn, err)
				}
			}
			if _, err := a.EC2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(n.vpc)}); err != nil {
				t.Fatalf("%s: DeleteVpc(%s): %v", a.Name, n.vpc, err)
			}
			e2e.WaitNamespace(t, n.vpc, false, settle)
			_, err := a.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{n.vpc}})
			if code, _ := e2e.APIError(err); code != "InvalidVpcID.NotFound" {
				t.Errorf("%s: DescribeVpcs(deleted %s): got %v, want InvalidVpcID.NotFound", a.Name, n.vpc, err)
			}
			_, err = a.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{n.subA}})
			if code, _ := e2e.APIError(err); code != "InvalidSubnetID.NotFound" {
				t.Errorf("%s: DescribeSubnets(deleted %s): got %v, want InvalidSubnetID.NotFound", a.Name, n.subA, err)
			}
			if i == 0 && !e2e.HasNamespace(e2e.NamespaceName(bo.vpc)) {
				t.Errorf("deleting alice's VPC took bob's namespace %s with it", e2e.NamespaceName(bo.vpc))
			}
		}
	})
}

// other returns the network in nets that is not n.
func other[T comparable](nets []T, n T) T {
	for _, x := range nets {
		if x != n {
			return x
		}
	}
	return n
}

func tagMap(tags []types.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

// describeTags returns key→value of the tags that match filters.
func describeTags(t *testing.T, a *e2e.Account, filters ...types.Filter) map[string]string {
	t.Helper()
	out, err := a.EC2.DescribeTags(t.Context(), &ec2.DescribeTagsInput{Filters: filters})
	if err != nil {
		t.Fatalf("%s: DescribeTags: %v", a.Name, err)
	}
	m := map[string]string{}
	for _, td := range out.Tags {
		m[aws.ToString(td.Key)] = aws.ToString(td.Value)
	}
	return m
}

func vpcIDs(vpcs []types.Vpc) []string {
	var ids []string
	for _, v := range vpcs {
		ids = append(ids, aws.ToString(v.VpcId))
	}
	slices.Sort(ids)
	return ids
}

func subnetIDs(sns []types.Subnet) []string {
	var ids []string
	for _, s := range sns {
		ids = append(ids, aws.ToString(s.SubnetId))
	}
	slices.Sort(ids)
	return ids
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}
