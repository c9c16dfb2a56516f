package awsapi

import (
	"bytes"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/ec2query"
	awsxml "github.com/aws/aws-sdk-go-v2/aws/protocol/xml"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const goldenRequestID = "fe76542d-1655-4eff-871d-38c705fb4ee4"

var envelopeCases = []struct {
	golden  string
	service string
	err     *Error
}{
	{"ec2_error.golden", ServiceEC2, Errorf("InvalidVpcEndpointId.NotFound", "The Vpc Endpoint Id 'vpce-0123456789abcdef0' does not exist")},
	{"ec2_error_escaped.golden", ServiceEC2, Errorf("InvalidParameterValue", "Value (<a&b>\"'\x01\xff\r\n\t) for parameter tag is invalid")},
	{"ec2_internal_error.golden", ServiceEC2, ErrInternal()},
	{"elbv2_error.golden", ServiceELBv2, &Error{Code: "LoadBalancerNotFound", Message: "One or more load balancers not found", Status: 400}},
	{"elbv2_error_escaped.golden", ServiceELBv2, Errorf("ValidationError", "Name <x> & \"y\" is invalid")},
	{"elbv2_internal_error.golden", ServiceELBv2, ErrInternal()},
}

// TestErrorEnvelopeGolden pins the exact bytes of both envelopes; botocore
// (EC2QueryParser, QueryParser) was checked to parse these files.
func TestErrorEnvelopeGolden(t *testing.T) {
	for _, tc := range envelopeCases {
		t.Run(tc.golden, func(t *testing.T) {
			rec := httptest.NewRecorder()
			status, body := errorResponse(tc.service, goldenRequestID, tc.err)
			writeXML(rec, status, goldenRequestID, body)
			if rec.Code != tc.err.HTTPStatus() {
				t.Errorf("status = %d, want %d", rec.Code, tc.err.HTTPStatus())
			}
			path := filepath.Join("testdata", tc.golden)
			if *update {
				if err := os.WriteFile(path, rec.Body.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), rec.Body.String()); diff != "" {
				t.Errorf("errorResponse() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestErrorEnvelopeSDKParse parses the envelopes with aws-sdk-go-v2's own
// error decoders.
func TestErrorEnvelopeSDKParse(t *testing.T) {
	for _, tc := range envelopeCases {
		t.Run(tc.golden, func(t *testing.T) {
			_, body := errorResponse(tc.service, goldenRequestID, tc.err)
			var got [3]string
			if tc.service == ServiceEC2 {
				c, err := ec2query.GetErrorResponseComponents(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				got = [3]string{c.Code, c.Message, c.RequestID}
			} else {
				c, err := awsxml.GetErrorResponseComponents(bytes.NewReader(body), false)
				if err != nil {
					t.Fatal(err)
				}
				got = [3]string{c.Code, c.Message, c.RequestID}
			}
			msg := strings.ToValidUTF8(strings.ReplaceAll(tc.err.Message, "\x01", "\uFFFD"), "\uFFFD")
			want := [3]string{tc.err.Code, msg, goldenRequestID}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("SDK parse mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrorStatusAndType(t *testing.T) {
	for _, tc := range []struct {
		err        *Error
		wantStatus int
		wantType   string
	}{
		{&Error{Code: "X", Status: 0}, 400, "Sender"},
		{&Error{Code: "X", Status: 412}, 412, "Sender"},
		{&Error{Code: "X", Status: 429}, 429, "Sender"},
		{&Error{Code: "X", Status: 503}, 503, "Receiver"},
		{&Error{Code: "X", Status: 200}, 500, "Receiver"},
	} {
		st, body := errorResponse(ServiceELBv2, "id", tc.err)
		if st != tc.wantStatus || !bytes.Contains(body, []byte("<Type>"+tc.wantType+"</Type>")) {
			t.Errorf("errorResponse(%+v) = %d %s, want %d with Type %s", tc.err, st, body, tc.wantStatus, tc.wantType)
		}
	}
}
