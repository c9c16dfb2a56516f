package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/privlink/privlink/internal/admin"
	"github.com/privlink/privlink/internal/config"
)

// clientFlags are the flags of every command that talks to a daemon.
type clientFlags struct {
	dataDir string
	output  string
}

func (f *clientFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.dataDir, "data-dir", config.DefaultDataDir, "data directory of the daemon, where its admin socket is")
	cmd.Flags().StringVarP(&f.output, "output", "o", "text", "output format: text or json")
}

// client checks the flags and returns a client for the daemon's socket.
func (f *clientFlags) client() (*admin.Client, error) {
	if f.output != "text" && f.output != "json" {
		return nil, fmt.Errorf("--output %q: want text or json", f.output)
	}
	return admin.NewClient(config.AdminSocket(f.dataDir)), nil
}

func newAccountsCmd(e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "accounts",
		Short: "Manage the accounts of a running daemon",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newAccountsCreateCmd(e), newAccountsListCmd(e))
	return cmd
}

func newAccountsCreateCmd(e env) *cobra.Command {
	var f clientFlags
	var name string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create an account with an access key, and print the key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			acct, err := c.CreateAccount(cmd.Context(), name)
			if err != nil {
				return err
			}
			if f.output == "json" {
				return writeCreatedJSON(e.stdout, acct)
			}
			return writeCreatedText(e.stdout, acct)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&name, "name", "", "a name for the account; also names the credentials profile")
	return cmd
}

// writeCreatedJSON prints exactly one JSON object with the new credentials,
// in the shape of the AWS CLI's own output.
func writeCreatedJSON(w io.Writer, a admin.CreatedAccount) error {
	_, err := fmt.Fprintf(w, "{\"AccountId\": %s, \"AccessKeyId\": %s, \"SecretAccessKey\": %s}\n",
		jsonString(a.AccountID), jsonString(a.AccessKeyID), jsonString(a.SecretAccessKey))
	return err
}

func jsonString(s string) string {
	b, _ := json.Marshal(s) // a string always encodes
	return string(b)
}

func writeCreatedText(w io.Writer, a admin.CreatedAccount) error {
	profile := profileName(a)
	_, err := fmt.Fprintf(w, `Account ID:        %s
Access key ID:     %s
Secret access key: %s

The secret is shown only now. For the AWS CLI and SDKs, add this to ~/.aws/credentials:

[%s]
aws_access_key_id = %s
aws_secret_access_key = %s
`, a.AccountID, a.AccessKeyID, a.SecretAccessKey, profile, a.AccessKeyID, a.SecretAccessKey)
	return err
}

var profileUnsafe = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// profileName names the credentials profile after the account's name, made
// safe for an INI section, or else after its id.
func profileName(a admin.CreatedAccount) string {
	if p := strings.Trim(profileUnsafe.ReplaceAllString(a.Name, "-"), "-"); p != "" {
		return p
	}
	return a.AccountID
}

func newAccountsListCmd(e env) *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List accounts and their access key ids (never secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			accts, err := c.ListAccounts(cmd.Context())
			if err != nil {
				return err
			}
			if f.output == "json" {
				return writeAccountsJSON(e.stdout, accts)
			}
			return writeAccountsText(e.stdout, accts)
		},
	}
	f.register(cmd)
	return cmd
}

// accountJSON is one account in `accounts list --output json`.
type accountJSON struct {
	AccountId    string
	Name         string
	AccessKeyIds []string
	Created      time.Time
}

func writeAccountsJSON(w io.Writer, accts []admin.Account) error {
	out := struct{ Accounts []accountJSON }{Accounts: make([]accountJSON, len(accts))}
	for i, a := range accts {
		keys := a.AccessKeyIDs
		if keys == nil {
			keys = []string{}
		}
		out.Accounts[i] = accountJSON{AccountId: a.AccountID, Name: a.Name, AccessKeyIds: keys, Created: a.Created.UTC()}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "    ")
	return enc.Encode(out)
}

func writeAccountsText(w io.Writer, accts []admin.Account) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT ID\tNAME\tACCESS KEY IDS\tCREATED")
	for _, a := range accts {
		name := a.Name
		if name == "" {
			name = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.AccountID, name, strings.Join(a.AccessKeyIDs, ","), a.Created.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}
