package controlplane

import (
	"encoding/base64"
	"slices"
	"strings"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// This file holds what the ELBv2 operations share: store keys, lookups by
// ARN and the ELBv2 error codes. ELBv2 resources are keyed by the 16-hex
// suffix of their ARN, under the owner account, like every other resource:
// an ARN naming another account is simply not found.

// ELBv2 error codes the control plane answers with. The awsapi/elbv2
// package has constructors for them too, but the control plane sits below
// it.
const (
	codeValidationError             = "ValidationError"
	codeLoadBalancerNotFound        = "LoadBalancerNotFound"
	codeTargetGroupNotFound         = "TargetGroupNotFound"
	codeListenerNotFound            = "ListenerNotFound"
	codeDuplicateLoadBalancerName   = "DuplicateLoadBalancerName"
	codeDuplicateTargetGroupName    = "DuplicateTargetGroupName"
	codeDuplicateListener           = "DuplicateListener"
	codeInvalidConfigurationRequest = "InvalidConfigurationRequest"
	codeSubnetNotFound              = "SubnetNotFound"
	codeInvalidSubnet               = "InvalidSubnet"
	codeInvalidSecurityGroup        = "InvalidSecurityGroup"
	codeInvalidScheme               = "InvalidScheme"
	codeInvalidTarget               = "InvalidTarget"
	codeIncompatibleProtocols       = "IncompatibleProtocols"
	codeUnsupportedProtocol         = "UnsupportedProtocol"
	codeTargetGroupAssociationLimit = "TargetGroupAssociationLimit"
	codeResourceInUse               = "ResourceInUse"
	codeOperationNotPermitted       = "OperationNotPermitted"
	codeTooManyTags                 = "TooManyTags"
	codeDuplicateTagKeys            = "DuplicateTagKeys"
	codeTooManyTargets              = "TooManyTargets"
	codeTooManyListeners            = "TooManyListeners"
	codeInvalidLoadBalancerAction   = "InvalidLoadBalancerAction"
)

// elbError returns an ELBv2 error (HTTP 400).
func elbError(code, format string, args ...any) *awsapi.Error {
	return awsapi.Errorf(code, format, args...)
}

// validationError is ELBv2's generic bad-input error.
func validationError(format string, args ...any) *awsapi.Error {
	return elbError(codeValidationError, format, args...)
}

func loadBalancerKey(account, id string) string {
	return store.Key(store.KindLoadBalancer, account, id)
}

func targetGroupKey(account, id string) string {
	return store.Key(store.KindTargetGroup, account, id)
}

func listenerKey(account, id string) string { return store.Key(store.KindListener, account, id) }

func targetHealthKey(account, tgID string) string {
	return store.Key(store.KindTargetHealth, account, tgID)
}

// elbARNID returns the store id (the ARN's suffix) of an ARN of kind owned
// by account. ok is false when the ARN is malformed, of another kind, or of
// another account or region: all of these are "not found" to the caller.
func (s *Service) elbARNID(arn, kind, account string) (id string, ok bool) {
	r, ok := model.ParseELBARN(arn)
	if !ok || r.Kind != kind || r.Account != account || r.Region != s.region {
		return "", false
	}
	return r.ID, true
}

// loadLoadBalancer reads the caller's load balancer by ARN, or answers
// LoadBalancerNotFound.
func (s *Service) loadLoadBalancer(tx store.ReadTx, account, arn string) (*model.LoadBalancer, error) {
	if id, ok := s.elbARNID(arn, "loadbalancer", account); ok {
		lb, found, err := getRecord[model.LoadBalancer](tx, loadBalancerKey(account, id))
		if err != nil {
			return nil, err
		}
		if found && lb.ARN == arn {
			return lb, nil
		}
	}
	if _, ok := model.ParseELBARN(arn); !ok {
		return nil, validationError("'%s' is not a valid load balancer ARN", arn)
	}
	return nil, elbError(codeLoadBalancerNotFound, "Load balancers '[%s]' not found", arn)
}

// loadTargetGroup reads the caller's target group by ARN, or answers
// TargetGroupNotFound.
func (s *Service) loadTargetGroup(tx store.ReadTx, account, arn string) (*model.TargetGroup, error) {
	if id, ok := s.elbARNID(arn, "targetgroup", account); ok {
		tg, found, err := getRecord[model.TargetGroup](tx, targetGroupKey(account, id))
		if err != nil {
			return nil, err
		}
		if found && tg.ARN == arn {
			return tg, nil
		}
	}
	if _, ok := model.ParseELBARN(arn); !ok {
		return nil, validationError("'%s' is not a valid target group ARN", arn)
	}
	return nil, elbError(codeTargetGroupNotFound, "Target groups '[%s]' not found", arn)
}

// loadListener reads the caller's listener by ARN, or answers
// ListenerNotFound.
func (s *Service) loadListener(tx store.ReadTx, account, arn string) (*model.Listener, error) {
	if id, ok := s.elbARNID(arn, "listener", account); ok {
		l, found, err := getRecord[model.Listener](tx, listenerKey(account, id))
		if err != nil {
			return nil, err
		}
		if found && l.ARN == arn {
			return l, nil
		}
	}
	if _, ok := model.ParseELBARN(arn); !ok {
		return nil, validationError("'%s' is not a valid listener ARN", arn)
	}
	return nil, elbError(codeListenerNotFound, "Listeners '[%s]' not found", arn)
}

// listLoadBalancers reads every load balancer of account, in key order.
func listLoadBalancers(tx store.ReadTx, account string) ([]*model.LoadBalancer, error) {
	return listRecords[model.LoadBalancer](tx, store.AccountPrefix(store.KindLoadBalancer, account))
}

// listTargetGroups reads every target group of account, in key order.
func listTargetGroups(tx store.ReadTx, account string) ([]*model.TargetGroup, error) {
	return listRecords[model.TargetGroup](tx, store.AccountPrefix(store.KindTargetGroup, account))
}

// listListeners reads every listener of account, in key order.
func listListeners(tx store.ReadTx, account string) ([]*model.Listener, error) {
	return listRecords[model.Listener](tx, store.AccountPrefix(store.KindListener, account))
}

// listenersOf returns the listeners of the load balancer lbARN.
func listenersOf(tx store.ReadTx, account, lbARN string) ([]*model.Listener, error) {
	all, err := listListeners(tx, account)
	if err != nil {
		return nil, err
	}
	var out []*model.Listener
	for _, l := range all {
		if l.LoadBalancerARN == lbARN {
			out = append(out, l)
		}
	}
	return out, nil
}

// targetGroupLoadBalancers returns the ARNs of the load balancers whose
// listeners forward to the target group tgARN, sorted and without repeats.
func targetGroupLoadBalancers(tx store.ReadTx, account, tgARN string) ([]string, error) {
	all, err := listListeners(tx, account)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range all {
		if l.TargetGroupARN == tgARN && !slices.Contains(out, l.LoadBalancerARN) {
			out = append(out, l.LoadBalancerARN)
		}
	}
	slices.Sort(out)
	return out, nil
}

// elbTagsIn validates ELBv2 tags (AddTags, Tags.member.N of the creates):
// at most 50 per resource, no key twice, AWS's key and value lengths.
func elbTagsIn(tags []model.Tag) error {
	if len(tags) > 50 {
		return elbError(codeTooManyTags, "You've reached the limit on the number of tags for this resource")
	}
	seen := map[string]bool{}
	for _, t := range tags {
		if seen[t.Key] {
			return elbError(codeDuplicateTagKeys, "Tag key '%s' is duplicated", t.Key)
		}
		seen[t.Key] = true
		if t.Key == "" || len(t.Key) > 128 {
			return validationError("Tag key '%s' must be between 1 and 128 characters", t.Key)
		}
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return validationError("Tag keys starting with 'aws:' are reserved for internal use")
		}
		if len(t.Value) > 256 {
			return validationError("Tag value for key '%s' must be at most 256 characters", t.Key)
		}
	}
	return nil
}

// targetHealthDescriptions are the text ELBv2 sends with a reason.
var targetHealthDescriptions = map[string]string{
	model.ReasonRegistrationInProgress:   "Target registration is in progress",
	model.ReasonInitialHealthChecking:    "Initial health checks in progress",
	model.ReasonTimeout:                  "Request timed out",
	model.ReasonFailedHealthChecks:       "Health checks failed",
	model.ReasonResponseCodeMismatch:     "Health checks failed with these codes: [%s]",
	model.ReasonNotRegistered:            "Target is not registered to the target group",
	model.ReasonNotInUse:                 "Target group is not configured to receive traffic from the load balancer",
	model.ReasonInvalidState:             "Target is in the stopped state",
	model.ReasonDeregistrationInProgress: "Target deregistration is in progress",
}

// TargetHealthDescription returns the description ELBv2 sends with reason.
func TargetHealthDescription(reason string) string {
	return strings.ReplaceAll(targetHealthDescriptions[reason], " [%s]", "")
}

// codeAllocationIDNotFound is ELBv2's answer for an Elastic IP allocation
// that does not exist; privlink has no Elastic IPs, so every one.
const codeAllocationIDNotFound = "AllocationIdNotFound"

// maxELBPageSize is the largest (and the default) PageSize of the ELBv2
// Describe calls.
const maxELBPageSize = 400

// pageByMarker returns one page of the ELBv2 Describe calls: the items
// (sorted by key, keys unique) after marker, at most pageSize of them (0
// means maxELBPageSize), and the NextMarker ("" on the last page). The
// marker is opaque to the caller: the key of the last item returned, so
// that a page stays right when items before it are deleted between calls.
func pageByMarker[T any](items []T, key func(T) string, marker string, pageSize int32) ([]T, string, error) {
	if pageSize == 0 {
		pageSize = maxELBPageSize
	}
	if pageSize < 1 || pageSize > maxELBPageSize {
		return nil, "", validationError("Page size must be between 1 and %d", maxELBPageSize)
	}
	start := 0
	if marker != "" {
		raw, err := base64.RawURLEncoding.DecodeString(marker)
		if err != nil || len(raw) == 0 {
			return nil, "", validationError("The marker '%s' is not valid", marker)
		}
		after := string(raw)
		start = len(items)
		for i, it := range items {
			if key(it) > after {
				start = i
				break
			}
		}
	}
	end := start + int(pageSize)
	if end >= len(items) {
		return items[start:], "", nil
	}
	return items[start:end], base64.RawURLEncoding.EncodeToString([]byte(key(items[end-1]))), nil
}

// ELBv2 error codes of the target group operations.
const (
	codeTooManyTargetGroups = "TooManyTargetGroups"
)
