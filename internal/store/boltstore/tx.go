package boltstore

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"

	"go.etcd.io/bbolt"

	"github.com/privlink/privlink/internal/store"
)

// errTxDone is returned by a transaction used after its function returned.
var errTxDone = errors.New("transaction used after its function returned")

// readTx implements store.ReadTx on the kv bucket. Every value it returns is
// a copy: bbolt's memory is only valid while the transaction is open.
type readTx struct {
	kv   *bbolt.Bucket
	done bool
}

var _ store.ReadTx = (*readTx)(nil)

func (t *readTx) Get(key string) ([]byte, error) {
	kv, err := t.getKV(key)
	if err != nil {
		return nil, err
	}
	return kv.Value, nil
}

func (t *readTx) getKV(key string) (store.KV, error) {
	if t.done {
		return store.KV{}, errTxDone
	}
	v := t.kv.Get([]byte(key))
	if v == nil {
		return store.KV{}, fmt.Errorf("get %s: %w", key, store.ErrNotFound)
	}
	return decodeKV(key, v)
}

func (t *readTx) List(prefix string) ([]store.KV, error) {
	if t.done {
		return nil, errTxDone
	}
	var kvs []store.KV
	p := []byte(prefix)
	c := t.kv.Cursor()
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		kv, err := decodeKV(string(k), v)
		if err != nil {
			return nil, err
		}
		kvs = append(kvs, kv)
	}
	return kvs, nil
}

// decodeKV splits a stored value into its revision and a copy of its bytes.
func decodeKV(key string, v []byte) (store.KV, error) {
	if len(v) < 8 {
		return store.KV{}, fmt.Errorf("get %s: corrupt value of %d bytes", key, len(v))
	}
	return store.KV{Key: key, Value: bytes.Clone(v[8:]), ModRev: keyRevOf(v)}, nil
}

// writeTx implements store.Tx. It records the net change of every key it
// touches so that Update can log one event per key, in key order.
type writeTx struct {
	readTx
	newRev  int64
	changes map[string]*change
}

var _ store.Tx = (*writeTx)(nil)

type change struct {
	existed bool   // the key existed when the transaction started
	written bool   // a Put or Delete of the key succeeded
	deleted bool   // the last write was a Delete
	value   []byte // the last value Put, when !deleted
}

func (t *writeTx) Put(key string, value []byte) error {
	if t.done {
		return errTxDone
	}
	if key == "" {
		return errors.New("put: empty key")
	}
	// bbolt keeps references to key and value until the commit, so both are
	// copies the caller cannot change.
	v := make([]byte, 8, 8+len(value))
	copy(v, revKey(t.newRev))
	v = append(v, value...)
	c := t.track(key)
	if err := t.kv.Put([]byte(key), v); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	c.written, c.deleted, c.value = true, false, v[8:]
	return nil
}

// Delete removes key. Deleting a missing key changes nothing and, on its
// own, does not advance the revision.
func (t *writeTx) Delete(key string) error {
	if t.done {
		return errTxDone
	}
	k := []byte(key)
	if t.kv.Get(k) == nil {
		return nil
	}
	c := t.track(key)
	if err := t.kv.Delete(k); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	c.written, c.deleted, c.value = true, true, nil
	return nil
}

// track returns key's change record, creating it on the first write.
func (t *writeTx) track(key string) *change {
	c, ok := t.changes[key]
	if !ok {
		c = &change{existed: t.kv.Get([]byte(key)) != nil}
		t.changes[key] = c
	}
	return c
}

// events returns the net changes of the transaction in key order.
func (t *writeTx) events() []store.Event {
	var evs []store.Event
	for _, key := range slices.Sorted(maps.Keys(t.changes)) {
		c := t.changes[key]
		switch {
		case !c.written:
		case !c.deleted:
			evs = append(evs, store.Event{Type: store.EventPut, Key: key, Value: c.value, Rev: t.newRev})
		case c.existed:
			evs = append(evs, store.Event{Type: store.EventDelete, Key: key, Rev: t.newRev})
		}
	}
	return evs
}
