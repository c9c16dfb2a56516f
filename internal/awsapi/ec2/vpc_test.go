package ec2

import (
	"encoding/xml"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/awsapi/apitest"
	"github.com/privlink/privlink/internal/controlplane"
)

// netClient calls the EC2 handler as one account, the way the front does
// after SigV4: decoded Params in, the marshalled XML document out.
type netClient struct {
	t       *testing.T
	h       awsapi.Handler
	account string
}

func newNetHandler(t *testing.T) awsapi.Handler {
	t.Helper()
	cp, _ := apitest.ControlPlane(t, controlplane.Config{})
	return Handler(cp)
}

// call runs action and decodes its XML response into out (if not nil).
func (c netClient) call(action string, params awsapi.Params, out any) error {
	c.t.Helper()
	body, err := apitest.Call(c.t, c.h, "ec2", c.account, action, params)
	if err != nil {
		return err
	}
	if !strings.Contains(string(body), "<"+action+"Response xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>req-1</requestId>") {
		c.t.Errorf("%s: unexpected envelope: %s", action, body)
	}
	if out != nil {
		if err := xml.Unmarshal(body, out); err != nil {
			c.t.Fatalf("%s: unmarshal %s: %v", action, body, err)
		}
	}
	return nil
}

func (c netClient) must(action string, params awsapi.Params, out any) {
	c.t.Helper()
	if err := c.call(action, params, out); err != nil {
		c.t.Fatalf("%s(%v): %v", action, params, err)
	}
}

type xmlTag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

type xmlVpc struct {
	VpcID           string   `xml:"vpcId"`
	OwnerID         string   `xml:"ownerId"`
	State           string   `xml:"state"`
	CidrBlock       string   `xml:"cidrBlock"`
	DhcpOptionsID   string   `xml:"dhcpOptionsId"`
	InstanceTenancy string   `xml:"instanceTenancy"`
	IsDefault       string   `xml:"isDefault"`
	AssocState      string   `xml:"cidrBlockAssociationSet>item>cidrBlockState>state"`
	AssocCidr       string   `xml:"cidrBlockAssociationSet>item>cidrBlock"`
	IGWBlockMode    string   `xml:"blockPublicAccessStates>internetGatewayBlockMode"`
	Tags            []xmlTag `xml:"tagSet>item"`
}

type xmlSubnet struct {
	SubnetID     string   `xml:"subnetId"`
	SubnetArn    string   `xml:"subnetArn"`
	VpcID        string   `xml:"vpcId"`
	State        string   `xml:"state"`
	CidrBlock    string   `xml:"cidrBlock"`
	AZ           string   `xml:"availabilityZone"`
	AZID         string   `xml:"availabilityZoneId"`
	Available    int      `xml:"availableIpAddressCount"`
	DefaultForAz string   `xml:"defaultForAz"`
	HostnameType string   `xml:"privateDnsNameOptionsOnLaunch>hostnameType"`
	Tags         []xmlTag `xml:"tagSet>item"`
}

func TestNetworkActions(t *testing.T) {
	h := newNetHandler(t)
	a := netClient{t, h, "111111111111"}
	b := netClient{t, h, "222222222222"}

	var created struct {
		Vpc xmlVpc `xml:"vpc"`
	}
	a.must("CreateVpc", awsapi.Params{
		"CidrBlock":                       "10.0.0.0/16",
		"TagSpecification.1.ResourceType": "vpc",
		"TagSpecification.1.Tag.1.Key":    "Name",
		"TagSpecification.1.Tag.1.Value":  "main",
	}, &created)
	vpc := created.Vpc
	want := xmlVpc{
		VpcID: vpc.VpcID, OwnerID: "111111111111", State: "pending", CidrBlock: "10.0.0.0/16",
		DhcpOptionsID: vpc.DhcpOptionsID, InstanceTenancy: "default", IsDefault: "false",
		AssocState: "associated", AssocCidr: "10.0.0.0/16", IGWBlockMode: "off",
		Tags: []xmlTag{{"Name", "main"}},
	}
	if diff := cmp.Diff(want, vpc); diff != "" {
		t.Errorf("CreateVpc mismatch (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(vpc.VpcID, "vpc-") || !strings.HasPrefix(vpc.DhcpOptionsID, "dopt-") {
		t.Errorf("ids %q %q", vpc.VpcID, vpc.DhcpOptionsID)
	}

	var described struct {
		Vpcs      []xmlVpc `xml:"vpcSet>item"`
		NextToken string   `xml:"nextToken"`
	}
	a.must("DescribeVpcs", awsapi.Params{"Filter.1.Name": "tag:Name", "Filter.1.Value.1": "ma*"}, &described)
	if len(described.Vpcs) != 1 || described.Vpcs[0].VpcID != vpc.VpcID || described.NextToken != "" {
		t.Errorf("DescribeVpcs = %+v", described)
	}
	described.Vpcs = nil
	b.must("DescribeVpcs", awsapi.Params{}, &described)
	if len(described.Vpcs) != 0 {
		t.Errorf("account B sees %+v", described.Vpcs)
	}
	wantErr(t, b.call("DescribeVpcs", awsapi.Params{"VpcId.1": vpc.VpcID}, nil), "InvalidVpcID.NotFound", http.StatusBadRequest)

	a.must("ModifyVpcAttribute", awsapi.Params{"VpcId": vpc.VpcID, "EnableDnsHostnames.Value": "true"}, nil)
	var attr struct {
		VpcID     string `xml:"vpcId"`
		Hostnames string `xml:"enableDnsHostnames>value"`
		Support   string `xml:"enableDnsSupport>value"`
	}
	a.must("DescribeVpcAttribute", awsapi.Params{"VpcId": vpc.VpcID, "Attribute": "enableDnsHostnames"}, &attr)
	if attr.VpcID != vpc.VpcID || attr.Hostnames != "true" || attr.Support != "" {
		t.Errorf("DescribeVpcAttribute = %+v", attr)
	}
	wantErr(t, a.call("ModifyVpcAttribute", awsapi.Params{"VpcId": vpc.VpcID, "EnableDnsHostnames.Value": "true", "EnableDnsSupport.Value": "true"}, nil),
		"InvalidParameterCombination", http.StatusBadRequest)

	var sub struct {
		Subnet xmlSubnet `xml:"subnet"`
	}
	a.must("CreateSubnet", awsapi.Params{"VpcId": vpc.VpcID, "CidrBlock": "10.0.1.0/24", "AvailabilityZone": "us-east-1b"}, &sub)
	wantSub := xmlSubnet{
		SubnetID: sub.Subnet.SubnetID, SubnetArn: "arn:aws:ec2:us-east-1:111111111111:subnet/" + sub.Subnet.SubnetID,
		VpcID: vpc.VpcID, State: "pending", CidrBlock: "10.0.1.0/24", AZ: "us-east-1b", AZID: "use1-az2",
		Available: 251, DefaultForAz: "false", HostnameType: "ip-name",
	}
	if diff := cmp.Diff(wantSub, sub.Subnet); diff != "" {
		t.Errorf("CreateSubnet mismatch (-want +got):\n%s", diff)
	}
	wantErr(t, a.call("CreateSubnet", awsapi.Params{"VpcId": vpc.VpcID, "CidrBlock": "10.0.1.0/25"}, nil), "InvalidSubnet.Conflict", http.StatusBadRequest)
	wantErr(t, a.call("CreateSubnet", awsapi.Params{"VpcId": vpc.VpcID, "CidrBlock": "10.0.2.0/24", "DryRun": "true"}, nil), "DryRunOperation", http.StatusPreconditionFailed)

	var subs struct {
		Subnets []xmlSubnet `xml:"subnetSet>item"`
	}
	a.must("DescribeSubnets", awsapi.Params{"Filter.1.Name": "vpc-id", "Filter.1.Value.1": vpc.VpcID}, &subs)
	if len(subs.Subnets) != 1 || subs.Subnets[0].SubnetID != sub.Subnet.SubnetID {
		t.Errorf("DescribeSubnets = %+v", subs)
	}

	// Tags: a Tag.N without Value on DeleteTags deletes whatever the value.
	a.must("CreateTags", awsapi.Params{"ResourceId.1": vpc.VpcID, "ResourceId.2": sub.Subnet.SubnetID, "Tag.1.Key": "env", "Tag.1.Value": "prod", "Tag.2.Key": "bare"}, nil)
	var tags struct {
		Tags []struct {
			ResourceID   string `xml:"resourceId"`
			ResourceType string `xml:"resourceType"`
			Key          string `xml:"key"`
			Value        string `xml:"value"`
		} `xml:"tagSet>item"`
	}
	a.must("DescribeTags", awsapi.Params{"Filter.1.Name": "resource-type", "Filter.1.Value.1": "subnet"}, &tags)
	if len(tags.Tags) != 2 || tags.Tags[0].ResourceType != "subnet" || tags.Tags[0].Key != "bare" || tags.Tags[1].Value != "prod" {
		t.Errorf("DescribeTags = %+v", tags)
	}
	a.must("DeleteTags", awsapi.Params{"ResourceId.1": sub.Subnet.SubnetID, "Tag.1.Key": "env", "Tag.2.Key": "bare", "Tag.2.Value": "x"}, nil)
	tags.Tags = nil
	a.must("DescribeTags", awsapi.Params{"Filter.1.Name": "resource-id", "Filter.1.Value.1": sub.Subnet.SubnetID}, &tags)
	if len(tags.Tags) != 1 || tags.Tags[0].Key != "bare" {
		t.Errorf("DescribeTags after DeleteTags = %+v", tags)
	}
	wantErr(t, b.call("CreateTags", awsapi.Params{"ResourceId.1": vpc.VpcID, "Tag.1.Key": "x"}, nil), "InvalidVpcID.NotFound", http.StatusBadRequest)

	wantErr(t, a.call("DeleteVpc", awsapi.Params{"VpcId": vpc.VpcID}, nil), "DependencyViolation", http.StatusBadRequest)
	a.must("DeleteSubnet", awsapi.Params{"SubnetId": sub.Subnet.SubnetID}, nil)
	a.must("DeleteVpc", awsapi.Params{"VpcId": vpc.VpcID}, nil)
	wantErr(t, a.call("DeleteVpc", awsapi.Params{"VpcId": vpc.VpcID}, nil), "InvalidVpcID.NotFound", http.StatusBadRequest)
}

func TestRegionActions(t *testing.T) {
	h := newNetHandler(t)
	a := netClient{t, h, "111111111111"}

	var regions struct {
		Regions []struct {
			Name     string `xml:"regionName"`
			Endpoint string `xml:"regionEndpoint"`
			OptIn    string `xml:"optInStatus"`
		} `xml:"regionInfo>item"`
	}
	a.must("DescribeRegions", awsapi.Params{}, &regions)
	if len(regions.Regions) != 1 || regions.Regions[0].Name != "us-east-1" || regions.Regions[0].Endpoint != "ec2.us-east-1.amazonaws.com" || regions.Regions[0].OptIn != "opt-in-not-required" {
		t.Errorf("DescribeRegions = %+v", regions)
	}

	var zones struct {
		Zones []struct {
			Name   string `xml:"zoneName"`
			ID     string `xml:"zoneId"`
			State  string `xml:"zoneState"`
			Region string `xml:"regionName"`
			Type   string `xml:"zoneType"`
			Group  string `xml:"groupName"`
			NBG    string `xml:"networkBorderGroup"`
			OptIn  string `xml:"optInStatus"`
		} `xml:"availabilityZoneInfo>item"`
	}
	a.must("DescribeAvailabilityZones", awsapi.Params{"ZoneName.1": "us-east-1b"}, &zones)
	if len(zones.Zones) != 1 {
		t.Fatalf("DescribeAvailabilityZones = %+v", zones)
	}
	z := zones.Zones[0]
	if z.Name != "us-east-1b" || z.ID != "use1-az2" || z.State != "available" || z.Region != "us-east-1" ||
		z.Type != "availability-zone" || z.Group != "us-east-1" || z.NBG != "us-east-1" || z.OptIn != "opt-in-not-required" {
		t.Errorf("zone = %+v", z)
	}
	wantErr(t, a.call("DescribeAvailabilityZones", awsapi.Params{"ZoneName.1": "us-east-1z"}, nil), "InvalidParameterValue", http.StatusBadRequest)

	var attrs struct {
		Attrs []struct {
			Name   string   `xml:"attributeName"`
			Values []string `xml:"attributeValueSet>item>attributeValue"`
		} `xml:"accountAttributeSet>item"`
	}
	a.must("DescribeAccountAttributes", awsapi.Params{"AttributeName.1": "default-vpc"}, &attrs)
	if len(attrs.Attrs) != 1 || attrs.Attrs[0].Name != "default-vpc" || len(attrs.Attrs[0].Values) != 1 || attrs.Attrs[0].Values[0] != "none" {
		t.Errorf("DescribeAccountAttributes = %+v", attrs)
	}
}

func wantErr(t *testing.T, err error, code string, status int) {
	t.Helper()
	var ae *awsapi.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error = %v, want %s", err, code)
	}
	if ae.Code != code || ae.HTTPStatus() != status {
		t.Errorf("error = %s (%d): %s, want %s (%d)", ae.Code, ae.HTTPStatus(), ae.Message, code, status)
	}
}
