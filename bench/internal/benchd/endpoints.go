package benchd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// endpointBatch is how many endpoint ids one DeleteVpcEndpoints or
// DescribeVpcEndpoints call names.
const endpointBatch = 100

// CreateEndpointService creates an endpoint service for network load
// balancers and registers its deletion, which retries while endpoint
// connections still hold it.
func (a *Account) CreateEndpointService(ctx context.Context, lbARNs []string, acceptanceRequired bool) (types.ServiceConfiguration, error) {
	out, err := a.EC2.CreateVpcEndpointServiceConfiguration(ctx, &ec2.CreateVpcEndpointServiceConfigurationInput{
		NetworkLoadBalancerArns: lbARNs,
		AcceptanceRequired:      aws.Bool(acceptanceRequired),
	})
	if err != nil {
		return types.ServiceConfiguration{}, fmt.Errorf("CreateVpcEndpointServiceConfiguration: %w", err)
	}
	if out.ServiceConfiguration == nil {
		return types.ServiceConfiguration{}, errors.New("CreateVpcEndpointServiceConfiguration: no service configuration in the answer")
	}
	sc := *out.ServiceConfiguration
	id := aws.ToString(sc.ServiceId)
	a.d.Defer("DeleteVpcEndpointServiceConfigurations "+id, func(ctx context.Context) error {
		return a.deleteEndpointService(ctx, id)
	})
	return sc, nil
}

func (a *Account) deleteEndpointService(ctx context.Context, id string) error {
	return poll(ctx, 100*time.Millisecond, deleteRetry, func() (bool, error) {
		out, err := a.EC2.DeleteVpcEndpointServiceConfigurations(ctx, &ec2.DeleteVpcEndpointServiceConfigurationsInput{ServiceIds: []string{id}})
		if err != nil {
			if notFound(err) {
				return true, nil
			}
			return false, err
		}
		for _, u := range out.Unsuccessful {
			if u.Error == nil {
				continue
			}
			switch code := aws.ToString(u.Error.Code); {
			case strings.HasSuffix(code, ".NotFound"):
			case code == "ExistingVpcEndpointConnections":
				return false, nil
			default:
				return false, fmt.Errorf("%s: %s", code, aws.ToString(u.Error.Message))
			}
		}
		return true, nil
	})
}

// AllowPrincipals adds principals (account root ARNs, or "*") to the
// endpoint service's permissions.
func (a *Account) AllowPrincipals(ctx context.Context, serviceID string, principals ...string) error {
	_, err := a.EC2.ModifyVpcEndpointServicePermissions(ctx, &ec2.ModifyVpcEndpointServicePermissionsInput{
		ServiceId:            aws.String(serviceID),
		AddAllowedPrincipals: principals,
	})
	if err != nil {
		return fmt.Errorf("ModifyVpcEndpointServicePermissions %s: %w", serviceID, err)
	}
	return nil
}

// InterfaceEndpoint says what InterfaceEndpointInput asks for: an
// interface endpoint of a service with one network interface, at IP in the
// subnet, behind one group, without private DNS.
type InterfaceEndpoint struct {
	VpcID, SubnetID, GroupID string
	ServiceName              string
	IP                       netip.Addr
}

// InterfaceEndpointInput is the CreateVpcEndpoint request for e.
func InterfaceEndpointInput(e InterfaceEndpoint) *ec2.CreateVpcEndpointInput {
	return &ec2.CreateVpcEndpointInput{
		VpcId:                aws.String(e.VpcID),
		VpcEndpointType:      types.VpcEndpointTypeInterface,
		ServiceName:          aws.String(e.ServiceName),
		SubnetConfigurations: []types.SubnetConfiguration{{SubnetId: aws.String(e.SubnetID), Ipv4: aws.String(e.IP.String())}},
		SecurityGroupIds:     []string{e.GroupID},
		PrivateDnsEnabled:    aws.Bool(false),
	}
}

// CreateVpcEndpoint creates an interface endpoint and registers its
// deletion; EndpointCreated says how.
func (a *Account) CreateVpcEndpoint(ctx context.Context, in *ec2.CreateVpcEndpointInput) (types.VpcEndpoint, error) {
	return a.EndpointCreated(a.EC2.CreateVpcEndpoint(ctx, in))
}

// EndpointCreated checks the answer of a CreateVpcEndpoint call, tracks the
// namespaces of the endpoint's network interfaces for Close's sweep and
// registers the endpoint's deletion; the benchmark that times the call
// makes it itself and hands the result here.
//
// Close deletes all of an account's endpoints in one step, in batches,
// which runs where the account's first endpoint was created in Close's
// reverse order: create an account's VPCs, subnets and groups before its
// first endpoint, so that the endpoints go before them.
func (a *Account) EndpointCreated(out *ec2.CreateVpcEndpointOutput, err error) (types.VpcEndpoint, error) {
	if err != nil {
		return types.VpcEndpoint{}, fmt.Errorf("CreateVpcEndpoint: %w", err)
	}
	if out.VpcEndpoint == nil {
		return types.VpcEndpoint{}, errors.New("CreateVpcEndpoint: no endpoint in the answer")
	}
	e := *out.VpcEndpoint
	for _, eni := range e.NetworkInterfaceIds {
		a.d.TrackNamespace(NamespacePrefix + eni)
	}
	a.d.mu.Lock()
	first := a.endpoints == nil
	if first {
		a.endpoints = map[string]bool{}
	}
	a.endpoints[aws.ToString(e.VpcEndpointId)] = true
	a.d.mu.Unlock()
	if first {
		a.d.Defer("DeleteVpcEndpoints of account "+a.ID, func(ctx context.Context) error {
			a.d.mu.Lock()
			var ids []string
			for id := range a.endpoints {
				ids = append(ids, id)
			}
			a.d.mu.Unlock()
			slices.Sort(ids)
			return a.DeleteVpcEndpoints(ctx, ids, 5*time.Minute)
		})
	}
	return e, nil
}

// DeleteVpcEndpoints deletes endpoints, endpointBatch ids a call, and waits
// until DescribeVpcEndpoints no longer has them or says deleted, for at
// most timeout. Ids that do not exist count as deleted.
func (a *Account) DeleteVpcEndpoints(ctx context.Context, ids []string, timeout time.Duration) error {
	for b := range slices.Chunk(ids, endpointBatch) {
		out, err := a.EC2.DeleteVpcEndpoints(ctx, &ec2.DeleteVpcEndpointsInput{VpcEndpointIds: b})
		if err != nil && !notFound(err) {
			return fmt.Errorf("DeleteVpcEndpoints (%d ids from %s): %w", len(b), b[0], err)
		}
		if out != nil {
			for _, u := range out.Unsuccessful {
				if u.Error != nil && !strings.HasSuffix(aws.ToString(u.Error.Code), ".NotFound") {
					return fmt.Errorf("DeleteVpcEndpoints %s: %s: %s", aws.ToString(u.ResourceId), aws.ToString(u.Error.Code), aws.ToString(u.Error.Message))
				}
			}
		}
	}
	a.d.mu.Lock()
	for _, id := range ids {
		delete(a.endpoints, id)
	}
	a.d.mu.Unlock()
	left := ids
	err := poll(ctx, 50*time.Millisecond, timeout, func() (bool, error) {
		states, err := a.EndpointStates(ctx, left)
		if err != nil {
			return false, err
		}
		left = left[:0:0]
		for id, st := range states {
			if !IsState(st, types.StateDeleted) {
				left = append(left, id)
			}
		}
		return len(left) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("%d of %d endpoints not deleted: %w", len(left), len(ids), err)
	}
	return nil
}

// EndpointStates returns the state of each endpoint of ids that
// DescribeVpcEndpoints still has, endpointBatch ids a call.
func (a *Account) EndpointStates(ctx context.Context, ids []string) (map[string]types.State, error) {
	states := map[string]types.State{}
	for b := range slices.Chunk(ids, endpointBatch) {
		p := ec2.NewDescribeVpcEndpointsPaginator(a.EC2, &ec2.DescribeVpcEndpointsInput{
			Filters: []types.Filter{{Name: aws.String("vpc-endpoint-id"), Values: b}},
		})
		for p.HasMorePages() {
			var out *ec2.DescribeVpcEndpointsOutput
			err := RetryClosed(func() (err error) {
				out, err = p.NextPage(ctx)
				return err
			})
			if err != nil {
				return nil, fmt.Errorf("DescribeVpcEndpoints: %w", err)
			}
			for _, e := range out.VpcEndpoints {
				states[aws.ToString(e.VpcEndpointId)] = e.State
			}
		}
	}
	return states, nil
}

// WaitEndpointsAvailable polls the endpoints' states every interval until
// all are available, for at most timeout; it fails at once on a failed or
// rejected one. It returns when it saw the last one available.
func (a *Account) WaitEndpointsAvailable(ctx context.Context, ids []string, interval, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	left := ids
	for {
		states, err := a.EndpointStates(ctx, left)
		if err != nil {
			return time.Time{}, err
		}
		var still []string
		for _, id := range left {
			st := states[id]
			switch {
			case IsState(st, types.StateAvailable):
			case IsState(st, types.StateFailed), IsState(st, types.StateRejected):
				return time.Time{}, fmt.Errorf("endpoint %s is %s", id, st)
			default:
				still = append(still, id)
			}
		}
		if len(still) == 0 {
			return time.Now(), nil
		}
		left = still
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("%d of %d endpoints not available after %v (e.g. %s: %q)", len(left), len(ids), timeout, left[0], states[left[0]])
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(interval):
		}
	}
}

// IsState reports whether an endpoint's state is want. EC2 sends lower
// camel case ("available"); the SDK's constants are capitalised
// ("Available").
func IsState(got, want types.State) bool { return strings.EqualFold(string(got), string(want)) }

// RetryClosed runs call, an SDK call that is safe to repeat (a describe, or
// a create with a client token), up to three times while it fails with
// net.ErrClosed. With the retryer off, the SDK surfaces a race in
// net/http's client (the request's write loop closes the connection
// while the response body is read; aws-sdk-go-v2 #2737, which its default
// retryer retries): the server answered, the client lost the answer.
func RetryClosed(call func() error) error {
	var err error
	for range 3 {
		if err = call(); !errors.Is(err, net.ErrClosed) {
			return err
		}
	}
	return err
}
