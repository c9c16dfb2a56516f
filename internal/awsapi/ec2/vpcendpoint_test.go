package ec2

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/awsapi/apitest"
	"github.com/privlink/privlink/internal/controlplane"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

const (
	vpceTestProvider = "333333333333"
	vpceTestConsumer = "111111111111"
	vpceTestStranger = "222222222222"
)

// vpceHandlerEnv is an EC2 handler over a store with a provider's NLB in
// zones a and b and an endpoint service over it that allows the consumer
// (written straight into the store, as the provider's API would), and the
// consumer's VPC with a subnet in zones a and b.
type vpceHandlerEnv struct {
	consumer, stranger netClient
	svcID, svcName     string
	vpcID              string
	subnets            []string
	groupID            string
}

func newVpceHandlerEnv(t *testing.T) *vpceHandlerEnv {
	t.Helper()
	cp, st := apitest.ControlPlane(t, controlplane.Config{})
	ctx := t.Context()
	_, psubs := apitest.Network(t, cp, vpceTestProvider, "10.0.0.0/16")
	lb, err := cp.CreateLoadBalancer(ctx, vpceTestProvider, controlplane.CreateLoadBalancerInput{
		Name: "svc", Type: model.LoadBalancerTypeNetwork, Scheme: model.SchemeInternal, Subnets: psubs,
	})
	if err != nil {
		t.Fatal(err)
	}
	id := model.NewID(model.PrefixVpcEndpointService)
	svc := model.EndpointService{
		ID: id, OwnerID: vpceTestProvider, Name: model.EndpointServiceName("us-east-1", id), State: model.ServiceAvailable,
		NetworkLoadBalancerARNs: []string{lb.ARN}, SupportedIPAddressTypes: []string{"ipv4"},
		Principals: []model.AllowedPrincipal{{Principal: "arn:aws:iam::" + vpceTestConsumer + ":root", Type: model.PrincipalAccount, Account: vpceTestConsumer}},
	}
	b, err := json.Marshal(svc)
	if err != nil {
		t.Fatal(err)
	}
	key := store.Key(store.KindEndpointService, vpceTestProvider, id)
	if _, err := st.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put(key, b); err != nil {
			return err
		}
		return tx.Put(store.KindIndex+"/service-name/"+svc.Name, []byte(key))
	}); err != nil {
		t.Fatal(err)
	}

	h := Handler(cp)
	e := &vpceHandlerEnv{
		consumer: netClient{t, h, vpceTestConsumer}, stranger: netClient{t, h, vpceTestStranger},
		svcID: id, svcName: svc.Name,
	}
	e.vpcID, e.subnets = apitest.Network(t, cp, vpceTestConsumer, "10.1.0.0/16")
	g, err := cp.CreateSecurityGroup(ctx, vpceTestConsumer, controlplane.CreateSecurityGroupInput{GroupName: "ep", Description: "endpoint", VpcID: e.vpcID})
	if err != nil {
		t.Fatal(err)
	}
	e.groupID = g.ID
	return e
}

type xmlDNSEntry struct {
	DNSName      string `xml:"dnsName"`
	HostedZoneID string `xml:"hostedZoneId"`
}

type xmlVpcEndpoint struct {
	VpcEndpointID     string        `xml:"vpcEndpointId"`
	VpcEndpointType   string        `xml:"vpcEndpointType"`
	VpcID             string        `xml:"vpcId"`
	ServiceName       string        `xml:"serviceName"`
	ServiceRegion     string        `xml:"serviceRegion"`
	State             string        `xml:"state"`
	PolicyDocument    string        `xml:"policyDocument"`
	RouteTableIDs     []string      `xml:"routeTableIdSet>item"`
	SubnetIDs         []string      `xml:"subnetIdSet>item"`
	GroupIDs          []string      `xml:"groupSet>item>groupId"`
	GroupNames        []string      `xml:"groupSet>item>groupName"`
	IPAddressType     string        `xml:"ipAddressType"`
	DNSRecordIPType   string        `xml:"dnsOptions>dnsRecordIpType"`
	PrivateDNSEnabled string        `xml:"privateDnsEnabled"`
	RequesterManaged  string        `xml:"requesterManaged"`
	ENIs              []string      `xml:"networkInterfaceIdSet>item"`
	DNSEntries        []xmlDNSEntry `xml:"dnsEntrySet>item"`
	CreationTimestamp string        `xml:"creationTimestamp"`
	Tags              []xmlTag      `xml:"tagSet>item"`
	OwnerID           string        `xml:"ownerId"`
}

type xmlServiceDetail struct {
	ServiceName          string   `xml:"serviceName"`
	ServiceID            string   `xml:"serviceId"`
	ServiceType          string   `xml:"serviceType>item>serviceType"`
	ServiceRegion        string   `xml:"serviceRegion"`
	AvailabilityZones    []string `xml:"availabilityZoneSet>item"`
	AvailabilityZoneIDs  []string `xml:"availabilityZoneIdSet>item"`
	Owner                string   `xml:"owner"`
	BaseEndpointDNSNames []string `xml:"baseEndpointDnsNameSet>item"`
	PolicySupported      string   `xml:"vpcEndpointPolicySupported"`
	AcceptanceRequired   string   `xml:"acceptanceRequired"`
	ManagesVpcEndpoints  string   `xml:"managesVpcEndpoints"`
	SupportedIPTypes     []string `xml:"supportedIpAddressTypeSet>item"`
	TagSet               *string  `xml:"tagSet"` // sent empty when untagged
}

func TestVpcEndpointActions(t *testing.T) {
	e := newVpceHandlerEnv(t)
	c := e.consumer

	var services struct {
		Names   []string           `xml:"serviceNameSet>item"`
		Details []xmlServiceDetail `xml:"serviceDetailSet>item"`
	}
	c.must("DescribeVpcEndpointServices", awsapi.Params{"ServiceName.1": e.svcName}, &services)
	wantDetail := xmlServiceDetail{
		ServiceName: e.svcName, ServiceID: e.svcID, ServiceType: "Interface", ServiceRegion: "us-east-1",
		AvailabilityZones: []string{"us-east-1a", "us-east-1b"}, AvailabilityZoneIDs: []string{"use1-az1", "use1-az2"},
		Owner: vpceTestProvider, BaseEndpointDNSNames: []string{e.svcID + ".us-east-1.vpce.amazonaws.com"},
		PolicySupported: "false", AcceptanceRequired: "false", ManagesVpcEndpoints: "false", SupportedIPTypes: []string{"ipv4"},
		TagSet: new(""),
	}
	if diff := cmp.Diff([]string{e.svcName}, services.Names); diff != "" {
		t.Errorf("serviceNameSet mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]xmlServiceDetail{wantDetail}, services.Details); diff != "" {
		t.Errorf("serviceDetailSet mismatch (-want +got):\n%s", diff)
	}
	err := e.stranger.call("DescribeVpcEndpointServices", awsapi.Params{"ServiceName.1": e.svcName}, nil)
	wantErr(t, err, "InvalidServiceName", http.StatusBadRequest)

	var created struct {
		VpcEndpoint xmlVpcEndpoint `xml:"vpcEndpoint"`
	}
	c.must("CreateVpcEndpoint", awsapi.Params{
		"VpcEndpointType":                 "Interface",
		"VpcId":                           e.vpcID,
		"ServiceName":                     e.svcName,
		"SubnetId.1":                      e.subnets[0],
		"SubnetId.2":                      e.subnets[1],
		"SecurityGroupId.1":               e.groupID,
		"PrivateDnsEnabled":               "false",
		"TagSpecification.1.ResourceType": "vpc-endpoint",
		"TagSpecification.1.Tag.1.Key":    "Name",
		"TagSpecification.1.Tag.1.Value":  "consumer-ep",
	}, &created)
	ep := created.VpcEndpoint
	if !model.ValidID("vpce", ep.VpcEndpointID) || len(ep.ENIs) != 2 || len(ep.DNSEntries) != 3 {
		t.Fatalf("CreateVpcEndpoint = %+v", ep)
	}
	label := strings.TrimSuffix(ep.DNSEntries[0].DNSName, "."+e.svcID+".us-east-1.vpce.amazonaws.com")
	want := xmlVpcEndpoint{
		VpcEndpointID: ep.VpcEndpointID, VpcEndpointType: "Interface", VpcID: e.vpcID, ServiceName: e.svcName,
		ServiceRegion: "us-east-1", State: "pending", PolicyDocument: controlplane.DefaultEndpointPolicy,
		SubnetIDs: e.subnets, GroupIDs: []string{e.groupID}, GroupNames: []string{"ep"},
		IPAddressType: "ipv4", DNSRecordIPType: "ipv4", PrivateDNSEnabled: "false", RequesterManaged: "false",
		ENIs: ep.ENIs,
		DNSEntries: []xmlDNSEntry{
			{label + "." + e.svcID + ".us-east-1.vpce.amazonaws.com", "Z7HUB22UULQXV"},
			{label + "-us-east-1a." + e.svcID + ".us-east-1.vpce.amazonaws.com", "Z7HUB22UULQXV"},
			{label + "-us-east-1b." + e.svcID + ".us-east-1.vpce.amazonaws.com", "Z7HUB22UULQXV"},
		},
		CreationTimestamp: ep.CreationTimestamp,
		Tags:              []xmlTag{{"Name", "consumer-ep"}},
		OwnerID:           vpceTestConsumer,
	}
	if diff := cmp.Diff(want, ep); diff != "" {
		t.Errorf("CreateVpcEndpoint mismatch (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(label, ep.VpcEndpointID+"-") || len(label) != len(ep.VpcEndpointID)+9 {
		t.Errorf("DNS label %q, want %s-<8 random>", label, ep.VpcEndpointID)
	}
	if !strings.HasSuffix(ep.CreationTimestamp, "Z") {
		t.Errorf("creationTimestamp %q, want ISO 8601 UTC", ep.CreationTimestamp)
	}

	// The body itself: the empty routeTableIdSet AWS sends.
	body, err := apitest.Call(t, c.h, "ec2", vpceTestConsumer, "DescribeVpcEndpoints",
		awsapi.Params{"Filter.1.Name": "vpc-endpoint-state", "Filter.1.Value.1": "pending", "Filter.1.Value.2": "pendingAcceptance"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"<vpcEndpointSet><item>", "<routeTableIdSet/>", "<state>pending</state>", "<vpcEndpointId>" + ep.VpcEndpointID + "</vpcEndpointId>"} {
		if !strings.Contains(string(body), s) {
			t.Errorf("DescribeVpcEndpoints body lacks %s:\n%s", s, body)
		}
	}

	var described struct {
		Endpoints []xmlVpcEndpoint `xml:"vpcEndpointSet>item"`
	}
	c.must("DescribeVpcEndpoints", awsapi.Params{"VpcEndpointId.1": ep.VpcEndpointID}, &described)
	if diff := cmp.Diff([]xmlVpcEndpoint{want}, described.Endpoints); diff != "" {
		t.Errorf("DescribeVpcEndpoints mismatch (-want +got):\n%s", diff)
	}
	err = c.call("DescribeVpcEndpoints", awsapi.Params{"VpcEndpointId.1": "vpce-0123456789abcdef0"}, nil)
	wantErr(t, err, "InvalidVpcEndpointId.NotFound", http.StatusBadRequest)

	var modified struct {
		Return string `xml:"return"`
	}
	c.must("ModifyVpcEndpoint", awsapi.Params{"VpcEndpointId": ep.VpcEndpointID, "RemoveSubnetId.1": e.subnets[1]}, &modified)
	if modified.Return != "true" {
		t.Errorf("ModifyVpcEndpoint return = %q, want true", modified.Return)
	}
	described.Endpoints = nil // xml.Unmarshal appends to slices
	c.must("DescribeVpcEndpoints", awsapi.Params{"VpcEndpointId.1": ep.VpcEndpointID}, &described)
	if got := described.Endpoints[0].SubnetIDs; !cmp.Equal(got, e.subnets[:1]) {
		t.Errorf("subnets after ModifyVpcEndpoint: %v, want %v", got, e.subnets[:1])
	}
	err = c.call("ModifyVpcEndpoint", awsapi.Params{"VpcEndpointId": ep.VpcEndpointID, "AddRouteTableId.1": "rtb-12345678"}, nil)
	wantErr(t, err, "InvalidParameter", http.StatusBadRequest)

	type xmlUnsuccessful struct {
		Code       string `xml:"error>code"`
		Message    string `xml:"error>message"`
		ResourceID string `xml:"resourceId"`
	}
	var deleted struct {
		Unsuccessful []xmlUnsuccessful `xml:"unsuccessful>item"`
	}
	c.must("DeleteVpcEndpoints", awsapi.Params{"VpcEndpointId.1": ep.VpcEndpointID, "VpcEndpointId.2": "vpce-0123456789abcdef0"}, &deleted)
	wantUnsuccessful := []xmlUnsuccessful{{
		Code: "InvalidVpcEndpoint.NotFound", Message: "The VpcEndpoint Id 'vpce-0123456789abcdef0' does not exist", ResourceID: "vpce-0123456789abcdef0",
	}}
	if diff := cmp.Diff(wantUnsuccessful, deleted.Unsuccessful); diff != "" {
		t.Errorf("DeleteVpcEndpoints mismatch (-want +got):\n%s", diff)
	}
	described.Endpoints = nil
	c.must("DescribeVpcEndpoints", awsapi.Params{"VpcEndpointId.1": ep.VpcEndpointID}, &described)
	if got := described.Endpoints[0].State; got != "deleting" {
		t.Errorf("state after DeleteVpcEndpoints = %q, want deleting", got)
	}

	// Nothing failed: an empty unsuccessful list.
	if body, err = apitest.Call(t, c.h, "ec2", vpceTestConsumer, "DeleteVpcEndpoints", awsapi.Params{"VpcEndpointId.1": ep.VpcEndpointID}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), "<unsuccessful/>") {
		t.Errorf("DeleteVpcEndpoints body lacks <unsuccessful/>:\n%s", body)
	}
}

func TestVpcEndpointActionErrors(t *testing.T) {
	e := newVpceHandlerEnv(t)
	tests := []struct {
		name   string
		action string
		params awsapi.Params
		code   string
	}{
		{"no vpc", "CreateVpcEndpoint", awsapi.Params{"VpcEndpointType": "Interface", "ServiceName": e.svcName, "SubnetId.1": e.subnets[0]}, "MissingParameter"},
		{"gateway default with subnets", "CreateVpcEndpoint", awsapi.Params{"VpcId": e.vpcID, "ServiceName": e.svcName, "SubnetId.1": e.subnets[0]}, "InvalidParameter"},
		{"unknown service", "CreateVpcEndpoint", awsapi.Params{"VpcEndpointType": "Interface", "VpcId": e.vpcID, "ServiceName": "com.amazonaws.us-east-1.s3", "SubnetId.1": e.subnets[0]}, "InvalidServiceName"},
		{"malformed subnet", "CreateVpcEndpoint", awsapi.Params{"VpcEndpointType": "Interface", "VpcId": e.vpcID, "ServiceName": e.svcName, "SubnetId.1": "subnet"}, "InvalidSubnetId.Malformed"},
		{"bad policy", "CreateVpcEndpoint", awsapi.Params{"VpcEndpointType": "Interface", "VpcId": e.vpcID, "ServiceName": e.svcName, "SubnetId.1": e.subnets[0], "PolicyDocument": "{"}, "InvalidPolicyDocument"},
		{"dualstack", "CreateVpcEndpoint", awsapi.Params{"VpcEndpointType": "Interface", "VpcId": e.vpcID, "ServiceName": e.svcName, "SubnetId.1": e.subnets[0], "IpAddressType": "dualstack"}, "InvalidParameter"},
		{"ipv6 records", "CreateVpcEndpoint", awsapi.Params{"VpcEndpointType": "Interface", "VpcId": e.vpcID, "ServiceName": e.svcName, "SubnetId.1": e.subnets[0], "DnsOptions.DnsRecordIpType": "ipv6"}, "InvalidParameter"},
		{"ipv6 address", "CreateVpcEndpoint", awsapi.Params{"VpcEndpointType": "Interface", "VpcId": e.vpcID, "ServiceName": e.svcName, "SubnetConfiguration.1.SubnetId": e.subnets[0], "SubnetConfiguration.1.Ipv6": "2001:db8::5"}, "InvalidParameter"},
		{"unknown filter", "DescribeVpcEndpoints", awsapi.Params{"Filter.1.Name": "bogus", "Filter.1.Value.1": "x"}, "InvalidParameterValue"},
		{"malformed id", "DescribeVpcEndpoints", awsapi.Params{"VpcEndpointId.1": "vpce-nope"}, "InvalidVpcEndpointId.Malformed"},
		{"modify unknown", "ModifyVpcEndpoint", awsapi.Params{"VpcEndpointId": "vpce-0123456789abcdef0"}, "InvalidVpcEndpointId.NotFound"},
		{"services filter", "DescribeVpcEndpointServices", awsapi.Params{"Filter.1.Name": "bogus", "Filter.1.Value.1": "x"}, "InvalidParameterValue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, e.consumer.call(tt.action, tt.params, nil), tt.code, http.StatusBadRequest)
		})
	}

	// Another account cannot use the consumer's VPC.
	err := e.stranger.call("CreateVpcEndpoint", awsapi.Params{"VpcEndpointType": "Interface", "VpcId": e.vpcID, "ServiceName": e.svcName, "SubnetId.1": e.subnets[0]}, nil)
	wantErr(t, err, "InvalidVpcID.NotFound", http.StatusBadRequest)

	// DryRun answers 412.
	err = e.consumer.call("CreateVpcEndpoint", awsapi.Params{
		"VpcEndpointType": "Interface", "VpcId": e.vpcID, "ServiceName": e.svcName, "SubnetId.1": e.subnets[0], "DryRun": "true",
	}, nil)
	wantErr(t, err, "DryRunOperation", http.StatusPreconditionFailed)

	// The ClientToken comes back, and a retry returns the same endpoint.
	params := awsapi.Params{"VpcEndpointType": "Interface", "VpcId": e.vpcID, "ServiceName": e.svcName, "SubnetId.1": e.subnets[0], "ClientToken": "tok"}
	var first, second struct {
		ClientToken string `xml:"clientToken"`
		ID          string `xml:"vpcEndpoint>vpcEndpointId"`
	}
	e.consumer.must("CreateVpcEndpoint", params, &first)
	e.consumer.must("CreateVpcEndpoint", params, &second)
	if first.ClientToken != "tok" || first.ID == "" || first != second {
		t.Errorf("ClientToken retry: %+v then %+v", first, second)
	}
}

// TestVpcEndpointXMLShape decodes the CreateVpcEndpoint response with the
// element paths of the reference's worked example, to catch a renamed
// element.
func TestVpcEndpointXMLShape(t *testing.T) {
	e := newVpceHandlerEnv(t)
	body, err := apitest.Call(t, e.consumer.h, "ec2", vpceTestConsumer, "CreateVpcEndpoint",
		awsapi.Params{"VpcEndpointType": "Interface", "VpcId": e.vpcID, "ServiceName": e.svcName, "SubnetId.1": e.subnets[0]})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		`<CreateVpcEndpointResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-1</requestId><vpcEndpoint>`,
		"<vpcEndpointType>Interface</vpcEndpointType>",
		"<routeTableIdSet/>",
		"<groupSet><item><groupId>",
		"<groupName>default</groupName>",
		"<dnsOptions><dnsRecordIpType>ipv4</dnsRecordIpType></dnsOptions>",
		"<privateDnsEnabled>false</privateDnsEnabled>",
		"<requesterManaged>false</requesterManaged>",
		"<dnsEntrySet><item><dnsName>vpce-",
		"<hostedZoneId>Z7HUB22UULQXV</hostedZoneId>",
		"<tagSet/>",
		"<ownerId>" + vpceTestConsumer + "</ownerId>",
	} {
		if !strings.Contains(string(body), s) {
			t.Errorf("CreateVpcEndpoint body lacks %s:\n%s", s, body)
		}
	}
}
