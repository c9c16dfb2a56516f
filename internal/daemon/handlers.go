package daemon

import (
	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/awsapi/ec2"
	"github.com/privlink/privlink/internal/awsapi/elbv2"
	"github.com/privlink/privlink/internal/controlplane"
)

// apiHandlers returns the AWS services the daemon serves, by signing name.
// An action of a service's model that privlink does not implement answers
// UnsupportedOperation: an honest AWS error, never a silent success.
func apiHandlers(cp *controlplane.Service) map[string]awsapi.Handler {
	return map[string]awsapi.Handler{
		awsapi.ServiceEC2:   ec2.Handler(cp),
		awsapi.ServiceELBv2: elbv2.Handler(cp),
	}
}
