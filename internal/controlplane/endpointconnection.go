package controlplane

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// This file is the provider's view of the consumers' endpoints to its
// services, which AWS calls connections: DescribeVpcEndpointConnections,
// AcceptVpcEndpointConnections and RejectVpcEndpointConnections. The
// endpoint records belong to their consumers; the provider reaches them
// through the service → endpoint index, and sees the consumer's account
// but never its VPC, subnets or addresses.
//
// Per endpoint, Accept and Reject answer an endpoint that is not connected
// to the service with InvalidVpcEndpoint.NotFound (the code DeleteVpcEndpoints
// uses for the same case), and one in a state the transition does not start
// from with InvalidStateTransition (EC2's code for accepting or rejecting a
// peering connection in the wrong state). AWS documents neither.

// VpcEndpointConnection is a consumer's endpoint to one of the provider's
// services, as the provider sees it.
type VpcEndpointConnection struct {
	ConnectionID            string
	ServiceID               string
	VpcEndpointID           string
	VpcEndpointOwner        string
	VpcEndpointState        string
	VpcEndpointRegion       string
	Created                 time.Time
	DNSEntries              []EndpointDNSEntry
	NetworkLoadBalancerARNs []string
	IPAddressType           string
}

// DescribeVpcEndpointConnectionsInput is the input of
// DescribeVpcEndpointConnections.
type DescribeVpcEndpointConnectionsInput struct {
	Filters []Filter
	Page    Page
	DryRun  bool
}

// DescribeVpcEndpointConnectionsOutput is one page of
// DescribeVpcEndpointConnections.
type DescribeVpcEndpointConnectionsOutput struct {
	VpcEndpointConnections []VpcEndpointConnection
	NextToken              string
}

// VpcEndpointConnectionsInput is the input of AcceptVpcEndpointConnections
// and RejectVpcEndpointConnections.
type VpcEndpointConnectionsInput struct {
	ServiceID      string
	VpcEndpointIDs []string
	DryRun         bool
}

var connectionFilters = filterDefs[VpcEndpointConnection]{
	fields: map[string]func(VpcEndpointConnection) []string{
		"ip-address-type":     func(c VpcEndpointConnection) []string { return []string{c.IPAddressType} },
		"service-id":          func(c VpcEndpointConnection) []string { return []string{c.ServiceID} },
		"vpc-endpoint-id":     func(c VpcEndpointConnection) []string { return []string{c.VpcEndpointID} },
		"vpc-endpoint-owner":  func(c VpcEndpointConnection) []string { return []string{c.VpcEndpointOwner} },
		"vpc-endpoint-region": func(c VpcEndpointConnection) []string { return []string{c.VpcEndpointRegion} },
		"vpc-endpoint-state":  func(c VpcEndpointConnection) []string { return []string{c.VpcEndpointState} },
	},
}

// connectionKey is the sort and page key of a connection.
func connectionKey(c VpcEndpointConnection) string { return c.ServiceID + "/" + c.VpcEndpointID }

// vpcEndpointConnection returns what the provider of svc sees of e.
func (s *Service) vpcEndpointConnection(svc *model.EndpointService, e *model.VpcEndpoint) VpcEndpointConnection {
	return VpcEndpointConnection{
		ConnectionID:            e.ConnectionID,
		ServiceID:               svc.ID,
		VpcEndpointID:           e.ID,
		VpcEndpointOwner:        e.OwnerID,
		VpcEndpointState:        e.State,
		VpcEndpointRegion:       s.region,
		Created:                 e.Created,
		DNSEntries:              s.vpcEndpointDNSEntries(e, nil),
		NetworkLoadBalancerARNs: slices.Clone(svc.NetworkLoadBalancerARNs),
		IPAddressType:           e.IPAddressType,
	}
}

// DescribeVpcEndpointConnections lists the endpoints connected to the
// caller's services, of every consumer account, sorted by service then
// endpoint id, narrowed by Filters, one page at a time (MaxResults 5-1000).
func (s *Service) DescribeVpcEndpointConnections(ctx context.Context, account string, in DescribeVpcEndpointConnectionsInput) (DescribeVpcEndpointConnectionsOutput, error) {
	var out DescribeVpcEndpointConnectionsOutput
	err := s.view(ctx, in.DryRun, func(tx store.ReadTx) error {
		if err := connectionFilters.validate(in.Filters); err != nil {
			return err
		}
		svcs, err := listOwned[model.EndpointService](tx, idEndpointService, account)
		if err != nil {
			return err
		}
		var items []VpcEndpointConnection
		for _, svc := range svcs {
			eps, err := serviceEndpoints(tx, svc.ID)
			if err != nil {
				return err
			}
			for _, e := range eps {
				if c := s.vpcEndpointConnection(svc, e); connectionFilters.match(c, in.Filters) {
					items = append(items, c)
				}
			}
		}
		page, next, err := paginate(items, connectionKey, in.Page, 5, 1000)
		if err != nil {
			return err
		}
		out.VpcEndpointConnections = page
		if out.VpcEndpointConnections == nil {
			out.VpcEndpointConnections = []VpcEndpointConnection{}
		}
		out.NextToken = next
		return nil
	})
	if err != nil {
		return DescribeVpcEndpointConnectionsOutput{}, err
	}
	return out, nil
}

// AcceptVpcEndpointConnections accepts endpoints waiting for the caller's
// acceptance (pendingAcceptance) to one of its services: they become
// pending, and the controllers make them available once their data plane
// is up. Every other endpoint is an unsuccessful item.
func (s *Service) AcceptVpcEndpointConnections(ctx context.Context, account string, in VpcEndpointConnectionsInput) ([]UnsuccessfulItem, error) {
	return s.transitionConnections(ctx, account, in, "accepted", model.EndpointPending, model.EndpointPendingAcceptance)
}

// RejectVpcEndpointConnections rejects endpoints to one of the caller's
// services that are pendingAcceptance, pending or available: they become
// rejected and carry no traffic; only their consumers can delete them.
// Every other endpoint is an unsuccessful item.
func (s *Service) RejectVpcEndpointConnections(ctx context.Context, account string, in VpcEndpointConnectionsInput) ([]UnsuccessfulItem, error) {
	return s.transitionConnections(ctx, account, in, "rejected", model.EndpointRejected,
		model.EndpointPendingAcceptance, model.EndpointPending, model.EndpointAvailable)
}

// transitionConnections moves the endpoints of in that are connected to the
// caller's service and in one of the states from to state to, in one
// transaction; verb ("accepted") words the answer for the others.
func (s *Service) transitionConnections(ctx context.Context, account string, in VpcEndpointConnectionsInput, verb, to string, from ...string) ([]UnsuccessfulItem, error) {
	var out []UnsuccessfulItem
	err := s.update(ctx, in.DryRun, func(tx store.Tx) error {
		out = []UnsuccessfulItem{}
		if in.ServiceID == "" {
			return awsapi.ErrMissingParameter("serviceId")
		}
		if len(in.VpcEndpointIDs) == 0 {
			return awsapi.ErrMissingParameter("vpcEndpointId")
		}
		svc, err := loadEndpointService(tx, account, in.ServiceID)
		if err != nil {
			return err
		}
		if err := idVpcEndpoint.checkAll(in.VpcEndpointIDs); err != nil {
			return err
		}
		for _, id := range dedupe(in.VpcEndpointIDs) {
			e, found, err := connectedEndpoint(tx, svc.ID, id)
			if err != nil {
				return err
			}
			switch {
			case !found:
				out = append(out, UnsuccessfulItem{
					ResourceID: id, Code: "InvalidVpcEndpoint.NotFound",
					Message: fmt.Sprintf("The Vpc Endpoint Id '%s' does not exist", id),
				})
			case !slices.Contains(from, e.State):
				out = append(out, UnsuccessfulItem{
					ResourceID: id, Code: "InvalidStateTransition",
					Message: fmt.Sprintf("The VPC endpoint %s is in state %s and cannot be %s.", id, e.State, verb),
				})
			default:
				e.State = to
				if err := putVpcEndpoint(tx, e); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// connectedEndpoint reads the endpoint id connected to the service
// serviceID, of any account; found is false if there is no such endpoint
// or it is connected to another service.
func connectedEndpoint(tx store.ReadTx, serviceID, id string) (*model.VpcEndpoint, bool, error) {
	e, found, err := getIndexed[model.VpcEndpoint](tx, serviceEndpointIndexKey(serviceID, id))
	if err != nil || !found {
		return nil, false, err
	}
	if e.ServiceID != serviceID {
		return nil, false, nil
	}
	return e, true, nil
}
