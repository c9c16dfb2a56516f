// Package supervisor runs and tracks the UserData scripts of instances: one
// process per instance, started once, at first boot, inside the instance's
// network namespace (through nsexec) and detached from the daemon, so that a
// daemon restart does not stop an instance's service.
//
// Its input is declarative and knows no AWS: Set takes the full list of
// workloads (an id, a namespace, a script, and whether it should run) and
// makes the host match it. Per workload it keeps, under StateDir/<id>/:
//
//   - user-data: the script, as executed (0700);
//   - console.log: the script's stdout and stderr, with a banner line per
//     boot and a line when it ends or is stopped (the console output);
//   - process.json: pid, start time (from /proc/<pid>/stat), boot id, state
//     (running, exited, stopped) and exit status, written durably.
//
// The rules, which make a crash or restart of the daemon (kill -9 included)
// harmless:
//
//   - Only a script that starts with "#!" runs, directly, as a program.
//     Anything else (cloud-config, MIME multi-part, gzip) is not run: the
//     kinds of UserData that cloud-init handles differently are not
//     supported, and such a workload simply has no process.
//   - A workload without a record is started: its first boot.
//   - A record in state running whose process is alive (same pid, same start
//     time, same boot of the host: safe against pid reuse) is adopted and
//     left alone. If that process is dead, it died with the daemon or the
//     host, and it is started again (boot n+1).
//   - A process that ends while a supervisor watches it (its own child, reaped
//     with its exit status; or an adopted one, which Run polls in /proc) is
//     recorded as exited and never started again: UserData runs once. So is
//     one that Set stopped: a stopped instance that starts again does not run
//     its UserData again, as on EC2.
//   - Once Run has returned (the daemon is shutting down), exits are no
//     longer recorded: what dies from then on died with the daemon.
//   - Run false, or a workload that left the list: every process in the
//     namespace is killed (found by the inode of /proc/<pid>/ns/net, so
//     children, daemons the script forked off and `privlink exec` sessions
//     too), with SIGTERM, then SIGKILL after a grace period. A workload that
//     left the list keeps its directory, for its console output, until
//     Forget.
//
// The package imports nsexec and nothing else of privlink's; it must not
// import the store, the control plane or the data plane. It works on Linux
// only (it reads /proc); elsewhere New fails.
package supervisor
