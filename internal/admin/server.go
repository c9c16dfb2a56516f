package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"
)

// SocketMode is the permission of the admin socket: only its owner (the
// daemon's user, root) may connect.
const SocketMode fs.FileMode = 0o600

// ErrDaemonRunning is returned (wrapped) by Listen when another daemon
// answers on the socket.
var ErrDaemonRunning = errors.New("another privlink daemon is running")

// Backend is what the admin API serves. The daemon implements it over the
// control plane.
type Backend interface {
	CreateAccount(ctx context.Context, name string) (CreatedAccount, error)
	ListAccounts(ctx context.Context) ([]Account, error)
	Status(ctx context.Context) (Status, error)
	// ConsoleOutput returns the console log of an instance of any account.
	ConsoleOutput(ctx context.Context, instanceID string) (ConsoleOutput, error)
}

// Listen creates the admin socket at path with mode SocketMode. A socket
// left behind by a daemon that is gone is removed first; if a daemon still
// answers on it, Listen fails with ErrDaemonRunning. Anything at path that
// is not a socket is left alone and is an error. Closing the listener
// removes the socket.
func Listen(path string) (net.Listener, error) {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("admin socket: %w", err)
	case fi.Mode().Type() != fs.ModeSocket:
		return nil, fmt.Errorf("admin socket %s: exists and is not a socket", path)
	default:
		c, err := net.DialTimeout("unix", path, time.Second)
		if err == nil {
			c.Close()
			return nil, fmt.Errorf("admin socket %s: %w", path, ErrDaemonRunning)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("admin socket %s: probe for a running daemon: %w", path, err)
		}
		// Nobody listens: the socket of a daemon that died.
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("remove stale admin socket: %w", err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	// The data directory is 0700, so nobody else could reach the socket
	// in the moment before its own mode is tightened.
	if err := os.Chmod(path, SocketMode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	return ln, nil
}

// Server serves the admin API on a listener from Listen.
type Server struct {
	ln      net.Listener
	backend Backend
	log     *slog.Logger
}

// NewServer returns a server for backend on ln. Run takes ln over.
func NewServer(ln net.Listener, backend Backend, logger *slog.Logger) *Server {
	return &Server{ln: ln, backend: backend, log: logger}
}

// Run serves until ctx is done, then shuts down gracefully and closes the
// listener, which removes the socket.
func (s *Server) Run(ctx context.Context) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(peerCheckListener{s.ln, s.log}) }()
	select {
	case err := <-errc:
		return fmt.Errorf("admin server: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("admin server shutdown: %w", err)
	}
	return nil
}

// Handler returns the admin API as an http.Handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+pathAccounts, func(w http.ResponseWriter, r *http.Request) {
		accts, err := s.backend.ListAccounts(r.Context())
		s.reply(w, r, accts, err)
	})
	mux.HandleFunc("POST "+pathAccounts, func(w http.ResponseWriter, r *http.Request) {
		var req CreateAccountRequest
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, errorBody{Error: fmt.Sprintf("decode request: %v", err)})
			return
		}
		acct, err := s.backend.CreateAccount(r.Context(), req.Name)
		if err == nil {
			s.log.InfoContext(r.Context(), "created account", "account", acct.AccountID, "name", acct.Name, "access_key", acct.AccessKeyID)
		}
		s.reply(w, r, acct, err)
	})
	mux.HandleFunc("GET "+pathStatus, func(w http.ResponseWriter, r *http.Request) {
		st, err := s.backend.Status(r.Context())
		s.reply(w, r, st, err)
	})
	mux.HandleFunc("GET "+pathConsole, func(w http.ResponseWriter, r *http.Request) {
		out, err := s.backend.ConsoleOutput(r.Context(), r.PathValue("id"))
		s.reply(w, r, out, err)
	})
	return mux
}

func (s *Server) reply(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		s.log.WarnContext(r.Context(), "admin request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeJSON(w, http.StatusInternalServerError, errorBody{Error: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// peerCheckListener drops connections from any user other than root and
// the daemon's own. The socket's mode already keeps others out; this holds
// even if someone loosens it.
type peerCheckListener struct {
	net.Listener
	log *slog.Logger
}

func (l peerCheckListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if err := checkPeer(c); err != nil {
			l.log.Warn("admin socket: connection refused", "err", err)
			c.Close()
			continue
		}
		return c, nil
	}
}
