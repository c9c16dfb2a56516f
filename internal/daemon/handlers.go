package daemon

import (
	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/awsapi/ec2"
	"github.com/privlink/privlink/internal/controlplane"
)

// apiHandlers returns the AWS services the daemon serves, by signing name.
// ELBv2 comes with a later issue: until then a request signed for it is
// refused by the front with an AWS error.
func apiHandlers(cp *controlplane.Service) map[string]awsapi.Handler {
	return map[string]awsapi.Handler{
		awsapi.ServiceEC2: ec2.Handler(cp),
	}
}
