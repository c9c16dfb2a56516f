// Package apitest holds what the tests of the AWS API's service packages
// (ec2, elbv2) share: a control plane over a throwaway bbolt store, and a
// call of a service's handler as one account, the way the front makes it
// after SigV4 (decoded parameters in, the marshalled XML document out).
//
// It is for _test.go files only. It must not import the service packages,
// whose tests import it.
package apitest

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/controlplane"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
	"github.com/privlink/privlink/internal/store/boltstore"
)

// Region is the region of the control planes and calls made here.
const Region = "us-east-1"

// RequestID is the request id of every Call.
const RequestID = "req-1"

// ControlPlane returns a control plane over a new bbolt store in a
// temporary directory of t's, closed when t ends, for Region with the zones
// a and b, and that store. cfg gives the rest (a fixed clock, console logs,
// a TXT resolver); its Store, Region and Zones are set here.
func ControlPlane(t testing.TB, cfg controlplane.Config) (*controlplane.Service, store.Store) {
	t.Helper()
	st, err := boltstore.Open(t.Context(), filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	zones, err := model.Zones(Region, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store, cfg.Region, cfg.Zones = st, Region, zones
	cp, err := controlplane.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cp, st
}

// Network creates, as account, a VPC with cidr ("A.B.0.0/16") and in it a
// subnet A.B.1.0/24 in zone a and A.B.2.0/24 in zone b, through the control
// plane. It returns the VPC's id and the subnets' ids, zone a first.
func Network(t testing.TB, cp *controlplane.Service, account, cidr string) (vpcID string, subnetIDs []string) {
	t.Helper()
	prefix, ok := strings.CutSuffix(cidr, ".0.0/16")
	if !ok {
		t.Fatalf("Network: CIDR %s is not A.B.0.0/16", cidr)
	}
	vpc, err := cp.CreateVpc(t.Context(), account, controlplane.CreateVpcInput{CidrBlock: cidr})
	if err != nil {
		t.Fatal(err)
	}
	for i, z := range []string{"a", "b"} {
		sn, err := cp.CreateSubnet(t.Context(), account, controlplane.CreateSubnetInput{
			VpcID: vpc.ID, CidrBlock: fmt.Sprintf("%s.%d.0/24", prefix, i+1), AvailabilityZone: Region + z,
		})
		if err != nil {
			t.Fatal(err)
		}
		subnetIDs = append(subnetIDs, sn.ID)
	}
	return vpc.ID, subnetIDs
}

// Call runs action with params through h, the handler of service ("ec2",
// "elasticloadbalancing"), as account, and returns the XML document of the
// answer. The handler's error is returned as it is; an answer that does not
// marshal fails t.
func Call(t testing.TB, h awsapi.Handler, service, account, action string, params awsapi.Params) ([]byte, error) {
	t.Helper()
	resp, err := h.Handle(t.Context(), &awsapi.Request{
		Service: service, Action: action, Params: params, Region: Region,
		Caller: awsapi.Caller{AccountID: account, AccessKeyID: "test"}, RequestID: RequestID,
	})
	if err != nil {
		return nil, err
	}
	body, err := resp.MarshalResponse(RequestID)
	if err != nil {
		t.Fatalf("%s: marshal: %v", action, err)
	}
	return body, nil
}
