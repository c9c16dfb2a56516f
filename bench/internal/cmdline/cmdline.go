// Package cmdline is the command line that the benchmark programs under
// bench/ share: the -privlink and -out flags, and Main, which runs a
// program under a context that SIGINT and SIGTERM cancel.
//
// It imports only the standard library.
package cmdline

import (
	"context"
	"flag"
	"log"
	"os"
	"os/signal"
	"syscall"
)

// PrivlinkFlag defines -privlink, the privlink binary to run; "" means
// build ./cmd/privlink (benchd.Binary).
func PrivlinkFlag(p *string) {
	flag.StringVar(p, "privlink", "", "path to the privlink binary (default: go build ./cmd/privlink into a temp dir)")
}

// OutFlag defines -out, the results file whose section of program is
// written (report.Publish).
func OutFlag(p *string, program string) {
	flag.StringVar(p, "out", "bench/RESULTS.md", "results file whose "+program+" section is written (\"\" or \"-\": stdout only)")
}

// Main logs with the time of day only and calls run with a context that
// SIGINT and SIGTERM cancel; when run fails, it logs the error and exits 1.
// Call it after flag.Parse.
func Main(run func(ctx context.Context) error) {
	log.SetFlags(log.Ltime)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}
