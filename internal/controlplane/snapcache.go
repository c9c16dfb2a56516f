package controlplane

import (
	"strings"
	"sync"

	"github.com/privlink/privlink/internal/store"
)

// snapshotCache keeps the decoded form of every record Snapshot has read,
// with the revision that last wrote it. The controllers take a snapshot of
// everything on every pass; with the cache a pass decodes only the records
// that changed since the previous one, instead of thousands of unchanged
// ones, which would otherwise compete with the API for the CPU.
type snapshotCache struct {
	mu      sync.Mutex
	records map[string]cachedRecord
}

type cachedRecord struct {
	rev int64
	v   any // *T
}

// listCached returns every record under prefix, decoding only those whose
// revision differs from the cached one, and forgets cached keys under prefix
// that are gone. The caller holds c.mu. Values share memory (tags, rules)
// with earlier snapshots: callers treat them as read-only.
func listCached[T any](c *snapshotCache, tx store.ReadTx, prefix string) ([]T, error) {
	kvs, err := tx.List(prefix)
	if err != nil {
		return nil, err
	}
	if c.records == nil {
		c.records = make(map[string]cachedRecord)
	}
	seen := make(map[string]bool, len(kvs))
	out := make([]T, 0, len(kvs))
	for _, kv := range kvs {
		seen[kv.Key] = true
		if r, ok := c.records[kv.Key]; ok && r.rev == kv.ModRev {
			out = append(out, *r.v.(*T))
			continue
		}
		v := new(T)
		if err := unmarshalRecord(kv, v); err != nil {
			return nil, err
		}
		c.records[kv.Key] = cachedRecord{rev: kv.ModRev, v: v}
		out = append(out, *v)
	}
	for k := range c.records {
		if strings.HasPrefix(k, prefix) && !seen[k] {
			delete(c.records, k)
		}
	}
	return out, nil
}
