package ec2

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/awsapi/apitest"
	"github.com/privlink/privlink/internal/controlplane"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

var instanceEpoch = time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)

// fakeConsoleLogs serves GetConsoleOutput's logs from a map.
type fakeConsoleLogs map[string][]byte

func (f fakeConsoleLogs) ConsoleLog(_ context.Context, id string) ([]byte, error) {
	b, ok := f[id]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return b, nil
}

// instanceEnv is the EC2 handler over a real store and control plane, with
// a fixed clock, so that a test can play the controller
// (cp.AdvanceInstances) and seed records the API cannot make yet.
type instanceEnv struct {
	h    awsapi.Handler
	cp   *controlplane.Service
	st   store.Store
	logs fakeConsoleLogs
}

func newInstanceEnv(t *testing.T) *instanceEnv {
	t.Helper()
	logs := fakeConsoleLogs{}
	cp, st := apitest.ControlPlane(t, controlplane.Config{
		ConsoleLogs: logs,
		Now:         func() time.Time { return instanceEpoch },
	})
	return &instanceEnv{h: Handler(cp), cp: cp, st: st, logs: logs}
}

// raw runs action as account and returns the XML document.
func (e *instanceEnv) raw(t *testing.T, account, action string, params awsapi.Params) string {
	t.Helper()
	body, err := apitest.Call(t, e.h, "ec2", account, action, params)
	if err != nil {
		t.Fatalf("%s(%v): %v", action, params, err)
	}
	return string(body)
}

func (e *instanceEnv) advance(t *testing.T, p controlplane.InstanceProgress) {
	t.Helper()
	if err := e.cp.AdvanceInstances(t.Context(), p); err != nil {
		t.Fatalf("AdvanceInstances: %v", err)
	}
}

func refsOf(account string, ids ...string) []controlplane.Ref {
	var out []controlplane.Ref
	for _, id := range ids {
		out = append(out, controlplane.Ref{Owner: account, ID: id})
	}
	return out
}

type xmlGroup struct {
	ID   string `xml:"groupId"`
	Name string `xml:"groupName"`
}

type xmlState struct {
	Code int    `xml:"code"`
	Name string `xml:"name"`
}

type xmlAddr struct {
	IP      string `xml:"privateIpAddress"`
	DNS     string `xml:"privateDnsName"`
	Primary string `xml:"primary"`
}

type xmlInstanceENI struct {
	ID                  string     `xml:"networkInterfaceId"`
	SubnetID            string     `xml:"subnetId"`
	VpcID               string     `xml:"vpcId"`
	Description         *string    `xml:"description"`
	OwnerID             string     `xml:"ownerId"`
	Status              string     `xml:"status"`
	MAC                 string     `xml:"macAddress"`
	PrivateIP           string     `xml:"privateIpAddress"`
	PrivateDNS          string     `xml:"privateDnsName"`
	SourceDestCheck     string     `xml:"sourceDestCheck"`
	Groups              []xmlGroup `xml:"groupSet>item"`
	AttachmentID        string     `xml:"attachment>attachmentId"`
	DeviceIndex         string     `xml:"attachment>deviceIndex"`
	AttachStatus        string     `xml:"attachment>status"`
	AttachTime          string     `xml:"attachment>attachTime"`
	DeleteOnTermination string     `xml:"attachment>deleteOnTermination"`
	Addrs               []xmlAddr  `xml:"privateIpAddressesSet>item"`
	InterfaceType       string     `xml:"interfaceType"`
}

type xmlInstance struct {
	ID                 string           `xml:"instanceId"`
	ImageID            string           `xml:"imageId"`
	State              xmlState         `xml:"instanceState"`
	PrivateDNS         string           `xml:"privateDnsName"`
	PrivateIP          string           `xml:"privateIpAddress"`
	DNSName            *string          `xml:"dnsName"`
	InstanceType       string           `xml:"instanceType"`
	LaunchTime         string           `xml:"launchTime"`
	AZ                 string           `xml:"placement>availabilityZone"`
	AZID               string           `xml:"placement>availabilityZoneId"`
	Tenancy            string           `xml:"placement>tenancy"`
	PlacementGroup     *string          `xml:"placement>groupName"`
	SubnetID           string           `xml:"subnetId"`
	VpcID              string           `xml:"vpcId"`
	LaunchIndex        int              `xml:"amiLaunchIndex"`
	Architecture       string           `xml:"architecture"`
	RootDeviceType     string           `xml:"rootDeviceType"`
	RootDeviceName     string           `xml:"rootDeviceName"`
	Hypervisor         string           `xml:"hypervisor"`
	VirtualizationType string           `xml:"virtualizationType"`
	Monitoring         string           `xml:"monitoring>state"`
	SourceDestCheck    string           `xml:"sourceDestCheck"`
	Groups             []xmlGroup       `xml:"groupSet>item"`
	ENIs               []xmlInstanceENI `xml:"networkInterfaceSet>item"`
	StateReasonCode    string           `xml:"stateReason>code"`
	StateReasonMessage string           `xml:"stateReason>message"`
	Reason             string           `xml:"reason"`
	Tags               []xmlTag         `xml:"tagSet>item"`
	ClientToken        string           `xml:"clientToken"`
	EbsOptimized       string           `xml:"ebsOptimized"`
	EnaSupport         string           `xml:"enaSupport"`
	HostnameType       string           `xml:"privateDnsNameOptions>hostnameType"`
}

type xmlReservation struct {
	ID        string        `xml:"reservationId"`
	OwnerID   string        `xml:"ownerId"`
	Instances []xmlInstance `xml:"instancesSet>item"`
}

type xmlStateChange struct {
	ID       string   `xml:"instanceId"`
	Current  xmlState `xml:"currentState"`
	Previous xmlState `xml:"previousState"`
}

type xmlENI struct {
	ID                  string     `xml:"networkInterfaceId"`
	SubnetID            string     `xml:"subnetId"`
	VpcID               string     `xml:"vpcId"`
	AZ                  string     `xml:"availabilityZone"`
	Description         string     `xml:"description"`
	OwnerID             string     `xml:"ownerId"`
	RequesterID         string     `xml:"requesterId"`
	RequesterManaged    string     `xml:"requesterManaged"`
	Status              string     `xml:"status"`
	PrivateIP           string     `xml:"privateIpAddress"`
	PrivateDNS          string     `xml:"privateDnsName"`
	SourceDestCheck     string     `xml:"sourceDestCheck"`
	Groups              []xmlGroup `xml:"groupSet>item"`
	AttachmentID        string     `xml:"attachment>attachmentId"`
	InstanceID          string     `xml:"attachment>instanceId"`
	InstanceOwnerID     string     `xml:"attachment>instanceOwnerId"`
	DeviceIndex         string     `xml:"attachment>deviceIndex"`
	AttachStatus        string     `xml:"attachment>status"`
	DeleteOnTermination string     `xml:"attachment>deleteOnTermination"`
	Tags                []xmlTag   `xml:"tagSet>item"`
	Addrs               []xmlAddr  `xml:"privateIpAddressesSet>item"`
	InterfaceType       string     `xml:"interfaceType"`
}

// setupNetwork makes a VPC with a subnet in us-east-1a and a security group
// "web" for account a.
func setupNetwork(a netClient) (vpcID, subnetID, groupID, defaultGroupID string) {
	var vpc struct {
		Vpc xmlVpc `xml:"vpc"`
	}
	a.must("CreateVpc", awsapi.Params{"CidrBlock": "10.0.0.0/16"}, &vpc)
	var sub struct {
		Subnet xmlSubnet `xml:"subnet"`
	}
	a.must("CreateSubnet", awsapi.Params{"VpcId": vpc.Vpc.VpcID, "CidrBlock": "10.0.1.0/24", "AvailabilityZone": "us-east-1a"}, &sub)
	var sg struct {
		GroupID string `xml:"groupId"`
	}
	a.must("CreateSecurityGroup", awsapi.Params{"VpcId": vpc.Vpc.VpcID, "GroupName": "web", "GroupDescription": "web"}, &sg)
	var groups struct {
		IDs []string `xml:"securityGroupInfo>item>groupId"`
	}
	a.must("DescribeSecurityGroups", awsapi.Params{"Filter.1.Name": "group-name", "Filter.1.Value.1": "default", "Filter.2.Name": "vpc-id", "Filter.2.Value.1": vpc.Vpc.VpcID}, &groups)
	if len(groups.IDs) != 1 {
		a.t.Fatalf("default group of %s: %v", vpc.Vpc.VpcID, groups.IDs)
	}
	return vpc.Vpc.VpcID, sub.Subnet.SubnetID, sg.GroupID, groups.IDs[0]
}

func TestInstanceActions(t *testing.T) {
	const acct = "111111111111"
	env := newInstanceEnv(t)
	a := netClient{t, env.h, acct}
	b := netClient{t, env.h, "222222222222"}
	vpcID, subnetID, webID, _ := setupNetwork(a)

	userData := base64.StdEncoding.EncodeToString([]byte("#!/bin/sh\necho hello\n"))
	runParams := awsapi.Params{
		"ImageId": "ami-12345678", "InstanceType": "t3.micro", "MinCount": "1", "MaxCount": "2",
		"SubnetId": subnetID, "SecurityGroupId.1": webID, "UserData": userData, "ClientToken": "tok-1",
		"TagSpecification.1.ResourceType": "instance", "TagSpecification.1.Tag.1.Key": "Name", "TagSpecification.1.Tag.1.Value": "web",
		"TagSpecification.2.ResourceType": "network-interface", "TagSpecification.2.Tag.1.Key": "role", "TagSpecification.2.Tag.1.Value": "eth0",
	}
	body := env.raw(t, acct, "RunInstances", runParams)
	// The reservation's own groupSet is sent empty, and no dnsName.
	if !strings.Contains(body, "<requestId>req-1</requestId><groupSet/><instancesSet><item>") || strings.Contains(body, "<dnsName") {
		t.Errorf("RunInstances body: %s", body)
	}
	var run xmlReservation
	if err := xml.Unmarshal([]byte(body), &run); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(run.ID, "r-") || run.OwnerID != acct || len(run.Instances) != 2 {
		t.Fatalf("RunInstances = %+v", run)
	}
	got := run.Instances[0]
	eni := got.ENIs
	if len(eni) != 1 {
		t.Fatalf("networkInterfaceSet = %+v", eni)
	}
	web := []xmlGroup{{webID, "web"}}
	want := xmlInstance{
		ID: got.ID, ImageID: "ami-12345678", State: xmlState{0, "pending"},
		PrivateDNS: "ip-10-0-1-4.ec2.internal", PrivateIP: "10.0.1.4", InstanceType: "t3.micro",
		LaunchTime: "2025-01-15T10:00:00.000Z", AZ: "us-east-1a", AZID: "use1-az1", Tenancy: "default", PlacementGroup: new(""),
		SubnetID: subnetID, VpcID: vpcID, LaunchIndex: 0, Architecture: "x86_64", RootDeviceType: "ebs",
		RootDeviceName: "/dev/xvda", Hypervisor: "xen", VirtualizationType: "hvm", Monitoring: "disabled",
		SourceDestCheck: "true", Groups: web,
		ENIs: []xmlInstanceENI{{
			ID: eni[0].ID, SubnetID: subnetID, VpcID: vpcID, Description: new(""), OwnerID: acct, Status: "in-use",
			MAC: eni[0].MAC, PrivateIP: "10.0.1.4", PrivateDNS: "ip-10-0-1-4.ec2.internal", SourceDestCheck: "true",
			Groups: web, AttachmentID: eni[0].AttachmentID, DeviceIndex: "0", AttachStatus: "attached",
			AttachTime: "2025-01-15T10:00:00.000Z", DeleteOnTermination: "true",
			Addrs:         []xmlAddr{{"10.0.1.4", "ip-10-0-1-4.ec2.internal", "true"}},
			InterfaceType: "interface",
		}},
		StateReasonCode: "pending", StateReasonMessage: "pending",
		Tags: []xmlTag{{"Name", "web"}}, ClientToken: "tok-1", EbsOptimized: "false", EnaSupport: "true", HostnameType: "ip-name",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RunInstances() mismatch (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(got.ID, "i-") || !strings.HasPrefix(eni[0].ID, "eni-") || !strings.HasPrefix(eni[0].AttachmentID, "eni-attach-") || len(eni[0].MAC) != 17 {
		t.Errorf("ids %q %q %q, mac %q", got.ID, eni[0].ID, eni[0].AttachmentID, eni[0].MAC)
	}
	second := run.Instances[1]
	if second.LaunchIndex != 1 || second.PrivateIP != "10.0.1.5" {
		t.Errorf("second instance = index %d, ip %s", second.LaunchIndex, second.PrivateIP)
	}
	// A retry with the same ClientToken is the same reservation.
	var retry xmlReservation
	a.must("RunInstances", runParams, &retry)
	if retry.ID != run.ID || len(retry.Instances) != 2 {
		t.Errorf("RunInstances retry = %s (%d instances), want %s", retry.ID, len(retry.Instances), run.ID)
	}

	// A requested address, once, in the VPC's default group.
	var pinned xmlReservation
	a.must("RunInstances", awsapi.Params{"ImageId": "ami-12345678", "MinCount": "1", "MaxCount": "1", "SubnetId": subnetID, "PrivateIpAddress": "10.0.1.50"}, &pinned)
	if len(pinned.Instances) != 1 || pinned.Instances[0].PrivateIP != "10.0.1.50" || pinned.Instances[0].InstanceType != model.DefaultInstanceType ||
		len(pinned.Instances[0].Groups) != 1 || pinned.Instances[0].Groups[0].Name != "default" || pinned.Instances[0].Tags != nil {
		t.Errorf("RunInstances with PrivateIpAddress = %+v", pinned)
	}
	if body := env.raw(t, acct, "DescribeInstances", awsapi.Params{"InstanceId.1": pinned.Instances[0].ID}); strings.Contains(body, "<tagSet") {
		t.Errorf("untagged instance has a tagSet: %s", body)
	}
	pinnedID := pinned.Instances[0].ID

	for _, tt := range []struct {
		name   string
		params awsapi.Params
		code   string
		status int
	}{
		{"address in use", awsapi.Params{"PrivateIpAddress": "10.0.1.50"}, "InvalidIPAddress.InUse", http.StatusBadRequest},
		{"address with count 2", awsapi.Params{"PrivateIpAddress": "10.0.1.60", "MaxCount": "2"}, "InvalidParameterCombination", http.StatusBadRequest},
		{"bad user data", awsapi.Params{"UserData": "%%%"}, "InvalidParameterValue", http.StatusBadRequest},
		{"unknown subnet", awsapi.Params{"SubnetId": "subnet-0123456789abcdef0"}, "InvalidSubnetID.NotFound", http.StatusBadRequest},
		{"dry run", awsapi.Params{"DryRun": "true"}, "DryRunOperation", http.StatusPreconditionFailed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := awsapi.Params{"ImageId": "ami-12345678", "MinCount": "1", "MaxCount": "1", "SubnetId": subnetID}
			for k, v := range tt.params {
				p[k] = v
			}
			wantErr(t, a.call("RunInstances", p, nil), tt.code, tt.status)
		})
	}

	// DescribeInstances: filters, other accounts, unknown ids.
	var described struct {
		Reservations []xmlReservation `xml:"reservationSet>item"`
		NextToken    string           `xml:"nextToken"`
	}
	a.must("DescribeInstances", awsapi.Params{"Filter.1.Name": "tag:Name", "Filter.1.Value.1": "web"}, &described)
	if len(described.Reservations) != 1 || described.Reservations[0].ID != run.ID || described.Reservations[0].OwnerID != acct ||
		len(described.Reservations[0].Instances) != 2 || described.NextToken != "" {
		t.Fatalf("DescribeInstances(tag:Name=web) = %+v", described)
	}
	if diff := cmp.Diff(run.Instances, described.Reservations[0].Instances); diff != "" {
		t.Errorf("DescribeInstances() mismatch (-want +got):\n%s", diff)
	}
	described.Reservations = nil
	a.must("DescribeInstances", awsapi.Params{"Filter.1.Name": "private-ip-address", "Filter.1.Value.1": "10.0.1.50"}, &described)
	if len(described.Reservations) != 1 || len(described.Reservations[0].Instances) != 1 || described.Reservations[0].Instances[0].ID != pinnedID {
		t.Errorf("DescribeInstances(private-ip-address) = %+v", described)
	}
	if body := env.raw(t, "222222222222", "DescribeInstances", awsapi.Params{}); !strings.Contains(body, "<reservationSet/>") {
		t.Errorf("DescribeInstances of an empty account: %s", body)
	}
	wantErr(t, b.call("DescribeInstances", awsapi.Params{"InstanceId.1": got.ID}, nil), "InvalidInstanceID.NotFound", http.StatusBadRequest)
	wantErr(t, a.call("DescribeInstances", awsapi.Params{"InstanceId.1": "i-bogus"}, nil), "InvalidInstanceID.Malformed", http.StatusBadRequest)
	wantErr(t, a.call("DescribeInstances", awsapi.Params{"Filter.1.Name": "no-such-filter", "Filter.1.Value.1": "x"}, nil), "InvalidParameterValue", http.StatusBadRequest)

	// State changes, with the controller's part played by AdvanceInstances.
	first, other := got.ID, second.ID
	env.advance(t, controlplane.InstanceProgress{Running: refsOf(acct, first, other, pinnedID)})
	steps := []struct {
		action string
		ids    []string
		after  controlplane.InstanceProgress // the controller's pass after the call
		want   []xmlStateChange
	}{
		{"StopInstances", []string{first}, controlplane.InstanceProgress{}, []xmlStateChange{{first, xmlState{64, "stopping"}, xmlState{16, "running"}}}},
		{"StopInstances", []string{first}, controlplane.InstanceProgress{Stopped: refsOf(acct, first)}, []xmlStateChange{{first, xmlState{64, "stopping"}, xmlState{64, "stopping"}}}},
		{"StartInstances", []string{first, other}, controlplane.InstanceProgress{}, []xmlStateChange{
			{first, xmlState{0, "pending"}, xmlState{80, "stopped"}}, {other, xmlState{16, "running"}, xmlState{16, "running"}},
		}},
		{"TerminateInstances", []string{other, first}, controlplane.InstanceProgress{Terminated: refsOf(acct, other)}, []xmlStateChange{
			{other, xmlState{32, "shutting-down"}, xmlState{16, "running"}}, {first, xmlState{32, "shutting-down"}, xmlState{0, "pending"}},
		}},
		{"TerminateInstances", []string{other}, controlplane.InstanceProgress{}, []xmlStateChange{{other, xmlState{48, "terminated"}, xmlState{48, "terminated"}}}},
	}
	for n, st := range steps {
		p := awsapi.Params{}
		for i, id := range st.ids {
			p["InstanceId."+strconv.Itoa(i+1)] = id
		}
		var changes struct {
			Items []xmlStateChange `xml:"instancesSet>item"`
		}
		a.must(st.action, p, &changes)
		if diff := cmp.Diff(st.want, changes.Items); diff != "" {
			t.Errorf("step %d: %s() mismatch (-want +got):\n%s", n, st.action, diff)
		}
		env.advance(t, st.after)
	}
	wantErr(t, a.call("StartInstances", awsapi.Params{"InstanceId.1": first}, nil), "IncorrectInstanceState", http.StatusBadRequest)
	wantErr(t, a.call("StopInstances", awsapi.Params{"InstanceId.1": pinnedID, "InstanceId.2": "i-0123456789abcdef0"}, nil), "InvalidInstanceID.NotFound", http.StatusBadRequest)
	wantErr(t, b.call("TerminateInstances", awsapi.Params{"InstanceId.1": pinnedID}, nil), "InvalidInstanceID.NotFound", http.StatusBadRequest)
	wantErr(t, a.call("TerminateInstances", awsapi.Params{}, nil), "MissingParameter", http.StatusBadRequest)

	// A terminated instance has left its subnet.
	body = env.raw(t, acct, "DescribeInstances", awsapi.Params{"InstanceId.1": other})
	var gone struct {
		Instance xmlInstance `xml:"reservationSet>item>instancesSet>item"`
	}
	if err := xml.Unmarshal([]byte(body), &gone); err != nil {
		t.Fatal(err)
	}
	wantGone := xmlInstance{
		ID: other, ImageID: "ami-12345678", State: xmlState{48, "terminated"}, InstanceType: "t3.micro",
		LaunchTime: "2025-01-15T10:00:00.000Z", AZ: "us-east-1a", AZID: "use1-az1", Tenancy: "default", PlacementGroup: new(""),
		LaunchIndex: 1, Architecture: "x86_64", RootDeviceType: "ebs", RootDeviceName: "/dev/xvda", Hypervisor: "xen",
		VirtualizationType: "hvm", Monitoring: "disabled",
		StateReasonCode: "Client.UserInitiatedShutdown", StateReasonMessage: "Client.UserInitiatedShutdown: User initiated shutdown",
		Reason: "User initiated (2025-01-15 10:00:00 GMT)", Tags: []xmlTag{{"Name", "web"}}, ClientToken: "tok-1",
		EbsOptimized: "false", EnaSupport: "true", HostnameType: "ip-name",
	}
	if diff := cmp.Diff(wantGone, gone.Instance); diff != "" {
		t.Errorf("DescribeInstances(terminated) mismatch (-want +got):\n%s", diff)
	}
	if !strings.Contains(body, "<groupSet/>") || strings.Contains(body, "networkInterfaceSet") {
		t.Errorf("terminated instance body: %s", body)
	}

	// DescribeInstanceStatus: running only, or all with IncludeAllInstances.
	type xmlSummary struct {
		Status  string `xml:"status"`
		Details []struct {
			Name   string `xml:"name"`
			Status string `xml:"status"`
		} `xml:"details>item"`
	}
	var statuses struct {
		Items []struct {
			ID       string     `xml:"instanceId"`
			AZ       string     `xml:"availabilityZone"`
			State    xmlState   `xml:"instanceState"`
			Instance xmlSummary `xml:"instanceStatus"`
			System   xmlSummary `xml:"systemStatus"`
		} `xml:"instanceStatusSet>item"`
	}
	a.must("DescribeInstanceStatus", awsapi.Params{}, &statuses)
	if len(statuses.Items) != 1 {
		t.Fatalf("DescribeInstanceStatus = %+v", statuses)
	}
	ok := statuses.Items[0]
	if ok.ID != pinnedID || ok.AZ != "us-east-1a" || ok.State != (xmlState{16, "running"}) || ok.Instance.Status != "ok" || ok.System.Status != "ok" ||
		len(ok.Instance.Details) != 1 || ok.Instance.Details[0].Name != "reachability" || ok.Instance.Details[0].Status != "passed" {
		t.Errorf("DescribeInstanceStatus item = %+v", ok)
	}
	statuses.Items = nil
	a.must("DescribeInstanceStatus", awsapi.Params{"IncludeAllInstances": "true", "InstanceId.1": other}, &statuses)
	if len(statuses.Items) != 1 || statuses.Items[0].Instance.Status != "not-applicable" || len(statuses.Items[0].Instance.Details) != 0 {
		t.Errorf("DescribeInstanceStatus(IncludeAllInstances) = %+v", statuses)
	}

	// GetConsoleOutput: base64 of the log, no output before there is one.
	env.logs[pinnedID] = []byte("hello\n")
	var console struct {
		ID        string  `xml:"instanceId"`
		Timestamp string  `xml:"timestamp"`
		Output    *string `xml:"output"`
	}
	a.must("GetConsoleOutput", awsapi.Params{"InstanceId": pinnedID}, &console)
	if console.ID != pinnedID || console.Timestamp != "2025-01-15T10:00:00.000Z" || console.Output == nil || *console.Output != base64.StdEncoding.EncodeToString([]byte("hello\n")) {
		t.Errorf("GetConsoleOutput = %+v", console)
	}
	console.Output = nil
	a.must("GetConsoleOutput", awsapi.Params{"InstanceId": first}, &console)
	if console.ID != first || console.Output != nil {
		t.Errorf("GetConsoleOutput without a log = %+v", console)
	}
	wantErr(t, b.call("GetConsoleOutput", awsapi.Params{"InstanceId": pinnedID}, nil), "InvalidInstanceID.NotFound", http.StatusBadRequest)
}

// seedEndpointENI stores a requester-managed endpoint ENI in subnetID, as
// CreateVpcEndpoint will: the API cannot make one yet.
func seedEndpointENI(t *testing.T, st store.Store, account, vpcID, subnetID, groupID string) string {
	t.Helper()
	e := model.NetworkInterface{
		ID: "eni-0aaaaaaaaaaaaaaaa", OwnerID: account, VpcID: vpcID, SubnetID: subnetID,
		AvailabilityZone: "us-east-1a", AvailabilityZoneID: "use1-az1", PrivateIP: "10.0.1.200",
		MacAddress: "02:00:00:00:00:01", Groups: []string{groupID}, InterfaceType: model.InterfaceTypeVpcEndpoint,
		Description: "VPC Endpoint Interface vpce-0123456789abcdef0", Status: model.ENIStatusInUse,
		RequesterManaged: true, RequesterID: "727180483921", InstanceOwnerID: "amazon-aws",
		AttachmentID: "ela-attach-0123456789abcdef0", AttachTime: instanceEpoch, DeviceIndex: 1, SourceDestCheck: true,
	}
	_, err := st.Update(t.Context(), func(tx store.Tx) error {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		return tx.Put(store.Key(store.KindENI, account, e.ID), b)
	})
	if err != nil {
		t.Fatal(err)
	}
	return e.ID
}

func TestNetworkInterfaceActions(t *testing.T) {
	const acct = "111111111111"
	env := newInstanceEnv(t)
	a := netClient{t, env.h, acct}
	b := netClient{t, env.h, "222222222222"}
	vpcID, subnetID, webID, defaultID := setupNetwork(a)
	endpointENI := seedEndpointENI(t, env.st, acct, vpcID, subnetID, defaultID)

	var run xmlReservation
	a.must("RunInstances", awsapi.Params{
		"ImageId": "ami-12345678", "MinCount": "1", "MaxCount": "1", "SubnetId": subnetID,
		"TagSpecification.1.ResourceType": "network-interface", "TagSpecification.1.Tag.1.Key": "role", "TagSpecification.1.Tag.1.Value": "eth0",
	}, &run)
	instanceID := run.Instances[0].ID
	instanceENI := run.Instances[0].ENIs[0].ID

	wantInstanceENI := xmlENI{
		ID: instanceENI, SubnetID: subnetID, VpcID: vpcID, AZ: "us-east-1a", OwnerID: acct,
		RequesterManaged: "false", Status: "in-use", PrivateIP: "10.0.1.4", PrivateDNS: "ip-10-0-1-4.ec2.internal",
		SourceDestCheck: "true", Groups: []xmlGroup{{defaultID, "default"}},
		AttachmentID: run.Instances[0].ENIs[0].AttachmentID, InstanceID: instanceID, InstanceOwnerID: acct, DeviceIndex: "0",
		AttachStatus: "attached", DeleteOnTermination: "true", Tags: []xmlTag{{"role", "eth0"}},
		Addrs:         []xmlAddr{{"10.0.1.4", "ip-10-0-1-4.ec2.internal", "true"}},
		InterfaceType: "interface",
	}
	type enis struct {
		Items     []xmlENI `xml:"networkInterfaceSet>item"`
		NextToken string   `xml:"nextToken"`
	}
	tests := []struct {
		name   string
		params awsapi.Params
		want   []xmlENI
	}{{
		name:   "interface-type vpc_endpoint",
		params: awsapi.Params{"Filter.1.Name": "interface-type", "Filter.1.Value.1": "vpc_endpoint"},
		want: []xmlENI{{
			ID: endpointENI, SubnetID: subnetID, VpcID: vpcID, AZ: "us-east-1a",
			Description: "VPC Endpoint Interface vpce-0123456789abcdef0", OwnerID: acct, RequesterID: "727180483921",
			RequesterManaged: "true", Status: "in-use", PrivateIP: "10.0.1.200", PrivateDNS: "ip-10-0-1-200.ec2.internal",
			SourceDestCheck: "true", Groups: []xmlGroup{{defaultID, "default"}},
			AttachmentID: "ela-attach-0123456789abcdef0", InstanceOwnerID: "amazon-aws", DeviceIndex: "1",
			AttachStatus: "attached", DeleteOnTermination: "false",
			Addrs:         []xmlAddr{{"10.0.1.200", "ip-10-0-1-200.ec2.internal", "true"}},
			InterfaceType: "vpc_endpoint",
		}},
	}, {
		name:   "interface-type interface",
		params: awsapi.Params{"Filter.1.Name": "interface-type", "Filter.1.Value.1": "interface"},
		want:   []xmlENI{wantInstanceENI},
	}, {
		name:   "attachment.instance-id",
		params: awsapi.Params{"Filter.1.Name": "attachment.instance-id", "Filter.1.Value.1": instanceID},
		want:   []xmlENI{wantInstanceENI},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got enis
			a.must("DescribeNetworkInterfaces", tt.params, &got)
			if diff := cmp.Diff(enis{Items: tt.want}, got); diff != "" {
				t.Errorf("DescribeNetworkInterfaces() mismatch (-want +got):\n%s", diff)
			}
		})
	}
	// An ENI without tags still has its tagSet (and ipv6AddressesSet).
	body := env.raw(t, acct, "DescribeNetworkInterfaces", awsapi.Params{"NetworkInterfaceId.1": endpointENI})
	if !strings.Contains(body, "<tagSet/>") || !strings.Contains(body, "<ipv6AddressesSet/>") || !strings.Contains(body, "<attachTime>2025-01-15T10:00:00.000Z</attachTime>") {
		t.Errorf("DescribeNetworkInterfaces body: %s", body)
	}
	if body := env.raw(t, "222222222222", "DescribeNetworkInterfaces", awsapi.Params{}); !strings.Contains(body, "<networkInterfaceSet/>") {
		t.Errorf("DescribeNetworkInterfaces of an empty account: %s", body)
	}
	wantErr(t, b.call("DescribeNetworkInterfaces", awsapi.Params{"NetworkInterfaceId.1": instanceENI}, nil), "InvalidNetworkInterfaceID.NotFound", http.StatusBadRequest)

	// ModifyNetworkInterfaceAttribute replaces the groups, which the
	// instance's groupSet follows.
	body = env.raw(t, acct, "ModifyNetworkInterfaceAttribute", awsapi.Params{"NetworkInterfaceId": instanceENI, "SecurityGroupId.1": webID, "SecurityGroupId.2": defaultID})
	if !strings.Contains(body, "<return>true</return>") {
		t.Errorf("ModifyNetworkInterfaceAttribute body: %s", body)
	}
	var got enis
	a.must("DescribeNetworkInterfaces", awsapi.Params{"NetworkInterfaceId.1": instanceENI}, &got)
	wantGroups := []xmlGroup{{webID, "web"}, {defaultID, "default"}}
	if len(got.Items) != 1 || !cmp.Equal(wantGroups, got.Items[0].Groups) {
		t.Errorf("groups after ModifyNetworkInterfaceAttribute = %+v", got.Items)
	}
	var described struct {
		Instance xmlInstance `xml:"reservationSet>item>instancesSet>item"`
	}
	a.must("DescribeInstances", awsapi.Params{"InstanceId.1": instanceID}, &described)
	if diff := cmp.Diff(wantGroups, described.Instance.Groups); diff != "" {
		t.Errorf("instance groupSet mismatch (-want +got):\n%s", diff)
	}
	a.must("ModifyNetworkInterfaceAttribute", awsapi.Params{"NetworkInterfaceId": instanceENI, "Description.Value": "eth0 of web"}, nil)
	a.must("ModifyNetworkInterfaceAttribute", awsapi.Params{"NetworkInterfaceId": instanceENI, "SourceDestCheck.Value": "false"}, nil)
	got.Items = nil
	a.must("DescribeNetworkInterfaces", awsapi.Params{"NetworkInterfaceId.1": instanceENI}, &got)
	if len(got.Items) != 1 || got.Items[0].Description != "eth0 of web" || got.Items[0].SourceDestCheck != "false" {
		t.Errorf("after ModifyNetworkInterfaceAttribute = %+v", got.Items)
	}

	for _, tt := range []struct {
		name   string
		params awsapi.Params
		code   string
	}{
		{"unknown group", awsapi.Params{"NetworkInterfaceId": instanceENI, "SecurityGroupId.1": "sg-0123456789abcdef0"}, "InvalidGroup.NotFound"},
		{"requester-managed", awsapi.Params{"NetworkInterfaceId": endpointENI, "SecurityGroupId.1": webID}, "OperationNotPermitted"},
		{"two attributes", awsapi.Params{"NetworkInterfaceId": instanceENI, "SecurityGroupId.1": webID, "Description.Value": "x"}, "InvalidParameterCombination"},
		{"no attribute", awsapi.Params{"NetworkInterfaceId": instanceENI}, "InvalidParameterCombination"},
		{"unknown eni", awsapi.Params{"NetworkInterfaceId": "eni-0123456789abcdef0", "Description.Value": "x"}, "InvalidNetworkInterfaceID.NotFound"},
		{"missing id", awsapi.Params{"Description.Value": "x"}, "MissingParameter"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, a.call("ModifyNetworkInterfaceAttribute", tt.params, nil), tt.code, http.StatusBadRequest)
		})
	}
}

// RunInstances with NetworkInterface.N, as the AWS CLI's
// --network-interfaces and Terraform's network_interface send it: the
// primary interface's subnet, groups, address and description; what an
// instance here cannot have is refused, never ignored, and changes nothing.
func TestRunInstancesNetworkInterfaces(t *testing.T) {
	const acct = "111111111111"
	env := newInstanceEnv(t)
	a := netClient{t, env.h, acct}
	vpcID, subnetID, webID, _ := setupNetwork(a)
	base := func(extra awsapi.Params) awsapi.Params {
		p := awsapi.Params{
			"ImageId": "ami-12345678", "MinCount": "1", "MaxCount": "1",
			"NetworkInterface.1.DeviceIndex": "0", "NetworkInterface.1.SubnetId": subnetID,
			"NetworkInterface.1.SecurityGroupId.1": webID, "NetworkInterface.1.PrivateIpAddress": "10.0.1.70",
			"NetworkInterface.1.Description": "primary", "NetworkInterface.1.DeleteOnTermination": "true",
			"NetworkInterface.1.AssociatePublicIpAddress": "false",
		}
		for k, v := range extra {
			if v == "" {
				delete(p, k)
			} else {
				p[k] = v
			}
		}
		return p
	}

	for _, tt := range []struct {
		name, key, value string
		code             string
	}{
		{"instance-level subnet too", "SubnetId", subnetID, "InvalidParameterCombination"},
		{"instance-level group too", "SecurityGroupId.1", webID, "InvalidParameterCombination"},
		{"instance-level address too", "PrivateIpAddress", "10.0.1.71", "InvalidParameterCombination"},
		{"second interface", "NetworkInterface.2.DeviceIndex", "1", "UnsupportedOperation"},
		{"no device index", "NetworkInterface.1.DeviceIndex", "", "InvalidParameterValue"},
		{"device index 1", "NetworkInterface.1.DeviceIndex", "1", "UnsupportedOperation"},
		{"existing interface", "NetworkInterface.1.NetworkInterfaceId", "eni-0123456789abcdef0", "UnsupportedOperation"},
		{"no subnet", "NetworkInterface.1.SubnetId", "", "MissingParameter"},
		{"public address", "NetworkInterface.1.AssociatePublicIpAddress", "true", "UnsupportedOperation"},
		{"kept after termination", "NetworkInterface.1.DeleteOnTermination", "false", "UnsupportedOperation"},
		{"secondary addresses", "NetworkInterface.1.SecondaryPrivateIpAddressCount", "2", "UnsupportedOperation"},
		{"IPv6", "NetworkInterface.1.Ipv6AddressCount", "1", "UnsupportedOperation"},
		{"EFA", "NetworkInterface.1.InterfaceType", "efa", "UnsupportedOperation"},
		{"unknown subnet", "NetworkInterface.1.SubnetId", "subnet-0123456789abcdef0", "InvalidSubnetID.NotFound"},
		{"unknown group", "NetworkInterface.1.SecurityGroupId.1", "sg-0123456789abcdef0", "InvalidGroup.NotFound"},
		{"dry run", "DryRun", "true", "DryRunOperation"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status := http.StatusBadRequest
			if tt.code == "DryRunOperation" {
				status = http.StatusPreconditionFailed
			}
			wantErr(t, a.call("RunInstances", base(awsapi.Params{tt.key: tt.value}), nil), tt.code, status)
		})
	}
	if body := env.raw(t, acct, "DescribeInstances", awsapi.Params{}); !strings.Contains(body, "<reservationSet/>") {
		t.Fatalf("refused calls made instances: %s", body)
	}

	var run xmlReservation
	a.must("RunInstances", base(nil), &run)
	if len(run.Instances) != 1 {
		t.Fatalf("RunInstances = %+v", run)
	}
	got := run.Instances[0]
	if got.SubnetID != subnetID || got.VpcID != vpcID || got.PrivateIP != "10.0.1.70" ||
		!cmp.Equal(got.Groups, []xmlGroup{{webID, "web"}}) || len(got.ENIs) != 1 || got.ENIs[0].Description == nil ||
		*got.ENIs[0].Description != "primary" || got.ENIs[0].DeviceIndex != "0" || got.ENIs[0].DeleteOnTermination != "true" {
		t.Errorf("instance from NetworkInterface.1 = %+v", got)
	}
}
