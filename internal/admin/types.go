package admin

import "time"

// Paths of the admin API.
const (
	pathAccounts = "/v1/accounts"
	pathStatus   = "/v1/status"
	pathConsole  = "/v1/instances/{id}/console"
)

// ConsoleOutput is an instance's console log, as GetConsoleOutput reads it.
type ConsoleOutput struct {
	InstanceID string `json:"instanceId"`
	Output     string `json:"output"`
}

// CreateAccountRequest asks for a new account.
type CreateAccountRequest struct {
	Name string `json:"name,omitempty"`
}

// CreatedAccount is a new account with its first access key. It is the only
// message that carries a secret.
type CreatedAccount struct {
	AccountID       string    `json:"accountId"`
	Name            string    `json:"name,omitempty"`
	AccessKeyID     string    `json:"accessKeyId"`
	SecretAccessKey string    `json:"secretAccessKey"`
	Created         time.Time `json:"created"`
}

// Account is one account with the ids of its access keys, never their
// secrets.
type Account struct {
	AccountID    string    `json:"accountId"`
	Name         string    `json:"name,omitempty"`
	AccessKeyIDs []string  `json:"accessKeyIds"`
	Created      time.Time `json:"created"`
}

// Status describes a running daemon.
type Status struct {
	Region        string   `json:"region"`
	Zones         []string `json:"zones"`
	Listen        string   `json:"listen"` // the bound address of the AWS API
	StoreRevision int64    `json:"storeRevision"`
	Accounts      int      `json:"accounts"`
	Vpcs          int      `json:"vpcs"`
	Subnets       int      `json:"subnets"`
	// Namespaces are the network namespaces the controller manages, as of
	// its last successful pass.
	Namespaces []string `json:"namespaces"`
	// Reconciled reports whether the controller has completed a pass.
	Reconciled bool `json:"reconciled"`
	// LastError is the error of the controller's last pass, if it failed.
	LastError string `json:"lastError,omitempty"`
}

// errorBody is the body of every non-2xx answer.
type errorBody struct {
	Error string `json:"error"`
}
