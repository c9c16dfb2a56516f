// Package forwarder is privlink's TCP forwarding engine and health checker,
// shared by Network Load Balancers and PrivateLink endpoints.
//
// The engine listens on (namespace, address, port) and dials each flow from
// (namespace, source address) to a backend chosen by a flow hash among the
// healthy backends, falling back to all of them when none is healthy. Its
// configuration is an immutable Table, swapped atomically by Set; nothing
// on a flow's path takes a lock shared with other flows. Bytes are copied
// with splice between the two TCP sockets.
//
// The checker probes targets from a namespace and source address with TCP
// connects or HTTP GETs, and reports each target's health as thresholds of
// passes and failures in a row decide it.
//
// The package knows nothing of AWS: keys are opaque strings and states are
// its own.
package forwarder
