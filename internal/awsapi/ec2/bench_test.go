package ec2

import (
	"strconv"
	"testing"

	"github.com/privlink/privlink/internal/awsapi"
)

// BenchmarkWireDecodeLarge decodes a DescribeVpcs request with 10,000 filters
// of 5 values each: decoding is linear in the number of parameters.
func BenchmarkWireDecodeLarge(b *testing.B) {
	p := awsapi.Params{}
	for i := 1; i <= 10000; i++ {
		f := "Filter." + strconv.Itoa(i)
		p[f+".Name"] = "tag:k"
		for j := 1; j <= 5; j++ {
			p[f+".Value."+strconv.Itoa(j)] = "v"
		}
	}
	for b.Loop() {
		if _, err := genDecode(p, (*genDecoder).decDescribeVpcsInput); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWireEncodeDescribeVpcs(b *testing.B) {
	out := wireGoldenResponses[0].out
	for b.Loop() {
		if _, err := out.MarshalResponse("id"); err != nil {
			b.Fatal(err)
		}
	}
}
