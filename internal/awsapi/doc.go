// Package awsapi is the HTTP front of privlink: SigV4 verification, routing by
// the credential scope's service (ec2 or elasticloadbalancing), request ids,
// decoding of the EC2 and Query protocols into Params, and the one place where
// an *Error becomes the EC2 or ELBv2 XML error envelope.
//
// It must not import the store, the control plane or the data plane: services
// plug in as Handlers and credentials as a Credentials lookup.
package awsapi
