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
// Sockets in namespaces: a socket belongs for life to the namespace of the
// thread that created it, and only socket(2) depends on the thread. Each
// namespace in use gets one goroutine locked to a thread inside it (entered
// with netns.Do), which makes sockets ahead of need and hands them out on a
// channel; binding, listening, connecting and copying happen on ordinary
// goroutines. A new flow thus costs no namespace switch. Set compares each
// namespace's identity (netns.IDOf) with its factory's, and replaces the
// factory and rebinds the listeners when the name holds a new namespace.
//
// Flows: each flow registers with its backend's registry (a small mutex per
// backend) before it dials. Removing a backend or a listener, the end of a
// drain (one timer per draining backend) and Run's shutdown reset the
// registered flows with SO_LINGER 0. A flow uses two goroutines, one per
// direction; the end of one direction is passed on with a half-close.
// Counters are atomics per listener and per backend, copied into the
// metrics registry off the flow's path.
//
// The checker probes targets from a namespace and source address with TCP
// connects or HTTP(S) GETs, over sockets made the same way, and reports
// each target's health as thresholds of passes and failures in a row decide
// it.
//
// The package knows nothing of AWS: keys are opaque strings and states are
// its own. It imports no privlink package but dataplane/netns and metrics.
// Namespaces are Linux's; elsewhere the package builds and every socket
// fails.
package forwarder
