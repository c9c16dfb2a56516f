// Package controlplane holds privlink's operations (CreateVpc, CreateSubnet,
// …): it validates input, authorises the caller, allocates ids and addresses
// and writes the store, one transaction per mutating call. It is the only
// place where business rules live; the API handlers and the console call it.
//
// It imports model, store and awsapi (for the one AWS error type) and must
// not import the data plane, the controllers or any HTTP handler package.
package controlplane
