package elbv2

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/model"
)

type lbwXMLAddress struct {
	PrivateIPv4Address string `xml:"PrivateIPv4Address"`
}

type lbwXMLAZ struct {
	ZoneName  string          `xml:"ZoneName"`
	SubnetID  string          `xml:"SubnetId"`
	Addresses []lbwXMLAddress `xml:"LoadBalancerAddresses>member"`
}

type lbwXMLLB struct {
	ARN            string     `xml:"LoadBalancerArn"`
	DNSName        string     `xml:"DNSName"`
	HostedZone     string     `xml:"CanonicalHostedZoneId"`
	CreatedTime    string     `xml:"CreatedTime"`
	Name           string     `xml:"LoadBalancerName"`
	Scheme         string     `xml:"Scheme"`
	VpcID          string     `xml:"VpcId"`
	State          string     `xml:"State>Code"`
	Type           string     `xml:"Type"`
	AZs            []lbwXMLAZ `xml:"AvailabilityZones>member"`
	SecurityGroups []string   `xml:"SecurityGroups>member"`
	IPAddressType  string     `xml:"IpAddressType"`
	Enforce        string     `xml:"EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic"`
}

type lbwXMLLBs struct {
	LoadBalancers []lbwXMLLB `xml:"CreateLoadBalancerResult>LoadBalancers>member"`
	Described     []lbwXMLLB `xml:"DescribeLoadBalancersResult>LoadBalancers>member"`
	NextMarker    string     `xml:"DescribeLoadBalancersResult>NextMarker"`
}

type lbwXMLAttr struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

func TestLoadBalancerActions(t *testing.T) {
	w := newWorld(t)
	var created lbwXMLLBs
	w.mustQuery(query("Action", "CreateLoadBalancer", "Version", "2015-12-01", "Name", "my-nlb", "Type", "network", "Scheme", "internal",
		"Subnets.member.1", w.subnets[1], "Subnets.member.2", w.subnets[0], "SecurityGroups.member.1", w.sgID,
		"Tags.member.1.Key", "k", "Tags.member.1.Value", "v"), &created)
	if len(created.LoadBalancers) != 1 {
		t.Fatalf("CreateLoadBalancer returned %d load balancers", len(created.LoadBalancers))
	}
	lb := created.LoadBalancers[0]
	r, ok := model.ParseELBARN(lb.ARN)
	if !ok {
		t.Fatalf("ARN %q", lb.ARN)
	}
	want := lbwXMLLB{
		ARN: lb.ARN, DNSName: "my-nlb-" + r.ID + ".elb.us-east-1.amazonaws.com", HostedZone: "Z26RNL4JYFTOTI",
		CreatedTime: lb.CreatedTime, Name: "my-nlb", Scheme: "internal", VpcID: w.vpcID, State: "provisioning", Type: "network",
		AZs:            []lbwXMLAZ{{ZoneName: "us-east-1a", SubnetID: w.subnets[0]}, {ZoneName: "us-east-1b", SubnetID: w.subnets[1]}},
		SecurityGroups: []string{w.sgID}, IPAddressType: "ipv4", Enforce: "on",
	}
	if diff := cmp.Diff(want, lb); diff != "" {
		t.Errorf("CreateLoadBalancer mismatch (-want +got):\n%s", diff)
	}
	if !strings.HasSuffix(lb.CreatedTime, "Z") || len(lb.CreatedTime) != len("2025-01-15T10:00:00.000Z") {
		t.Errorf("CreatedTime = %q", lb.CreatedTime)
	}

	// An asked-for address is listed; LoadBalancerAddresses is otherwise
	// present and empty.
	body := w.rawQuery(query("Action", "CreateLoadBalancer", "Version", "2015-12-01", "Name", "pinned", "Type", "network", "Scheme", "internal",
		"SubnetMappings.member.1.SubnetId", w.subnets[0], "SubnetMappings.member.1.PrivateIPv4Address", "10.0.1.100"))
	if !strings.Contains(body, "<LoadBalancerAddresses><member><PrivateIPv4Address>10.0.1.100</PrivateIPv4Address></member></LoadBalancerAddresses>") {
		t.Errorf("pinned address not in %s", body)
	}
	if strings.Contains(body, "SecurityGroups") || strings.Contains(body, "EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic") {
		t.Errorf("load balancer without groups shows groups: %s", body)
	}
	body = w.rawQuery(query("Action", "DescribeLoadBalancers", "Version", "2015-12-01", "LoadBalancerArns.member.1", lb.ARN))
	if strings.Count(body, "<LoadBalancerAddresses/>") != 2 {
		t.Errorf("want two empty LoadBalancerAddresses in %s", body)
	}

	// Describe by name, with paging.
	var page lbwXMLLBs
	w.mustQuery(query("Action", "DescribeLoadBalancers", "Version", "2015-12-01", "PageSize", "1"), &page)
	if len(page.Described) != 1 || page.NextMarker == "" {
		t.Fatalf("DescribeLoadBalancers(PageSize=1) = %+v", page)
	}
	var next lbwXMLLBs
	w.mustQuery(query("Action", "DescribeLoadBalancers", "Version", "2015-12-01", "PageSize", "1", "Marker", page.NextMarker), &next)
	if len(next.Described) != 1 || next.NextMarker != "" || next.Described[0].Name == page.Described[0].Name {
		t.Errorf("second page = %+v after %s", next, page.Described[0].Name)
	}
	var byName lbwXMLLBs
	w.mustQuery(query("Action", "DescribeLoadBalancers", "Version", "2015-12-01", "Names.member.1", "my-nlb"), &byName)
	if len(byName.Described) != 1 || byName.Described[0].ARN != lb.ARN {
		t.Errorf("DescribeLoadBalancers(Names) = %+v", byName.Described)
	}

	// Attributes.
	var attrs struct {
		Attributes []lbwXMLAttr `xml:"ModifyLoadBalancerAttributesResult>Attributes>member"`
	}
	w.mustQuery(query("Action", "ModifyLoadBalancerAttributes", "Version", "2015-12-01", "LoadBalancerArn", lb.ARN,
		"Attributes.member.1.Key", "load_balancing.cross_zone.enabled", "Attributes.member.1.Value", "true"), &attrs)
	if len(attrs.Attributes) != 9 || attrs.Attributes[6] != (lbwXMLAttr{"load_balancing.cross_zone.enabled", "true"}) {
		t.Errorf("ModifyLoadBalancerAttributes = %+v", attrs.Attributes)
	}
	var described struct {
		Attributes []lbwXMLAttr `xml:"DescribeLoadBalancerAttributesResult>Attributes>member"`
	}
	w.mustQuery(query("Action", "DescribeLoadBalancerAttributes", "Version", "2015-12-01", "LoadBalancerArn", lb.ARN), &described)
	if diff := cmp.Diff(attrs.Attributes, described.Attributes); diff != "" {
		t.Errorf("DescribeLoadBalancerAttributes mismatch (-want +got):\n%s", diff)
	}
	if !strings.Contains(w.rawQuery(query("Action", "DescribeLoadBalancerAttributes", "Version", "2015-12-01", "LoadBalancerArn", lb.ARN)),
		"<member><Key>access_logs.s3.bucket</Key><Value/></member>") {
		t.Errorf("an empty attribute value must still be sent")
	}

	// Security groups.
	var sgs struct {
		IDs     []string `xml:"SetSecurityGroupsResult>SecurityGroupIds>member"`
		Enforce string   `xml:"SetSecurityGroupsResult>EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic"`
	}
	w.mustQuery(query("Action", "SetSecurityGroups", "Version", "2015-12-01", "LoadBalancerArn", lb.ARN, "SecurityGroups.member.1", w.sgID,
		"EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic", "off"), &sgs)
	if !cmp.Equal(sgs.IDs, []string{w.sgID}) || sgs.Enforce != "off" {
		t.Errorf("SetSecurityGroups = %+v", sgs)
	}

	// SetSubnets with the subnets it has answers them; anything else is
	// refused.
	var subnets struct {
		AZs []lbwXMLAZ `xml:"SetSubnetsResult>AvailabilityZones>member"`
	}
	w.mustQuery(query("Action", "SetSubnets", "Version", "2015-12-01", "LoadBalancerArn", lb.ARN, "Subnets.member.1", w.subnets[0], "Subnets.member.2", w.subnets[1]), &subnets)
	if len(subnets.AZs) != 2 {
		t.Errorf("SetSubnets = %+v", subnets)
	}
	err := w.callQuery(query("Action", "SetSubnets", "Version", "2015-12-01", "LoadBalancerArn", lb.ARN, "Subnets.member.1", w.subnets[0]), nil)
	wantErr(t, err, "OperationNotPermitted", "")

	// Delete: an empty result, and again.
	for range 2 {
		if body := w.rawQuery(query("Action", "DeleteLoadBalancer", "Version", "2015-12-01", "LoadBalancerArn", lb.ARN)); !strings.Contains(body, "<DeleteLoadBalancerResult/>") {
			t.Errorf("DeleteLoadBalancer body %s", body)
		}
	}
	err = w.callQuery(query("Action", "DescribeLoadBalancers", "Version", "2015-12-01", "LoadBalancerArns.member.1", lb.ARN), nil)
	wantErr(t, err, "LoadBalancerNotFound", "Load balancers '["+lb.ARN+"]' not found")
}

func TestLoadBalancerActionErrors(t *testing.T) {
	w := newWorld(t)
	base := []string{"Action", "CreateLoadBalancer", "Version", "2015-12-01", "Name", "lb", "Scheme", "internal", "Subnets.member.1", w.subnets[0]}
	tests := []struct {
		name  string
		query string
		code  string
		msg   string
	}{
		{"no Type", query(base...), "ValidationError",
			"privlink serves only network load balancers: set Type to 'network' (the default type, 'application', is not supported)"},
		{"Type not in the model", query(append(base, "Type", "nlb")...), "ValidationError",
			"Value (nlb) for parameter Type is invalid. Expected one of: application, network, gateway."},
		{"dualstack", query(append(base, "Type", "network", "IpAddressType", "dualstack")...), "ValidationError",
			"privlink supports only the 'ipv4' IP address type, not 'dualstack'"},
		{"unknown subnet", query("Action", "CreateLoadBalancer", "Version", "2015-12-01", "Name", "lb", "Type", "network", "Scheme", "internal",
			"Subnets.member.1", "subnet-0123456789abcdef0"), "SubnetNotFound", "The subnet ID 'subnet-0123456789abcdef0' is not valid"},
		{"no name", query("Action", "CreateLoadBalancer", "Version", "2015-12-01", "Type", "network"), "ValidationError",
			"1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null"},
		{"PageSize 0", query("Action", "DescribeLoadBalancers", "Version", "2015-12-01", "PageSize", "0"), "ValidationError", ""},
		{"unknown attribute", query("Action", "ModifyLoadBalancerAttributes", "Version", "2015-12-01",
			"LoadBalancerArn", model.LoadBalancerARN("us-east-1", testAccount, "lb", "0123456789abcdef"),
			"Attributes.member.1.Key", "idle_timeout.timeout_seconds", "Attributes.member.1.Value", "60"), "LoadBalancerNotFound", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, w.callQuery(tt.query, nil), tt.code, tt.msg)
		})
	}
}
