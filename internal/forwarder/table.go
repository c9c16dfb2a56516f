package forwarder

import (
	"net/netip"
	"time"
)

// Table is the complete forwarding configuration of a node. The engine
// treats a Table as immutable once handed to Engine.Set: the caller must
// not change it afterwards.
type Table struct {
	Listeners []Listener
	// Retire names listeners of an earlier table that this one drops but
	// whose flows go on, as an NLB's do when its listener is deleted: the
	// listener takes no new connection (its socket closes) and its flows
	// end on their own, at its IdleTimeout at the latest, or when Prune
	// drops its namespace. Every other listener a table drops is removed
	// and its flows reset.
	Retire []string
}

// Listener is a listening socket at Addr inside the network namespace
// Namespace, whose connections go to one of Backends.
type Listener struct {
	// Key identifies the listener across tables: its socket, flows and
	// counters follow the key. Keys are unique within a table.
	Key string
	// Namespace is the named network namespace (under /run/netns) that
	// holds the listening socket.
	Namespace string
	Addr      netip.AddrPort
	Backends  []Backend
	// ProxyProtocol sends a Proxy Protocol v2 header (command PROXY, the
	// client's address as source and Addr as destination) to the backend
	// before any data.
	ProxyProtocol bool
	// EndpointID, when not empty and ProxyProtocol is set, adds the AWS
	// TLV (type 0xEA, subtype 0x01) carrying it.
	EndpointID string
	// StickySource chooses the backend by the client's address alone, so
	// that every flow of one client goes to the same backend; otherwise
	// the choice hashes the whole 4-tuple.
	StickySource bool
	// IdleTimeout, when positive, resets a flow (both of its connections)
	// once no byte has moved in either direction for longer than it; a
	// direction waiting to write what it read is not idle. A flow idle
	// for exactly IdleTimeout lives on; one idle longer is reset within
	// an eighth of the timeout more, and at most 5 s more (Run sweeps
	// the flows). Zero lets flows stay idle for ever. A new value
	// applies to existing flows too.
	IdleTimeout time.Duration
}

// BackendState is whether a backend takes new flows.
type BackendState int

const (
	// Healthy backends take new flows.
	Healthy BackendState = iota
	// Unhealthy backends take new flows only when no backend of the
	// listener is healthy (fail open).
	Unhealthy
	// Draining backends take no new flows. Their existing flows live
	// until DrainUntil and are then reset, unless KeepFlows.
	Draining
)

// Backend is one destination of a listener's flows.
type Backend struct {
	// Key identifies the backend within its listener across tables; a
	// backend whose key is gone from the listener in a new table has its
	// flows reset.
	Key string
	// Namespace is the named network namespace the connection to the
	// backend is dialled from, and Source its local address there.
	Namespace string
	Source    netip.Addr
	Addr      netip.AddrPort
	State     BackendState
	// DrainUntil is when a Draining backend's drain ends: its flows are
	// then reset, unless KeepFlows.
	DrainUntil time.Time
	// KeepFlows leaves the backend's flows alone when its
	// drain ends and when a later table drops the backend (its
	// deregistration is over, or the listener now forwards to another
	// target group): they go on until they end on their own or reach the
	// listener's IdleTimeout, as an NLB's do. Without it, the flows of a
	// dropped backend are reset. Removing the listener resets them all
	// the same.
	KeepFlows bool
	// UnhealthyResetAt is when an Unhealthy backend's flows are reset: at
	// once if it is past, never if it is zero. While the listener fails
	// open (none of its backends is Healthy, so new flows go to unhealthy
	// ones too) they are not reset; a later table with a Healthy backend
	// resets them then, if UnhealthyResetAt is past. A backend reset for
	// being unhealthy takes no flow chosen from an older table.
	UnhealthyResetAt time.Time
}

// Check is a health check of one target, made from a namespace and source
// address as a node would make it.
type Check struct {
	// Key identifies the check across Checker.Set calls: a check whose
	// key and parameters are unchanged keeps its state and counts.
	Key       string
	Namespace string
	Source    netip.Addr
	Addr      netip.AddrPort
	// Protocol is "TCP" (a connect), "HTTP" or "HTTPS" (a GET of Path
	// whose status must match Matcher).
	Protocol string
	Path     string
	// Matcher lists the HTTP codes that pass: "200", "200,202" or
	// "200-399".
	Matcher            string
	Interval, Timeout  time.Duration
	HealthyThreshold   int
	UnhealthyThreshold int
	// ProxyProtocol sends a Proxy Protocol v2 LOCAL header first, as a
	// load balancer with proxy protocol does on its health checks.
	ProxyProtocol bool
}

// HealthState is a check's conclusion so far.
type HealthState string

// Health states: every check starts Initial and becomes Healthy after
// HealthyThreshold passes in a row, Unhealthy after UnhealthyThreshold
// failures in a row.
const (
	StateInitial   HealthState = "initial"
	StateHealthy   HealthState = "healthy"
	StateUnhealthy HealthState = "unhealthy"
)

// FailReason is why the last failed check failed.
type FailReason string

// Failure reasons.
const (
	FailNone     FailReason = ""
	FailTimeout  FailReason = "timeout"  // no connection or answer within Timeout
	FailRefused  FailReason = "failed"   // connection refused or reset, or a bad answer
	FailMismatch FailReason = "mismatch" // an HTTP status outside Matcher
)

// Health is a check's state.
type Health struct {
	Key    string
	State  HealthState
	Reason FailReason // of the last failure, for Unhealthy
	// Code is the HTTP status of the last answer, for FailMismatch.
	Code int
}
