// Package testenv holds helpers for privlink's tests: the gate for
// privileged tests (RequirePrivileged), unique throwaway names for the
// namespaces a test creates (Prefix) with their cleanup, and a polling helper
// with a deadline (WaitFor) so that no test sleeps to wait.
//
// A test's cleanup does not run when its process is killed (SIGKILL, the
// panic of `go test -timeout`, a cancelled CI job), and on a long-lived host
// what it leaves would pile up for ever. So Prefix, as root, writes an owner
// record for each prefix, /run/privlink-testenv/<id>: the pid, start time
// and pid namespace of the test process, so that a reused pid is not taken
// for the owner. The cleanup removes the record once the namespaces are
// gone. Every Prefix call first sweeps: for each record whose owner has
// exited, it kills the processes left in the prefix's namespaces, removes
// those namespaces and their /etc/netns directories, and then the record.
// Prefixes without a record (from before records existed) are swept once
// all they left is more than an hour old. A sweep touches only names that
// start with BasePrefix and never a prefix whose owner is alive; concurrent
// sweeps skip a record that another holds locked. Its failures are logged,
// never failing the test.
//
// It is imported by tests only. It must not import any other privlink
// package, so that every package's in-package tests can use it.
package testenv
