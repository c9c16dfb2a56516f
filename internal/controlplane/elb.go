package controlplane

import (
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

// unsupportedAttrValue refuses a valid value of an attribute that privlink
// accepts but does not act on yet, rather than store a setting it would
// ignore; def is the value privlink behaves as.
func unsupportedAttrValue(key, value, def string) *awsapi.Error {
	return validationError("privlink does not support the value '%s' of attribute '%s' yet; only '%s' is supported", value, key, def)
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

// The NotFound messages of ELBv2 resources named by ARN: %s is one ARN, or
// every missing one of a list, joined by ", ".
const (
	msgLoadBalancersNotFound = "Load balancers '[%s]' not found"
	msgTargetGroupsNotFound  = "Target groups '[%s]' not found"
	msgListenersNotFound     = "Listeners '[%s]' not found"
)

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
	return nil, elbError(codeLoadBalancerNotFound, msgLoadBalancersNotFound, arn)
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
	return nil, elbError(codeTargetGroupNotFound, msgTargetGroupsNotFound, arn)
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
	return nil, elbError(codeListenerNotFound, msgListenersNotFound, arn)
}

// loadEach reads the resources named by arns (repeats dropped) with load,
// in order. Every ARN that load answers with the NotFound error code is
// named in one answer, as ELBv2 does: code with the message notFound.
func loadEach[T any](arns []string, load func(arn string) (*T, error), code, notFound string) ([]*T, error) {
	var out []*T
	var missing []string
	for _, arn := range dedupe(arns) {
		v, err := load(arn)
		if isELBError(err, code) {
			missing = append(missing, arn)
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if len(missing) > 0 {
		return nil, elbError(code, notFound, strings.Join(missing, ", "))
	}
	return out, nil
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

// elbNameChars reports whether name has only the characters ELBv2 allows
// in the names of load balancers and target groups: ASCII letters, digits
// and '-'. Each kind answers a bad name with its own message.
func elbNameChars(name string) bool {
	for _, c := range name {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
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

// ELBv2 error codes of the target group operations.
const (
	codeTooManyTargetGroups = "TooManyTargetGroups"
)
