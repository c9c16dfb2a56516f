package sigv4

import (
	"encoding/hex"
	"testing"
)

func TestURIEncode(t *testing.T) {
	for _, tt := range []struct {
		in        string
		keepSlash bool
		want      string
	}{
		{"AZaz09-._~", false, "AZaz09-._~"},
		{"a b/c", false, "a%20b%2Fc"},
		{"a b/c", true, "a%20b/c"},
		{"ü=", false, "%C3%BC%3D"},
	} {
		if got := URIEncode(tt.in, tt.keepSlash); got != tt.want {
			t.Errorf("URIEncode(%q, %v) = %q, want %q", tt.in, tt.keepSlash, got, tt.want)
		}
	}
}

// The example of AWS's SigV4 documentation ("Create a signed AWS API
// request", IAM ListUsers, GET, 20150830T123600Z).
func TestDocumentationExample(t *testing.T) {
	cr := CanonicalRequest("GET", CanonicalURI(""), "Action=ListUsers&Version=2010-05-08",
		"content-type:application/x-www-form-urlencoded; charset=utf-8\nhost:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n",
		[]string{"content-type", "host", "x-amz-date"}, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	sts := StringToSign("20150830T123600Z", Scope("20150830", "us-east-1", "iam"), cr)
	const wantSTS = "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\nf536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
	if sts != wantSTS {
		t.Errorf("StringToSign() = %q, want %q", sts, wantSTS)
	}
	sig := hex.EncodeToString(HMAC(SigningKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "iam"), sts))
	if want := "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"; sig != want {
		t.Errorf("signature = %s, want %s", sig, want)
	}
}
