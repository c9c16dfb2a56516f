package controlplane

import (
	"testing"

	"github.com/privlink/privlink/internal/model"
)

// TestSnapshotCache checks that snapshots taken through the decode cache
// follow every create, update and delete, and decode only what changed.
func TestSnapshotCache(t *testing.T) {
	s, _ := newNetTestService(t)
	ctx := t.Context()
	a := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	b := mustVpc(t, s, netAcctB, "10.0.0.0/16")

	snap := func() map[string]model.Vpc {
		t.Helper()
		got, err := s.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]model.Vpc{}
		for _, v := range got.Vpcs {
			m[v.ID] = v
		}
		return m
	}
	if got := snap(); len(got) != 2 || got[a.ID].State != model.StatePending {
		t.Fatalf("first snapshot: %+v", got)
	}
	cachedA := s.snaps.records["vpc/"+netAcctA+"/"+a.ID].v

	// An update is seen; the unchanged record is not decoded again.
	if err := s.MarkAvailable(ctx, []Ref{{Owner: netAcctB, ID: b.ID}}, nil); err != nil {
		t.Fatal(err)
	}
	if got := snap(); got[b.ID].State != model.StateAvailable || got[a.ID].State != model.StatePending {
		t.Errorf("after update: a %s, b %s", got[a.ID].State, got[b.ID].State)
	}
	if s.snaps.records["vpc/"+netAcctA+"/"+a.ID].v != cachedA {
		t.Error("an unchanged record was decoded again")
	}

	// A delete is seen and forgotten.
	if err := s.DeleteVpc(ctx, netAcctA, DeleteVpcInput{VpcID: a.ID}); err != nil {
		t.Fatal(err)
	}
	if got := snap(); len(got) != 1 {
		t.Errorf("after delete: %d VPCs, want 1", len(got))
	}
	if _, ok := s.snaps.records["vpc/"+netAcctA+"/"+a.ID]; ok {
		t.Error("the deleted VPC is still cached")
	}
}
