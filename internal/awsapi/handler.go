package awsapi

import "context"

// Caller is the authenticated principal of a request.
type Caller struct {
	AccountID   string
	AccessKeyID string
}

// Request is one decoded API call, handed to a service's Handler after
// SigV4 verification.
type Request struct {
	Service   string // "ec2" or "elasticloadbalancing", from the credential scope
	Action    string
	Params    Params // every parameter except Action, Version and X-Amz-* auth fields
	Caller    Caller
	RequestID string
	Region    string
}

// Response is an encodable answer. Generated output types implement it:
// MarshalResponse writes the complete XML document (declaration, root
// element with namespace, request id) for the service's protocol.
type Response interface {
	MarshalResponse(requestID string) ([]byte, error)
}

// Handler serves the actions of one AWS service. It returns a *Error (or an
// error wrapping one) for AWS errors; any other error becomes InternalError.
// An action the service does not have must yield ErrInvalidAction(action);
// one the service has but privlink does not build, UnsupportedOperation.
type Handler interface {
	Handle(ctx context.Context, req *Request) (Response, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, req *Request) (Response, error)

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, req *Request) (Response, error) { return f(ctx, req) }

// ErrInvalidAction is the answer to an action the service does not have.
func ErrInvalidAction(action string) *Error {
	return Errorf("InvalidAction", "The action %s is not valid for this web service.", action)
}

// Credentials resolves access keys for SigV4 verification.
type Credentials interface {
	// LookupAccessKey returns the owning account and the secret of an access
	// key. found is false for an unknown key (→ AuthFailure).
	LookupAccessKey(ctx context.Context, accessKeyID string) (accountID, secret string, found bool, err error)
}
