package controlplane

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/model"
)

func TestDescribeVpcEndpointConnections(t *testing.T) {
	e := newPvdEnv(t)
	ctx := t.Context()
	s1 := e.service(t, nil, e.nlbAB, e.nlbFree)
	s2 := e.service(t, nil, e.nlbC)
	epB := e.endpoint(t, netAcctB, s1, model.EndpointPendingAcceptance)
	epA := e.endpoint(t, netAcctA, s1, model.EndpointAvailable)
	epB2 := e.endpoint(t, netAcctB, s2, model.EndpointRejected)
	// B's own service and its endpoint: not A's business.
	foreign, err := e.s.CreateVpcEndpointServiceConfiguration(ctx, netAcctB, CreateVpcEndpointServiceConfigurationInput{NetworkLoadBalancerARNs: []string{e.foreign.ARN}})
	if err != nil {
		t.Fatal(err)
	}
	e.endpoint(t, netAcctA, foreign.ServiceConfiguration, model.EndpointAvailable)

	conn := func(svc ServiceConfiguration, ep *model.VpcEndpoint) VpcEndpointConnection {
		base := svc.ID + ".us-east-1.vpce.amazonaws.com"
		return VpcEndpointConnection{
			ConnectionID: ep.ConnectionID, ServiceID: svc.ID, VpcEndpointID: ep.ID, VpcEndpointOwner: ep.OwnerID,
			VpcEndpointState: ep.State, VpcEndpointRegion: "us-east-1", Created: testEpoch,
			DNSEntries: []EndpointDNSEntry{
				{DNSName: ep.DNSLabel + "." + base, HostedZoneID: "Z7HUB22UULQXV"},
				{DNSName: ep.DNSLabel + "-us-east-1a." + base, HostedZoneID: "Z7HUB22UULQXV"},
			},
			NetworkLoadBalancerARNs: svc.NetworkLoadBalancerARNs,
			IPAddressType:           "ipv4",
		}
	}
	// Sorted by service, then endpoint.
	s1Conns := []VpcEndpointConnection{conn(s1, epB), conn(s1, epA)}
	if epA.ID < epB.ID {
		s1Conns = []VpcEndpointConnection{conn(s1, epA), conn(s1, epB)}
	}
	s2Conns := []VpcEndpointConnection{conn(s2, epB2)}
	all := append(append([]VpcEndpointConnection{}, s1Conns...), s2Conns...)
	if s2.ID < s1.ID {
		all = append(append([]VpcEndpointConnection{}, s2Conns...), s1Conns...)
	}

	describe := func(in DescribeVpcEndpointConnectionsInput) DescribeVpcEndpointConnectionsOutput {
		t.Helper()
		out, err := e.s.DescribeVpcEndpointConnections(ctx, netAcctA, in)
		if err != nil {
			t.Fatalf("DescribeVpcEndpointConnections(%+v): %v", in, err)
		}
		return out
	}
	tests := []struct {
		name    string
		filters []Filter
		want    []VpcEndpointConnection
	}{
		{"all", nil, all},
		{"service-id", []Filter{{Name: "service-id", Values: []string{s2.ID}}}, s2Conns},
		{"vpc-endpoint-owner", []Filter{{Name: "vpc-endpoint-owner", Values: []string{netAcctA}}}, []VpcEndpointConnection{conn(s1, epA)}},
		{"vpc-endpoint-state", []Filter{{Name: "vpc-endpoint-state", Values: []string{"pendingAcceptance", "rejected"}}}, filterConns(all, epB.ID, epB2.ID)},
		{"vpc-endpoint-id", []Filter{{Name: "vpc-endpoint-id", Values: []string{epB2.ID}}}, s2Conns},
		{"ip-address-type", []Filter{{Name: "ip-address-type", Values: []string{"dualstack"}}}, []VpcEndpointConnection{}},
		{"vpc-endpoint-region", []Filter{{Name: "vpc-endpoint-region", Values: []string{"us-east-1"}}}, all},
		{"and", []Filter{{Name: "service-id", Values: []string{s1.ID}}, {Name: "vpc-endpoint-owner", Values: []string{netAcctB}}}, []VpcEndpointConnection{conn(s1, epB)}},
	}
	for _, tt := range tests {
		got := describe(DescribeVpcEndpointConnectionsInput{Filters: tt.filters})
		if diff := cmp.Diff(tt.want, got.VpcEndpointConnections); diff != "" {
			t.Errorf("%s: mismatch (-want +got):\n%s", tt.name, diff)
		}
	}

	// Paging: five at most per page; with six endpoints, 5 then 1.
	for range 3 {
		e.endpoint(t, netAcctB, s2, model.EndpointAvailable)
	}
	p1 := describe(DescribeVpcEndpointConnectionsInput{Page: Page{MaxResults: 5}})
	p2 := describe(DescribeVpcEndpointConnectionsInput{Page: Page{MaxResults: 5, NextToken: p1.NextToken}})
	if len(p1.VpcEndpointConnections) != 5 || p1.NextToken == "" || len(p2.VpcEndpointConnections) != 1 || p2.NextToken != "" {
		t.Errorf("pages of %d (next %q) and %d (next %q), want 5 and 1",
			len(p1.VpcEndpointConnections), p1.NextToken, len(p2.VpcEndpointConnections), p2.NextToken)
	}
	seen := map[string]bool{}
	for _, c := range append(p1.VpcEndpointConnections, p2.VpcEndpointConnections...) {
		seen[c.VpcEndpointID] = true
	}
	if len(seen) != 6 {
		t.Errorf("the pages hold %d distinct endpoints, want 6", len(seen))
	}

	runPvdBadCalls(t, e.st, []pvdBadCall{
		{"unknown filter", func() error {
			_, err := e.s.DescribeVpcEndpointConnections(ctx, netAcctA, DescribeVpcEndpointConnectionsInput{Filters: []Filter{{Name: "vpc-id", Values: []string{"x"}}}})
			return err
		}, "InvalidParameterValue", 0},
		{"2 results", func() error {
			_, err := e.s.DescribeVpcEndpointConnections(ctx, netAcctA, DescribeVpcEndpointConnectionsInput{Page: Page{MaxResults: 2}})
			return err
		}, "InvalidParameterValue", 0},
		{"dry run", func() error {
			_, err := e.s.DescribeVpcEndpointConnections(ctx, netAcctA, DescribeVpcEndpointConnectionsInput{DryRun: true})
			return err
		}, "DryRunOperation", http.StatusPreconditionFailed},
	})
}

// filterConns keeps the connections of the endpoints ids, in order.
func filterConns(all []VpcEndpointConnection, ids ...string) []VpcEndpointConnection {
	var out []VpcEndpointConnection
	for _, c := range all {
		for _, id := range ids {
			if c.VpcEndpointID == id {
				out = append(out, c)
			}
		}
	}
	return out
}

func TestAcceptRejectVpcEndpointConnections(t *testing.T) {
	e := newPvdEnv(t)
	ctx := t.Context()
	svc := e.service(t, func(in *CreateVpcEndpointServiceConfigurationInput) { in.AcceptanceRequired = new(true) }, e.nlbAB)
	other := e.service(t, nil, e.nlbC)
	waiting := e.endpoint(t, netAcctB, svc, model.EndpointPendingAcceptance)
	waiting2 := e.endpoint(t, netAcctA, svc, model.EndpointPendingAcceptance)
	live := e.endpoint(t, netAcctB, svc, model.EndpointAvailable)
	deleting := e.endpoint(t, netAcctB, svc, model.EndpointDeleting)
	elsewhere := e.endpoint(t, netAcctB, other, model.EndpointPendingAcceptance)
	missing := model.NewID(model.PrefixVpcEndpoint)

	accept := func(ids ...string) []UnsuccessfulItem {
		t.Helper()
		items, err := e.s.AcceptVpcEndpointConnections(ctx, netAcctA, VpcEndpointConnectionsInput{ServiceID: svc.ID, VpcEndpointIDs: ids})
		if err != nil {
			t.Fatalf("Accept(%v): %v", ids, err)
		}
		return items
	}
	reject := func(ids ...string) []UnsuccessfulItem {
		t.Helper()
		items, err := e.s.RejectVpcEndpointConnections(ctx, netAcctA, VpcEndpointConnectionsInput{ServiceID: svc.ID, VpcEndpointIDs: ids})
		if err != nil {
			t.Fatalf("Reject(%v): %v", ids, err)
		}
		return items
	}
	notFound := func(id string) UnsuccessfulItem {
		return UnsuccessfulItem{ResourceID: id, Code: "InvalidVpcEndpoint.NotFound", Message: fmt.Sprintf("The Vpc Endpoint Id '%s' does not exist", id)}
	}
	badState := func(id, state, verb string) UnsuccessfulItem {
		return UnsuccessfulItem{ResourceID: id, Code: "InvalidStateTransition",
			Message: fmt.Sprintf("The VPC endpoint %s is in state %s and cannot be %s.", id, state, verb)}
	}

	// Accept: pendingAcceptance → pending, of any consumer account; the
	// rest fail one by one, and the call succeeds.
	items := accept(waiting.ID, live.ID, elsewhere.ID, missing, waiting2.ID, deleting.ID, waiting.ID)
	want := []UnsuccessfulItem{
		badState(live.ID, "available", "accepted"),
		notFound(elsewhere.ID),
		notFound(missing),
		badState(deleting.ID, "deleting", "accepted"),
	}
	if diff := cmp.Diff(want, items); diff != "" {
		t.Errorf("Accept unsuccessful mismatch (-want +got):\n%s", diff)
	}
	for ep, state := range map[*model.VpcEndpoint]string{
		waiting: model.EndpointPending, waiting2: model.EndpointPending, live: model.EndpointAvailable,
		deleting: model.EndpointDeleting, elsewhere: model.EndpointPendingAcceptance,
	} {
		if got := e.endpointState(t, ep); got != state {
			t.Errorf("after Accept, %s is %q, want %q", ep.ID, got, state)
		}
	}
	// Accepting again: it is pending now, not waiting.
	if diff := cmp.Diff([]UnsuccessfulItem{badState(waiting.ID, "pending", "accepted")}, accept(waiting.ID)); diff != "" {
		t.Errorf("second Accept mismatch (-want +got):\n%s", diff)
	}

	// Reject: from pending, available and pendingAcceptance.
	waiting3 := e.endpoint(t, netAcctB, svc, model.EndpointPendingAcceptance)
	items = reject(waiting.ID, live.ID, waiting3.ID, deleting.ID, elsewhere.ID)
	want = []UnsuccessfulItem{badState(deleting.ID, "deleting", "rejected"), notFound(elsewhere.ID)}
	if diff := cmp.Diff(want, items); diff != "" {
		t.Errorf("Reject unsuccessful mismatch (-want +got):\n%s", diff)
	}
	for _, ep := range []*model.VpcEndpoint{waiting, live, waiting3} {
		if got := e.endpointState(t, ep); got != model.EndpointRejected {
			t.Errorf("after Reject, %s is %q, want rejected", ep.ID, got)
		}
	}
	// A rejected endpoint can be neither rejected nor accepted again.
	if diff := cmp.Diff([]UnsuccessfulItem{badState(live.ID, "rejected", "rejected")}, reject(live.ID)); diff != "" {
		t.Errorf("second Reject mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]UnsuccessfulItem{badState(live.ID, "rejected", "accepted")}, accept(live.ID)); diff != "" {
		t.Errorf("Accept of a rejected endpoint mismatch (-want +got):\n%s", diff)
	}
	// The record is still the consumer's, with its index entry.
	conns, err := e.s.DescribeVpcEndpointConnections(ctx, netAcctA, DescribeVpcEndpointConnectionsInput{
		Filters: []Filter{{Name: "vpc-endpoint-id", Values: []string{live.ID}}},
	})
	if err != nil || len(conns.VpcEndpointConnections) != 1 || conns.VpcEndpointConnections[0].VpcEndpointState != model.EndpointRejected {
		t.Errorf("connection of the rejected endpoint = %+v, %v", conns.VpcEndpointConnections, err)
	}

	waiting4 := e.endpoint(t, netAcctB, svc, model.EndpointPendingAcceptance)
	runPvdBadCalls(t, e.st, []pvdBadCall{
		{"accept without a service", func() error {
			_, err := e.s.AcceptVpcEndpointConnections(ctx, netAcctA, VpcEndpointConnectionsInput{VpcEndpointIDs: []string{waiting4.ID}})
			return err
		}, "MissingParameter", 0},
		{"accept without endpoints", func() error {
			_, err := e.s.AcceptVpcEndpointConnections(ctx, netAcctA, VpcEndpointConnectionsInput{ServiceID: svc.ID})
			return err
		}, "MissingParameter", 0},
		{"accept on an unknown service", func() error {
			_, err := e.s.AcceptVpcEndpointConnections(ctx, netAcctA, VpcEndpointConnectionsInput{ServiceID: model.NewID(model.PrefixVpcEndpointService), VpcEndpointIDs: []string{waiting4.ID}})
			return err
		}, "InvalidVpcEndpointServiceId.NotFound", 0},
		{"accept a malformed endpoint", func() error {
			_, err := e.s.AcceptVpcEndpointConnections(ctx, netAcctA, VpcEndpointConnectionsInput{ServiceID: svc.ID, VpcEndpointIDs: []string{waiting4.ID, "vpce-1"}})
			return err
		}, "InvalidVpcEndpointId.Malformed", 0},
		{"accept dry run", func() error {
			_, err := e.s.AcceptVpcEndpointConnections(ctx, netAcctA, VpcEndpointConnectionsInput{ServiceID: svc.ID, VpcEndpointIDs: []string{waiting4.ID}, DryRun: true})
			return err
		}, "DryRunOperation", http.StatusPreconditionFailed},
		{"reject dry run", func() error {
			_, err := e.s.RejectVpcEndpointConnections(ctx, netAcctA, VpcEndpointConnectionsInput{ServiceID: svc.ID, VpcEndpointIDs: []string{waiting4.ID}, DryRun: true})
			return err
		}, "DryRunOperation", http.StatusPreconditionFailed},
	})
	if got := e.endpointState(t, waiting4); got != model.EndpointPendingAcceptance {
		t.Errorf("after bad calls, %s is %q, want pendingAcceptance", waiting4.ID, got)
	}
}
