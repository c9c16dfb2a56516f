package controlplane

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// What the consumer-side PrivateLink tests share: a provider with an NLB
// in zones a and b and endpoint services over it (written straight into
// the store), and a consumer with a VPC that has a subnet in every zone.

const (
	vpceProvider = "333333333333"
	vpceConsumer = netAcctA
	vpceStranger = netAcctB
)

// consumerEnv is the fixture of the consumer-side tests.
type consumerEnv struct {
	s     *Service
	st    store.Store
	clock *testClock
	lb    LoadBalancer // the provider's NLB, nodes in zones a and b
	// svc allows vpceConsumer and needs no acceptance; its private DNS
	// name is verified.
	svc *model.EndpointService
	// The consumer's VPC (DNS support and hostnames on) with subnets in
	// zones a, b and c, a second subnet in zone a, and a security group.
	vpc     model.Vpc
	sub     map[string]Subnet // "a", "b", "c", "a2"
	sg      *model.SecurityGroup
	other   model.Vpc // a second VPC of the consumer, with a subnet and a group
	otherSn Subnet
	otherSg *model.SecurityGroup
}

func newConsumerEnv(t *testing.T) *consumerEnv {
	t.Helper()
	s, st, clock := newInstanceTestService(t, nil)
	e := &consumerEnv{s: s, st: st, clock: clock, sub: map[string]Subnet{}}
	pvpc := mustVpc(t, s, vpceProvider, "10.0.0.0/16")
	var psubs []string
	for i, z := range []string{"a", "b"} {
		sn, err := s.CreateSubnet(t.Context(), vpceProvider, CreateSubnetInput{
			VpcID: pvpc.ID, CidrBlock: fmt.Sprintf("10.0.%d.0/24", i+1), AvailabilityZone: "us-east-1" + z,
		})
		if err != nil {
			t.Fatal(err)
		}
		psubs = append(psubs, sn.ID)
	}
	lb, err := s.CreateLoadBalancer(t.Context(), vpceProvider, CreateLoadBalancerInput{
		Name: "svc", Type: model.LoadBalancerTypeNetwork, Scheme: model.SchemeInternal, Subnets: psubs,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.lb = lb
	e.svc = e.putService(t, func(svc *model.EndpointService) {
		svc.PrivateDNSName = "api.example.com"
		svc.PrivateDNS = &model.PrivateDNSNameState{State: model.DNSVerified, Type: "TXT", Name: "_abc", Value: "vpce:xyz"}
		svc.Tags = []model.Tag{{Key: "team", Value: "provider"}}
	})

	e.vpc = mustVpc(t, s, vpceConsumer, "10.1.0.0/16")
	e.dnsHostnames(t, e.vpc.ID)
	for i, z := range []string{"a", "b", "c", "a2"} {
		sn, err := s.CreateSubnet(t.Context(), vpceConsumer, CreateSubnetInput{
			VpcID: e.vpc.ID, CidrBlock: fmt.Sprintf("10.1.%d.0/24", i+1), AvailabilityZone: "us-east-1" + z[:1],
		})
		if err != nil {
			t.Fatal(err)
		}
		e.sub[z] = sn
	}
	e.sg = mustGroup(t, s, vpceConsumer, e.vpc.ID, "endpoints")
	e.other = mustVpc(t, s, vpceConsumer, "10.2.0.0/16")
	e.otherSn = mustSubnet(t, s, vpceConsumer, e.other.ID, "10.2.1.0/24")
	e.otherSg = mustGroup(t, s, vpceConsumer, e.other.ID, "elsewhere")
	return e
}

// putService writes an Available service of vpceProvider over the NLB that
// allows vpceConsumer, edited by edit.
func (e *consumerEnv) putService(t *testing.T, edit func(*model.EndpointService)) *model.EndpointService {
	t.Helper()
	id := model.NewID(model.PrefixVpcEndpointService)
	svc := &model.EndpointService{
		ID: id, OwnerID: vpceProvider, Name: model.EndpointServiceName("us-east-1", id),
		State: model.ServiceAvailable, NetworkLoadBalancerARNs: []string{e.lb.ARN},
		SupportedIPAddressTypes: []string{"ipv4"},
		Principals: []model.AllowedPrincipal{{
			ID: model.NewID(model.PrefixServicePermission), Principal: "arn:aws:iam::" + vpceConsumer + ":root",
			Type: model.PrincipalAccount, Account: vpceConsumer,
		}},
		Created: testEpoch,
	}
	if edit != nil {
		edit(svc)
	}
	_, err := e.st.Update(t.Context(), func(tx store.Tx) error { return putEndpointService(tx, svc) })
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// dnsHostnames turns DNS hostnames on in a VPC.
func (e *consumerEnv) dnsHostnames(t *testing.T, vpcID string) {
	t.Helper()
	if err := e.s.ModifyVpcAttribute(t.Context(), vpceConsumer, ModifyVpcAttributeInput{VpcID: vpcID, EnableDnsHostnames: new(true)}); err != nil {
		t.Fatal(err)
	}
}

// in returns an Interface CreateVpcEndpoint input for svc in the
// consumer's VPC with the subnets of zones, edited by edit.
func (e *consumerEnv) in(svc *model.EndpointService, zones []string, edit func(*CreateVpcEndpointInput)) CreateVpcEndpointInput {
	in := CreateVpcEndpointInput{VpcEndpointType: "Interface", VpcID: e.vpc.ID, ServiceName: svc.Name}
	for _, z := range zones {
		in.SubnetIDs = append(in.SubnetIDs, e.sub[z].ID)
	}
	if edit != nil {
		edit(&in)
	}
	return in
}

func (e *consumerEnv) create(t *testing.T, in CreateVpcEndpointInput) VpcEndpoint {
	t.Helper()
	out, err := e.s.CreateVpcEndpoint(t.Context(), vpceConsumer, in)
	if err != nil {
		t.Fatalf("CreateVpcEndpoint: %v", err)
	}
	return out.VpcEndpoint
}

func (e *consumerEnv) endpoint(t *testing.T, id string) *model.VpcEndpoint {
	t.Helper()
	v, found := getTestRecord[model.VpcEndpoint](t, e.st, vpcEndpointKey(vpceConsumer, id))
	if !found {
		t.Fatalf("endpoint %s not stored", id)
	}
	return v
}

func (e *consumerEnv) eni(t *testing.T, id string) (*model.NetworkInterface, bool) {
	t.Helper()
	return getTestRecord[model.NetworkInterface](t, e.st, eniKey(vpceConsumer, id))
}

// wantCodeMsg fails unless err is an AWS error with code and status, and
// with msg when msg is not empty.
func wantCodeMsg(t *testing.T, err error, code string, status int, msg string) {
	t.Helper()
	var ae *awsapi.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error = %v, want %s", err, code)
	}
	if ae.Code != code || ae.HTTPStatus() != status || msg != "" && ae.Message != msg {
		t.Errorf("error = %s (%d) %q,\n want %s (%d) %q", ae.Code, ae.HTTPStatus(), ae.Message, code, status, msg)
	}
}

func TestCreateVpcEndpoint(t *testing.T) {
	e := newConsumerEnv(t)
	out, err := e.s.CreateVpcEndpoint(t.Context(), vpceConsumer, e.in(e.svc, []string{"a", "b"}, func(in *CreateVpcEndpointInput) {
		in.SecurityGroupIDs = []string{e.sg.ID}
		in.TagSpecs = []TagSpec{{ResourceType: "vpc-endpoint", Tags: []model.Tag{{Key: "Name", Value: "consumer-ep"}}}}
	}))
	if err != nil {
		t.Fatal(err)
	}
	got := out.VpcEndpoint
	if !model.ValidID("vpce", got.ID) || len(got.ID) != len("vpce-")+17 {
		t.Errorf("VpcEndpointId = %q, want vpce-<17 hex>", got.ID)
	}
	if !model.ValidID("vpce-conn", got.ConnectionID) {
		t.Errorf("ConnectionID = %q, want vpce-conn-<hex>", got.ConnectionID)
	}
	if !strings.HasPrefix(got.DNSLabel, got.ID+"-") || len(got.DNSLabel) != len(got.ID)+9 {
		t.Errorf("DNSLabel = %q, want %s-<8 random>", got.DNSLabel, got.ID)
	}
	if len(got.ENIs) != 2 {
		t.Fatalf("ENIs = %+v, want two", got.ENIs)
	}
	base := got.ID + "-" + got.DNSLabel[len(got.ID)+1:]
	svcBase := e.svc.ID + ".us-east-1.vpce.amazonaws.com"
	want := VpcEndpoint{
		VpcEndpoint: model.VpcEndpoint{
			ID: got.ID, OwnerID: vpceConsumer, VpcID: e.vpc.ID, Type: "Interface",
			ServiceID: e.svc.ID, ServiceOwnerID: vpceProvider, ServiceName: e.svc.Name,
			State: "pending", ConnectionID: got.ConnectionID,
			ENIs: []model.EndpointENI{
				{SubnetID: e.sub["a"].ID, AvailabilityZone: "us-east-1a", AvailabilityZoneID: e.sub["a"].AvailabilityZoneID, ENIID: got.ENIs[0].ENIID, PrivateIP: "10.1.1.4"},
				{SubnetID: e.sub["b"].ID, AvailabilityZone: "us-east-1b", AvailabilityZoneID: e.sub["b"].AvailabilityZoneID, ENIID: got.ENIs[1].ENIID, PrivateIP: "10.1.2.4"},
			},
			Groups: []string{e.sg.ID}, PolicyDocument: DefaultEndpointPolicy,
			IPAddressType: "ipv4", DNSRecordIPType: "ipv4", DNSLabel: got.DNSLabel,
			Tags: []model.Tag{{Key: "Name", Value: "consumer-ep"}}, Created: testEpoch,
		},
		SubnetIDs:           []string{e.sub["a"].ID, e.sub["b"].ID},
		NetworkInterfaceIDs: []string{got.ENIs[0].ENIID, got.ENIs[1].ENIID},
		GroupSet:            []GroupIdentifier{{GroupID: e.sg.ID, GroupName: "endpoints"}},
		DNSEntries: []EndpointDNSEntry{
			{DNSName: base + "." + svcBase, HostedZoneID: "Z7HUB22UULQXV"},
			{DNSName: base + "-us-east-1a." + svcBase, HostedZoneID: "Z7HUB22UULQXV"},
			{DNSName: base + "-us-east-1b." + svcBase, HostedZoneID: "Z7HUB22UULQXV"},
		},
		ServiceRegion: "us-east-1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CreateVpcEndpoint() mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want.VpcEndpoint, *e.endpoint(t, got.ID)); diff != "" {
		t.Errorf("stored endpoint mismatch (-want +got):\n%s", diff)
	}

	// One requester-managed ENI per subnet, in the consumer's account.
	for i, en := range got.ENIs {
		eni, found := e.eni(t, en.ENIID)
		if !found {
			t.Fatalf("ENI %s not stored", en.ENIID)
		}
		wantENI := model.NetworkInterface{
			ID: en.ENIID, OwnerID: vpceConsumer, VpcID: e.vpc.ID, SubnetID: en.SubnetID,
			AvailabilityZone: en.AvailabilityZone, AvailabilityZoneID: en.AvailabilityZoneID,
			PrivateIP: en.PrivateIP, Groups: []string{e.sg.ID}, InterfaceType: "vpc_endpoint",
			Description: "VPC Endpoint Interface " + got.ID, Status: "in-use",
			RequesterManaged: true, RequesterID: "727180483921", InstanceOwnerID: "amazon-aws",
			DeviceIndex: 1, SourceDestCheck: true, AttachTime: testEpoch,
		}
		if diff := cmp.Diff(wantENI, *eni, cmpopts.IgnoreFields(model.NetworkInterface{}, "MacAddress", "BridgePort", "AttachmentID")); diff != "" {
			t.Errorf("ENI %d mismatch (-want +got):\n%s", i, diff)
		}
		if !model.ValidID("ela-attach", eni.AttachmentID) {
			t.Errorf("ENI %d attachment %q, want ela-attach-<hex>", i, eni.AttachmentID)
		}
	}

	// The provider finds the endpoint through the service's index.
	var connected []*model.VpcEndpoint
	if err := e.st.View(t.Context(), func(tx store.ReadTx) error {
		var err error
		connected, err = serviceEndpoints(tx, e.svc.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(connected) != 1 || connected[0].ID != got.ID {
		t.Errorf("serviceEndpoints = %v, want [%s]", connected, got.ID)
	}
}

func TestCreateVpcEndpointStates(t *testing.T) {
	e := newConsumerEnv(t)
	manual := e.putService(t, func(svc *model.EndpointService) { svc.AcceptanceRequired = true })
	tests := []struct {
		name string
		svc  *model.EndpointService
		want string
	}{
		{"automatic acceptance", e.svc, "pending"},
		{"acceptance required", manual, "pendingAcceptance"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.create(t, e.in(tt.svc, []string{"a"}, nil))
			if got.State != tt.want {
				t.Errorf("State = %q, want %q", got.State, tt.want)
			}
		})
	}
}

func TestCreateVpcEndpointDefaultsAndAddresses(t *testing.T) {
	e := newConsumerEnv(t)
	got := e.create(t, e.in(e.svc, []string{"a"}, func(in *CreateVpcEndpointInput) {
		in.SubnetConfigurations = []SubnetConfiguration{{SubnetID: e.sub["a"].ID, IPv4: "10.1.1.50"}, {SubnetID: e.sub["b"].ID}}
		in.PolicyDocument = new(`{"Statement":[{"Action":"*","Effect":"Allow","Principal":"*","Resource":"*"}]}`)
		in.DNSOptions = &EndpointDNSOptions{DNSRecordIPType: "service-defined"}
	}))
	// No groups: the VPC's default group. SubnetConfiguration gives the
	// address; a subnet without one gets the lowest free address.
	if diff := cmp.Diff([]string{e.vpc.DefaultGroupID}, got.Groups); diff != "" {
		t.Errorf("Groups mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]GroupIdentifier{{GroupID: e.vpc.DefaultGroupID, GroupName: "default"}}, got.GroupSet); diff != "" {
		t.Errorf("GroupSet mismatch (-want +got):\n%s", diff)
	}
	var ips []string
	for _, en := range got.ENIs {
		ips = append(ips, en.PrivateIP)
	}
	if diff := cmp.Diff([]string{"10.1.1.50", "10.1.2.4"}, ips); diff != "" {
		t.Errorf("addresses mismatch (-want +got):\n%s", diff)
	}
	if got.PrivateDNSEnabled || got.DNSRecordIPType != "service-defined" || !strings.Contains(got.PolicyDocument, `"Principal":"*"`) {
		t.Errorf("PrivateDNSEnabled %v, DNSRecordIPType %q, PolicyDocument %q", got.PrivateDNSEnabled, got.DNSRecordIPType, got.PolicyDocument)
	}
	// Gateway endpoints are the default type: AWS's error for subnets.
	_, err := e.s.CreateVpcEndpoint(t.Context(), vpceConsumer, e.in(e.svc, []string{"a"}, func(in *CreateVpcEndpointInput) { in.VpcEndpointType = "" }))
	wantCodeMsg(t, err, "InvalidParameter", 400, "Subnet IDs are only supported for Interface and GatewayLoadBalancer type VPC Endpoints.")
}

// TestCreateVpcEndpointBadInputs runs every bad input against one store and
// checks the code (and the message where AWS's is known) and that nothing
// was written.
func TestCreateVpcEndpointBadInputs(t *testing.T) {
	e := newConsumerEnv(t)
	noName := e.putService(t, func(svc *model.EndpointService) { svc.PrivateDNSName = "" })
	unverified := e.putService(t, func(svc *model.EndpointService) {
		svc.PrivateDNSName = "pending.example.com"
		svc.PrivateDNS = &model.PrivateDNSNameState{State: model.DNSPendingVerification, Type: "TXT", Name: "_x", Value: "vpce:y"}
	})
	pendingSvc := e.putService(t, func(svc *model.EndpointService) { svc.State = model.ServicePending })
	strangers := e.putService(t, func(svc *model.EndpointService) { svc.Principals = nil })
	noHostnames := mustVpc(t, e.s, vpceConsumer, "10.3.0.0/16")
	noHostnamesSn := mustSubnet(t, e.s, vpceConsumer, noHostnames.ID, "10.3.1.0/24")
	noSupport := mustVpc(t, e.s, vpceConsumer, "10.4.0.0/16")
	if err := e.s.ModifyVpcAttribute(t.Context(), vpceConsumer, ModifyVpcAttributeInput{VpcID: noSupport.ID, EnableDnsSupport: new(false)}); err != nil {
		t.Fatal(err)
	}
	noSupportSn := mustSubnet(t, e.s, vpceConsumer, noSupport.ID, "10.4.1.0/24")
	var sixGroups []string
	for i := range 6 {
		sixGroups = append(sixGroups, mustGroup(t, e.s, vpceConsumer, e.vpc.ID, fmt.Sprintf("g%d", i)).ID)
	}
	strangerVpc := mustVpc(t, e.s, vpceStranger, "10.1.0.0/16")
	strangerSn, err := e.s.CreateSubnet(t.Context(), vpceStranger, CreateSubnetInput{VpcID: strangerVpc.ID, CidrBlock: "10.1.1.0/24", AvailabilityZone: "us-east-1a"})
	if err != nil {
		t.Fatal(err)
	}
	name := e.svc.Name
	in := func(edit func(*CreateVpcEndpointInput)) CreateVpcEndpointInput {
		return e.in(e.svc, []string{"a"}, edit)
	}
	tests := []struct {
		name    string
		account string // "" is vpceConsumer
		in      CreateVpcEndpointInput
		code    string
		msg     string
	}{
		{"no vpc", "", in(func(in *CreateVpcEndpointInput) { in.VpcID = "" }), "MissingParameter", ""},
		{"gateway with subnets", "", in(func(in *CreateVpcEndpointInput) { in.VpcEndpointType = "Gateway" }), "InvalidParameter",
			"Subnet IDs are only supported for Interface and GatewayLoadBalancer type VPC Endpoints."},
		{"gateway to an interface service", "", in(func(in *CreateVpcEndpointInput) { in.VpcEndpointType, in.SubnetIDs = "", nil }), "InvalidParameter",
			"Endpoint type (Gateway) does not match available service types ([Interface])."},
		{"gateway load balancer type", "", in(func(in *CreateVpcEndpointInput) { in.VpcEndpointType = "GatewayLoadBalancer" }), "InvalidParameter",
			"Endpoint type (GatewayLoadBalancer) does not match available service types ([Interface])."},
		{"resource type", "", in(func(in *CreateVpcEndpointInput) { in.VpcEndpointType = "Resource" }), "UnsupportedOperation", ""},
		{"unknown type", "", in(func(in *CreateVpcEndpointInput) { in.VpcEndpointType = "interface" }), "InvalidParameterValue", ""},
		{"route tables on interface", "", in(func(in *CreateVpcEndpointInput) { in.RouteTableIDs = []string{"rtb-12345678"} }), "InvalidParameter",
			"Route table IDs are only supported for Gateway type VPC Endpoint."},
		{"no service name", "", in(func(in *CreateVpcEndpointInput) { in.ServiceName = "" }), "MissingParameter", ""},
		{"unknown service", "", in(func(in *CreateVpcEndpointInput) {
			in.ServiceName = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"
		}), "InvalidServiceName", "The Vpc Endpoint Service 'com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0' does not exist"},
		{"aws service", "", in(func(in *CreateVpcEndpointInput) { in.ServiceName = "com.amazonaws.us-east-1.s3" }), "InvalidServiceName",
			"The Vpc Endpoint Service 'com.amazonaws.us-east-1.s3' does not exist"},
		{"service not allowed", "", e.in(strangers, []string{"a"}, nil), "InvalidServiceName",
			"The Vpc Endpoint Service '" + strangers.Name + "' does not exist"},
		{"stranger to the service", vpceStranger, CreateVpcEndpointInput{
			VpcEndpointType: "Interface", VpcID: strangerVpc.ID, ServiceName: name, SubnetIDs: []string{strangerSn.ID},
		}, "InvalidServiceName", "The Vpc Endpoint Service '" + name + "' does not exist"},
		{"service pending", "", e.in(pendingSvc, []string{"a"}, nil), "InvalidServiceName", ""},
		{"other region", "", in(func(in *CreateVpcEndpointInput) { in.ServiceRegion = "us-west-2" }), "InvalidServiceName", ""},
		{"malformed vpc", "", in(func(in *CreateVpcEndpointInput) { in.VpcID = "vpc-xyz" }), "InvalidVpcID.Malformed", ""},
		{"unknown vpc", "", in(func(in *CreateVpcEndpointInput) { in.VpcID = "vpc-0123456789abcdef0" }), "InvalidVpcID.NotFound",
			"The vpc ID 'vpc-0123456789abcdef0' does not exist"},
		{"another account's vpc", "", in(func(in *CreateVpcEndpointInput) { in.VpcID = strangerVpc.ID }), "InvalidVpcID.NotFound", ""},
		{"no subnets", "", in(func(in *CreateVpcEndpointInput) { in.SubnetIDs = nil }), "InvalidParameter", ""},
		{"malformed subnet", "", in(func(in *CreateVpcEndpointInput) { in.SubnetIDs = []string{"module.vpc.subnets"} }), "InvalidSubnetId.Malformed",
			"Invalid Subnet Id: 'module.vpc.subnets' (expecting 'subnet-...; the Id may only contain lowercase alphanumeric characters and a single dash')"},
		{"unknown subnet", "", in(func(in *CreateVpcEndpointInput) { in.SubnetIDs = []string{"subnet-0123456789abcdef0"} }), "InvalidSubnetID.NotFound",
			"The subnet ID 'subnet-0123456789abcdef0' does not exist"},
		{"another account's subnet", "", in(func(in *CreateVpcEndpointInput) { in.SubnetIDs = []string{strangerSn.ID} }), "InvalidSubnetID.NotFound", ""},
		{"subnet of another vpc", "", in(func(in *CreateVpcEndpointInput) { in.SubnetIDs = []string{e.otherSn.ID} }), "InvalidParameter", ""},
		{"two subnets in one zone", "", e.in(e.svc, []string{"a", "b", "a2"}, nil), "DuplicateSubnetsInSameZone",
			"Found another VPC endpoint subnet in the availability zone of " + e.sub["a2"].ID + ". VPC endpoint subnets should be in different availability zones supported by the VPC endpoint service."},
		{"zone the service lacks", "", e.in(e.svc, []string{"a", "c"}, nil), "InvalidParameter",
			"The VPC endpoint service " + name + " does not support the availability zone of the subnet: " + e.sub["c"].ID + "."},
		{"malformed group", "", in(func(in *CreateVpcEndpointInput) { in.SecurityGroupIDs = []string{"sg-x"} }), "InvalidGroupId.Malformed", ""},
		{"unknown group", "", in(func(in *CreateVpcEndpointInput) { in.SecurityGroupIDs = []string{"sg-0123456789abcdef0"} }), "InvalidGroup.NotFound", ""},
		{"group of another vpc", "", in(func(in *CreateVpcEndpointInput) { in.SecurityGroupIDs = []string{e.otherSg.ID} }), "InvalidParameter", ""},
		{"six groups", "", in(func(in *CreateVpcEndpointInput) { in.SecurityGroupIDs = sixGroups }), "SecurityGroupsPerInterfaceLimitExceeded", ""},
		{"private dns without a name", "", e.in(noName, []string{"a"}, func(in *CreateVpcEndpointInput) { in.PrivateDNSEnabled = new(true) }), "InvalidParameter",
			"Private DNS can't be enabled because the service " + noName.Name + " does not provide a private DNS name."},
		{"private dns unverified", "", e.in(unverified, []string{"a"}, func(in *CreateVpcEndpointInput) { in.PrivateDNSEnabled = new(true) }), "InvalidParameter",
			"Private DNS can't be enabled because the private DNS name pending.example.com of the service " + unverified.Name + " has not been verified."},
		{"private dns without hostnames", "", in(func(in *CreateVpcEndpointInput) {
			in.VpcID, in.SubnetIDs, in.PrivateDNSEnabled = noHostnames.ID, []string{noHostnamesSn.ID}, new(true)
		}), "InvalidParameter", "Enabling private DNS requires both enableDnsSupport and enableDnsHostnames VPC attributes set to true for " + noHostnames.ID},
		{"private dns without dns support", "", in(func(in *CreateVpcEndpointInput) {
			in.VpcID, in.SubnetIDs, in.PrivateDNSEnabled = noSupport.ID, []string{noSupportSn.ID}, new(true)
		}), "InvalidParameter", "Enabling private DNS requires both enableDnsSupport and enableDnsHostnames VPC attributes set to true for " + noSupport.ID},
		{"dualstack", "", in(func(in *CreateVpcEndpointInput) { in.IPAddressType = "dualstack" }), "InvalidParameter", ""},
		{"ipv6", "", in(func(in *CreateVpcEndpointInput) { in.IPAddressType = "ipv6" }), "InvalidParameter", ""},
		{"bad ip address type", "", in(func(in *CreateVpcEndpointInput) { in.IPAddressType = "ipv5" }), "InvalidParameterValue", ""},
		{"ipv6 dns records", "", in(func(in *CreateVpcEndpointInput) { in.DNSOptions = &EndpointDNSOptions{DNSRecordIPType: "ipv6"} }), "InvalidParameter", ""},
		{"bad dns record type", "", in(func(in *CreateVpcEndpointInput) { in.DNSOptions = &EndpointDNSOptions{DNSRecordIPType: "v4"} }), "InvalidParameterValue", ""},
		{"inbound resolver only", "", in(func(in *CreateVpcEndpointInput) {
			in.DNSOptions = &EndpointDNSOptions{PrivateDNSOnlyForInboundResolverEndpoint: new(true)}
		}), "InvalidParameter", ""},
		{"private dns preference", "", in(func(in *CreateVpcEndpointInput) {
			in.DNSOptions = &EndpointDNSOptions{PrivateDNSPreference: "ALL_DOMAINS"}
		}), "InvalidParameter", ""},
		{"policy not json", "", in(func(in *CreateVpcEndpointInput) {
			in.PolicyDocument = new("{\n  \"Statement\": [\n    {\"Effect\": Allow}]}")
		}),
			"InvalidPolicyDocument", "The Policy Document is not valid. Syntax error at position (3,16)"},
		{"policy not an object", "", in(func(in *CreateVpcEndpointInput) { in.PolicyDocument = new(`[]`) }), "InvalidPolicyDocument", ""},
		{"policy too long", "", in(func(in *CreateVpcEndpointInput) {
			in.PolicyDocument = new(`{"Statement":[],"x":"` + strings.Repeat("a", 20480) + `"}`)
		}), "InvalidPolicyDocument", ""},
		{"ipv6 address", "", in(func(in *CreateVpcEndpointInput) {
			in.SubnetConfigurations = []SubnetConfiguration{{SubnetID: e.sub["a"].ID, IPv6: "2001:db8::1"}}
		}), "InvalidParameter", ""},
		{"bad ipv4 address", "", in(func(in *CreateVpcEndpointInput) {
			in.SubnetConfigurations = []SubnetConfiguration{{SubnetID: e.sub["a"].ID, IPv4: "10.1.1"}}
		}), "InvalidParameterValue", ""},
		{"address outside the subnet", "", in(func(in *CreateVpcEndpointInput) {
			in.SubnetConfigurations = []SubnetConfiguration{{SubnetID: e.sub["a"].ID, IPv4: "10.1.2.10"}}
		}), "InvalidParameterValue", ""},
		{"reserved address", "", in(func(in *CreateVpcEndpointInput) {
			in.SubnetConfigurations = []SubnetConfiguration{{SubnetID: e.sub["a"].ID, IPv4: "10.1.1.2"}}
		}), "InvalidParameterValue", ""},
		{"configuration without subnet", "", in(func(in *CreateVpcEndpointInput) {
			in.SubnetConfigurations = []SubnetConfiguration{{IPv4: "10.1.1.9"}}
		}), "InvalidParameter", ""},
		{"tags for another type", "", in(func(in *CreateVpcEndpointInput) {
			in.TagSpecs = []TagSpec{{ResourceType: "vpc", Tags: []model.Tag{{Key: "k", Value: "v"}}}}
		}), "InvalidParameterValue", ""},
		{"client token too long", "", in(func(in *CreateVpcEndpointInput) { in.ClientToken = strings.Repeat("t", 65) }), "InvalidParameterValue", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			account := tt.account
			if account == "" {
				account = vpceConsumer
			}
			before := netRev(t, e.st)
			_, err := e.s.CreateVpcEndpoint(t.Context(), account, tt.in)
			wantCodeMsg(t, err, tt.code, 400, tt.msg)
			if after := netRev(t, e.st); after != before {
				t.Errorf("store revision moved from %d to %d: a bad input wrote", before, after)
			}
		})
	}

	t.Run("dry run", func(t *testing.T) {
		before := netRev(t, e.st)
		_, err := e.s.CreateVpcEndpoint(t.Context(), vpceConsumer, in(func(in *CreateVpcEndpointInput) { in.DryRun = true }))
		wantCodeMsg(t, err, "DryRunOperation", 412, "Request would have succeeded, but DryRun flag is set.")
		if after := netRev(t, e.st); after != before {
			t.Errorf("store revision moved from %d to %d: a dry run wrote", before, after)
		}
		// A dry run checks everything a real call does.
		_, err = e.s.CreateVpcEndpoint(t.Context(), vpceConsumer, e.in(e.svc, []string{"c"}, func(in *CreateVpcEndpointInput) { in.DryRun = true }))
		wantCodeMsg(t, err, "InvalidParameter", 400, "")
	})
}

func TestCreateVpcEndpointPrivateDNS(t *testing.T) {
	e := newConsumerEnv(t)
	got := e.create(t, e.in(e.svc, []string{"a"}, func(in *CreateVpcEndpointInput) { in.PrivateDNSEnabled = new(true) }))
	if !got.PrivateDNSEnabled {
		t.Fatal("PrivateDNSEnabled = false, want true")
	}
	last := got.DNSEntries[len(got.DNSEntries)-1]
	if len(got.DNSEntries) != 3 || last.DNSName != "api.example.com" || !strings.HasPrefix(last.HostedZoneID, "Z") || last.HostedZoneID == "Z7HUB22UULQXV" {
		t.Errorf("DNSEntries = %+v, want regional, zonal, then api.example.com in a private zone", got.DNSEntries)
	}
	if again := privateHostedZoneID(e.vpc.ID, "api.example.com"); again != last.HostedZoneID {
		t.Errorf("private zone id %q, then %q: want it stable", last.HostedZoneID, again)
	}

	// A second endpoint for the same name in the VPC conflicts; without
	// private DNS, or in another VPC, it does not.
	twin := e.putService(t, func(svc *model.EndpointService) {
		svc.PrivateDNSName = "API.example.com"
		svc.PrivateDNS = &model.PrivateDNSNameState{State: model.DNSVerified}
	})
	_, err := e.s.CreateVpcEndpoint(t.Context(), vpceConsumer, e.in(twin, []string{"b"}, func(in *CreateVpcEndpointInput) { in.PrivateDNSEnabled = new(true) }))
	wantCodeMsg(t, err, "InvalidParameter", 400,
		"private-dns-enabled cannot be set because there is already a conflicting DNS domain for API.example.com in the VPC "+e.vpc.ID)
	e.create(t, e.in(twin, []string{"b"}, nil))
	e.dnsHostnames(t, e.other.ID)
	e.create(t, CreateVpcEndpointInput{
		VpcEndpointType: "Interface", VpcID: e.other.ID, ServiceName: twin.Name, SubnetIDs: []string{e.otherSn.ID}, PrivateDNSEnabled: new(true),
	})
	// Once the first endpoint is deleting, its name is free.
	if _, err := e.s.DeleteVpcEndpoints(t.Context(), vpceConsumer, DeleteVpcEndpointsInput{VpcEndpointIDs: []string{got.ID}}); err != nil {
		t.Fatal(err)
	}
	e.create(t, e.in(twin, []string{"b"}, func(in *CreateVpcEndpointInput) { in.PrivateDNSEnabled = new(true) }))
}

func TestCreateVpcEndpointClientToken(t *testing.T) {
	e := newConsumerEnv(t)
	in := e.in(e.svc, []string{"a"}, func(in *CreateVpcEndpointInput) { in.ClientToken = "token-1" })
	first, err := e.s.CreateVpcEndpoint(t.Context(), vpceConsumer, in)
	if err != nil {
		t.Fatal(err)
	}
	if first.ClientToken != "token-1" {
		t.Errorf("ClientToken = %q, want token-1", first.ClientToken)
	}
	again, err := e.s.CreateVpcEndpoint(t.Context(), vpceConsumer, in)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("retry mismatch (-want +got):\n%s", diff)
	}
	all, err := e.s.DescribeVpcEndpoints(t.Context(), vpceConsumer, DescribeVpcEndpointsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.VpcEndpoints) != 1 {
		t.Errorf("%d endpoints after a retry, want 1", len(all.VpcEndpoints))
	}
	other := in
	other.SubnetIDs = []string{e.sub["b"].ID}
	_, err = e.s.CreateVpcEndpoint(t.Context(), vpceConsumer, other)
	wantCodeMsg(t, err, "IdempotentParameterMismatch", 400, "")
}

func TestCreateVpcEndpointLimit(t *testing.T) {
	e := newConsumerEnv(t)
	recs := map[string]any{}
	for range maxInterfaceEndpointsPerVpc {
		id := model.NewID(model.PrefixVpcEndpoint)
		recs[vpcEndpointKey(vpceConsumer, id)] = model.VpcEndpoint{ID: id, OwnerID: vpceConsumer, VpcID: e.vpc.ID, Type: "Interface", State: "available"}
	}
	putTestRecords(t, e.st, recs)
	_, err := e.s.CreateVpcEndpoint(t.Context(), vpceConsumer, e.in(e.svc, []string{"a"}, nil))
	wantCodeMsg(t, err, "VpcEndpointLimitExceeded", 400, "")
	// Another VPC has its own quota.
	e.create(t, CreateVpcEndpointInput{VpcEndpointType: "Interface", VpcID: e.other.ID, ServiceName: e.svc.Name, SubnetIDs: []string{e.otherSn.ID}})
}

func TestDescribeVpcEndpoints(t *testing.T) {
	e := newConsumerEnv(t)
	manual := e.putService(t, func(svc *model.EndpointService) { svc.AcceptanceRequired = true })
	ep1 := e.create(t, e.in(e.svc, []string{"a"}, func(in *CreateVpcEndpointInput) {
		in.TagSpecs = []TagSpec{{ResourceType: "vpc-endpoint", Tags: []model.Tag{{Key: "env", Value: "prod"}}}}
	}))
	ep2 := e.create(t, e.in(manual, []string{"b"}, nil))
	ep3 := e.create(t, CreateVpcEndpointInput{VpcEndpointType: "Interface", VpcID: e.other.ID, ServiceName: e.svc.Name, SubnetIDs: []string{e.otherSn.ID}})
	if _, err := e.s.DeleteVpcEndpoints(t.Context(), vpceConsumer, DeleteVpcEndpointsInput{VpcEndpointIDs: []string{ep3.ID}}); err != nil {
		t.Fatal(err)
	}
	f := func(name string, values ...string) []Filter { return []Filter{{Name: name, Values: values}} }
	tests := []struct {
		name string
		in   DescribeVpcEndpointsInput
		want []string
	}{
		{"all, deleting included", DescribeVpcEndpointsInput{}, vpceSorted(ep1.ID, ep2.ID, ep3.ID)},
		{"by id", DescribeVpcEndpointsInput{VpcEndpointIDs: []string{ep2.ID, ep1.ID}}, vpceSorted(ep1.ID, ep2.ID)},
		{"vpc-id", DescribeVpcEndpointsInput{Filters: f("vpc-id", e.vpc.ID)}, vpceSorted(ep1.ID, ep2.ID)},
		{"service-name", DescribeVpcEndpointsInput{Filters: f("service-name", manual.Name)}, []string{ep2.ID}},
		{"state", DescribeVpcEndpointsInput{Filters: f("vpc-endpoint-state", "pendingAcceptance", "deleting")}, vpceSorted(ep2.ID, ep3.ID)},
		{"type", DescribeVpcEndpointsInput{Filters: f("vpc-endpoint-type", "Gateway")}, []string{}},
		{"vpc-endpoint-id", DescribeVpcEndpointsInput{Filters: f("vpc-endpoint-id", ep1.ID)}, []string{ep1.ID}},
		{"ip-address-type", DescribeVpcEndpointsInput{Filters: f("ip-address-type", "ipv4")}, vpceSorted(ep1.ID, ep2.ID, ep3.ID)},
		{"service-region", DescribeVpcEndpointsInput{Filters: f("service-region", "us-west-2")}, []string{}},
		{"tag", DescribeVpcEndpointsInput{Filters: f("tag:env", "prod")}, []string{ep1.ID}},
		{"tag-key", DescribeVpcEndpointsInput{Filters: f("tag-key", "env")}, []string{ep1.ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := e.s.DescribeVpcEndpoints(t.Context(), vpceConsumer, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, v := range out.VpcEndpoints {
				got = append(got, v.ID)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DescribeVpcEndpoints() mismatch (-want +got):\n%s", diff)
			}
		})
	}

	// The deleting endpoint has no network interfaces left.
	out, err := e.s.DescribeVpcEndpoints(t.Context(), vpceConsumer, DescribeVpcEndpointsInput{VpcEndpointIDs: []string{ep3.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if d := out.VpcEndpoints[0]; d.State != "deleting" || d.DeletedAt.IsZero() {
		t.Errorf("deleted endpoint: state %q, DeletedAt %v", d.State, d.DeletedAt)
	}

	// Paging.
	var paged []string
	token := ""
	for {
		out, err := e.s.DescribeVpcEndpoints(t.Context(), vpceConsumer, DescribeVpcEndpointsInput{Page: Page{MaxResults: 2, NextToken: token}})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range out.VpcEndpoints {
			paged = append(paged, v.ID)
		}
		if token = out.NextToken; token == "" {
			break
		}
	}
	if diff := cmp.Diff(vpceSorted(ep1.ID, ep2.ID, ep3.ID), paged); diff != "" {
		t.Errorf("pages mismatch (-want +got):\n%s", diff)
	}

	bad := []struct {
		name    string
		account string
		in      DescribeVpcEndpointsInput
		code    string
		msg     string
	}{
		{"unknown id", vpceConsumer, DescribeVpcEndpointsInput{VpcEndpointIDs: []string{"vpce-0123456789abcdef0"}}, "InvalidVpcEndpointId.NotFound",
			"The Vpc Endpoint Id 'vpce-0123456789abcdef0' does not exist"},
		{"another account's id", vpceProvider, DescribeVpcEndpointsInput{VpcEndpointIDs: []string{ep1.ID}}, "InvalidVpcEndpointId.NotFound", ""},
		{"malformed id", vpceConsumer, DescribeVpcEndpointsInput{VpcEndpointIDs: []string{"vpce-xyz"}}, "InvalidVpcEndpointId.Malformed", ""},
		{"unknown filter", vpceConsumer, DescribeVpcEndpointsInput{Filters: f("state", "available")}, "InvalidParameterValue", "The filter 'state' is invalid"},
		{"bad token", vpceConsumer, DescribeVpcEndpointsInput{Page: Page{MaxResults: 5, NextToken: "!"}}, "InvalidParameterValue", ""},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.s.DescribeVpcEndpoints(t.Context(), tt.account, tt.in)
			wantCodeMsg(t, err, tt.code, 400, tt.msg)
		})
	}
	_, err = e.s.DescribeVpcEndpoints(t.Context(), vpceConsumer, DescribeVpcEndpointsInput{DryRun: true})
	wantCodeMsg(t, err, "DryRunOperation", 412, "")
}

func TestModifyVpcEndpoint(t *testing.T) {
	e := newConsumerEnv(t)
	ep := e.create(t, e.in(e.svc, []string{"a"}, func(in *CreateVpcEndpointInput) { in.SecurityGroupIDs = []string{e.sg.ID} }))
	modify := func(in ModifyVpcEndpointInput) error {
		in.VpcEndpointID = ep.ID
		return e.s.ModifyVpcEndpoint(t.Context(), vpceConsumer, in)
	}

	// Add zone b's subnet and the default group; private DNS on; a policy.
	policy := `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}`
	if err := modify(ModifyVpcEndpointInput{
		AddSubnetIDs: []string{e.sub["b"].ID}, AddSecurityGroupIDs: []string{e.vpc.DefaultGroupID},
		PrivateDNSEnabled: new(true), PolicyDocument: new(policy),
	}); err != nil {
		t.Fatal(err)
	}
	got := e.endpoint(t, ep.ID)
	if len(got.ENIs) != 2 || got.ENIs[0].ENIID != ep.ENIs[0].ENIID || got.ENIs[1].SubnetID != e.sub["b"].ID {
		t.Fatalf("ENIs = %+v, want zone a's then a new one in zone b", got.ENIs)
	}
	wantGroups := []string{e.sg.ID, e.vpc.DefaultGroupID}
	if diff := cmp.Diff(wantGroups, got.Groups); diff != "" {
		t.Errorf("Groups mismatch (-want +got):\n%s", diff)
	}
	for _, en := range got.ENIs {
		eni, found := e.eni(t, en.ENIID)
		if !found {
			t.Fatalf("ENI %s not stored", en.ENIID)
		}
		if diff := cmp.Diff(wantGroups, eni.Groups); diff != "" {
			t.Errorf("ENI %s groups mismatch (-want +got):\n%s", en.ENIID, diff)
		}
		if eni.InterfaceType != "vpc_endpoint" || !eni.RequesterManaged {
			t.Errorf("ENI %s: type %q, requester-managed %v", en.ENIID, eni.InterfaceType, eni.RequesterManaged)
		}
	}
	if !got.PrivateDNSEnabled || got.PolicyDocument != policy || got.State != "pending" {
		t.Errorf("PrivateDNSEnabled %v, PolicyDocument %q, State %q", got.PrivateDNSEnabled, got.PolicyDocument, got.State)
	}

	// Remove zone a's subnet (its ENI goes) and a group; replace zone b's
	// address; reset the policy.
	if err := modify(ModifyVpcEndpointInput{
		RemoveSubnetIDs: []string{e.sub["a"].ID}, RemoveSecurityGroupIDs: []string{e.sg.ID},
		SubnetConfigurations: []SubnetConfiguration{{SubnetID: e.sub["b"].ID, IPv4: "10.1.2.99"}}, ResetPolicy: true,
	}); err != nil {
		t.Fatal(err)
	}
	before := got
	got = e.endpoint(t, ep.ID)
	if len(got.ENIs) != 1 || got.ENIs[0].SubnetID != e.sub["b"].ID || got.ENIs[0].PrivateIP != "10.1.2.99" || got.ENIs[0].ENIID == before.ENIs[1].ENIID {
		t.Errorf("ENIs = %+v, want one new ENI in zone b at 10.1.2.99", got.ENIs)
	}
	for _, en := range before.ENIs {
		if _, found := e.eni(t, en.ENIID); found {
			t.Errorf("ENI %s still stored after its subnet was removed or replaced", en.ENIID)
		}
	}
	if eni, _ := e.eni(t, got.ENIs[0].ENIID); eni == nil || !cmp.Equal(eni.Groups, []string{e.vpc.DefaultGroupID}) {
		t.Errorf("replacement ENI = %+v, want the default group only", eni)
	}
	if got.PolicyDocument != DefaultEndpointPolicy {
		t.Errorf("PolicyDocument = %q after ResetPolicy, want the default", got.PolicyDocument)
	}

	inA := e.create(t, e.in(e.svc, []string{"a"}, nil))
	inB := e.create(t, e.in(e.svc, []string{"b"}, nil))
	rejected := e.create(t, e.in(e.svc, []string{"a"}, nil))
	stored := e.endpoint(t, rejected.ID)
	stored.State = model.EndpointRejected
	e.putEndpoint(t, stored)

	bad := []struct {
		name string
		id   string // "" is ep
		in   ModifyVpcEndpointInput
		code string
		msg  string
	}{
		{"unknown endpoint", "vpce-0123456789abcdef0", ModifyVpcEndpointInput{}, "InvalidVpcEndpointId.NotFound", ""},
		{"malformed endpoint", "vpce-1", ModifyVpcEndpointInput{}, "InvalidVpcEndpointId.Malformed", ""},
		{"route tables", "", ModifyVpcEndpointInput{AddRouteTableIDs: []string{"rtb-12345678"}}, "InvalidParameter",
			"Route table IDs are only supported for Gateway type VPC Endpoint."},
		{"duplicate zone", "", ModifyVpcEndpointInput{AddSubnetIDs: []string{e.sub["a"].ID, e.sub["a2"].ID}}, "DuplicateSubnetsInSameZone", ""},
		{"zone of an existing subnet", inA.ID, ModifyVpcEndpointInput{AddSubnetIDs: []string{e.sub["a2"].ID}}, "DuplicateSubnetsInSameZone",
			"Found another VPC endpoint subnet in the availability zone of " + e.sub["a2"].ID + ". VPC endpoint subnets should be in different availability zones supported by the VPC endpoint service."},
		{"zone the service lacks", "", ModifyVpcEndpointInput{AddSubnetIDs: []string{e.sub["c"].ID}}, "InvalidParameter",
			"The VPC endpoint service " + e.svc.Name + " does not support the availability zone of the subnet: " + e.sub["c"].ID + "."},
		{"unknown subnet", "", ModifyVpcEndpointInput{AddSubnetIDs: []string{"subnet-0123456789abcdef0"}}, "InvalidSubnetID.NotFound", ""},
		{"malformed subnet", "", ModifyVpcEndpointInput{AddSubnetIDs: []string{"subnet"}}, "InvalidSubnetId.Malformed", ""},
		{"subnet of another vpc", "", ModifyVpcEndpointInput{AddSubnetIDs: []string{e.otherSn.ID}}, "InvalidParameter", ""},
		{"remove a subnet it lacks", "", ModifyVpcEndpointInput{RemoveSubnetIDs: []string{e.sub["a"].ID}}, "InvalidParameter", ""},
		{"remove every subnet", "", ModifyVpcEndpointInput{RemoveSubnetIDs: []string{e.sub["b"].ID}}, "InvalidParameter", ""},
		{"remove every group", "", ModifyVpcEndpointInput{RemoveSecurityGroupIDs: []string{e.vpc.DefaultGroupID}}, "InvalidParameter", ""},
		{"remove a group it lacks", "", ModifyVpcEndpointInput{RemoveSecurityGroupIDs: []string{e.sg.ID}}, "InvalidParameter", ""},
		{"add an unknown group", "", ModifyVpcEndpointInput{AddSecurityGroupIDs: []string{"sg-0123456789abcdef0"}}, "InvalidGroup.NotFound", ""},
		{"add a group of another vpc", "", ModifyVpcEndpointInput{AddSecurityGroupIDs: []string{e.otherSg.ID}}, "InvalidParameter", ""},
		{"address in use", "", ModifyVpcEndpointInput{SubnetConfigurations: []SubnetConfiguration{{SubnetID: e.sub["b"].ID, IPv4: inB.ENIs[0].PrivateIP}}}, "InvalidIPAddress.InUse", ""},
		{"policy and reset", "", ModifyVpcEndpointInput{PolicyDocument: new("{}"), ResetPolicy: true}, "InvalidParameterCombination", ""},
		{"bad policy", "", ModifyVpcEndpointInput{PolicyDocument: new("{")}, "InvalidPolicyDocument", "The Policy Document is not valid. Syntax error at position (1,2)"},
		{"dualstack", "", ModifyVpcEndpointInput{IPAddressType: "dualstack"}, "InvalidParameter", ""},
		{"rejected endpoint", rejected.ID, ModifyVpcEndpointInput{PrivateDNSEnabled: new(false)}, "IncorrectState", ""},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			id := tt.id
			if id == "" {
				id = ep.ID
			}
			tt.in.VpcEndpointID = id
			before := netRev(t, e.st)
			err := e.s.ModifyVpcEndpoint(t.Context(), vpceConsumer, tt.in)
			if tt.code == "" {
				if err == nil {
					t.Fatal("ModifyVpcEndpoint succeeded, want an error")
				}
				var ae *awsapi.Error
				if !errors.As(err, &ae) || ae.HTTPStatus() != 400 {
					t.Fatalf("error = %v, want a 400 AWS error", err)
				}
			} else {
				wantCodeMsg(t, err, tt.code, 400, tt.msg)
			}
			if after := netRev(t, e.st); after != before {
				t.Errorf("store revision moved from %d to %d: a bad input wrote", before, after)
			}
		})
	}

	// Private DNS rules apply on modify too: another endpoint in the VPC
	// may not turn it on for the same name.
	second := e.create(t, e.in(e.svc, []string{"a"}, nil))
	err := e.s.ModifyVpcEndpoint(t.Context(), vpceConsumer, ModifyVpcEndpointInput{VpcEndpointID: second.ID, PrivateDNSEnabled: new(true)})
	wantCodeMsg(t, err, "InvalidParameter", 400,
		"private-dns-enabled cannot be set because there is already a conflicting DNS domain for api.example.com in the VPC "+e.vpc.ID)
	// The endpoint that has it may keep it.
	if err := modify(ModifyVpcEndpointInput{PrivateDNSEnabled: new(true)}); err != nil {
		t.Errorf("re-enabling private DNS: %v", err)
	}

	before2 := netRev(t, e.st)
	err = e.s.ModifyVpcEndpoint(t.Context(), vpceConsumer, ModifyVpcEndpointInput{VpcEndpointID: ep.ID, PrivateDNSEnabled: new(false), DryRun: true})
	wantCodeMsg(t, err, "DryRunOperation", 412, "")
	if after := netRev(t, e.st); after != before2 || !e.endpoint(t, ep.ID).PrivateDNSEnabled {
		t.Error("a dry run changed the endpoint")
	}
}

// vpceSorted returns the strings sorted, never nil.
func vpceSorted(v ...string) []string {
	out := append([]string{}, v...)
	slices.Sort(out)
	return out
}

// putEndpoint writes an endpoint record as it is (states the controllers
// and the provider set).
func (e *consumerEnv) putEndpoint(t *testing.T, v *model.VpcEndpoint) {
	t.Helper()
	_, err := e.st.Update(t.Context(), func(tx store.Tx) error { return putVpcEndpoint(tx, v) })
	if err != nil {
		t.Fatal(err)
	}
}

func TestDeleteVpcEndpoints(t *testing.T) {
	e := newConsumerEnv(t)
	ep := e.create(t, e.in(e.svc, []string{"a", "b"}, nil))
	other := e.create(t, e.in(e.svc, []string{"a"}, nil))
	e.clock.Advance(90e9)

	// DryRun changes nothing.
	before := netRev(t, e.st)
	_, err := e.s.DeleteVpcEndpoints(t.Context(), vpceConsumer, DeleteVpcEndpointsInput{VpcEndpointIDs: []string{ep.ID}, DryRun: true})
	wantCodeMsg(t, err, "DryRunOperation", 412, "")
	if after := netRev(t, e.st); after != before {
		t.Error("a dry run wrote")
	}

	// The provider cannot delete the consumer's endpoint: to it the id is
	// unknown.
	out, err := e.s.DeleteVpcEndpoints(t.Context(), vpceProvider, DeleteVpcEndpointsInput{VpcEndpointIDs: []string{ep.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]UnsuccessfulItem{{ResourceID: ep.ID, Code: "InvalidVpcEndpoint.NotFound", Message: "The VpcEndpoint Id '" + ep.ID + "' does not exist"}}, out.Unsuccessful); diff != "" {
		t.Errorf("provider's DeleteVpcEndpoints() mismatch (-want +got):\n%s", diff)
	}

	out, err = e.s.DeleteVpcEndpoints(t.Context(), vpceConsumer, DeleteVpcEndpointsInput{
		VpcEndpointIDs: []string{ep.ID, "vpce-0123456789abcdef0", "vpce-zz", ep.ID},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []UnsuccessfulItem{
		{ResourceID: "vpce-0123456789abcdef0", Code: "InvalidVpcEndpoint.NotFound", Message: "The VpcEndpoint Id 'vpce-0123456789abcdef0' does not exist"},
		{ResourceID: "vpce-zz", Code: "InvalidVpcEndpointId.Malformed", Message: `Invalid id: "vpce-zz" (expecting "vpce-...")`},
	}
	if diff := cmp.Diff(want, out.Unsuccessful); diff != "" {
		t.Errorf("DeleteVpcEndpoints() mismatch (-want +got):\n%s", diff)
	}
	got := e.endpoint(t, ep.ID)
	if got.State != "deleting" || !got.DeletedAt.Equal(testEpoch.Add(90e9)) {
		t.Errorf("state %q, DeletedAt %v; want deleting at %v", got.State, got.DeletedAt, testEpoch.Add(90e9))
	}
	for _, en := range ep.ENIs {
		if _, found := e.eni(t, en.ENIID); found {
			t.Errorf("ENI %s still stored", en.ENIID)
		}
	}
	if _, found := e.eni(t, other.ENIs[0].ENIID); !found {
		t.Error("the other endpoint's ENI went too")
	}
	// The provider still sees it, deleting.
	var connected []*model.VpcEndpoint
	if err := e.st.View(t.Context(), func(tx store.ReadTx) error {
		var err error
		connected, err = serviceEndpoints(tx, e.svc.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, c := range connected {
		states[c.ID] = c.State
	}
	if states[ep.ID] != "deleting" || states[other.ID] != "pending" {
		t.Errorf("provider sees %v", states)
	}
	// Deleting again is a no-op success.
	out, err = e.s.DeleteVpcEndpoints(t.Context(), vpceConsumer, DeleteVpcEndpointsInput{VpcEndpointIDs: []string{ep.ID}})
	if err != nil || len(out.Unsuccessful) != 0 {
		t.Errorf("second delete: %v, unsuccessful %v", err, out.Unsuccessful)
	}
	if e.endpoint(t, ep.ID).DeletedAt != got.DeletedAt {
		t.Error("second delete moved DeletedAt")
	}
	// Zone b's subnet has no ENI left: it can be deleted.
	if err := e.s.DeleteSubnet(t.Context(), vpceConsumer, DeleteSubnetInput{SubnetID: e.sub["b"].ID}); err != nil {
		t.Errorf("DeleteSubnet after the endpoint's deletion: %v", err)
	}
	_, err = e.s.DeleteVpcEndpoints(t.Context(), vpceConsumer, DeleteVpcEndpointsInput{})
	wantCodeMsg(t, err, "MissingParameter", 400, "")
}

func TestEndpointENIsBlockDeletion(t *testing.T) {
	e := newConsumerEnv(t)
	e.create(t, e.in(e.svc, []string{"a"}, func(in *CreateVpcEndpointInput) { in.SecurityGroupIDs = []string{e.sg.ID} }))
	err := e.s.DeleteSubnet(t.Context(), vpceConsumer, DeleteSubnetInput{SubnetID: e.sub["a"].ID})
	wantCodeMsg(t, err, "DependencyViolation", 400, "")
	_, err = e.s.DeleteSecurityGroup(t.Context(), vpceConsumer, DeleteSecurityGroupInput{GroupID: e.sg.ID})
	wantCodeMsg(t, err, "DependencyViolation", 400, "")
}

func TestVpcEndpointTags(t *testing.T) {
	e := newConsumerEnv(t)
	ep := e.create(t, e.in(e.svc, []string{"a"}, nil))
	if err := e.s.CreateTags(t.Context(), vpceConsumer, CreateTagsInput{ResourceIDs: []string{ep.ID}, Tags: []model.Tag{{Key: "Name", Value: "ep"}}}); err != nil {
		t.Fatal(err)
	}
	out, err := e.s.DescribeTags(t.Context(), vpceConsumer, DescribeTagsInput{Filters: []Filter{{Name: "resource-id", Values: []string{ep.ID}}}})
	if err != nil {
		t.Fatal(err)
	}
	want := []TagDescription{{ResourceID: ep.ID, ResourceType: "vpc-endpoint", Key: "Name", Value: "ep"}}
	if diff := cmp.Diff(want, out.Tags); diff != "" {
		t.Errorf("DescribeTags() mismatch (-want +got):\n%s", diff)
	}
	d, err := e.s.DescribeVpcEndpoints(t.Context(), vpceConsumer, DescribeVpcEndpointsInput{Filters: []Filter{{Name: "tag:Name", Values: []string{"ep"}}}})
	if err != nil || len(d.VpcEndpoints) != 1 {
		t.Errorf("DescribeVpcEndpoints by the new tag: %v, %d endpoints", err, len(d.VpcEndpoints))
	}
	// Another account cannot tag it.
	err = e.s.CreateTags(t.Context(), vpceProvider, CreateTagsInput{ResourceIDs: []string{ep.ID}, Tags: []model.Tag{{Key: "x", Value: "y"}}})
	wantCodeMsg(t, err, "InvalidVpcEndpointId.NotFound", 400, "")
	if err := e.s.DeleteTags(t.Context(), vpceConsumer, DeleteTagsInput{ResourceIDs: []string{ep.ID}}); err != nil {
		t.Fatal(err)
	}
	if got := e.endpoint(t, ep.ID).Tags; len(got) != 0 {
		t.Errorf("tags after DeleteTags: %v", got)
	}
}
