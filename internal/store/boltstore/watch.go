package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/privlink/privlink/internal/store"
)

// readBatch caps how many revisions a watcher reads from the log in one
// read transaction, so that a long replay neither pins old pages nor holds
// the whole history in memory.
const readBatch = 256

// logFormat is the first byte of every change-log entry.
const logFormat = 1

// Watch returns a channel that delivers every change with a revision greater
// than fromRev, in revision order and, within a revision, in key order.
// Logged revisions are replayed first, then new commits follow. The watcher
// reads the change log by revision, so it sees no gaps and no duplicates
// however commits race with it, and Update never waits for it.
//
// fromRev must be between 0 and the current revision: fromRev equal to the
// current revision delivers only future changes; a fromRev greater than the
// current revision is an error (the caller's revision comes from another
// store or from before a restore). If the changes after fromRev are no longer
// in the log, Watch returns store.ErrCompacted.
//
// The channel is closed when ctx is done, when the store is closed, or when
// the watcher falls so far behind that the changes it still has to deliver
// were compacted; in the last case Watch from the last delivered revision
// returns store.ErrCompacted.
func (s *Store) Watch(ctx context.Context, fromRev int64) (<-chan store.Event, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if fromRev < 0 {
		return nil, fmt.Errorf("watch from revision %d: negative revision", fromRev)
	}
	err := s.db.View(func(btx *bbolt.Tx) error {
		rev, err := readRev(btx)
		if err != nil {
			return err
		}
		if fromRev > rev {
			return fmt.Errorf("watch from revision %d: after current revision %d", fromRev, rev)
		}
		oldest := rev + 1
		if k, _ := btx.Bucket(bucketLog).Cursor().First(); k != nil {
			oldest = keyRevOf(k)
		}
		if fromRev < oldest-1 {
			return fmt.Errorf("watch from revision %d, oldest kept is %d: %w", fromRev, oldest, store.ErrCompacted)
		}
		return nil
	})
	if errors.Is(err, bbolt.ErrDatabaseNotOpen) {
		return nil, store.ErrClosed
	}
	if err != nil {
		return nil, err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	ch := make(chan store.Event)
	s.watchers.Add(1)
	go s.watch(ctx, ch, fromRev)
	return ch, nil
}

// watch feeds ch with the events after rev until ctx is done, the store is
// closed or the log no longer holds the next revision.
func (s *Store) watch(ctx context.Context, ch chan<- store.Event, rev int64) {
	defer s.watchers.Done()
	defer close(ch)
	for {
		// Take the wakeup channel before reading, so that a commit after
		// the read is never missed.
		wake := s.wakeup()
		events, err := s.readLog(rev)
		if err != nil {
			return // compacted under us, or closed
		}
		for _, ev := range events {
			select {
			case ch <- ev:
				rev = ev.Rev
			case <-ctx.Done():
				return
			case <-s.done:
				return
			}
		}
		if len(events) > 0 {
			continue
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return
		case <-s.done:
			return
		}
	}
}

// readLog returns the logged events of up to readBatch revisions after rev.
func (s *Store) readLog(rev int64) ([]store.Event, error) {
	var events []store.Event
	err := s.db.View(func(btx *bbolt.Tx) error {
		c := btx.Bucket(bucketLog).Cursor()
		next := rev + 1
		for k, v := c.Seek(revKey(next)); k != nil && next <= rev+readBatch; k, v = c.Next() {
			if got := keyRevOf(k); got != next {
				return fmt.Errorf("read change log: want revision %d, found %d: %w", next, got, store.ErrCompacted)
			}
			evs, err := decodeEvents(next, v)
			if err != nil {
				return err
			}
			events = append(events, evs...)
			next++
		}
		return nil
	})
	return events, err
}

// encodeEvents encodes the events of one revision as
//
//	format byte, uvarint count, then per event:
//	type byte, uvarint key length, key, and for puts uvarint value length, value.
//
// The revision is the log entry's key, so it is not repeated.
func encodeEvents(events []store.Event) []byte {
	b := []byte{logFormat}
	b = binary.AppendUvarint(b, uint64(len(events)))
	for _, ev := range events {
		b = append(b, byte(ev.Type))
		b = binary.AppendUvarint(b, uint64(len(ev.Key)))
		b = append(b, ev.Key...)
		if ev.Type == store.EventPut {
			b = binary.AppendUvarint(b, uint64(len(ev.Value)))
			b = append(b, ev.Value...)
		}
	}
	return b
}

var errCorruptLog = errors.New("corrupt change log entry")

// decodeEvents decodes a log entry written by encodeEvents into events that
// own their memory.
func decodeEvents(rev int64, b []byte) ([]store.Event, error) {
	r := bytes.NewReader(b)
	bad := func(what string) error {
		return fmt.Errorf("revision %d: %s: %w", rev, what, errCorruptLog)
	}
	if f, err := r.ReadByte(); err != nil || f != logFormat {
		return nil, bad("unknown format")
	}
	n, err := binary.ReadUvarint(r)
	if err != nil || n > uint64(r.Len()) {
		return nil, bad("event count")
	}
	readBytes := func() ([]byte, bool) {
		l, err := binary.ReadUvarint(r)
		if err != nil || l > uint64(r.Len()) {
			return nil, false
		}
		p := make([]byte, l)
		_, _ = r.Read(p) // cannot fail: l <= r.Len()
		return p, true
	}
	events := make([]store.Event, 0, n)
	for range n {
		t, err := r.ReadByte()
		if err != nil {
			return nil, bad("event type")
		}
		key, ok := readBytes()
		if !ok {
			return nil, bad("key")
		}
		ev := store.Event{Type: store.EventType(t), Key: string(key), Rev: rev}
		switch ev.Type {
		case store.EventPut:
			if ev.Value, ok = readBytes(); !ok {
				return nil, bad("value")
			}
		case store.EventDelete:
		default:
			return nil, bad(fmt.Sprintf("event type %d", t))
		}
		events = append(events, ev)
	}
	if r.Len() != 0 {
		return nil, bad("trailing bytes")
	}
	return events, nil
}
