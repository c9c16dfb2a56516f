package controlplane

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/model"
)

func TestDescribeVpcEndpointServicesDetail(t *testing.T) {
	e := newConsumerEnv(t)
	out, err := e.s.DescribeVpcEndpointServices(t.Context(), vpceConsumer, DescribeVpcEndpointServicesInput{ServiceNames: []string{e.svc.Name}})
	if err != nil {
		t.Fatal(err)
	}
	zoneID := func(z string) string { return e.sub[z].AvailabilityZoneID }
	want := DescribeVpcEndpointServicesOutput{
		ServiceNames: []string{e.svc.Name},
		ServiceDetails: []ServiceDetail{{
			ServiceName: e.svc.Name, ServiceID: e.svc.ID, ServiceType: "Interface", ServiceRegion: "us-east-1",
			AvailabilityZones:    []string{"us-east-1a", "us-east-1b"},
			AvailabilityZoneIDs:  []string{zoneID("a"), zoneID("b")},
			Owner:                vpceProvider,
			BaseEndpointDNSNames: []string{e.svc.ID + ".us-east-1.vpce.amazonaws.com"},
			PrivateDNSName:       "api.example.com", PrivateDNSNameVerificationState: "verified",
			SupportedIPAddressTypes: []string{"ipv4"},
		}},
	}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("DescribeVpcEndpointServices() mismatch (-want +got):\n%s", diff)
	}

	// Its owner sees the service's tags.
	own, err := e.s.DescribeVpcEndpointServices(t.Context(), vpceProvider, DescribeVpcEndpointServicesInput{ServiceNames: []string{e.svc.Name}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]model.Tag{{Key: "team", Value: "provider"}}, own.ServiceDetails[0].Tags); diff != "" {
		t.Errorf("owner's tags mismatch (-want +got):\n%s", diff)
	}
}

func TestDescribeVpcEndpointServicesVisibility(t *testing.T) {
	e := newConsumerEnv(t)
	manual := e.putService(t, func(svc *model.EndpointService) {
		svc.AcceptanceRequired = true
		svc.PayerResponsibility = "ServiceOwner"
		svc.Tags = []model.Tag{{Key: "tier", Value: "gold"}}
	})
	public := e.putService(t, func(svc *model.EndpointService) {
		svc.Principals = []model.AllowedPrincipal{{Principal: "*", Type: model.PrincipalAll}}
	})
	private := e.putService(t, func(svc *model.EndpointService) { svc.Principals = nil })
	pending := e.putService(t, func(svc *model.EndpointService) { svc.State = model.ServicePending })
	// A service on its way out is listed to no one.
	e.putService(t, func(svc *model.EndpointService) { svc.State = model.ServiceDeleting })

	f := func(name string, values ...string) []Filter { return []Filter{{Name: name, Values: values}} }
	tests := []struct {
		name    string
		account string
		in      DescribeVpcEndpointServicesInput
		want    []string
	}{
		{"allowed consumer", vpceConsumer, DescribeVpcEndpointServicesInput{}, vpceSorted(e.svc.Name, manual.Name, public.Name)},
		{"owner sees its own, available ones", vpceProvider, DescribeVpcEndpointServicesInput{}, vpceSorted(e.svc.Name, manual.Name, public.Name, private.Name)},
		{"stranger sees public ones", vpceStranger, DescribeVpcEndpointServicesInput{}, []string{public.Name}},
		{"by name", vpceConsumer, DescribeVpcEndpointServicesInput{ServiceNames: []string{manual.Name, e.svc.Name}}, vpceSorted(e.svc.Name, manual.Name)},
		{"service-name", vpceConsumer, DescribeVpcEndpointServicesInput{Filters: f("service-name", manual.Name)}, []string{manual.Name}},
		{"service-type", vpceConsumer, DescribeVpcEndpointServicesInput{Filters: f("service-type", "Gateway")}, []string{}},
		{"owner", vpceConsumer, DescribeVpcEndpointServicesInput{Filters: f("owner", vpceProvider)}, vpceSorted(e.svc.Name, manual.Name, public.Name)},
		{"owner of none", vpceConsumer, DescribeVpcEndpointServicesInput{Filters: f("owner", vpceConsumer)}, []string{}},
		{"service-region", vpceConsumer, DescribeVpcEndpointServicesInput{Filters: f("service-region", "us-east-1")}, vpceSorted(e.svc.Name, manual.Name, public.Name)},
		{"ServiceRegion.N elsewhere", vpceConsumer, DescribeVpcEndpointServicesInput{ServiceRegions: []string{"eu-west-1"}}, []string{}},
		{"supported-ip-address-types", vpceConsumer, DescribeVpcEndpointServicesInput{Filters: f("supported-ip-address-types", "ipv6")}, []string{}},
		// Tags are the owner's: others cannot filter on them.
		{"tag, owner", vpceProvider, DescribeVpcEndpointServicesInput{Filters: f("tag:tier", "gold")}, []string{manual.Name}},
		{"tag, consumer", vpceConsumer, DescribeVpcEndpointServicesInput{Filters: f("tag-key", "tier")}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := e.s.DescribeVpcEndpointServices(t.Context(), tt.account, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, d := range out.ServiceDetails {
				got = append(got, d.ServiceName)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DescribeVpcEndpointServices() mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, out.ServiceNames); diff != "" {
				t.Errorf("ServiceNames mismatch (-want +got):\n%s", diff)
			}
		})
	}

	bad := []struct {
		name    string
		account string
		in      DescribeVpcEndpointServicesInput
		code    string
		msg     string
	}{
		{"not allowed", vpceStranger, DescribeVpcEndpointServicesInput{ServiceNames: []string{e.svc.Name}}, "InvalidServiceName",
			"The Vpc Endpoint Service '" + e.svc.Name + "' does not exist"},
		{"not allowed, consumer", vpceConsumer, DescribeVpcEndpointServicesInput{ServiceNames: []string{private.Name}}, "InvalidServiceName", ""},
		{"unknown", vpceConsumer, DescribeVpcEndpointServicesInput{ServiceNames: []string{"com.amazonaws.us-east-1.s3"}}, "InvalidServiceName",
			"The Vpc Endpoint Service 'com.amazonaws.us-east-1.s3' does not exist"},
		{"pending", vpceProvider, DescribeVpcEndpointServicesInput{ServiceNames: []string{pending.Name}}, "InvalidServiceName", ""},
		{"another region", vpceConsumer, DescribeVpcEndpointServicesInput{ServiceNames: []string{e.svc.Name}, ServiceRegions: []string{"eu-west-1"}}, "InvalidServiceName", ""},
		{"unknown filter", vpceConsumer, DescribeVpcEndpointServicesInput{Filters: f("service-id", e.svc.ID)}, "InvalidParameterValue", "The filter 'service-id' is invalid"},
		{"bad token", vpceConsumer, DescribeVpcEndpointServicesInput{Page: Page{NextToken: "%%"}}, "InvalidParameterValue", ""},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.s.DescribeVpcEndpointServices(t.Context(), tt.account, tt.in)
			wantCodeMsg(t, err, tt.code, 400, tt.msg)
		})
	}

	// The details of a service that needs acceptance and has no private
	// DNS name.
	out, err := e.s.DescribeVpcEndpointServices(t.Context(), vpceConsumer, DescribeVpcEndpointServicesInput{ServiceNames: []string{manual.Name}})
	if err != nil {
		t.Fatal(err)
	}
	d := out.ServiceDetails[0]
	if !d.AcceptanceRequired || d.PayerResponsibility != "ServiceOwner" || d.PrivateDNSName != "" || d.PrivateDNSNameVerificationState != "" || len(d.Tags) != 0 {
		t.Errorf("detail = %+v", d)
	}

	// Paging.
	var paged []string
	token := ""
	for {
		out, err := e.s.DescribeVpcEndpointServices(t.Context(), vpceProvider, DescribeVpcEndpointServicesInput{Page: Page{MaxResults: 3, NextToken: token}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.ServiceDetails) > 3 {
			t.Fatalf("page of %d, want at most 3", len(out.ServiceDetails))
		}
		paged = append(paged, out.ServiceNames...)
		if token = out.NextToken; token == "" {
			break
		}
	}
	if diff := cmp.Diff(vpceSorted(e.svc.Name, manual.Name, public.Name, private.Name), paged); diff != "" {
		t.Errorf("pages mismatch (-want +got):\n%s", diff)
	}

	_, err = e.s.DescribeVpcEndpointServices(t.Context(), vpceConsumer, DescribeVpcEndpointServicesInput{DryRun: true})
	wantCodeMsg(t, err, "DryRunOperation", 412, "")
}

// TestEndpointServiceNotAllowed checks that a caller the principals do not
// cover cannot tell the service from one that does not exist, in discovery
// and on create.
func TestEndpointServiceNotAllowed(t *testing.T) {
	e := newConsumerEnv(t)
	vpc := mustVpc(t, e.s, vpceStranger, "10.1.0.0/16")
	sn := mustSubnet(t, e.s, vpceStranger, vpc.ID, "10.1.1.0/24")
	msg := "The Vpc Endpoint Service '" + e.svc.Name + "' does not exist"
	_, err := e.s.DescribeVpcEndpointServices(t.Context(), vpceStranger, DescribeVpcEndpointServicesInput{ServiceNames: []string{e.svc.Name}})
	wantCodeMsg(t, err, "InvalidServiceName", 400, msg)
	in := CreateVpcEndpointInput{VpcEndpointType: "Interface", VpcID: vpc.ID, ServiceName: e.svc.Name, SubnetIDs: []string{sn.ID}}
	_, err = e.s.CreateVpcEndpoint(t.Context(), vpceStranger, in)
	wantCodeMsg(t, err, "InvalidServiceName", 400, msg)

	// Once the provider allows the account, both work.
	e.svc.Principals = append(e.svc.Principals, model.AllowedPrincipal{
		Principal: "arn:aws:iam::" + vpceStranger + ":root", Type: model.PrincipalAccount, Account: vpceStranger,
	})
	e.putService(t, func(svc *model.EndpointService) { *svc = *e.svc })
	if _, err := e.s.DescribeVpcEndpointServices(t.Context(), vpceStranger, DescribeVpcEndpointServicesInput{ServiceNames: []string{e.svc.Name}}); err != nil {
		t.Errorf("DescribeVpcEndpointServices once allowed: %v", err)
	}
	if _, err := e.s.CreateVpcEndpoint(t.Context(), vpceStranger, in); err != nil {
		t.Errorf("CreateVpcEndpoint once allowed: %v", err)
	}
}
