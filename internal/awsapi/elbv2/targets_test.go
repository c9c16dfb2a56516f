package elbv2

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/controlplane"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

type xmlTargetHealth struct {
	ID              string `xml:"Target>Id"`
	Port            int    `xml:"Target>Port"`
	Zone            string `xml:"Target>AvailabilityZone"`
	HealthCheckPort string `xml:"HealthCheckPort"`
	State           string `xml:"TargetHealth>State"`
	Reason          string `xml:"TargetHealth>Reason"`
	Description     string `xml:"TargetHealth>Description"`
}

func (w *world) targetHealth(params awsapi.Params) []xmlTargetHealth {
	w.t.Helper()
	var out struct {
		Descriptions []xmlTargetHealth `xml:"DescribeTargetHealthResult>TargetHealthDescriptions>member"`
	}
	w.must("DescribeTargetHealth", params, &out)
	return out.Descriptions
}

func TestTargetActions(t *testing.T) {
	w := newWorld(t)
	one := int32(1)
	res, err := w.cp.RunInstances(t.Context(), testAccount, controlplane.RunInstancesInput{ImageID: "ami-12345678", MinCount: &one, MaxCount: &one, SubnetID: w.subnets[0]})
	if err != nil {
		t.Fatal(err)
	}
	inst := res.Instances[0].ID
	var created xmlTargetGroups
	w.must("CreateTargetGroup", awsapi.Params{"Name": "web", "Protocol": "TCP", "Port": "80", "VpcId": w.vpcID}, &created)
	arn := created.TargetGroups[0].TargetGroupArn
	created = xmlTargetGroups{}
	w.must("CreateTargetGroup", awsapi.Params{"Name": "ips", "Protocol": "TCP", "Port": "80", "VpcId": w.vpcID, "TargetType": "ip"}, &created)
	ipARN := created.TargetGroups[0].TargetGroupArn

	// What the AWS CLI sends for
	//   aws elbv2 register-targets --target-group-arn … --targets Id=i-… Id=i-…,Port=8080
	body := w.must("RegisterTargets", awsapi.Params{
		"TargetGroupArn":        arn,
		"Targets.member.1.Id":   inst,
		"Targets.member.2.Id":   inst,
		"Targets.member.2.Port": "8080",
	}, nil)
	if want := `<RegisterTargetsResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><RegisterTargetsResult/><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></RegisterTargetsResponse>`; body != want {
		t.Errorf("RegisterTargets = %s", body)
	}
	w.must("RegisterTargets", awsapi.Params{
		"TargetGroupArn": ipARN, "Targets.member.1.Id": "10.0.1.50", "Targets.member.1.AvailabilityZone": "us-east-1a",
	}, nil)
	_, err = w.call("RegisterTargets", awsapi.Params{"TargetGroupArn": arn, "Targets.member.1.Id": "i-0123456789abcdef0"})
	wantErr(t, err, "InvalidTarget", "The following instances do not exist: 'i-0123456789abcdef0'")
	_, err = w.call("RegisterTargets", awsapi.Params{"TargetGroupArn": ipARN, "Targets.member.1.Id": "192.168.0.1"})
	wantErr(t, err, "InvalidTarget", "The IP address '192.168.0.1' is not within the VPC's subnets")

	// No load balancer yet: unused. The whole document, as botocore reads it.
	body = w.must("DescribeTargetHealth", awsapi.Params{"TargetGroupArn": arn, "Targets.member.1.Id": inst}, nil)
	const noOverride = `<AdministrativeOverride><Description>No override is currently active on target</Description><Reason>AdministrativeOverride.NoOverride</Reason><State>no_override</State></AdministrativeOverride>`
	want := `<DescribeTargetHealthResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><DescribeTargetHealthResult><TargetHealthDescriptions>` +
		`<member>` + noOverride + `<HealthCheckPort>80</HealthCheckPort><Target><Id>` + inst + `</Id><Port>80</Port></Target>` +
		`<TargetHealth><Description>Target group is not configured to receive traffic from the load balancer</Description><Reason>Target.NotInUse</Reason><State>unused</State></TargetHealth></member>` +
		`<member>` + noOverride + `<HealthCheckPort>8080</HealthCheckPort><Target><Id>` + inst + `</Id><Port>8080</Port></Target>` +
		`<TargetHealth><Description>Target group is not configured to receive traffic from the load balancer</Description><Reason>Target.NotInUse</Reason><State>unused</State></TargetHealth></member>` +
		`</TargetHealthDescriptions></DescribeTargetHealthResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></DescribeTargetHealthResponse>`
	if diff := cmp.Diff(want, body); diff != "" {
		t.Errorf("DescribeTargetHealth XML mismatch (-want +got):\n%s", diff)
	}

	// With a load balancer and a health result: healthy has no reason, an
	// ip target shows the zone it was registered with.
	w.attachLB(arn, "us-east-1a")
	w.attachLB(ipARN, "us-east-1a")
	r, _ := model.ParseELBARN(arn)
	w.put(store.Key(store.KindTargetHealth, testAccount, r.ID), model.TargetHealthSet{TargetGroupARN: arn, Targets: map[string]model.TargetHealthStatus{
		inst + ":80": {State: "healthy", Since: time.Now().Add(time.Minute)},
	}})
	got := w.targetHealth(awsapi.Params{"TargetGroupArn": arn})
	wantHealth := []xmlTargetHealth{
		{ID: inst, Port: 80, HealthCheckPort: "80", State: "healthy"},
		{ID: inst, Port: 8080, HealthCheckPort: "8080", State: "initial", Reason: "Elb.RegistrationInProgress", Description: "Target registration is in progress"},
	}
	if diff := cmp.Diff(wantHealth, got); diff != "" {
		t.Errorf("DescribeTargetHealth mismatch (-want +got):\n%s", diff)
	}
	got = w.targetHealth(awsapi.Params{"TargetGroupArn": ipARN})
	wantHealth = []xmlTargetHealth{{ID: "10.0.1.50", Port: 80, Zone: "us-east-1a", HealthCheckPort: "80", State: "initial",
		Reason: "Elb.RegistrationInProgress", Description: "Target registration is in progress"}}
	if diff := cmp.Diff(wantHealth, got); diff != "" {
		t.Errorf("DescribeTargetHealth(ip) mismatch (-want +got):\n%s", diff)
	}

	// Deregistration drains.
	w.must("DeregisterTargets", awsapi.Params{"TargetGroupArn": arn, "Targets.member.1.Id": inst}, nil)
	got = w.targetHealth(awsapi.Params{"TargetGroupArn": arn, "Targets.member.1.Id": inst, "Targets.member.1.Port": "80"})
	wantHealth = []xmlTargetHealth{{ID: inst, Port: 80, HealthCheckPort: "80", State: "draining",
		Reason: "Target.DeregistrationInProgress", Description: "Target deregistration is in progress"}}
	if diff := cmp.Diff(wantHealth, got); diff != "" {
		t.Errorf("DescribeTargetHealth(draining) mismatch (-want +got):\n%s", diff)
	}
	// An unknown target deregisters fine; an unknown group does not.
	w.must("DeregisterTargets", awsapi.Params{"TargetGroupArn": arn, "Targets.member.1.Id": "i-0123456789abcdef0"}, nil)
	missing := arn[:len(arn)-4] + "ffff"
	if missing == arn {
		missing = arn[:len(arn)-4] + "eeee"
	}
	_, err = w.call("DeregisterTargets", awsapi.Params{"TargetGroupArn": missing, "Targets.member.1.Id": inst})
	wantErr(t, err, "TargetGroupNotFound", "Target groups '["+missing+"]' not found")
	_, err = w.call("DescribeTargetHealth", awsapi.Params{"TargetGroupArn": missing})
	wantErr(t, err, "TargetGroupNotFound", "Target groups '["+missing+"]' not found")
}
