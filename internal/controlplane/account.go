package controlplane

import (
	"context"
	"errors"
	"fmt"

	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// The local-AWS convention for a fresh install: one account with the keys
// test/test, so that the AWS CLI works with no set-up.
const (
	BootstrapAccountID = "000000000000"
	BootstrapAccessKey = "test"
	BootstrapSecretKey = "test"
)

// NewAccount is a created account with its first access key.
type NewAccount struct {
	Account model.Account
	Key     model.AccessKey
}

// Bootstrap creates the bootstrap account and its key if the store has no
// account yet. created reports whether it did.
func (s *Service) Bootstrap(ctx context.Context) (created bool, err error) {
	err = s.update(ctx, false, func(tx store.Tx) error {
		kvs, err := tx.List(store.KindPrefix(store.KindAccount))
		if err != nil {
			return fmt.Errorf("list accounts: %w", err)
		}
		if len(kvs) > 0 {
			return nil
		}
		created = true
		now := s.now().UTC()
		acct := model.Account{ID: BootstrapAccountID, Name: "default", Created: now}
		key := model.AccessKey{AccessKeyID: BootstrapAccessKey, SecretAccessKey: BootstrapSecretKey, AccountID: acct.ID, Created: now}
		if err := putRecord(tx, store.AccountKey(acct.ID), acct); err != nil {
			return err
		}
		return putRecord(tx, store.AccessKeyKey(key.AccessKeyID), key)
	})
	return created, err
}

// CreateAccount creates an account with a fresh random id and access key.
func (s *Service) CreateAccount(ctx context.Context, name string) (NewAccount, error) {
	var out NewAccount
	err := s.update(ctx, false, func(tx store.Tx) error {
		id := model.NewAccountID()
		for {
			_, found, err := getRecord[model.Account](tx, store.AccountKey(id))
			if err != nil {
				return err
			}
			if !found {
				break
			}
			id = model.NewAccountID()
		}
		now := s.now().UTC()
		akid, secret := model.NewAccessKey()
		out = NewAccount{
			Account: model.Account{ID: id, Name: name, Created: now},
			Key:     model.AccessKey{AccessKeyID: akid, SecretAccessKey: secret, AccountID: id, Created: now},
		}
		if err := putRecord(tx, store.AccountKey(id), out.Account); err != nil {
			return err
		}
		return putRecord(tx, store.AccessKeyKey(akid), out.Key)
	})
	return out, err
}

// AccountSummary is an account and its access key ids (never secrets).
type AccountSummary struct {
	Account      model.Account
	AccessKeyIDs []string
}

// ListAccounts lists every account in id order.
func (s *Service) ListAccounts(ctx context.Context) ([]AccountSummary, error) {
	var out []AccountSummary
	err := s.st.View(ctx, func(tx store.ReadTx) error {
		accts, err := listRecords[model.Account](tx, store.KindPrefix(store.KindAccount))
		if err != nil {
			return err
		}
		keys, err := listRecords[model.AccessKey](tx, store.KindPrefix(store.KindAccessKey))
		if err != nil {
			return err
		}
		byAcct := map[string][]string{}
		for _, k := range keys {
			byAcct[k.AccountID] = append(byAcct[k.AccountID], k.AccessKeyID)
		}
		for _, a := range accts {
			out = append(out, AccountSummary{Account: *a, AccessKeyIDs: byAcct[a.ID]})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return out, nil
}

// LookupAccessKey implements awsapi.Credentials.
func (s *Service) LookupAccessKey(ctx context.Context, accessKeyID string) (accountID, secret string, found bool, err error) {
	kv, err := s.st.Get(ctx, store.AccessKeyKey(accessKeyID))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return "", "", false, nil
		}
		return "", "", false, fmt.Errorf("lookup access key: %w", err)
	}
	var key model.AccessKey
	if err := unmarshalRecord(kv, &key); err != nil {
		return "", "", false, err
	}
	return key.AccountID, key.SecretAccessKey, true, nil
}
