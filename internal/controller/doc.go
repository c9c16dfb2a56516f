// Package controller holds privlink's reconcilers. Controller reads the
// desired state from the control plane (every VPC, subnet, security group,
// network ACL, instance and ENI of every account), turns it into one
// dataplane.Config for this node (routers with their ACLs and resolver
// address, one host namespace per instance with its security groups), the
// supervisor's workloads (UserData) and the VPC resolvers' records, applies
// each with its component's declarative Set, and writes status back
// (pending → available; instances pending → running, stopping → stopped,
// shutting-down → terminated) through the control plane.
//
// The order within a pass matters for instances: the kernel first (a new
// instance's namespace exists before its UserData starts), then the
// supervisor (the processes of a stopping or shutting-down instance are
// killed while its namespace still exists), then a shutting-down instance's
// namespace goes, then one write-back.
//
// It is level-triggered: every pass computes the whole desired state, so a
// missed event, a restart or a namespace deleted by hand heals on the next
// pass. Passes run on start, after store changes (coalesced) and on a
// periodic resync; failures are logged and retried with backoff.
//
// Every daemon on a host shares the namespace prefix, so the controller
// passes its daemon's owner id in every dataplane.Config: the data plane
// changes and deletes only the namespaces stamped with it.
//
// It depends on small interfaces declared here; it must not import the API
// packages, and it reaches the kernel only through the data plane, the
// supervisor and the resolver.
package controller
