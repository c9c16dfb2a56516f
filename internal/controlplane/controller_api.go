package controlplane

import (
	"context"
	"fmt"

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

func derefAll[T any](ps []*T) []T {
	out := make([]T, 0, len(ps))
	for _, p := range ps {
		out = append(out, *p)
	}
	return out
}
