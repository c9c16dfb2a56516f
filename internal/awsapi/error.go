package awsapi

import (
	"fmt"
	"net/http"
)

// Error is the one AWS error type. Handlers and the control plane return it;
// the front turns it into the EC2 or query (ELBv2) XML envelope in exactly one
// place (see errorResponse in xmlerror.go).
type Error struct {
	Code    string // e.g. "InvalidVpcID.NotFound"
	Message string
	Status  int // HTTP status; 0 means 400
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// HTTPStatus returns the status to send, defaulting to 400.
func (e *Error) HTTPStatus() int {
	if e.Status == 0 {
		return http.StatusBadRequest
	}
	return e.Status
}

// Errorf builds a 400 error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

// Common errors shared by both services.
func ErrMissingParameter(name string) *Error {
	return Errorf("MissingParameter", "The request must contain the parameter %s", name)
}

// ErrInvalidParameterValue reports a value that is malformed or out of range.
func ErrInvalidParameterValue(format string, args ...any) *Error {
	return Errorf("InvalidParameterValue", format, args...)
}

// ErrDryRun is the answer to a request with DryRun=true that would have
// succeeded.
func ErrDryRun() *Error {
	return &Error{Code: "DryRunOperation", Message: "Request would have succeeded, but DryRun flag is set.", Status: http.StatusPreconditionFailed}
}

// ErrInternal is what a panic or an unexpected error becomes.
func ErrInternal() *Error {
	return &Error{Code: "InternalError", Message: "An internal error has occurred", Status: http.StatusInternalServerError}
}
