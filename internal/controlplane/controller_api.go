package controlplane

import (
	"context"
	"fmt"
	"strings"

	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// This file is the controllers' side of the control plane: they read the
// desired state of every account and report progress (pending → available)
// back. Nothing here is reachable from the API.

// NetworkSnapshot is every VPC and subnet of every account, read in one
// consistent transaction.
type NetworkSnapshot struct {
	// Rev is a store revision no newer than the snapshot: watching from Rev
	// may deliver again changes the snapshot already holds, but never misses
	// one. Controllers are level-triggered, so a repeat is harmless.
	Rev     int64
	Vpcs    []model.Vpc    // sorted by owner account, then id
	Subnets []model.Subnet // sorted by owner account, then id
}

// Snapshot returns every VPC and subnet of every account.
func (s *Service) Snapshot(ctx context.Context) (NetworkSnapshot, error) {
	rev, err := s.st.Rev(ctx)
	if err != nil {
		return NetworkSnapshot{}, fmt.Errorf("snapshot: %w", err)
	}
	out := NetworkSnapshot{Rev: rev}
	err = s.st.View(ctx, func(tx store.ReadTx) error {
		vpcs, err := listRecords[model.Vpc](tx, store.KindPrefix(store.KindVpc))
		if err != nil {
			return err
		}
		subnets, err := listRecords[model.Subnet](tx, store.KindPrefix(store.KindSubnet))
		if err != nil {
			return err
		}
		out.Vpcs = derefAll(vpcs)
		out.Subnets = derefAll(subnets)
		return nil
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

// SetVpcState records the state of a VPC, whichever account owns it
// ("pending" or "available"). It writes nothing if the VPC is already in
// that state, and succeeds without doing anything if the VPC no longer
// exists (it was deleted while the controller worked on it).
func (s *Service) SetVpcState(ctx context.Context, vpcID, state string) error {
	if state != model.StatePending && state != model.StateAvailable {
		return fmt.Errorf("set vpc %s state: invalid state %q", vpcID, state)
	}
	return setState[model.Vpc](ctx, s, store.KindVpc, vpcID, func(v *model.Vpc) *string { return &v.State }, state)
}

// Subnet states the controller may set, as EC2 names them.
const (
	SubnetStateUnavailable = "unavailable"
	SubnetStateFailed      = "failed"
)

// SetSubnetState records the state of a subnet, whichever account owns it
// ("pending", "available", "unavailable" or "failed"). Like SetVpcState it
// is a no-op if the subnet is already in that state or no longer exists.
func (s *Service) SetSubnetState(ctx context.Context, subnetID, state string) error {
	switch state {
	case model.StatePending, model.StateAvailable, SubnetStateUnavailable, SubnetStateFailed:
	default:
		return fmt.Errorf("set subnet %s state: invalid state %q", subnetID, state)
	}
	return setState[model.Subnet](ctx, s, store.KindSubnet, subnetID, func(sn *model.Subnet) *string { return &sn.State }, state)
}

// setState finds the record of id among every account's records of kind and
// sets its state field, in one transaction.
func setState[T any](ctx context.Context, s *Service, kind, id string, field func(*T) *string, state string) error {
	err := s.update(ctx, false, func(tx store.Tx) error {
		kvs, err := tx.List(store.KindPrefix(kind))
		if err != nil {
			return fmt.Errorf("list %s: %w", kind, err)
		}
		for _, kv := range kvs {
			if !strings.HasSuffix(kv.Key, "/"+id) {
				continue
			}
			v := new(T)
			if err := unmarshalRecord(kv, v); err != nil {
				return err
			}
			if *field(v) == state {
				return nil
			}
			*field(v) = state
			return putRecord(tx, kv.Key, v)
		}
		return nil // deleted meanwhile
	})
	if err != nil {
		return fmt.Errorf("set %s %s state: %w", kind, id, err)
	}
	return nil
}

func derefAll[T any](ps []*T) []T {
	out := make([]T, 0, len(ps))
	for _, p := range ps {
		out = append(out, *p)
	}
	return out
}
