package ec2

import (
	"errors"
	"net/url"
	"reflect"
	"testing"

	"github.com/privlink/privlink/internal/awsapi"
)

// FuzzDecodeEC2 feeds arbitrary query strings to the wireDecoders of a few
// inputs with deep nesting, lists of structures, bounded integers and enums.
// Decoding must not panic, must be deterministic, and must fail only with a
// client error. Seeds are in testdata/fuzz/FuzzDecodeEC2.
func FuzzDecodeEC2(f *testing.F) {
	f.Add("VpcId.1=vpc-1&Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1&MaxResults=5")
	ops := []string{"DescribeVpcs", "AuthorizeSecurityGroupIngress", "CreateNetworkAclEntry", "RunInstances"}
	codes := map[string]bool{"MissingParameter": true, "InvalidParameterValue": true, "UnknownParameter": true}
	f.Fuzz(func(t *testing.T, query string) {
		values, _ := url.ParseQuery(query) // keeps what it could parse
		p := awsapi.Params{}
		for k, vs := range values {
			p[k] = vs[0]
		}
		for _, op := range ops {
			v1, err1 := wireDecoders[op](p)
			v2, err2 := wireDecoders[op](p)
			if !reflect.DeepEqual(v1, v2) || !reflect.DeepEqual(err1, err2) {
				t.Fatalf("%s: decoding %q twice differs: %v, %v", op, query, err1, err2)
			}
			if err1 == nil {
				if reflect.ValueOf(v1).IsNil() {
					t.Fatalf("%s: nil input without error", op)
				}
				continue
			}
			var aerr *awsapi.Error
			if !errors.As(err1, &aerr) || !codes[aerr.Code] || aerr.HTTPStatus() != 400 {
				t.Fatalf("%s: decode error %#v is not a client error", op, err1)
			}
		}
	})
}
