package controlplane

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/model"
)

func mustAcl(t *testing.T, s *Service, account, vpcID string, tags ...model.Tag) *model.NetworkAcl {
	t.Helper()
	in := CreateNetworkAclInput{VpcID: vpcID}
	if len(tags) > 0 {
		in.TagSpecs = []TagSpec{{ResourceType: "network-acl", Tags: tags}}
	}
	a, err := s.CreateNetworkAcl(t.Context(), account, in)
	if err != nil {
		t.Fatalf("CreateNetworkAcl(%s): %v", vpcID, err)
	}
	return a
}

func getAcl(t *testing.T, s *Service, account, id string) *model.NetworkAcl {
	t.Helper()
	out, err := s.DescribeNetworkAcls(t.Context(), account, DescribeNetworkAclsInput{NetworkAclIDs: []string{id}})
	if err != nil {
		t.Fatalf("DescribeNetworkAcls(%s): %v", id, err)
	}
	if len(out.NetworkAcls) != 1 {
		t.Fatalf("DescribeNetworkAcls(%s) = %d ACLs, want 1", id, len(out.NetworkAcls))
	}
	return out.NetworkAcls[0]
}

func mustEntry(t *testing.T, s *Service, account string, in NetworkAclEntryInput) {
	t.Helper()
	if err := s.CreateNetworkAclEntry(t.Context(), account, in); err != nil {
		t.Fatalf("CreateNetworkAclEntry(%d): %v", *in.RuleNumber, err)
	}
}

// defaultAssociation returns the association of subnetID with its VPC's
// default ACL.
func defaultAssociation(t *testing.T, s *Service, account string, vpc model.Vpc, subnetID string) model.NetworkAclAssociation {
	t.Helper()
	as, ok := getAcl(t, s, account, vpc.DefaultNetworkAclID).Association(subnetID)
	if !ok {
		t.Fatalf("subnet %s not associated with the default ACL", subnetID)
	}
	return as
}

func TestCreateNetworkAcl(t *testing.T) {
	s, st := newNetTestService(t)
	ctx := t.Context()
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	acl := mustAcl(t, s, netAcctA, vpc.ID, model.Tag{Key: "Name", Value: "private"})
	if !model.ValidID("acl", acl.ID) || len(acl.ID) != len("acl-")+17 {
		t.Errorf("NetworkAclId = %q, want acl-<17 hex>", acl.ID)
	}
	// As in the botocore CreateNetworkAcl example: only the two "*" rules.
	want := &model.NetworkAcl{
		ID: acl.ID, OwnerID: netAcctA, VpcID: vpc.ID,
		Entries: []model.NetworkAclEntry{
			{RuleNumber: 32767, Egress: true, Protocol: "-1", RuleAction: "deny", CidrBlock: "0.0.0.0/0"},
			{RuleNumber: 32767, Egress: false, Protocol: "-1", RuleAction: "deny", CidrBlock: "0.0.0.0/0"},
		},
		Tags: []model.Tag{{Key: "Name", Value: "private"}},
	}
	if diff := cmp.Diff(want, acl); diff != "" {
		t.Errorf("CreateNetworkAcl() mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(acl, getAcl(t, s, netAcctA, acl.ID)); diff != "" {
		t.Errorf("DescribeNetworkAcls() mismatch (-want +got):\n%s", diff)
	}

	// ClientToken: a retry returns the same ACL and writes nothing.
	first, err := s.CreateNetworkAcl(ctx, netAcctA, CreateNetworkAclInput{VpcID: vpc.ID, ClientToken: "tok-1"})
	if err != nil {
		t.Fatal(err)
	}
	before := netRev(t, st)
	again, err := s.CreateNetworkAcl(ctx, netAcctA, CreateNetworkAclInput{VpcID: vpc.ID, ClientToken: "tok-1"})
	if err != nil || again.ID != first.ID {
		t.Errorf("retry = %v, %v; want %s", again, err, first.ID)
	}
	if netRev(t, st) != before {
		t.Error("an idempotent retry wrote")
	}
	other := mustVpc(t, s, netAcctA, "10.1.0.0/16")
	_, err = s.CreateNetworkAcl(ctx, netAcctA, CreateNetworkAclInput{VpcID: other.ID, ClientToken: "tok-1"})
	wantNetErr(t, err, "IdempotentParameterMismatch", 400)
	// Tokens are per account.
	vpcB := mustVpc(t, s, netAcctB, "10.0.0.0/16")
	b, err := s.CreateNetworkAcl(ctx, netAcctB, CreateNetworkAclInput{VpcID: vpcB.ID, ClientToken: "tok-1"})
	if err != nil || b.ID == first.ID {
		t.Errorf("B's CreateNetworkAcl with A's token = %v, %v; want a new ACL", b, err)
	}
}

func TestNetworkAclEntries(t *testing.T) {
	s, _ := newNetTestService(t)
	ctx := t.Context()
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	acl := mustAcl(t, s, netAcctA, vpc.ID)
	mustEntry(t, s, netAcctA, NetworkAclEntryInput{NetworkAclID: acl.ID, RuleNumber: new(int32(200)), Protocol: "6", RuleAction: "allow",
		CidrBlock: "100.68.0.18/18", PortRange: &PortRange{From: new(int32(443)), To: new(int32(443))}})
	mustEntry(t, s, netAcctA, NetworkAclEntryInput{NetworkAclID: acl.ID, RuleNumber: new(int32(100)), Protocol: "udp", RuleAction: "allow",
		CidrBlock: "0.0.0.0/0", PortRange: &PortRange{From: new(int32(53)), To: new(int32(53))}})
	mustEntry(t, s, netAcctA, NetworkAclEntryInput{NetworkAclID: acl.ID, RuleNumber: new(int32(100)), Egress: true, Protocol: "1", RuleAction: "DENY",
		CidrBlock: "10.0.0.0/8", Icmp: &IcmpTypeCode{Type: new(int32(8)), Code: new(int32(-1))}})
	// Protocols without ports ignore PortRange/Icmp; ICMPv6 needs them only
	// with an IPv6 CIDR.
	mustEntry(t, s, netAcctA, NetworkAclEntryInput{NetworkAclID: acl.ID, RuleNumber: new(int32(300)), Protocol: "-1", RuleAction: "deny",
		CidrBlock: "192.0.2.0/24", PortRange: &PortRange{From: new(int32(1)), To: new(int32(2))}})
	mustEntry(t, s, netAcctA, NetworkAclEntryInput{NetworkAclID: acl.ID, RuleNumber: new(int32(310)), Protocol: "58", RuleAction: "allow",
		Ipv6CidrBlock: "2001:db8::/32", Icmp: &IcmpTypeCode{Type: new(int32(-1)), Code: new(int32(-1))}})
	mustEntry(t, s, netAcctA, NetworkAclEntryInput{NetworkAclID: acl.ID, RuleNumber: new(int32(320)), Protocol: "58", RuleAction: "allow",
		CidrBlock: "10.0.0.0/8"})

	want := []model.NetworkAclEntry{
		{RuleNumber: 100, Egress: true, Protocol: "1", RuleAction: "deny", CidrBlock: "10.0.0.0/8", IcmpType: new(int32(8)), IcmpCode: new(int32(-1))},
		{RuleNumber: 32767, Egress: true, Protocol: "-1", RuleAction: "deny", CidrBlock: "0.0.0.0/0"},
		{RuleNumber: 100, Protocol: "17", RuleAction: "allow", CidrBlock: "0.0.0.0/0", PortFrom: new(int32(53)), PortTo: new(int32(53))},
		{RuleNumber: 200, Protocol: "6", RuleAction: "allow", CidrBlock: "100.68.0.0/18", PortFrom: new(int32(443)), PortTo: new(int32(443))},
		{RuleNumber: 300, Protocol: "-1", RuleAction: "deny", CidrBlock: "192.0.2.0/24"},
		{RuleNumber: 310, Protocol: "58", RuleAction: "allow", Ipv6CidrBlock: "2001:db8::/32", IcmpType: new(int32(-1)), IcmpCode: new(int32(-1))},
		{RuleNumber: 320, Protocol: "58", RuleAction: "allow", CidrBlock: "10.0.0.0/8"},
		{RuleNumber: 32767, Protocol: "-1", RuleAction: "deny", CidrBlock: "0.0.0.0/0"},
	}
	if diff := cmp.Diff(want, getAcl(t, s, netAcctA, acl.ID).Entries); diff != "" {
		t.Errorf("entries mismatch (-want +got):\n%s", diff)
	}

	// The same number in the other direction is another rule; in the same
	// direction it is a duplicate.
	err := s.CreateNetworkAclEntry(ctx, netAcctA, NetworkAclEntryInput{NetworkAclID: acl.ID, RuleNumber: new(int32(200)), Protocol: "-1", RuleAction: "deny", CidrBlock: "0.0.0.0/0"})
	wantMessage(t, err, "The network acl entry identified by 200 already exists.")

	if err := s.ReplaceNetworkAclEntry(ctx, netAcctA, NetworkAclEntryInput{NetworkAclID: acl.ID, RuleNumber: new(int32(200)), Protocol: "tcp", RuleAction: "deny",
		CidrBlock: "0.0.0.0/0", PortRange: &PortRange{From: new(int32(0)), To: new(int32(65535))}}); err != nil {
		t.Fatal(err)
	}
	err = s.ReplaceNetworkAclEntry(ctx, netAcctA, NetworkAclEntryInput{NetworkAclID: acl.ID, RuleNumber: new(int32(200)), Egress: true, Protocol: "-1", RuleAction: "deny", CidrBlock: "0.0.0.0/0"})
	wantMessage(t, err, "no egress entry with number 200")
	if err := s.DeleteNetworkAclEntry(ctx, netAcctA, DeleteNetworkAclEntryInput{NetworkAclID: acl.ID, RuleNumber: new(int32(100)), Egress: true}); err != nil {
		t.Fatal(err)
	}
	err = s.DeleteNetworkAclEntry(ctx, netAcctA, DeleteNetworkAclEntryInput{NetworkAclID: acl.ID, RuleNumber: new(int32(100)), Egress: true})
	wantMessage(t, err, "no egress entry with number 100")
	want = append([]model.NetworkAclEntry{want[1], want[2]},
		model.NetworkAclEntry{RuleNumber: 200, Protocol: "6", RuleAction: "deny", CidrBlock: "0.0.0.0/0", PortFrom: new(int32(0)), PortTo: new(int32(65535))})
	want = append(want, getAcl(t, s, netAcctA, acl.ID).Entries[3:]...)
	if diff := cmp.Diff(want, getAcl(t, s, netAcctA, acl.ID).Entries); diff != "" {
		t.Errorf("entries after replace and delete mismatch (-want +got):\n%s", diff)
	}

	// The quota: 20 rules per direction besides rule 32767.
	quota := mustAcl(t, s, netAcctA, vpc.ID)
	for n := int32(1); n <= 20; n++ {
		mustEntry(t, s, netAcctA, NetworkAclEntryInput{NetworkAclID: quota.ID, RuleNumber: new(n), Protocol: "-1", RuleAction: "allow", CidrBlock: "0.0.0.0/0"})
	}
	err = s.CreateNetworkAclEntry(ctx, netAcctA, NetworkAclEntryInput{NetworkAclID: quota.ID, RuleNumber: new(int32(21)), Protocol: "-1", RuleAction: "allow", CidrBlock: "0.0.0.0/0"})
	wantNetErr(t, err, "NetworkAclEntryLimitExceeded", 400)
	mustEntry(t, s, netAcctA, NetworkAclEntryInput{NetworkAclID: quota.ID, RuleNumber: new(int32(21)), Egress: true, Protocol: "-1", RuleAction: "allow", CidrBlock: "0.0.0.0/0"})
}

// TestNetworkAclBadInputs runs every bad input against one populated store
// and checks the AWS code, the HTTP status, and that nothing was written.
func TestNetworkAclBadInputs(t *testing.T) {
	s, st := newNetTestService(t)
	ctx := t.Context()
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	sn := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.1.0/24")
	other := mustVpc(t, s, netAcctA, "10.1.0.0/16")
	acl := mustAcl(t, s, netAcctA, vpc.ID)
	otherAcl := mustAcl(t, s, netAcctA, other.ID)
	used := mustAcl(t, s, netAcctA, vpc.ID)
	mustEntry(t, s, netAcctA, NetworkAclEntryInput{NetworkAclID: acl.ID, RuleNumber: new(int32(100)), Protocol: "-1", RuleAction: "allow", CidrBlock: "0.0.0.0/0"})
	assoc := defaultAssociation(t, s, netAcctA, vpc, sn.ID)
	moved, err := s.ReplaceNetworkAclAssociation(ctx, netAcctA, ReplaceNetworkAclAssociationInput{AssociationID: assoc.ID, NetworkAclID: used.ID})
	if err != nil {
		t.Fatal(err)
	}
	vpcB := mustVpc(t, s, netAcctB, "10.0.0.0/16")
	snB := mustSubnet(t, s, netAcctB, vpcB.ID, "10.0.1.0/24")
	aclB := mustAcl(t, s, netAcctB, vpcB.ID)
	assocB := defaultAssociation(t, s, netAcctB, vpcB, snB.ID)

	entry := func(mod func(*NetworkAclEntryInput)) func() error {
		in := NetworkAclEntryInput{NetworkAclID: acl.ID, RuleNumber: new(int32(110)), Protocol: "6", RuleAction: "allow",
			CidrBlock: "10.0.0.0/8", PortRange: &PortRange{From: new(int32(80)), To: new(int32(80))}}
		mod(&in)
		return func() error { return s.CreateNetworkAclEntry(ctx, netAcctA, in) }
	}
	replace := func(mod func(*NetworkAclEntryInput)) func() error {
		in := NetworkAclEntryInput{NetworkAclID: acl.ID, RuleNumber: new(int32(100)), Protocol: "-1", RuleAction: "deny", CidrBlock: "0.0.0.0/0"}
		mod(&in)
		return func() error { return s.ReplaceNetworkAclEntry(ctx, netAcctA, in) }
	}
	describe := func(in DescribeNetworkAclsInput) func() error {
		return func() error { _, err := s.DescribeNetworkAcls(ctx, netAcctA, in); return err }
	}
	reassoc := func(in ReplaceNetworkAclAssociationInput) func() error {
		return func() error { _, err := s.ReplaceNetworkAclAssociation(ctx, netAcctA, in); return err }
	}
	tests := []struct {
		name string
		call func() error
		code string
	}{
		{"create acl: no VpcId", func() error { _, err := s.CreateNetworkAcl(ctx, netAcctA, CreateNetworkAclInput{}); return err }, "MissingParameter"},
		{"create acl: malformed VpcId", func() error {
			_, err := s.CreateNetworkAcl(ctx, netAcctA, CreateNetworkAclInput{VpcID: "vpc-nope"})
			return err
		}, "InvalidVpcID.Malformed"},
		{"create acl: other account's VPC", func() error {
			_, err := s.CreateNetworkAcl(ctx, netAcctA, CreateNetworkAclInput{VpcID: vpcB.ID})
			return err
		}, "InvalidVpcID.NotFound"},
		{"create acl: wrong tag resource type", func() error {
			_, err := s.CreateNetworkAcl(ctx, netAcctA, CreateNetworkAclInput{VpcID: vpc.ID, TagSpecs: []TagSpec{{ResourceType: "security-group", Tags: []model.Tag{{Key: "k"}}}}})
			return err
		}, "InvalidParameterValue"},
		{"delete acl: default", func() error {
			return s.DeleteNetworkAcl(ctx, netAcctA, DeleteNetworkAclInput{NetworkAclID: vpc.DefaultNetworkAclID})
		}, "InvalidParameterValue"},
		{"delete acl: associated", func() error { return s.DeleteNetworkAcl(ctx, netAcctA, DeleteNetworkAclInput{NetworkAclID: used.ID}) }, "DependencyViolation"},
		{"delete acl: other account's", func() error { return s.DeleteNetworkAcl(ctx, netAcctA, DeleteNetworkAclInput{NetworkAclID: aclB.ID}) }, "InvalidNetworkAclID.NotFound"},
		{"delete acl: malformed", func() error { return s.DeleteNetworkAcl(ctx, netAcctA, DeleteNetworkAclInput{NetworkAclID: "acl-"}) }, "InvalidNetworkAclID.Malformed"},
		{"delete acl: no id", func() error { return s.DeleteNetworkAcl(ctx, netAcctA, DeleteNetworkAclInput{}) }, "MissingParameter"},
		{"entry: rule 0", entry(func(in *NetworkAclEntryInput) { in.RuleNumber = new(int32(0)) }), "InvalidParameterValue"},
		{"entry: rule 32767", entry(func(in *NetworkAclEntryInput) { in.RuleNumber = new(int32(32767)) }), "InvalidParameterValue"},
		{"entry: no rule number", entry(func(in *NetworkAclEntryInput) { in.RuleNumber = nil }), "MissingParameter"},
		{"entry: duplicate", entry(func(in *NetworkAclEntryInput) { in.RuleNumber = new(int32(100)) }), "NetworkAclEntryAlreadyExists"},
		{"entry: no protocol", entry(func(in *NetworkAclEntryInput) { in.Protocol = "" }), "MissingParameter"},
		{"entry: bad protocol", entry(func(in *NetworkAclEntryInput) { in.Protocol = "gre" }), "InvalidParameterValue"},
		{"entry: protocol 300", entry(func(in *NetworkAclEntryInput) { in.Protocol = "300" }), "InvalidParameterValue"},
		{"entry: no action", entry(func(in *NetworkAclEntryInput) { in.RuleAction = "" }), "MissingParameter"},
		{"entry: bad action", entry(func(in *NetworkAclEntryInput) { in.RuleAction = "reject" }), "InvalidParameterValue"},
		{"entry: no CIDR", entry(func(in *NetworkAclEntryInput) { in.CidrBlock = "" }), "MissingParameter"},
		{"entry: both CIDRs", entry(func(in *NetworkAclEntryInput) { in.Ipv6CidrBlock = "::/0" }), "InvalidParameterCombination"},
		{"entry: bad CIDR", entry(func(in *NetworkAclEntryInput) { in.CidrBlock = "10.0.0.0/40" }), "InvalidParameterValue"},
		{"entry: IPv6 as CidrBlock", entry(func(in *NetworkAclEntryInput) { in.CidrBlock = "::/0" }), "InvalidParameterValue"},
		{"entry: IPv4 as Ipv6CidrBlock", entry(func(in *NetworkAclEntryInput) { in.CidrBlock, in.Ipv6CidrBlock = "", "10.0.0.0/8" }), "InvalidParameterValue"},
		{"entry: tcp without ports", entry(func(in *NetworkAclEntryInput) { in.PortRange = nil }), "MissingParameter"},
		{"entry: tcp with half a range", entry(func(in *NetworkAclEntryInput) { in.PortRange = &PortRange{From: new(int32(80))} }), "MissingParameter"},
		{"entry: port 70000", entry(func(in *NetworkAclEntryInput) { in.PortRange = &PortRange{From: new(int32(1)), To: new(int32(70000))} }), "InvalidParameterValue"},
		{"entry: from > to", entry(func(in *NetworkAclEntryInput) { in.PortRange = &PortRange{From: new(int32(90)), To: new(int32(80))} }), "InvalidParameterValue"},
		{"entry: icmp without type/code", entry(func(in *NetworkAclEntryInput) { in.Protocol = "1"; in.PortRange = nil }), "MissingParameter"},
		{"entry: icmp type 300", entry(func(in *NetworkAclEntryInput) {
			in.Protocol, in.Icmp = "icmp", &IcmpTypeCode{Type: new(int32(300)), Code: new(int32(0))}
		}), "InvalidParameterValue"},
		{"entry: icmpv6 with IPv6 CIDR needs type/code", entry(func(in *NetworkAclEntryInput) { in.Protocol, in.CidrBlock, in.Ipv6CidrBlock = "58", "", "::/0" }), "MissingParameter"},
		{"entry: unknown ACL", entry(func(in *NetworkAclEntryInput) { in.NetworkAclID = "acl-12345678" }), "InvalidNetworkAclID.NotFound"},
		{"entry: other account's ACL", entry(func(in *NetworkAclEntryInput) { in.NetworkAclID = aclB.ID }), "InvalidNetworkAclID.NotFound"},
		{"entry: no ACL", entry(func(in *NetworkAclEntryInput) { in.NetworkAclID = "" }), "MissingParameter"},
		{"replace: missing entry", replace(func(in *NetworkAclEntryInput) { in.RuleNumber = new(int32(101)) }), "InvalidNetworkAclEntry.NotFound"},
		{"replace: wrong direction", replace(func(in *NetworkAclEntryInput) { in.Egress = true }), "InvalidNetworkAclEntry.NotFound"},
		{"replace: rule 32767", replace(func(in *NetworkAclEntryInput) { in.RuleNumber = new(int32(32767)) }), "InvalidParameterValue"},
		{"delete entry: missing", func() error {
			return s.DeleteNetworkAclEntry(ctx, netAcctA, DeleteNetworkAclEntryInput{NetworkAclID: acl.ID, RuleNumber: new(int32(5))})
		}, "InvalidNetworkAclEntry.NotFound"},
		{"delete entry: rule 32767", func() error {
			return s.DeleteNetworkAclEntry(ctx, netAcctA, DeleteNetworkAclEntryInput{NetworkAclID: acl.ID, RuleNumber: new(int32(32767))})
		}, "InvalidParameterValue"},
		{"delete entry: other account's ACL", func() error {
			return s.DeleteNetworkAclEntry(ctx, netAcctA, DeleteNetworkAclEntryInput{NetworkAclID: aclB.ID, RuleNumber: new(int32(32766))})
		}, "InvalidNetworkAclID.NotFound"},
		{"reassociate: unknown association", reassoc(ReplaceNetworkAclAssociationInput{AssociationID: "aclassoc-12345678", NetworkAclID: acl.ID}), "InvalidAssociationID.NotFound"},
		{"reassociate: old association id", reassoc(ReplaceNetworkAclAssociationInput{AssociationID: assoc.ID, NetworkAclID: acl.ID}), "InvalidAssociationID.NotFound"},
		{"reassociate: other account's association", reassoc(ReplaceNetworkAclAssociationInput{AssociationID: assocB.ID, NetworkAclID: acl.ID}), "InvalidAssociationID.NotFound"},
		{"reassociate: malformed association", reassoc(ReplaceNetworkAclAssociationInput{AssociationID: "assoc-1", NetworkAclID: acl.ID}), "InvalidAssociationID.Malformed"},
		{"reassociate: ACL of another VPC", reassoc(ReplaceNetworkAclAssociationInput{AssociationID: moved, NetworkAclID: otherAcl.ID}), "InvalidParameterValue"},
		{"reassociate: other account's ACL", reassoc(ReplaceNetworkAclAssociationInput{AssociationID: moved, NetworkAclID: aclB.ID}), "InvalidNetworkAclID.NotFound"},
		{"reassociate: no ACL", reassoc(ReplaceNetworkAclAssociationInput{AssociationID: moved}), "MissingParameter"},
		{"describe: unknown id", describe(DescribeNetworkAclsInput{NetworkAclIDs: []string{acl.ID, "acl-12345678"}}), "InvalidNetworkAclID.NotFound"},
		{"describe: malformed id", describe(DescribeNetworkAclsInput{NetworkAclIDs: []string{"acl-XYZ12345"}}), "InvalidNetworkAclID.Malformed"},
		{"describe: unknown filter", describe(DescribeNetworkAclsInput{Filters: []Filter{{Name: "entry.port", Values: []string{"80"}}}}), "InvalidParameterValue"},
		{"describe: MaxResults 1001 with ids", describe(DescribeNetworkAclsInput{NetworkAclIDs: []string{acl.ID}, Page: Page{MaxResults: 1001}}), "InvalidParameterCombination"},
		{"describe: MaxResults 2", describe(DescribeNetworkAclsInput{Page: Page{MaxResults: 2}}), "InvalidParameterValue"},
		{"delete vpc: custom ACL left", func() error { return s.DeleteVpc(ctx, netAcctA, DeleteVpcInput{VpcID: other.ID}) }, "DependencyViolation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := netRev(t, st)
			wantNetErr(t, tt.call(), tt.code, http.StatusBadRequest)
			if after := netRev(t, st); after != before {
				t.Errorf("store revision %d → %d: a failed call wrote", before, after)
			}
		})
	}
}

func TestNetworkAclErrorMessages(t *testing.T) {
	s, _ := newNetTestService(t)
	ctx := t.Context()
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	sn := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.1.0/24")
	other := mustVpc(t, s, netAcctA, "10.1.0.0/16")
	otherAcl := mustAcl(t, s, netAcctA, other.ID)
	assoc := defaultAssociation(t, s, netAcctA, vpc, sn.ID)
	tests := []struct {
		name string
		err  error
		msg  string
	}{
		{"unknown acl", s.DeleteNetworkAcl(ctx, netAcctA, DeleteNetworkAclInput{NetworkAclID: "acl-0123456789abcdef0"}),
			"The networkAcl ID 'acl-0123456789abcdef0' does not exist"},
		{"default acl", s.DeleteNetworkAcl(ctx, netAcctA, DeleteNetworkAclInput{NetworkAclID: vpc.DefaultNetworkAclID}),
			"cannot delete default network ACL " + vpc.DefaultNetworkAclID},
		{"malformed acl", s.DeleteNetworkAcl(ctx, netAcctA, DeleteNetworkAclInput{NetworkAclID: vpc.DefaultNetworkAclID + "x"}),
			`Invalid id: "` + vpc.DefaultNetworkAclID + `x" (expecting "acl-...")`},
		{"unknown association", func() error {
			_, err := s.ReplaceNetworkAclAssociation(ctx, netAcctA, ReplaceNetworkAclAssociationInput{AssociationID: "aclassoc-0123456789abcdef0", NetworkAclID: vpc.DefaultNetworkAclID})
			return err
		}(), "The association ID 'aclassoc-0123456789abcdef0' does not exist"},
		{"other network", func() error {
			_, err := s.ReplaceNetworkAclAssociation(ctx, netAcctA, ReplaceNetworkAclAssociationInput{AssociationID: assoc.ID, NetworkAclID: otherAcl.ID})
			return err
		}(), "Network acl " + otherAcl.ID + " and subnet " + sn.ID + " belong to different networks"},
		{"missing ingress entry", s.DeleteNetworkAclEntry(ctx, netAcctA, DeleteNetworkAclEntryInput{NetworkAclID: otherAcl.ID, RuleNumber: new(int32(120))}),
			"no ingress entry with number 120"},
		{"bad CIDR", s.CreateNetworkAclEntry(ctx, netAcctA, NetworkAclEntryInput{NetworkAclID: otherAcl.ID, RuleNumber: new(int32(1)), Protocol: "-1", RuleAction: "allow", CidrBlock: "bogus"}),
			"Value (bogus) for parameter cidrBlock is invalid. This is not a valid CIDR block."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantMessage(t, tt.err, tt.msg) })
	}
	// The ACL is still there, and deletable once its VPC's subnets are not
	// on it.
	if err := s.DeleteNetworkAcl(ctx, netAcctA, DeleteNetworkAclInput{NetworkAclID: otherAcl.ID}); err != nil {
		t.Errorf("DeleteNetworkAcl(unassociated) = %v", err)
	}
}

func TestReplaceNetworkAclAssociation(t *testing.T) {
	s, _ := newNetTestService(t)
	ctx := t.Context()
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	sn1 := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.1.0/24")
	sn2 := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.2.0/24")
	custom := mustAcl(t, s, netAcctA, vpc.ID)
	old := defaultAssociation(t, s, netAcctA, vpc, sn1.ID)

	newID, err := s.ReplaceNetworkAclAssociation(ctx, netAcctA, ReplaceNetworkAclAssociationInput{AssociationID: old.ID, NetworkAclID: custom.ID})
	if err != nil {
		t.Fatal(err)
	}
	if !model.ValidID("aclassoc", newID) || newID == old.ID {
		t.Errorf("newAssociationId = %q, want a new aclassoc- id (old %s)", newID, old.ID)
	}
	if diff := cmp.Diff([]model.NetworkAclAssociation{{ID: newID, SubnetID: sn1.ID}}, getAcl(t, s, netAcctA, custom.ID).Associations); diff != "" {
		t.Errorf("custom ACL associations mismatch (-want +got):\n%s", diff)
	}
	if _, ok := getAcl(t, s, netAcctA, vpc.DefaultNetworkAclID).Association(sn1.ID); ok {
		t.Error("subnet still associated with the default ACL")
	}
	filter := func(name, value string) []string {
		out, err := s.DescribeNetworkAcls(ctx, netAcctA, DescribeNetworkAclsInput{Filters: []Filter{{Name: name, Values: []string{value}}}})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, a := range out.NetworkAcls {
			ids = append(ids, a.ID)
		}
		return ids
	}
	if diff := cmp.Diff([]string{custom.ID}, filter("association.subnet-id", sn1.ID)); diff != "" {
		t.Errorf("association.subnet-id mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{vpc.DefaultNetworkAclID}, filter("association.subnet-id", sn2.ID)); diff != "" {
		t.Errorf("association.subnet-id (untouched subnet) mismatch (-want +got):\n%s", diff)
	}
	wantNetErr(t, s.DeleteNetworkAcl(ctx, netAcctA, DeleteNetworkAclInput{NetworkAclID: custom.ID}), "DependencyViolation", 400)

	// Replacing onto the same ACL still issues a new id; then back to the
	// default, which frees the custom ACL.
	again, err := s.ReplaceNetworkAclAssociation(ctx, netAcctA, ReplaceNetworkAclAssociationInput{AssociationID: newID, NetworkAclID: custom.ID})
	if err != nil || again == newID {
		t.Fatalf("same-ACL replace = %q, %v", again, err)
	}
	if got := getAcl(t, s, netAcctA, custom.ID).Associations; len(got) != 1 || got[0].ID != again {
		t.Errorf("same-ACL replace associations = %+v", got)
	}
	back, err := s.ReplaceNetworkAclAssociation(ctx, netAcctA, ReplaceNetworkAclAssociationInput{AssociationID: again, NetworkAclID: vpc.DefaultNetworkAclID})
	if err != nil {
		t.Fatal(err)
	}
	if as := defaultAssociation(t, s, netAcctA, vpc, sn1.ID); as.ID != back {
		t.Errorf("default ACL association = %s, want %s", as.ID, back)
	}
	if err := s.DeleteNetworkAcl(ctx, netAcctA, DeleteNetworkAclInput{NetworkAclID: custom.ID}); err != nil {
		t.Errorf("DeleteNetworkAcl(freed) = %v", err)
	}

	// Deleting a subnet on a custom ACL drops its association there.
	custom2 := mustAcl(t, s, netAcctA, vpc.ID)
	as2 := defaultAssociation(t, s, netAcctA, vpc, sn2.ID)
	if _, err := s.ReplaceNetworkAclAssociation(ctx, netAcctA, ReplaceNetworkAclAssociationInput{AssociationID: as2.ID, NetworkAclID: custom2.ID}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSubnet(ctx, netAcctA, DeleteSubnetInput{SubnetID: sn2.ID}); err != nil {
		t.Fatal(err)
	}
	if got := getAcl(t, s, netAcctA, custom2.ID).Associations; len(got) != 0 {
		t.Errorf("associations after DeleteSubnet = %+v, want none", got)
	}
}

func TestDescribeNetworkAclsFilters(t *testing.T) {
	s, _ := newNetTestService(t)
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	other := mustVpc(t, s, netAcctA, "10.1.0.0/16")
	sn := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.1.0/24")
	web := mustAcl(t, s, netAcctA, vpc.ID, model.Tag{Key: "tier", Value: "web"})
	db := mustAcl(t, s, netAcctA, other.ID, model.Tag{Key: "tier", Value: "db"})
	mustEntry(t, s, netAcctA, NetworkAclEntryInput{NetworkAclID: web.ID, RuleNumber: new(int32(110)), Protocol: "6", RuleAction: "allow",
		CidrBlock: "10.0.0.0/8", PortRange: &PortRange{From: new(int32(80)), To: new(int32(443))}})
	mustEntry(t, s, netAcctA, NetworkAclEntryInput{NetworkAclID: db.ID, RuleNumber: new(int32(120)), Egress: true, Protocol: "1", RuleAction: "allow",
		Ipv6CidrBlock: "::/0", Icmp: &IcmpTypeCode{Type: new(int32(0)), Code: new(int32(3))}})
	assoc := defaultAssociation(t, s, netAcctA, vpc, sn.ID)
	all := sorted([]string{vpc.DefaultNetworkAclID, other.DefaultNetworkAclID, web.ID, db.ID})

	tests := []struct {
		name    string
		filters []Filter
		want    []string
	}{
		{"none", nil, all},
		{"vpc-id", []Filter{{Name: "vpc-id", Values: []string{other.ID}}}, []string{other.DefaultNetworkAclID, db.ID}},
		{"default true", []Filter{{Name: "default", Values: []string{"true"}}}, []string{vpc.DefaultNetworkAclID, other.DefaultNetworkAclID}},
		{"default false", []Filter{{Name: "default", Values: []string{"false"}}}, []string{web.ID, db.ID}},
		{"network-acl-id", []Filter{{Name: "network-acl-id", Values: []string{web.ID}}}, []string{web.ID}},
		{"owner-id", []Filter{{Name: "owner-id", Values: []string{netAcctA}}}, all},
		{"tag", []Filter{{Name: "tag:tier", Values: []string{"d?"}}}, []string{db.ID}},
		{"tag-key", []Filter{{Name: "tag-key", Values: []string{"tier"}}}, []string{web.ID, db.ID}},
		{"association.association-id", []Filter{{Name: "association.association-id", Values: []string{assoc.ID}}}, []string{vpc.DefaultNetworkAclID}},
		{"association.network-acl-id", []Filter{{Name: "association.network-acl-id", Values: []string{"acl-*"}}}, []string{vpc.DefaultNetworkAclID}},
		{"association.subnet-id", []Filter{{Name: "association.subnet-id", Values: []string{sn.ID}}}, []string{vpc.DefaultNetworkAclID}},
		{"entry.cidr", []Filter{{Name: "entry.cidr", Values: []string{"10.0.0.0/8"}}}, []string{web.ID}},
		{"entry.ipv6-cidr", []Filter{{Name: "entry.ipv6-cidr", Values: []string{"::/0"}}}, []string{db.ID}},
		{"entry.icmp.type", []Filter{{Name: "entry.icmp.type", Values: []string{"0"}}}, []string{db.ID}},
		{"entry.icmp.code", []Filter{{Name: "entry.icmp.code", Values: []string{"3"}}}, []string{db.ID}},
		{"entry.port-range.from", []Filter{{Name: "entry.port-range.from", Values: []string{"80"}}}, []string{web.ID}},
		{"entry.port-range.to", []Filter{{Name: "entry.port-range.to", Values: []string{"443"}}}, []string{web.ID}},
		{"entry.protocol by number", []Filter{{Name: "entry.protocol", Values: []string{"6"}}}, []string{web.ID}},
		{"entry.protocol by name", []Filter{{Name: "entry.protocol", Values: []string{"icmp"}}}, []string{db.ID}},
		{"entry.protocol -1", []Filter{{Name: "entry.protocol", Values: []string{"-1"}}}, all},
		{"entry.rule-action allow", []Filter{{Name: "entry.rule-action", Values: []string{"allow"}}}, all},
		{"entry.rule-number", []Filter{{Name: "entry.rule-number", Values: []string{"100"}}}, []string{vpc.DefaultNetworkAclID, other.DefaultNetworkAclID}},
		{"entry.egress + entry.rule-number (any entries)", []Filter{{Name: "entry.egress", Values: []string{"true"}}, {Name: "entry.rule-number", Values: []string{"110"}}}, []string{web.ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := s.DescribeNetworkAcls(t.Context(), netAcctA, DescribeNetworkAclsInput{Filters: tt.filters})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range out.NetworkAcls {
				got = append(got, a.ID)
			}
			if diff := cmp.Diff(sorted(tt.want), got); diff != "" {
				t.Errorf("DescribeNetworkAcls() mismatch (-want +got):\n%s", diff)
			}
		})
	}
	// Paging.
	page, err := s.DescribeNetworkAcls(t.Context(), netAcctA, DescribeNetworkAclsInput{Page: Page{MaxResults: 5}})
	if err != nil || len(page.NetworkAcls) != 4 || page.NextToken != "" {
		t.Errorf("DescribeNetworkAcls(MaxResults 5) = %d, %q, %v", len(page.NetworkAcls), page.NextToken, err)
	}
	// Another account sees none of them.
	b, err := s.DescribeNetworkAcls(t.Context(), netAcctB, DescribeNetworkAclsInput{})
	if err != nil || len(b.NetworkAcls) != 0 {
		t.Errorf("DescribeNetworkAcls(B) = %+v, %v; want none", b, err)
	}
}

func TestNetworkAclDryRun(t *testing.T) {
	s, st := newNetTestService(t)
	ctx := t.Context()
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	sn := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.1.0/24")
	acl := mustAcl(t, s, netAcctA, vpc.ID)
	assoc := defaultAssociation(t, s, netAcctA, vpc, sn.ID)
	calls := []struct {
		name string
		call func() error
	}{
		{"CreateNetworkAcl", func() error {
			_, err := s.CreateNetworkAcl(ctx, netAcctA, CreateNetworkAclInput{VpcID: vpc.ID, ClientToken: "t", DryRun: true})
			return err
		}},
		{"DeleteNetworkAcl", func() error {
			return s.DeleteNetworkAcl(ctx, netAcctA, DeleteNetworkAclInput{NetworkAclID: acl.ID, DryRun: true})
		}},
		{"CreateNetworkAclEntry", func() error {
			return s.CreateNetworkAclEntry(ctx, netAcctA, NetworkAclEntryInput{NetworkAclID: acl.ID, RuleNumber: new(int32(1)), Protocol: "-1", RuleAction: "allow", CidrBlock: "0.0.0.0/0", DryRun: true})
		}},
		{"ReplaceNetworkAclEntry", func() error {
			return s.ReplaceNetworkAclEntry(ctx, netAcctA, NetworkAclEntryInput{NetworkAclID: vpc.DefaultNetworkAclID, RuleNumber: new(int32(100)), Protocol: "-1", RuleAction: "deny", CidrBlock: "0.0.0.0/0", DryRun: true})
		}},
		{"DeleteNetworkAclEntry", func() error {
			return s.DeleteNetworkAclEntry(ctx, netAcctA, DeleteNetworkAclEntryInput{NetworkAclID: vpc.DefaultNetworkAclID, RuleNumber: new(int32(100)), DryRun: true})
		}},
		{"ReplaceNetworkAclAssociation", func() error {
			_, err := s.ReplaceNetworkAclAssociation(ctx, netAcctA, ReplaceNetworkAclAssociationInput{AssociationID: assoc.ID, NetworkAclID: acl.ID, DryRun: true})
			return err
		}},
		{"DescribeNetworkAcls", func() error {
			_, err := s.DescribeNetworkAcls(ctx, netAcctA, DescribeNetworkAclsInput{DryRun: true})
			return err
		}},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			before := netRev(t, st)
			wantNetErr(t, c.call(), "DryRunOperation", http.StatusPreconditionFailed)
			if after := netRev(t, st); after != before {
				t.Errorf("store revision %d → %d: a dry run wrote", before, after)
			}
		})
	}
	// The dry-run CreateNetworkAcl left no client token behind.
	a, err := s.CreateNetworkAcl(ctx, netAcctA, CreateNetworkAclInput{VpcID: vpc.ID, ClientToken: "t"})
	if err != nil || a.ID == acl.ID {
		t.Errorf("CreateNetworkAcl after dry run = %v, %v", a, err)
	}
}
