// Package nft compiles the kernel firewall of one network namespace and
// programs it with nftables: stateful per-interface policies (what the
// controller makes of security groups) in the table privlink_sg, and
// stateless, ordered per-bridge ACLs (network ACLs) in a VPC router's table
// privlink_acl.
//
// A config is compiled into a small intermediate representation (tables,
// chains, rules, matches). Render prints that representation in nft syntax
// for golden tests and for people; Apply lowers the same representation to
// netlink and replaces the namespace's table in one atomic batch, so there is
// never a moment without rules. Only the tables named by TableFirewall and
// TableACL are ever touched.
//
// The package knows no AWS: its inputs are interface names, protocols,
// ports and prefixes. It must not import the store, the control plane, the
// model or anything under internal/awsapi. Programming the kernel is Linux
// only; compiling and rendering build everywhere.
package nft
