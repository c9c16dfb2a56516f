package controlplane

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// Config configures a Service.
type Config struct {
	Store  store.Store
	Region string
	Zones  []model.Zone
	Logger *slog.Logger
	Now    func() time.Time // nil means time.Now
	// ConsoleLogs reads the console logs GetConsoleOutput returns; nil
	// answers every instance with an empty output.
	ConsoleLogs ConsoleLogs
	// InstanceQuota is how many instances an account may have pending,
	// running or stopping at once (0 means DefaultInstanceQuota).
	InstanceQuota int
	// TXT looks up the TXT records StartVpcEndpointServicePrivateDnsVerification
	// checks; nil answers that verification with an error.
	TXT TXTResolver
}

// DefaultInstanceQuota is EC2's long-standing default On-Demand instance
// limit.
const DefaultInstanceQuota = 20

// ConsoleLogs reads an instance's console log: the output of its UserData,
// which the supervisor writes outside the store. A log that does not exist
// yet is fs.ErrNotExist (or an empty log).
type ConsoleLogs interface {
	ConsoleLog(ctx context.Context, instanceID string) ([]byte, error)
}

// TXTResolver looks up the TXT records of a name for the verification of
// private DNS names: each record's character-strings joined into one
// string, and none (with no error) for a name that does not exist.
type TXTResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// Service runs the operations of one region against one store.
type Service struct {
	st     store.Store
	region string
	zones  []model.Zone
	log    *slog.Logger
	now    func() time.Time
	// snaps makes Snapshot decode only what changed since the last one.
	snaps snapshotCache
	logs  ConsoleLogs
	quota int
	txt   TXTResolver
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("controlplane: nil store")
	}
	if cfg.Region == "" || len(cfg.Zones) == 0 {
		return nil, errors.New("controlplane: region and zones are required")
	}
	s := &Service{st: cfg.Store, region: cfg.Region, zones: cfg.Zones, log: cfg.Logger, now: cfg.Now, logs: cfg.ConsoleLogs, quota: cfg.InstanceQuota,
		txt: cfg.TXT}
	if s.quota <= 0 {
		s.quota = DefaultInstanceQuota
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Region returns the region this service serves.
func (s *Service) Region() string { return s.region }

// Zones returns the region's availability zones.
func (s *Service) Zones() []model.Zone { return s.zones }

// update runs fn in one store transaction. With dryRun, fn runs in full
// (every validation and authorisation check) and is then rolled back with
// DryRunOperation, so a dry run can never change anything.
func (s *Service) update(ctx context.Context, dryRun bool, fn func(tx store.Tx) error) error {
	errDry := awsapi.ErrDryRun()
	_, err := s.st.Update(ctx, func(tx store.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		if dryRun {
			return errDry
		}
		return nil
	})
	if err == errDry {
		return err
	}
	var ae *awsapi.Error
	if err != nil && !errors.As(err, &ae) {
		return fmt.Errorf("store update: %w", err)
	}
	return err
}

// view runs fn in a read-only transaction; dryRun answers DryRunOperation
// once fn (the authorisation and validation) has succeeded.
func (s *Service) view(ctx context.Context, dryRun bool, fn func(tx store.ReadTx) error) error {
	err := s.st.View(ctx, fn)
	if err == nil && dryRun {
		return awsapi.ErrDryRun()
	}
	var ae *awsapi.Error
	if err != nil && !errors.As(err, &ae) {
		return fmt.Errorf("store view: %w", err)
	}
	return err
}
