// Package dataplane makes the Linux kernel of one node match a declarative
// Config: network namespaces that act as routers (one per VPC, a bridge per
// subnet, a resolver address on lo, stateless ACLs between the bridges), and
// host namespaces (an instance's, or an interface's of its own) whose
// interfaces are veth pairs plugged into the routers' bridges, each with its
// address, MAC, default route, resolv.conf under /etc/netns and stateful
// firewall.
//
// Set is idempotent and level-triggered. It reads what the kernel really has
// in the namespaces whose names start with Config.Prefix, plans the
// difference with a pure planner and applies it. Correct existing state is
// adopted, never recreated, so a restarted daemon does not flap anything;
// namespaces without the prefix are never touched. A veth pair is created
// from inside the host's namespace with its other end placed directly in the
// router's, so its names never exist anywhere else; an address that comes
// up is announced (gratuitous ARP, and the router's neighbour entry), so
// that an address reused by a new interface is reachable at once.
//
// Several daemons on one host share the prefix, so a namespace's name does
// not say whose it is. Every namespace Set creates is stamped with
// Config.Owner, as the alias of its lo link ("privlink owner=<id>"), and Set
// changes or deletes only namespaces that carry its own owner. Another
// owner's namespaces are invisible to it; an unowned one (made by hand, or
// left by a crash between create and stamp) is adopted if the Config wants
// it and left alone otherwise. The resolv.conf files carry the owner too,
// so that those of namespaces deleted behind Set's back can be removed.
//
// Two implementations share the planner: Linux, which drives the kernel
// through netlink and nftables (Linux only), and Fake, which keeps an
// in-memory kernel and records the operations as text for state-transition
// tests. The consumer (the controller) declares its own one-method
// interface. Linux remembers what it applied to each namespace and, between
// full resyncs, reads back only the namespaces whose config or identity
// changed; see FullResyncEvery.
//
// The data plane knows no AWS: its inputs are names, prefixes, addresses and
// firewall rules. It must not import the store, the control plane, the model
// or anything under internal/awsapi.
package dataplane
