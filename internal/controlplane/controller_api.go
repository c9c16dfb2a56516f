package controlplane

import (
	"context"
	"fmt"
	"time"

	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// This file is the controllers' side of the control plane: they read the
// desired state of every account and report progress (pending → available)
// back. Nothing here is reachable from the API.

// NetworkSnapshot is the desired network of every account, read in one
// consistent transaction. Every list is sorted by owner account, then id.
type NetworkSnapshot struct {
	// Rev is a store revision no newer than the snapshot: watching from Rev
	// may deliver again changes the snapshot already holds, but never misses
	// one. Controllers are level-triggered, so a repeat is harmless.
	Rev            int64
	Vpcs           []model.Vpc
	Subnets        []model.Subnet
	SecurityGroups []model.SecurityGroup
	NetworkAcls    []model.NetworkAcl
	// Instances holds every instance record, terminated ones included
	// until PurgeTerminatedInstances removes them (they have no ENI).
	Instances []model.Instance
	// ENIs holds every network interface: instances' primary ENIs and
	// requester-managed ones (endpoints, NLB nodes).
	ENIs []model.NetworkInterface
	// The load balancers, their listeners and target groups, and what the
	// health checks found (one set per target group that has been
	// checked).
	LoadBalancers []model.LoadBalancer
	Listeners     []model.Listener
	TargetGroups  []model.TargetGroup
	TargetHealth  []model.TargetHealthSet
	// The endpoint services and the interface endpoints of every account.
	EndpointServices []model.EndpointService
	VpcEndpoints     []model.VpcEndpoint
}

// Snapshot returns the desired network of every account.
func (s *Service) Snapshot(ctx context.Context) (NetworkSnapshot, error) {
	rev, err := s.st.Rev(ctx)
	if err != nil {
		return NetworkSnapshot{}, fmt.Errorf("snapshot: %w", err)
	}
	out := NetworkSnapshot{Rev: rev}
	s.snaps.mu.Lock()
	defer s.snaps.mu.Unlock()
	err = s.st.View(ctx, func(tx store.ReadTx) error {
		var err error
		c := &s.snaps
		if out.Vpcs, err = listCached[model.Vpc](c, tx, store.KindPrefix(store.KindVpc)); err != nil {
			return err
		}
		if out.Subnets, err = listCached[model.Subnet](c, tx, store.KindPrefix(store.KindSubnet)); err != nil {
			return err
		}
		if out.SecurityGroups, err = listCached[model.SecurityGroup](c, tx, store.KindPrefix(store.KindSecurityGroup)); err != nil {
			return err
		}
		if out.NetworkAcls, err = listCached[model.NetworkAcl](c, tx, store.KindPrefix(store.KindNetworkAcl)); err != nil {
			return err
		}
		if out.Instances, err = listCached[model.Instance](c, tx, store.KindPrefix(store.KindInstance)); err != nil {
			return err
		}
		if out.ENIs, err = listCached[model.NetworkInterface](c, tx, store.KindPrefix(store.KindENI)); err != nil {
			return err
		}
		if out.LoadBalancers, err = listCached[model.LoadBalancer](c, tx, store.KindPrefix(store.KindLoadBalancer)); err != nil {
			return err
		}
		if out.Listeners, err = listCached[model.Listener](c, tx, store.KindPrefix(store.KindListener)); err != nil {
			return err
		}
		if out.TargetGroups, err = listCached[model.TargetGroup](c, tx, store.KindPrefix(store.KindTargetGroup)); err != nil {
			return err
		}
		if out.TargetHealth, err = listCached[model.TargetHealthSet](c, tx, store.KindPrefix(store.KindTargetHealth)); err != nil {
			return err
		}
		if out.EndpointServices, err = listCached[model.EndpointService](c, tx, store.KindPrefix(store.KindEndpointService)); err != nil {
			return err
		}
		out.VpcEndpoints, err = listCached[model.VpcEndpoint](c, tx, store.KindPrefix(store.KindVpcEndpoint))
		return err
	})
	if err != nil {
		return NetworkSnapshot{}, fmt.Errorf("snapshot: %w", err)
	}
	return out, nil
}

// ListAllVpcs returns every VPC of every account, sorted by owner account,
// then id.
func (s *Service) ListAllVpcs(ctx context.Context) ([]model.Vpc, error) {
	snap, err := s.Snapshot(ctx)
	return snap.Vpcs, err
}

// ListAllSubnets returns every subnet of every account, sorted by owner
// account, then id.
func (s *Service) ListAllSubnets(ctx context.Context) ([]model.Subnet, error) {
	snap, err := s.Snapshot(ctx)
	return snap.Subnets, err
}

// Ref names one resource of any account, as the controllers see it.
type Ref struct {
	Owner string
	ID    string
}

// MarkAvailable moves pending VPCs and subnets to available once the kernel
// has them, all in one transaction: one commit per controller pass, however
// many resources it brought up. Each record is read by its key. One that was
// deleted meanwhile, or that is no longer pending, is left as it is.
func (s *Service) MarkAvailable(ctx context.Context, vpcs, subnets []Ref) error {
	err := s.update(ctx, false, func(tx store.Tx) error {
		if err := markAvailable(tx, store.KindVpc, vpcs, func(v *model.Vpc) *string { return &v.State }); err != nil {
			return err
		}
		return markAvailable(tx, store.KindSubnet, subnets, func(sn *model.Subnet) *string { return &sn.State })
	})
	if err != nil {
		return fmt.Errorf("mark available: %w", err)
	}
	return nil
}

func markAvailable[T any](tx store.Tx, kind string, refs []Ref, state func(*T) *string) error {
	for _, r := range refs {
		key := store.Key(kind, r.Owner, r.ID)
		v, found, err := getRecord[T](tx, key)
		if err != nil {
			return err
		}
		if !found || *state(v) != model.StatePending {
			continue
		}
		*state(v) = model.StateAvailable
		if err := putRecord(tx, key, v); err != nil {
			return err
		}
	}
	return nil
}

// InstanceProgress is what one controller pass did to instances, each list
// naming the instances whose kernel work is done.
type InstanceProgress struct {
	Running     []Ref // pending → running: namespace and eth0 are up
	Stopped     []Ref // stopping → stopped: its processes are gone
	Terminated  []Ref // shutting-down → terminated: its namespace is gone
	UserDataRan []Ref // its UserData was started, so it never runs again
}

// AdvanceInstances records a controller pass's progress, all in one
// transaction. Terminating an instance deletes its ENI (freeing the
// address) and stamps TerminatedAt, from which it stays visible for an
// hour. An instance that was deleted meanwhile, or is no longer in the
// state the transition starts from, is left as it is: the call raced an
// API call (a stop during pending, a terminate during stopping), and the
// next pass sees the new state.
func (s *Service) AdvanceInstances(ctx context.Context, p InstanceProgress) error {
	now := s.now().UTC().Truncate(time.Second)
	err := s.update(ctx, false, func(tx store.Tx) error {
		steps := []struct {
			refs []Ref
			fn   func(tx store.Tx, i *model.Instance) (bool, error)
		}{
			{p.Running, func(_ store.Tx, i *model.Instance) (bool, error) {
				if i.State != model.InstancePending {
					return false, nil
				}
				i.State = model.InstanceRunning
				i.StateReason, i.StateReasonMessage = "", ""
				return true, nil
			}},
			{p.Stopped, func(_ store.Tx, i *model.Instance) (bool, error) {
				if i.State != model.InstanceStopping {
					return false, nil
				}
				i.State = model.InstanceStopped
				i.ForceStop = false
				return true, nil
			}},
			{p.Terminated, func(tx store.Tx, i *model.Instance) (bool, error) {
				if i.State != model.InstanceShuttingDown {
					return false, nil
				}
				if err := s.releaseInstanceENI(tx, i); err != nil {
					return false, err
				}
				if err := s.deregisterInstance(tx, i); err != nil {
					return false, err
				}
				i.State = model.InstanceTerminated
				i.TerminatedAt = now
				i.ForceStop = false
				return true, nil
			}},
			{p.UserDataRan, func(_ store.Tx, i *model.Instance) (bool, error) {
				if i.UserDataRan || i.State == model.InstanceTerminated {
					return false, nil
				}
				i.UserDataRan = true
				return true, nil
			}},
		}
		for _, st := range steps {
			for _, r := range st.refs {
				key := instanceKey(r.Owner, r.ID)
				i, found, err := getRecord[model.Instance](tx, key)
				if err != nil {
					return err
				}
				if !found {
					continue
				}
				changed, err := st.fn(tx, i)
				if err != nil {
					return err
				}
				if changed {
					if err := putRecord(tx, key, i); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("advance instances: %w", err)
	}
	return nil
}

// releaseInstanceENI deletes a terminated instance's primary ENI, if it is
// still attached to that instance.
func (s *Service) releaseInstanceENI(tx store.Tx, i *model.Instance) error {
	if i.PrimaryENI == "" {
		return nil
	}
	eni, found, err := getRecord[model.NetworkInterface](tx, eniKey(i.OwnerID, i.PrimaryENI))
	if err != nil || !found || eni.InstanceID != i.ID {
		return err
	}
	return s.deleteENI(tx, eni)
}

// PurgeTerminatedInstances deletes the records of instances terminated more
// than an hour ago (they are already invisible to the API), with the
// ClientToken records of launches none of whose instances remain, in one
// transaction, and returns them.
func (s *Service) PurgeTerminatedInstances(ctx context.Context) ([]Ref, error) {
	var purged []Ref
	err := s.update(ctx, false, func(tx store.Tx) error {
		purged = nil
		all, err := listRecords[model.Instance](tx, store.KindPrefix(store.KindInstance))
		if err != nil {
			return err
		}
		type token struct{ owner, token string }
		tokens := map[token]bool{}
		for _, i := range all {
			if !s.expired(i) {
				continue
			}
			if err := tx.Delete(instanceKey(i.OwnerID, i.ID)); err != nil {
				return fmt.Errorf("delete instance %s: %w", i.ID, err)
			}
			if i.ClientToken != "" {
				tokens[token{i.OwnerID, i.ClientToken}] = true
			}
			purged = append(purged, Ref{Owner: i.OwnerID, ID: i.ID})
		}
		for t := range tokens {
			if err := dropSpentToken(tx, t.owner, t.token); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("purge terminated instances: %w", err)
	}
	return purged, nil
}

// dropSpentToken deletes a RunInstances ClientToken record once none of
// the instances it launched is left.
func dropSpentToken(tx store.Tx, owner, token string) error {
	key := runTokenKey(owner, token)
	tok, found, err := getRecord[runToken](tx, key)
	if err != nil || !found {
		return err
	}
	for _, id := range tok.InstanceIDs {
		if _, err := tx.Get(instanceKey(owner, id)); err == nil {
			return nil
		} else if !isNotFound(err) {
			return fmt.Errorf("get instance %s: %w", id, err)
		}
	}
	return tx.Delete(key)
}
