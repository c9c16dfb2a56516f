package admin_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/admin"
)

// fakeBackend keeps accounts in memory.
type fakeBackend struct {
	mu    sync.Mutex
	accts []admin.Account
	fail  error
}

func (b *fakeBackend) CreateAccount(ctx context.Context, name string) (admin.CreatedAccount, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail != nil {
		return admin.CreatedAccount{}, b.fail
	}
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	a := admin.CreatedAccount{AccountID: "123456789012", Name: name, AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: "s3cret", Created: created}
	b.accts = append(b.accts, admin.Account{AccountID: a.AccountID, Name: name, AccessKeyIDs: []string{a.AccessKeyID}, Created: created})
	return a, nil
}

func (b *fakeBackend) ListAccounts(ctx context.Context) ([]admin.Account, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.accts, b.fail
}

func (b *fakeBackend) ConsoleOutput(ctx context.Context, id string) (admin.ConsoleOutput, error) {
	if id != "i-0123456789abcdef0" {
		return admin.ConsoleOutput{}, fmt.Errorf("no instance %s", id)
	}
	return admin.ConsoleOutput{InstanceID: id, Output: "hello from userdata\n"}, nil
}

func (b *fakeBackend) Status(ctx context.Context) (admin.Status, error) {
	return admin.Status{Region: "us-east-1", Zones: []string{"us-east-1a"}, Listen: "127.0.0.1:4566", StoreRevision: 7, Accounts: len(b.accts), Reconciled: true}, nil
}

// socketPath returns a path for a socket in a fresh 0700 directory. Unix
// socket paths are limited to 108 bytes, so it avoids long test names.
func socketPath(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "plkadm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "admin.sock")
}

// start serves b on a new socket until the test ends.
func start(t *testing.T, b admin.Backend) string {
	t.Helper()
	path := socketPath(t)
	ln, err := admin.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- admin.NewServer(ln, b, slog.New(slog.DiscardHandler)).Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v", err)
		}
	})
	return path
}

func TestRoundTrip(t *testing.T) {
	b := &fakeBackend{}
	c := admin.NewClient(start(t, b))
	ctx := t.Context()

	got, err := c.CreateAccount(ctx, "alice")
	if err != nil {
		t.Fatalf("CreateAccount() error = %v", err)
	}
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	want := admin.CreatedAccount{AccountID: "123456789012", Name: "alice", AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: "s3cret", Created: created}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CreateAccount() mismatch (-want +got):\n%s", diff)
	}

	list, err := c.ListAccounts(ctx)
	if err != nil {
		t.Fatalf("ListAccounts() error = %v", err)
	}
	wantList := []admin.Account{{AccountID: "123456789012", Name: "alice", AccessKeyIDs: []string{"AKIAEXAMPLE"}, Created: created}}
	if diff := cmp.Diff(wantList, list); diff != "" {
		t.Errorf("ListAccounts() mismatch (-want +got):\n%s", diff)
	}

	st, err := c.Status(ctx)
	if err != nil {
		t.Fatalf("Status() error = %v", err)
	}
	wantSt := admin.Status{Region: "us-east-1", Zones: []string{"us-east-1a"}, Listen: "127.0.0.1:4566", StoreRevision: 7, Accounts: 1, Reconciled: true}
	if diff := cmp.Diff(wantSt, st); diff != "" {
		t.Errorf("Status() mismatch (-want +got):\n%s", diff)
	}
}

func TestBackendError(t *testing.T) {
	c := admin.NewClient(start(t, &fakeBackend{fail: errors.New("store: closed")}))
	_, err := c.CreateAccount(t.Context(), "x")
	if err == nil || err.Error() != "privlink daemon: store: closed" {
		t.Errorf("CreateAccount() error = %v, want %q", err, "privlink daemon: store: closed")
	}
}

func TestNotRunning(t *testing.T) {
	path := socketPath(t)
	want := "cannot reach privlink daemon at " + path + ": is `privlink server` running?"

	// No socket at all.
	_, err := admin.NewClient(path).ListAccounts(t.Context())
	if err == nil || err.Error() != want {
		t.Errorf("ListAccounts() error = %v, want %q", err, want)
	}

	// A stale socket nobody listens on.
	staleSocket(t, path)
	_, err = admin.NewClient(path).ListAccounts(t.Context())
	if err == nil || err.Error() != want {
		t.Errorf("ListAccounts() on a stale socket: error = %v, want %q", err, want)
	}
}

// staleSocket leaves a socket file at path that nobody listens on, as a
// killed daemon does.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
}

func TestListenMode(t *testing.T) {
	path := socketPath(t)
	ln, err := admin.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != admin.SocketMode {
		t.Errorf("socket mode = %v, want socket with %v", fi.Mode(), admin.SocketMode)
	}
	ln.Close()
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket after Close: Lstat error = %v, want not exist", err)
	}
}

func TestListenRemovesStaleSocket(t *testing.T) {
	path := socketPath(t)
	staleSocket(t, path)
	ln, err := admin.Listen(path)
	if err != nil {
		t.Fatalf("Listen() over a stale socket: %v", err)
	}
	ln.Close()
}

func TestListenRefusesLiveDaemon(t *testing.T) {
	path := start(t, &fakeBackend{})
	_, err := admin.Listen(path)
	if !errors.Is(err, admin.ErrDaemonRunning) {
		t.Fatalf("Listen() on a live socket: error = %v, want ErrDaemonRunning", err)
	}
	// The live daemon still answers.
	if _, err := admin.NewClient(path).Status(t.Context()); err != nil {
		t.Errorf("Status() after the refused Listen: %v", err)
	}
}

func TestListenRefusesNonSocket(t *testing.T) {
	path := socketPath(t)
	if err := os.WriteFile(path, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := admin.Listen(path)
	if err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("Listen() on a regular file: error = %v, want 'not a socket'", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "precious" {
		t.Errorf("file content = %q, want it untouched", b)
	}
}

func TestRunRemovesSocketOnShutdown(t *testing.T) {
	path := socketPath(t)
	ln, err := admin.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- admin.NewServer(ln, &fakeBackend{}, slog.New(slog.DiscardHandler)).Run(ctx) }()
	if _, err := admin.NewClient(path).Status(t.Context()); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run() = %v, want nil after cancel", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket after shutdown: Lstat error = %v, want not exist", err)
	}
}

func TestBadRequest(t *testing.T) {
	path := start(t, &fakeBackend{})
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"nmae":"x"}`
	req := "POST /v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	resp := make([]byte, 4096)
	n, _ := conn.Read(resp)
	if !strings.HasPrefix(string(resp[:n]), "HTTP/1.1 400") || !strings.Contains(string(resp[:n]), `unknown field \"nmae\"`) {
		t.Errorf("response = %q, want 400 naming the unknown field", resp[:n])
	}
}
