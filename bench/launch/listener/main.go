// Command listener is the workload of bench/launch: a static binary that a
// launched instance's UserData execs. It listens on TCP port os.Args[1] on
// every address, prints one line with the wall-clock times (Unix ns) at
// which main started and at which the socket was listening, then accepts
// connections and closes them at once, until it is killed.
package main

import (
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	start := time.Now()
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: listener PORT")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", ":"+os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "listener:", err)
		os.Exit(1)
	}
	fmt.Printf("listener: main %d listening %d\n", start.UnixNano(), time.Now().UnixNano())
	for {
		c, err := ln.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, "listener:", err)
			os.Exit(1)
		}
		c.Close()
	}
}
