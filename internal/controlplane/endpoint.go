package controlplane

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"slices"
	"strings"

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
		notFoundOne:   "The VpcEndpointService Id '%s' does not exist",
		notFoundMany:  "The VpcEndpointService Ids '%s' do not exist",
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
	return getIndexed[model.EndpointService](tx, serviceNameIndexKey(name))
}

// getIndexed decodes the record the index entry at indexKey points to.
// found is false if either is absent.
func getIndexed[T any](tx store.ReadTx, indexKey string) (v *T, found bool, err error) {
	key, err := tx.Get(indexKey)
	if isNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("get %s: %w", indexKey, err)
	}
	return getRecord[T](tx, string(key))
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

// zoneNamesAndIDs splits zones into their names and their ids, in order
// (AvailabilityZones and AvailabilityZoneIds of the service views).
func zoneNamesAndIDs(zones []serviceZone) (names, ids []string) {
	names, ids = make([]string, 0, len(zones)), make([]string, 0, len(zones))
	for _, z := range zones {
		names = append(names, z.Name)
		ids = append(ids, z.ID)
	}
	return names, ids
}

// isELBNotFound reports whether err is a load balancer lookup's not-found
// answer.
func isELBNotFound(err error) bool {
	return isELBError(err, codeLoadBalancerNotFound) || isELBError(err, codeValidationError)
}

// AdvanceEndpoints records a controller pass's progress on endpoints, in
// one transaction: the pending endpoints in available have their ENIs'
// namespaces and listeners up, and become available; the deleting ones in
// forget are torn down, and their records go. An endpoint that changed
// state meanwhile (rejected while pending, say) is left as it is.
func (s *Service) AdvanceEndpoints(ctx context.Context, available, forget []Ref) error {
	err := s.update(ctx, false, func(tx store.Tx) error {
		for _, r := range available {
			e, found, err := getRecord[model.VpcEndpoint](tx, vpcEndpointKey(r.Owner, r.ID))
			if err != nil {
				return err
			}
			if !found || e.State != model.EndpointPending {
				continue
			}
			e.State = model.EndpointAvailable
			if err := putVpcEndpoint(tx, e); err != nil {
				return err
			}
		}
		for _, r := range forget {
			e, found, err := getRecord[model.VpcEndpoint](tx, vpcEndpointKey(r.Owner, r.ID))
			if err != nil {
				return err
			}
			if !found || e.State != model.EndpointDeleting {
				continue
			}
			if err := deleteVpcEndpointRecord(tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("advance endpoints: %w", err)
	}
	return nil
}

// UnsuccessfulItem is one item of the unsuccessful list of EC2's batch
// calls (DeleteVpcEndpoints, Accept/RejectVpcEndpointConnections,
// DeleteVpcEndpointServiceConfigurations): the resource that failed and
// the error code and message it failed with. The call itself succeeds.
type UnsuccessfulItem struct {
	ResourceID string
	Code       string
	Message    string
}

// EndpointDNSEntry is one item of an endpoint's dnsEntrySet.
type EndpointDNSEntry struct {
	DNSName      string
	HostedZoneID string
}

// vpceHostedZones are the Route 53 hosted zones of the
// *.vpce.amazonaws.com names, by region: one zone per region, shared by
// every endpoint. Only the regions AWS's own samples show are listed; any
// other region (privlink's --region is free) gets us-east-1's.
var vpceHostedZones = map[string]string{
	"us-east-1": "Z7HUB22UULQXV",
	"us-east-2": "ZC8PG0KIFKBRI",
}

// vpceHostedZone returns the hosted zone of the vpce names of region.
func vpceHostedZone(region string) string {
	if z, ok := vpceHostedZones[region]; ok {
		return z
	}
	return vpceHostedZones["us-east-1"]
}

// privateHostedZoneID is the id of the private hosted zone that holds a
// private DNS name inside one VPC: stable, derived from the VPC and the
// name, shaped as Route 53 zone ids are ("Z" and upper-case
// alphanumerics). privlink has no Route 53; the id only names the zone
// in dnsEntrySet.
func privateHostedZoneID(vpcID, name string) string {
	sum := sha256.Sum256([]byte("privlink/phz/" + vpcID + "/" + strings.ToLower(name)))
	return "Z" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:])[:20]
}

// vpcEndpointDNSEntries returns an endpoint's dnsEntrySet, as AWS orders
// it: the regional name first, then one zonal name per endpoint network
// interface (in ENI order), then, while the endpoint has private DNS on
// and svc's private DNS name is verified, that name in the VPC's private
// hosted zone. svc may be nil (a service that is gone): then there is no
// private DNS entry.
func (s *Service) vpcEndpointDNSEntries(e *model.VpcEndpoint, svc *model.EndpointService) []EndpointDNSEntry {
	zone := vpceHostedZone(s.region)
	out := []EndpointDNSEntry{{DNSName: model.EndpointRegionalDNSName(s.region, e.DNSLabel, e.ServiceID), HostedZoneID: zone}}
	for _, eni := range e.ENIs {
		out = append(out, EndpointDNSEntry{
			DNSName:      model.EndpointZonalDNSName(s.region, e.DNSLabel, eni.AvailabilityZone, e.ServiceID),
			HostedZoneID: zone,
		})
	}
	if name := verifiedPrivateDNSName(svc); e.PrivateDNSEnabled && name != "" {
		out = append(out, EndpointDNSEntry{DNSName: name, HostedZoneID: privateHostedZoneID(e.VpcID, name)})
	}
	return out
}

// verifiedPrivateDNSName returns svc's private DNS name if it is verified,
// else "" (svc may be nil).
func verifiedPrivateDNSName(svc *model.EndpointService) string {
	if svc == nil || svc.PrivateDNSName == "" || svc.PrivateDNS == nil || svc.PrivateDNS.State != model.DNSVerified {
		return ""
	}
	return svc.PrivateDNSName
}
