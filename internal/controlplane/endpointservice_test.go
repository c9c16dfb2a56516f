package controlplane

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// What the provider tests share: pvdEnv is elbEnv with network load
// balancers to publish and a fake TXT resolver; endpoints of consumers are
// written straight into the store, standing in for CreateVpcEndpoint.

// pvdTXT is a TXTResolver over a map; lookups are recorded.
type pvdTXT struct {
	mu      sync.Mutex
	records map[string][]string
	errs    map[string]error
	asked   []string
	// during, if set, runs inside every lookup (to change the store while
	// the lookup runs).
	during func()
}

func (f *pvdTXT) LookupTXT(_ context.Context, name string) ([]string, error) {
	f.mu.Lock()
	f.asked = append(f.asked, name)
	during := f.during
	recs, err := f.records[name], f.errs[name]
	f.mu.Unlock()
	if during != nil {
		during()
	}
	return recs, err
}

func (f *pvdTXT) set(name string, values ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.records[name] = values
}

type pvdEnv struct {
	*elbEnv
	nlbAB   LoadBalancer // account A, zones a and b
	nlbC    LoadBalancer // account A, zone c
	nlbFree LoadBalancer // account A, zone a, in no service unless a test puts it in one
	foreign LoadBalancer // account B
	txt     *pvdTXT
}

func newPvdEnv(t *testing.T) *pvdEnv {
	t.Helper()
	e := &pvdEnv{elbEnv: newELBEnv(t), txt: &pvdTXT{records: map[string][]string{}, errs: map[string]error{}}}
	e.s.txt = e.txt
	e.nlbAB = lbtCreate(t, e.s, lbtInternal("nlb-ab", e.subnets[0].ID, e.subnets[1].ID))
	e.nlbC = lbtCreate(t, e.s, lbtInternal("nlb-c", e.subnets[2].ID))
	e.nlbFree = lbtCreate(t, e.s, lbtInternal("nlb-free", e.subnets[0].ID))
	var err error
	e.foreign, err = e.s.CreateLoadBalancer(t.Context(), netAcctB, lbtInternal("nlb-b", e.foreignSn.ID))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// service creates a service of account A over the load balancers, edited
// by edit.
func (e *pvdEnv) service(t *testing.T, edit func(*CreateVpcEndpointServiceConfigurationInput), lbs ...LoadBalancer) ServiceConfiguration {
	t.Helper()
	in := CreateVpcEndpointServiceConfigurationInput{}
	for _, lb := range lbs {
		in.NetworkLoadBalancerARNs = append(in.NetworkLoadBalancerARNs, lb.ARN)
	}
	if edit != nil {
		edit(&in)
	}
	out, err := e.s.CreateVpcEndpointServiceConfiguration(t.Context(), netAcctA, in)
	if err != nil {
		t.Fatalf("CreateVpcEndpointServiceConfiguration: %v", err)
	}
	return out.ServiceConfiguration
}

// stored reads a service of account A as stored; found is false if it is
// gone.
func (e *pvdEnv) stored(t *testing.T, id string) (*model.EndpointService, bool) {
	t.Helper()
	return getTestRecord[model.EndpointService](t, e.st, endpointServiceKey(netAcctA, id))
}

// endpoint writes an endpoint of owner to svc in state, with one ENI in
// zone a, as CreateVpcEndpoint would.
func (e *pvdEnv) endpoint(t *testing.T, owner string, svc ServiceConfiguration, state string) *model.VpcEndpoint {
	t.Helper()
	id := model.NewID(model.PrefixVpcEndpoint)
	ep := &model.VpcEndpoint{
		ID: id, OwnerID: owner, VpcID: model.NewID(model.PrefixVpc), Type: model.EndpointTypeInterface,
		ServiceID: svc.ID, ServiceOwnerID: svc.OwnerID, ServiceName: svc.Name, State: state,
		ConnectionID: model.NewID(model.PrefixVpcEndpointConnection),
		ENIs: []model.EndpointENI{{
			SubnetID: model.NewID(model.PrefixSubnet), AvailabilityZone: "us-east-1a", AvailabilityZoneID: "use1-az1",
			ENIID: model.NewID(model.PrefixNetworkInterface), PrivateIP: "10.9.1.10",
		}},
		IPAddressType: "ipv4", DNSRecordIPType: "ipv4", DNSLabel: id + "-abcd1234", Created: testEpoch,
	}
	_, err := e.st.Update(t.Context(), func(tx store.Tx) error { return putVpcEndpoint(tx, ep) })
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

// endpointState reads an endpoint's state as stored ("" if it is gone).
func (e *pvdEnv) endpointState(t *testing.T, ep *model.VpcEndpoint) string {
	t.Helper()
	got, found := getTestRecord[model.VpcEndpoint](t, e.st, vpcEndpointKey(ep.OwnerID, ep.ID))
	if !found {
		return ""
	}
	return got.State
}

// pvdBadCall is a row of a bad-input table: a call, the EC2 error code and
// HTTP status it must answer, and no write.
type pvdBadCall struct {
	name   string
	call   func() error
	code   string
	status int // 0 means 400
}

func runPvdBadCalls(t *testing.T, st store.Store, tests []pvdBadCall) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := netRev(t, st)
			status := tt.status
			if status == 0 {
				status = http.StatusBadRequest
			}
			wantNetErr(t, tt.call(), tt.code, status)
			if after := netRev(t, st); after != before {
				t.Errorf("store revision moved from %d to %d: a bad input wrote", before, after)
			}
		})
	}
}

var (
	pvdDNSNameRE  = regexp.MustCompile(`^_[a-z0-9]{20}$`)
	pvdDNSValueRE = regexp.MustCompile(`^vpce:[A-Za-z0-9]{20}$`)
)

func TestCreateVpcEndpointServiceConfiguration(t *testing.T) {
	e := newPvdEnv(t)
	ctx := t.Context()
	out, err := e.s.CreateVpcEndpointServiceConfiguration(ctx, netAcctA, CreateVpcEndpointServiceConfigurationInput{
		NetworkLoadBalancerARNs: []string{e.nlbAB.ARN, e.nlbAB.ARN},
		SupportedIPAddressTypes: []string{"ipv4"},
		SupportedRegions:        []string{"us-east-1"},
		TagSpecs:                []TagSpec{{ResourceType: "vpc-endpoint-service", Tags: []model.Tag{{Key: "team", Value: "core"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := out.ServiceConfiguration
	if !model.ValidID(model.PrefixVpcEndpointService, c.ID) {
		t.Fatalf("service id %q is not a vpce-svc id", c.ID)
	}
	want := ServiceConfiguration{
		EndpointService: model.EndpointService{
			ID: c.ID, OwnerID: netAcctA, Name: "com.amazonaws.vpce.us-east-1." + c.ID, State: model.ServiceAvailable,
			NetworkLoadBalancerARNs: []string{e.nlbAB.ARN}, SupportedIPAddressTypes: []string{"ipv4"},
			Tags: []model.Tag{{Key: "team", Value: "core"}}, Created: testEpoch,
		},
		AvailabilityZones:    []string{"us-east-1a", "us-east-1b"},
		AvailabilityZoneIDs:  []string{"use1-az1", "use1-az2"},
		BaseEndpointDNSNames: []string{c.ID + ".us-east-1.vpce.amazonaws.com"},
		SupportedRegions:     []SupportedRegion{{Region: "us-east-1", ServiceState: "Available"}},
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("CreateVpcEndpointServiceConfiguration() mismatch (-want +got):\n%s", diff)
	}
	if out.ClientToken != "" {
		t.Errorf("ClientToken = %q, want none", out.ClientToken)
	}

	// The name index finds it, and Describe answers the same.
	var byName *model.EndpointService
	err = e.st.View(ctx, func(tx store.ReadTx) error {
		var err error
		byName, _, err = serviceByName(tx, c.Name)
		return err
	})
	if err != nil || byName == nil || byName.ID != c.ID {
		t.Fatalf("serviceByName(%s) = %v, %v", c.Name, byName, err)
	}
	desc, err := e.s.DescribeVpcEndpointServiceConfigurations(ctx, netAcctA, DescribeVpcEndpointServiceConfigurationsInput{ServiceIDs: []string{c.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]ServiceConfiguration{want}, desc.ServiceConfigurations); diff != "" {
		t.Errorf("DescribeVpcEndpointServiceConfigurations() mismatch (-want +got):\n%s", diff)
	}

	// With a private DNS name and acceptance: a fresh TXT challenge.
	p := e.service(t, func(in *CreateVpcEndpointServiceConfigurationInput) {
		in.PrivateDNSName = "api.Example.com"
		in.AcceptanceRequired = new(true)
	}, e.nlbC)
	if !p.AcceptanceRequired || p.PrivateDNSName != "api.Example.com" || p.PrivateDNS == nil {
		t.Fatalf("service = %+v, want acceptance and a private DNS name", p.EndpointService)
	}
	if p.PrivateDNS.State != model.DNSPendingVerification || p.PrivateDNS.Type != "TXT" ||
		!pvdDNSNameRE.MatchString(p.PrivateDNS.Name) || !pvdDNSValueRE.MatchString(p.PrivateDNS.Value) {
		t.Errorf("PrivateDNS = %+v, want pendingVerification, TXT, _<20 [a-z0-9]>, vpce:<20 [A-Za-z0-9]>", *p.PrivateDNS)
	}
	if diff := cmp.Diff([]string{"us-east-1c"}, p.AvailabilityZones); diff != "" {
		t.Errorf("AvailabilityZones mismatch (-want +got):\n%s", diff)
	}

	// A dry run creates nothing.
	_, err = e.s.CreateVpcEndpointServiceConfiguration(ctx, netAcctA, CreateVpcEndpointServiceConfigurationInput{
		NetworkLoadBalancerARNs: []string{e.nlbFree.ARN}, DryRun: true,
	})
	wantNetErr(t, err, "DryRunOperation", http.StatusPreconditionFailed)
	if svc, err := serviceUsingLoadBalancerView(t, e, e.nlbFree.ARN); err != nil || svc != nil {
		t.Errorf("after a dry run, nlb-free is in service %v (%v)", svc, err)
	}
}

// serviceUsingLoadBalancerView runs serviceUsingLoadBalancer for account A.
func serviceUsingLoadBalancerView(t *testing.T, e *pvdEnv, arn string) (*model.EndpointService, error) {
	t.Helper()
	var svc *model.EndpointService
	err := e.st.View(t.Context(), func(tx store.ReadTx) error {
		var err error
		svc, err = serviceUsingLoadBalancer(tx, netAcctA, arn)
		return err
	})
	return svc, err
}

func TestCreateVpcEndpointServiceConfigurationClientToken(t *testing.T) {
	e := newPvdEnv(t)
	ctx := t.Context()
	in := CreateVpcEndpointServiceConfigurationInput{NetworkLoadBalancerARNs: []string{e.nlbAB.ARN}, ClientToken: "tok-1"}
	first, err := e.s.CreateVpcEndpointServiceConfiguration(ctx, netAcctA, in)
	if err != nil {
		t.Fatal(err)
	}
	if first.ClientToken != "tok-1" || first.ServiceConfiguration.ClientToken != "tok-1" {
		t.Errorf("ClientToken = %q / %q, want tok-1", first.ClientToken, first.ServiceConfiguration.ClientToken)
	}
	again, err := e.s.CreateVpcEndpointServiceConfiguration(ctx, netAcctA, in)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("retry mismatch (-want +got):\n%s", diff)
	}
	other := in
	other.AcceptanceRequired = new(true)
	_, err = e.s.CreateVpcEndpointServiceConfiguration(ctx, netAcctA, other)
	wantNetErr(t, err, "IdempotentParameterMismatch", 400)
	// Tokens are per account: B's tok-1 is a new request.
	_, err = e.s.CreateVpcEndpointServiceConfiguration(ctx, netAcctB, CreateVpcEndpointServiceConfigurationInput{
		NetworkLoadBalancerARNs: []string{e.foreign.ARN}, ClientToken: "tok-1",
	})
	if err != nil {
		t.Errorf("account B with the same token: %v", err)
	}
	// Once the service is deleted, the token creates a new one.
	if items, err := e.s.DeleteVpcEndpointServiceConfigurations(ctx, netAcctA, DeleteVpcEndpointServiceConfigurationsInput{
		ServiceIDs: []string{first.ServiceConfiguration.ID},
	}); err != nil || len(items) != 0 {
		t.Fatalf("delete: %v, %v", items, err)
	}
	third, err := e.s.CreateVpcEndpointServiceConfiguration(ctx, netAcctA, in)
	if err != nil {
		t.Fatal(err)
	}
	if third.ServiceConfiguration.ID == first.ServiceConfiguration.ID {
		t.Error("the token of a deleted service returned the deleted service")
	}
}

func TestEndpointServiceBadInput(t *testing.T) {
	e := newPvdEnv(t)
	ctx := t.Context()
	svc := e.service(t, nil, e.nlbAB)
	svcDNS := e.service(t, func(in *CreateVpcEndpointServiceConfigurationInput) { in.PrivateDNSName = "svc.example.com" }, e.nlbC)
	foreignSvc, err := e.s.CreateVpcEndpointServiceConfiguration(ctx, netAcctB, CreateVpcEndpointServiceConfigurationInput{
		NetworkLoadBalancerARNs: []string{e.foreign.ARN},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.endpoint(t, netAcctB, svcDNS, model.EndpointAvailable)
	missingID := model.NewID(model.PrefixVpcEndpointService)
	lbARN := func(name, id string) string {
		return "arn:aws:elasticloadbalancing:us-east-1:" + netAcctA + ":loadbalancer/" + name + "/" + id
	}

	create := func(edit func(*CreateVpcEndpointServiceConfigurationInput)) func() error {
		return func() error {
			in := CreateVpcEndpointServiceConfigurationInput{NetworkLoadBalancerARNs: []string{e.nlbFree.ARN}}
			edit(&in)
			_, err := e.s.CreateVpcEndpointServiceConfiguration(ctx, netAcctA, in)
			return err
		}
	}
	withDNS := func(name string) func() error {
		return create(func(in *CreateVpcEndpointServiceConfigurationInput) { in.PrivateDNSName = name })
	}
	describe := func(account string, in DescribeVpcEndpointServiceConfigurationsInput) func() error {
		return func() error {
			_, err := e.s.DescribeVpcEndpointServiceConfigurations(ctx, account, in)
			return err
		}
	}
	modify := func(account string, in ModifyVpcEndpointServiceConfigurationInput) func() error {
		return func() error {
			if in.ServiceID == "-" {
				in.ServiceID = ""
			} else if in.ServiceID == "" {
				in.ServiceID = svc.ID
			}
			return e.s.ModifyVpcEndpointServiceConfiguration(ctx, account, in)
		}
	}
	deleteSvc := func(account string, ids ...string) func() error {
		return func() error {
			_, err := e.s.DeleteVpcEndpointServiceConfigurations(ctx, account, DeleteVpcEndpointServiceConfigurationsInput{ServiceIDs: ids})
			return err
		}
	}
	permit := func(account, serviceID string, add ...string) func() error {
		return func() error {
			_, err := e.s.ModifyVpcEndpointServicePermissions(ctx, account, ModifyVpcEndpointServicePermissionsInput{ServiceID: serviceID, AddAllowedPrincipals: add})
			return err
		}
	}
	unpermit := func(remove string) func() error {
		return func() error {
			_, err := e.s.ModifyVpcEndpointServicePermissions(ctx, netAcctA, ModifyVpcEndpointServicePermissionsInput{ServiceID: svc.ID, RemoveAllowedPrincipals: []string{remove}})
			return err
		}
	}
	permissions := func(account string, in DescribeVpcEndpointServicePermissionsInput) func() error {
		return func() error {
			_, err := e.s.DescribeVpcEndpointServicePermissions(ctx, account, in)
			return err
		}
	}
	payer := func(account, serviceID, value string) func() error {
		return func() error {
			return e.s.ModifyVpcEndpointServicePayerResponsibility(ctx, account, ModifyVpcEndpointServicePayerResponsibilityInput{ServiceID: serviceID, PayerResponsibility: value})
		}
	}
	verify := func(account, serviceID string, dryRun bool) func() error {
		return func() error {
			return e.s.StartVpcEndpointServicePrivateDNSVerification(ctx, account, StartVpcEndpointServicePrivateDNSVerificationInput{ServiceID: serviceID, DryRun: dryRun})
		}
	}

	runPvdBadCalls(t, e.st, []pvdBadCall{
		// CreateVpcEndpointServiceConfiguration.
		{"create without a load balancer", create(func(in *CreateVpcEndpointServiceConfigurationInput) { in.NetworkLoadBalancerARNs = nil }), "InvalidParameter", 0},
		{"create with both kinds", create(func(in *CreateVpcEndpointServiceConfigurationInput) {
			in.GatewayLoadBalancerARNs = []string{lbARN("gwy/g", "0123456789abcdef")}
		}), "InvalidParameter", 0},
		{"create with a gateway load balancer", create(func(in *CreateVpcEndpointServiceConfigurationInput) {
			in.NetworkLoadBalancerARNs, in.GatewayLoadBalancerARNs = nil, []string{lbARN("gwy/g", "0123456789abcdef")}
		}), "InvalidParameter", 0},
		{"create with an ALB ARN", create(func(in *CreateVpcEndpointServiceConfigurationInput) {
			in.NetworkLoadBalancerARNs = []string{lbARN("app/a", "0123456789abcdef")}
		}), "InvalidNetworkLoadBalancerArn.Malformed", 0},
		{"create with a non-ARN", create(func(in *CreateVpcEndpointServiceConfigurationInput) { in.NetworkLoadBalancerARNs = []string{"nlb-ab"} }), "InvalidNetworkLoadBalancerArn.Malformed", 0},
		{"create with a target group ARN", create(func(in *CreateVpcEndpointServiceConfigurationInput) {
			in.NetworkLoadBalancerARNs = []string{"arn:aws:elasticloadbalancing:us-east-1:" + netAcctA + ":targetgroup/t/0123456789abcdef"}
		}), "InvalidNetworkLoadBalancerArn.Malformed", 0},
		{"create with an unknown load balancer", create(func(in *CreateVpcEndpointServiceConfigurationInput) {
			in.NetworkLoadBalancerARNs = []string{lbARN("net/nope", "0123456789abcdef")}
		}), "InvalidNetworkLoadBalancerArn.NotFound", 0},
		{"create with another account's load balancer", create(func(in *CreateVpcEndpointServiceConfigurationInput) {
			in.NetworkLoadBalancerARNs = []string{e.foreign.ARN}
		}), "InvalidNetworkLoadBalancerArn.NotFound", 0},
		{"create with a load balancer in use", create(func(in *CreateVpcEndpointServiceConfigurationInput) {
			in.NetworkLoadBalancerARNs = []string{e.nlbAB.ARN}
		}), "InvalidParameter", 0},
		{"create with ipv6", create(func(in *CreateVpcEndpointServiceConfigurationInput) {
			in.SupportedIPAddressTypes = []string{"ipv4", "ipv6"}
		}), "InvalidParameter", 0},
		{"create with ipv5", create(func(in *CreateVpcEndpointServiceConfigurationInput) { in.SupportedIPAddressTypes = []string{"ipv5"} }), "InvalidParameterValue", 0},
		{"create in another region", create(func(in *CreateVpcEndpointServiceConfigurationInput) {
			in.SupportedRegions = []string{"us-east-1", "eu-west-1"}
		}), "InvalidParameter", 0},
		{"create with a one-label name", withDNS("localhost"), "InvalidParameterValue", 0},
		{"create with an underscore", withDNS("my_svc.example.com"), "InvalidParameterValue", 0},
		{"create with a leading hyphen", withDNS("-svc.example.com"), "InvalidParameterValue", 0},
		{"create with an empty label", withDNS("svc..example.com"), "InvalidParameterValue", 0},
		{"create with a 64-character label", withDNS(strings.Repeat("a", 64) + ".example.com"), "InvalidParameterValue", 0},
		{"create with a 256-character name", withDNS(strings.Repeat(strings.Repeat("a", 50)+".", 5) + "example.com"), "InvalidParameterValue", 0},
		{"create with a wildcard", withDNS("*.example.com"), "InvalidParameterValue", 0},
		{"create tagging a vpc", create(func(in *CreateVpcEndpointServiceConfigurationInput) {
			in.TagSpecs = []TagSpec{{ResourceType: "vpc", Tags: []model.Tag{{Key: "k"}}}}
		}), "InvalidParameterValue", 0},
		{"create with a 65-character token", create(func(in *CreateVpcEndpointServiceConfigurationInput) { in.ClientToken = strings.Repeat("t", 65) }), "InvalidParameterValue", 0},
		{"create dry run", create(func(in *CreateVpcEndpointServiceConfigurationInput) { in.DryRun = true }), "DryRunOperation", http.StatusPreconditionFailed},

		// DescribeVpcEndpointServiceConfigurations.
		{"describe a malformed id", describe(netAcctA, DescribeVpcEndpointServiceConfigurationsInput{ServiceIDs: []string{"vpce-svc-xyz"}}), "InvalidVpcEndpointServiceId.Malformed", 0},
		{"describe an unknown id", describe(netAcctA, DescribeVpcEndpointServiceConfigurationsInput{ServiceIDs: []string{svc.ID, missingID}}), "InvalidVpcEndpointServiceId.NotFound", 0},
		{"describe another account's service", describe(netAcctB, DescribeVpcEndpointServiceConfigurationsInput{ServiceIDs: []string{svc.ID}}), "InvalidVpcEndpointServiceId.NotFound", 0},
		{"describe with an unknown filter", describe(netAcctA, DescribeVpcEndpointServiceConfigurationsInput{Filters: []Filter{{Name: "vpc-id", Values: []string{"x"}}}}), "InvalidParameterValue", 0},
		{"describe 4 results", describe(netAcctA, DescribeVpcEndpointServiceConfigurationsInput{Page: Page{MaxResults: 4}}), "InvalidParameterValue", 0},
		{"describe with a bad token", describe(netAcctA, DescribeVpcEndpointServiceConfigurationsInput{Page: Page{NextToken: "!!"}}), "InvalidParameterValue", 0},

		// ModifyVpcEndpointServiceConfiguration.
		{"modify without a service", modify(netAcctA, ModifyVpcEndpointServiceConfigurationInput{ServiceID: "-"}), "MissingParameter", 0},
		{"modify a malformed service", modify(netAcctA, ModifyVpcEndpointServiceConfigurationInput{ServiceID: "svc-1"}), "InvalidVpcEndpointServiceId.Malformed", 0},
		{"modify another account's service", modify(netAcctB, ModifyVpcEndpointServiceConfigurationInput{AcceptanceRequired: new(true)}), "InvalidVpcEndpointServiceId.NotFound", 0},
		{"modify name and remove name", modify(netAcctA, ModifyVpcEndpointServiceConfigurationInput{PrivateDNSName: new("a.example.com"), RemovePrivateDNSName: true}), "InvalidParameterCombination", 0},
		{"modify to a bad name", modify(netAcctA, ModifyVpcEndpointServiceConfigurationInput{PrivateDNSName: new("example")}), "InvalidParameterValue", 0},
		{"modify adding a gateway load balancer", modify(netAcctA, ModifyVpcEndpointServiceConfigurationInput{AddGatewayLoadBalancerARNs: []string{lbARN("gwy/g", "0123456789abcdef")}}), "InvalidParameter", 0},
		{"modify removing a gateway load balancer", modify(netAcctA, ModifyVpcEndpointServiceConfigurationInput{RemoveGatewayLoadBalancerARNs: []string{lbARN("gwy/g", "0123456789abcdef")}}), "InvalidParameter", 0},
		{"modify removing the last load balancer", modify(netAcctA, ModifyVpcEndpointServiceConfigurationInput{RemoveNetworkLoadBalancerARNs: []string{e.nlbAB.ARN}}), "InvalidParameter", 0},
		{"modify removing a load balancer it lacks", modify(netAcctA, ModifyVpcEndpointServiceConfigurationInput{RemoveNetworkLoadBalancerARNs: []string{e.nlbFree.ARN}}), "InvalidParameter", 0},
		{"modify adding and removing one load balancer", modify(netAcctA, ModifyVpcEndpointServiceConfigurationInput{
			AddNetworkLoadBalancerARNs: []string{e.nlbFree.ARN}, RemoveNetworkLoadBalancerARNs: []string{e.nlbFree.ARN},
		}), "InvalidParameterCombination", 0},
		{"modify adding a load balancer in use", modify(netAcctA, ModifyVpcEndpointServiceConfigurationInput{AddNetworkLoadBalancerARNs: []string{e.nlbC.ARN}}), "InvalidParameter", 0},
		{"modify adding a malformed load balancer", modify(netAcctA, ModifyVpcEndpointServiceConfigurationInput{AddNetworkLoadBalancerARNs: []string{"x"}}), "InvalidNetworkLoadBalancerArn.Malformed", 0},
		{"modify adding another account's load balancer", modify(netAcctA, ModifyVpcEndpointServiceConfigurationInput{AddNetworkLoadBalancerARNs: []string{e.foreign.ARN}}), "InvalidNetworkLoadBalancerArn.NotFound", 0},
		{"modify removing a load balancer with endpoints attached", modify(netAcctA, ModifyVpcEndpointServiceConfigurationInput{
			ServiceID: svcDNS.ID, AddNetworkLoadBalancerARNs: []string{e.nlbFree.ARN}, RemoveNetworkLoadBalancerARNs: []string{e.nlbC.ARN},
		}), "ExistingVpcEndpointConnections", 0},
		{"modify adding ipv6", modify(netAcctA, ModifyVpcEndpointServiceConfigurationInput{AddSupportedIPAddressTypes: []string{"ipv6"}}), "InvalidParameter", 0},
		{"modify adding ipv5", modify(netAcctA, ModifyVpcEndpointServiceConfigurationInput{AddSupportedIPAddressTypes: []string{"ipv5"}}), "InvalidParameterValue", 0},
		{"modify removing ipv4", modify(netAcctA, ModifyVpcEndpointServiceConfigurationInput{RemoveSupportedIPAddressTypes: []string{"ipv4"}}), "InvalidParameter", 0},
		{"modify removing ipv5", modify(netAcctA, ModifyVpcEndpointServiceConfigurationInput{RemoveSupportedIPAddressTypes: []string{"ipv5"}}), "InvalidParameterValue", 0},
		{"modify adding a region", modify(netAcctA, ModifyVpcEndpointServiceConfigurationInput{AddSupportedRegions: []string{"us-west-2"}}), "InvalidParameter", 0},
		{"modify removing its region", modify(netAcctA, ModifyVpcEndpointServiceConfigurationInput{RemoveSupportedRegions: []string{"us-east-1"}}), "InvalidParameter", 0},
		{"modify removing another region", modify(netAcctA, ModifyVpcEndpointServiceConfigurationInput{RemoveSupportedRegions: []string{"us-west-2"}}), "InvalidParameter", 0},
		{"modify dry run", modify(netAcctA, ModifyVpcEndpointServiceConfigurationInput{AcceptanceRequired: new(true), DryRun: true}), "DryRunOperation", http.StatusPreconditionFailed},

		// DeleteVpcEndpointServiceConfigurations.
		{"delete nothing", deleteSvc(netAcctA), "MissingParameter", 0},
		{"delete a malformed id", deleteSvc(netAcctA, svc.ID, "vpce-svc-1"), "InvalidVpcEndpointServiceId.Malformed", 0},
		{"delete dry run", func() error {
			_, err := e.s.DeleteVpcEndpointServiceConfigurations(ctx, netAcctA, DeleteVpcEndpointServiceConfigurationsInput{ServiceIDs: []string{svc.ID}, DryRun: true})
			return err
		}, "DryRunOperation", http.StatusPreconditionFailed},

		// ModifyVpcEndpointServicePermissions.
		{"permit without a service", permit(netAcctA, "", "*"), "MissingParameter", 0},
		{"permit on another account's service", permit(netAcctB, svc.ID, "*"), "InvalidVpcEndpointServiceId.NotFound", 0},
		{"permit an account id", permit(netAcctA, svc.ID, netAcctB), "InvalidPrincipal", 0},
		{"permit a short account", permit(netAcctA, svc.ID, "arn:aws:iam::1234:root"), "InvalidPrincipal", 0},
		{"permit a path", permit(netAcctA, svc.ID, "arn:aws:iam::"+netAcctB+":role/path/app"), "InvalidPrincipal", 0},
		{"permit a group", permit(netAcctA, svc.ID, "arn:aws:iam::"+netAcctB+":group/admins"), "InvalidPrincipal", 0},
		{"permit an assumed role", permit(netAcctA, svc.ID, "arn:aws:sts::"+netAcctB+":assumed-role/r/s"), "InvalidPrincipal", 0},
		{"permit a user without a name", permit(netAcctA, svc.ID, "arn:aws:iam::"+netAcctB+":user/"), "InvalidPrincipal", 0},
		{"permit a service principal", permit(netAcctA, svc.ID, "ec2.amazonaws.com"), "InvalidPrincipal", 0},
		{"permit one good and one bad", permit(netAcctA, svc.ID, "*", "nobody"), "InvalidPrincipal", 0},
		{"unpermit a bad principal", unpermit("arn:aws:iam::1:root"), "InvalidPrincipal", 0},
		{"permit dry run", func() error {
			_, err := e.s.ModifyVpcEndpointServicePermissions(ctx, netAcctA, ModifyVpcEndpointServicePermissionsInput{ServiceID: svc.ID, AddAllowedPrincipals: []string{"*"}, DryRun: true})
			return err
		}, "DryRunOperation", http.StatusPreconditionFailed},

		// DescribeVpcEndpointServicePermissions.
		{"permissions without a service", permissions(netAcctA, DescribeVpcEndpointServicePermissionsInput{}), "MissingParameter", 0},
		{"permissions of another account's service", permissions(netAcctB, DescribeVpcEndpointServicePermissionsInput{ServiceID: svc.ID}), "InvalidVpcEndpointServiceId.NotFound", 0},
		{"permissions with an unknown filter", permissions(netAcctA, DescribeVpcEndpointServicePermissionsInput{ServiceID: svc.ID, Filters: []Filter{{Name: "account", Values: []string{"x"}}}}), "InvalidParameterValue", 0},
		{"permissions 3 results", permissions(netAcctA, DescribeVpcEndpointServicePermissionsInput{ServiceID: svc.ID, Page: Page{MaxResults: 3}}), "InvalidParameterValue", 0},

		// ModifyVpcEndpointServicePayerResponsibility.
		{"payer without a service", payer(netAcctA, "", PayerServiceOwner), "MissingParameter", 0},
		{"payer without a value", payer(netAcctA, svc.ID, ""), "MissingParameter", 0},
		{"payer endpoint owner", payer(netAcctA, svc.ID, "EndpointOwner"), "InvalidParameterValue", 0},
		{"payer of another account's service", payer(netAcctB, svc.ID, PayerServiceOwner), "InvalidVpcEndpointServiceId.NotFound", 0},

		// StartVpcEndpointServicePrivateDnsVerification.
		{"verify without a service", verify(netAcctA, "", false), "MissingParameter", 0},
		{"verify a service without a name", verify(netAcctA, svc.ID, false), "InvalidParameter", 0},
		{"verify another account's service", verify(netAcctB, svcDNS.ID, false), "InvalidVpcEndpointServiceId.NotFound", 0},
		{"verify dry run", verify(netAcctA, svcDNS.ID, true), "DryRunOperation", http.StatusPreconditionFailed},
		{"verify B's service as A", verify(netAcctA, foreignSvc.ServiceConfiguration.ID, false), "InvalidVpcEndpointServiceId.NotFound", 0},
	})
	if got := e.txt.asked; len(got) != 0 {
		t.Errorf("bad verification calls looked up %q", got)
	}
}

func TestDescribeVpcEndpointServiceConfigurations(t *testing.T) {
	e := newPvdEnv(t)
	ctx := t.Context()
	a := e.service(t, func(in *CreateVpcEndpointServiceConfigurationInput) {
		in.TagSpecs = []TagSpec{{ResourceType: "vpc-endpoint-service", Tags: []model.Tag{{Key: "env", Value: "prod"}}}}
	}, e.nlbAB)
	b := e.service(t, nil, e.nlbC)
	c := e.service(t, nil, e.nlbFree)
	if _, err := e.s.CreateVpcEndpointServiceConfiguration(ctx, netAcctB, CreateVpcEndpointServiceConfigurationInput{
		NetworkLoadBalancerARNs: []string{e.foreign.ARN},
	}); err != nil {
		t.Fatal(err)
	}
	ids := func(in DescribeVpcEndpointServiceConfigurationsInput) []string {
		t.Helper()
		out, err := e.s.DescribeVpcEndpointServiceConfigurations(ctx, netAcctA, in)
		if err != nil {
			t.Fatalf("Describe(%+v): %v", in, err)
		}
		var got []string
		for _, c := range out.ServiceConfigurations {
			got = append(got, c.ID)
		}
		return got
	}
	all := []string{a.ID, b.ID, c.ID}
	slices.Sort(all)
	tests := []struct {
		name string
		in   DescribeVpcEndpointServiceConfigurationsInput
		want []string
	}{
		{"all of mine", DescribeVpcEndpointServiceConfigurationsInput{}, all},
		{"by id", DescribeVpcEndpointServiceConfigurationsInput{ServiceIDs: []string{b.ID, a.ID, b.ID}}, sortedIDs(a.ID, b.ID)},
		{"service-name", DescribeVpcEndpointServiceConfigurationsInput{Filters: []Filter{{Name: "service-name", Values: []string{b.Name}}}}, []string{b.ID}},
		{"service-id wildcard", DescribeVpcEndpointServiceConfigurationsInput{Filters: []Filter{{Name: "service-id", Values: []string{c.ID[:12] + "*"}}}}, []string{c.ID}},
		{"service-state", DescribeVpcEndpointServiceConfigurationsInput{Filters: []Filter{{Name: "service-state", Values: []string{"Available"}}}}, all},
		{"service-state none", DescribeVpcEndpointServiceConfigurationsInput{Filters: []Filter{{Name: "service-state", Values: []string{"Pending"}}}}, nil},
		{"ip types", DescribeVpcEndpointServiceConfigurationsInput{Filters: []Filter{{Name: "supported-ip-address-types", Values: []string{"ipv6"}}}}, nil},
		{"tag", DescribeVpcEndpointServiceConfigurationsInput{Filters: []Filter{{Name: "tag:env", Values: []string{"prod"}}}}, []string{a.ID}},
		{"tag-key", DescribeVpcEndpointServiceConfigurationsInput{Filters: []Filter{{Name: "tag-key", Values: []string{"env"}}}}, []string{a.ID}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, ids(tt.in)); diff != "" {
			t.Errorf("%s: mismatch (-want +got):\n%s", tt.name, diff)
		}
	}

	// Paging: 2 then 1, the token resumes after the last one returned.
	var got []string
	var token string
	for i := 0; ; i++ {
		out, err := e.s.DescribeVpcEndpointServiceConfigurations(ctx, netAcctA, DescribeVpcEndpointServiceConfigurationsInput{Page: Page{MaxResults: 5, NextToken: token}})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range out.ServiceConfigurations {
			got = append(got, c.ID)
		}
		if token = out.NextToken; token == "" || i > 3 {
			break
		}
	}
	if diff := cmp.Diff(all, got); diff != "" {
		t.Errorf("paged mismatch (-want +got):\n%s", diff)
	}
}

func sortedIDs(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

func TestModifyVpcEndpointServiceConfiguration(t *testing.T) {
	e := newPvdEnv(t)
	ctx := t.Context()
	svc := e.service(t, nil, e.nlbAB)
	modify := func(in ModifyVpcEndpointServiceConfigurationInput) ServiceConfiguration {
		t.Helper()
		in.ServiceID = svc.ID
		if err := e.s.ModifyVpcEndpointServiceConfiguration(ctx, netAcctA, in); err != nil {
			t.Fatalf("Modify(%+v): %v", in, err)
		}
		out, err := e.s.DescribeVpcEndpointServiceConfigurations(ctx, netAcctA, DescribeVpcEndpointServiceConfigurationsInput{ServiceIDs: []string{svc.ID}})
		if err != nil {
			t.Fatal(err)
		}
		return out.ServiceConfigurations[0]
	}

	// Load balancers: the zones follow.
	c := modify(ModifyVpcEndpointServiceConfigurationInput{AddNetworkLoadBalancerARNs: []string{e.nlbC.ARN, e.nlbAB.ARN}})
	if diff := cmp.Diff([]string{e.nlbAB.ARN, e.nlbC.ARN}, c.NetworkLoadBalancerARNs); diff != "" {
		t.Errorf("NLBs after adding mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"us-east-1a", "us-east-1b", "us-east-1c"}, c.AvailabilityZones); diff != "" {
		t.Errorf("zones after adding mismatch (-want +got):\n%s", diff)
	}
	c = modify(ModifyVpcEndpointServiceConfigurationInput{RemoveNetworkLoadBalancerARNs: []string{e.nlbAB.ARN}})
	if diff := cmp.Diff([]string{e.nlbC.ARN}, c.NetworkLoadBalancerARNs); diff != "" {
		t.Errorf("NLBs after removing mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"use1-az3"}, c.AvailabilityZoneIDs); diff != "" {
		t.Errorf("zone ids after removing mismatch (-want +got):\n%s", diff)
	}
	// nlb-ab is free again: another service may take it.
	e.service(t, nil, e.nlbAB)

	// A rejected endpoint does not hold the load balancers.
	e.endpoint(t, netAcctB, svc, model.EndpointRejected)
	c = modify(ModifyVpcEndpointServiceConfigurationInput{AddNetworkLoadBalancerARNs: []string{e.nlbFree.ARN}, RemoveNetworkLoadBalancerARNs: []string{e.nlbC.ARN}})
	if diff := cmp.Diff([]string{e.nlbFree.ARN}, c.NetworkLoadBalancerARNs); diff != "" {
		t.Errorf("NLBs after swapping mismatch (-want +got):\n%s", diff)
	}

	// Private DNS: a name gets a challenge, the same name keeps it, a new
	// name gets a new one, and removing drops it.
	c = modify(ModifyVpcEndpointServiceConfigurationInput{PrivateDNSName: new("a.example.com"), AcceptanceRequired: new(true)})
	if c.PrivateDNSName != "a.example.com" || c.PrivateDNS == nil || c.PrivateDNS.State != model.DNSPendingVerification || !c.AcceptanceRequired {
		t.Fatalf("after setting a name: %+v", c.EndpointService)
	}
	first := *c.PrivateDNS
	c = modify(ModifyVpcEndpointServiceConfigurationInput{PrivateDNSName: new("a.example.com")})
	if c.PrivateDNS == nil || *c.PrivateDNS != first || !c.AcceptanceRequired {
		t.Errorf("the same name changed the challenge: %+v, was %+v", c.PrivateDNS, first)
	}
	c = modify(ModifyVpcEndpointServiceConfigurationInput{PrivateDNSName: new("b.example.com"), AcceptanceRequired: new(false)})
	if c.PrivateDNS == nil || c.PrivateDNS.Name == first.Name || c.PrivateDNS.Value == first.Value || c.PrivateDNS.State != model.DNSPendingVerification || c.AcceptanceRequired {
		t.Errorf("a new name kept the challenge: %+v, was %+v", c.PrivateDNS, first)
	}
	c = modify(ModifyVpcEndpointServiceConfigurationInput{RemovePrivateDNSName: true})
	if c.PrivateDNSName != "" || c.PrivateDNS != nil {
		t.Errorf("after RemovePrivateDnsName: %q %+v", c.PrivateDNSName, c.PrivateDNS)
	}
	modify(ModifyVpcEndpointServiceConfigurationInput{PrivateDNSName: new("c.example.com")})
	c = modify(ModifyVpcEndpointServiceConfigurationInput{PrivateDNSName: new("")})
	if c.PrivateDNSName != "" || c.PrivateDNS != nil {
		t.Errorf("after an empty PrivateDnsName: %q %+v", c.PrivateDNSName, c.PrivateDNS)
	}

	// What is already so changes nothing.
	before := c
	c = modify(ModifyVpcEndpointServiceConfigurationInput{
		AddSupportedIPAddressTypes: []string{"ipv4"}, RemoveSupportedIPAddressTypes: []string{"ipv6"}, AddSupportedRegions: []string{"us-east-1"},
	})
	if diff := cmp.Diff(before, c); diff != "" {
		t.Errorf("no-op modify mismatch (-want +got):\n%s", diff)
	}
}

func TestDeleteVpcEndpointServiceConfigurations(t *testing.T) {
	e := newPvdEnv(t)
	ctx := t.Context()
	free := e.service(t, nil, e.nlbFree)
	busy := e.service(t, nil, e.nlbAB)
	rejected := e.service(t, nil, e.nlbC)
	e.endpoint(t, netAcctB, busy, model.EndpointRejected)
	e.endpoint(t, netAcctB, busy, model.EndpointPendingAcceptance)
	gone := e.endpoint(t, netAcctB, rejected, model.EndpointRejected)
	foreign, err := e.s.CreateVpcEndpointServiceConfiguration(ctx, netAcctB, CreateVpcEndpointServiceConfigurationInput{NetworkLoadBalancerARNs: []string{e.foreign.ARN}})
	if err != nil {
		t.Fatal(err)
	}
	missing := model.NewID(model.PrefixVpcEndpointService)
	foreignID := foreign.ServiceConfiguration.ID

	items, err := e.s.DeleteVpcEndpointServiceConfigurations(ctx, netAcctA, DeleteVpcEndpointServiceConfigurationsInput{
		ServiceIDs: []string{free.ID, busy.ID, missing, rejected.ID, foreignID, free.ID},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []UnsuccessfulItem{
		{ResourceID: busy.ID, Code: "ExistingVpcEndpointConnections", Message: "Service has existing active VPC Endpoint connections!"},
		{ResourceID: missing, Code: "InvalidVpcEndpointServiceId.NotFound", Message: fmt.Sprintf("The VpcEndpointService Id '%s' does not exist", missing)},
		{ResourceID: foreignID, Code: "InvalidVpcEndpointServiceId.NotFound", Message: fmt.Sprintf("The VpcEndpointService Id '%s' does not exist", foreignID)},
	}
	if diff := cmp.Diff(want, items); diff != "" {
		t.Errorf("unsuccessful mismatch (-want +got):\n%s", diff)
	}
	for id, wantFound := range map[string]bool{free.ID: false, busy.ID: true, rejected.ID: false} {
		if _, found := e.stored(t, id); found != wantFound {
			t.Errorf("service %s stored = %v, want %v", id, found, wantFound)
		}
	}
	if _, found := getTestRecord[model.EndpointService](t, e.st, endpointServiceKey(netAcctB, foreignID)); !found {
		t.Error("A deleted B's service")
	}
	// The name index is gone with the service, the endpoint stays rejected,
	// and the load balancer can be deleted now.
	err = e.st.View(ctx, func(tx store.ReadTx) error {
		_, found, err := serviceByName(tx, rejected.Name)
		if found {
			t.Errorf("serviceByName(%s) still finds the deleted service", rejected.Name)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.endpointState(t, gone); got != model.EndpointRejected {
		t.Errorf("the rejected endpoint of a deleted service is %q, want rejected", got)
	}
	if err := e.s.DeleteLoadBalancer(ctx, netAcctA, DeleteLoadBalancerInput{LoadBalancerARN: e.nlbC.ARN}); err != nil {
		t.Errorf("DeleteLoadBalancer of a load balancer whose service is gone: %v", err)
	}
	// Every endpoint pendingAcceptance, pending or available holds the
	// service; deleting, failed and rejected ones do not.
	for _, state := range []string{model.EndpointPending, model.EndpointAvailable, model.EndpointDeleting, model.EndpointFailed} {
		svc := e.service(t, nil, e.nlbFree)
		e.endpoint(t, netAcctA, svc, state)
		items, err := e.s.DeleteVpcEndpointServiceConfigurations(ctx, netAcctA, DeleteVpcEndpointServiceConfigurationsInput{ServiceIDs: []string{svc.ID}})
		if err != nil {
			t.Fatal(err)
		}
		_, found := e.stored(t, svc.ID)
		if blocks := endpointBlocksDelete(state); found != blocks || len(items) != map[bool]int{true: 1}[blocks] {
			t.Errorf("with an endpoint %s: unsuccessful %v, service kept %v; want kept %v", state, items, found, blocks)
		}
		if found {
			// Clear the way for the next round.
			_, err := e.st.Update(ctx, func(tx store.Tx) error { return deleteEndpointService(tx, &svc.EndpointService) })
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestDeleteLoadBalancerOfEndpointService(t *testing.T) {
	e := newPvdEnv(t)
	svc := e.service(t, nil, e.nlbAB, e.nlbC)
	for _, lb := range []LoadBalancer{e.nlbAB, e.nlbC} {
		wantBadCall(t, e.st, func() error {
			return e.s.DeleteLoadBalancer(t.Context(), netAcctA, DeleteLoadBalancerInput{LoadBalancerARN: lb.ARN})
		}, "ResourceInUse", fmt.Sprintf("Load balancer '%s' cannot be deleted because it is currently associated with another service", lb.ARN))
	}
	if err := e.s.DeleteLoadBalancer(t.Context(), netAcctA, DeleteLoadBalancerInput{LoadBalancerARN: e.nlbFree.ARN}); err != nil {
		t.Errorf("DeleteLoadBalancer of a load balancer in no service: %v", err)
	}
	if err := e.s.ModifyVpcEndpointServiceConfiguration(t.Context(), netAcctA, ModifyVpcEndpointServiceConfigurationInput{
		ServiceID: svc.ID, RemoveNetworkLoadBalancerARNs: []string{e.nlbC.ARN},
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteLoadBalancer(t.Context(), netAcctA, DeleteLoadBalancerInput{LoadBalancerARN: e.nlbC.ARN}); err != nil {
		t.Errorf("DeleteLoadBalancer of a load balancer removed from its service: %v", err)
	}
}

func TestVpcEndpointServicePermissions(t *testing.T) {
	e := newPvdEnv(t)
	ctx := t.Context()
	svc := e.service(t, nil, e.nlbAB)
	ep := e.endpoint(t, netAcctB, svc, model.EndpointAvailable)
	principals := []string{
		"arn:aws:iam::" + netAcctB + ":root",
		"arn:aws:iam::" + netAcctB + ":user/alice",
		"arn:aws:iam::333333333333:role/App.Role+1",
		"*",
		"arn:aws:iam::" + netAcctB + ":root", // twice in one call
	}
	added, err := e.s.ModifyVpcEndpointServicePermissions(ctx, netAcctA, ModifyVpcEndpointServicePermissionsInput{ServiceID: svc.ID, AddAllowedPrincipals: principals})
	if err != nil {
		t.Fatal(err)
	}
	wantAdded := []AddedPrincipal{
		{ServiceID: svc.ID, Principal: principals[0], PrincipalType: "Account"},
		{ServiceID: svc.ID, Principal: principals[1], PrincipalType: "User"},
		{ServiceID: svc.ID, Principal: principals[2], PrincipalType: "Role"},
		{ServiceID: svc.ID, Principal: "*", PrincipalType: "All"},
	}
	if diff := cmp.Diff(wantAdded, added, cmpopts.IgnoreFields(AddedPrincipal{}, "ServicePermissionID")); diff != "" {
		t.Errorf("AddedPrincipals mismatch (-want +got):\n%s", diff)
	}
	ids := map[string]string{}
	for _, a := range added {
		if !model.ValidID(model.PrefixServicePermission, a.ServicePermissionID) {
			t.Errorf("permission id %q is not a vpce-svc-perm id", a.ServicePermissionID)
		}
		ids[a.Principal] = a.ServicePermissionID
	}
	stored, _ := e.stored(t, svc.ID)
	wantStored := []model.AllowedPrincipal{
		{ID: ids[principals[0]], Principal: principals[0], Type: "Account", Account: netAcctB},
		{ID: ids[principals[1]], Principal: principals[1], Type: "User", Account: netAcctB},
		{ID: ids[principals[2]], Principal: principals[2], Type: "Role", Account: "333333333333"},
		{ID: ids["*"], Principal: "*", Type: "All"},
	}
	if diff := cmp.Diff(wantStored, stored.Principals); diff != "" {
		t.Errorf("stored principals mismatch (-want +got):\n%s", diff)
	}

	// Adding one again changes nothing and reports its permission.
	again, err := e.s.ModifyVpcEndpointServicePermissions(ctx, netAcctA, ModifyVpcEndpointServicePermissionsInput{ServiceID: svc.ID, AddAllowedPrincipals: []string{principals[1]}})
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 1 || again[0].ServicePermissionID != ids[principals[1]] {
		t.Errorf("adding an allowed principal again = %+v, want its permission %s", again, ids[principals[1]])
	}

	describe := func(in DescribeVpcEndpointServicePermissionsInput) DescribeVpcEndpointServicePermissionsOutput {
		t.Helper()
		in.ServiceID = svc.ID
		out, err := e.s.DescribeVpcEndpointServicePermissions(ctx, netAcctA, in)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	names := func(ps []ServicePermission) []string {
		var out []string
		for _, p := range ps {
			if p.ServiceID != svc.ID {
				t.Errorf("permission %s has service %q", p.ID, p.ServiceID)
			}
			out = append(out, p.Principal)
		}
		slices.Sort(out)
		return out
	}
	if diff := cmp.Diff(sortedIDs(principals[:4]...), names(describe(DescribeVpcEndpointServicePermissionsInput{}).AllowedPrincipals)); diff != "" {
		t.Errorf("all permissions mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{principals[2]}, names(describe(DescribeVpcEndpointServicePermissionsInput{
		Filters: []Filter{{Name: "principal-type", Values: []string{"Role"}}},
	}).AllowedPrincipals)); diff != "" {
		t.Errorf("principal-type filter mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{principals[0], principals[1]}, names(describe(DescribeVpcEndpointServicePermissionsInput{
		Filters: []Filter{{Name: "principal", Values: []string{"arn:aws:iam::" + netAcctB + ":*"}}},
	}).AllowedPrincipals)); diff != "" {
		t.Errorf("principal filter mismatch (-want +got):\n%s", diff)
	}

	// Paging over six principals, five at a time.
	_, err = e.s.ModifyVpcEndpointServicePermissions(ctx, netAcctA, ModifyVpcEndpointServicePermissionsInput{
		ServiceID: svc.ID, AddAllowedPrincipals: []string{"arn:aws:iam::444444444444:root", "arn:aws:iam::555555555555:root"},
	})
	if err != nil {
		t.Fatal(err)
	}
	p1 := describe(DescribeVpcEndpointServicePermissionsInput{Page: Page{MaxResults: 5}})
	p2 := describe(DescribeVpcEndpointServicePermissionsInput{Page: Page{MaxResults: 5, NextToken: p1.NextToken}})
	if len(p1.AllowedPrincipals) != 5 || p1.NextToken == "" || len(p2.AllowedPrincipals) != 1 || p2.NextToken != "" {
		t.Errorf("pages of %d (next %q) and %d (next %q), want 5 and 1", len(p1.AllowedPrincipals), p1.NextToken, len(p2.AllowedPrincipals), p2.NextToken)
	}

	// Removing B's root (and one never allowed) leaves B's endpoint as it is.
	_, err = e.s.ModifyVpcEndpointServicePermissions(ctx, netAcctA, ModifyVpcEndpointServicePermissionsInput{
		ServiceID: svc.ID, RemoveAllowedPrincipals: []string{principals[0], "*", "arn:aws:iam::666666666666:root"},
	})
	if err != nil {
		t.Fatal(err)
	}
	stored, _ = e.stored(t, svc.ID)
	if slices.ContainsFunc(stored.Principals, func(p model.AllowedPrincipal) bool { return p.Principal == principals[0] || p.Principal == "*" }) {
		t.Errorf("removed principals are still there: %+v", stored.Principals)
	}
	if len(stored.Principals) != 4 {
		t.Errorf("%d principals left, want 4", len(stored.Principals))
	}
	if got := e.endpointState(t, ep); got != model.EndpointAvailable {
		t.Errorf("B's endpoint is %q after its principal was removed, want available", got)
	}
}

func TestModifyVpcEndpointServicePayerResponsibility(t *testing.T) {
	e := newPvdEnv(t)
	ctx := t.Context()
	svc := e.service(t, nil, e.nlbAB)
	if svc.PayerResponsibility != "" {
		t.Errorf("a new service's payer is %q, want none", svc.PayerResponsibility)
	}
	set := func(v string) error {
		return e.s.ModifyVpcEndpointServicePayerResponsibility(ctx, netAcctA, ModifyVpcEndpointServicePayerResponsibilityInput{ServiceID: svc.ID, PayerResponsibility: v})
	}
	if err := set(PayerServiceOwner); err != nil {
		t.Fatal(err)
	}
	stored, _ := e.stored(t, svc.ID)
	if stored.PayerResponsibility != PayerServiceOwner {
		t.Errorf("payer = %q, want ServiceOwner", stored.PayerResponsibility)
	}
	// Again is fine; back is not.
	if err := set(PayerServiceOwner); err != nil {
		t.Errorf("setting ServiceOwner again: %v", err)
	}
	runPvdBadCalls(t, e.st, []pvdBadCall{
		{"back to the endpoint owner", func() error { return set("EndpointOwner") }, "InvalidParameter", 0},
		{"dry run", func() error {
			return e.s.ModifyVpcEndpointServicePayerResponsibility(ctx, netAcctA, ModifyVpcEndpointServicePayerResponsibilityInput{
				ServiceID: svc.ID, PayerResponsibility: PayerServiceOwner, DryRun: true,
			})
		}, "DryRunOperation", http.StatusPreconditionFailed},
	})
	out, err := e.s.DescribeVpcEndpointServiceConfigurations(ctx, netAcctA, DescribeVpcEndpointServiceConfigurationsInput{})
	if err != nil || out.ServiceConfigurations[0].PayerResponsibility != PayerServiceOwner {
		t.Errorf("Describe payer = %+v, %v", out, err)
	}
}

func TestStartVpcEndpointServicePrivateDNSVerification(t *testing.T) {
	e := newPvdEnv(t)
	ctx := t.Context()
	svc := e.service(t, func(in *CreateVpcEndpointServiceConfigurationInput) { in.PrivateDNSName = "api.example.com" }, e.nlbAB)
	ch := *svc.PrivateDNS
	verify := func() string {
		t.Helper()
		if err := e.s.StartVpcEndpointServicePrivateDNSVerification(ctx, netAcctA, StartVpcEndpointServicePrivateDNSVerificationInput{ServiceID: svc.ID}); err != nil {
			t.Fatalf("Start…Verification: %v", err)
		}
		stored, _ := e.stored(t, svc.ID)
		return stored.PrivateDNS.State
	}
	recordName := ch.Name + ".api.example.com"

	// No record: failed, after asking at both names.
	if got := verify(); got != model.DNSFailed {
		t.Errorf("with no record: %s, want failed", got)
	}
	if diff := cmp.Diff([]string{recordName, "api.example.com"}, e.txt.asked); diff != "" {
		t.Errorf("names looked up mismatch (-want +got):\n%s", diff)
	}
	// The value must match exactly, case included.
	e.txt.set(recordName, strings.ToLower(ch.Value), ch.Value+" ")
	if got := verify(); got != model.DNSFailed {
		t.Errorf("with near misses: %s, want failed", got)
	}
	// At the underscore name.
	e.txt.set(recordName, "other", ch.Value)
	if got := verify(); got != model.DNSVerified {
		t.Errorf("with the record: %s, want verified", got)
	}
	// Removed again: failed again.
	e.txt.set(recordName)
	if got := verify(); got != model.DNSFailed {
		t.Errorf("after the record went: %s, want failed", got)
	}
	// At the name itself, the underscore label left out.
	e.txt.set("api.example.com", ch.Value)
	if got := verify(); got != model.DNSVerified {
		t.Errorf("with the record at the name: %s, want verified", got)
	}
	// A failing lookup fails the verification.
	e.txt.set("api.example.com")
	e.txt.errs[recordName] = errors.New("i/o timeout")
	if got := verify(); got != model.DNSFailed {
		t.Errorf("with a failing lookup: %s, want failed", got)
	}
	delete(e.txt.errs, recordName)

	// A name changed while the lookup runs: the old result is not written
	// over the new challenge.
	e.txt.set(recordName, ch.Value)
	e.txt.during = func() {
		e.txt.during = nil
		if err := e.s.ModifyVpcEndpointServiceConfiguration(ctx, netAcctA, ModifyVpcEndpointServiceConfigurationInput{
			ServiceID: svc.ID, PrivateDNSName: new("web.example.com"),
		}); err != nil {
			t.Errorf("modify during the lookup: %v", err)
		}
	}
	if got := verify(); got != model.DNSPendingVerification {
		t.Errorf("after the name changed during the lookup: %s, want pendingVerification", got)
	}
	stored, _ := e.stored(t, svc.ID)
	if stored.PrivateDNSName != "web.example.com" || stored.PrivateDNS.Name == ch.Name {
		t.Errorf("stored = %q %+v, want the new name and challenge", stored.PrivateDNSName, stored.PrivateDNS)
	}

	// A caller that goes away during the lookup changes nothing.
	before, _ := e.stored(t, svc.ID)
	cctx, cancel := context.WithCancel(ctx)
	e.txt.during = func() { e.txt.during = nil; cancel() }
	if err := e.s.StartVpcEndpointServicePrivateDNSVerification(cctx, netAcctA, StartVpcEndpointServicePrivateDNSVerificationInput{ServiceID: svc.ID}); !errors.Is(err, context.Canceled) {
		t.Errorf("Start…Verification with a cancelled context = %v, want context.Canceled", err)
	}
	if after, _ := e.stored(t, svc.ID); *after.PrivateDNS != *before.PrivateDNS {
		t.Errorf("a cancelled verification wrote %+v, was %+v", after.PrivateDNS, before.PrivateDNS)
	}

	// Without a resolver the call says so and changes nothing.
	e.s.txt = nil
	runPvdBadCalls(t, e.st, []pvdBadCall{{"no resolver", func() error {
		return e.s.StartVpcEndpointServicePrivateDNSVerification(ctx, netAcctA, StartVpcEndpointServicePrivateDNSVerificationInput{ServiceID: svc.ID})
	}, "UnsupportedOperation", 0}})
}

// TestEndpointServiceVisibility checks that another account can neither
// see nor change a provider's service, its permissions or its connections.
func TestEndpointServiceVisibility(t *testing.T) {
	e := newPvdEnv(t)
	ctx := t.Context()
	svc := e.service(t, nil, e.nlbAB)
	ep := e.endpoint(t, netAcctB, svc, model.EndpointPendingAcceptance)
	// B is allowed: that lets B connect, not manage.
	if _, err := e.s.ModifyVpcEndpointServicePermissions(ctx, netAcctA, ModifyVpcEndpointServicePermissionsInput{
		ServiceID: svc.ID, AddAllowedPrincipals: []string{"*"},
	}); err != nil {
		t.Fatal(err)
	}
	out, err := e.s.DescribeVpcEndpointServiceConfigurations(ctx, netAcctB, DescribeVpcEndpointServiceConfigurationsInput{})
	if err != nil || len(out.ServiceConfigurations) != 0 {
		t.Errorf("B's DescribeVpcEndpointServiceConfigurations = %+v, %v; want none", out.ServiceConfigurations, err)
	}
	conns, err := e.s.DescribeVpcEndpointConnections(ctx, netAcctB, DescribeVpcEndpointConnectionsInput{})
	if err != nil || len(conns.VpcEndpointConnections) != 0 {
		t.Errorf("B's DescribeVpcEndpointConnections = %+v, %v; want none (B is the consumer)", conns.VpcEndpointConnections, err)
	}
	notFound := "InvalidVpcEndpointServiceId.NotFound"
	runPvdBadCalls(t, e.st, []pvdBadCall{
		{"B modifies", func() error {
			return e.s.ModifyVpcEndpointServiceConfiguration(ctx, netAcctB, ModifyVpcEndpointServiceConfigurationInput{ServiceID: svc.ID, AcceptanceRequired: new(true)})
		}, notFound, 0},
		{"B permits", func() error {
			_, err := e.s.ModifyVpcEndpointServicePermissions(ctx, netAcctB, ModifyVpcEndpointServicePermissionsInput{ServiceID: svc.ID, RemoveAllowedPrincipals: []string{"*"}})
			return err
		}, notFound, 0},
		{"B lists permissions", func() error {
			_, err := e.s.DescribeVpcEndpointServicePermissions(ctx, netAcctB, DescribeVpcEndpointServicePermissionsInput{ServiceID: svc.ID})
			return err
		}, notFound, 0},
		{"B accepts its own endpoint", func() error {
			_, err := e.s.AcceptVpcEndpointConnections(ctx, netAcctB, VpcEndpointConnectionsInput{ServiceID: svc.ID, VpcEndpointIDs: []string{ep.ID}})
			return err
		}, notFound, 0},
		{"B rejects", func() error {
			_, err := e.s.RejectVpcEndpointConnections(ctx, netAcctB, VpcEndpointConnectionsInput{ServiceID: svc.ID, VpcEndpointIDs: []string{ep.ID}})
			return err
		}, notFound, 0},
		{"B pays", func() error {
			return e.s.ModifyVpcEndpointServicePayerResponsibility(ctx, netAcctB, ModifyVpcEndpointServicePayerResponsibilityInput{ServiceID: svc.ID, PayerResponsibility: PayerServiceOwner})
		}, notFound, 0},
	})
	items, err := e.s.DeleteVpcEndpointServiceConfigurations(ctx, netAcctB, DeleteVpcEndpointServiceConfigurationsInput{ServiceIDs: []string{svc.ID}})
	if err != nil || len(items) != 1 || items[0].Code != notFound {
		t.Errorf("B's delete = %+v, %v; want one %s item", items, err, notFound)
	}
	if _, found := e.stored(t, svc.ID); !found {
		t.Error("B deleted A's service")
	}
	if got := e.endpointState(t, ep); got != model.EndpointPendingAcceptance {
		t.Errorf("endpoint = %q, want pendingAcceptance", got)
	}
}

// TestEndpointServiceErrorStatus pins that every answer above is an
// *awsapi.Error (never a plain error, which would be a 500).
func TestEndpointServiceErrorStatus(t *testing.T) {
	e := newPvdEnv(t)
	_, err := e.s.CreateVpcEndpointServiceConfiguration(t.Context(), netAcctA, CreateVpcEndpointServiceConfigurationInput{})
	var ae *awsapi.Error
	if !errors.As(err, &ae) || ae.HTTPStatus() != http.StatusBadRequest {
		t.Errorf("error = %v, want an AWS error with status 400", err)
	}
	if ae.Message != "exactly one of network_load_balancer_arn or gateway_load_balancer_arn is a required member" {
		t.Errorf("message = %q", ae.Message)
	}
}
