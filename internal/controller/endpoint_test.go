package controller

import (
	"maps"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/privlink/privlink/internal/controlplane"
	"github.com/privlink/privlink/internal/model"
)

// endpointSnapshot is elbSnapshot's load balancer published as a service
// with a verified private DNS name, and a consumer endpoint in vpc-2 with
// ENIs in zones a (10.0.1.50) and b (10.0.2.50), in the given state.
func endpointSnapshot(t0 time.Time, state string, tweak func(*controlplane.NetworkSnapshot)) controlplane.NetworkSnapshot {
	return elbSnapshot(t0, func(s *controlplane.NetworkSnapshot) {
		s.EndpointServices = []model.EndpointService{{
			ID: "vpce-svc-1", OwnerID: "000000000000", NetworkLoadBalancerARNs: []string{testLBARN},
			PrivateDNSName: "api.example.com", PrivateDNS: &model.PrivateDNSNameState{State: model.DNSVerified},
		}}
		s.VpcEndpoints = []model.VpcEndpoint{{
			ID: "vpce-1", OwnerID: "111111111111", VpcID: "vpc-2", ServiceID: "vpce-svc-1", State: state,
			DNSLabel: "vpce-1-abcdefgh", PrivateDNSEnabled: true,
			ENIs: []model.EndpointENI{
				{SubnetID: "subnet-a", AvailabilityZone: "us-east-1a", ENIID: "eni-ea", PrivateIP: "10.0.1.50"},
				{SubnetID: "subnet-b", AvailabilityZone: "us-east-1b", ENIID: "eni-eb", PrivateIP: "10.0.2.50"},
			},
		}}
		s.ENIs = []model.NetworkInterface{{ID: "eni-ea"}, {ID: "eni-eb"}}
		if tweak != nil {
			tweak(s)
		}
	})
}

func TestBuildEndpoints(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	now := t0.Add(time.Minute)
	ea, eb := testLnARN+"@eni-ea", testLnARN+"@eni-eb"
	const regional = "vpce-1-abcdefgh.vpce-svc-1.us-east-1.vpce.amazonaws.com."
	tests := []struct {
		name     string
		state    string
		tweak    func(*controlplane.NetworkSnapshot)
		kernelOK bool
		hosted   func(string) bool
		want     map[string][]string // endpoint listeners only
		regional []string
		cname    bool
		up, gone bool
	}{
		{
			name: "pending: listeners up, then available", state: model.EndpointPending, kernelOK: true,
			want:     map[string][]string{ea: {"10.0.1.20:8080 healthy"}, eb: {"10.0.2.20:8080 unhealthy"}},
			regional: []string{"10.0.1.50"}, cname: true, up: true,
		},
		{
			name: "available: no progress to report", state: model.EndpointAvailable, kernelOK: true,
			want:     map[string][]string{ea: {"10.0.1.20:8080 healthy"}, eb: {"10.0.2.20:8080 unhealthy"}},
			regional: []string{"10.0.1.50"}, cname: true,
		},
		{
			name: "pending with an ENI not up yet", state: model.EndpointPending, kernelOK: true,
			hosted:   func(eni string) bool { return eni != "eni-eb" },
			want:     map[string][]string{ea: {"10.0.1.20:8080 healthy"}},
			regional: []string{"10.0.1.50"}, cname: true,
		},
		{
			name: "pendingAcceptance: names but nothing listens", state: model.EndpointPendingAcceptance, kernelOK: true,
			want: map[string][]string{}, regional: []string{"10.0.1.50", "10.0.2.50"}, cname: true,
		},
		{
			name: "rejected: nothing listens", state: model.EndpointRejected, kernelOK: true,
			want: map[string][]string{}, regional: []string{"10.0.1.50", "10.0.2.50"}, cname: true,
		},
		{
			name: "unverified private DNS name: no CNAME", state: model.EndpointAvailable, kernelOK: true,
			tweak: func(s *controlplane.NetworkSnapshot) {
				s.EndpointServices[0].PrivateDNS = &model.PrivateDNSNameState{State: model.DNSPendingVerification}
			},
			want:     map[string][]string{ea: {"10.0.1.20:8080 healthy"}, eb: {"10.0.2.20:8080 unhealthy"}},
			regional: []string{"10.0.1.50"},
		},
		{
			name: "deleting with its ENIs gone", state: model.EndpointDeleting, kernelOK: true,
			tweak: func(s *controlplane.NetworkSnapshot) { s.ENIs = nil },
			want:  map[string][]string{}, gone: true,
		},
		{
			name: "deleting, but the data plane failed", state: model.EndpointDeleting,
			tweak: func(s *controlplane.NetworkSnapshot) { s.ENIs = nil },
			want:  map[string][]string{},
		},
		{
			name: "deleting while an ENI remains", state: model.EndpointDeleting, kernelOK: true,
			tweak: func(s *controlplane.NetworkSnapshot) { s.ENIs = s.ENIs[:1] },
			want:  map[string][]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hosted := tt.hosted
			if hosted == nil {
				hosted = func(string) bool { return tt.kernelOK }
			}
			d := buildELB("plk-", "us-east-1", now, endpointSnapshot(t0, tt.state, tt.tweak), tt.kernelOK, hosted)
			got := backends(d.table)
			delete(got, testLnARN+"@eni-a")
			delete(got, testLnARN+"@eni-b")
			if !maps.EqualFunc(got, tt.want, slices.Equal) {
				t.Errorf("endpoint listeners = %v, want %v", got, tt.want)
			}
			var regionalAddrs []string
			names := d.vpcNames("vpc-2")
			for _, a := range names.A[regional] {
				regionalAddrs = append(regionalAddrs, a.String())
			}
			if !slices.Equal(regionalAddrs, tt.regional) {
				t.Errorf("regional name answers %v, want %v", regionalAddrs, tt.regional)
			}
			if tt.regional != nil {
				if got := names.A["vpce-1-abcdefgh-us-east-1b.vpce-svc-1.us-east-1.vpce.amazonaws.com."]; !slices.Equal(got, []netip.Addr{netip.MustParseAddr("10.0.2.50")}) {
					t.Errorf("zonal name of b answers %v", got)
				}
			}
			if got := names.CNAME["api.example.com."] == regional; got != tt.cname {
				t.Errorf("private DNS CNAME present = %v, want %v (%v)", got, tt.cname, names.CNAME)
			}
			if got := len(d.endpointsUp) == 1; got != tt.up {
				t.Errorf("endpointsUp = %v, want one: %v", d.endpointsUp, tt.up)
			}
			if got := len(d.endpointsGone) == 1; got != tt.gone {
				t.Errorf("endpointsGone = %v, want one: %v", d.endpointsGone, tt.gone)
			}
		})
	}
}

func TestEndpointListener(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	d := buildELB("plk-", "us-east-1", t0.Add(time.Minute), endpointSnapshot(t0, model.EndpointAvailable, func(s *controlplane.NetworkSnapshot) {
		s.TargetGroups[0].Attributes[model.AttrProxyProtocolV2] = "true"
	}), true, func(string) bool { return true })
	for _, l := range d.table.Listeners {
		if l.Key != testLnARN+"@eni-ea" {
			continue
		}
		if l.Namespace != "plk-eni-ea" || l.Addr != netip.MustParseAddrPort("10.0.1.50:80") || l.EndpointID != "vpce-1" || !l.ProxyProtocol {
			t.Errorf("endpoint listener = %+v", l)
		}
		b := l.Backends[0]
		if b.Namespace != "plk-eni-a" || b.Source != netip.MustParseAddr("10.0.1.10") {
			t.Errorf("backend = %+v, want dialled from the zone's node", b)
		}
		return
	}
	t.Fatalf("no listener on the zone-a endpoint ENI: %+v", d.table.Listeners)
}
