package e2e_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/testenv"
	"github.com/privlink/privlink/test/e2e"
)

// TestPrivilegedBadRequests sends requests that AWS refuses and checks, for
// each, the AWS error code, the HTTP status, and that nothing the account
// can see changed. The expected codes are AWS's (see
// ../../shared/reference/aws-privatelink.md); where the implementation
// differs, the implementation is wrong. Requests the SDK would refuse to
// send (missing required members, unknown actions, a skewed clock) go out
// raw, signed with SigV4.
func TestPrivilegedBadRequests(t *testing.T) {
	env := e2e.New(t)
	acct := env.Account("mallory")

	// The fixture: a VPC with a subnet, a security group with one rule and
	// a network ACL with one entry.
	vpc := aws.ToString(acct.CreateVpc(t, "10.0.0.0/16", "Name=fixture").VpcId)
	subnet := aws.ToString(acct.CreateSubnet(t, vpc, "10.0.1.0/24", "us-east-1a").SubnetId)
	acct.WaitVpcAvailable(t, vpc, settle)
	acct.WaitSubnetAvailable(t, subnet, settle)
	sgOut, err := acct.EC2.CreateSecurityGroup(t.Context(), &ec2.CreateSecurityGroupInput{
		VpcId: aws.String(vpc), GroupName: aws.String("web"), Description: aws.String("fixture"),
	})
	if err != nil {
		t.Fatalf("CreateSecurityGroup: %v", err)
	}
	sg := aws.ToString(sgOut.GroupId)
	https := []types.IpPermission{{
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443),
		IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}},
	}}
	if _, err := acct.EC2.AuthorizeSecurityGroupIngress(t.Context(), &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(sg), IpPermissions: https}); err != nil {
		t.Fatalf("AuthorizeSecurityGroupIngress: %v", err)
	}
	defaultSG := acct.DefaultSecurityGroup(t, vpc)
	aclOut, err := acct.EC2.CreateNetworkAcl(t.Context(), &ec2.CreateNetworkAclInput{VpcId: aws.String(vpc)})
	if err != nil {
		t.Fatalf("CreateNetworkAcl: %v", err)
	}
	acl := aws.ToString(aclOut.NetworkAcl.NetworkAclId)
	aclEntry := func(rule int32) *ec2.CreateNetworkAclEntryInput {
		return &ec2.CreateNetworkAclEntryInput{
			NetworkAclId: aws.String(acl), RuleNumber: aws.Int32(rule), Egress: aws.Bool(false),
			Protocol: aws.String("6"), RuleAction: types.RuleActionAllow, CidrBlock: aws.String("0.0.0.0/0"),
			PortRange: &types.PortRange{From: aws.Int32(443), To: aws.Int32(443)},
		}
	}
	if _, err := acct.EC2.CreateNetworkAclEntry(t.Context(), aclEntry(100)); err != nil {
		t.Fatalf("CreateNetworkAclEntry: %v", err)
	}

	const (
		unknownVpc    = "vpc-0123456789abcdef0"
		unknownSubnet = "subnet-0123456789abcdef0"
		unknownSG     = "sg-0123456789abcdef0"
		unknownACL    = "acl-0123456789abcdef0"
	)
	wrongSecret := env.Client(acct.AccessKeyID, acct.SecretAccessKey+"x")
	unknownKey := env.Client("AKIAE2EUNKNOWNKEY000", "secret")
	ec := acct.EC2
	createVpc := func(cidr string) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := ec.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(cidr)})
			return err
		}
	}
	createSubnet := func(in ec2.CreateSubnetInput) func(context.Context) error {
		return func(ctx context.Context) error {
			if in.VpcId == nil {
				in.VpcId = aws.String(vpc)
			}
			_, err := ec.CreateSubnet(ctx, &in)
			return err
		}
	}
	createTags := func(resource string, tags ...types.Tag) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := ec.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{resource}, Tags: tags})
			return err
		}
	}
	tag := func(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }
	manyTags := make([]types.Tag, 51)
	for i := range manyTags {
		manyTags[i] = tag("k"+strings.Repeat("x", i), "v")
	}

	type badCase struct {
		name   string
		code   string
		status int
		sdk    func(ctx context.Context) error // the call, through the SDK…
		raw    *e2e.RawRequest                 // …or raw
		skew   time.Duration                   // signing clock offset for raw
	}
	cases := []badCase{
		// CreateVpc
		{name: "CreateVpc prefix /33", code: "InvalidParameterValue", status: 400, sdk: createVpc("10.0.0.0/33")},
		{name: "CreateVpc octet 300", code: "InvalidParameterValue", status: 400, sdk: createVpc("300.0.0.0/16")},
		{name: "CreateVpc not a CIDR", code: "InvalidParameterValue", status: 400, sdk: createVpc("ten.zero/16")},
		{name: "CreateVpc /8 too big", code: "InvalidVpc.Range", status: 400, sdk: createVpc("10.0.0.0/8")},
		{name: "CreateVpc /29 too small", code: "InvalidVpc.Range", status: 400, sdk: createVpc("10.0.0.0/29")},
		// Not here: a CIDR with host bits set (10.0.0.1/16). AWS takes it and
		// stores the canonical form; TestPrivilegedVPCAcceptance checks that.
		{name: "CreateVpc without CidrBlock", code: "MissingParameter", status: 400, sdk: func(ctx context.Context) error {
			_, err := ec.CreateVpc(ctx, &ec2.CreateVpcInput{})
			return err
		}},
		{name: "CreateVpc DryRun", code: "DryRunOperation", status: 412, sdk: func(ctx context.Context) error {
			_, err := ec.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.9.0.0/16"), DryRun: aws.Bool(true)})
			return err
		}},
		{name: "CreateVpc tag key aws:", code: "InvalidParameterValue", status: 400, sdk: func(ctx context.Context) error {
			_, err := ec.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.9.0.0/16"), TagSpecifications: e2e.TagSpec(types.ResourceTypeVpc, "aws:x=1")})
			return err
		}},
		{name: "CreateVpc bad InstanceTenancy", code: "InvalidParameterValue", status: 400, sdk: func(ctx context.Context) error {
			_, err := ec.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.9.0.0/16"), InstanceTenancy: "sideways"})
			return err
		}},

		// CreateSubnet
		{name: "CreateSubnet overlapping", code: "InvalidSubnet.Conflict", status: 400, sdk: createSubnet(ec2.CreateSubnetInput{CidrBlock: aws.String("10.0.1.128/25"), AvailabilityZone: aws.String("us-east-1a")})},
		{name: "CreateSubnet same CIDR", code: "InvalidSubnet.Conflict", status: 400, sdk: createSubnet(ec2.CreateSubnetInput{CidrBlock: aws.String("10.0.1.0/24"), AvailabilityZone: aws.String("us-east-1b")})},
		{name: "CreateSubnet outside VPC", code: "InvalidSubnet.Range", status: 400, sdk: createSubnet(ec2.CreateSubnetInput{CidrBlock: aws.String("10.1.0.0/24"), AvailabilityZone: aws.String("us-east-1a")})},
		{name: "CreateSubnet /29 too small", code: "InvalidSubnet.Range", status: 400, sdk: createSubnet(ec2.CreateSubnetInput{CidrBlock: aws.String("10.0.5.0/29"), AvailabilityZone: aws.String("us-east-1a")})},
		{name: "CreateSubnet prefix /33", code: "InvalidParameterValue", status: 400, sdk: createSubnet(ec2.CreateSubnetInput{CidrBlock: aws.String("10.0.5.0/33"), AvailabilityZone: aws.String("us-east-1a")})},
		{name: "CreateSubnet unknown VPC", code: "InvalidVpcID.NotFound", status: 400, sdk: createSubnet(ec2.CreateSubnetInput{VpcId: aws.String(unknownVpc), CidrBlock: aws.String("10.0.5.0/24"), AvailabilityZone: aws.String("us-east-1a")})},
		{name: "CreateSubnet bad AZ", code: "InvalidParameterValue", status: 400, sdk: createSubnet(ec2.CreateSubnetInput{CidrBlock: aws.String("10.0.5.0/24"), AvailabilityZone: aws.String("us-east-1z")})},
		{name: "CreateSubnet AZ of another region", code: "InvalidParameterValue", status: 400, sdk: createSubnet(ec2.CreateSubnetInput{CidrBlock: aws.String("10.0.5.0/24"), AvailabilityZone: aws.String("us-west-2a")})},
		{name: "CreateSubnet AZ name and id", code: "InvalidParameterCombination", status: 400, sdk: createSubnet(ec2.CreateSubnetInput{CidrBlock: aws.String("10.0.5.0/24"), AvailabilityZone: aws.String("us-east-1a"), AvailabilityZoneId: aws.String("use1-az1")})},
		{name: "CreateSubnet without VpcId", code: "MissingParameter", status: 400, raw: &e2e.RawRequest{Action: "CreateSubnet", Params: url.Values{"CidrBlock": {"10.0.5.0/24"}, "AvailabilityZone": {"us-east-1a"}}}},
		{name: "CreateSubnet DryRun", code: "DryRunOperation", status: 412, sdk: createSubnet(ec2.CreateSubnetInput{CidrBlock: aws.String("10.0.5.0/24"), AvailabilityZone: aws.String("us-east-1a"), DryRun: aws.Bool(true)})},

		// Describe*
		{name: "DescribeVpcs malformed id", code: "InvalidVpcID.Malformed", status: 400, sdk: func(ctx context.Context) error {
			_, err := ec.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{"vpc-xyz"}})
			return err
		}},
		{name: "DescribeVpcs unknown id", code: "InvalidVpcID.NotFound", status: 400, sdk: func(ctx context.Context) error {
			_, err := ec.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{vpc, unknownVpc}})
			return err
		}},
		{name: "DescribeVpcs unknown filter", code: "InvalidParameterValue", status: 400, sdk: func(ctx context.Context) error {
			_, err := ec.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []types.Filter{e2e.Filter("colour", "blue")}})
			return err
		}},
		{name: "DescribeVpcs MaxResults 4", code: "InvalidParameterValue", status: 400, sdk: func(ctx context.Context) error {
			_, err := ec.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{MaxResults: aws.Int32(4)})
			return err
		}},
		// AWS: "Value ( … ) for parameter NextToken is invalid. The token is
		// invalid." (boto/boto3#2673, DescribeVpcs).
		{name: "DescribeVpcs bad NextToken", code: "InvalidParameterValue", status: 400, sdk: func(ctx context.Context) error {
			_, err := ec.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{NextToken: aws.String("!!not-a-token!!")})
			return err
		}},
		{name: "DescribeVpcs DryRun", code: "DryRunOperation", status: 412, sdk: func(ctx context.Context) error {
			_, err := ec.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{DryRun: aws.Bool(true)})
			return err
		}},
		{name: "DescribeVpcs unknown parameter", code: "UnknownParameter", status: 400, raw: &e2e.RawRequest{Action: "DescribeVpcs", Params: url.Values{"Colour": {"blue"}}}},
		{name: "DescribeSubnets unknown id", code: "InvalidSubnetID.NotFound", status: 400, sdk: func(ctx context.Context) error {
			_, err := ec.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{unknownSubnet}})
			return err
		}},
		{name: "DescribeSubnets unknown filter", code: "InvalidParameterValue", status: 400, sdk: func(ctx context.Context) error {
			_, err := ec.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []types.Filter{e2e.Filter("zone", "us-east-1a")}})
			return err
		}},
		{name: "DescribeSecurityGroups unknown id", code: "InvalidGroup.NotFound", status: 400, sdk: func(ctx context.Context) error {
			_, err := ec.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{unknownSG}})
			return err
		}},
		{name: "DescribeSecurityGroups malformed id", code: "InvalidGroupId.Malformed", status: 400, sdk: func(ctx context.Context) error {
			_, err := ec.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{"sg-xyz"}})
			return err
		}},

		// Delete*
		{name: "DeleteVpc with a subnet", code: "DependencyViolation", status: 400, sdk: func(ctx context.Context) error {
			_, err := ec.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(vpc)})
			return err
		}},
		{name: "DeleteVpc unknown", code: "InvalidVpcID.NotFound", status: 400, sdk: func(ctx context.Context) error {
			_, err := ec.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(unknownVpc)})
			return err
		}},
		{name: "DeleteVpc without VpcId", code: "MissingParameter", status: 400, raw: &e2e.RawRequest{Action: "DeleteVpc"}},
		{name: "DeleteSubnet DryRun", code: "DryRunOperation", status: 412, sdk: func(ctx context.Context) error {
			_, err := ec.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(subnet), DryRun: aws.Bool(true)})
			return err
		}},
		{name: "DeleteSubnet unknown", code: "InvalidSubnetID.NotFound", status: 400, sdk: func(ctx context.Context) error {
			_, err := ec.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(unknownSubnet)})
			return err
		}},

		// Security groups
		{name: "CreateSecurityGroup duplicate name", code: "InvalidGroup.Duplicate", status: 400, sdk: func(ctx context.Context) error {
			_, err := ec.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: aws.String(vpc), GroupName: aws.String("web"), Description: aws.String("again")})
			return err
		}},
		{name: "CreateSecurityGroup named default", code: "InvalidGroup.Duplicate", status: 400, sdk: func(ctx context.Context) error {
			_, err := ec.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: aws.String(vpc), GroupName: aws.String("default"), Description: aws.String("x")})
			return err
		}},
		{name: "CreateSecurityGroup name sg-*", code: "InvalidParameterValue", status: 400, sdk: func(ctx context.Context) error {
			_, err := ec.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: aws.String(vpc), GroupName: aws.String("sg-web"), Description: aws.String("x")})
			return err
		}},
		{name: "CreateSecurityGroup unknown VPC", code: "InvalidVpcID.NotFound", status: 400, sdk: func(ctx context.Context) error {
			_, err := ec.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: aws.String(unknownVpc), GroupName: aws.String("x"), Description: aws.String("x")})
			return err
		}},
		{name: "CreateSecurityGroup without description", code: "MissingParameter", status: 400, raw: &e2e.RawRequest{Action: "CreateSecurityGroup", Params: url.Values{"GroupName": {"nodesc"}, "VpcId": {vpc}}}},
		{name: "DeleteSecurityGroup default", code: "CannotDelete", status: 400, sdk: func(ctx context.Context) error {
			_, err := ec.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(defaultSG)})
			return err
		}},
		{name: "DeleteSecurityGroup unknown", code: "InvalidGroup.NotFound", status: 400, sdk: func(ctx context.Context) error {
			_, err := ec.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(unknownSG)})
			return err
		}},
		{name: "AuthorizeSecurityGroupIngress duplicate", code: "InvalidPermission.Duplicate", status: 400, sdk: func(ctx context.Context) error {
			_, err := ec.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(sg), IpPermissions: https})
			return err
		}},
		{name: "AuthorizeSecurityGroupIngress bad CIDR", code: "InvalidParameterValue", status: 400, sdk: func(ctx context.Context) error {
			_, err := ec.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(sg), IpPermissions: []types.IpPermission{{
				IpProtocol: aws.String("tcp"), FromPort: aws.Int32(80), ToPort: aws.Int32(80),
				IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/33")}},
			}}})
			return err
		}},

		// VPC attributes
		{name: "ModifyVpcAttribute two attributes", code: "InvalidParameterCombination", status: 400, sdk: func(ctx context.Context) error {
			_, err := ec.ModifyVpcAttribute(ctx, &ec2.ModifyVpcAttributeInput{
				VpcId:              aws.String(vpc),
				EnableDnsSupport:   &types.AttributeBooleanValue{Value: aws.Bool(true)},
				EnableDnsHostnames: &types.AttributeBooleanValue{Value: aws.Bool(true)},
			})
			return err
		}},

		// Tags
		{name: "CreateTags key aws:", code: "InvalidParameterValue", status: 400, sdk: createTags(vpc, tag("aws:x", "1"))},
		// EC2 takes keys of up to 128 characters and values of up to 256 (the
		// user guide; the API reference's 127/255 is stale).
		{name: "CreateTags key of 129 characters", code: "InvalidParameterValue", status: 400, sdk: createTags(vpc, tag(strings.Repeat("k", 129), "1"))},
		{name: "CreateTags value of 257 characters", code: "InvalidParameterValue", status: 400, sdk: createTags(vpc, tag("k", strings.Repeat("v", 257)))},
		{name: "CreateTags 51 tags", code: "TagLimitExceeded", status: 400, sdk: createTags(vpc, manyTags...)},
		{name: "CreateTags unknown VPC", code: "InvalidVpcID.NotFound", status: 400, sdk: createTags(unknownVpc, tag("k", "v"))},
		{name: "CreateTags malformed id", code: "InvalidID", status: 400, sdk: createTags("nonsense", tag("k", "v"))},

		// Network ACLs
		{name: "CreateNetworkAclEntry rule 0", code: "InvalidParameterValue", status: 400, sdk: func(ctx context.Context) error {
			_, err := ec.CreateNetworkAclEntry(ctx, aclEntry(0))
			return err
		}},
		{name: "CreateNetworkAclEntry rule 40000", code: "InvalidParameterValue", status: 400, sdk: func(ctx context.Context) error {
			_, err := ec.CreateNetworkAclEntry(ctx, aclEntry(40000))
			return err
		}},
		{name: "CreateNetworkAclEntry duplicate", code: "NetworkAclEntryAlreadyExists", status: 400, sdk: func(ctx context.Context) error {
			_, err := ec.CreateNetworkAclEntry(ctx, aclEntry(100))
			return err
		}},
		{name: "CreateNetworkAclEntry unknown ACL", code: "InvalidNetworkAclID.NotFound", status: 400, sdk: func(ctx context.Context) error {
			in := aclEntry(200)
			in.NetworkAclId = aws.String(unknownACL)
			_, err := ec.CreateNetworkAclEntry(ctx, in)
			return err
		}},
		{name: "CreateNetworkAcl unknown VPC", code: "InvalidVpcID.NotFound", status: 400, sdk: func(ctx context.Context) error {
			_, err := ec.CreateNetworkAcl(ctx, &ec2.CreateNetworkAclInput{VpcId: aws.String(unknownVpc)})
			return err
		}},

		// Authentication and protocol
		{name: "wrong secret key", code: "SignatureDoesNotMatch", status: http.StatusForbidden, sdk: func(ctx context.Context) error {
			_, err := wrongSecret.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.9.0.0/16")})
			return err
		}},
		{name: "unknown access key", code: "AuthFailure", status: http.StatusUnauthorized, sdk: func(ctx context.Context) error {
			_, err := unknownKey.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.9.0.0/16")})
			return err
		}},
		{name: "signed 20 minutes ago", code: "RequestExpired", status: 400, skew: -20 * time.Minute, raw: &e2e.RawRequest{Action: "CreateVpc", Params: url.Values{"CidrBlock": {"10.9.0.0/16"}}}},
		{name: "signed 20 minutes ahead", code: "RequestExpired", status: 400, skew: 20 * time.Minute, raw: &e2e.RawRequest{Action: "CreateVpc", Params: url.Values{"CidrBlock": {"10.9.0.0/16"}}}},
		{name: "unknown action", code: "InvalidAction", status: 400, raw: &e2e.RawRequest{Action: "CreateWormhole", Params: url.Values{"VpcId": {vpc}}}},
	}

	// settled is the baseline after a request wrongly changed something:
	// once whatever it created has finished its pending → available
	// transition, so that one failure does not cascade into the next case.
	settled := func(t *testing.T) (string, int64) {
		var snap string
		testenv.WaitFor(t, settle, "state to settle", func() error {
			snap = acct.Snapshot(t)
			if strings.Contains(snap, `"State": "pending"`) {
				return errors.New("something is still pending")
			}
			return nil
		})
		return snap, env.StoreRevision(t)
	}
	before, rev := acct.Snapshot(t), env.StoreRevision(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var code, detail string
			var status int
			if tc.raw != nil {
				r := *tc.raw
				if tc.skew != 0 {
					r.SignTime = time.Now().Add(tc.skew)
				}
				resp := acct.Raw(t, r)
				code, status, detail = resp.Code, resp.Status, resp.Message+"\n"+resp.Body
			} else {
				err := tc.sdk(t.Context())
				code, status = e2e.APIError(err)
				if err != nil {
					detail = err.Error()
				} else {
					detail = "the call succeeded"
				}
			}
			if code != tc.code || status != tc.status {
				t.Errorf("got %s (HTTP %d), want %s (HTTP %d)\n%s", code, status, tc.code, tc.status, detail)
			}
			changed := false
			if after := acct.Snapshot(t); after != before {
				t.Errorf("the request changed state (-before +after):\n%s", cmp.Diff(before, after))
				changed = true
			}
			if r := env.StoreRevision(t); r != rev {
				t.Errorf("store revision %d → %d: the request wrote to the store", rev, r)
				changed = true
			}
			if changed {
				before, rev = settled(t)
			}
		})
	}
	if len(cases) < 30 {
		t.Errorf("only %d bad requests; the issue asks for at least 30", len(cases))
	}
}
