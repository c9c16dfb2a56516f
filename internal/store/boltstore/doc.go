// Package boltstore implements store.Store on a single bbolt file.
//
// The file holds three buckets:
//
//   - "kv": user keys. Each value is the 8-byte big-endian revision that last
//     wrote the key, followed by the user's bytes.
//   - "meta": the current revision under the key "rev" (8-byte big-endian).
//   - "log": the change log for Watch, one entry per revision, keyed by the
//     8-byte big-endian revision. Only the newest revisions are kept (see
//     WithRetention); older entries are deleted in the transaction that makes
//     them fall out of the window.
//
// Every mutating transaction writes its keys, the new revision and its log
// entry in one bbolt transaction, and bbolt fsyncs it before Update returns.
//
// bbolt transactions cannot be interrupted: a context is checked before work
// starts, and not while a transaction runs.
//
// This package must not import any privlink package other than
// internal/store.
package boltstore
