package controlplane

import (
	"errors"
	"fmt"
	"testing"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// What the ELBv2 tests share: one fixture, store access and the checks of
// ELBv2 errors.

// elbEnv is a service with a VPC of account netAcctA with one subnet in
// each of the zones a, b and c and a security group, plus a second VPC of
// account A and a VPC of account B, each with a subnet, for the inputs that
// name another VPC or another account's resources.
type elbEnv struct {
	s         *Service
	st        store.Store
	clock     *testClock
	vpc       model.Vpc
	subnets   []Subnet // zones a, b, c
	sg        *model.SecurityGroup
	otherVpc  model.Vpc // a second VPC of account A
	otherSn   Subnet
	foreign   model.Vpc // a VPC of account B
	foreignSn Subnet
}

func newELBEnv(t *testing.T) *elbEnv {
	t.Helper()
	s, st, clock := newInstanceTestService(t, nil)
	e := &elbEnv{s: s, st: st, clock: clock, vpc: mustVpc(t, s, netAcctA, "10.0.0.0/16")}
	for i, z := range []string{"a", "b", "c"} {
		sn, err := s.CreateSubnet(t.Context(), netAcctA, CreateSubnetInput{
			VpcID: e.vpc.ID, CidrBlock: fmt.Sprintf("10.0.%d.0/24", i+1), AvailabilityZone: "us-east-1" + z,
		})
		if err != nil {
			t.Fatal(err)
		}
		e.subnets = append(e.subnets, sn)
	}
	e.sg = mustGroup(t, s, netAcctA, e.vpc.ID, "lb")
	e.otherVpc = mustVpc(t, s, netAcctA, "10.1.0.0/16")
	e.otherSn = mustSubnet(t, s, netAcctA, e.otherVpc.ID, "10.1.1.0/24")
	e.foreign = mustVpc(t, s, netAcctB, "10.0.0.0/16")
	e.foreignSn = mustSubnet(t, s, netAcctB, e.foreign.ID, "10.0.1.0/24")
	return e
}

// put writes one record straight into the store.
func (e *elbEnv) put(t *testing.T, key string, v any) {
	t.Helper()
	putTestRecords(t, e.st, map[string]any{key: v})
}

// putTestRecords writes records straight into the store, in one
// transaction.
func putTestRecords(t *testing.T, st store.Store, recs map[string]any) {
	t.Helper()
	_, err := st.Update(t.Context(), func(tx store.Tx) error {
		for k, v := range recs {
			if err := putRecord(tx, k, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// getTestRecord reads one record as stored.
func getTestRecord[T any](t *testing.T, st store.Store, key string) (*T, bool) {
	t.Helper()
	var v *T
	var found bool
	err := st.View(t.Context(), func(tx store.ReadTx) error {
		var err error
		v, found, err = getRecord[T](tx, key)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return v, found
}

// wantELBErr fails unless err is an *awsapi.Error with code and message.
func wantELBErr(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae *awsapi.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error = %v, want %s: %s", err, code, msg)
	}
	if ae.Code != code || ae.Message != msg || ae.HTTPStatus() != 400 {
		t.Errorf("error = %s (%d) %q,\n want %s (400) %q", ae.Code, ae.HTTPStatus(), ae.Message, code, msg)
	}
}

// wantBadCall runs call and fails unless it answers the ELBv2 error code
// with msg and leaves the store as it was.
func wantBadCall(t *testing.T, st store.Store, call func() error, code, msg string) {
	t.Helper()
	before := netRev(t, st)
	wantELBErr(t, call(), code, msg)
	if after := netRev(t, st); after != before {
		t.Errorf("store revision moved from %d to %d: a bad input wrote", before, after)
	}
}

// badCall is a row of a bad-input table: a call and the error it must
// answer without writing.
type badCall struct {
	name string
	call func() error
	code string
	msg  string
}

// runBadCalls runs every row as a subtest with wantBadCall.
func runBadCalls(t *testing.T, st store.Store, tests []badCall) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantBadCall(t, st, tt.call, tt.code, tt.msg) })
	}
}
