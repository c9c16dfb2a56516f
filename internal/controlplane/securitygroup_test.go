package controlplane

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/privlink/privlink/internal/model"
)

func mustGroup(t *testing.T, s *Service, account, vpcID, name string, tags ...model.Tag) *model.SecurityGroup {
	t.Helper()
	in := CreateSecurityGroupInput{GroupName: name, Description: name + " group", VpcID: vpcID}
	if len(tags) > 0 {
		in.TagSpecs = []TagSpec{{ResourceType: "security-group", Tags: tags}}
	}
	g, err := s.CreateSecurityGroup(t.Context(), account, in)
	if err != nil {
		t.Fatalf("CreateSecurityGroup(%s): %v", name, err)
	}
	return g
}

func getGroup(t *testing.T, s *Service, account, id string) *model.SecurityGroup {
	t.Helper()
	out, err := s.DescribeSecurityGroups(t.Context(), account, DescribeSecurityGroupsInput{GroupIDs: []string{id}})
	if err != nil {
		t.Fatalf("DescribeSecurityGroups(%s): %v", id, err)
	}
	if len(out.SecurityGroups) != 1 {
		t.Fatalf("DescribeSecurityGroups(%s) = %d groups, want 1", id, len(out.SecurityGroups))
	}
	return out.SecurityGroups[0]
}

func mustAuthorize(t *testing.T, s *Service, account, groupID string, egress bool, perms ...IPPermission) []SecurityGroupRuleInfo {
	t.Helper()
	in := AuthorizeSecurityGroupInput{GroupID: groupID, IPPermissions: perms}
	var out []SecurityGroupRuleInfo
	var err error
	if egress {
		out, err = s.AuthorizeSecurityGroupEgress(t.Context(), account, in)
	} else {
		out, err = s.AuthorizeSecurityGroupIngress(t.Context(), account, in)
	}
	if err != nil {
		t.Fatalf("Authorize(%s, egress=%v): %v", groupID, egress, err)
	}
	return out
}

func tcp(from, to int32, cidrs ...string) IPPermission {
	p := IPPermission{IPProtocol: "tcp", FromPort: new(from), ToPort: new(to)}
	for _, c := range cidrs {
		p.IPRanges = append(p.IPRanges, IPRange{CidrIP: c})
	}
	return p
}

// ignoreRuleIDs compares rules without their random ids.
var ignoreRuleIDs = cmpopts.IgnoreFields(model.SecurityGroupRule{}, "ID")

func TestVpcDefaultsAreAWSs(t *testing.T) {
	s, _ := newNetTestService(t)
	ctx := t.Context()
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	sn := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.1.0/24")

	out, err := s.DescribeSecurityGroups(ctx, netAcctA, DescribeSecurityGroupsInput{Filters: []Filter{{Name: "vpc-id", Values: []string{vpc.ID}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.SecurityGroups) != 1 {
		t.Fatalf("groups of a new VPC = %d, want only the default group", len(out.SecurityGroups))
	}
	g := out.SecurityGroups[0]
	// Per the VPC user guide: the default group is named "default", allows
	// inbound traffic from itself and all outbound IPv4 traffic.
	want := &model.SecurityGroup{
		ID: vpc.DefaultGroupID, OwnerID: netAcctA, VpcID: vpc.ID, Name: "default", Description: "default VPC security group",
		Ingress: []model.SecurityGroupRule{{Protocol: "-1", FromPort: -1, ToPort: -1, GroupID: vpc.DefaultGroupID, GroupOwner: netAcctA}},
		Egress:  []model.SecurityGroupRule{{Protocol: "-1", FromPort: -1, ToPort: -1, CidrIPv4: "0.0.0.0/0"}},
	}
	if diff := cmp.Diff(want, g, ignoreRuleIDs); diff != "" {
		t.Errorf("default group mismatch (-want +got):\n%s", diff)
	}
	for _, r := range append(g.Ingress, g.Egress...) {
		if !model.ValidID("sgr", r.ID) {
			t.Errorf("rule id %q, want sgr-<hex>", r.ID)
		}
	}
	wantIngress := []IPPermission{{IPProtocol: "-1", UserIDGroupPairs: []UserIDGroupPair{{GroupID: g.ID, UserID: netAcctA}}}}
	if diff := cmp.Diff(wantIngress, GroupIPPermissions(g.Ingress)); diff != "" {
		t.Errorf("default IpPermissions mismatch (-want +got):\n%s", diff)
	}
	wantEgress := []IPPermission{{IPProtocol: "-1", IPRanges: []IPRange{{CidrIP: "0.0.0.0/0"}}}}
	if diff := cmp.Diff(wantEgress, GroupIPPermissions(g.Egress)); diff != "" {
		t.Errorf("default IpPermissionsEgress mismatch (-want +got):\n%s", diff)
	}

	acls, err := s.DescribeNetworkAcls(ctx, netAcctA, DescribeNetworkAclsInput{Filters: []Filter{{Name: "vpc-id", Values: []string{vpc.ID}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(acls.NetworkAcls) != 1 {
		t.Fatalf("ACLs of a new VPC = %d, want only the default ACL", len(acls.NetworkAcls))
	}
	acl := acls.NetworkAcls[0]
	// Per the VPC user guide: the default ACL allows all traffic in and out
	// (rule 100) before the "*" deny rule; entries are listed egress first.
	wantACL := &model.NetworkAcl{
		ID: vpc.DefaultNetworkAclID, OwnerID: netAcctA, VpcID: vpc.ID, IsDefault: true,
		Entries: []model.NetworkAclEntry{
			{RuleNumber: 100, Egress: true, Protocol: "-1", RuleAction: "allow", CidrBlock: "0.0.0.0/0"},
			{RuleNumber: 32767, Egress: true, Protocol: "-1", RuleAction: "deny", CidrBlock: "0.0.0.0/0"},
			{RuleNumber: 100, Egress: false, Protocol: "-1", RuleAction: "allow", CidrBlock: "0.0.0.0/0"},
			{RuleNumber: 32767, Egress: false, Protocol: "-1", RuleAction: "deny", CidrBlock: "0.0.0.0/0"},
		},
		Associations: []model.NetworkAclAssociation{{ID: acl.Associations[0].ID, SubnetID: sn.ID}},
	}
	if diff := cmp.Diff(wantACL, acl); diff != "" {
		t.Errorf("default ACL mismatch (-want +got):\n%s", diff)
	}
	if !model.ValidID("aclassoc", acl.Associations[0].ID) {
		t.Errorf("association id %q, want aclassoc-<hex>", acl.Associations[0].ID)
	}

	// Deleting the subnet drops its association; deleting the VPC removes
	// the default group and ACL with it.
	if err := s.DeleteSubnet(ctx, netAcctA, DeleteSubnetInput{SubnetID: sn.ID}); err != nil {
		t.Fatal(err)
	}
	acls, err = s.DescribeNetworkAcls(ctx, netAcctA, DescribeNetworkAclsInput{})
	if err != nil || len(acls.NetworkAcls) != 1 || len(acls.NetworkAcls[0].Associations) != 0 {
		t.Fatalf("after DeleteSubnet: %+v, %v; want the default ACL without associations", acls, err)
	}
	if err := s.DeleteVpc(ctx, netAcctA, DeleteVpcInput{VpcID: vpc.ID}); err != nil {
		t.Fatal(err)
	}
	groups, err := s.DescribeSecurityGroups(ctx, netAcctA, DescribeSecurityGroupsInput{})
	if err != nil || len(groups.SecurityGroups) != 0 {
		t.Errorf("after DeleteVpc DescribeSecurityGroups = %+v, %v; want none", groups, err)
	}
	acls, err = s.DescribeNetworkAcls(ctx, netAcctA, DescribeNetworkAclsInput{})
	if err != nil || len(acls.NetworkAcls) != 0 {
		t.Errorf("after DeleteVpc DescribeNetworkAcls = %+v, %v; want none", acls, err)
	}
}

func TestCreateSecurityGroup(t *testing.T) {
	s, _ := newNetTestService(t)
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	g, err := s.CreateSecurityGroup(t.Context(), netAcctA, CreateSecurityGroupInput{
		GroupName: "web", Description: "Web servers (ports 80, 443)", VpcID: vpc.ID,
		TagSpecs: []TagSpec{{ResourceType: "security-group", Tags: []model.Tag{{Key: "Name", Value: "web"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !model.ValidID("sg", g.ID) || len(g.ID) != len("sg-")+17 {
		t.Errorf("GroupId = %q, want sg-<17 hex>", g.ID)
	}
	want := &model.SecurityGroup{
		ID: g.ID, OwnerID: netAcctA, VpcID: vpc.ID, Name: "web", Description: "Web servers (ports 80, 443)",
		Egress: []model.SecurityGroupRule{{Protocol: "-1", FromPort: -1, ToPort: -1, CidrIPv4: "0.0.0.0/0"}},
		Tags:   []model.Tag{{Key: "Name", Value: "web"}},
	}
	if diff := cmp.Diff(want, g, ignoreRuleIDs); diff != "" {
		t.Errorf("CreateSecurityGroup() mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(g, getGroup(t, s, netAcctA, g.ID)); diff != "" {
		t.Errorf("DescribeSecurityGroups() mismatch (-want +got):\n%s", diff)
	}
	if got, want := s.SecurityGroupARN(g.OwnerID, g.ID), "arn:aws:ec2:us-east-1:"+netAcctA+":security-group/"+g.ID; got != want {
		t.Errorf("SecurityGroupARN = %q, want %q", got, want)
	}
	// The same name in another VPC, or in another account, is fine.
	other := mustVpc(t, s, netAcctA, "10.1.0.0/16")
	mustGroup(t, s, netAcctA, other.ID, "web")
	vpcB := mustVpc(t, s, netAcctB, "10.0.0.0/16")
	mustGroup(t, s, netAcctB, vpcB.ID, "web")
	// A duplicate in the same VPC (names are case-insensitive) is not.
	_, err = s.CreateSecurityGroup(t.Context(), netAcctA, CreateSecurityGroupInput{GroupName: "WEB", Description: "x", VpcID: vpc.ID})
	wantMessage(t, err, "The security group 'WEB' already exists for VPC '"+vpc.ID+"'")
}

// TestSecurityGroupBadInputs runs every bad input against one populated
// store and checks the AWS code, the HTTP status, and that nothing was
// written.
func TestSecurityGroupBadInputs(t *testing.T) {
	s, st := newNetTestService(t)
	ctx := t.Context()
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	otherVpc := mustVpc(t, s, netAcctA, "10.1.0.0/16")
	web := mustGroup(t, s, netAcctA, vpc.ID, "web")
	db := mustGroup(t, s, netAcctA, vpc.ID, "db")
	elsewhere := mustGroup(t, s, netAcctA, otherVpc.ID, "elsewhere")
	vpcB := mustVpc(t, s, netAcctB, "10.0.0.0/16")
	groupB := mustGroup(t, s, netAcctB, vpcB.ID, "b")
	mustAuthorize(t, s, netAcctA, web.ID, false, tcp(22, 22, "0.0.0.0/0"))
	mustAuthorize(t, s, netAcctA, db.ID, false, IPPermission{IPProtocol: "tcp", FromPort: new(int32(5432)), ToPort: new(int32(5432)), UserIDGroupPairs: []UserIDGroupPair{{GroupID: web.ID}}})

	create := func(in CreateSecurityGroupInput) func() error {
		return func() error { _, err := s.CreateSecurityGroup(ctx, netAcctA, in); return err }
	}
	ingress := func(perms ...IPPermission) func() error {
		return func() error {
			_, err := s.AuthorizeSecurityGroupIngress(ctx, netAcctA, AuthorizeSecurityGroupInput{GroupID: web.ID, IPPermissions: perms})
			return err
		}
	}
	revoke := func(in RevokeSecurityGroupInput) func() error {
		return func() error { _, err := s.RevokeSecurityGroupIngress(ctx, netAcctA, in); return err }
	}
	describe := func(in DescribeSecurityGroupsInput) func() error {
		return func() error { _, err := s.DescribeSecurityGroups(ctx, netAcctA, in); return err }
	}
	long := strings.Repeat("a", 256)
	tests := []struct {
		name string
		call func() error
		code string
	}{
		{"create: no name", create(CreateSecurityGroupInput{Description: "d", VpcID: vpc.ID}), "MissingParameter"},
		{"create: no description", create(CreateSecurityGroupInput{GroupName: "n", VpcID: vpc.ID}), "MissingParameter"},
		{"create: no VpcId", create(CreateSecurityGroupInput{GroupName: "n", Description: "d"}), "VPCIdNotSpecified"},
		{"create: name sg-*", create(CreateSecurityGroupInput{GroupName: "sg-web", Description: "d", VpcID: vpc.ID}), "InvalidParameterValue"},
		{"create: name too long", create(CreateSecurityGroupInput{GroupName: long, Description: "d", VpcID: vpc.ID}), "InvalidParameterValue"},
		{"create: name not ASCII", create(CreateSecurityGroupInput{GroupName: "café", Description: "d", VpcID: vpc.ID}), "InvalidParameterValue"},
		{"create: description bad char", create(CreateSecurityGroupInput{GroupName: "n", Description: "a<b>", VpcID: vpc.ID}), "InvalidParameterValue"},
		{"create: name default", create(CreateSecurityGroupInput{GroupName: "default", Description: "d", VpcID: vpc.ID}), "InvalidGroup.Duplicate"},
		{"create: duplicate name", create(CreateSecurityGroupInput{GroupName: "Web", Description: "d", VpcID: vpc.ID}), "InvalidGroup.Duplicate"},
		{"create: malformed VpcId", create(CreateSecurityGroupInput{GroupName: "n", Description: "d", VpcID: "vpc-xyz"}), "InvalidVpcID.Malformed"},
		{"create: other account's VPC", create(CreateSecurityGroupInput{GroupName: "n", Description: "d", VpcID: vpcB.ID}), "InvalidVpcID.NotFound"},
		{"create: wrong tag resource type", create(CreateSecurityGroupInput{GroupName: "n", Description: "d", VpcID: vpc.ID,
			TagSpecs: []TagSpec{{ResourceType: "vpc", Tags: []model.Tag{{Key: "k"}}}}}), "InvalidParameterValue"},
		{"describe: unknown id", describe(DescribeSecurityGroupsInput{GroupIDs: []string{"sg-12345678"}}), "InvalidGroup.NotFound"},
		{"describe: malformed id", describe(DescribeSecurityGroupsInput{GroupIDs: []string{"sg-nothex"}}), "InvalidGroupId.Malformed"},
		{"describe: by name (no default VPC)", describe(DescribeSecurityGroupsInput{GroupNames: []string{"web"}}), "VPCIdNotSpecified"},
		{"describe: unknown filter", describe(DescribeSecurityGroupsInput{Filters: []Filter{{Name: "ip-permission.bogus", Values: []string{"x"}}}}), "InvalidParameterValue"},
		{"describe: MaxResults 4", describe(DescribeSecurityGroupsInput{Page: Page{MaxResults: 4}}), "InvalidParameterValue"},
		{"describe: bad NextToken", describe(DescribeSecurityGroupsInput{Page: Page{NextToken: "!!"}}), "InvalidParameterValue"},
		{"authorize: unknown group", func() error {
			_, err := s.AuthorizeSecurityGroupIngress(ctx, netAcctA, AuthorizeSecurityGroupInput{GroupID: "sg-12345678", IPPermissions: []IPPermission{tcp(1, 1, "1.1.1.1/32")}})
			return err
		}, "InvalidGroup.NotFound"},
		{"authorize: other account's group", func() error {
			_, err := s.AuthorizeSecurityGroupIngress(ctx, netAcctA, AuthorizeSecurityGroupInput{GroupID: groupB.ID, IPPermissions: []IPPermission{tcp(1, 1, "1.1.1.1/32")}})
			return err
		}, "InvalidGroup.NotFound"},
		{"authorize: no group", func() error {
			_, err := s.AuthorizeSecurityGroupIngress(ctx, netAcctA, AuthorizeSecurityGroupInput{IPPermissions: []IPPermission{tcp(1, 1, "1.1.1.1/32")}})
			return err
		}, "MissingParameter"},
		{"authorize: by group name", func() error {
			_, err := s.AuthorizeSecurityGroupIngress(ctx, netAcctA, AuthorizeSecurityGroupInput{GroupName: "web", IPPermissions: []IPPermission{tcp(1, 1, "1.1.1.1/32")}})
			return err
		}, "VPCIdNotSpecified"},
		{"authorize egress: no GroupId", func() error {
			_, err := s.AuthorizeSecurityGroupEgress(ctx, netAcctA, AuthorizeSecurityGroupInput{GroupName: "web", IPPermissions: []IPPermission{tcp(1, 1, "1.1.1.1/32")}})
			return err
		}, "MissingParameter"},
		{"authorize: no permissions", ingress(), "MissingParameter"},
		{"authorize: no protocol", ingress(IPPermission{IPRanges: []IPRange{{CidrIP: "1.1.1.1/32"}}}), "InvalidParameterValue"},
		{"authorize: protocol all", ingress(IPPermission{IPProtocol: "all", IPRanges: []IPRange{{CidrIP: "1.1.1.1/32"}}}), "InvalidParameterValue"},
		{"authorize: protocol 256", ingress(IPPermission{IPProtocol: "256", IPRanges: []IPRange{{CidrIP: "1.1.1.1/32"}}}), "InvalidParameterValue"},
		{"authorize: tcp without ports", ingress(IPPermission{IPProtocol: "tcp", IPRanges: []IPRange{{CidrIP: "1.1.1.1/32"}}}), "InvalidParameterValue"},
		{"authorize: tcp without to port", ingress(IPPermission{IPProtocol: "tcp", FromPort: new(int32(22)), IPRanges: []IPRange{{CidrIP: "1.1.1.1/32"}}}), "InvalidParameterValue"},
		{"authorize: tcp port 65536", ingress(tcp(1, 65536, "1.1.1.1/32")), "InvalidPermission.Malformed"},
		{"authorize: tcp port -1", ingress(tcp(-1, -1, "1.1.1.1/32")), "InvalidPermission.Malformed"},
		{"authorize: tcp from > to", ingress(tcp(443, 80, "1.1.1.1/32")), "InvalidParameterValue"},
		{"authorize: icmp without code", ingress(IPPermission{IPProtocol: "icmp", FromPort: new(int32(8)), IPRanges: []IPRange{{CidrIP: "1.1.1.1/32"}}}), "InvalidParameterValue"},
		{"authorize: icmp type 256", ingress(IPPermission{IPProtocol: "icmp", FromPort: new(int32(256)), ToPort: new(int32(0)), IPRanges: []IPRange{{CidrIP: "1.1.1.1/32"}}}), "InvalidPermission.Malformed"},
		{"authorize: icmp any type, one code", ingress(IPPermission{IPProtocol: "icmp", FromPort: new(int32(-1)), ToPort: new(int32(3)), IPRanges: []IPRange{{CidrIP: "1.1.1.1/32"}}}), "InvalidParameterValue"},
		{"authorize: bad CIDR", ingress(tcp(80, 80, "10.0.0.0/33")), "InvalidParameterValue"},
		{"authorize: CIDR without length", ingress(tcp(80, 80, "10.0.0.1")), "InvalidParameterValue"},
		{"authorize: IPv6 CIDR in IpRanges", ingress(tcp(80, 80, "::/0")), "InvalidParameterValue"},
		{"authorize: IPv4 CIDR in Ipv6Ranges", ingress(IPPermission{IPProtocol: "-1", IPv6Ranges: []IPv6Range{{CidrIPv6: "0.0.0.0/0"}}}), "InvalidParameterValue"},
		{"authorize: bad description", ingress(IPPermission{IPProtocol: "-1", IPRanges: []IPRange{{CidrIP: "1.1.1.1/32", Description: "<script>"}}}), "InvalidParameterValue"},
		{"authorize: prefix list", ingress(IPPermission{IPProtocol: "-1", PrefixListIDs: []PrefixListID{{PrefixListID: "pl-12345678"}}}), "InvalidPrefixListID.NotFound"},
		{"authorize: duplicate", ingress(tcp(22, 22, "0.0.0.0/0")), "InvalidPermission.Duplicate"},
		{"authorize: duplicate within request", ingress(tcp(80, 80, "1.1.1.1/32", "1.1.1.1/32")), "InvalidPermission.Duplicate"},
		{"authorize: duplicate after canonical CIDR", ingress(tcp(22, 22, "0.0.0.0/0"), tcp(22, 22, "0.1.2.3/0")), "InvalidPermission.Duplicate"},
		{"authorize: unknown peer group", ingress(IPPermission{IPProtocol: "-1", UserIDGroupPairs: []UserIDGroupPair{{GroupID: "sg-12345678"}}}), "InvalidGroup.NotFound"},
		{"authorize: malformed peer group", ingress(IPPermission{IPProtocol: "-1", UserIDGroupPairs: []UserIDGroupPair{{GroupID: "sg-zz"}}}), "InvalidGroupId.Malformed"},
		{"authorize: other account's peer group", ingress(IPPermission{IPProtocol: "-1", UserIDGroupPairs: []UserIDGroupPair{{GroupID: groupB.ID, UserID: netAcctB}}}), "InvalidGroup.NotFound"},
		{"authorize: peer group in another VPC", ingress(IPPermission{IPProtocol: "-1", UserIDGroupPairs: []UserIDGroupPair{{GroupID: elsewhere.ID}}}), "InvalidGroup.NotFound"},
		{"authorize: peer pair without group", ingress(IPPermission{IPProtocol: "-1", UserIDGroupPairs: []UserIDGroupPair{{UserID: netAcctA}}}), "MissingParameter"},
		{"authorize: legacy without source", func() error {
			_, err := s.AuthorizeSecurityGroupIngress(ctx, netAcctA, AuthorizeSecurityGroupInput{GroupID: web.ID, Legacy: LegacyPermission{IPProtocol: "tcp", FromPort: new(int32(1)), ToPort: new(int32(2))}})
			return err
		}, "MissingParameter"},
		{"authorize: wrong tag resource type", func() error {
			_, err := s.AuthorizeSecurityGroupIngress(ctx, netAcctA, AuthorizeSecurityGroupInput{GroupID: web.ID, IPPermissions: []IPPermission{tcp(9, 9, "1.1.1.1/32")},
				TagSpecs: []TagSpec{{ResourceType: "security-group", Tags: []model.Tag{{Key: "k"}}}}})
			return err
		}, "InvalidParameterValue"},
		{"revoke: rule that does not exist", revoke(RevokeSecurityGroupInput{GroupID: web.ID, IPPermissions: []IPPermission{tcp(22, 22, "0.0.0.0/0"), tcp(23, 23, "0.0.0.0/0")}}), "InvalidPermission.NotFound"},
		{"revoke: unknown rule id", revoke(RevokeSecurityGroupInput{GroupID: web.ID, SecurityGroupRuleIDs: []string{"sgr-12345678901234567"}}), "InvalidSecurityGroupRuleId.NotFound"},
		{"revoke: egress rule id on ingress", revoke(RevokeSecurityGroupInput{GroupID: web.ID, SecurityGroupRuleIDs: []string{web.Egress[0].ID}}), "InvalidSecurityGroupRuleId.NotFound"},
		{"revoke: malformed rule id", revoke(RevokeSecurityGroupInput{GroupID: web.ID, SecurityGroupRuleIDs: []string{"sgr-x"}}), "InvalidSecurityGroupRuleId.Malformed"},
		{"revoke: nothing", revoke(RevokeSecurityGroupInput{GroupID: web.ID}), "MissingParameter"},
		{"delete: default group", func() error {
			_, err := s.DeleteSecurityGroup(ctx, netAcctA, DeleteSecurityGroupInput{GroupID: vpc.DefaultGroupID})
			return err
		}, "CannotDelete"},
		{"delete: referenced group", func() error {
			_, err := s.DeleteSecurityGroup(ctx, netAcctA, DeleteSecurityGroupInput{GroupID: web.ID})
			return err
		}, "DependencyViolation"},
		{"delete: by name", func() error {
			_, err := s.DeleteSecurityGroup(ctx, netAcctA, DeleteSecurityGroupInput{GroupName: "db"})
			return err
		}, "VPCIdNotSpecified"},
		{"delete: neither id nor name", func() error {
			_, err := s.DeleteSecurityGroup(ctx, netAcctA, DeleteSecurityGroupInput{})
			return err
		}, "MissingParameter"},
		{"delete: other account's group", func() error {
			_, err := s.DeleteSecurityGroup(ctx, netAcctA, DeleteSecurityGroupInput{GroupID: groupB.ID})
			return err
		}, "InvalidGroup.NotFound"},
		{"delete vpc: custom group left", func() error { return s.DeleteVpc(ctx, netAcctA, DeleteVpcInput{VpcID: otherVpc.ID}) }, "DependencyViolation"},
		{"rules: unknown rule id", func() error {
			_, err := s.DescribeSecurityGroupRules(ctx, netAcctA, DescribeSecurityGroupRulesInput{SecurityGroupRuleIDs: []string{"sgr-12345678"}})
			return err
		}, "InvalidSecurityGroupRuleId.NotFound"},
		{"rules: other account's rule id", func() error {
			_, err := s.DescribeSecurityGroupRules(ctx, netAcctA, DescribeSecurityGroupRulesInput{SecurityGroupRuleIDs: []string{groupB.Egress[0].ID}})
			return err
		}, "InvalidSecurityGroupRuleId.NotFound"},
		{"rules: unknown filter", func() error {
			_, err := s.DescribeSecurityGroupRules(ctx, netAcctA, DescribeSecurityGroupRulesInput{Filters: []Filter{{Name: "vpc-id", Values: []string{vpc.ID}}}})
			return err
		}, "InvalidParameterValue"},
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

func TestSecurityGroupErrorMessages(t *testing.T) {
	s, _ := newNetTestService(t)
	ctx := t.Context()
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	web := mustGroup(t, s, netAcctA, vpc.ID, "web")
	db := mustGroup(t, s, netAcctA, vpc.ID, "db")
	mustAuthorize(t, s, netAcctA, web.ID, false, tcp(22, 22, "0.0.0.0/0"), IPPermission{IPProtocol: "-1", UserIDGroupPairs: []UserIDGroupPair{{GroupID: db.ID}}})

	tests := []struct {
		name string
		call func() error
		msg  string
	}{
		{"duplicate tcp", func() error {
			_, err := s.AuthorizeSecurityGroupIngress(ctx, netAcctA, AuthorizeSecurityGroupInput{GroupID: web.ID, IPPermissions: []IPPermission{tcp(22, 22, "0.0.0.0/0")}})
			return err
		}, `the specified rule "peer: 0.0.0.0/0, TCP, from port: 22, to port: 22, ALLOW" already exists`},
		{"duplicate all egress", func() error {
			_, err := s.AuthorizeSecurityGroupEgress(ctx, netAcctA, AuthorizeSecurityGroupInput{GroupID: web.ID, IPPermissions: []IPPermission{{IPProtocol: "-1", IPRanges: []IPRange{{CidrIP: "0.0.0.0/0"}}}}})
			return err
		}, `the specified rule "peer: 0.0.0.0/0, ALL, ALLOW" already exists`},
		{"duplicate group peer", func() error {
			_, err := s.AuthorizeSecurityGroupIngress(ctx, netAcctA, AuthorizeSecurityGroupInput{GroupID: web.ID, IPPermissions: []IPPermission{{IPProtocol: "-1", UserIDGroupPairs: []UserIDGroupPair{{GroupID: db.ID}}}}})
			return err
		}, `the specified rule "peer: ` + db.ID + `, ALL, ALLOW" already exists`},
		{"unknown protocol", func() error {
			_, err := s.AuthorizeSecurityGroupIngress(ctx, netAcctA, AuthorizeSecurityGroupInput{GroupID: web.ID, IPPermissions: []IPPermission{{IPProtocol: "all", IPRanges: []IPRange{{CidrIP: "1.1.1.1/32"}}}}})
			return err
		}, "Invalid value 'all' for IP protocol. Unknown protocol."},
		{"malformed CIDR", func() error {
			_, err := s.AuthorizeSecurityGroupIngress(ctx, netAcctA, AuthorizeSecurityGroupInput{GroupID: web.ID, IPPermissions: []IPPermission{tcp(1, 1, "10.0.0.256/8")}})
			return err
		}, "CIDR block 10.0.0.256/8 is malformed"},
		{"tcp without ports", func() error {
			_, err := s.AuthorizeSecurityGroupIngress(ctx, netAcctA, AuthorizeSecurityGroupInput{GroupID: web.ID, IPPermissions: []IPPermission{{IPProtocol: "tcp", IPRanges: []IPRange{{CidrIP: "1.1.1.1/32"}}}}})
			return err
		}, "Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange."},
		{"revoke missing rule", func() error {
			_, err := s.RevokeSecurityGroupIngress(ctx, netAcctA, RevokeSecurityGroupInput{GroupID: web.ID, IPPermissions: []IPPermission{tcp(80, 80, "0.0.0.0/0")}})
			return err
		}, "The specified rule does not exist in this security group."},
		{"unknown group", func() error {
			_, err := s.DescribeSecurityGroups(ctx, netAcctA, DescribeSecurityGroupsInput{GroupIDs: []string{"sg-0123456789abcdef0"}})
			return err
		}, "The security group 'sg-0123456789abcdef0' does not exist"},
		{"malformed group", func() error {
			_, err := s.DescribeSecurityGroups(ctx, netAcctA, DescribeSecurityGroupsInput{GroupIDs: []string{"sg-xyz"}})
			return err
		}, `Invalid id: "sg-xyz" (expecting "sg-...")`},
		{"no default VPC", func() error {
			_, err := s.CreateSecurityGroup(ctx, netAcctA, CreateSecurityGroupInput{GroupName: "x", Description: "x"})
			return err
		}, "No default VPC for this user"},
		{"sg- name", func() error {
			_, err := s.CreateSecurityGroup(ctx, netAcctA, CreateSecurityGroupInput{GroupName: "sg-1", Description: "x", VpcID: vpc.ID})
			return err
		}, "Group names may not be in the format sg-*"},
		{"default group", func() error {
			_, err := s.DeleteSecurityGroup(ctx, netAcctA, DeleteSecurityGroupInput{GroupID: vpc.DefaultGroupID})
			return err
		}, `the specified group: "` + vpc.DefaultGroupID + `" name: "default" cannot be deleted by a user`},
		{"referenced group", func() error {
			_, err := s.DeleteSecurityGroup(ctx, netAcctA, DeleteSecurityGroupInput{GroupID: db.ID})
			return err
		}, "resource " + db.ID + " has a dependent object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantMessage(t, tt.call(), tt.msg) })
	}
}

func TestAuthorizeAndRevoke(t *testing.T) {
	s, _ := newNetTestService(t)
	ctx := t.Context()
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	web := mustGroup(t, s, netAcctA, vpc.ID, "web")
	lb := mustGroup(t, s, netAcctA, vpc.ID, "lb")

	added, err := s.AuthorizeSecurityGroupIngress(ctx, netAcctA, AuthorizeSecurityGroupInput{
		GroupID: web.ID,
		IPPermissions: []IPPermission{
			{IPProtocol: "TCP", FromPort: new(int32(443)), ToPort: new(int32(443)),
				IPRanges:         []IPRange{{CidrIP: "100.68.0.18/18", Description: "office"}, {CidrIP: "10.0.0.0/8"}},
				IPv6Ranges:       []IPv6Range{{CidrIPv6: "2001:DB8::1/32"}},
				UserIDGroupPairs: []UserIDGroupPair{{GroupID: lb.ID, Description: "from the LB"}}},
			{IPProtocol: "6", FromPort: new(int32(22)), ToPort: new(int32(22)), IPRanges: []IPRange{{CidrIP: "192.0.2.0/24"}}},
			{IPProtocol: "1", FromPort: new(int32(8)), ToPort: new(int32(-1)), IPRanges: []IPRange{{CidrIP: "0.0.0.0/0"}}},
			{IPProtocol: "50", FromPort: new(int32(1)), ToPort: new(int32(2)), IPRanges: []IPRange{{CidrIP: "0.0.0.0/0"}}},
			{IPProtocol: "-1", UserIDGroupPairs: []UserIDGroupPair{{GroupID: web.ID, UserID: netAcctA}}},
			{IPProtocol: "udp", FromPort: new(int32(53)), ToPort: new(int32(53))}, // no peer: adds nothing
		},
		TagSpecs: []TagSpec{{ResourceType: "security-group-rule", Tags: []model.Tag{{Key: "team", Value: "web"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	tags := []model.Tag{{Key: "team", Value: "web"}}
	wantRules := []model.SecurityGroupRule{
		{Protocol: "tcp", FromPort: 443, ToPort: 443, CidrIPv4: "100.68.0.0/18", Description: "office", Tags: tags},
		{Protocol: "tcp", FromPort: 443, ToPort: 443, CidrIPv4: "10.0.0.0/8", Tags: tags},
		{Protocol: "tcp", FromPort: 443, ToPort: 443, CidrIPv6: "2001:db8::/32", Tags: tags},
		{Protocol: "tcp", FromPort: 443, ToPort: 443, GroupID: lb.ID, GroupOwner: netAcctA, Description: "from the LB", Tags: tags},
		{Protocol: "tcp", FromPort: 22, ToPort: 22, CidrIPv4: "192.0.2.0/24", Tags: tags},
		{Protocol: "icmp", FromPort: 8, ToPort: -1, CidrIPv4: "0.0.0.0/0", Tags: tags},
		{Protocol: "50", FromPort: -1, ToPort: -1, CidrIPv4: "0.0.0.0/0", Tags: tags},
		{Protocol: "-1", FromPort: -1, ToPort: -1, GroupID: web.ID, GroupOwner: netAcctA, Tags: tags},
	}
	var gotRules []model.SecurityGroupRule
	for _, a := range added {
		if a.GroupID != web.ID || a.GroupOwnerID != netAcctA || a.IsEgress || !model.ValidID("sgr", a.Rule.ID) ||
			a.ARN != "arn:aws:ec2:us-east-1:"+netAcctA+":security-group-rule/"+a.Rule.ID {
			t.Errorf("rule info %+v: wrong group, owner, direction, id or ARN", a)
		}
		gotRules = append(gotRules, a.Rule)
	}
	if diff := cmp.Diff(wantRules, gotRules, ignoreRuleIDs); diff != "" {
		t.Errorf("AuthorizeSecurityGroupIngress() mismatch (-want +got):\n%s", diff)
	}
	g := getGroup(t, s, netAcctA, web.ID)
	if diff := cmp.Diff(gotRules, g.Ingress); diff != "" {
		t.Errorf("stored ingress mismatch (-want +got):\n%s", diff)
	}

	// DescribeSecurityGroups shows them folded into IpPermissions.
	wantPerms := []IPPermission{
		{IPProtocol: "tcp", FromPort: new(int32(443)), ToPort: new(int32(443)),
			IPRanges:         []IPRange{{CidrIP: "100.68.0.0/18", Description: "office"}, {CidrIP: "10.0.0.0/8"}},
			IPv6Ranges:       []IPv6Range{{CidrIPv6: "2001:db8::/32"}},
			UserIDGroupPairs: []UserIDGroupPair{{GroupID: lb.ID, UserID: netAcctA, Description: "from the LB"}}},
		{IPProtocol: "tcp", FromPort: new(int32(22)), ToPort: new(int32(22)), IPRanges: []IPRange{{CidrIP: "192.0.2.0/24"}}},
		{IPProtocol: "icmp", FromPort: new(int32(8)), ToPort: new(int32(-1)), IPRanges: []IPRange{{CidrIP: "0.0.0.0/0"}}},
		{IPProtocol: "50", IPRanges: []IPRange{{CidrIP: "0.0.0.0/0"}}},
		{IPProtocol: "-1", UserIDGroupPairs: []UserIDGroupPair{{GroupID: web.ID, UserID: netAcctA}}},
	}
	if diff := cmp.Diff(wantPerms, GroupIPPermissions(g.Ingress)); diff != "" {
		t.Errorf("GroupIPPermissions() mismatch (-want +got):\n%s", diff)
	}

	// Revoke by properties (description not needed, protocol by number,
	// CIDR as written) and by rule id, in one call.
	revoked, err := s.RevokeSecurityGroupIngress(ctx, netAcctA, RevokeSecurityGroupInput{
		GroupID:              web.ID,
		IPPermissions:        []IPPermission{{IPProtocol: "6", FromPort: new(int32(443)), ToPort: new(int32(443)), IPRanges: []IPRange{{CidrIP: "100.68.0.18/18"}}}},
		SecurityGroupRuleIDs: []string{added[4].Rule.ID},
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sorted([]string{added[0].Rule.ID, added[4].Rule.ID}), ruleIDs(revoked)); diff != "" {
		t.Errorf("RevokeSecurityGroupIngress() mismatch (-want +got):\n%s", diff)
	}
	g = getGroup(t, s, netAcctA, web.ID)
	if diff := cmp.Diff(append(append([]model.SecurityGroupRule{}, gotRules[1:4]...), gotRules[5:]...), g.Ingress); diff != "" {
		t.Errorf("ingress after revoke mismatch (-want +got):\n%s", diff)
	}

	// A revoke naming one missing rule removes nothing.
	_, err = s.RevokeSecurityGroupIngress(ctx, netAcctA, RevokeSecurityGroupInput{
		GroupID:       web.ID,
		IPPermissions: []IPPermission{tcp(443, 443, "10.0.0.0/8"), tcp(444, 444, "10.0.0.0/8")},
	})
	wantNetErr(t, err, "InvalidPermission.NotFound", 400)
	if got := len(getGroup(t, s, netAcctA, web.ID).Ingress); got != 6 {
		t.Errorf("ingress rules after failed revoke = %d, want 6", got)
	}

	// Egress: the default rule can be revoked and added back.
	if _, err := s.RevokeSecurityGroupEgress(ctx, netAcctA, RevokeSecurityGroupInput{GroupID: web.ID,
		IPPermissions: []IPPermission{{IPProtocol: "-1", IPRanges: []IPRange{{CidrIP: "0.0.0.0/0"}}}}}); err != nil {
		t.Fatal(err)
	}
	if got := getGroup(t, s, netAcctA, web.ID).Egress; len(got) != 0 {
		t.Errorf("egress after revoke = %+v, want none", got)
	}
	out := mustAuthorize(t, s, netAcctA, web.ID, true, tcp(5432, 5432, "10.0.5.0/24"))
	if len(out) != 1 || !out[0].IsEgress {
		t.Errorf("AuthorizeSecurityGroupEgress() = %+v, want one egress rule", out)
	}

	// The legacy flat form.
	legacy, err := s.AuthorizeSecurityGroupIngress(ctx, netAcctA, AuthorizeSecurityGroupInput{GroupID: lb.ID,
		Legacy: LegacyPermission{IPProtocol: "tcp", FromPort: new(int32(80)), ToPort: new(int32(80)), CidrIP: "0.0.0.0/0"}})
	if err != nil {
		t.Fatal(err)
	}
	wantLegacy := []model.SecurityGroupRule{{Protocol: "tcp", FromPort: 80, ToPort: 80, CidrIPv4: "0.0.0.0/0"}}
	if diff := cmp.Diff(wantLegacy, []model.SecurityGroupRule{legacy[0].Rule}, ignoreRuleIDs); diff != "" {
		t.Errorf("legacy authorize mismatch (-want +got):\n%s", diff)
	}
	bySource, err := s.AuthorizeSecurityGroupIngress(ctx, netAcctA, AuthorizeSecurityGroupInput{GroupID: lb.ID,
		Legacy: LegacyPermission{SourceSecurityGroupName: "web"}})
	if err != nil {
		t.Fatal(err)
	}
	wantBySource := []model.SecurityGroupRule{
		{Protocol: "icmp", FromPort: -1, ToPort: -1, GroupID: web.ID, GroupOwner: netAcctA},
		{Protocol: "tcp", FromPort: 0, ToPort: 65535, GroupID: web.ID, GroupOwner: netAcctA},
		{Protocol: "udp", FromPort: 0, ToPort: 65535, GroupID: web.ID, GroupOwner: netAcctA},
	}
	var gotBySource []model.SecurityGroupRule
	for _, r := range bySource {
		gotBySource = append(gotBySource, r.Rule)
	}
	if diff := cmp.Diff(wantBySource, gotBySource, ignoreRuleIDs); diff != "" {
		t.Errorf("legacy source-group authorize mismatch (-want +got):\n%s", diff)
	}
	if _, err := s.RevokeSecurityGroupIngress(ctx, netAcctA, RevokeSecurityGroupInput{GroupID: lb.ID,
		Legacy: LegacyPermission{SourceSecurityGroupName: "web"}}); err != nil {
		t.Fatalf("legacy revoke: %v", err)
	}
}

func ruleIDs(infos []SecurityGroupRuleInfo) []string {
	var out []string
	for _, r := range infos {
		out = append(out, r.Rule.ID)
	}
	sort.Strings(out)
	return out
}

func TestRuleQuota(t *testing.T) {
	s, st := newNetTestService(t)
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	g := mustGroup(t, s, netAcctA, vpc.ID, "big")
	perm := tcp(80, 80)
	for i := range 60 {
		perm.IPRanges = append(perm.IPRanges, IPRange{CidrIP: "10.0." + strconv.Itoa(i) + ".0/24"})
	}
	mustAuthorize(t, s, netAcctA, g.ID, false, perm)
	before := netRev(t, st)
	_, err := s.AuthorizeSecurityGroupIngress(t.Context(), netAcctA, AuthorizeSecurityGroupInput{GroupID: g.ID, IPPermissions: []IPPermission{tcp(81, 81, "10.1.0.0/16")}})
	wantNetErr(t, err, "RulesPerSecurityGroupLimitExceeded", 400)
	if netRev(t, st) != before {
		t.Error("a failed authorize wrote")
	}
	// IPv6 rules have a quota of their own.
	mustAuthorize(t, s, netAcctA, g.ID, false, IPPermission{IPProtocol: "-1", IPv6Ranges: []IPv6Range{{CidrIPv6: "::/0"}}})
}

func TestGroupIPPermissions(t *testing.T) {
	tests := []struct {
		name  string
		rules []model.SecurityGroupRule
		want  []IPPermission
	}{
		{"none", nil, nil},
		{"same ports fold, order kept", []model.SecurityGroupRule{
			{Protocol: "udp", FromPort: 53, ToPort: 53, CidrIPv4: "10.0.0.0/8"},
			{Protocol: "tcp", FromPort: 53, ToPort: 53, CidrIPv4: "10.0.0.0/8"},
			{Protocol: "udp", FromPort: 53, ToPort: 53, PrefixList: "pl-12345678", Description: "d"},
			{Protocol: "udp", FromPort: 53, ToPort: 54, CidrIPv6: "::/0"},
		}, []IPPermission{
			{IPProtocol: "udp", FromPort: new(int32(53)), ToPort: new(int32(53)), IPRanges: []IPRange{{CidrIP: "10.0.0.0/8"}}, PrefixListIDs: []PrefixListID{{PrefixListID: "pl-12345678", Description: "d"}}},
			{IPProtocol: "tcp", FromPort: new(int32(53)), ToPort: new(int32(53)), IPRanges: []IPRange{{CidrIP: "10.0.0.0/8"}}},
			{IPProtocol: "udp", FromPort: new(int32(53)), ToPort: new(int32(54)), IPv6Ranges: []IPv6Range{{CidrIPv6: "::/0"}}},
		}},
		{"icmp keeps -1, all and other protocols have no ports", []model.SecurityGroupRule{
			{Protocol: "icmpv6", FromPort: -1, ToPort: -1, CidrIPv6: "::/0"},
			{Protocol: "-1", FromPort: -1, ToPort: -1, CidrIPv4: "0.0.0.0/0"},
			{Protocol: "47", FromPort: -1, ToPort: -1, GroupID: "sg-12345678", GroupOwner: netAcctA},
		}, []IPPermission{
			{IPProtocol: "icmpv6", FromPort: new(int32(-1)), ToPort: new(int32(-1)), IPv6Ranges: []IPv6Range{{CidrIPv6: "::/0"}}},
			{IPProtocol: "-1", IPRanges: []IPRange{{CidrIP: "0.0.0.0/0"}}},
			{IPProtocol: "47", UserIDGroupPairs: []UserIDGroupPair{{GroupID: "sg-12345678", UserID: netAcctA}}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, GroupIPPermissions(tt.rules)); diff != "" {
				t.Errorf("GroupIPPermissions() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDescribeSecurityGroupsFilters(t *testing.T) {
	s, _ := newNetTestService(t)
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	other := mustVpc(t, s, netAcctA, "10.1.0.0/16")
	web := mustGroup(t, s, netAcctA, vpc.ID, "web", model.Tag{Key: "tier", Value: "front"})
	db := mustGroup(t, s, netAcctA, vpc.ID, "db", model.Tag{Key: "tier", Value: "back"})
	ops := mustGroup(t, s, netAcctA, other.ID, "ops")
	mustAuthorize(t, s, netAcctA, web.ID, false, tcp(443, 443, "0.0.0.0/0"), IPPermission{IPProtocol: "icmpv6", FromPort: new(int32(-1)), ToPort: new(int32(-1)), IPv6Ranges: []IPv6Range{{CidrIPv6: "::/0"}}})
	mustAuthorize(t, s, netAcctA, db.ID, false, IPPermission{IPProtocol: "tcp", FromPort: new(int32(5432)), ToPort: new(int32(5433)), UserIDGroupPairs: []UserIDGroupPair{{GroupID: web.ID}}})
	mustAuthorize(t, s, netAcctA, db.ID, true, IPPermission{IPProtocol: "udp", FromPort: new(int32(53)), ToPort: new(int32(53)), IPRanges: []IPRange{{CidrIP: "10.0.0.2/32"}}})
	mustAuthorize(t, s, netAcctA, ops.ID, false, IPPermission{IPProtocol: "-1", UserIDGroupPairs: []UserIDGroupPair{{GroupID: other.DefaultGroupID}}})
	if _, err := s.RevokeSecurityGroupEgress(t.Context(), netAcctA, RevokeSecurityGroupInput{GroupID: ops.ID,
		IPPermissions: []IPPermission{{IPProtocol: "-1", IPRanges: []IPRange{{CidrIP: "0.0.0.0/0"}}}}}); err != nil {
		t.Fatal(err)
	}
	all := []string{vpc.DefaultGroupID, other.DefaultGroupID, web.ID, db.ID, ops.ID}

	tests := []struct {
		name    string
		filters []Filter
		want    []string
	}{
		{"none", nil, all},
		{"vpc-id", []Filter{{Name: "vpc-id", Values: []string{other.ID}}}, []string{other.DefaultGroupID, ops.ID}},
		{"group-name wildcard", []Filter{{Name: "group-name", Values: []string{"d*"}}}, []string{vpc.DefaultGroupID, other.DefaultGroupID, db.ID}},
		{"group-id", []Filter{{Name: "group-id", Values: []string{web.ID, ops.ID}}}, []string{web.ID, ops.ID}},
		{"description", []Filter{{Name: "description", Values: []string{"default VPC security group"}}}, []string{vpc.DefaultGroupID, other.DefaultGroupID}},
		{"owner-id", []Filter{{Name: "owner-id", Values: []string{netAcctB}}}, nil},
		{"tag", []Filter{{Name: "tag:tier", Values: []string{"front"}}}, []string{web.ID}},
		{"tag-key", []Filter{{Name: "tag-key", Values: []string{"tier"}}}, []string{web.ID, db.ID}},
		{"ip-permission.cidr", []Filter{{Name: "ip-permission.cidr", Values: []string{"0.0.0.0/0"}}}, []string{web.ID}},
		{"ip-permission.ipv6-cidr", []Filter{{Name: "ip-permission.ipv6-cidr", Values: []string{"::/0"}}}, []string{web.ID}},
		{"ip-permission.from-port", []Filter{{Name: "ip-permission.from-port", Values: []string{"5432"}}}, []string{db.ID}},
		{"ip-permission.to-port", []Filter{{Name: "ip-permission.to-port", Values: []string{"5433", "443"}}}, []string{web.ID, db.ID}},
		{"ip-permission.from-port -1 (icmp)", []Filter{{Name: "ip-permission.from-port", Values: []string{"-1"}}}, []string{web.ID}},
		{"ip-permission.protocol by name", []Filter{{Name: "ip-permission.protocol", Values: []string{"tcp"}}}, []string{web.ID, db.ID}},
		{"ip-permission.protocol by number", []Filter{{Name: "ip-permission.protocol", Values: []string{"58"}}}, []string{web.ID}},
		{"ip-permission.protocol -1", []Filter{{Name: "ip-permission.protocol", Values: []string{"-1"}}}, []string{vpc.DefaultGroupID, other.DefaultGroupID, ops.ID}},
		{"ip-permission.group-id", []Filter{{Name: "ip-permission.group-id", Values: []string{web.ID}}}, []string{db.ID}},
		{"ip-permission.group-name", []Filter{{Name: "ip-permission.group-name", Values: []string{"default"}}}, []string{vpc.DefaultGroupID, other.DefaultGroupID, ops.ID}},
		{"ip-permission.user-id", []Filter{{Name: "ip-permission.user-id", Values: []string{netAcctA}}}, []string{vpc.DefaultGroupID, other.DefaultGroupID, db.ID, ops.ID}},
		{"ip-permission.prefix-list-id", []Filter{{Name: "ip-permission.prefix-list-id", Values: []string{"*"}}}, nil},
		{"egress.ip-permission.cidr", []Filter{{Name: "egress.ip-permission.cidr", Values: []string{"10.0.0.2/32"}}}, []string{db.ID}},
		{"egress.ip-permission.protocol", []Filter{{Name: "egress.ip-permission.protocol", Values: []string{"17"}}}, []string{db.ID}},
		{"egress.ip-permission.to-port", []Filter{{Name: "egress.ip-permission.to-port", Values: []string{"53"}}}, []string{db.ID}},
		{"egress.ip-permission.cidr 0/0", []Filter{{Name: "egress.ip-permission.cidr", Values: []string{"0.0.0.0/0"}}}, []string{vpc.DefaultGroupID, other.DefaultGroupID, web.ID, db.ID}},
		{"filters AND, values OR", []Filter{
			{Name: "ip-permission.protocol", Values: []string{"tcp", "udp"}},
			{Name: "vpc-id", Values: []string{vpc.ID}},
			{Name: "ip-permission.cidr", Values: []string{"0.0.0.0/*"}},
		}, []string{web.ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := s.DescribeSecurityGroups(t.Context(), netAcctA, DescribeSecurityGroupsInput{Filters: tt.filters})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, g := range out.SecurityGroups {
				got = append(got, g.ID)
			}
			if diff := cmp.Diff(sorted(tt.want), got); diff != "" {
				t.Errorf("DescribeSecurityGroups() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func sorted(ids []string) []string {
	if ids == nil {
		return nil
	}
	out := append([]string(nil), ids...)
	sort.Strings(out)
	return out
}

func TestDescribeSecurityGroupsPaging(t *testing.T) {
	s, _ := newNetTestService(t)
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	want := []string{vpc.DefaultGroupID}
	for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
		want = append(want, mustGroup(t, s, netAcctA, vpc.ID, n).ID)
	}
	sort.Strings(want)
	var got []string
	page := Page{MaxResults: 5}
	for i := 0; ; i++ {
		out, err := s.DescribeSecurityGroups(t.Context(), netAcctA, DescribeSecurityGroupsInput{Page: page})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range out.SecurityGroups {
			got = append(got, g.ID)
		}
		if out.NextToken == "" {
			break
		}
		if i > 3 {
			t.Fatal("paging does not end")
		}
		page.NextToken = out.NextToken
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("paged DescribeSecurityGroups() mismatch (-want +got):\n%s", diff)
	}
}

func TestDescribeSecurityGroupRules(t *testing.T) {
	s, _ := newNetTestService(t)
	ctx := t.Context()
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	web := mustGroup(t, s, netAcctA, vpc.ID, "web")
	in, err := s.AuthorizeSecurityGroupIngress(ctx, netAcctA, AuthorizeSecurityGroupInput{GroupID: web.ID,
		IPPermissions: []IPPermission{tcp(80, 80, "0.0.0.0/0"), tcp(443, 443, "0.0.0.0/0")},
		TagSpecs:      []TagSpec{{ResourceType: "security-group-rule", Tags: []model.Tag{{Key: "Name", Value: "http"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.DescribeSecurityGroupRules(ctx, netAcctA, DescribeSecurityGroupRulesInput{Filters: []Filter{{Name: "group-id", Values: []string{web.ID}}}})
	if err != nil {
		t.Fatal(err)
	}
	want := []SecurityGroupRuleInfo{in[0], in[1], {GroupID: web.ID, GroupOwnerID: netAcctA, IsEgress: true,
		ARN: s.SecurityGroupRuleARN(netAcctA, web.Egress[0].ID), Rule: web.Egress[0]}}
	sort.Slice(want, func(i, j int) bool { return want[i].Rule.ID < want[j].Rule.ID })
	if diff := cmp.Diff(want, out.SecurityGroupRules); diff != "" {
		t.Errorf("DescribeSecurityGroupRules(group-id) mismatch (-want +got):\n%s", diff)
	}
	byID, err := s.DescribeSecurityGroupRules(ctx, netAcctA, DescribeSecurityGroupRulesInput{SecurityGroupRuleIDs: []string{in[1].Rule.ID}})
	if err != nil || len(byID.SecurityGroupRules) != 1 || byID.SecurityGroupRules[0].Rule.ID != in[1].Rule.ID {
		t.Errorf("DescribeSecurityGroupRules(id) = %+v, %v", byID, err)
	}
	tagged, err := s.DescribeSecurityGroupRules(ctx, netAcctA, DescribeSecurityGroupRulesInput{Filters: []Filter{
		{Name: "tag:Name", Values: []string{"http"}}, {Name: "security-group-rule-id", Values: []string{in[0].Rule.ID}}}})
	if err != nil || len(tagged.SecurityGroupRules) != 1 || tagged.SecurityGroupRules[0].Rule.ID != in[0].Rule.ID {
		t.Errorf("DescribeSecurityGroupRules(tag, id filter) = %+v, %v", tagged, err)
	}
	// Every rule of the account: the default group's 2, web's 3.
	page, err := s.DescribeSecurityGroupRules(ctx, netAcctA, DescribeSecurityGroupRulesInput{Page: Page{MaxResults: 5}})
	if err != nil || len(page.SecurityGroupRules) != 5 || page.NextToken != "" {
		t.Errorf("DescribeSecurityGroupRules(MaxResults 5) = %d rules, next %q, %v; want 5, none", len(page.SecurityGroupRules), page.NextToken, err)
	}
	other, err := s.DescribeSecurityGroupRules(ctx, netAcctB, DescribeSecurityGroupRulesInput{})
	if err != nil || len(other.SecurityGroupRules) != 0 {
		t.Errorf("DescribeSecurityGroupRules(B) = %+v, %v; want none", other, err)
	}
}

func TestDeleteSecurityGroup(t *testing.T) {
	s, _ := newNetTestService(t)
	ctx := t.Context()
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	web := mustGroup(t, s, netAcctA, vpc.ID, "web")
	db := mustGroup(t, s, netAcctA, vpc.ID, "db")
	// A group's reference to itself does not keep it alive; another's does.
	mustAuthorize(t, s, netAcctA, web.ID, false, IPPermission{IPProtocol: "-1", UserIDGroupPairs: []UserIDGroupPair{{GroupID: web.ID}}})
	rules := mustAuthorize(t, s, netAcctA, db.ID, true, IPPermission{IPProtocol: "tcp", FromPort: new(int32(1)), ToPort: new(int32(2)), UserIDGroupPairs: []UserIDGroupPair{{GroupID: web.ID}}})

	_, err := s.DeleteSecurityGroup(ctx, netAcctA, DeleteSecurityGroupInput{GroupID: web.ID})
	wantNetErr(t, err, "DependencyViolation", 400)
	if _, err := s.RevokeSecurityGroupEgress(ctx, netAcctA, RevokeSecurityGroupInput{GroupID: db.ID, SecurityGroupRuleIDs: []string{rules[0].Rule.ID}}); err != nil {
		t.Fatal(err)
	}
	wantNetErr(t, s.DeleteVpc(ctx, netAcctA, DeleteVpcInput{VpcID: vpc.ID}), "DependencyViolation", 400)
	for _, g := range []*model.SecurityGroup{web, db} {
		id, err := s.DeleteSecurityGroup(ctx, netAcctA, DeleteSecurityGroupInput{GroupID: g.ID})
		if err != nil || id != g.ID {
			t.Fatalf("DeleteSecurityGroup(%s) = %q, %v", g.ID, id, err)
		}
	}
	_, err = s.DescribeSecurityGroups(ctx, netAcctA, DescribeSecurityGroupsInput{GroupIDs: []string{web.ID}})
	wantNetErr(t, err, "InvalidGroup.NotFound", 400)
	if err := s.DeleteVpc(ctx, netAcctA, DeleteVpcInput{VpcID: vpc.ID}); err != nil {
		t.Fatalf("DeleteVpc after its groups are gone: %v", err)
	}
}

func TestSecurityGroupIsolation(t *testing.T) {
	s, _ := newNetTestService(t)
	ctx := t.Context()
	vpcA := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	vpcB := mustVpc(t, s, netAcctB, "10.0.0.0/16")
	a := mustGroup(t, s, netAcctA, vpcA.ID, "app")
	b := mustGroup(t, s, netAcctB, vpcB.ID, "app") // same name and CIDR in another account

	out, err := s.DescribeSecurityGroups(ctx, netAcctB, DescribeSecurityGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sorted([]string{vpcB.DefaultGroupID, b.ID}), groupIDs(out.SecurityGroups)); diff != "" {
		t.Errorf("DescribeSecurityGroups(B) mismatch (-want +got):\n%s", diff)
	}
	_, err = s.DescribeSecurityGroups(ctx, netAcctB, DescribeSecurityGroupsInput{GroupIDs: []string{a.ID}})
	wantMessage(t, err, "The security group '"+a.ID+"' does not exist")
	_, err = s.DescribeSecurityGroups(ctx, netAcctB, DescribeSecurityGroupsInput{GroupIDs: []string{a.ID, "sg-12345678"}})
	wantMessage(t, err, "The security groups '"+a.ID+", sg-12345678' do not exist")
	_, err = s.AuthorizeSecurityGroupIngress(ctx, netAcctB, AuthorizeSecurityGroupInput{GroupID: b.ID,
		IPPermissions: []IPPermission{{IPProtocol: "-1", UserIDGroupPairs: []UserIDGroupPair{{GroupID: a.ID, UserID: netAcctA}}}}})
	wantNetErr(t, err, "InvalidGroup.NotFound", 400)
	_, err = s.RevokeSecurityGroupEgress(ctx, netAcctB, RevokeSecurityGroupInput{GroupID: a.ID, SecurityGroupRuleIDs: []string{a.Egress[0].ID}})
	wantNetErr(t, err, "InvalidGroup.NotFound", 400)
	_, err = s.RevokeSecurityGroupEgress(ctx, netAcctB, RevokeSecurityGroupInput{GroupID: b.ID, SecurityGroupRuleIDs: []string{a.Egress[0].ID}})
	wantNetErr(t, err, "InvalidSecurityGroupRuleId.NotFound", 400)
	_, err = s.DeleteSecurityGroup(ctx, netAcctB, DeleteSecurityGroupInput{GroupID: a.ID})
	wantNetErr(t, err, "InvalidGroup.NotFound", 400)
	if got := getGroup(t, s, netAcctA, a.ID); len(got.Egress) != 1 {
		t.Errorf("A's group changed by B: %+v", got)
	}
}

func groupIDs(gs []*model.SecurityGroup) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.ID)
	}
	return out
}

func TestSecurityGroupDryRun(t *testing.T) {
	s, st := newNetTestService(t)
	ctx := t.Context()
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	web := mustGroup(t, s, netAcctA, vpc.ID, "web")
	calls := []struct {
		name string
		call func() error
	}{
		{"CreateSecurityGroup", func() error {
			_, err := s.CreateSecurityGroup(ctx, netAcctA, CreateSecurityGroupInput{GroupName: "x", Description: "x", VpcID: vpc.ID, DryRun: true})
			return err
		}},
		{"DescribeSecurityGroups", func() error {
			_, err := s.DescribeSecurityGroups(ctx, netAcctA, DescribeSecurityGroupsInput{DryRun: true})
			return err
		}},
		{"DescribeSecurityGroupRules", func() error {
			_, err := s.DescribeSecurityGroupRules(ctx, netAcctA, DescribeSecurityGroupRulesInput{DryRun: true})
			return err
		}},
		{"AuthorizeSecurityGroupIngress", func() error {
			_, err := s.AuthorizeSecurityGroupIngress(ctx, netAcctA, AuthorizeSecurityGroupInput{GroupID: web.ID, IPPermissions: []IPPermission{tcp(1, 1, "1.1.1.1/32")}, DryRun: true})
			return err
		}},
		{"AuthorizeSecurityGroupEgress", func() error {
			_, err := s.AuthorizeSecurityGroupEgress(ctx, netAcctA, AuthorizeSecurityGroupInput{GroupID: web.ID, IPPermissions: []IPPermission{tcp(1, 1, "1.1.1.1/32")}, DryRun: true})
			return err
		}},
		{"RevokeSecurityGroupEgress", func() error {
			_, err := s.RevokeSecurityGroupEgress(ctx, netAcctA, RevokeSecurityGroupInput{GroupID: web.ID, SecurityGroupRuleIDs: []string{web.Egress[0].ID}, DryRun: true})
			return err
		}},
		{"DeleteSecurityGroup", func() error {
			_, err := s.DeleteSecurityGroup(ctx, netAcctA, DeleteSecurityGroupInput{GroupID: web.ID, DryRun: true})
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
	// A dry run of an invalid call answers the real error.
	_, err := s.DeleteSecurityGroup(ctx, netAcctA, DeleteSecurityGroupInput{GroupID: vpc.DefaultGroupID, DryRun: true})
	wantNetErr(t, err, "CannotDelete", 400)
	if diff := cmp.Diff(web, getGroup(t, s, netAcctA, web.ID)); diff != "" {
		t.Errorf("group after dry runs mismatch (-want +got):\n%s", diff)
	}
}
