package nsexec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// HelperCommand is the hidden subcommand of the privlink binary that Main
// implements: `privlink __netns-exec <ns> -- <argv...>`.
const HelperCommand = "__netns-exec"

// Exit statuses of the helper when the program does not start, as a shell
// reports them.
const (
	// ExitCannotExecute: the program was found but cannot be executed
	// (not executable, bad format).
	ExitCannotExecute = 126
	// ExitNotFound: anything else went wrong before the program started:
	// a missing namespace, a failed mount, a program not found.
	ExitNotFound = 127
)

// Paths that iproute2 uses; named namespaces are bind mounts under RunDir,
// their per-namespace /etc files live under EtcDir/<ns>/.
const (
	RunDir = "/run/netns"
	EtcDir = "/etc/netns"
)

// ErrNoNamespace means there is no mounted network namespace of that name.
var ErrNoNamespace = errors.New("no such network namespace")

// Error is a failure of the helper before the program started, with the exit
// status that reports it.
type Error struct {
	Code int // ExitNotFound or ExitCannotExecute
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Command returns a command that runs argv inside the named network
// namespace ns: self (the path of the privlink binary) re-executed as
// `self HelperCommand ns -- argv...`. The caller sets its standard streams,
// SysProcAttr and environment (the program inherits the helper's) and starts
// it; the started process's pid is the program's. ctx kills the process as
// in exec.CommandContext; pass context.WithoutCancel for one that must
// outlive the caller. An invalid ns or an empty argv makes Start fail.
func Command(ctx context.Context, self, ns string, argv []string) *exec.Cmd {
	args := append([]string{HelperCommand, ns, "--"}, argv...)
	cmd := exec.CommandContext(ctx, self, args...)
	if err := checkName(ns); err != nil {
		cmd.Err = err
	} else if len(argv) == 0 {
		cmd.Err = errors.New("nsexec: no command")
	}
	return cmd
}

// Main is the helper: args are what follows HelperCommand on its command
// line (`ns -- argv...`; the "--" may be left out). It enters ns and replaces
// the process with argv[0], resolved through PATH. It returns only if that
// fails, after printing why to stderr, with the exit status the process
// should exit with: ExitNotFound or ExitCannotExecute. It must be the last
// thing the process does: on failure, the calling thread may have been left
// in the namespace.
func Main(args []string, stderr io.Writer) int {
	err := run(args)
	fmt.Fprintf(stderr, "privlink %s: %v\n", HelperCommand, err)
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return ExitNotFound
}

func run(args []string) error {
	ns, argv, err := parseArgs(args)
	if err != nil {
		return &Error{Code: ExitNotFound, Err: err}
	}
	return Exec(ns, argv)
}

// parseArgs splits `ns [--] argv...`.
func parseArgs(args []string) (ns string, argv []string, err error) {
	if len(args) == 0 {
		return "", nil, errors.New("usage: " + HelperCommand + " NAMESPACE -- COMMAND [ARG...]")
	}
	ns, argv = args[0], args[1:]
	if len(argv) > 0 && argv[0] == "--" {
		argv = argv[1:]
	}
	if len(argv) == 0 {
		return "", nil, errors.New("no command to run")
	}
	return ns, argv, nil
}

// checkName accepts a namespace name that is a single path element, as
// iproute2 does.
func checkName(ns string) error {
	if ns == "" || ns == "." || ns == ".." || strings.ContainsAny(ns, "/\x00") || strings.Contains(ns, "..") {
		return fmt.Errorf("invalid network namespace name %q", ns)
	}
	return nil
}
