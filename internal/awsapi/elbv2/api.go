package elbv2

import (
	"context"
	"errors"
	"strings"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/awsapi/wireconv"
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

// tagsOut converts a resource's tags; the list is always present.
func tagsOut(in []model.Tag) []Tag {
	return wireconv.All(in, func(t model.Tag) Tag { return Tag{Key: new(t.Key), Value: new(t.Value)} })
}
