package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/privlink/privlink/internal/store"
)

// ownerIDBytes is the length of an owner id in random bytes; the id is their
// hex encoding.
const ownerIDBytes = 8

// ownerID returns the daemon's owner id from st, the id its data plane
// stamps on the namespaces it creates. The first start creates it, in one
// transaction, and reports created; every later start with the same store
// reads it back, so a restarted daemon adopts its namespaces.
func ownerID(ctx context.Context, st store.Store) (id string, created bool, err error) {
	_, err = st.Update(ctx, func(tx store.Tx) error {
		v, err := tx.Get(store.OwnerIDKey)
		if err == nil {
			id = string(v)
			return checkOwnerID(id)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		id, created = newOwnerID(), true
		return tx.Put(store.OwnerIDKey, []byte(id))
	})
	if err != nil {
		return "", false, fmt.Errorf("owner id: %w", err)
	}
	return id, created, nil
}

func newOwnerID() string {
	b := make([]byte, ownerIDBytes)
	rand.Read(b) // never fails; see crypto/rand.Read
	return hex.EncodeToString(b)
}

// checkOwnerID rejects an owner id that this package did not write.
func checkOwnerID(id string) error {
	b, err := hex.DecodeString(id)
	if err != nil || len(b) != ownerIDBytes || hex.EncodeToString(b) != id {
		return fmt.Errorf("%s in the store is %q, not %d lower-case hex digits", store.OwnerIDKey, id, 2*ownerIDBytes)
	}
	return nil
}
