package elbv2

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/awsapi/gen/wiretest"
)

// wireDecodeAs adapts a generated decoder for table tests.
func wireDecodeAs[T any](dec func(*genDecoder, *genNode, *T)) func(awsapi.Params) (any, error) {
	return func(p awsapi.Params) (any, error) {
		v, err := genDecode(p, dec)
		if err != nil {
			return nil, err
		}
		return v, nil
	}
}

var wireDecoders = map[string]func(awsapi.Params) (any, error){
	"AddTags":                     wireDecodeAs((*genDecoder).decAddTagsInput),
	"CreateListener":              wireDecodeAs((*genDecoder).decCreateListenerInput),
	"CreateLoadBalancer":          wireDecodeAs((*genDecoder).decCreateLoadBalancerInput),
	"CreateTargetGroup":           wireDecodeAs((*genDecoder).decCreateTargetGroupInput),
	"DescribeLoadBalancers":       wireDecodeAs((*genDecoder).decDescribeLoadBalancersInput),
	"ModifyTargetGroupAttributes": wireDecodeAs((*genDecoder).decModifyTargetGroupAttributesInput),
	"RegisterTargets":             wireDecodeAs((*genDecoder).decRegisterTargetsInput),
}

// TestWireBotocoreRequests decodes what botocore's QuerySerializer sends and
// checks that it is exactly the input botocore was given.
func TestWireBotocoreRequests(t *testing.T) {
	vectors := wiretest.Requests(t)
	if len(vectors) < 7 {
		t.Fatalf("only %d vectors in testdata/botocore_requests.json", len(vectors))
	}
	for _, v := range vectors {
		t.Run(v.Name, func(t *testing.T) {
			dec, ok := wireDecoders[v.Operation]
			if !ok {
				t.Fatalf("no decoder for %s in the test table", v.Operation)
			}
			got, err := dec(v.Params)
			if err != nil {
				t.Fatalf("decode %v: %v", v.Params, err)
			}
			if diff := cmp.Diff(wiretest.Prune(v.Input), wiretest.Botocore(got)); diff != "" {
				t.Errorf("decode%sInput() mismatch (-want +got):\n%s", v.Operation, diff)
			}
		})
	}
}

func TestWireDecodeExamples(t *testing.T) {
	tests := []struct {
		name   string
		params awsapi.Params
		decode func(awsapi.Params) (any, error)
		want   any
	}{{
		name: "CreateLoadBalancer",
		params: awsapi.Params{
			"Name": "my-nlb", "Type": "network", "Scheme": "internal",
			"Subnets.member.1": "subnet-1", "Subnets.member.2": "subnet-2",
			"Tags.member.1.Key": "k", "Tags.member.1.Value": "v",
		},
		decode: wireDecoders["CreateLoadBalancer"],
		want: &CreateLoadBalancerInput{
			Name: new("my-nlb"), Type: new("network"), Scheme: new("internal"),
			Subnets: []string{"subnet-1", "subnet-2"},
			Tags:    []Tag{{Key: new("k"), Value: new("v")}},
		},
	}, {
		name:   "empty list",
		params: awsapi.Params{"Names": "", "LoadBalancerArns": ""},
		decode: wireDecoders["DescribeLoadBalancers"],
		want:   &DescribeLoadBalancersInput{},
	}, {
		name: "map",
		params: awsapi.Params{
			"LoadBalancerArn": "arn", "DefaultActions.member.1.Type": "authenticate-oidc",
			"DefaultActions.member.1.AuthenticateOidcConfig.Issuer":                                         "i",
			"DefaultActions.member.1.AuthenticateOidcConfig.AuthorizationEndpoint":                          "a",
			"DefaultActions.member.1.AuthenticateOidcConfig.TokenEndpoint":                                  "t",
			"DefaultActions.member.1.AuthenticateOidcConfig.UserInfoEndpoint":                               "u",
			"DefaultActions.member.1.AuthenticateOidcConfig.ClientId":                                       "c",
			"DefaultActions.member.1.AuthenticateOidcConfig.AuthenticationRequestExtraParams.entry.2.key":   "prompt",
			"DefaultActions.member.1.AuthenticateOidcConfig.AuthenticationRequestExtraParams.entry.2.value": "login",
			"DefaultActions.member.1.AuthenticateOidcConfig.AuthenticationRequestExtraParams.entry.1.key":   "novalue",
		},
		decode: wireDecoders["CreateListener"],
		want: &CreateListenerInput{
			LoadBalancerArn: new("arn"),
			DefaultActions: []Action{{
				Type: new("authenticate-oidc"),
				AuthenticateOidcConfig: &AuthenticateOidcActionConfig{
					Issuer: new("i"), AuthorizationEndpoint: new("a"), TokenEndpoint: new("t"),
					UserInfoEndpoint: new("u"), ClientId: new("c"),
					AuthenticationRequestExtraParams: map[string]string{"prompt": "login", "novalue": ""},
				},
			}},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.decode(tt.params)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decode() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWireDecodeErrors(t *testing.T) {
	tests := []struct {
		name    string
		op      string
		params  awsapi.Params
		code    string
		message string
	}{
		{name: "missing required", op: "RegisterTargets", params: awsapi.Params{"Targets.member.1.Id": "i-1"},
			code: "MissingParameter", message: "The request must contain the parameter TargetGroupArn"},
		{name: "missing required in list element", op: "AddTags", params: awsapi.Params{"ResourceArns.member.1": "arn", "Tags.member.1.Value": "v"},
			code: "MissingParameter", message: "The request must contain the parameter Tags.member.1.Key"},
		{name: "missing map key", op: "CreateListener", params: awsapi.Params{"LoadBalancerArn": "arn",
			"DefaultActions.member.1.Type": "forward", "DefaultActions.member.1.AuthenticateOidcConfig.AuthenticationRequestExtraParams.entry.1.value": "v"},
			code: "MissingParameter", message: "The request must contain the parameter DefaultActions.member.1.AuthenticateOidcConfig.AuthenticationRequestExtraParams.entry.1.key"},
		{name: "port out of range", op: "RegisterTargets", params: awsapi.Params{"TargetGroupArn": "arn", "Targets.member.1.Id": "i-1", "Targets.member.1.Port": "0"},
			code: "InvalidParameterValue", message: "Value (0) for parameter Targets.member.1.Port is invalid. Expected a value between 1 and 65535."},
		{name: "bad long", op: "CreateListener", params: awsapi.Params{"LoadBalancerArn": "arn", "DefaultActions.member.1.Type": "authenticate-cognito",
			"DefaultActions.member.1.AuthenticateCognitoConfig.UserPoolArn":      "arn:pool",
			"DefaultActions.member.1.AuthenticateCognitoConfig.UserPoolClientId": "client",
			"DefaultActions.member.1.AuthenticateCognitoConfig.UserPoolDomain":   "domain",
			"DefaultActions.member.1.AuthenticateCognitoConfig.SessionTimeout":   "1e3"},
			code: "InvalidParameterValue", message: "Value (1e3) for parameter DefaultActions.member.1.AuthenticateCognitoConfig.SessionTimeout is invalid. Expected: 'Long'."},
		{name: "bad enum", op: "CreateLoadBalancer", params: awsapi.Params{"Name": "n", "Type": "nlb"},
			code: "InvalidParameterValue", message: "Value (nlb) for parameter Type is invalid. Expected one of: application, network, gateway."},
		{name: "bad boolean", op: "CreateTargetGroup", params: awsapi.Params{"Name": "n", "HealthCheckEnabled": "1"},
			code: "InvalidParameterValue", message: "Value (1) for parameter HealthCheckEnabled is invalid. Expected: 'Boolean'."},
		{name: "EC2-style list", op: "CreateLoadBalancer", params: awsapi.Params{"Name": "n", "Subnets.1": "subnet-1"},
			code: "UnknownParameter", message: "The parameter Subnets.1 is not recognized"},
		{name: "non-empty list value", op: "DescribeLoadBalancers", params: awsapi.Params{"Names": "lb"},
			code: "UnknownParameter", message: "The parameter Names is not recognized"},
		{name: "unknown", op: "DescribeLoadBalancers", params: awsapi.Params{"Marker": "m", "DryRun": "true"},
			code: "UnknownParameter", message: "The parameter DryRun is not recognized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := wireDecoders[tt.op](tt.params)
			var aerr *awsapi.Error
			if !errors.As(err, &aerr) {
				t.Fatalf("decode error = %v, want *awsapi.Error", err)
			}
			if diff := cmp.Diff(&awsapi.Error{Code: tt.code, Message: tt.message, Status: 400}, aerr); diff != "" {
				t.Errorf("decode error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

type wireFakeELB struct{}

func (wireFakeELB) DeleteLoadBalancer(ctx context.Context, req *awsapi.Request, in *DeleteLoadBalancerInput) (*DeleteLoadBalancerOutput, error) {
	if *in.LoadBalancerArn == "missing" {
		return nil, ErrLoadBalancerNotFound("One or more load balancers not found")
	}
	return &DeleteLoadBalancerOutput{}, nil
}

func TestWireHandler(t *testing.T) {
	tests := []struct {
		name    string
		action  string
		params  awsapi.Params
		wantErr *awsapi.Error
		wantXML string
	}{
		{name: "empty result", action: "DeleteLoadBalancer", params: awsapi.Params{"LoadBalancerArn": "arn"},
			wantXML: `<DeleteLoadBalancerResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><DeleteLoadBalancerResult/><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></DeleteLoadBalancerResponse>`},
		{name: "modeled error", action: "DeleteLoadBalancer", params: awsapi.Params{"LoadBalancerArn": "missing"},
			wantErr: &awsapi.Error{Code: "LoadBalancerNotFound", Message: "One or more load balancers not found", Status: 400}},
		{name: "not implemented", action: "DescribeTags", params: awsapi.Params{"ResourceArns.member.1": "arn"},
			wantErr: &awsapi.Error{Code: "UnsupportedOperation", Message: "The action DescribeTags is not yet supported by privlink.", Status: 400}},
		{name: "in AWS's model, not built", action: "CreateRule",
			wantErr: &awsapi.Error{Code: "UnsupportedOperation", Message: "The action CreateRule is not yet supported by privlink.", Status: 400}},
		{name: "in no model", action: "Frobnicate",
			wantErr: &awsapi.Error{Code: "InvalidAction", Message: "The action Frobnicate is not valid for this web service.", Status: 400}},
		{name: "EC2 action on ELBv2", action: "DescribeVpcs",
			wantErr: &awsapi.Error{Code: "InvalidAction", Message: "The action DescribeVpcs is not valid for this web service.", Status: 400}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := NewHandler(wireFakeELB{}).Handle(t.Context(), &awsapi.Request{Service: "elasticloadbalancing", Action: tt.action, Params: tt.params})
			if tt.wantErr != nil {
				var aerr *awsapi.Error
				if !errors.As(err, &aerr) {
					t.Fatalf("Handle() error = %v, want %v", err, tt.wantErr)
				}
				if diff := cmp.Diff(tt.wantErr, aerr); diff != "" {
					t.Errorf("Handle() error mismatch (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatalf("Handle() error = %v", err)
			}
			body, err := resp.MarshalResponse("req-1")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantXML, string(body)); diff != "" {
				t.Errorf("MarshalResponse() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

var wireGoldenResponses = []struct {
	name string
	out  awsapi.Response
}{
	{"CreateLoadBalancer.xml", &CreateLoadBalancerOutput{LoadBalancers: []LoadBalancer{{
		LoadBalancerArn:       new("arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/net/my-nlb/1234567890abcdef"),
		DNSName:               new("my-nlb-1234567890abcdef.elb.us-east-1.amazonaws.com"),
		CanonicalHostedZoneId: new("Z26RNL4JYFTOTI"),
		CreatedTime:           new(time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)),
		LoadBalancerName:      new("my-nlb"), Scheme: new("internal"), VpcId: new("vpc-1"),
		State: &LoadBalancerState{Code: new("provisioning")}, Type: new("network"),
		AvailabilityZones: []AvailabilityZone{
			{ZoneName: new("us-east-1a"), SubnetId: new("subnet-1"), LoadBalancerAddresses: []LoadBalancerAddress{{PrivateIPv4Address: new("10.0.1.10")}}},
			{ZoneName: new("us-east-1b"), SubnetId: new("subnet-2")},
		},
		IpAddressType:  new("ipv4"),
		SecurityGroups: []string{"sg-1"},
	}}}},
	{"DeleteLoadBalancer.xml", &DeleteLoadBalancerOutput{}},
	{"DescribeTargetHealth.xml", &DescribeTargetHealthOutput{TargetHealthDescriptions: []TargetHealthDescription{{
		Target:          &TargetDescription{Id: new("10.0.1.10"), Port: new(int32(8080)), AvailabilityZone: new("us-east-1a")},
		HealthCheckPort: new("8080"),
		TargetHealth:    &TargetHealth{State: new("unhealthy"), Reason: new("Target.FailedHealthChecks"), Description: new("Health checks failed & <more>")},
	}}}},
	{"DescribeListeners-oidc.xml", &DescribeListenersOutput{NextMarker: new("m"), Listeners: []Listener{{
		ListenerArn: new("arn:l"), Port: new(int32(443)), Protocol: new("HTTPS"),
		DefaultActions: []Action{{
			Type: new("authenticate-oidc"), Order: new(int32(1)),
			AuthenticateOidcConfig: &AuthenticateOidcActionConfig{
				Issuer: new("https://issuer"), SessionTimeout: new(int64(604800)),
				AuthenticationRequestExtraParams: map[string]string{"prompt": "login", "display": "<page>"},
			},
		}},
	}}}},
	{"DescribeTargetGroupAttributes.xml", &DescribeTargetGroupAttributesOutput{Attributes: []TargetGroupAttribute{
		{Key: new("proxy_protocol_v2.enabled"), Value: new("true")},
		{Key: new("deregistration_delay.timeout_seconds"), Value: new("30")},
	}}},
}

func TestWireGolden(t *testing.T) {
	for _, g := range wireGoldenResponses {
		t.Run(g.name, func(t *testing.T) {
			body, err := g.out.MarshalResponse("b5e9c3a1-0000-4000-8000-000000000000")
			if err != nil {
				t.Fatal(err)
			}
			wiretest.Golden(t, g.name, body)
		})
	}
}

// TestWireBotocoreResponses checks that botocore's QueryParser reads the golden
// responses back as the values that were encoded.
func TestWireBotocoreResponses(t *testing.T) {
	parsed := wiretest.Responses(t)
	var names []string
	for _, g := range wireGoldenResponses {
		names = append(names, g.name)
		t.Run(g.name, func(t *testing.T) {
			got, ok := parsed[g.name]
			if !ok {
				t.Fatalf("%s not in testdata/botocore_responses.json (run gen/testdata/gen_vectors.py)", g.name)
			}
			want := wiretest.Botocore(g.out).(map[string]any)
			want["ResponseMetadata"] = map[string]any{"RequestId": "b5e9c3a1-0000-4000-8000-000000000000"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("botocore parse mismatch (-want +got):\n%s", diff)
			}
		})
	}
	if extra := slices.DeleteFunc(slices.Sorted(maps.Keys(parsed)), func(n string) bool { return slices.Contains(names, n) }); len(extra) > 0 {
		t.Errorf("botocore_responses.json has stale entries %v (delete their golden files and re-run gen_vectors.py)", extra)
	}
}
