package elbv2

import (
	"context"
	"errors"
	"strings"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/controlplane"
	"github.com/privlink/privlink/internal/model"
)

// API serves privlink's ELBv2 actions. Each action is one method (in the
// file of its resource kind) that turns the generated input into
// control-plane parameters, calls the control plane with the caller's
// account and turns the result into the generated output. Business rules
// live in the control plane only.
type API struct {
	cp *controlplane.Service
}

// NewAPI returns the ELBv2 actions over cp.
func NewAPI(cp *controlplane.Service) *API { return &API{cp: cp} }

// Handler returns the awsapi.Handler of the ELBv2 service over cp.
func Handler(cp *controlplane.Service) awsapi.Handler {
	return validationErrors{NewHandler(NewAPI(cp))}
}

// validationErrors answers a missing parameter or a value outside its type
// or range as ELBv2 does, with ValidationError. The generated decoder is
// shared with EC2, which answers MissingParameter and
// InvalidParameterValue.
type validationErrors struct{ next awsapi.Handler }

func (v validationErrors) Handle(ctx context.Context, req *awsapi.Request) (awsapi.Response, error) {
	resp, err := v.next.Handle(ctx, req)
	var ae *awsapi.Error
	if err == nil || !errors.As(err, &ae) {
		return resp, err
	}
	switch ae.Code {
	case "MissingParameter":
		name := strings.TrimPrefix(ae.Message, "The request must contain the parameter ")
		return nil, awsapi.Errorf("ValidationError",
			"1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", lowerFirst(name))
	case "InvalidParameterValue":
		return nil, awsapi.Errorf("ValidationError", "%s", ae.Message)
	}
	return resp, err
}

// lowerFirst spells a parameter as ELBv2's messages do: "name", not "Name".
func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// ptr returns a pointer to v, for the optional fields of outputs.
func ptr[T any](v T) *T { return &v }

// deref returns *p, or the zero value for nil.
func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// optStr returns a pointer to s, or nil for "" (an absent output field).
func optStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// tagsIn converts Tags.member.N. A tag without a value has the value "".
func tagsIn(in []Tag) []model.Tag {
	if len(in) == 0 {
		return nil
	}
	out := make([]model.Tag, 0, len(in))
	for _, t := range in {
		out = append(out, model.Tag{Key: deref(t.Key), Value: deref(t.Value)})
	}
	return out
}

// tagsOut converts a resource's tags; the list is always present.
func tagsOut(in []model.Tag) []Tag {
	out := make([]Tag, 0, len(in))
	for _, t := range in {
		out = append(out, Tag{Key: ptr(t.Key), Value: ptr(t.Value)})
	}
	return out
}
