package ec2

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/awsapi"
)

type xmlIPPermission struct {
	IPProtocol string `xml:"ipProtocol"`
	FromPort   *int   `xml:"fromPort"`
	ToPort     *int   `xml:"toPort"`
	IPRanges   []struct {
		CidrIP      string `xml:"cidrIp"`
		Description string `xml:"description"`
	} `xml:"ipRanges>item"`
	Groups []struct {
		GroupID string `xml:"groupId"`
		UserID  string `xml:"userId"`
	} `xml:"groups>item"`
}

type xmlSecurityGroup struct {
	GroupID     string            `xml:"groupId"`
	GroupName   string            `xml:"groupName"`
	Description string            `xml:"groupDescription"`
	OwnerID     string            `xml:"ownerId"`
	VpcID       string            `xml:"vpcId"`
	Arn         string            `xml:"securityGroupArn"`
	Ingress     []xmlIPPermission `xml:"ipPermissions>item"`
	Egress      []xmlIPPermission `xml:"ipPermissionsEgress>item"`
	Tags        []xmlTag          `xml:"tagSet>item"`
}

type xmlRule struct {
	ID         string `xml:"securityGroupRuleId"`
	GroupID    string `xml:"groupId"`
	Owner      string `xml:"groupOwnerId"`
	IsEgress   string `xml:"isEgress"`
	Protocol   string `xml:"ipProtocol"`
	FromPort   int    `xml:"fromPort"`
	ToPort     int    `xml:"toPort"`
	CidrIpv4   string `xml:"cidrIpv4"`
	RefGroupID string `xml:"referencedGroupInfo>groupId"`
	RefUserID  string `xml:"referencedGroupInfo>userId"`
	Arn        string `xml:"securityGroupRuleArn"`
}

func TestSecurityGroupActions(t *testing.T) {
	h := newNetHandler(t)
	a := netClient{t, h, "111111111111"}
	b := netClient{t, h, "222222222222"}

	var vpc struct {
		ID string `xml:"vpc>vpcId"`
	}
	a.must("CreateVpc", awsapi.Params{"CidrBlock": "10.0.0.0/16"}, &vpc)
	var defaults struct {
		Groups []xmlSecurityGroup `xml:"securityGroupInfo>item"`
	}
	a.must("DescribeSecurityGroups", awsapi.Params{"Filter.1.Name": "vpc-id", "Filter.1.Value.1": vpc.ID, "Filter.2.Name": "group-name", "Filter.2.Value.1": "default"}, &defaults)
	if len(defaults.Groups) != 1 || defaults.Groups[0].Description != "default VPC security group" {
		t.Fatalf("default group = %+v", defaults)
	}
	defaultGroup := defaults.Groups[0].GroupID

	var created struct {
		GroupID string   `xml:"groupId"`
		Arn     string   `xml:"securityGroupArn"`
		Tags    []xmlTag `xml:"tagSet>item"`
	}
	a.must("CreateSecurityGroup", awsapi.Params{
		"GroupName": "web", "GroupDescription": "web servers", "VpcId": vpc.ID,
		"TagSpecification.1.ResourceType": "security-group", "TagSpecification.1.Tag.1.Key": "Name", "TagSpecification.1.Tag.1.Value": "web",
	}, &created)
	if !strings.HasPrefix(created.GroupID, "sg-") || created.Arn != "arn:aws:ec2:us-east-1:111111111111:security-group/"+created.GroupID ||
		len(created.Tags) != 1 {
		t.Errorf("CreateSecurityGroup = %+v", created)
	}
	wantErr(t, a.call("CreateSecurityGroup", awsapi.Params{"GroupName": "web", "GroupDescription": "again", "VpcId": vpc.ID}, nil), "InvalidGroup.Duplicate", http.StatusBadRequest)
	wantErr(t, a.call("CreateSecurityGroup", awsapi.Params{"GroupName": "x", "GroupDescription": "x"}, nil), "VPCIdNotSpecified", http.StatusBadRequest)

	var authorized struct {
		Return string    `xml:"return"`
		Rules  []xmlRule `xml:"securityGroupRuleSet>item"`
	}
	a.must("AuthorizeSecurityGroupIngress", awsapi.Params{
		"GroupId":                                created.GroupID,
		"IpPermissions.1.IpProtocol":             "tcp",
		"IpPermissions.1.FromPort":               "22",
		"IpPermissions.1.ToPort":                 "22",
		"IpPermissions.1.IpRanges.1.CidrIp":      "203.0.113.0/24",
		"IpPermissions.1.IpRanges.1.Description": "SSH from the office",
		"IpPermissions.1.IpRanges.2.CidrIp":      "10.0.0.0/8",
		"IpPermissions.2.IpProtocol":             "-1",
		"IpPermissions.2.Groups.1.GroupId":       created.GroupID,
	}, &authorized)
	if authorized.Return != "true" || len(authorized.Rules) != 3 {
		t.Fatalf("AuthorizeSecurityGroupIngress = %+v", authorized)
	}
	self := authorized.Rules[2]
	wantSelf := xmlRule{ID: self.ID, GroupID: created.GroupID, Owner: "111111111111", IsEgress: "false", Protocol: "-1", FromPort: -1, ToPort: -1,
		RefGroupID: created.GroupID, RefUserID: "111111111111", Arn: "arn:aws:ec2:us-east-1:111111111111:security-group-rule/" + self.ID}
	if diff := cmp.Diff(wantSelf, self); diff != "" {
		t.Errorf("self-referencing rule mismatch (-want +got):\n%s", diff)
	}
	wantErr(t, a.call("AuthorizeSecurityGroupIngress", awsapi.Params{"GroupId": created.GroupID, "IpProtocol": "tcp", "FromPort": "22", "ToPort": "22", "CidrIp": "10.0.0.0/8"}, nil),
		"InvalidPermission.Duplicate", http.StatusBadRequest)

	var groups struct {
		Groups []xmlSecurityGroup `xml:"securityGroupInfo>item"`
	}
	a.must("DescribeSecurityGroups", awsapi.Params{"GroupId.1": created.GroupID}, &groups)
	if len(groups.Groups) != 1 {
		t.Fatalf("DescribeSecurityGroups = %+v", groups)
	}
	g := groups.Groups[0]
	if g.GroupName != "web" || g.Description != "web servers" || g.OwnerID != "111111111111" || g.VpcID != vpc.ID || g.Arn != created.Arn {
		t.Errorf("group = %+v", g)
	}
	if len(g.Ingress) != 2 || g.Ingress[0].IPProtocol != "tcp" || *g.Ingress[0].FromPort != 22 || len(g.Ingress[0].IPRanges) != 2 ||
		g.Ingress[0].IPRanges[0].Description != "SSH from the office" {
		t.Errorf("ipPermissions = %+v", g.Ingress)
	}
	if p := g.Ingress[1]; p.IPProtocol != "-1" || p.FromPort != nil || p.ToPort != nil || len(p.Groups) != 1 || p.Groups[0].UserID != "111111111111" {
		t.Errorf("all-traffic permission = %+v, want no ports and one group pair", p)
	}
	if len(g.Egress) != 1 || g.Egress[0].IPProtocol != "-1" || g.Egress[0].IPRanges[0].CidrIP != "0.0.0.0/0" {
		t.Errorf("ipPermissionsEgress = %+v", g.Egress)
	}
	groups.Groups = nil
	a.must("DescribeSecurityGroups", awsapi.Params{"Filter.1.Name": "ip-permission.cidr", "Filter.1.Value.1": "203.0.113.*"}, &groups)
	if len(groups.Groups) != 1 || groups.Groups[0].GroupID != created.GroupID {
		t.Errorf("DescribeSecurityGroups(ip-permission.cidr) = %+v", groups)
	}
	wantErr(t, b.call("DescribeSecurityGroups", awsapi.Params{"GroupId.1": created.GroupID}, nil), "InvalidGroup.NotFound", http.StatusBadRequest)

	var rules struct {
		Rules []xmlRule `xml:"securityGroupRuleSet>item"`
	}
	a.must("DescribeSecurityGroupRules", awsapi.Params{"Filter.1.Name": "group-id", "Filter.1.Value.1": created.GroupID}, &rules)
	if len(rules.Rules) != 4 {
		t.Errorf("DescribeSecurityGroupRules = %+v, want 3 ingress + 1 egress", rules)
	}

	var revoked struct {
		Return  string `xml:"return"`
		Revoked []struct {
			ID       string `xml:"securityGroupRuleId"`
			RefGroup string `xml:"referencedGroupId"`
		} `xml:"revokedSecurityGroupRuleSet>item"`
	}
	a.must("RevokeSecurityGroupIngress", awsapi.Params{"GroupId": created.GroupID, "SecurityGroupRuleId.1": self.ID}, &revoked)
	if revoked.Return != "true" || len(revoked.Revoked) != 1 || revoked.Revoked[0].ID != self.ID || revoked.Revoked[0].RefGroup != created.GroupID {
		t.Errorf("RevokeSecurityGroupIngress = %+v", revoked)
	}
	wantErr(t, a.call("RevokeSecurityGroupEgress", awsapi.Params{"GroupId": created.GroupID,
		"IpPermissions.1.IpProtocol": "udp", "IpPermissions.1.FromPort": "53", "IpPermissions.1.ToPort": "53", "IpPermissions.1.IpRanges.1.CidrIp": "0.0.0.0/0"}, nil),
		"InvalidPermission.NotFound", http.StatusBadRequest)
	a.must("RevokeSecurityGroupEgress", awsapi.Params{"GroupId": created.GroupID, "IpPermissions.1.IpProtocol": "-1", "IpPermissions.1.IpRanges.1.CidrIp": "0.0.0.0/0"}, nil)
	a.must("AuthorizeSecurityGroupEgress", awsapi.Params{"GroupId": created.GroupID, "IpPermissions.1.IpProtocol": "icmp",
		"IpPermissions.1.FromPort": "-1", "IpPermissions.1.ToPort": "-1", "IpPermissions.1.IpRanges.1.CidrIp": "10.0.0.0/16"}, nil)

	wantErr(t, a.call("DeleteSecurityGroup", awsapi.Params{"GroupId": defaultGroup}, nil), "CannotDelete", http.StatusBadRequest)
	wantErr(t, a.call("DeleteSecurityGroup", awsapi.Params{"GroupId": created.GroupID, "DryRun": "true"}, nil), "DryRunOperation", http.StatusPreconditionFailed)
	var deleted struct {
		Return  string `xml:"return"`
		GroupID string `xml:"groupId"`
	}
	a.must("DeleteSecurityGroup", awsapi.Params{"GroupId": created.GroupID}, &deleted)
	if deleted.Return != "true" || deleted.GroupID != created.GroupID {
		t.Errorf("DeleteSecurityGroup = %+v", deleted)
	}
}

type xmlNetworkAcl struct {
	ID        string `xml:"networkAclId"`
	VpcID     string `xml:"vpcId"`
	OwnerID   string `xml:"ownerId"`
	IsDefault string `xml:"default"`
	Entries   []struct {
		RuleNumber int    `xml:"ruleNumber"`
		Egress     string `xml:"egress"`
		Protocol   string `xml:"protocol"`
		Action     string `xml:"ruleAction"`
		Cidr       string `xml:"cidrBlock"`
		IcmpType   *int   `xml:"icmpTypeCode>type"`
		IcmpCode   *int   `xml:"icmpTypeCode>code"`
		PortFrom   *int   `xml:"portRange>from"`
		PortTo     *int   `xml:"portRange>to"`
	} `xml:"entrySet>item"`
	Associations []struct {
		ID       string `xml:"networkAclAssociationId"`
		AclID    string `xml:"networkAclId"`
		SubnetID string `xml:"subnetId"`
	} `xml:"associationSet>item"`
}

func TestNetworkAclActions(t *testing.T) {
	h := newNetHandler(t)
	a := netClient{t, h, "111111111111"}
	b := netClient{t, h, "222222222222"}

	var vpc struct {
		ID string `xml:"vpc>vpcId"`
	}
	a.must("CreateVpc", awsapi.Params{"CidrBlock": "10.0.0.0/16"}, &vpc)
	var sub struct {
		ID string `xml:"subnet>subnetId"`
	}
	a.must("CreateSubnet", awsapi.Params{"VpcId": vpc.ID, "CidrBlock": "10.0.1.0/24"}, &sub)

	var created struct {
		Acl         xmlNetworkAcl `xml:"networkAcl"`
		ClientToken string        `xml:"clientToken"`
	}
	a.must("CreateNetworkAcl", awsapi.Params{"VpcId": vpc.ID, "ClientToken": "abc"}, &created)
	acl := created.Acl
	if !strings.HasPrefix(acl.ID, "acl-") || acl.IsDefault != "false" || created.ClientToken != "abc" || len(acl.Entries) != 2 ||
		acl.Entries[0].RuleNumber != 32767 || acl.Entries[0].Egress != "true" || acl.Entries[0].Action != "deny" {
		t.Errorf("CreateNetworkAcl = %+v", created)
	}

	a.must("CreateNetworkAclEntry", awsapi.Params{"NetworkAclId": acl.ID, "RuleNumber": "100", "Protocol": "udp", "RuleAction": "allow",
		"Egress": "false", "CidrBlock": "0.0.0.0/0", "PortRange.From": "53", "PortRange.To": "53"}, nil)
	a.must("CreateNetworkAclEntry", awsapi.Params{"NetworkAclId": acl.ID, "RuleNumber": "110", "Protocol": "1", "RuleAction": "allow",
		"Egress": "true", "CidrBlock": "10.0.0.0/8", "Icmp.Type": "8", "Icmp.Code": "-1"}, nil)
	wantErr(t, a.call("CreateNetworkAclEntry", awsapi.Params{"NetworkAclId": acl.ID, "RuleNumber": "100", "Protocol": "-1", "RuleAction": "deny",
		"Egress": "false", "CidrBlock": "0.0.0.0/0"}, nil), "NetworkAclEntryAlreadyExists", http.StatusBadRequest)
	a.must("ReplaceNetworkAclEntry", awsapi.Params{"NetworkAclId": acl.ID, "RuleNumber": "100", "Protocol": "17", "RuleAction": "deny",
		"Egress": "false", "CidrBlock": "0.0.0.0/0", "PortRange.From": "53", "PortRange.To": "54"}, nil)

	var described struct {
		Acls []xmlNetworkAcl `xml:"networkAclSet>item"`
	}
	a.must("DescribeNetworkAcls", awsapi.Params{"NetworkAclId.1": acl.ID}, &described)
	if len(described.Acls) != 1 || len(described.Acls[0].Entries) != 4 {
		t.Fatalf("DescribeNetworkAcls = %+v", described)
	}
	e := described.Acls[0].Entries
	if e[0].RuleNumber != 110 || e[0].Protocol != "1" || *e[0].IcmpType != 8 || *e[0].IcmpCode != -1 || e[0].PortFrom != nil {
		t.Errorf("icmp entry = %+v", e[0])
	}
	if e[2].RuleNumber != 100 || e[2].Protocol != "17" || e[2].Action != "deny" || *e[2].PortFrom != 53 || *e[2].PortTo != 54 || e[2].IcmpType != nil {
		t.Errorf("udp entry = %+v", e[2])
	}
	a.must("DeleteNetworkAclEntry", awsapi.Params{"NetworkAclId": acl.ID, "RuleNumber": "110", "Egress": "true"}, nil)

	// Move the subnet from the default ACL to the new one.
	described.Acls = nil
	a.must("DescribeNetworkAcls", awsapi.Params{"Filter.1.Name": "association.subnet-id", "Filter.1.Value.1": sub.ID}, &described)
	if len(described.Acls) != 1 || described.Acls[0].IsDefault != "true" || len(described.Acls[0].Associations) != 1 {
		t.Fatalf("DescribeNetworkAcls(association.subnet-id) = %+v", described)
	}
	old := described.Acls[0].Associations[0]
	if old.AclID != described.Acls[0].ID || old.SubnetID != sub.ID {
		t.Errorf("association = %+v", old)
	}
	wantErr(t, b.call("ReplaceNetworkAclAssociation", awsapi.Params{"AssociationId": old.ID, "NetworkAclId": acl.ID}, nil), "InvalidNetworkAclID.NotFound", http.StatusBadRequest)
	var replaced struct {
		NewID string `xml:"newAssociationId"`
	}
	a.must("ReplaceNetworkAclAssociation", awsapi.Params{"AssociationId": old.ID, "NetworkAclId": acl.ID}, &replaced)
	if !strings.HasPrefix(replaced.NewID, "aclassoc-") || replaced.NewID == old.ID {
		t.Errorf("newAssociationId = %q", replaced.NewID)
	}
	described.Acls = nil
	a.must("DescribeNetworkAcls", awsapi.Params{"Filter.1.Name": "association.association-id", "Filter.1.Value.1": replaced.NewID}, &described)
	if len(described.Acls) != 1 || described.Acls[0].ID != acl.ID {
		t.Errorf("DescribeNetworkAcls(association.association-id) = %+v", described)
	}
	wantErr(t, a.call("DeleteNetworkAcl", awsapi.Params{"NetworkAclId": acl.ID}, nil), "DependencyViolation", http.StatusBadRequest)
	a.must("DeleteSubnet", awsapi.Params{"SubnetId": sub.ID}, nil)
	a.must("DeleteNetworkAcl", awsapi.Params{"NetworkAclId": acl.ID}, nil)
	wantErr(t, a.call("DescribeNetworkAcls", awsapi.Params{"NetworkAclId.1": acl.ID}, nil), "InvalidNetworkAclID.NotFound", http.StatusBadRequest)
}
