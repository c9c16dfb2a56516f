package controlplane

import (
	"errors"
	"slices"
	"strings"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// This file holds what the PrivateLink operations share: id kinds, store
// keys and the cross-account indexes. A service lives under its provider's
// account and an endpoint under its consumer's, so that each account's own
// calls stay within its key space. The two cross-account paths AWS has go
// through indexes:
//
//   - index/service-name/<service name> → the service's key: a consumer
//     finds the service it names (CreateVpcEndpoint,
//     DescribeVpcEndpointServices).
//   - index/service-endpoint/<service id>/<endpoint id> → the endpoint's
//     key: the provider finds the endpoints connected to its service
//     (DescribeVpcEndpointConnections, Accept/Reject).
//
// Every write of a service or an endpoint keeps its index entries in the
// same transaction.

// The id kinds of PrivateLink resources.
var (
	idVpcEndpoint = idKind{
		prefix:        model.PrefixVpcEndpoint,
		storeKind:     store.KindVpcEndpoint,
		malformedCode: "InvalidVpcEndpointId.Malformed",
		notFoundCode:  "InvalidVpcEndpointId.NotFound",
		notFoundOne:   "The Vpc Endpoint Id '%s' does not exist",
		notFoundMany:  "The Vpc Endpoint Ids '%s' do not exist",
	}
	idEndpointService = idKind{
		prefix:        model.PrefixVpcEndpointService,
		storeKind:     store.KindEndpointService,
		malformedCode: "InvalidVpcEndpointServiceId.Malformed",
		notFoundCode:  "InvalidVpcEndpointServiceId.NotFound",
		notFoundOne:   "The Vpc Endpoint Service Id '%s' does not exist",
		notFoundMany:  "The Vpc Endpoint Service Ids '%s' do not exist",
	}
)

func endpointServiceKey(account, id string) string {
	return store.Key(store.KindEndpointService, account, id)
}

func vpcEndpointKey(account, id string) string { return store.Key(store.KindVpcEndpoint, account, id) }

func serviceNameIndexKey(name string) string {
	return store.KindIndex + "/service-name/" + name
}

func serviceEndpointsPrefix(serviceID string) string {
	return store.KindIndex + "/service-endpoint/" + serviceID + "/"
}

func serviceEndpointIndexKey(serviceID, endpointID string) string {
	return serviceEndpointsPrefix(serviceID) + endpointID
}

// loadEndpointService reads the caller's own service, or answers
// InvalidVpcEndpointServiceId.Malformed / .NotFound.
func loadEndpointService(tx store.ReadTx, account, id string) (*model.EndpointService, error) {
	return loadOwned[model.EndpointService](tx, idEndpointService, account, id)
}

// loadVpcEndpoint reads the caller's own endpoint, or answers
// InvalidVpcEndpointId.Malformed / .NotFound.
func loadVpcEndpoint(tx store.ReadTx, account, id string) (*model.VpcEndpoint, error) {
	return loadOwned[model.VpcEndpoint](tx, idVpcEndpoint, account, id)
}

// serviceByName reads the service named name, of any account; found is
// false if there is none. Whether the caller may see it is
// serviceVisibleTo's call.
func serviceByName(tx store.ReadTx, name string) (svc *model.EndpointService, found bool, err error) {
	key, err := tx.Get(serviceNameIndexKey(name))
	if isNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return getRecord[model.EndpointService](tx, string(key))
}

// serviceEndpoints reads every endpoint connected to the service, of any
// account, in endpoint id order.
func serviceEndpoints(tx store.ReadTx, serviceID string) ([]*model.VpcEndpoint, error) {
	kvs, err := tx.List(serviceEndpointsPrefix(serviceID))
	if err != nil {
		return nil, err
	}
	out := make([]*model.VpcEndpoint, 0, len(kvs))
	for _, kv := range kvs {
		e, found, err := getRecord[model.VpcEndpoint](tx, string(kv.Value))
		if err != nil {
			return nil, err
		}
		if found {
			out = append(out, e)
		}
	}
	return out, nil
}

// putEndpointService writes a service and its name index entry.
func putEndpointService(tx store.Tx, svc *model.EndpointService) error {
	key := endpointServiceKey(svc.OwnerID, svc.ID)
	if err := putRecord(tx, key, svc); err != nil {
		return err
	}
	return tx.Put(serviceNameIndexKey(svc.Name), []byte(key))
}

// deleteEndpointService deletes a service and its name index entry.
func deleteEndpointService(tx store.Tx, svc *model.EndpointService) error {
	if err := tx.Delete(endpointServiceKey(svc.OwnerID, svc.ID)); err != nil && !isNotFound(err) {
		return err
	}
	if err := tx.Delete(serviceNameIndexKey(svc.Name)); err != nil && !isNotFound(err) {
		return err
	}
	return nil
}

// putVpcEndpoint writes an endpoint and its service index entry.
func putVpcEndpoint(tx store.Tx, e *model.VpcEndpoint) error {
	key := vpcEndpointKey(e.OwnerID, e.ID)
	if err := putRecord(tx, key, e); err != nil {
		return err
	}
	return tx.Put(serviceEndpointIndexKey(e.ServiceID, e.ID), []byte(key))
}

// deleteVpcEndpointRecord deletes an endpoint's record and its service
// index entry (its ENIs are the caller's business).
func deleteVpcEndpointRecord(tx store.Tx, e *model.VpcEndpoint) error {
	if err := tx.Delete(vpcEndpointKey(e.OwnerID, e.ID)); err != nil && !isNotFound(err) {
		return err
	}
	if err := tx.Delete(serviceEndpointIndexKey(e.ServiceID, e.ID)); err != nil && !isNotFound(err) {
		return err
	}
	return nil
}

// serviceVisibleTo reports whether account may see and connect to svc: its
// owner, or an account its allowed principals cover ("*" covers every
// account).
func serviceVisibleTo(svc *model.EndpointService, account string) bool {
	if svc.OwnerID == account {
		return true
	}
	for _, p := range svc.Principals {
		if p.Type == model.PrincipalAll || p.Account == account {
			return true
		}
	}
	return false
}

// serviceZone is an availability zone a service offers.
type serviceZone struct {
	Name, ID string
}

// serviceZones returns the zones of the service's load balancers' nodes,
// sorted by name: the zones the service offers. A load balancer that is
// gone adds none.
func (s *Service) serviceZones(tx store.ReadTx, svc *model.EndpointService) ([]serviceZone, error) {
	seen := map[string]bool{}
	var out []serviceZone
	for _, arn := range svc.NetworkLoadBalancerARNs {
		lb, err := s.loadLoadBalancer(tx, svc.OwnerID, arn)
		if err != nil {
			if isELBNotFound(err) {
				continue
			}
			return nil, err
		}
		for _, n := range lb.Nodes {
			if !seen[n.AvailabilityZone] {
				seen[n.AvailabilityZone] = true
				out = append(out, serviceZone{Name: n.AvailabilityZone, ID: n.AvailabilityZoneID})
			}
		}
	}
	slices.SortFunc(out, func(a, b serviceZone) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// isELBNotFound reports whether err is a load balancer lookup's not-found
// answer.
func isELBNotFound(err error) bool {
	var ae *awsapi.Error
	return errors.As(err, &ae) && (ae.Code == codeLoadBalancerNotFound || ae.Code == codeValidationError)
}
