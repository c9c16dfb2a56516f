package ec2

import (
	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/controlplane"
)

// API serves privlink's EC2 actions. Each action is one method (in the file
// of its resource kind) that decodes nothing by hand: it turns the generated
// input into control-plane parameters, calls the control plane with the
// caller's account and turns the result into the generated output. Business
// rules live in the control plane only.
type API struct {
	cp *controlplane.Service
}

// NewAPI returns the EC2 actions over cp.
func NewAPI(cp *controlplane.Service) *API { return &API{cp: cp} }

// Handler returns the awsapi.Handler of the EC2 service over cp.
func Handler(cp *controlplane.Service) awsapi.Handler { return NewHandler(NewAPI(cp)) }
