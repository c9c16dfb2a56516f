// Package awsclient is a small client for the AWS Query APIs that privlink
// serves: EC2 (protocol ec2, Version 2016-11-15) and ELBv2 (protocol query,
// Version 2015-12-01). It posts form-encoded Action/Version/parameters,
// signs them with SigV4, parses the XML answer into a generic tree (Node)
// and turns the error envelopes of both protocols into *Error.
//
// It exists so that the privlink binary (the demo) can drive the API
// without the aws-sdk-go-v2 service packages, which must stay out of the
// daemon binary. Besides the standard library it imports only
// internal/sigv4, the signing pieces it shares with the daemon's API front.
package awsclient
