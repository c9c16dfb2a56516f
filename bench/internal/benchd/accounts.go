package benchd

import (
	"context"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/privlink/privlink/internal/admin"
	"github.com/privlink/privlink/internal/config"
)

// Account is an account of the daemon with an EC2 client that signs with
// its access key. The resources its helpers create are undone by the
// daemon's Close, like the bootstrap account's.
type Account struct {
	// ID is the 12-digit account id.
	ID string
	// EC2 is a client for the daemon as this account: us-east-1, retries
	// off.
	EC2 *ec2.Client

	d *Daemon
	// endpoints are the ids of the account's VPC endpoints that Close is
	// to delete (guarded by d.mu).
	endpoints map[string]bool
}

// Principal is the account's root ARN, as endpoint service permissions
// name it.
func (a *Account) Principal() string { return "arn:aws:iam::" + a.ID + ":root" }

func (d *Daemon) newAccount(id, key, secret string) *Account {
	return &Account{
		ID: id,
		EC2: ec2.New(ec2.Options{
			Region:       "us-east-1",
			BaseEndpoint: aws.String(d.URL),
			Credentials:  credentials.NewStaticCredentialsProvider(key, secret, ""),
			Retryer:      aws.NopRetryer{},
			HTTPClient:   d.httpClient(),
		}),
		d: d,
	}
}

// httpClient is the HTTP client of every SDK client of the daemon: one
// transport, whose idle connections StartAgain drops.
func (d *Daemon) httpClient() *http.Client {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.transport == nil {
		d.transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	return &http.Client{Transport: d.transport}
}

// CreateAccount creates an account through the daemon's admin socket (as
// `privlink accounts create` does) and returns it with a client. Accounts
// cannot be deleted; they go with the data dir.
func (d *Daemon) CreateAccount(ctx context.Context, name string) (*Account, error) {
	created, err := admin.NewClient(config.AdminSocket(d.DataDir)).CreateAccount(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("create account %s: %w", name, err)
	}
	return d.newAccount(created.AccountID, created.AccessKeyID, created.SecretAccessKey), nil
}
