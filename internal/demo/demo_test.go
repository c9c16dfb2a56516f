package demo

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCommandPrinting(t *testing.T) {
	const ep = "http://127.0.0.1:4566"
	tests := []struct {
		name string
		run  func(p *printer)
		want string
	}{
		{
			name: "short",
			run:  func(p *printer) { p.aws("provider", "ec2", "describe-vpcs") },
			want: "\n$ aws ec2 describe-vpcs --profile provider --endpoint-url http://127.0.0.1:4566\n",
		},
		{
			name: "wrapped between options, never inside one or between --profile and --endpoint-url",
			run: func(p *printer) {
				p.aws("consumer", "ec2", "create-vpc-endpoint", "--vpc-id", "vpc-0123456789abcdef0", "--vpc-endpoint-type", "Interface",
					"--subnet-ids", "subnet-0123456789abcdef0", "subnet-0123456789abcdef1", "--no-private-dns-enabled")
			},
			want: "\n$ aws ec2 create-vpc-endpoint --vpc-id vpc-0123456789abcdef0 --vpc-endpoint-type Interface \\\n" +
				"    --subnet-ids subnet-0123456789abcdef0 subnet-0123456789abcdef1 --no-private-dns-enabled \\\n" +
				"    --profile consumer --endpoint-url http://127.0.0.1:4566\n",
		},
		{
			name: "quoting",
			run: func(p *printer) {
				p.cmd("aws", "ec2", "create-security-group", "--description", "it's a group", "--tag", "ResourceType=vpc,Tags=[{Key=Name,Value=x}]", "--empty", "")
			},
			want: "\n$ aws ec2 create-security-group --description 'it'\\''s a group' \\\n" +
				"    --tag 'ResourceType=vpc,Tags=[{Key=Name,Value=x}]' --empty ''\n",
		},
		{
			name: "result and output",
			run: func(p *printer) {
				p.result("VpcId", "vpc-1", "State", "pending")
				p.output("line 1\nline 2\n")
				p.output("")
			},
			want: "  → VpcId: vpc-1   State: pending\n  | line 1\n  | line 2\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			tt.run(&printer{w: &b, endpoint: ep})
			if diff := cmp.Diff(tt.want, b.String()); diff != "" {
				t.Errorf("printed mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDialable(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:4566": "127.0.0.1:4566",
		"0.0.0.0:4566":   "127.0.0.1:4566",
		":4566":          "127.0.0.1:4566",
		"[::]:4566":      "[::1]:4566",
		"10.1.2.3:80":    "10.1.2.3:80",
	} {
		if got := dialable(in); got != want {
			t.Errorf("dialable(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestFindRunningNone: with no daemon in the data directory and no
// --endpoint-url, the demo starts its own.
func TestFindRunningNone(t *testing.T) {
	got, err := findRunning(t.Context(), Config{DataDir: t.TempDir()})
	if got != nil || err != nil {
		t.Errorf("findRunning(empty data dir) = %+v, %v; want nil, nil", got, err)
	}
}
