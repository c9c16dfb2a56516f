package boltstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"

	"github.com/privlink/privlink/internal/store"
)

// Defaults for the options of Open.
const (
	DefaultLockTimeout = time.Second
	DefaultRetention   = 10000
)

// fileMode is the permission of the store file. It holds control-plane state,
// so only its owner may read it.
const fileMode fs.FileMode = 0o600

// ErrLocked is returned (wrapped) by Open when another process holds the
// store file's lock for longer than the lock timeout.
var ErrLocked = errors.New("locked by another process")

var (
	bucketKV   = []byte("kv")
	bucketMeta = []byte("meta")
	bucketLog  = []byte("log")
	keyRev     = []byte("rev")
)

// Option configures Open.
type Option func(*options)

type options struct {
	lockTimeout time.Duration
	retention   int64
}

// WithLockTimeout sets how long Open waits for the file lock held by another
// process before it fails with ErrLocked. It must be positive. The default is
// DefaultLockTimeout.
func WithLockTimeout(d time.Duration) Option {
	return func(o *options) { o.lockTimeout = d }
}

// WithRetention sets how many of the newest revisions the change log keeps
// for Watch. Watch from an older revision returns store.ErrCompacted. It must
// be at least 1. The default is DefaultRetention.
func WithRetention(revisions int) Option {
	return func(o *options) { o.retention = int64(revisions) }
}

// Store is a store.Store backed by one bbolt file. It is safe for concurrent
// use.
type Store struct {
	path      string
	db        *bbolt.DB
	retention int64

	closed atomic.Bool
	done   chan struct{} // closed by Close; ends watchers

	mu       sync.Mutex
	notify   chan struct{} // closed and replaced after every commit
	watchers sync.WaitGroup
}

var _ store.Store = (*Store)(nil)

// Open opens the store file at path, creating it with mode 0600 if needed
// and tightening the mode of an existing file that is readable by others.
//
// Only one process may have the file open. If another one holds it, Open
// waits for the lock timeout (or until ctx's deadline, if sooner) and then
// returns an error wrapping ErrLocked. ctx is otherwise only checked before
// starting.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	o := options{lockTimeout: DefaultLockTimeout, retention: DefaultRetention}
	for _, opt := range opts {
		opt(&o)
	}
	if o.lockTimeout <= 0 {
		return nil, fmt.Errorf("open store %s: lock timeout %v is not positive", path, o.lockTimeout)
	}
	if o.retention < 1 {
		return nil, fmt.Errorf("open store %s: retention %d is less than 1", path, o.retention)
	}
	timeout := o.lockTimeout
	if deadline, ok := ctx.Deadline(); ok {
		left := time.Until(deadline)
		if left <= 0 {
			return nil, context.DeadlineExceeded
		}
		timeout = min(timeout, left)
	}

	created, err := prepareFile(path)
	if err != nil {
		return nil, err
	}
	bopts := *bbolt.DefaultOptions
	bopts.Timeout = timeout
	db, err := bbolt.Open(path, fileMode, &bopts)
	if errors.Is(err, bbolt.ErrTimeout) {
		return nil, fmt.Errorf("store %s is %w (waited %v)", path, ErrLocked, timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketKV, bucketMeta, bucketLog} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return nil
	})
	if err == nil && created {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		_ = db.Close() // the initialisation error is the one worth reporting
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return &Store{
		path:      path,
		db:        db,
		retention: o.retention,
		done:      make(chan struct{}),
		notify:    make(chan struct{}),
	}, nil
}

// prepareFile reports whether path does not exist yet, and removes group and
// other permissions from it if it does.
func prepareFile(path string) (created bool, err error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("open store %s: %w", path, err)
	}
	if perm := fi.Mode().Perm(); fi.Mode().IsRegular() && perm&^fileMode != 0 {
		if err := os.Chmod(path, perm&fileMode); err != nil {
			return false, fmt.Errorf("restrict mode of store %s: %w", path, err)
		}
	}
	return false, nil
}

// syncDir makes a newly created file's directory entry durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be fsynced there
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// Get returns key's value and revision, or an error wrapping
// store.ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) (store.KV, error) {
	var kv store.KV
	err := s.view(ctx, func(tx *readTx) error {
		var err error
		kv, err = tx.getKV(key)
		return err
	})
	return kv, err
}

// List returns every key with the given prefix, in ascending byte order.
func (s *Store) List(ctx context.Context, prefix string) ([]store.KV, error) {
	var kvs []store.KV
	err := s.view(ctx, func(tx *readTx) error {
		var err error
		kvs, err = tx.List(prefix)
		return err
	})
	return kvs, err
}

// View runs fn in a read-only bbolt transaction and returns fn's error
// unchanged. fn must not call Update: the commit may wait for this
// transaction to end.
func (s *Store) View(ctx context.Context, fn func(tx store.ReadTx) error) error {
	return s.view(ctx, func(tx *readTx) error { return fn(tx) })
}

func (s *Store) view(ctx context.Context, fn func(tx *readTx) error) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	btx, err := s.db.Begin(false)
	if err != nil {
		return s.txErr("begin read transaction", err)
	}
	defer btx.Rollback() // read-only: nothing to report
	tx := &readTx{kv: btx.Bucket(bucketKV)}
	defer func() { tx.done = true }()
	return fn(tx)
}

// Update runs fn in one read-write transaction. If fn returns an error the
// transaction is rolled back and that error is returned as is. Otherwise the
// writes, the new revision and its change-log entry are committed and
// fsynced together, watchers are woken, and the new revision is returned.
//
// A transaction whose net effect is empty (no Put, only deletes of missing
// keys, or a Put and then a Delete of a key that did not exist before) is
// rolled back and returns the current revision unchanged. Putting a key to
// its current value is a write and does advance the revision.
//
// Updates are serialised. fn must not call other methods of s.
func (s *Store) Update(ctx context.Context, fn func(tx store.Tx) error) (int64, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	btx, err := s.db.Begin(true)
	if err != nil {
		return 0, s.txErr("begin write transaction", err)
	}
	defer btx.Rollback() // after a commit: returns ErrTxClosed, ignored
	rev, err := readRev(btx)
	if err != nil {
		return 0, err
	}
	tx := &writeTx{
		readTx:  readTx{kv: btx.Bucket(bucketKV)},
		newRev:  rev + 1,
		changes: make(map[string]*change),
	}
	err = fn(tx)
	tx.done = true
	if err != nil {
		return 0, err
	}
	events := tx.events()
	if len(events) == 0 {
		return rev, nil
	}
	if err := s.appendLog(btx, tx.newRev, events); err != nil {
		return 0, err
	}
	if err := btx.Commit(); err != nil {
		return 0, s.txErr(fmt.Sprintf("commit revision %d", tx.newRev), err)
	}
	s.broadcast()
	return tx.newRev, nil
}

// appendLog records rev as the current revision, stores its events in the
// change log and deletes log entries that fell out of the retention window.
func (s *Store) appendLog(btx *bbolt.Tx, rev int64, events []store.Event) error {
	if err := btx.Bucket(bucketMeta).Put(keyRev, revKey(rev)); err != nil {
		return fmt.Errorf("write revision %d: %w", rev, err)
	}
	logb := btx.Bucket(bucketLog)
	if err := logb.Put(revKey(rev), encodeEvents(events)); err != nil {
		return fmt.Errorf("write change log of revision %d: %w", rev, err)
	}
	cutoff := rev - s.retention
	c := logb.Cursor()
	for k, _ := c.First(); k != nil && keyRevOf(k) <= cutoff; k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return fmt.Errorf("compact change log: %w", err)
		}
	}
	return nil
}

// Rev returns the current revision.
func (s *Store) Rev(ctx context.Context) (int64, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	var rev int64
	err := s.db.View(func(btx *bbolt.Tx) error {
		var err error
		rev, err = readRev(btx)
		return err
	})
	if err != nil {
		return 0, s.txErr("read revision", err)
	}
	return rev, nil
}

// Close stops every watcher (their channels close) and closes the file,
// waiting for transactions in progress. Later calls return nil; every other
// method returns store.ErrClosed after Close.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return nil
	}
	s.closed.Store(true)
	close(s.done)
	s.mu.Unlock()

	s.watchers.Wait()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store %s: %w", s.path, err)
	}
	return nil
}

// check returns the error that stops a call before it starts.
func (s *Store) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return store.ErrClosed
	}
	return nil
}

// txErr maps bbolt's error for a closed database to store.ErrClosed (Close
// can win a race with a call that already passed check) and wraps the rest.
func (s *Store) txErr(what string, err error) error {
	if errors.Is(err, bbolt.ErrDatabaseNotOpen) || errors.Is(err, store.ErrClosed) {
		return store.ErrClosed
	}
	return fmt.Errorf("%s: %w", what, err)
}

// broadcast wakes every watcher waiting for a new revision.
func (s *Store) broadcast() {
	s.mu.Lock()
	close(s.notify)
	s.notify = make(chan struct{})
	s.mu.Unlock()
}

// wakeup returns a channel that is closed by the next commit.
func (s *Store) wakeup() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.notify
}

func readRev(btx *bbolt.Tx) (int64, error) {
	v := btx.Bucket(bucketMeta).Get(keyRev)
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("corrupt revision: %d bytes", len(v))
	}
	return keyRevOf(v), nil
}

// revKey encodes rev so that byte order is numeric order.
func revKey(rev int64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), uint64(rev))
}

func keyRevOf(k []byte) int64 {
	return int64(binary.BigEndian.Uint64(k))
}
