// Package netns runs code inside Linux network namespaces without leaking a
// namespace switch onto other goroutines, and creates, opens, lists and
// deletes the named namespaces under /run/netns (the ones `ip netns` shows).
//
// Every switch happens on a fresh goroutine locked to its OS thread. The
// thread is handed back to the Go scheduler only once its original namespace
// has been restored; if restoring fails, the thread stays locked and the
// runtime destroys it when the goroutine exits. Link and address work does not
// need this package's Do: open a netlink handle in the namespace with
// netlink.NewHandleAt instead, and switch threads only to create sockets or to
// touch per-namespace files such as /proc/sys/net.
//
// The package knows nothing of AWS or of privlink's naming; it must import
// only the standard library, golang.org/x/sys and github.com/vishvananda/netns.
// It builds on Linux only; on other systems it is empty.
package netns
