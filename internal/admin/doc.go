// Package admin is the daemon's local management interface: JSON over HTTP
// on a unix socket (<data-dir>/admin.sock) that only the daemon's user, root,
// may open. The CLI uses it for what the AWS API does not offer (creating
// accounts, status) and never opens the store itself, which the daemon holds
// locked.
//
// Server serves a Backend; Client is its counterpart. The wire types are
// defined here. The package must not import the store, the control plane or
// the data plane: the daemon adapts them to Backend.
package admin
