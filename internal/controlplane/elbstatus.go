package controlplane

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// This file is the controllers' write-back for load balancers: nodes up
// (provisioning → active) and what the health checks found. Nothing here
// is reachable from the API.

// ActivateLoadBalancers moves the provisioning load balancers named by arns
// to active, in one transaction. One that was deleted meanwhile, or is not
// provisioning, is left as it is.
func (s *Service) ActivateLoadBalancers(ctx context.Context, arns []string) error {
	err := s.update(ctx, false, func(tx store.Tx) error {
		for _, arn := range arns {
			r, ok := model.ParseELBARN(arn)
			if !ok || r.Kind != "loadbalancer" {
				continue
			}
			key := loadBalancerKey(r.Account, r.ID)
			lb, found, err := getRecord[model.LoadBalancer](tx, key)
			if err != nil {
				return err
			}
			if !found || lb.ARN != arn || lb.State != model.LBProvisioning {
				continue
			}
			lb.State = model.LBActive
			if err := putRecord(tx, key, lb); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("activate load balancers: %w", err)
	}
	return nil
}

// TargetHealthUpdate is one health check's conclusion about one target.
type TargetHealthUpdate struct {
	TargetGroupARN string
	TargetKey      string // model.Target.Key
	State          string // model.TargetHealthy, model.TargetUnhealthy
	Reason         string // for unhealthy: model.ReasonTimeout, ...
	Description    string // "" for the reason's standard text
}

// RecordTargetHealth writes what the health checks found, in one
// transaction. Each entry is stamped with the time it changed, so that
// DescribeTargetHealth can tell a result about an earlier registration of
// the same target from one about the current. Entries of targets no longer
// registered are dropped; updates for groups or targets that are gone are
// ignored (the checks raced a deregistration).
func (s *Service) RecordTargetHealth(ctx context.Context, updates []TargetHealthUpdate) error {
	now := s.now().UTC()
	byGroup := map[string][]TargetHealthUpdate{}
	var order []string
	for _, u := range updates {
		if _, ok := byGroup[u.TargetGroupARN]; !ok {
			order = append(order, u.TargetGroupARN)
		}
		byGroup[u.TargetGroupARN] = append(byGroup[u.TargetGroupARN], u)
	}
	err := s.update(ctx, false, func(tx store.Tx) error {
		for _, arn := range order {
			r, ok := model.ParseELBARN(arn)
			if !ok || r.Kind != "targetgroup" {
				continue
			}
			tg, found, err := getRecord[model.TargetGroup](tx, targetGroupKey(r.Account, r.ID))
			if err != nil {
				return err
			}
			if !found || tg.ARN != arn {
				continue
			}
			key := targetHealthKey(r.Account, r.ID)
			set, found, err := getRecord[model.TargetHealthSet](tx, key)
			if err != nil {
				return err
			}
			if !found {
				set = &model.TargetHealthSet{TargetGroupARN: arn}
			}
			if set.Targets == nil {
				set.Targets = map[string]model.TargetHealthStatus{}
			}
			// registered maps the targets still registered to when they
			// were.
			registered := map[string]time.Time{}
			for _, t := range tg.Targets {
				if !t.Gone(now) {
					registered[t.Key()] = t.Registered
				}
			}
			changed := !found
			for k := range set.Targets {
				if _, ok := registered[k]; !ok {
					delete(set.Targets, k)
					changed = true
				}
			}
			for _, u := range byGroup[arn] {
				since, ok := registered[u.TargetKey]
				if !ok {
					continue
				}
				// An entry from before the target's registration is about
				// an earlier one: the same result is news.
				old, ok := set.Targets[u.TargetKey]
				if ok && !old.Since.Before(since) && old.State == u.State && old.Reason == u.Reason && old.Description == u.Description {
					continue
				}
				set.Targets[u.TargetKey] = model.TargetHealthStatus{State: u.State, Reason: u.Reason, Description: u.Description, Since: now}
				changed = true
			}
			if changed {
				if err := putRecord(tx, key, set); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record target health: %w", err)
	}
	return nil
}

// deregisterInstance removes a terminated instance from every target group
// of its account, as AWS deregisters terminated instances: there is nothing
// left to drain.
func (s *Service) deregisterInstance(tx store.Tx, i *model.Instance) error {
	groups, err := listTargetGroups(tx, i.OwnerID)
	if err != nil {
		return err
	}
	for _, g := range groups {
		kept := slices.DeleteFunc(slices.Clone(g.Targets), func(t model.Target) bool { return t.ID == i.ID })
		if len(kept) == len(g.Targets) {
			continue
		}
		g.Targets = kept
		if err := s.putTargetGroup(tx, i.OwnerID, g); err != nil {
			return err
		}
	}
	return nil
}
