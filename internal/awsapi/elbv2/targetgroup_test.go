package elbv2

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/awsapi"
)

type xmlTargetGroup struct {
	TargetGroupArn             string   `xml:"TargetGroupArn"`
	TargetGroupName            string   `xml:"TargetGroupName"`
	Protocol                   string   `xml:"Protocol"`
	Port                       int      `xml:"Port"`
	VpcID                      string   `xml:"VpcId"`
	HealthCheckProtocol        string   `xml:"HealthCheckProtocol"`
	HealthCheckPort            string   `xml:"HealthCheckPort"`
	HealthCheckEnabled         string   `xml:"HealthCheckEnabled"`
	HealthCheckIntervalSeconds int      `xml:"HealthCheckIntervalSeconds"`
	HealthCheckTimeoutSeconds  int      `xml:"HealthCheckTimeoutSeconds"`
	HealthyThresholdCount      int      `xml:"HealthyThresholdCount"`
	UnhealthyThresholdCount    int      `xml:"UnhealthyThresholdCount"`
	HealthCheckPath            string   `xml:"HealthCheckPath"`
	Matcher                    string   `xml:"Matcher>HttpCode"`
	LoadBalancerArns           []string `xml:"LoadBalancerArns>member"`
	TargetType                 string   `xml:"TargetType"`
	IPAddressType              string   `xml:"IpAddressType"`
}

type xmlTargetGroups struct {
	TargetGroups []xmlTargetGroup `xml:"CreateTargetGroupResult>TargetGroups>member"`
}

func TestTargetGroupActions(t *testing.T) {
	w := newWorld(t)

	// What the AWS CLI sends for
	//   aws elbv2 create-target-group --name web --protocol TCP --port 80 --vpc-id … --tags Key=team,Value=a
	body := w.must("CreateTargetGroup", awsapi.Params{
		"Name": "web", "Protocol": "TCP", "Port": "80", "VpcId": w.vpcID,
		"Tags.member.1.Key": "team", "Tags.member.1.Value": "a",
	}, nil)
	var created xmlTargetGroups
	if err := xml.Unmarshal([]byte(body), &created); err != nil || len(created.TargetGroups) != 1 {
		t.Fatalf("CreateTargetGroup: %v %s", err, body)
	}
	arn := created.TargetGroups[0].TargetGroupArn
	if !strings.HasPrefix(arn, "arn:aws:elasticloadbalancing:us-east-1:111111111111:targetgroup/web/") {
		t.Fatalf("TargetGroupArn = %q", arn)
	}
	want := `<CreateTargetGroupResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><CreateTargetGroupResult><TargetGroups><member>` +
		`<HealthCheckEnabled>true</HealthCheckEnabled><HealthCheckIntervalSeconds>30</HealthCheckIntervalSeconds>` +
		`<HealthCheckPort>traffic-port</HealthCheckPort><HealthCheckProtocol>TCP</HealthCheckProtocol>` +
		`<HealthCheckTimeoutSeconds>10</HealthCheckTimeoutSeconds><HealthyThresholdCount>5</HealthyThresholdCount>` +
		`<IpAddressType>ipv4</IpAddressType><LoadBalancerArns/><Port>80</Port><Protocol>TCP</Protocol>` +
		`<TargetGroupArn>` + arn + `</TargetGroupArn><TargetGroupName>web</TargetGroupName><TargetType>instance</TargetType>` +
		`<UnhealthyThresholdCount>2</UnhealthyThresholdCount><VpcId>` + w.vpcID + `</VpcId>` +
		`</member></TargetGroups></CreateTargetGroupResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></CreateTargetGroupResponse>`
	if diff := cmp.Diff(want, body); diff != "" {
		t.Errorf("CreateTargetGroup XML mismatch (-want +got):\n%s", diff)
	}

	// An ip group with an HTTP health check shows its path and matcher.
	created = xmlTargetGroups{}
	body = w.must("CreateTargetGroup", awsapi.Params{
		"Name": "api", "Protocol": "TCP", "Port": "8080", "VpcId": w.vpcID, "TargetType": "ip",
		"HealthCheckProtocol": "HTTP", "HealthCheckPath": "/healthz", "Matcher.HttpCode": "200,202",
		"HealthCheckIntervalSeconds": "10", "HealthyThresholdCount": "3",
	}, &created)
	wantTG := xmlTargetGroup{
		TargetGroupArn: created.TargetGroups[0].TargetGroupArn, TargetGroupName: "api", Protocol: "TCP", Port: 8080, VpcID: w.vpcID,
		HealthCheckProtocol: "HTTP", HealthCheckPort: "traffic-port", HealthCheckEnabled: "true", HealthCheckIntervalSeconds: 10,
		HealthCheckTimeoutSeconds: 6, HealthyThresholdCount: 3, UnhealthyThresholdCount: 2, HealthCheckPath: "/healthz",
		Matcher: "200,202", TargetType: "ip", IPAddressType: "ipv4",
	}
	if diff := cmp.Diff(wantTG, created.TargetGroups[0]); diff != "" {
		t.Errorf("CreateTargetGroup(ip, HTTP) mismatch (-want +got):\n%s\n%s", diff, body)
	}
	apiARN := wantTG.TargetGroupArn

	// Errors come back as the control plane's, unchanged.
	_, err := w.call("CreateTargetGroup", awsapi.Params{"Name": "web", "Protocol": "TCP", "Port": "81", "VpcId": w.vpcID})
	wantErr(t, err, "DuplicateTargetGroupName", "A target group with the same name 'web' exists, but with different settings")
	_, err = w.call("CreateTargetGroup", awsapi.Params{"Name": "udp", "Protocol": "UDP", "Port": "53", "VpcId": w.vpcID})
	wantErr(t, err, "ValidationError", "privlink does not carry UDP target groups yet; only TCP is supported")
	_, err = w.call("CreateTargetGroup", awsapi.Params{"Name": "x", "Protocol": "TCP", "Port": "80", "VpcId": w.vpcID, "HealthCheckEnabled": "false"})
	wantErr(t, err, "ValidationError", "Health check enabled must be true for target groups with target type 'instance'")

	// Describe by name, and the load balancers of a group.
	lbARN := w.attachLB(arn, "us-east-1a")
	var described struct {
		TargetGroups []xmlTargetGroup `xml:"DescribeTargetGroupsResult>TargetGroups>member"`
		NextMarker   string           `xml:"DescribeTargetGroupsResult>NextMarker"`
	}
	w.must("DescribeTargetGroups", awsapi.Params{"Names.member.1": "web", "Names.member.2": "api"}, &described)
	if len(described.TargetGroups) != 2 || described.TargetGroups[0].TargetGroupName != "api" || described.NextMarker != "" {
		t.Fatalf("DescribeTargetGroups = %+v", described)
	}
	if diff := cmp.Diff([]string{lbARN}, described.TargetGroups[1].LoadBalancerArns); diff != "" {
		t.Errorf("LoadBalancerArns mismatch (-want +got):\n%s", diff)
	}
	described.TargetGroups = nil
	w.must("DescribeTargetGroups", awsapi.Params{"PageSize": "1"}, &described)
	if len(described.TargetGroups) != 1 || described.NextMarker == "" {
		t.Fatalf("DescribeTargetGroups(PageSize 1) = %+v", described)
	}
	_, err = w.call("DescribeTargetGroups", awsapi.Params{"Names.member.1": "nope"})
	wantErr(t, err, "TargetGroupNotFound", "One or more target groups not found")

	// ModifyTargetGroup.
	var modified struct {
		TargetGroups []xmlTargetGroup `xml:"ModifyTargetGroupResult>TargetGroups>member"`
	}
	w.must("ModifyTargetGroup", awsapi.Params{"TargetGroupArn": apiARN, "HealthCheckProtocol": "TCP"}, &modified)
	if got := modified.TargetGroups[0]; got.HealthCheckProtocol != "TCP" || got.HealthCheckPath != "" || got.Matcher != "" {
		t.Errorf("ModifyTargetGroup(TCP) = %+v", got)
	}

	// Attributes: the full sorted list comes back.
	var attrs struct {
		Attributes []struct {
			Key   string `xml:"Key"`
			Value string `xml:"Value"`
		} `xml:"ModifyTargetGroupAttributesResult>Attributes>member"`
	}
	w.must("ModifyTargetGroupAttributes", awsapi.Params{
		"TargetGroupArn":            arn,
		"Attributes.member.1.Key":   "proxy_protocol_v2.enabled",
		"Attributes.member.1.Value": "true",
		"Attributes.member.2.Key":   "deregistration_delay.timeout_seconds",
		"Attributes.member.2.Value": "30",
	}, &attrs)
	if len(attrs.Attributes) != 13 || attrs.Attributes[0].Key != "deregistration_delay.connection_termination.enabled" {
		t.Fatalf("ModifyTargetGroupAttributes = %+v", attrs)
	}
	got := map[string]string{}
	for _, a := range attrs.Attributes {
		got[a.Key] = a.Value
	}
	if got["proxy_protocol_v2.enabled"] != "true" || got["deregistration_delay.timeout_seconds"] != "30" || got["preserve_client_ip.enabled"] != "false" {
		t.Errorf("attributes = %v", got)
	}
	body = w.must("DescribeTargetGroupAttributes", awsapi.Params{"TargetGroupArn": arn}, nil)
	if !strings.Contains(body, "<member><Key>proxy_protocol_v2.enabled</Key><Value>true</Value></member>") {
		t.Errorf("DescribeTargetGroupAttributes = %s", body)
	}
	_, err = w.call("ModifyTargetGroupAttributes", awsapi.Params{"TargetGroupArn": arn, "Attributes.member.1.Key": "preserve_client_ip.enabled", "Attributes.member.1.Value": "true"})
	wantErr(t, err, "InvalidConfigurationRequest", "privlink does not preserve client IP addresses: targets see the load balancer node's address; use proxy_protocol_v2.enabled to learn the client's")

	// Delete: in use, then not; an unknown group is success.
	_, err = w.call("DeleteTargetGroup", awsapi.Params{"TargetGroupArn": arn})
	wantErr(t, err, "ResourceInUse", "Target group '"+arn+"' is currently in use by a listener or a rule")
	body = w.must("DeleteTargetGroup", awsapi.Params{"TargetGroupArn": apiARN}, nil)
	if want := `<DeleteTargetGroupResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><DeleteTargetGroupResult/><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></DeleteTargetGroupResponse>`; body != want {
		t.Errorf("DeleteTargetGroup = %s", body)
	}
	w.must("DeleteTargetGroup", awsapi.Params{"TargetGroupArn": apiARN}, nil)
}
