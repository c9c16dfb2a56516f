// Package store defines privlink's persistent key-value store: ordered keys,
// one transaction per mutating API call, a global revision counter and
// watch-from-revision. Implementations live in sub-packages (boltstore, and
// later etcdstore); storetest holds the conformance suite every
// implementation must pass.
//
// This package must not import anything from privlink except model-free
// helpers: it knows keys and bytes, never AWS resources.
package store

import (
	"context"
	"errors"
)

// Sentinel errors shared by every implementation.
var (
	// ErrNotFound is returned by Get when the key does not exist.
	ErrNotFound = errors.New("store: key not found")
	// ErrCompacted is returned by Watch when the requested revision is older
	// than the oldest change the store still remembers. The watcher must
	// re-list and watch again from the current revision.
	ErrCompacted = errors.New("store: revision compacted")
	// ErrClosed is returned by calls on a closed store.
	ErrClosed = errors.New("store: closed")
)

// KV is one key with its value and the revision that last modified it.
// Value is owned by the caller: implementations copy it out of their
// internal buffers.
type KV struct {
	Key    string
	Value  []byte
	ModRev int64
}

// EventType says whether a key was written or removed.
type EventType int

// Event types.
const (
	EventPut EventType = iota + 1
	EventDelete
)

// Event is one change delivered by Watch. All events of one transaction carry
// the same Rev and are delivered in key order, before any event of a later
// revision.
type Event struct {
	Type  EventType
	Key   string
	Value []byte // nil for EventDelete
	Rev   int64
}

// ReadTx is a consistent read-only view.
type ReadTx interface {
	// Get returns the value of key, or ErrNotFound.
	Get(key string) ([]byte, error)
	// List returns every key with the given prefix in ascending key order.
	List(prefix string) ([]KV, error)
}

// Tx is a read-write transaction. Writes are visible to later reads in the
// same transaction.
type Tx interface {
	ReadTx
	// Put sets key to a copy of value; the caller may reuse value at once.
	Put(key string, value []byte) error
	// Delete removes key. Deleting a missing key is not an error, and is not
	// a write: on its own it does not advance the revision.
	Delete(key string) error
}

// Store is the plug point between the control plane and persistence.
type Store interface {
	// Get returns the value of key, or ErrNotFound.
	Get(ctx context.Context, key string) (KV, error)
	// List returns every key with the given prefix in ascending key order.
	List(ctx context.Context, prefix string) ([]KV, error)
	// View runs fn in a consistent read-only transaction.
	View(ctx context.Context, fn func(tx ReadTx) error) error
	// Update runs fn in one read-write transaction and commits it durably
	// (fsync) before returning. If fn returns an error nothing is written and
	// that error is returned unchanged. A transaction that writes nothing does
	// not advance the revision. It returns the revision after the commit.
	Update(ctx context.Context, fn func(tx Tx) error) (int64, error)
	// Rev returns the current revision: 0 for an empty store, then +1 for
	// every committed transaction that wrote something.
	Rev(ctx context.Context) (int64, error)
	// Watch delivers every change with a revision greater than fromRev, in
	// order, until ctx is done (then the channel is closed). If fromRev is
	// older than what the store remembers it returns ErrCompacted. fromRev
	// equal to the current revision delivers only future changes; a negative
	// fromRev, or one greater than the current revision, is an error.
	//
	// The channel is also closed when the store is closed, or when the
	// watcher falls so far behind that the changes it has yet to deliver were
	// compacted. A caller that sees the channel close while ctx is still live
	// watches again from the last revision it received, and re-lists on
	// ErrCompacted.
	Watch(ctx context.Context, fromRev int64) (<-chan Event, error)
	// Close releases the store. Pending watches end.
	Close() error
}
