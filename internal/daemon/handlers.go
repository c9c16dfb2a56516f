package daemon

import (
	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/awsapi/ec2"
	"github.com/privlink/privlink/internal/awsapi/elbv2"
	"github.com/privlink/privlink/internal/controlplane"
)

// notBuilt implements no action. Served as a handler, it answers every
// action of the service's model with UnsupportedOperation ("not yet
// supported by privlink") and any other action with InvalidAction: an honest
// AWS error instead of a misleading signing error or a silent success.
type notBuilt struct{}

// apiHandlers returns the AWS services the daemon serves, by signing name.
// ELBv2 is issue 4: until its actions exist, they are refused one by one.
func apiHandlers(cp *controlplane.Service) map[string]awsapi.Handler {
	return map[string]awsapi.Handler{
		awsapi.ServiceEC2:   ec2.Handler(cp),
		awsapi.ServiceELBv2: elbv2.NewHandler(notBuilt{}),
	}
}
