package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/test/e2e"
)

// itemError is the one unsuccessful item of a batch call (DeleteVpcEndpoints,
// Accept/RejectVpcEndpointConnections, DeleteVpcEndpointServiceConfigurations),
// which answers 200 and reports failures per item.
type itemError struct{ resource, code, message string }

func (e *itemError) Error() string {
	return fmt.Sprintf("unsuccessful item %s: %s: %s", e.resource, e.code, e.message)
}

// oneItem turns a batch call's answer into its error: err itself, or the
// one unsuccessful item, which must be about id.
func oneItem(id string, items []ec2types.UnsuccessfulItem, err error) error {
	if err != nil {
		return err
	}
	if len(items) != 1 || aws.ToString(items[0].ResourceId) != id || items[0].Error == nil {
		return fmt.Errorf("unsuccessful items [%s], want exactly one, for %s", e2e.Unsuccessful(items), id)
	}
	return &itemError{resource: id, code: aws.ToString(items[0].Error.Code), message: aws.ToString(items[0].Error.Message)}
}

// outcome is the code and HTTP status a call ended with: an AWS error's, an
// unsuccessful item's code with 200, or "" and 200 for a plain success.
func outcome(err error) (string, int) {
	var ie *itemError
	switch {
	case err == nil:
		return "", 200
	case errors.As(err, &ie):
		return ie.code, 200
	}
	return e2e.APIError(err)
}

// TestPrivilegedPrivateLinkBadRequests sends PrivateLink requests that AWS
// refuses (or answers with unsuccessful items) and checks, for each, the
// AWS error code, the HTTP status, and that nothing any account can see
// changed (endpoint services, their permissions and connections, endpoints,
// network interfaces, load balancers, VPCs…), nor the store revision.
func TestPrivilegedPrivateLinkBadRequests(t *testing.T) {
	txt := e2e.StartTXTServer(t)
	env := e2e.New(t, e2e.WithVerificationResolver(txt.Addr()))
	prov := env.Account("provider")
	cons := env.Account("consumer")
	outsider := env.Account("outsider")

	// The provider: three NLBs with a node in us-east-1a; two back
	// services: svcV with a verified private DNS name and no acceptance,
	// svcU with an unverified one, requiring acceptance.
	pvpc := aws.ToString(prov.CreateVpc(t, "10.0.0.0/16").VpcId)
	psub := aws.ToString(prov.CreateSubnet(t, pvpc, "10.0.1.0/24", "us-east-1a").SubnetId)
	prov.WaitSubnetAvailable(t, psub, settle)
	nlbV := aws.ToString(prov.CreateNLB(t, "verified", []string{psub}).LoadBalancerArn)
	nlbU := aws.ToString(prov.CreateNLB(t, "unverified", []string{psub}).LoadBalancerArn)
	nlbFree := aws.ToString(prov.CreateNLB(t, "free", []string{psub}).LoadBalancerArn)
	for _, arn := range []string{nlbV, nlbU, nlbFree} {
		prov.WaitLoadBalancerActive(t, arn, lbActive)
	}
	svcV := prov.CreateEndpointService(t, []string{nlbV}, func(in *ec2.CreateVpcEndpointServiceConfigurationInput) {
		in.PrivateDnsName = aws.String("verified.example.test")
	})
	svcU := prov.CreateEndpointService(t, []string{nlbU}, func(in *ec2.CreateVpcEndpointServiceConfigurationInput) {
		in.PrivateDnsName, in.AcceptanceRequired = aws.String("unverified.example.test"), aws.Bool(true)
	})
	svcVID, svcVName := aws.ToString(svcV.ServiceId), aws.ToString(svcV.ServiceName)
	svcUID, svcUName := aws.ToString(svcU.ServiceId), aws.ToString(svcU.ServiceName)
	txt.Set(aws.ToString(svcV.PrivateDnsNameConfiguration.Name)+".verified.example.test", aws.ToString(svcV.PrivateDnsNameConfiguration.Value))
	if _, err := prov.EC2.StartVpcEndpointServicePrivateDnsVerification(t.Context(), &ec2.StartVpcEndpointServicePrivateDnsVerificationInput{ServiceId: aws.String(svcVID)}); err != nil {
		t.Fatalf("StartVpcEndpointServicePrivateDnsVerification(%s): %v", svcVID, err)
	}
	if c := prov.EndpointService(t, svcVID).PrivateDnsNameConfiguration; c == nil || c.State != ec2types.DnsNameStateVerified {
		t.Fatalf("%s: private DNS name not verified: %+v", svcVID, c)
	}
	prov.AllowPrincipals(t, svcVID, cons.Principal())
	prov.AllowPrincipals(t, svcUID, cons.Principal())

	// The consumer: vpcMain (DNS hostnames off, as VPCs start) with two
	// subnets in us-east-1a and one in us-east-1c; vpcDNS with DNS support
	// and hostnames on; vpcNoDNS with both off.
	vpcMain := aws.ToString(cons.CreateVpc(t, "10.0.0.0/16").VpcId)
	subA := aws.ToString(cons.CreateSubnet(t, vpcMain, "10.0.1.0/24", "us-east-1a").SubnetId)
	subA2 := aws.ToString(cons.CreateSubnet(t, vpcMain, "10.0.2.0/24", "us-east-1a").SubnetId)
	subC := aws.ToString(cons.CreateSubnet(t, vpcMain, "10.0.3.0/24", "us-east-1c").SubnetId)
	vpcDNS := aws.ToString(cons.CreateVpc(t, "10.1.0.0/16").VpcId)
	subDNS := aws.ToString(cons.CreateSubnet(t, vpcDNS, "10.1.1.0/24", "us-east-1a").SubnetId)
	vpcNoDNS := aws.ToString(cons.CreateVpc(t, "10.2.0.0/16").VpcId)
	subNoDNS := aws.ToString(cons.CreateSubnet(t, vpcNoDNS, "10.2.1.0/24", "us-east-1a").SubnetId)
	ovpc := aws.ToString(outsider.CreateVpc(t, "10.0.0.0/16").VpcId)
	osub := aws.ToString(outsider.CreateSubnet(t, ovpc, "10.0.1.0/24", "us-east-1a").SubnetId)
	for _, sn := range []string{subA, subA2, subC, subDNS, subNoDNS} {
		cons.WaitSubnetAvailable(t, sn, settle)
	}
	outsider.WaitSubnetAvailable(t, osub, settle)
	cons.SetVpcDNS(t, vpcDNS, true, true)
	cons.SetVpcDNS(t, vpcNoDNS, false, false)
	sgMain := createGroup(t, cons, vpcMain, "endpoint")
	sgDNS := createGroup(t, cons, vpcDNS, "endpoint")

	// The endpoints: epMain (made with a ClientToken) and epDNS (private
	// DNS on) to svcV, available; epPending to svcU.
	const token = "fixture-endpoint-token"
	mainInput := func() *ec2.CreateVpcEndpointInput {
		return &ec2.CreateVpcEndpointInput{
			VpcId: aws.String(vpcMain), ServiceName: aws.String(svcVName), VpcEndpointType: ec2types.VpcEndpointTypeInterface,
			SubnetIds: []string{subA}, SecurityGroupIds: []string{sgMain}, ClientToken: aws.String(token),
		}
	}
	epMainOut, err := cons.EC2.CreateVpcEndpoint(t.Context(), mainInput())
	if err != nil {
		t.Fatalf("CreateVpcEndpoint(fixture): %v", err)
	}
	epMain := aws.ToString(epMainOut.VpcEndpoint.VpcEndpointId)
	epDNS := aws.ToString(cons.CreateInterfaceEndpoint(t, vpcDNS, svcVName, []string{subDNS}, []string{sgDNS}, func(in *ec2.CreateVpcEndpointInput) {
		in.PrivateDnsEnabled = aws.Bool(true)
	}).VpcEndpointId)
	epPending := aws.ToString(cons.CreateInterfaceEndpoint(t, vpcMain, svcUName, []string{subA}, []string{sgMain}).VpcEndpointId)
	for id, state := range map[string]string{epMain: e2e.EndpointAvailable, epDNS: e2e.EndpointAvailable, epPending: e2e.EndpointPendingAcceptance} {
		ep := cons.WaitEndpointState(t, id, state, endpointReady)
		endpointIPs(t, cons, ep) // and their namespaces are up
	}

	const (
		unknownVpc      = "vpc-0123456789abcdef0"
		unknownSubnet   = "subnet-0123456789abcdef0"
		unknownGroup    = "sg-0123456789abcdef0"
		unknownEndpoint = "vpce-0123456789abcdef0"
		unknownService  = "vpce-svc-0123456789abcdef0"
	)
	unknownNLB := nlbFree[:len(nlbFree)-16] + "0123456789abcdef"

	// createEP is CreateVpcEndpoint of an interface endpoint in vpcMain's
	// subA with its group to svcV, as mod changes it.
	createEP := func(a *e2e.Account, mod func(*ec2.CreateVpcEndpointInput)) func(context.Context) error {
		return func(ctx context.Context) error {
			in := &ec2.CreateVpcEndpointInput{
				VpcId: aws.String(vpcMain), ServiceName: aws.String(svcVName), VpcEndpointType: ec2types.VpcEndpointTypeInterface,
				SubnetIds: []string{subA}, SecurityGroupIds: []string{sgMain},
			}
			mod(in)
			_, err := a.EC2.CreateVpcEndpoint(ctx, in)
			return err
		}
	}
	privateDNS := func(vpc, subnet, service string) func(*ec2.CreateVpcEndpointInput) {
		return func(in *ec2.CreateVpcEndpointInput) {
			in.VpcId, in.SubnetIds, in.SecurityGroupIds, in.ServiceName, in.PrivateDnsEnabled = aws.String(vpc), []string{subnet}, nil, aws.String(service), aws.Bool(true)
		}
	}
	modifyEP := func(in *ec2.ModifyVpcEndpointInput) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := cons.EC2.ModifyVpcEndpoint(ctx, in)
			return err
		}
	}
	deleteEPs := func(a *e2e.Account, id string, dryRun bool) func(context.Context) error {
		return func(ctx context.Context) error {
			out, err := a.EC2.DeleteVpcEndpoints(ctx, &ec2.DeleteVpcEndpointsInput{VpcEndpointIds: []string{id}, DryRun: aws.Bool(dryRun)})
			if err != nil {
				return err
			}
			return oneItem(id, out.Unsuccessful, nil)
		}
	}
	deleteSvc := func(id string) func(context.Context) error {
		return func(ctx context.Context) error {
			out, err := prov.EC2.DeleteVpcEndpointServiceConfigurations(ctx, &ec2.DeleteVpcEndpointServiceConfigurationsInput{ServiceIds: []string{id}})
			if err != nil {
				return err
			}
			return oneItem(id, out.Unsuccessful, nil)
		}
	}
	accept := func(a *e2e.Account, svc, id string) func(context.Context) error {
		return func(ctx context.Context) error {
			out, err := a.EC2.AcceptVpcEndpointConnections(ctx, &ec2.AcceptVpcEndpointConnectionsInput{ServiceId: aws.String(svc), VpcEndpointIds: []string{id}})
			if err != nil {
				return err
			}
			return oneItem(id, out.Unsuccessful, nil)
		}
	}
	reject := func(svc, id string) func(context.Context) error {
		return func(ctx context.Context) error {
			out, err := prov.EC2.RejectVpcEndpointConnections(ctx, &ec2.RejectVpcEndpointConnectionsInput{ServiceId: aws.String(svc), VpcEndpointIds: []string{id}})
			if err != nil {
				return err
			}
			return oneItem(id, out.Unsuccessful, nil)
		}
	}
	createSvc := func(mod func(*ec2.CreateVpcEndpointServiceConfigurationInput)) func(context.Context) error {
		return func(ctx context.Context) error {
			in := &ec2.CreateVpcEndpointServiceConfigurationInput{NetworkLoadBalancerArns: []string{nlbFree}}
			mod(in)
			_, err := prov.EC2.CreateVpcEndpointServiceConfiguration(ctx, in)
			return err
		}
	}
	permissions := func(principal string) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := prov.EC2.ModifyVpcEndpointServicePermissions(ctx, &ec2.ModifyVpcEndpointServicePermissionsInput{
				ServiceId: aws.String(svcVID), AddAllowedPrincipals: []string{principal},
			})
			return err
		}
	}

	type badCase struct {
		name   string
		code   string // the error's code, or the one unsuccessful item's
		status int    // 400, 412 (DryRunOperation), 200 (an unsuccessful item)
		call   func(ctx context.Context) error
	}
	cases := []badCase{
		// CreateVpcEndpoint
		{"CreateVpcEndpoint unknown VPC", "InvalidVpcID.NotFound", 400, createEP(cons, func(in *ec2.CreateVpcEndpointInput) { in.VpcId = aws.String(unknownVpc) })},
		{"CreateVpcEndpoint unknown subnet", "InvalidSubnetID.NotFound", 400, createEP(cons, func(in *ec2.CreateVpcEndpointInput) { in.SubnetIds = []string{unknownSubnet} })},
		{"CreateVpcEndpoint unknown security group", "InvalidGroup.NotFound", 400, createEP(cons, func(in *ec2.CreateVpcEndpointInput) { in.SecurityGroupIds = []string{unknownGroup} })},
		{"CreateVpcEndpoint subnet of another VPC", "InvalidParameter", 400, createEP(cons, func(in *ec2.CreateVpcEndpointInput) { in.SubnetIds = []string{subDNS} })},
		{"CreateVpcEndpoint security group of another VPC", "InvalidParameter", 400, createEP(cons, func(in *ec2.CreateVpcEndpointInput) { in.SecurityGroupIds = []string{sgDNS} })},
		{"CreateVpcEndpoint two subnets in one zone", "DuplicateSubnetsInSameZone", 400, createEP(cons, func(in *ec2.CreateVpcEndpointInput) { in.SubnetIds = []string{subA, subA2} })},
		{"CreateVpcEndpoint subnet in a zone the service does not serve", "InvalidParameter", 400, createEP(cons, func(in *ec2.CreateVpcEndpointInput) { in.SubnetIds = []string{subC} })},
		{"CreateVpcEndpoint no type (Gateway) with subnets", "InvalidParameter", 400, func(ctx context.Context) error {
			err := createEP(cons, func(in *ec2.CreateVpcEndpointInput) { in.VpcEndpointType, in.SecurityGroupIds = "", nil })(ctx)
			if code, _ := e2e.APIError(err); code == "InvalidParameter" && !strings.Contains(err.Error(), "Subnet IDs are only supported for Interface and GatewayLoadBalancer type VPC Endpoints.") {
				return fmt.Errorf("InvalidParameter with another message than AWS's: %w", err)
			}
			return err
		}},
		{"CreateVpcEndpoint type Gateway with subnets", "InvalidParameter", 400, createEP(cons, func(in *ec2.CreateVpcEndpointInput) {
			in.VpcEndpointType, in.SecurityGroupIds = ec2types.VpcEndpointTypeGateway, nil
		})},
		{"CreateVpcEndpoint Interface without subnets", "InvalidParameter", 400, createEP(cons, func(in *ec2.CreateVpcEndpointInput) { in.SubnetIds = nil })},
		{"CreateVpcEndpoint unknown service name", "InvalidServiceName", 400, createEP(cons, func(in *ec2.CreateVpcEndpointInput) {
			in.ServiceName = aws.String("com.amazonaws.vpce.us-east-1." + unknownService)
		})},
		{"CreateVpcEndpoint service not allowed to the caller", "InvalidServiceName", 400, createEP(outsider, func(in *ec2.CreateVpcEndpointInput) {
			in.VpcId, in.SubnetIds, in.SecurityGroupIds = aws.String(ovpc), []string{osub}, nil
		})},
		{"CreateVpcEndpoint private DNS, name not verified", "InvalidParameter", 400, createEP(cons, privateDNS(vpcDNS, subDNS, svcUName))},
		{"CreateVpcEndpoint private DNS, VPC without DNS hostnames", "InvalidParameter", 400, createEP(cons, privateDNS(vpcMain, subA, svcVName))},
		{"CreateVpcEndpoint private DNS, VPC without DNS support", "InvalidParameter", 400, createEP(cons, privateDNS(vpcNoDNS, subNoDNS, svcVName))},
		{"CreateVpcEndpoint private DNS, name already in the VPC", "InvalidParameter", 400, createEP(cons, privateDNS(vpcDNS, subDNS, svcVName))},
		{"CreateVpcEndpoint DryRun", "DryRunOperation", 412, createEP(cons, func(in *ec2.CreateVpcEndpointInput) { in.DryRun = aws.Bool(true) })},
		{"CreateVpcEndpoint ClientToken again: the same endpoint", "", 200, func(ctx context.Context) error {
			out, err := cons.EC2.CreateVpcEndpoint(ctx, mainInput())
			if err != nil {
				return err
			}
			if got := aws.ToString(out.VpcEndpoint.VpcEndpointId); got != epMain || aws.ToString(out.ClientToken) != token {
				return fmt.Errorf("the retry returned endpoint %s (ClientToken %q), want %s (%q)", got, aws.ToString(out.ClientToken), epMain, token)
			}
			return nil
		}},
		{"CreateVpcEndpoint ClientToken again, other parameters", "IdempotentParameterMismatch", 400, func(ctx context.Context) error {
			in := mainInput()
			in.SecurityGroupIds = nil
			_, err := cons.EC2.CreateVpcEndpoint(ctx, in)
			return err
		}},

		// DescribeVpcEndpoints, ModifyVpcEndpoint
		{"DescribeVpcEndpoints unknown endpoint", "InvalidVpcEndpointId.NotFound", 400, func(ctx context.Context) error {
			_, err := cons.EC2.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{epMain, unknownEndpoint}})
			return err
		}},
		{"DescribeVpcEndpoints another account's endpoint", "InvalidVpcEndpointId.NotFound", 400, func(ctx context.Context) error {
			_, err := outsider.EC2.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{epMain}})
			return err
		}},
		{"ModifyVpcEndpoint unknown endpoint", "InvalidVpcEndpointId.NotFound", 400, modifyEP(&ec2.ModifyVpcEndpointInput{VpcEndpointId: aws.String(unknownEndpoint), AddSubnetIds: []string{subA2}})},
		{"ModifyVpcEndpoint add a second subnet in a zone", "DuplicateSubnetsInSameZone", 400, modifyEP(&ec2.ModifyVpcEndpointInput{VpcEndpointId: aws.String(epMain), AddSubnetIds: []string{subA2}})},
		{"ModifyVpcEndpoint remove a subnet it does not have", "InvalidParameter", 400, modifyEP(&ec2.ModifyVpcEndpointInput{VpcEndpointId: aws.String(epMain), RemoveSubnetIds: []string{subA2}})},
		{"ModifyVpcEndpoint remove its only subnet", "InvalidParameter", 400, modifyEP(&ec2.ModifyVpcEndpointInput{VpcEndpointId: aws.String(epMain), RemoveSubnetIds: []string{subA}})},
		{"ModifyVpcEndpoint private DNS, VPC without DNS hostnames", "InvalidParameter", 400, modifyEP(&ec2.ModifyVpcEndpointInput{VpcEndpointId: aws.String(epMain), PrivateDnsEnabled: aws.Bool(true)})},

		// DeleteVpcEndpoints
		{"DeleteVpcEndpoints unknown endpoint", "InvalidVpcEndpoint.NotFound", 200, deleteEPs(cons, unknownEndpoint, false)},
		{"DeleteVpcEndpoints another account's endpoint", "InvalidVpcEndpoint.NotFound", 200, deleteEPs(outsider, epMain, false)},
		{"DeleteVpcEndpoints DryRun", "DryRunOperation", 412, deleteEPs(cons, epMain, true)},

		// The provider's calls
		{"DeleteVpcEndpointServiceConfigurations with available connections", "ExistingVpcEndpointConnections", 200, deleteSvc(svcVID)},
		{"DeleteVpcEndpointServiceConfigurations with a connection pendingAcceptance", "ExistingVpcEndpointConnections", 200, deleteSvc(svcUID)},
		{"DeleteVpcEndpointServiceConfigurations unknown service", "InvalidVpcEndpointServiceId.NotFound", 200, deleteSvc(unknownService)},
		{"DeleteLoadBalancer of an endpoint service", "ResourceInUse", 400, func(ctx context.Context) error {
			_, err := prov.ELB.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(nlbV)})
			return err
		}},
		{"ModifyVpcEndpointServiceConfiguration remove the NLB under endpoints", "ExistingVpcEndpointConnections", 400, func(ctx context.Context) error {
			_, err := prov.EC2.ModifyVpcEndpointServiceConfiguration(ctx, &ec2.ModifyVpcEndpointServiceConfigurationInput{
				ServiceId: aws.String(svcVID), RemoveNetworkLoadBalancerArns: []string{nlbV}, AddNetworkLoadBalancerArns: []string{nlbFree},
			})
			return err
		}},
		{"ModifyVpcEndpointServicePermissions malformed principal", "InvalidPrincipal", 400, permissions("arn:aws:iam::12345:root")},
		{"ModifyVpcEndpointServicePermissions principal with a path", "InvalidPrincipal", 400, permissions("arn:aws:iam::" + cons.ID + ":user/team/bob")},
		{"ModifyVpcEndpointServicePermissions not an ARN", "InvalidPrincipal", 400, permissions(cons.ID)},
		{"AcceptVpcEndpointConnections unknown endpoint", "InvalidVpcEndpoint.NotFound", 200, accept(prov, svcUID, unknownEndpoint)},
		{"AcceptVpcEndpointConnections endpoint of another service", "InvalidVpcEndpoint.NotFound", 200, accept(prov, svcUID, epMain)},
		{"AcceptVpcEndpointConnections available endpoint", "InvalidStateTransition", 200, accept(prov, svcVID, epMain)},
		{"AcceptVpcEndpointConnections by the consumer", "InvalidVpcEndpointServiceId.NotFound", 400, accept(cons, svcUID, epPending)},
		{"RejectVpcEndpointConnections unknown endpoint", "InvalidVpcEndpoint.NotFound", 200, reject(svcVID, unknownEndpoint)},
		{"CreateVpcEndpointServiceConfiguration without a load balancer", "InvalidParameter", 400, createSvc(func(in *ec2.CreateVpcEndpointServiceConfigurationInput) { in.NetworkLoadBalancerArns = nil })},
		{"CreateVpcEndpointServiceConfiguration NLB of another service", "InvalidParameter", 400, createSvc(func(in *ec2.CreateVpcEndpointServiceConfigurationInput) { in.NetworkLoadBalancerArns = []string{nlbV} })},
		{"CreateVpcEndpointServiceConfiguration unknown NLB", "InvalidNetworkLoadBalancerArn.NotFound", 400, createSvc(func(in *ec2.CreateVpcEndpointServiceConfigurationInput) {
			in.NetworkLoadBalancerArns = []string{unknownNLB}
		})},
		{"CreateVpcEndpointServiceConfiguration malformed NLB ARN", "InvalidNetworkLoadBalancerArn.Malformed", 400, createSvc(func(in *ec2.CreateVpcEndpointServiceConfigurationInput) {
			in.NetworkLoadBalancerArns = []string{"arn:aws:nope"}
		})},
		{"CreateVpcEndpointServiceConfiguration bad private DNS name", "InvalidParameterValue", 400, createSvc(func(in *ec2.CreateVpcEndpointServiceConfigurationInput) {
			in.PrivateDnsName = aws.String("bad_name.example.test")
		})},
		{"CreateVpcEndpointServiceConfiguration DryRun", "DryRunOperation", 412, createSvc(func(in *ec2.CreateVpcEndpointServiceConfigurationInput) { in.DryRun = aws.Bool(true) })},
		{"DescribeVpcEndpointServiceConfigurations unknown service", "InvalidVpcEndpointServiceId.NotFound", 400, func(ctx context.Context) error {
			_, err := prov.EC2.DescribeVpcEndpointServiceConfigurations(ctx, &ec2.DescribeVpcEndpointServiceConfigurationsInput{ServiceIds: []string{unknownService}})
			return err
		}},
		{"StartVpcEndpointServicePrivateDnsVerification another account's service", "InvalidVpcEndpointServiceId.NotFound", 400, func(ctx context.Context) error {
			_, err := cons.EC2.StartVpcEndpointServicePrivateDnsVerification(ctx, &ec2.StartVpcEndpointServicePrivateDnsVerificationInput{ServiceId: aws.String(svcUID)})
			return err
		}},
		{"DescribeVpcEndpointServices a service not allowed to the caller", "InvalidServiceName", 400, func(ctx context.Context) error {
			_, err := outsider.EC2.DescribeVpcEndpointServices(ctx, &ec2.DescribeVpcEndpointServicesInput{ServiceNames: []string{svcVName}})
			return err
		}},
	}

	snapshot := func(t *testing.T) (string, int64) {
		t.Helper()
		ctx := t.Context()
		snap := map[string]any{}
		add := func(key string, v any, err error) {
			t.Helper()
			if err != nil {
				t.Fatalf("snapshot: %s: %v", key, err)
			}
			snap[key] = v
		}
		for _, a := range []*e2e.Account{prov, cons, outsider} {
			o := a.Observer()
			snap[a.Name+" EC2"] = o.Snapshot(t)
			eps, err := o.EC2.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{})
			add(a.Name+" DescribeVpcEndpoints", eps, err)
			enis, err := o.EC2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{})
			add(a.Name+" DescribeNetworkInterfaces", enis, err)
			svcs, err := o.EC2.DescribeVpcEndpointServiceConfigurations(ctx, &ec2.DescribeVpcEndpointServiceConfigurationsInput{})
			add(a.Name+" DescribeVpcEndpointServiceConfigurations", svcs, err)
			conns, err := o.EC2.DescribeVpcEndpointConnections(ctx, &ec2.DescribeVpcEndpointConnectionsInput{})
			add(a.Name+" DescribeVpcEndpointConnections", conns, err)
			visible, err := o.EC2.DescribeVpcEndpointServices(ctx, &ec2.DescribeVpcEndpointServicesInput{})
			add(a.Name+" DescribeVpcEndpointServices", visible, err)
		}
		for _, id := range []string{svcVID, svcUID} {
			perms, err := prov.Observer().EC2.DescribeVpcEndpointServicePermissions(ctx, &ec2.DescribeVpcEndpointServicePermissionsInput{ServiceId: aws.String(id)})
			add("permissions "+id, perms, err)
		}
		snap["provider ELB"] = prov.ELBSnapshot(t)
		b, err := json.MarshalIndent(snap, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		return string(b), env.StoreRevision(t)
	}
	before, rev := snapshot(t)
	if rev < 0 {
		t.Fatal("the daemon exports no privlink_store_revision")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(t.Context())
			code, status := outcome(err)
			detail := "the call succeeded"
			if err != nil {
				detail = err.Error()
			}
			if code != tc.code || status != tc.status {
				want := tc.code
				if want == "" {
					want = "success"
				}
				t.Errorf("got %q (HTTP %d), want %s (HTTP %d)\n%s", code, status, want, tc.status, detail)
			} else {
				t.Logf("%s", detail)
			}
			after, r := snapshot(t)
			if after != before {
				t.Errorf("the request changed state (-before +after):\n%s", cmp.Diff(before, after))
			}
			if r != rev {
				t.Errorf("store revision %d → %d: the request wrote to the store", rev, r)
			}
			before, rev = after, r
		})
	}
}
