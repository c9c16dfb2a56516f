package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"
)

// RequireEnv is the environment variable that turns the skip of a
// privileged test into a failure when set to "1". CI sets it.
const RequireEnv = "PRIVLINK_REQUIRE_PRIVILEGED"

// SkipReason is the message with which RequirePrivileged skips, or fails.
const SkipReason = "privileged test: needs root and network namespaces; run as root"

// RequirePrivileged skips t unless the test runs as root and can create
// network namespaces. With PRIVLINK_REQUIRE_PRIVILEGED=1 it fails t instead
// of skipping it.
func RequirePrivileged(t testing.TB) {
	t.Helper()
	if err := privileged(); err != nil {
		gate(t, err, os.Getenv(RequireEnv) == "1")
	}
}

// gate skips or, if require is set, fails t because of why.
func gate(t testing.TB, why error, require bool) {
	t.Helper()
	t.Log(why)
	if require {
		t.Fatal(SkipReason)
	}
	t.Skip(SkipReason)
}

// BasePrefix starts every prefix that Prefix returns. Nothing else
// (in particular not the daemon's "plk-") starts with it.
const BasePrefix = "plktest-"

// Prefix returns a fresh name prefix for everything t creates, of the form
// "plktest-<6 lower-case hex digits>-", and registers a cleanup that
// deletes every network namespace whose name starts with it, also when t
// fails, and reports an error if any is left over.
//
// As root, it also records the test process as the prefix's owner under
// /run/privlink-testenv until that cleanup has run, and first sweeps away
// what the prefixes of owners that are gone left behind (see the package
// comment). What it sweeps, and how a sweep fails, it logs on t.
func Prefix(t testing.TB) string {
	t.Helper()
	p, release := claimPrefix(t)
	cleanupNamespaces(t, p, release)
	return p
}

func newPrefix() string {
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand.Read does not fail on supported systems
	}
	return BasePrefix + hex.EncodeToString(b[:]) + "-"
}

// ClaimNamespaces records that the test with prefix (one that Prefix
// returned in this process) owns the network namespaces names, which do
// not start with the prefix: those of a privlink daemon the test runs,
// "plk-<id>". Its own cleanup still removes them; the claim is for when
// the test's process is killed before that: the next Prefix call of any
// test then removes the claimed namespaces too (killing what runs in them,
// and their /etc/netns directories). Without root (no record) it does
// nothing.
func ClaimNamespaces(prefix string, names ...string) error {
	if err := checkPrefix(prefix); err != nil {
		return err
	}
	err := appendClaims(recordsDir, prefixID(prefix), names)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		return nil // no record to add to
	}
	return err
}

// CleanupNamespaces registers a t.Cleanup that deletes every network
// namespace whose name starts with prefix and reports an error on t if it
// cannot or if one is left. prefix must be one that Prefix returns.
func CleanupNamespaces(t testing.TB, prefix string) {
	t.Helper()
	cleanupNamespaces(t, prefix, nil)
}

// cleanupNamespaces is CleanupNamespaces, whose cleanup then calls release
// (if not nil) once no namespace of prefix is left. If one is, release is
// not called: the owner record stays, so that a sweep retries once the
// process has exited.
func cleanupNamespaces(t testing.TB, prefix string, release func()) {
	t.Helper()
	if err := checkPrefix(prefix); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		clean := true
		if err := RemoveNamespaces(prefix); err != nil {
			t.Errorf("cleanup: %v", err)
			clean = false
		}
		left, err := ListNamespaces(prefix)
		if err != nil {
			t.Errorf("cleanup: %v", err)
			clean = false
		}
		if len(left) > 0 {
			t.Errorf("cleanup: namespaces left over: %v", left)
			clean = false
		}
		if clean && release != nil {
			release()
		}
	})
}

// checkPrefix refuses prefixes that could match anything but a test's own
// namespaces.
func checkPrefix(prefix string) error {
	if !strings.HasPrefix(prefix, BasePrefix) || len(prefix) == len(BasePrefix) || strings.Contains(prefix, "/") {
		return fmt.Errorf("testenv: refusing namespace prefix %q: not a test prefix %s<id>", prefix, BasePrefix)
	}
	return nil
}

// WaitFor calls cond until it returns nil and fails t if that does not
// happen within timeout; the failure names what was awaited and cond's last
// error. It polls at short, growing intervals (at most 100ms) and never
// sleeps longer than needed.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	if err := poll(t.Context(), timeout, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

const (
	firstInterval = 5 * time.Millisecond
	maxInterval   = 100 * time.Millisecond
)

// poll calls cond until it returns nil, timeout passes or ctx is done.
func poll(ctx context.Context, timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	interval := firstInterval
	for {
		err := cond()
		if err == nil {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("timed out after %v: %w", timeout, err)
		}
		timer := time.NewTimer(min(interval, left))
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("%w (last: %w)", ctx.Err(), err)
		case <-timer.C:
		}
		interval = min(2*interval, maxInterval)
	}
}
