// Package nsexec runs a program inside a named network namespace the way
// `ip netns exec` does: in the namespace's network stack, in a private mount
// namespace whose /sys describes that network namespace, and with every file
// of /etc/netns/<ns>/ bind-mounted over the file of the same name in /etc (so
// /etc/netns/<ns>/resolv.conf becomes the program's /etc/resolv.conf). The
// host's mounts are never changed: the mount namespace is a slave of the
// host's, so nothing propagates back.
//
// A Go process cannot move all of its threads into another mount namespace,
// so the switch happens in a fresh process: the privlink binary re-executed
// with the hidden subcommand HelperCommand, whose implementation is Main. It
// enters the namespaces on one locked thread and then replaces itself with
// the program (execve), so the program keeps the helper's pid, file
// descriptors and environment. Command builds that re-execution for callers
// that start processes.
//
// Errors before the program starts are printed to stderr and reported as
// exit status 127, or 126 when the program was found but cannot be executed,
// as a shell does.
//
// The package knows nothing of AWS or of privlink's naming; it imports only
// the standard library and golang.org/x/sys. Entering a namespace needs
// Linux; elsewhere Main and Check fail.
package nsexec
