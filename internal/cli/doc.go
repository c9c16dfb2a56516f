// Package cli is privlink's command tree: server (the daemon), accounts,
// status, console-output, exec and demo (the PrivateLink scenario, played by
// package demo). Commands
// that talk to a running daemon do so through its admin socket and never
// open the store. exec needs no daemon: it enters the instance's namespace
// through nsexec, whose helper is the hidden command nsexec.HelperCommand.
//
// It imports the daemon (to run it), demo, the admin client, config, model
// (for ids) and nsexec, and holds no business rules; it must not import the
// store, the control plane or the data plane directly.
package cli
