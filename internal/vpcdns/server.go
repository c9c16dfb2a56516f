package vpcdns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
)

// Port is the port on which every resolver listens, over UDP and TCP.
const Port = 53

// Config is the complete desired set of resolvers of one node.
type Config struct {
	Resolvers []Resolver
}

// Resolver is one VPC's resolver.
type Resolver struct {
	// Namespace is the named network namespace (the VPC's router) in
	// which the resolver's sockets are opened.
	Namespace string
	// Addr is the address the resolver listens on: the VPC's base+2.
	// The data plane adds it to Namespace; until it does, the resolver
	// fails to start and Set retries it on its next call.
	Addr netip.Addr
	// Records are the names the resolver answers.
	Records Records
}

// Validate reports every problem with c, or nil.
func (c Config) Validate() error {
	_, err := c.compile()
	return err
}

// compile checks c and returns each resolver's table by namespace.
func (c Config) compile() (map[string]*table, error) {
	var errs []error
	tables := make(map[string]*table, len(c.Resolvers))
	for i, r := range c.Resolvers {
		where := fmt.Sprintf("resolver %d (%s)", i, r.Namespace)
		if err := checkNamespace(r.Namespace); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		} else if _, dup := tables[r.Namespace]; dup {
			errs = append(errs, fmt.Errorf("%s: duplicate namespace", where))
		}
		if err := checkAddr(r.Addr); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		}
		t, err := r.Records.compile()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: records: %w", where, err))
		}
		tables[r.Namespace] = t
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return tables, nil
}

func checkNamespace(name string) error {
	switch {
	case name == "":
		return errors.New("empty namespace name")
	case name == "." || name == ".." || len(name) > 255 || strings.ContainsAny(name, "/\x00"):
		return fmt.Errorf("invalid namespace name %q", name)
	}
	return nil
}

// QueryCounter counts the queries that resolvers answer. Inc is called once
// per reply, with the reply's rcode name (NOERROR, NXDOMAIN, FORMERR, …) as
// the only label value, from many goroutines at once. A *metrics.Counter
// with one label satisfies it.
type QueryCounter interface {
	Inc(labelValues ...string)
}

// Option configures a Server.
type Option func(*Server)

// WithQueryCounter makes the Server count every query it answers in c.
func WithQueryCounter(c QueryCounter) Option {
	return func(s *Server) { s.queries = c }
}

// ErrClosed is returned by Set once Run has returned.
var ErrClosed = errors.New("vpcdns: server closed")

// Server runs the resolvers of every VPC on the node. Set and Run may be
// called from any goroutine.
type Server struct {
	log     *slog.Logger
	queries QueryCounter

	mu      sync.Mutex // serialises Set and shutdown
	running map[string]*resolver
	closed  bool
}

// New returns a Server with no resolvers. Set starts them; Run stops them
// all when its context ends.
func New(logger *slog.Logger, opts ...Option) *Server {
	s := &Server{log: logger, running: make(map[string]*resolver)}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Run waits until ctx is done, then stops every resolver (their sockets
// are closed and their goroutines have ended when Run returns) and returns
// nil. Set fails with ErrClosed from then on. Set may be called before Run
// starts.
func (s *Server) Run(ctx context.Context) error {
	<-ctx.Done()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for ns, r := range s.running {
		r.stop()
		delete(s.running, ns)
		s.log.Info("vpcdns: resolver stopped", "namespace", ns, "addr", r.addr)
	}
	return nil
}

// Set makes the running resolvers match cfg. It validates cfg first and
// changes nothing if it is invalid. Then it stops the resolvers that cfg
// no longer lists, swaps the records of those that keep their namespace
// and address (their sockets stay open, and queries in flight finish with
// the old records), and starts the others. A resolver that cannot start —
// its namespace is missing, its address is not there yet — does not keep
// the others from starting: Set returns an error naming every resolver that
// failed, and the next Set tries them again.
//
// A resolver whose namespace was deleted, or deleted and created again
// under the same name, is restarted in the namespace that has the name now.
func (s *Server) Set(ctx context.Context, cfg Config) error {
	tables, err := cfg.compile()
	if err != nil {
		return fmt.Errorf("vpcdns config: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}

	want := make(map[string]netip.Addr, len(cfg.Resolvers))
	for _, r := range cfg.Resolvers {
		want[r.Namespace] = r.Addr
	}
	for ns, r := range s.running {
		addr, ok := want[ns]
		if ok && addr == r.addr && sameNamespace(ns, r.nsID) {
			continue
		}
		r.stop()
		delete(s.running, ns)
		s.log.Info("vpcdns: resolver stopped", "namespace", ns, "addr", r.addr)
	}

	var errs []error
	for _, rc := range cfg.Resolvers {
		t := tables[rc.Namespace]
		if r := s.running[rc.Namespace]; r != nil {
			r.table.Store(t)
			continue
		}
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("resolver %s (%s): %w", rc.Namespace, rc.Addr, err))
			continue
		}
		l, err := listen(ctx, rc.Namespace, rc.Addr)
		if err != nil {
			errs = append(errs, fmt.Errorf("resolver %s (%s): %w", rc.Namespace, rc.Addr, err))
			continue
		}
		r := newResolver(s.log, s.queries, rc.Namespace, rc.Addr, l, t)
		s.running[rc.Namespace] = r
		s.log.Info("vpcdns: resolver started", "namespace", rc.Namespace, "addr", rc.Addr)
	}
	return errors.Join(errs...)
}

// sameNamespace reports whether the namespace named ns is still the one
// with identity id.
func sameNamespace(ns, id string) bool {
	cur, err := namespaceID(ns)
	return err == nil && cur == id
}
