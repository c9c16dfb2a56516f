package ec2

import (
	"context"
	"encoding/xml"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/awsapi/apitest"
	"github.com/privlink/privlink/internal/awsapi/gen/wiretest"
	"github.com/privlink/privlink/internal/controlplane"
	"github.com/privlink/privlink/internal/model"
)

const (
	pvdWireProvider = "444444444444"
	pvdWireConsumer = "555555555555"
)

var pvdWireEpoch = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// pvdWireTXT is the TXT resolver of the handler tests.
type pvdWireTXT struct {
	mu      sync.Mutex
	records map[string][]string
}

func (f *pvdWireTXT) LookupTXT(_ context.Context, name string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.records[name], nil
}

// pvdWire is an EC2 handler over a store where the provider has a VPC with
// subnets in zones a and b and a network load balancer in both, and the
// consumer a VPC with subnets in zones a and b, the one in zone a used.
type pvdWire struct {
	t        *testing.T
	h        awsapi.Handler
	txt      *pvdWireTXT
	nlbARN   string
	vpcID    string // the consumer's
	subnetID string // the consumer's
}

func newPvdWire(t *testing.T) *pvdWire {
	t.Helper()
	w := &pvdWire{t: t, txt: &pvdWireTXT{records: map[string][]string{}}}
	cp, _ := apitest.ControlPlane(t, controlplane.Config{
		TXT: w.txt,
		Now: func() time.Time { return pvdWireEpoch },
	})
	w.h = Handler(cp)
	ctx := t.Context()
	_, subnets := apitest.Network(t, cp, pvdWireProvider, "10.0.0.0/16")
	lb, err := cp.CreateLoadBalancer(ctx, pvdWireProvider, controlplane.CreateLoadBalancerInput{
		Name: "svc-nlb", Type: "network", Scheme: "internal", Subnets: subnets,
	})
	if err != nil {
		t.Fatal(err)
	}
	w.nlbARN = lb.ARN
	var csubnets []string
	w.vpcID, csubnets = apitest.Network(t, cp, pvdWireConsumer, "10.0.0.0/16")
	w.subnetID = csubnets[0]
	return w
}

// call sends an EC2 query string (as the AWS CLI would put it in the body)
// as account, and returns the marshalled response.
func (w *pvdWire) call(account, query string) ([]byte, error) {
	w.t.Helper()
	values, err := url.ParseQuery(query)
	if err != nil {
		w.t.Fatalf("parse %q: %v", query, err)
	}
	params := awsapi.Params{}
	for k, v := range values {
		params[k] = v[0]
	}
	action := params["Action"]
	delete(params, "Action")
	delete(params, "Version")
	body, err := apitest.Call(w.t, w.h, "ec2", account, action, params)
	if err != nil {
		return nil, err
	}
	prefix := `<?xml version="1.0" encoding="UTF-8"?>` + "\n<" + action + `Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-1</requestId>`
	if !strings.HasPrefix(string(body), prefix) {
		w.t.Errorf("%s: unexpected envelope: %s", action, body)
	}
	return body, nil
}

// must is call that fails the test on an error, decoding the response into
// out (if not nil).
func (w *pvdWire) must(account, query string, out any) []byte {
	w.t.Helper()
	body, err := w.call(account, query)
	if err != nil {
		w.t.Fatalf("%s: %v", query, err)
	}
	if out != nil {
		if err := xml.Unmarshal(body, out); err != nil {
			w.t.Fatalf("unmarshal %s: %v", body, err)
		}
	}
	return body
}

// q builds a query string from name, value pairs.
func q(kv ...string) string {
	v := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	v.Set("Version", "2016-11-15")
	return v.Encode()
}

// pvdNormalize replaces the random parts of a response (ids, ARN suffixes,
// challenges) by fixed ones, in order of appearance, for golden files.
func pvdNormalize(body []byte) []byte {
	s := string(body)
	res := []struct {
		re   *regexp.Regexp
		repl string
	}{
		{regexp.MustCompile(`vpce-svc-perm-[0-9a-f]{17}`), "vpce-svc-perm-00000000000000000"},
		{regexp.MustCompile(`vpce-svc-[0-9a-f]{17}`), "vpce-svc-00000000000000000"},
		{regexp.MustCompile(`vpce-conn-[0-9a-f]{17}`), "vpce-conn-00000000000000000"},
		{regexp.MustCompile(`vpce-[0-9a-f]{17}-[a-z0-9]{8}`), "vpce-00000000000000000-abcdefgh"},
		{regexp.MustCompile(`vpce-[0-9a-f]{17}`), "vpce-00000000000000000"},
		{regexp.MustCompile(`/svc-nlb/[0-9a-f]{16}`), "/svc-nlb/0123456789abcdef"},
		{regexp.MustCompile(`<name>_[a-z0-9]{20}</name>`), "<name>_challengechallengech</name>"},
		{regexp.MustCompile(`<value>vpce:[A-Za-z0-9]{20}</value>`), "<value>vpce:ChallengeChallenge00</value>"},
	}
	for _, r := range res {
		s = r.re.ReplaceAllString(s, r.repl)
	}
	return []byte(s)
}

type xmlServiceConfiguration struct {
	ServiceID           string   `xml:"serviceId"`
	ServiceName         string   `xml:"serviceName"`
	ServiceState        string   `xml:"serviceState"`
	ServiceType         []string `xml:"serviceType>item>serviceType"`
	AcceptanceRequired  string   `xml:"acceptanceRequired"`
	ManagesVpcEndpoints string   `xml:"managesVpcEndpoints"`
	AvailabilityZones   []string `xml:"availabilityZoneSet>item"`
	AvailabilityZoneIDs []string `xml:"availabilityZoneIdSet>item"`
	BaseDNSNames        []string `xml:"baseEndpointDnsNameSet>item"`
	NLBs                []string `xml:"networkLoadBalancerArnSet>item"`
	IPTypes             []string `xml:"supportedIpAddressTypeSet>item"`
	PrivateDNSName      string   `xml:"privateDnsName"`
	DNSState            string   `xml:"privateDnsNameConfiguration>state"`
	DNSType             string   `xml:"privateDnsNameConfiguration>type"`
	DNSName             string   `xml:"privateDnsNameConfiguration>name"`
	DNSValue            string   `xml:"privateDnsNameConfiguration>value"`
	Payer               string   `xml:"payerResponsibility"`
	Regions             []string `xml:"supportedRegionSet>item>region"`
	RemoteAccess        string   `xml:"remoteAccessEnabled"`
	Tags                []xmlTag `xml:"tagSet>item"`
}

type xmlUnsuccessful struct {
	ResourceID string `xml:"resourceId"`
	Code       string `xml:"error>code"`
	Message    string `xml:"error>message"`
}

func TestEndpointServiceActions(t *testing.T) {
	w := newPvdWire(t)
	prov := pvdWireProvider

	// Create, as the AWS CLI sends it.
	body := w.must(prov, q("Action", "CreateVpcEndpointServiceConfiguration",
		"NetworkLoadBalancerArn.1", w.nlbARN, "AcceptanceRequired", "true", "PrivateDnsName", "api.example.com",
		"ClientToken", "tok-1", "TagSpecification.1.ResourceType", "vpc-endpoint-service",
		"TagSpecification.1.Tag.1.Key", "Name", "TagSpecification.1.Tag.1.Value", "svc"), nil)
	wiretest.Golden(t, "CreateVpcEndpointServiceConfiguration.xml", pvdNormalize(body))
	var created struct {
		ClientToken string                  `xml:"clientToken"`
		Config      xmlServiceConfiguration `xml:"serviceConfiguration"`
	}
	if err := xml.Unmarshal(body, &created); err != nil {
		t.Fatal(err)
	}
	c := created.Config
	svcID := c.ServiceID
	want := xmlServiceConfiguration{
		ServiceID: svcID, ServiceName: "com.amazonaws.vpce.us-east-1." + svcID, ServiceState: "Available",
		ServiceType: []string{"Interface"}, AcceptanceRequired: "true", ManagesVpcEndpoints: "false",
		AvailabilityZones: []string{"us-east-1a", "us-east-1b"}, AvailabilityZoneIDs: []string{"use1-az1", "use1-az2"},
		BaseDNSNames: []string{svcID + ".us-east-1.vpce.amazonaws.com"}, NLBs: []string{w.nlbARN}, IPTypes: []string{"ipv4"},
		PrivateDNSName: "api.example.com", DNSState: "pendingVerification", DNSType: "TXT", DNSName: c.DNSName, DNSValue: c.DNSValue,
		Regions: []string{"us-east-1"}, RemoteAccess: "false", Tags: []xmlTag{{"Name", "svc"}},
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("CreateVpcEndpointServiceConfiguration mismatch (-want +got):\n%s", diff)
	}
	if created.ClientToken != "tok-1" {
		t.Errorf("clientToken = %q", created.ClientToken)
	}

	// Describe by id; another account gets NotFound.
	var described struct {
		Configs []xmlServiceConfiguration `xml:"serviceConfigurationSet>item"`
	}
	w.must(prov, q("Action", "DescribeVpcEndpointServiceConfigurations", "ServiceId.1", svcID), &described)
	if diff := cmp.Diff([]xmlServiceConfiguration{want}, described.Configs); diff != "" {
		t.Errorf("DescribeVpcEndpointServiceConfigurations mismatch (-want +got):\n%s", diff)
	}
	_, err := w.call(pvdWireConsumer, q("Action", "DescribeVpcEndpointServiceConfigurations", "ServiceId.1", svcID))
	wantErr(t, err, "InvalidVpcEndpointServiceId.NotFound", http.StatusBadRequest)

	// Verify the private DNS name: the TXT record is at <name>.<domain>.
	w.txt.mu.Lock()
	w.txt.records[c.DNSName+".api.example.com"] = []string{c.DNSValue}
	w.txt.mu.Unlock()
	body = w.must(prov, q("Action", "StartVpcEndpointServicePrivateDnsVerification", "ServiceId", svcID), nil)
	if !strings.Contains(string(body), "<return>true</return>") {
		t.Errorf("StartVpcEndpointServicePrivateDnsVerification = %s", body)
	}
	described.Configs = nil
	w.must(prov, q("Action", "DescribeVpcEndpointServiceConfigurations", "Filter.1.Name", "service-id", "Filter.1.Value.1", svcID), &described)
	if len(described.Configs) != 1 || described.Configs[0].DNSState != "verified" {
		t.Errorf("after verification: %+v", described.Configs)
	}

	// Modify, payer responsibility.
	body = w.must(prov, q("Action", "ModifyVpcEndpointServiceConfiguration", "ServiceId", svcID,
		"AcceptanceRequired", "false", "AddSupportedIpAddressType.1", "ipv4"), nil)
	if !strings.Contains(string(body), "<return>true</return>") {
		t.Errorf("ModifyVpcEndpointServiceConfiguration = %s", body)
	}
	_, err = w.call(prov, q("Action", "ModifyVpcEndpointServiceConfiguration", "ServiceId", svcID, "PrivateDnsName", "b.example.com", "RemovePrivateDnsName", "true"))
	wantErr(t, err, "InvalidParameterCombination", http.StatusBadRequest)
	_, err = w.call(prov, q("Action", "ModifyVpcEndpointServiceConfiguration", "ServiceId", svcID, "AddGatewayLoadBalancerArn.1", "arn:aws:elasticloadbalancing:us-east-1:"+prov+":loadbalancer/gwy/g/0123456789abcdef"))
	wantErr(t, err, "InvalidParameter", http.StatusBadRequest)
	w.must(prov, q("Action", "ModifyVpcEndpointServicePayerResponsibility", "ServiceId", svcID, "PayerResponsibility", "ServiceOwner"), nil)
	described.Configs = nil
	w.must(prov, q("Action", "DescribeVpcEndpointServiceConfigurations"), &described)
	if len(described.Configs) != 1 || described.Configs[0].Payer != "ServiceOwner" || described.Configs[0].AcceptanceRequired != "false" {
		t.Errorf("after modify: %+v", described.Configs)
	}

	// Permissions: allow the consumer's account.
	principal := "arn:aws:iam::" + pvdWireConsumer + ":root"
	body = w.must(prov, q("Action", "ModifyVpcEndpointServicePermissions", "ServiceId", svcID, "AddAllowedPrincipals.1", principal), nil)
	wiretest.Golden(t, "ModifyVpcEndpointServicePermissions.xml", pvdNormalize(body))
	var perms struct {
		Principals []struct {
			Principal    string `xml:"principal"`
			Type         string `xml:"principalType"`
			ServiceID    string `xml:"serviceId"`
			PermissionID string `xml:"servicePermissionId"`
		} `xml:"allowedPrincipals>item"`
	}
	w.must(prov, q("Action", "DescribeVpcEndpointServicePermissions", "ServiceId", svcID, "Filter.1.Name", "principal-type", "Filter.1.Value.1", "Account"), &perms)
	if len(perms.Principals) != 1 || perms.Principals[0].Principal != principal || perms.Principals[0].Type != "Account" ||
		perms.Principals[0].ServiceID != svcID || !strings.HasPrefix(perms.Principals[0].PermissionID, "vpce-svc-perm-") {
		t.Errorf("DescribeVpcEndpointServicePermissions = %+v", perms)
	}
	_, err = w.call(prov, q("Action", "ModifyVpcEndpointServicePermissions", "ServiceId", svcID, "AddAllowedPrincipals.1", "arn:aws:iam::"+pvdWireConsumer+":role/a/b"))
	wantErr(t, err, "InvalidPrincipal", http.StatusBadRequest)

	// The consumer connects (acceptance is off now, so it starts pending);
	// the provider sees the connection and rejects it.
	var ep struct {
		ID string `xml:"vpcEndpoint>vpcEndpointId"`
	}
	w.must(pvdWireConsumer, q("Action", "CreateVpcEndpoint", "VpcEndpointType", "Interface", "VpcId", w.vpcID,
		"ServiceName", c.ServiceName, "SubnetId.1", w.subnetID), &ep)
	var conns struct {
		Conns []struct {
			ConnectionID string   `xml:"vpcEndpointConnectionId"`
			ServiceID    string   `xml:"serviceId"`
			EndpointID   string   `xml:"vpcEndpointId"`
			Owner        string   `xml:"vpcEndpointOwner"`
			State        string   `xml:"vpcEndpointState"`
			Created      string   `xml:"creationTimestamp"`
			DNSNames     []string `xml:"dnsEntrySet>item>dnsName"`
			Zones        []string `xml:"dnsEntrySet>item>hostedZoneId"`
			NLBs         []string `xml:"networkLoadBalancerArnSet>item"`
			IPType       string   `xml:"ipAddressType"`
		} `xml:"vpcEndpointConnectionSet>item"`
	}
	body = w.must(prov, q("Action", "DescribeVpcEndpointConnections", "Filter.1.Name", "vpc-endpoint-owner", "Filter.1.Value.1", pvdWireConsumer), &conns)
	wiretest.Golden(t, "DescribeVpcEndpointConnections.xml", pvdNormalize(body))
	if len(conns.Conns) != 1 {
		t.Fatalf("DescribeVpcEndpointConnections = %s", body)
	}
	got := conns.Conns[0]
	if got.EndpointID != ep.ID || got.ServiceID != svcID || got.Owner != pvdWireConsumer || got.State != "pending" ||
		got.Created != "2025-03-01T12:00:00.000Z" || len(got.DNSNames) != 2 || got.Zones[0] != "Z7HUB22UULQXV" ||
		!strings.HasPrefix(got.ConnectionID, "vpce-conn-") || got.NLBs[0] != w.nlbARN || got.IPType != "ipv4" {
		t.Errorf("connection = %+v", got)
	}
	if strings.Contains(string(body), w.vpcID) || strings.Contains(string(body), w.subnetID) {
		t.Errorf("the provider sees the consumer's VPC or subnet: %s", body)
	}

	missing := model.NewID(model.PrefixVpcEndpoint)
	var rejected struct {
		Items []xmlUnsuccessful `xml:"unsuccessful>item"`
	}
	body = w.must(prov, q("Action", "RejectVpcEndpointConnections", "ServiceId", svcID, "VpcEndpointId.1", ep.ID, "VpcEndpointId.2", missing), &rejected)
	wantItems := []xmlUnsuccessful{{ResourceID: missing, Code: "InvalidVpcEndpoint.NotFound", Message: "The Vpc Endpoint Id '" + missing + "' does not exist"}}
	if diff := cmp.Diff(wantItems, rejected.Items); diff != "" {
		t.Errorf("RejectVpcEndpointConnections mismatch (-want +got):\n%s", diff)
	}
	var accepted struct {
		Items []xmlUnsuccessful `xml:"unsuccessful>item"`
	}
	w.must(prov, q("Action", "AcceptVpcEndpointConnections", "ServiceId", svcID, "VpcEndpointId.1", ep.ID), &accepted)
	if len(accepted.Items) != 1 || accepted.Items[0].Code != "InvalidStateTransition" {
		t.Errorf("AcceptVpcEndpointConnections of a rejected endpoint = %+v", accepted.Items)
	}

	// Delete: an unknown id is an unsuccessful item, the service goes,
	// and an empty <unsuccessful/> says all went well.
	unknown := model.NewID(model.PrefixVpcEndpointService)
	var deleted struct {
		Items []xmlUnsuccessful `xml:"unsuccessful>item"`
	}
	w.must(prov, q("Action", "DeleteVpcEndpointServiceConfigurations", "ServiceId.1", svcID, "ServiceId.2", unknown), &deleted)
	if len(deleted.Items) != 1 || deleted.Items[0].ResourceID != unknown || deleted.Items[0].Code != "InvalidVpcEndpointServiceId.NotFound" {
		t.Errorf("DeleteVpcEndpointServiceConfigurations = %+v", deleted.Items)
	}
	_, err = w.call(prov, q("Action", "DescribeVpcEndpointServiceConfigurations", "ServiceId.1", svcID))
	wantErr(t, err, "InvalidVpcEndpointServiceId.NotFound", http.StatusBadRequest)
	body = w.must(prov, q("Action", "DeleteVpcEndpointServiceConfigurations", "ServiceId.1", model.NewID(model.PrefixVpcEndpointService), "DryRun", "false"), nil)
	if !strings.Contains(string(body), "<unsuccessful><item>") {
		t.Errorf("delete of an unknown service = %s", body)
	}
}

func TestEndpointServiceActionsXML(t *testing.T) {
	w := newPvdWire(t)
	prov := pvdWireProvider
	// No private DNS name: an empty <privateDnsNameConfiguration/>, and no
	// payerResponsibility until it is set.
	body := w.must(prov, q("Action", "CreateVpcEndpointServiceConfiguration", "NetworkLoadBalancerArn.1", w.nlbARN), nil)
	for _, want := range []string{"<privateDnsNameConfiguration/>", "<acceptanceRequired>false</acceptanceRequired>",
		"<supportedRegionSet><item><region>us-east-1</region><serviceState>Available</serviceState></item></supportedRegionSet>",
		"<serviceType><item><serviceType>Interface</serviceType></item></serviceType>"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("create response lacks %s: %s", want, body)
		}
	}
	for _, unwanted := range []string{"payerResponsibility", "privateDnsName>", "gatewayLoadBalancerArnSet", "clientToken"} {
		if strings.Contains(string(body), unwanted) {
			t.Errorf("create response has %s: %s", unwanted, body)
		}
	}
	var created struct {
		ID string `xml:"serviceConfiguration>serviceId"`
	}
	if err := xml.Unmarshal(body, &created); err != nil {
		t.Fatal(err)
	}

	// Bad input is a 4xx AWS error, never a 500.
	tests := []struct {
		name, query, code string
		status            int
	}{
		{"no load balancer", q("Action", "CreateVpcEndpointServiceConfiguration"), "InvalidParameter", 400},
		{"gateway load balancer", q("Action", "CreateVpcEndpointServiceConfiguration", "GatewayLoadBalancerArn.1", "arn:aws:elasticloadbalancing:us-east-1:"+prov+":loadbalancer/gwy/g/0123456789abcdef"), "InvalidParameter", 400},
		{"load balancer in use", q("Action", "CreateVpcEndpointServiceConfiguration", "NetworkLoadBalancerArn.1", w.nlbARN), "InvalidParameter", 400},
		{"malformed ARN", q("Action", "CreateVpcEndpointServiceConfiguration", "NetworkLoadBalancerArn.1", "nlb"), "InvalidNetworkLoadBalancerArn.Malformed", 400},
		{"ipv6", q("Action", "CreateVpcEndpointServiceConfiguration", "NetworkLoadBalancerArn.1", w.nlbARN, "SupportedIpAddressType.1", "ipv6"), "InvalidParameter", 400},
		{"dry run", q("Action", "ModifyVpcEndpointServiceConfiguration", "ServiceId", created.ID, "DryRun", "true"), "DryRunOperation", 412},
		{"malformed id", q("Action", "DescribeVpcEndpointServiceConfigurations", "ServiceId.1", "vpce-svc-1"), "InvalidVpcEndpointServiceId.Malformed", 400},
		{"no private DNS name", q("Action", "StartVpcEndpointServicePrivateDnsVerification", "ServiceId", created.ID), "InvalidParameter", 400},
		{"payer endpoint owner", q("Action", "ModifyVpcEndpointServicePayerResponsibility", "ServiceId", created.ID, "PayerResponsibility", "EndpointOwner"), "InvalidParameterValue", 400},
		{"connections page of 1", q("Action", "DescribeVpcEndpointConnections", "MaxResults", "1"), "InvalidParameterValue", 400},
		{"permissions of nothing", q("Action", "DescribeVpcEndpointServicePermissions"), "MissingParameter", 400},
		{"accept without endpoints", q("Action", "AcceptVpcEndpointConnections", "ServiceId", created.ID), "MissingParameter", 400},
		{"delete nothing", q("Action", "DeleteVpcEndpointServiceConfigurations"), "MissingParameter", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.call(prov, tt.query)
			wantErr(t, err, tt.code, tt.status)
		})
	}
}
