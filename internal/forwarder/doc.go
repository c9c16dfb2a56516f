// Package forwarder is privlink's TCP forwarding engine and health checker,
// shared by Network Load Balancers and PrivateLink endpoints.
//
// The engine listens on (namespace, address, port) and dials each flow from
// (namespace, source address) to a backend chosen by a flow hash among the
// healthy backends, falling back to all of them when none is healthy. Its
// configuration is an immutable Table, swapped atomically by Set; nothing
// on a flow's path takes a global lock, only short mutexes shared with
// some other flows: its backend's flow registry, its dialling namespace's
// stock of sockets and one of the engine's pipeShards free lists of pipes.
// Bytes are copied with splice(2) between the two TCP sockets, through a
// pipe that a direction takes only while data is there (a buffer when no
// pipe can be made): an idle flow holds its two sockets and no other
// descriptor, and each free list keeps at most maxFreePipes empty pipes.
//
// Sockets in namespaces: a socket belongs for life to the namespace of the
// thread that created it, and only socket(2) depends on the thread. Each
// namespace in use gets a factory that holds the namespace open and enters
// it (netns.Do, a locked thread for the moment) only to make sockets: one
// for a listener, and for the engine's flows a stock of IPv4 sockets that
// flows take under a mutex and that it refills in one batch, one switch,
// when it runs low. No thread stays in a namespace, so namespaces that
// only listen (endpoint interfaces) cost a descriptor each, and binding,
// listening, connecting and copying happen on ordinary goroutines: a new
// flow costs no namespace switch and no thread switch. Listening sockets
// get TCP_NODELAY, which accepted sockets inherit, and outbound sockets
// get it as their one option; a namespace that dials is tuned once
// (TIME_WAIT reuse, port range). No socket has keepalive: an NLB sends
// none, and its idle timeout ends the flows whose peer died silently. A
// flow's sockets go on the runtime poller as os.Files, and its
// non-blocking system calls are raw ones (see rawsys_linux.go); net's
// TCPConn serves only the health checks. Set compares each namespace's
// identity (netns.IDOf) with its factory's, and replaces the factory and
// rebinds the listeners when the name holds a new namespace.
//
// Flows: each flow registers with its backend's registry (a small mutex
// per backend) before it dials. Removing a backend or a listener, the end
// of a drain or an unhealthy backend's deadline (one timer per such
// backend) and Run's shutdown reset the registered flows with SO_LINGER 0;
// a backend may instead leave its flows to end on their own after its
// drain and once it is removed (Backend.KeepFlows), a retired
// listener (Table.Retire) keeps its flows until they end, and a listener
// that fails open keeps its unhealthy backends' flows. Idle timeout: a flow stores when bytes last moved, an
// atomic store per splice batch, and Run sweeps the registries (every
// eighth of the shortest timeout, at most every 5 s) to reset the flows
// idle longer than their listener's IdleTimeout; no timer per flow. The
// peers' TCP keepalive probes restart the timeout, as on AWS: they carry
// no byte, so the sweep compares the sockets' counts of received segments
// (tcpi_segs_in) across the idle time, reading them only for flows without
// a byte for half their timeout. A flow does not wait for its backend's
// handshake: its first bytes wait for the socket to become writable, a
// refused connect is the next splice's error, and a timer bounds the
// handshake. A flow uses two goroutines, one per direction; the end of one
// direction is passed on with a half-close. Counters are atomics per
// listener and per backend, copied into the metrics registry off the
// flow's path.
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
