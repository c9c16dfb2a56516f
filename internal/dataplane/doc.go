// Package dataplane makes the Linux kernel of one node match a declarative
// Config: network namespaces that act as routers, the bridges inside them
// and the routers' addresses on those bridges.
//
// Set is idempotent and level-triggered. It reads what the kernel really has
// in the namespaces whose names start with Config.Prefix, plans the
// difference with a pure planner and applies it. Correct existing state is
// adopted, never recreated, so a restarted daemon does not flap anything;
// namespaces without the prefix are never touched.
//
// Several daemons on one host share the prefix, so a namespace's name does
// not say whose it is. Every namespace Set creates is stamped with
// Config.Owner, as the alias of its lo link ("privlink owner=<id>"), and Set
// changes or deletes only namespaces that carry its own owner. Another
// owner's namespaces are invisible to it; an unowned one (made by hand, or
// left by a crash between create and stamp) is adopted if the Config wants
// it and left alone otherwise.
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
