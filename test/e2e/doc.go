// Package e2e drives a real privlink daemon end to end, the way users do:
// it builds cmd/privlink, starts `privlink server` on a loopback address with a
// temporary data dir, creates accounts with `privlink accounts create`, and
// talks to the API with aws-sdk-go-v2 (and the AWS CLI when it is installed).
//
// Tests read like a script:
//
//	env := e2e.New(t)
//	prov := env.Account("provider")
//	vpc := prov.CreateVpc(t, "10.0.0.0/16")
//
// The daemon uses the real "plk-" namespace prefix, so an Env deletes every
// VPC it created through the API when the test ends and, as a last resort,
// removes the plk-<id> namespaces of the ids it saw created. It never touches
// any other plk- namespace.
//
// This is the only package (besides the bench/ programs, which are not
// tests) that imports aws-sdk-go-v2's service/ec2: it takes about a minute
// and 3 GB to compile cold. The daemon itself must never import it.
package e2e
