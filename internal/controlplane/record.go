package controlplane

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/privlink/privlink/internal/store"
)

// getRecord decodes the JSON record at key. found is false if it is absent.
func getRecord[T any](tx store.ReadTx, key string) (v *T, found bool, err error) {
	b, err := tx.Get(key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("get %s: %w", key, err)
	}
	v = new(T)
	if err := json.Unmarshal(b, v); err != nil {
		return nil, false, fmt.Errorf("decode %s: %w", key, err)
	}
	return v, true, nil
}

// listRecords decodes every JSON record under prefix, in key order.
func listRecords[T any](tx store.ReadTx, prefix string) ([]*T, error) {
	kvs, err := tx.List(prefix)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	out := make([]*T, 0, len(kvs))
	for _, kv := range kvs {
		v := new(T)
		if err := unmarshalRecord(kv, v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// putRecord writes v as JSON at key.
func putRecord(tx store.Tx, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	if err := tx.Put(key, b); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

func unmarshalRecord(kv store.KV, v any) error {
	if err := json.Unmarshal(kv.Value, v); err != nil {
		return fmt.Errorf("decode %s: %w", kv.Key, err)
	}
	return nil
}

// isNotFound reports whether err is the store's "no such key".
func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
