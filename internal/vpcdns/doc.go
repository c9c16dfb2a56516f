// Package vpcdns is the per-VPC DNS resolver, privlink's AmazonProvidedDNS.
// One Server serves every VPC: each VPC's resolver listens on UDP and TCP
// port 53 at the VPC's base+2 address, on sockets opened inside that VPC's
// router namespace, and answers only from the records it was given. There is
// no recursion and no internet: every other name gets NXDOMAIN.
//
// The Server is declarative, like the data plane: Set takes the complete
// desired Config, starts the resolvers that are new, stops the ones that are
// gone and swaps the record tables of the others atomically, without
// touching their sockets. The query path takes no lock; it reads an
// immutable table through an atomic pointer.
//
// Answers follow what AWS's resolver does where clients can tell: names
// with several addresses are answered in a fresh random order on each query
// (clients take the first address), the TTL is 60 seconds, reverse (PTR)
// records are derived from the forward ones, and an answer too large for
// UDP is truncated (TC) so that the client retries over TCP.
//
// The package knows no AWS naming: the caller computes names such as
// ip-10-0-1-5.ec2.internal and passes them in. It must not import the store,
// the control plane, the model or anything under internal/awsapi; its
// socket work uses internal/dataplane/netns.
package vpcdns
