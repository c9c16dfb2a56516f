package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/admin"
	"github.com/privlink/privlink/internal/config"
	"github.com/privlink/privlink/internal/demo"
	"github.com/privlink/privlink/internal/model"
)

// fakeBackend answers the admin API with fixed data; Status lists
// namespaces, or two VPCs' when it is nil.
type fakeBackend struct {
	lastName   string
	namespaces []string
}

var created = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func (b *fakeBackend) CreateAccount(ctx context.Context, name string) (admin.CreatedAccount, error) {
	b.lastName = name
	return admin.CreatedAccount{AccountID: "123456789012", Name: name, AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", Created: created}, nil
}

func (b *fakeBackend) ListAccounts(ctx context.Context) ([]admin.Account, error) {
	return []admin.Account{
		{AccountID: "000000000000", Name: "default", AccessKeyIDs: []string{"test"}, Created: created},
		{AccountID: "123456789012", AccessKeyIDs: []string{"AKIAIOSFODNN7EXAMPLE"}, Created: created.Add(time.Hour)},
	}, nil
}

func (b *fakeBackend) ConsoleOutput(ctx context.Context, id string) (admin.ConsoleOutput, error) {
	if id != "i-0123456789abcdef0" {
		return admin.ConsoleOutput{}, fmt.Errorf("no instance %s", id)
	}
	return admin.ConsoleOutput{InstanceID: id, Output: "hello from userdata\n"}, nil
}

func (b *fakeBackend) Status(ctx context.Context) (admin.Status, error) {
	if b.namespaces != nil {
		return admin.Status{Namespaces: b.namespaces, Reconciled: true}, nil
	}
	return admin.Status{
		Region: "us-east-1", Zones: []string{"us-east-1a", "us-east-1b"}, Listen: "127.0.0.1:4566",
		StoreRevision: 9, Accounts: 2, Vpcs: 2, Subnets: 3,
		Namespaces: []string{"plk-vpc-0aaaaaaaaaaaaaaaa", "plk-vpc-0bbbbbbbbbbbbbbbb"}, Reconciled: true,
	}, nil
}

// serve runs an admin server for b in a fresh data directory and returns
// the directory.
func serve(t *testing.T, b admin.Backend) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "plkcli")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ln, err := admin.Listen(config.AdminSocket(dir))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- admin.NewServer(ln, b, slog.New(slog.DiscardHandler)).Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return dir
}

// run executes the command line args and returns stdout and the error.
func run(t *testing.T, e env, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e.stdout, e.stderr = &stdout, &stderr
	if e.runDaemon == nil {
		e.runDaemon = func(context.Context, config.Config, *slog.Logger) error { return errors.New("no daemon in this test") }
	}
	if e.stdin == nil {
		e.stdin = strings.NewReader("")
	}
	if e.exit == nil {
		e.exit = func(code int) { t.Errorf("exit(%d), want no exit", code) }
	}
	if e.namespace == nil {
		e.namespace = model.NamespaceName
	}
	if e.runDemo == nil {
		e.runDemo = func(context.Context, demo.Config) error { return errors.New("no demo in this test") }
	}
	root := newRoot(e)
	root.SetArgs(args)
	err := root.ExecuteContext(t.Context())
	if stderr.Len() > 0 {
		t.Logf("stderr: %s", stderr.String())
	}
	return stdout.String(), err
}

func TestAccountsCreate(t *testing.T) {
	b := &fakeBackend{}
	dir := serve(t, b)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{
			name: "json",
			args: []string{"accounts", "create", "--data-dir", dir, "--output", "json"},
			want: `{"AccountId": "123456789012", "AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}` + "\n",
		},
		{
			name: "text without a name",
			args: []string{"accounts", "create", "--data-dir", dir},
			want: `Account ID:        123456789012
Access key ID:     AKIAIOSFODNN7EXAMPLE
Secret access key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY

The secret is shown only now. For the AWS CLI and SDKs, add this to ~/.aws/credentials:

[123456789012]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
`,
		},
		{
			name: "text with a name",
			args: []string{"accounts", "create", "--data-dir", dir, "--name", "team [a]"},
			want: `Account ID:        123456789012
Access key ID:     AKIAIOSFODNN7EXAMPLE
Secret access key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY

The secret is shown only now. For the AWS CLI and SDKs, add this to ~/.aws/credentials:

[team-a]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := run(t, env{}, tt.args...)
			if err != nil {
				t.Fatalf("run(%q) error = %v", tt.args, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("output mismatch (-want +got):\n%s", diff)
			}
		})
	}
	if b.lastName != "team [a]" {
		t.Errorf("backend got name %q, want %q", b.lastName, "team [a]")
	}
}

func TestAccountsList(t *testing.T) {
	dir := serve(t, &fakeBackend{})
	tests := []struct {
		name string
		args []string
		want string
	}{
		{
			name: "text",
			args: []string{"accounts", "list", "--data-dir", dir},
			want: `ACCOUNT ID    NAME     ACCESS KEY IDS        CREATED
000000000000  default  test                  2025-06-01T12:00:00Z
123456789012  -        AKIAIOSFODNN7EXAMPLE  2025-06-01T13:00:00Z
`,
		},
		{
			name: "json",
			args: []string{"accounts", "list", "--data-dir", dir, "-o", "json"},
			want: `{
    "Accounts": [
        {
            "AccountId": "000000000000",
            "Name": "default",
            "AccessKeyIds": [
                "test"
            ],
            "Created": "2025-06-01T12:00:00Z"
        },
        {
            "AccountId": "123456789012",
            "Name": "",
            "AccessKeyIds": [
                "AKIAIOSFODNN7EXAMPLE"
            ],
            "Created": "2025-06-01T13:00:00Z"
        }
    ]
}
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := run(t, env{}, tt.args...)
			if err != nil {
				t.Fatalf("run(%q) error = %v", tt.args, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("output mismatch (-want +got):\n%s", diff)
			}
			if strings.Contains(got, "Secret") || strings.Contains(got, "EXAMPLEKEY") {
				t.Errorf("accounts list shows a secret:\n%s", got)
			}
		})
	}
}

func TestStatus(t *testing.T) {
	dir := serve(t, &fakeBackend{})
	got, err := run(t, env{}, "status", "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	want := `Region:           us-east-1
Zones:            us-east-1a, us-east-1b
API endpoint:     http://127.0.0.1:4566
Store revision:   9
Accounts:         2
VPCs:             2
Subnets:          3
Reconciled:       yes
Namespaces:       plk-vpc-0aaaaaaaaaaaaaaaa
                  plk-vpc-0bbbbbbbbbbbbbbbb
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status mismatch (-want +got):\n%s", diff)
	}
}

func TestConsoleOutput(t *testing.T) {
	dir := serve(t, &fakeBackend{})
	tests := []struct {
		args    []string
		want    string
		wantErr string
	}{
		{args: []string{"console-output", "i-0123456789abcdef0", "--data-dir", dir}, want: "hello from userdata\n"},
		{args: []string{"console-output", "i-0123456789abcdef1", "--data-dir", dir}, wantErr: "no instance i-0123456789abcdef1"},
		{args: []string{"console-output", "vpc-0123456789abcdef0", "--data-dir", dir}, wantErr: "invalid instance id"},
	}
	for _, tt := range tests {
		got, err := run(t, env{}, tt.args...)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%v: error %v, want one containing %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v: %v", tt.args, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%v mismatch (-want +got):\n%s", tt.args, diff)
		}
	}
}

func TestClientErrors(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "admin.sock")
	notRunning := "cannot reach privlink daemon at " + sock + ": is `privlink server` running?"
	other := serve(t, &fakeBackend{}) // a daemon whose namespaces are VPCs only
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"accounts", "create", "--data-dir", dir}, notRunning},
		{[]string{"accounts", "list", "--data-dir", dir}, notRunning},
		{[]string{"status", "--data-dir", dir}, notRunning},
		{[]string{"accounts", "list", "--data-dir", dir, "--output", "yaml"}, `--output "yaml": want text or json`},
		{[]string{"exec", "i-0123", "--", "true"}, `exec: "i-0123" is not an instance id (i- and 8 or 17 hex digits)`},
		{[]string{"exec", "vpc-01234567", "--", "true"}, `exec: "vpc-01234567" is not an instance id (i- and 8 or 17 hex digits)`},
		{[]string{"exec", "i-0123456789abcdef0"}, "exec: no command to run: privlink exec i-0123456789abcdef0 -- COMMAND [ARG...]"},
		{[]string{"exec", "i-0123456789abcdef0", "--"}, "exec: no command to run: privlink exec i-0123456789abcdef0 -- COMMAND [ARG...]"},
		{[]string{"exec"}, "requires at least 1 arg(s), only received 0"},
		{[]string{"exec", "i-0123456789abcdef0", "--", "true"}, "instance i-0123456789abcdef0 has no namespace: is it running?"},
		{[]string{"exec", "--data-dir", dir, "i-0123456789abcdef0", "--", "true"}, notRunning},
		{[]string{"exec", "--data-dir", other, "i-0123456789abcdef0", "--", "true"}, "instance i-0123456789abcdef0 is not running on the daemon in " + other},
	}
	for _, tt := range tests {
		out, err := run(t, env{}, tt.args...)
		if err == nil || err.Error() != tt.wantErr {
			t.Errorf("run(%q) error = %v, want %q", tt.args, err, tt.wantErr)
		}
		if out != "" {
			t.Errorf("run(%q) printed %q on stdout, want nothing", tt.args, out)
		}
	}
}

func TestServerConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "privlink.json")
	if err := os.WriteFile(file, []byte(`{"listen": "127.0.0.1:5000", "region": "eu-west-1", "zones": ["a", "b"], "logFormat": "json"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		want    func() config.Config
		wantErr string
	}{
		{
			name: "defaults",
			args: nil,
			want: config.Default,
		},
		{
			name: "flags",
			args: []string{"--listen", "0.0.0.0:4567", "--data-dir", "/srv/plk", "--region", "us-west-2", "--zones", "a,us-west-2c", "--log-level", "debug", "--log-format", "json",
				"--verification-resolver", "10.0.0.2:53"},
			want: func() config.Config {
				return config.Config{Listen: "0.0.0.0:4567", DataDir: "/srv/plk", Region: "us-west-2", Zones: []string{"a", "us-west-2c"}, LogLevel: "debug", LogFormat: "json",
					VerificationResolver: "10.0.0.2:53"}
			},
		},
		{
			name: "file",
			args: []string{"--config", file},
			want: func() config.Config {
				c := config.Default()
				c.Listen, c.Region, c.Zones, c.LogFormat = "127.0.0.1:5000", "eu-west-1", []string{"a", "b"}, "json"
				return c
			},
		},
		{
			name: "flags override the file",
			args: []string{"--config", file, "--listen", "127.0.0.1:6000", "--zones", "c"},
			want: func() config.Config {
				c := config.Default()
				c.Listen, c.Region, c.Zones, c.LogFormat = "127.0.0.1:6000", "eu-west-1", []string{"c"}, "json"
				return c
			},
		},
		{name: "bad level", args: []string{"--log-level", "loud"}, wantErr: `config: log level "loud"`},
		{name: "bad zone", args: []string{"--zones", "us-west-2a"}, wantErr: "config: zone"},
		{name: "bad verification resolver", args: []string{"--verification-resolver", "10.0.0.2"}, wantErr: `config: verification resolver "10.0.0.2"`},
		{name: "missing file", args: []string{"--config", filepath.Join(dir, "nope.json")}, wantErr: "load config"},
		{name: "argument", args: []string{"extra"}, wantErr: `unknown command "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *config.Config
			e := env{runDaemon: func(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
				got = &cfg
				if logger == nil {
					t.Error("nil logger")
				}
				return nil
			}}
			_, err := run(t, e, append([]string{"server"}, tt.args...)...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("server error = %v, want one containing %q", err, tt.wantErr)
				}
				if got != nil {
					t.Error("the daemon ran despite the error")
				}
				return
			}
			if err != nil {
				t.Fatalf("server error = %v", err)
			}
			if got == nil {
				t.Fatal("the daemon did not run")
			}
			if diff := cmp.Diff(tt.want(), *got); diff != "" {
				t.Errorf("config mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestServerDaemonError(t *testing.T) {
	e := env{runDaemon: func(context.Context, config.Config, *slog.Logger) error { return errors.New("listen: address in use") }}
	if _, err := run(t, e, "server"); err == nil || err.Error() != "listen: address in use" {
		t.Errorf("server error = %v, want the daemon's error", err)
	}
}
