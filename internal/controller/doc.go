// Package controller holds privlink's reconcilers. Controller reads the
// desired state from the control plane (every VPC and subnet of every
// account), turns it into one dataplane.Config for this node, applies it with
// the data plane's declarative Set and writes status back (pending →
// available) through the control plane.
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
// packages, and it reaches the kernel only through the data plane.
package controller
