// Package demo plays privlink's PrivateLink scenario end to end, as
// `privlink demo` runs it: a provider account publishes a web server behind
// an internal Network Load Balancer as an endpoint service, a consumer
// account with the same VPC CIDR connects to it through an interface
// endpoint, and traffic really flows, by the endpoint's DNS name and by the
// service's verified private DNS name, while the provider's addresses stay
// out of reach. Every step is printed as the AWS CLI command that does the
// same, followed by the key part of its result.
//
// It drives the daemon only through its public surfaces: the AWS API
// (through awsclient, never the SDK service packages, which must stay out of
// the privlink binary), the admin socket (accounts) and the instances'
// network namespaces (nsexec, as `privlink exec` does). When no daemon is
// running it starts one in-process (daemon.Run) in a data directory of its
// own. It must not import the store, the control plane or the data plane.
package demo
