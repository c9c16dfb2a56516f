package e2e

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/privlink/privlink/internal/testenv"
)

// The bootstrap account that a first start creates.
const (
	BootstrapAccountID = "000000000000"
	BootstrapAccessKey = "test"
	BootstrapSecretKey = "test"
)

// Account is one tenant of the daemon with EC2 and ELBv2 clients signed by
// its keys.
type Account struct {
	Name            string
	ID              string
	AccessKeyID     string
	SecretAccessKey string
	EC2             *ec2.Client
	ELB             *elb.Client

	env      *Env
	observer *Account // see Observer
}

// Account returns the account called name, creating it on first use with
// `privlink accounts create --name NAME --output json`. "default" (and its
// alias "test") is the bootstrap account 000000000000 with the keys
// test/test. It reports failures on the test that called New, so call it from
// that test, not from its subtests.
func (e *Env) Account(name string) *Account {
	t := e.t
	t.Helper()
	key := name
	if name == "test" {
		key = "default"
	}
	e.mu.Lock()
	a := e.accounts[key]
	e.mu.Unlock()
	if a != nil {
		return a
	}
	if key == "default" {
		a = &Account{Name: key, ID: BootstrapAccountID, AccessKeyID: BootstrapAccessKey, SecretAccessKey: BootstrapSecretKey}
	} else {
		a = e.createAccount(t, name)
	}
	a.env = e
	a.EC2 = e.Client(a.AccessKeyID, a.SecretAccessKey)
	a.ELB = e.ELBClient(a.AccessKeyID, a.SecretAccessKey)
	a.observer = a.newObserver()
	e.mu.Lock()
	e.accounts[key] = a
	e.mu.Unlock()
	return a
}

// createAccount runs the CLI and holds it to its contract: stdout is exactly
// one JSON object with exactly AccountId, AccessKeyId and SecretAccessKey.
func (e *Env) createAccount(t testing.TB, name string) *Account {
	t.Helper()
	out := e.CLI(t, "accounts", "create", "--data-dir", e.dataDir, "--name", name, "--output", "json")
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	var got struct {
		AccountId       string
		AccessKeyId     string
		SecretAccessKey string
	}
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("privlink accounts create --output json: %v\noutput:\n%s", err, out)
	}
	if rest, _ := io.ReadAll(dec.Buffered()); len(bytes.TrimSpace(rest)) > 0 || dec.More() {
		t.Fatalf("privlink accounts create --output json printed more than one JSON object:\n%s", out)
	}
	if len(got.AccountId) != 12 || strings.Trim(got.AccountId, "0123456789") != "" || got.AccessKeyId == "" || got.SecretAccessKey == "" {
		t.Fatalf("privlink accounts create --output json: bad account %+v", got)
	}
	return &Account{Name: name, ID: got.AccountId, AccessKeyID: got.AccessKeyId, SecretAccessKey: got.SecretAccessKey}
}

// Client returns an EC2 client for the daemon signed with the given keys
// (which need not be valid: bad-credential tests use it). Retries are off,
// so every call is exactly one request.
func (e *Env) Client(accessKeyID, secret string) *ec2.Client {
	return ec2.New(ec2.Options{
		Region:       Region,
		BaseEndpoint: aws.String(e.URL()),
		Credentials:  credentials.NewStaticCredentialsProvider(accessKeyID, secret, ""),
		Retryer:      aws.NopRetryer{},
		APIOptions:   []func(*middleware.Stack) error{e.trackCreatedVpcs},
	})
}

// trackCreatedVpcs records the id of every VPC a CreateVpc call returns,
// of every instance a RunInstances call returns, and of every network
// interface of an endpoint a CreateVpcEndpoint call returns.
func (e *Env) trackCreatedVpcs(st *middleware.Stack) error {
	return st.Initialize.Add(middleware.InitializeMiddlewareFunc("e2eTrackVpcs",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleInitialize(ctx, in)
			if o, ok := out.Result.(*ec2.CreateVpcOutput); ok && o.Vpc != nil && o.Vpc.VpcId != nil {
				e.TrackVpc(*o.Vpc.VpcId)
			}
			if o, ok := out.Result.(*ec2.CreateVpcEndpointOutput); ok && o.VpcEndpoint != nil {
				for _, id := range o.VpcEndpoint.NetworkInterfaceIds {
					e.TrackENI(id)
				}
			}
			if o, ok := out.Result.(*ec2.RunInstancesOutput); ok {
				for _, i := range o.Instances {
					if i.InstanceId != nil {
						e.TrackInstance(*i.InstanceId)
					}
				}
			}
			return out, md, err
		}), middleware.Before)
}

// Tags turns "key=value" strings into EC2 tags.
func Tags(kv ...string) []types.Tag {
	tags := make([]types.Tag, 0, len(kv))
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		tags = append(tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return tags
}

// TagSpec is a TagSpecifications value for one resource type.
func TagSpec(rt types.ResourceType, kv ...string) []types.TagSpecification {
	if len(kv) == 0 {
		return nil
	}
	return []types.TagSpecification{{ResourceType: rt, Tags: Tags(kv...)}}
}

// Filter is one Describe* filter.
func Filter(name string, values ...string) types.Filter {
	return types.Filter{Name: aws.String(name), Values: values}
}

// CreateVpc creates a VPC with the given "key=value" tags and returns it.
func (a *Account) CreateVpc(t testing.TB, cidr string, tags ...string) types.Vpc {
	t.Helper()
	out, err := a.EC2.CreateVpc(t.Context(), &ec2.CreateVpcInput{
		CidrBlock:         aws.String(cidr),
		TagSpecifications: TagSpec(types.ResourceTypeVpc, tags...),
	})
	if err != nil {
		t.Fatalf("%s: CreateVpc(%s): %v", a.Name, cidr, err)
	}
	if out.Vpc == nil || aws.ToString(out.Vpc.VpcId) == "" {
		t.Fatalf("%s: CreateVpc(%s) returned no VPC id", a.Name, cidr)
	}
	return *out.Vpc
}

// CreateSubnet creates a subnet in zone az with the given "key=value" tags.
func (a *Account) CreateSubnet(t testing.TB, vpcID, cidr, az string, tags ...string) types.Subnet {
	t.Helper()
	out, err := a.EC2.CreateSubnet(t.Context(), &ec2.CreateSubnetInput{
		VpcId:             aws.String(vpcID),
		CidrBlock:         aws.String(cidr),
		AvailabilityZone:  aws.String(az),
		TagSpecifications: TagSpec(types.ResourceTypeSubnet, tags...),
	})
	if err != nil {
		t.Fatalf("%s: CreateSubnet(%s, %s, %s): %v", a.Name, vpcID, cidr, az, err)
	}
	if out.Subnet == nil || aws.ToString(out.Subnet.SubnetId) == "" {
		t.Fatalf("%s: CreateSubnet(%s) returned no subnet id", a.Name, cidr)
	}
	return *out.Subnet
}

// Vpc describes one VPC by id.
func (a *Account) Vpc(t testing.TB, id string) types.Vpc {
	t.Helper()
	out, err := a.EC2.DescribeVpcs(t.Context(), &ec2.DescribeVpcsInput{VpcIds: []string{id}})
	if err != nil {
		t.Fatalf("%s: DescribeVpcs(%s): %v", a.Name, id, err)
	}
	if len(out.Vpcs) != 1 || aws.ToString(out.Vpcs[0].VpcId) != id {
		t.Fatalf("%s: DescribeVpcs(%s) returned %d VPCs", a.Name, id, len(out.Vpcs))
	}
	return out.Vpcs[0]
}

// WaitVpcAvailable polls DescribeVpcs until the VPC is available.
func (a *Account) WaitVpcAvailable(t testing.TB, id string, timeout time.Duration) types.Vpc {
	t.Helper()
	var vpc types.Vpc
	testenv.WaitFor(t, timeout, "VPC "+id+" available", func() error {
		out, err := a.EC2.DescribeVpcs(t.Context(), &ec2.DescribeVpcsInput{VpcIds: []string{id}})
		if err != nil {
			return err
		}
		if len(out.Vpcs) != 1 {
			return fmt.Errorf("%d VPCs", len(out.Vpcs))
		}
		vpc = out.Vpcs[0]
		if vpc.State != types.VpcStateAvailable {
			return fmt.Errorf("state %q", vpc.State)
		}
		return nil
	})
	return vpc
}

// WaitSubnetAvailable polls DescribeSubnets until the subnet is available.
func (a *Account) WaitSubnetAvailable(t testing.TB, id string, timeout time.Duration) types.Subnet {
	t.Helper()
	var sn types.Subnet
	testenv.WaitFor(t, timeout, "subnet "+id+" available", func() error {
		out, err := a.EC2.DescribeSubnets(t.Context(), &ec2.DescribeSubnetsInput{SubnetIds: []string{id}})
		if err != nil {
			return err
		}
		if len(out.Subnets) != 1 {
			return fmt.Errorf("%d subnets", len(out.Subnets))
		}
		sn = out.Subnets[0]
		if sn.State != types.SubnetStateAvailable {
			return fmt.Errorf("state %q", sn.State)
		}
		return nil
	})
	return sn
}

// DefaultSecurityGroup returns the id of a VPC's "default" group.
func (a *Account) DefaultSecurityGroup(t testing.TB, vpcID string) string {
	t.Helper()
	out, err := a.EC2.DescribeSecurityGroups(t.Context(), &ec2.DescribeSecurityGroupsInput{
		Filters: []types.Filter{Filter("vpc-id", vpcID), Filter("group-name", "default")},
	})
	if err != nil {
		t.Fatalf("%s: DescribeSecurityGroups(default of %s): %v", a.Name, vpcID, err)
	}
	if len(out.SecurityGroups) != 1 {
		t.Fatalf("%s: VPC %s has %d default security groups, want 1", a.Name, vpcID, len(out.SecurityGroups))
	}
	return aws.ToString(out.SecurityGroups[0].GroupId)
}

// deleteAll terminates every instance of the account and deletes its load
// balancers (with their listeners) and target groups, then deletes every
// VPC and what is in it (subnets, non-default groups and ACLs) and returns
// the ids of the VPCs it found. It goes on past errors and returns them
// joined.
func (a *Account) deleteAll(ctx context.Context) ([]string, error) {
	var errs []error
	if err := a.terminateAll(ctx); err != nil {
		errs = append(errs, err)
	}
	// A load balancer's nodes keep their subnets in use.
	if err := a.deleteLoadBalancing(ctx); err != nil {
		errs = append(errs, err)
	}
	vpcs, err := a.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	if err != nil {
		return nil, errors.Join(append(errs, fmt.Errorf("DescribeVpcs: %w", err))...)
	}
	var ids []string
	for _, v := range vpcs.Vpcs {
		id := aws.ToString(v.VpcId)
		ids = append(ids, id)
		byVpc := []types.Filter{Filter("vpc-id", id)}
		if sns, err := a.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: byVpc}); err != nil {
			errs = append(errs, err)
		} else {
			for _, s := range sns.Subnets {
				if _, err := a.EC2.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: s.SubnetId}); err != nil {
					errs = append(errs, err)
				}
			}
		}
		if sgs, err := a.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: byVpc}); err != nil {
			errs = append(errs, err)
		} else {
			if err := a.revokeGroupReferences(ctx, sgs.SecurityGroups); err != nil {
				errs = append(errs, err)
			}
			for _, g := range sgs.SecurityGroups {
				if aws.ToString(g.GroupName) == "default" {
					continue
				}
				if _, err := a.EC2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: g.GroupId}); err != nil {
					errs = append(errs, err)
				}
			}
		}
		if acls, err := a.EC2.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{Filters: byVpc}); err != nil {
			errs = append(errs, err)
		} else {
			for _, acl := range acls.NetworkAcls {
				if aws.ToBool(acl.IsDefault) {
					continue
				}
				if _, err := a.EC2.DeleteNetworkAcl(ctx, &ec2.DeleteNetworkAclInput{NetworkAclId: acl.NetworkAclId}); err != nil {
					errs = append(errs, err)
				}
			}
		}
		if _, err := a.EC2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: v.VpcId}); err != nil {
			errs = append(errs, err)
		}
	}
	return ids, errors.Join(errs...)
}

// Snapshot renders everything the account can see (VPCs, subnets, security
// groups, network ACLs and tags), sorted by id, as indented JSON: two
// snapshots that differ mean some call changed state.
func (a *Account) Snapshot(t testing.TB) string {
	t.Helper()
	ctx := t.Context()
	vpcs, err := a.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	if err != nil {
		t.Fatalf("snapshot: DescribeVpcs: %v", err)
	}
	sns, err := a.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
	if err != nil {
		t.Fatalf("snapshot: DescribeSubnets: %v", err)
	}
	sgs, err := a.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
	if err != nil {
		t.Fatalf("snapshot: DescribeSecurityGroups: %v", err)
	}
	acls, err := a.EC2.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{})
	if err != nil {
		t.Fatalf("snapshot: DescribeNetworkAcls: %v", err)
	}
	tags, err := a.EC2.DescribeTags(ctx, &ec2.DescribeTagsInput{})
	if err != nil {
		t.Fatalf("snapshot: DescribeTags: %v", err)
	}
	slices.SortFunc(vpcs.Vpcs, func(x, y types.Vpc) int { return cmp.Compare(aws.ToString(x.VpcId), aws.ToString(y.VpcId)) })
	slices.SortFunc(sns.Subnets, func(x, y types.Subnet) int { return cmp.Compare(aws.ToString(x.SubnetId), aws.ToString(y.SubnetId)) })
	slices.SortFunc(sgs.SecurityGroups, func(x, y types.SecurityGroup) int {
		return cmp.Compare(aws.ToString(x.GroupId), aws.ToString(y.GroupId))
	})
	slices.SortFunc(acls.NetworkAcls, func(x, y types.NetworkAcl) int {
		return cmp.Compare(aws.ToString(x.NetworkAclId), aws.ToString(y.NetworkAclId))
	})
	slices.SortFunc(tags.Tags, func(x, y types.TagDescription) int {
		return cmp.Or(cmp.Compare(aws.ToString(x.ResourceId), aws.ToString(y.ResourceId)), cmp.Compare(aws.ToString(x.Key), aws.ToString(y.Key)))
	})
	b, err := json.MarshalIndent(map[string]any{
		"Vpcs":           vpcs.Vpcs,
		"Subnets":        sns.Subnets,
		"SecurityGroups": sgs.SecurityGroups,
		"NetworkAcls":    acls.NetworkAcls,
		"Tags":           tags.Tags,
	}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// APIError returns the AWS error code and the HTTP status of an SDK error
// ("" and 0 when err is nil or carries neither).
func APIError(err error) (code string, status int) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return code, status
}

// WantError fails t unless err is the AWS error code with HTTP status
// status (0: any status).
func WantError(t testing.TB, err error, code string, status int) {
	t.Helper()
	if err == nil {
		t.Fatalf("got success, want %s (%d)", code, status)
	}
	gotCode, gotStatus := APIError(err)
	if gotCode != code || (status != 0 && gotStatus != status) {
		t.Fatalf("got %s (HTTP %d), want %s (HTTP %d)\nerror: %v", gotCode, gotStatus, code, status, err)
	}
}

// RawRequest is an EC2 Query request sent without the SDK, so that it can be
// anything the SDK would refuse to send: a missing required parameter, an
// unknown action, a skewed clock.
type RawRequest struct {
	Action  string
	Version string     // "" means 2016-11-15
	Params  url.Values // without Action and Version
	// SignTime is the signing time; zero means now.
	SignTime time.Time
	// Secret overrides the account's secret key when not empty.
	Secret string
}

// RawResponse is the daemon's answer to a RawRequest; Code and Message are
// filled in from an EC2 error envelope.
type RawResponse struct {
	Status  int
	Code    string
	Message string
	Body    string
}

// Raw sends r as a form-encoded POST signed with SigV4 by the account's keys.
func (a *Account) Raw(t testing.TB, r RawRequest) RawResponse {
	t.Helper()
	form := url.Values{}
	for k, v := range r.Params {
		form[k] = v
	}
	form.Set("Action", r.Action)
	form.Set("Version", cmp.Or(r.Version, "2016-11-15"))
	body := form.Encode()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, a.env.URL()+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: a.AccessKeyID, SecretAccessKey: cmp.Or(r.Secret, a.SecretAccessKey)}
	signTime := r.SignTime
	if signTime.IsZero() {
		signTime = time.Now()
	}
	if err := v4.NewSigner().SignHTTP(t.Context(), creds, req, hex.EncodeToString(sum[:]), "ec2", Region, signTime.UTC()); err != nil {
		t.Fatal(err)
	}
	resp, err := a.env.http.Do(req)
	if err != nil {
		t.Fatalf("raw %s: %v", r.Action, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("raw %s: %v", r.Action, err)
	}
	out := RawResponse{Status: resp.StatusCode, Body: string(b)}
	var env struct {
		XMLName xml.Name `xml:"Response"`
		Errors  []struct {
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		} `xml:"Errors>Error"`
	}
	if xml.Unmarshal(b, &env) == nil && len(env.Errors) > 0 {
		out.Code, out.Message = env.Errors[0].Code, env.Errors[0].Message
	}
	return out
}
