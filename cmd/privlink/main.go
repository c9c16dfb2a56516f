// Command privlink is the privlink daemon and its CLI: server, accounts,
// status, demo and exec. The command tree lives in internal/cli.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/privlink/privlink/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, a second one kills the process.
	context.AfterFunc(ctx, stop)
	err := cli.New(os.Stdout, os.Stderr).ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "privlink:", err)
		os.Exit(1)
	}
}
