package daemon

import (
	"context"
	"fmt"
	"slices"

	"github.com/privlink/privlink/internal/admin"
	"github.com/privlink/privlink/internal/config"
	"github.com/privlink/privlink/internal/controller"
	"github.com/privlink/privlink/internal/controlplane"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// adminBackend serves the admin API from the control plane, the store and
// the controller.
type adminBackend struct {
	cfg    config.Config
	zones  []model.Zone
	listen string // the bound API address
	store  store.Store
	cp     *controlplane.Service
	ctrl   *controller.Controller
	// consoles reads instances' console logs (the UserData supervisor).
	consoles controlplane.ConsoleLogs
}

// ConsoleOutput returns the console log of an instance of any account: the
// admin socket is root's, so it is not bound to an account.
func (s *adminBackend) ConsoleOutput(ctx context.Context, instanceID string) (admin.ConsoleOutput, error) {
	snap, err := s.cp.Snapshot(ctx)
	if err != nil {
		return admin.ConsoleOutput{}, err
	}
	if !slices.ContainsFunc(snap.Instances, func(i model.Instance) bool { return i.ID == instanceID }) {
		return admin.ConsoleOutput{}, fmt.Errorf("no instance %s", instanceID)
	}
	b, err := s.consoles.ConsoleLog(ctx, instanceID)
	if err != nil {
		return admin.ConsoleOutput{}, err
	}
	return admin.ConsoleOutput{InstanceID: instanceID, Output: string(b)}, nil
}

func (s *adminBackend) CreateAccount(ctx context.Context, name string) (admin.CreatedAccount, error) {
	n, err := s.cp.CreateAccount(ctx, name)
	if err != nil {
		return admin.CreatedAccount{}, err
	}
	return admin.CreatedAccount{
		AccountID:       n.Account.ID,
		Name:            n.Account.Name,
		AccessKeyID:     n.Key.AccessKeyID,
		SecretAccessKey: n.Key.SecretAccessKey,
		Created:         n.Account.Created,
	}, nil
}

func (s *adminBackend) ListAccounts(ctx context.Context) ([]admin.Account, error) {
	accts, err := s.cp.ListAccounts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]admin.Account, len(accts))
	for i, a := range accts {
		keys := a.AccessKeyIDs
		if keys == nil {
			keys = []string{}
		}
		out[i] = admin.Account{AccountID: a.Account.ID, Name: a.Account.Name, AccessKeyIDs: keys, Created: a.Account.Created}
	}
	return out, nil
}

func (s *adminBackend) Status(ctx context.Context) (admin.Status, error) {
	rev, err := s.store.Rev(ctx)
	if err != nil {
		return admin.Status{}, fmt.Errorf("store revision: %w", err)
	}
	accts, err := s.cp.ListAccounts(ctx)
	if err != nil {
		return admin.Status{}, err
	}
	cs := s.ctrl.Status()
	namespaces := cs.Namespaces
	if namespaces == nil {
		namespaces = []string{}
	}
	return admin.Status{
		Region:        s.cfg.Region,
		Zones:         zoneNames(s.zones),
		Listen:        s.listen,
		StoreRevision: rev,
		Accounts:      len(accts),
		Vpcs:          cs.Vpcs,
		Subnets:       cs.Subnets,
		Namespaces:    namespaces,
		Reconciled:    cs.Reconciled,
		LastError:     cs.LastError,
	}, nil
}
