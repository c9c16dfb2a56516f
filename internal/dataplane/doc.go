// Package dataplane makes the Linux kernel of one node match a declarative
// Config: network namespaces that act as routers, the bridges inside them
// and the routers' addresses on those bridges.
//
// Set is idempotent and level-triggered. It reads what the kernel really has
// in the namespaces it owns (every namespace whose name starts with
// Config.Prefix), plans the difference with a pure planner and applies it.
// Correct existing state is adopted, never recreated, so a restarted daemon
// does not flap anything; namespaces without the prefix are never touched.
//
// Two implementations share the planner: Linux, which drives the kernel
// through netlink (Linux only), and Fake, which keeps an in-memory kernel and
// records the operations as text for state-transition tests. The consumer
// (the controller) declares its own one-method interface.
//
// The data plane knows no AWS: its inputs are names, prefixes and addresses.
// It must not import the store, the control plane, the model or anything
// under internal/awsapi.
package dataplane
