// Package ec2 serves the EC2 Query API actions: decode → controlplane →
// encode. zz_generated_wire.go, generated from the trimmed botocore model
// ../model/ec2.json by ../gen, holds the typed <Op>Input and <Op>Output
// structures, their decoders from awsapi.Params and XML encoders, one
// <Op>API interface per action and NewHandler, which dispatches to whichever
// of those interfaces the hand-written handler implements:
//
//	func (s *server) DescribeVpcs(ctx context.Context, req *awsapi.Request, in *DescribeVpcsInput) (*DescribeVpcsOutput, error) {
//		// in.Filters []Filter{Name *string; Values []string}, in.DryRun *bool, in.MaxResults *int32 (already range-checked)
//		return &DescribeVpcsOutput{Vpcs: []Vpc{{VpcId: new("vpc-0123456789abcdef0")}}, NextToken: new("…")}, nil
//	}
//
//	h := ec2.NewHandler(&server{…}) // an awsapi.Handler
//
// Field names are the model's member names (as in the AWS SDKs); scalars
// are pointers (nil = not sent), lists are slices, enums are *string.
// Unknown, missing required and malformed parameters are rejected before a
// handler runs.
//
// It must not import the store or the data plane. Unexported identifiers
// that start with "gen" are reserved for generated code.
package ec2

//go:generate go run ../gen -model ../model/ec2.json -pkg ec2 -out zz_generated_wire.go
