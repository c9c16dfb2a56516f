package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/privlink/privlink/internal/testenv"
	"github.com/privlink/privlink/internal/txtserver"
)

// PrivateLink helpers: endpoint services (the provider's side), interface
// endpoints (the consumer's), the cleanup of both, and a tiny authoritative
// DNS server (package txtserver) that plays the provider's public zone for
// private DNS name verification.
//
// Endpoints go before services and services before load balancers, across
// accounts: a consumer's endpoint keeps its provider's service from being
// deleted, and a service its load balancers. Env's cleanup deletes every
// account's endpoints (and waits until they are gone), then every account's
// services, then the rest.

// The states of an endpoint (and of its connection) as the wire spells
// them. The SDK's types.State constants are capitalised differently.
const (
	EndpointPendingAcceptance = "pendingAcceptance"
	EndpointPending           = "pending"
	EndpointAvailable         = "available"
	EndpointRejected          = "rejected"
	EndpointDeleting          = "deleting"
)

// endpointGoneTimeout bounds a deleted endpoint's deleting → gone.
const endpointGoneTimeout = 15 * time.Second

// Principal is the ARN that allows the account's root (the whole account)
// to use an endpoint service: arn:aws:iam::<account>:root.
func (a *Account) Principal() string { return "arn:aws:iam::" + a.ID + ":root" }

// CreateEndpointService creates an endpoint service of network load
// balancers; mods may change the input before it is sent.
func (a *Account) CreateEndpointService(t testing.TB, nlbARNs []string, mods ...func(*ec2.CreateVpcEndpointServiceConfigurationInput)) types.ServiceConfiguration {
	t.Helper()
	in := &ec2.CreateVpcEndpointServiceConfigurationInput{NetworkLoadBalancerArns: nlbARNs}
	for _, m := range mods {
		m(in)
	}
	out, err := a.EC2.CreateVpcEndpointServiceConfiguration(t.Context(), in)
	if err != nil {
		t.Fatalf("%s: CreateVpcEndpointServiceConfiguration(%v): %v", a.Name, nlbARNs, err)
	}
	if out.ServiceConfiguration == nil || aws.ToString(out.ServiceConfiguration.ServiceId) == "" {
		t.Fatalf("%s: CreateVpcEndpointServiceConfiguration(%v) returned no service", a.Name, nlbARNs)
	}
	return *out.ServiceConfiguration
}

// EndpointService describes one of the account's endpoint services.
func (a *Account) EndpointService(t testing.TB, id string) types.ServiceConfiguration {
	t.Helper()
	out, err := a.Observer().EC2.DescribeVpcEndpointServiceConfigurations(t.Context(), &ec2.DescribeVpcEndpointServiceConfigurationsInput{ServiceIds: []string{id}})
	if err != nil {
		t.Fatalf("%s: DescribeVpcEndpointServiceConfigurations(%s): %v", a.Name, id, err)
	}
	if len(out.ServiceConfigurations) != 1 {
		t.Fatalf("%s: DescribeVpcEndpointServiceConfigurations(%s) returned %d services", a.Name, id, len(out.ServiceConfigurations))
	}
	return out.ServiceConfigurations[0]
}

// AllowPrincipals adds allowed principals (ARNs, or "*") to a service.
func (a *Account) AllowPrincipals(t testing.TB, serviceID string, principals ...string) {
	t.Helper()
	if _, err := a.EC2.ModifyVpcEndpointServicePermissions(t.Context(), &ec2.ModifyVpcEndpointServicePermissionsInput{
		ServiceId: aws.String(serviceID), AddAllowedPrincipals: principals,
	}); err != nil {
		t.Fatalf("%s: ModifyVpcEndpointServicePermissions(%s, add %v): %v", a.Name, serviceID, principals, err)
	}
}

// DisallowPrincipals removes allowed principals from a service.
func (a *Account) DisallowPrincipals(t testing.TB, serviceID string, principals ...string) {
	t.Helper()
	if _, err := a.EC2.ModifyVpcEndpointServicePermissions(t.Context(), &ec2.ModifyVpcEndpointServicePermissionsInput{
		ServiceId: aws.String(serviceID), RemoveAllowedPrincipals: principals,
	}); err != nil {
		t.Fatalf("%s: ModifyVpcEndpointServicePermissions(%s, remove %v): %v", a.Name, serviceID, principals, err)
	}
}

// CreateInterfaceEndpoint creates an interface endpoint in a VPC to the
// service named serviceName, with a network interface in each subnet and
// the given security groups (none: the VPC's default group); mods may
// change the input before it is sent. The endpoint's interfaces are
// tracked for the cleanup.
func (a *Account) CreateInterfaceEndpoint(t testing.TB, vpcID, serviceName string, subnets, groups []string, mods ...func(*ec2.CreateVpcEndpointInput)) types.VpcEndpoint {
	t.Helper()
	in := &ec2.CreateVpcEndpointInput{
		VpcId:            aws.String(vpcID),
		ServiceName:      aws.String(serviceName),
		VpcEndpointType:  types.VpcEndpointTypeInterface,
		SubnetIds:        subnets,
		SecurityGroupIds: groups,
	}
	for _, m := range mods {
		m(in)
	}
	out, err := a.EC2.CreateVpcEndpoint(t.Context(), in)
	if err != nil {
		t.Fatalf("%s: CreateVpcEndpoint(%s → %s): %v", a.Name, vpcID, serviceName, err)
	}
	if out.VpcEndpoint == nil || aws.ToString(out.VpcEndpoint.VpcEndpointId) == "" {
		t.Fatalf("%s: CreateVpcEndpoint(%s → %s) returned no endpoint", a.Name, vpcID, serviceName)
	}
	return *out.VpcEndpoint
}

// VpcEndpoint describes one of the account's endpoints and tracks its
// network interfaces for the cleanup.
func (a *Account) VpcEndpoint(t testing.TB, id string) types.VpcEndpoint {
	t.Helper()
	ep, err := a.describeEndpoint(t.Context(), id)
	if err != nil {
		t.Fatalf("%s: %v", a.Name, err)
	}
	return ep
}

func (a *Account) describeEndpoint(ctx context.Context, id string) (types.VpcEndpoint, error) {
	out, err := a.Observer().EC2.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{id}})
	if err != nil {
		return types.VpcEndpoint{}, fmt.Errorf("DescribeVpcEndpoints(%s): %w", id, err)
	}
	if len(out.VpcEndpoints) != 1 || aws.ToString(out.VpcEndpoints[0].VpcEndpointId) != id {
		return types.VpcEndpoint{}, fmt.Errorf("DescribeVpcEndpoints(%s) returned %d endpoints", id, len(out.VpcEndpoints))
	}
	for _, eni := range out.VpcEndpoints[0].NetworkInterfaceIds {
		a.env.TrackENI(eni)
	}
	return out.VpcEndpoints[0], nil
}

// WaitEndpointState polls DescribeVpcEndpoints until the endpoint is in
// state (as the wire spells it: "available"), and returns it.
func (a *Account) WaitEndpointState(t testing.TB, id, state string, timeout time.Duration) types.VpcEndpoint {
	t.Helper()
	var ep types.VpcEndpoint
	testenv.WaitFor(t, timeout, "endpoint "+id+" "+state, func() error {
		var err error
		if ep, err = a.describeEndpoint(t.Context(), id); err != nil {
			return err
		}
		if string(ep.State) != state {
			return fmt.Errorf("state %q", ep.State)
		}
		return nil
	})
	return ep
}

// WaitEndpointGone polls DescribeVpcEndpoints until it answers the endpoint
// with InvalidVpcEndpointId.NotFound, and checks, on the way, that the
// endpoint is deleting until then.
func (a *Account) WaitEndpointGone(t testing.TB, id string, timeout time.Duration) {
	t.Helper()
	testenv.WaitFor(t, timeout, "endpoint "+id+" to be gone", func() error {
		ep, err := a.describeEndpoint(t.Context(), id)
		if err == nil {
			if string(ep.State) != EndpointDeleting {
				t.Fatalf("%s: endpoint %s is %q after DeleteVpcEndpoints; want deleting until it is gone", a.Name, id, ep.State)
			}
			return fmt.Errorf("state %q", ep.State)
		}
		if code, _ := APIError(err); code != "InvalidVpcEndpointId.NotFound" {
			return err
		}
		return nil
	})
}

// AcceptEndpoints accepts endpoints' connections to a service; every one
// must succeed.
func (a *Account) AcceptEndpoints(t testing.TB, serviceID string, ids ...string) {
	t.Helper()
	out, err := a.EC2.AcceptVpcEndpointConnections(t.Context(), &ec2.AcceptVpcEndpointConnectionsInput{ServiceId: aws.String(serviceID), VpcEndpointIds: ids})
	if err != nil {
		t.Fatalf("%s: AcceptVpcEndpointConnections(%s, %v): %v", a.Name, serviceID, ids, err)
	}
	if len(out.Unsuccessful) > 0 {
		t.Fatalf("%s: AcceptVpcEndpointConnections(%s, %v): unsuccessful %s", a.Name, serviceID, ids, Unsuccessful(out.Unsuccessful))
	}
}

// RejectEndpoints rejects endpoints' connections to a service; every one
// must succeed.
func (a *Account) RejectEndpoints(t testing.TB, serviceID string, ids ...string) {
	t.Helper()
	out, err := a.EC2.RejectVpcEndpointConnections(t.Context(), &ec2.RejectVpcEndpointConnectionsInput{ServiceId: aws.String(serviceID), VpcEndpointIds: ids})
	if err != nil {
		t.Fatalf("%s: RejectVpcEndpointConnections(%s, %v): %v", a.Name, serviceID, ids, err)
	}
	if len(out.Unsuccessful) > 0 {
		t.Fatalf("%s: RejectVpcEndpointConnections(%s, %v): unsuccessful %s", a.Name, serviceID, ids, Unsuccessful(out.Unsuccessful))
	}
}

// DeleteEndpoints deletes endpoints; every one must succeed.
func (a *Account) DeleteEndpoints(t testing.TB, ids ...string) {
	t.Helper()
	out, err := a.EC2.DeleteVpcEndpoints(t.Context(), &ec2.DeleteVpcEndpointsInput{VpcEndpointIds: ids})
	if err != nil {
		t.Fatalf("%s: DeleteVpcEndpoints(%v): %v", a.Name, ids, err)
	}
	if len(out.Unsuccessful) > 0 {
		t.Fatalf("%s: DeleteVpcEndpoints(%v): unsuccessful %s", a.Name, ids, Unsuccessful(out.Unsuccessful))
	}
}

// Connections returns the connections to the account's services (the
// consumers' endpoints as the provider sees them) by endpoint id.
func (a *Account) Connections(t testing.TB) map[string]types.VpcEndpointConnection {
	t.Helper()
	out, err := a.Observer().EC2.DescribeVpcEndpointConnections(t.Context(), &ec2.DescribeVpcEndpointConnectionsInput{})
	if err != nil {
		t.Fatalf("%s: DescribeVpcEndpointConnections: %v", a.Name, err)
	}
	m := map[string]types.VpcEndpointConnection{}
	for _, c := range out.VpcEndpointConnections {
		m[aws.ToString(c.VpcEndpointId)] = c
	}
	return m
}

// SetVpcDNS sets a VPC's enableDnsSupport and enableDnsHostnames (in the
// order AWS allows: support on before hostnames on).
func (a *Account) SetVpcDNS(t testing.TB, vpcID string, support, hostnames bool) {
	t.Helper()
	set := func(in *ec2.ModifyVpcAttributeInput) {
		t.Helper()
		in.VpcId = aws.String(vpcID)
		if _, err := a.EC2.ModifyVpcAttribute(t.Context(), in); err != nil {
			t.Fatalf("%s: ModifyVpcAttribute(%s): %v", a.Name, vpcID, err)
		}
	}
	if support {
		set(&ec2.ModifyVpcAttributeInput{EnableDnsSupport: &types.AttributeBooleanValue{Value: aws.Bool(true)}})
		set(&ec2.ModifyVpcAttributeInput{EnableDnsHostnames: &types.AttributeBooleanValue{Value: aws.Bool(hostnames)}})
		return
	}
	set(&ec2.ModifyVpcAttributeInput{EnableDnsHostnames: &types.AttributeBooleanValue{Value: aws.Bool(false)}})
	set(&ec2.ModifyVpcAttributeInput{EnableDnsSupport: &types.AttributeBooleanValue{Value: aws.Bool(false)}})
}

// Unsuccessful renders the unsuccessful items of a batch call as
// "resource: code (message)" lines.
func Unsuccessful(items []types.UnsuccessfulItem) string {
	var lines []string
	for _, it := range items {
		code, msg := "", ""
		if it.Error != nil {
			code, msg = aws.ToString(it.Error.Code), aws.ToString(it.Error.Message)
		}
		lines = append(lines, fmt.Sprintf("%s: %s (%s)", aws.ToString(it.ResourceId), code, msg))
	}
	return strings.Join(lines, "; ")
}

// deleteEndpoints deletes every endpoint of the account that is not
// deleting yet and waits until they are all gone, so that their services
// can be deleted. A daemon without PrivateLink has none.
func (a *Account) deleteEndpoints(ctx context.Context) error {
	obs := a.Observer()
	list := func() ([]types.VpcEndpoint, error) {
		out, err := obs.EC2.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{})
		if code, _ := APIError(err); code == "InvalidAction" || code == "UnsupportedOperation" {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("DescribeVpcEndpoints: %w", err)
		}
		return out.VpcEndpoints, nil
	}
	eps, err := list()
	if err != nil || len(eps) == 0 {
		return err
	}
	var ids []string
	for _, ep := range eps {
		for _, eni := range ep.NetworkInterfaceIds {
			a.env.TrackENI(eni)
		}
		if string(ep.State) != EndpointDeleting {
			ids = append(ids, aws.ToString(ep.VpcEndpointId))
		}
	}
	var errs []error
	if len(ids) > 0 {
		out, err := a.EC2.DeleteVpcEndpoints(ctx, &ec2.DeleteVpcEndpointsInput{VpcEndpointIds: ids})
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("DeleteVpcEndpoints(%v): %w", ids, err))
		case len(out.Unsuccessful) > 0:
			errs = append(errs, fmt.Errorf("DeleteVpcEndpoints(%v): unsuccessful %s", ids, Unsuccessful(out.Unsuccessful)))
		}
	}
	errs = append(errs, pollUntil(ctx, endpointGoneTimeout, func() error {
		left, err := list()
		if err != nil {
			return err
		}
		if len(left) > 0 {
			var ids []string
			for _, ep := range left {
				ids = append(ids, aws.ToString(ep.VpcEndpointId)+" "+string(ep.State))
			}
			return fmt.Errorf("endpoints not gone yet: %v", ids)
		}
		return nil
	}))
	return errors.Join(errs...)
}

// deleteEndpointServices deletes every endpoint service of the account.
func (a *Account) deleteEndpointServices(ctx context.Context) error {
	out, err := a.Observer().EC2.DescribeVpcEndpointServiceConfigurations(ctx, &ec2.DescribeVpcEndpointServiceConfigurationsInput{})
	if code, _ := APIError(err); code == "InvalidAction" || code == "UnsupportedOperation" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("DescribeVpcEndpointServiceConfigurations: %w", err)
	}
	var ids []string
	for _, s := range out.ServiceConfigurations {
		ids = append(ids, aws.ToString(s.ServiceId))
	}
	if len(ids) == 0 {
		return nil
	}
	del, err := a.EC2.DeleteVpcEndpointServiceConfigurations(ctx, &ec2.DeleteVpcEndpointServiceConfigurationsInput{ServiceIds: ids})
	if err != nil {
		return fmt.Errorf("DeleteVpcEndpointServiceConfigurations(%v): %w", ids, err)
	}
	if len(del.Unsuccessful) > 0 {
		return fmt.Errorf("DeleteVpcEndpointServiceConfigurations(%v): unsuccessful %s", ids, Unsuccessful(del.Unsuccessful))
	}
	return nil
}

// StartTXTServer starts a TXT server (package txtserver) on a free port of
// 127.0.0.1: the provider's public zone, where the record that proves a
// private DNS name goes. Pass its Addr to New with WithVerificationResolver.
// It stops when t ends; start it before New, so that it outlives the daemon.
func StartTXTServer(t testing.TB) *txtserver.Server {
	t.Helper()
	s, err := txtserver.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Close(ctx)
	})
	return s
}
