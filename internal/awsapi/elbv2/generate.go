// Package elbv2 serves the Elastic Load Balancing v2 Query API actions:
// decode → controlplane → encode. zz_generated_wire.go, generated from the
// trimmed botocore model ../model/elbv2.json by ../gen, holds the typed
// <Op>Input and <Op>Output structures, their decoders from awsapi.Params and
// XML encoders, one <Op>API interface per action, the modeled errors
// (Err<Code>, e.g. ErrLoadBalancerNotFound) and NewHandler, which dispatches
// to whichever of those interfaces the hand-written handler implements:
//
//	func (s *server) RegisterTargets(ctx context.Context, req *awsapi.Request, in *RegisterTargetsInput) (*RegisterTargetsOutput, error)
//
//	h := elbv2.NewHandler(&server{…}) // an awsapi.Handler
//
// Field names are the model's member names (as in the AWS SDKs); scalars
// are pointers (nil = not sent), lists are slices, maps are maps, enums are
// *string. Unknown, missing required and malformed parameters are rejected
// before a handler runs.
//
// It must not import the store or the data plane. Unexported identifiers
// that start with "gen" are reserved for generated code.
package elbv2

//go:generate go run ../gen -model ../model/elbv2.json -pkg elbv2 -out zz_generated_wire.go
