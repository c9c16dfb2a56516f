package e2e_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/privlink/privlink/test/e2e"
)

// TestPrivilegedAWSCLI drives the daemon with the clients users have: the AWS
// CLI (testdata/cli_smoke.sh) and boto3, each with an account of its own.
// Either part skips with a message when its client is not installed.
func TestPrivilegedAWSCLI(t *testing.T) {
	env := e2e.New(t)
	cliAcct := env.Account("awscli")
	botoAcct := env.Account("boto3")

	t.Run("aws", func(t *testing.T) {
		if _, err := exec.LookPath("aws"); err != nil {
			t.Skip("the AWS CLI (aws) is not on PATH; skipping testdata/cli_smoke.sh")
		}
		cmd := exec.CommandContext(t.Context(), "bash", "testdata/cli_smoke.sh")
		cmd.Env = clientEnv(env, cliAcct)
		out, err := cmd.CombinedOutput()
		t.Logf("cli_smoke.sh:\n%s", out)
		if err != nil {
			t.Fatalf("cli_smoke.sh: %v", err)
		}
	})

	t.Run("boto3", func(t *testing.T) {
		if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
			t.Skip("python3 with boto3 is not installed; skipping the boto3 check")
		}
		cmd := exec.CommandContext(t.Context(), "python3", "-c", boto3Script)
		cmd.Env = clientEnv(env, botoAcct)
		out, err := cmd.CombinedOutput()
		t.Logf("boto3:\n%s", out)
		if err != nil {
			t.Fatalf("boto3 check: %v", err)
		}
	})
}

// boto3Script creates a VPC, finds it by tag, checks the not-found error
// code of a deleted one, and cleans up.
const boto3Script = `
import os, boto3, botocore.exceptions
ec2 = boto3.client("ec2", endpoint_url=os.environ["PRIVLINK_ENDPOINT"])
vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16",
    TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "boto3"}]}])["Vpc"]["VpcId"]
got = [v["VpcId"] for v in ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["boto3"]}])["Vpcs"]]
assert got == [vpc], got
ec2.delete_vpc(VpcId=vpc)
try:
    ec2.describe_vpcs(VpcIds=[vpc])
    raise SystemExit("describe_vpcs of a deleted VPC succeeded")
except botocore.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "InvalidVpcID.NotFound", e.response
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400, e.response
print("PASS", vpc)
`

// clientEnv is the environment for an AWS client process: the account's
// keys, the region, the endpoint, and no trace of the caller's own AWS
// configuration.
func clientEnv(env *e2e.Env, acct *e2e.Account) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			out = append(out, kv)
		}
	}
	return append(out,
		"PRIVLINK_ENDPOINT="+env.URL(),
		"AWS_ACCESS_KEY_ID="+acct.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY="+acct.SecretAccessKey,
		"AWS_DEFAULT_REGION="+e2e.Region,
		"AWS_CONFIG_FILE="+os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE="+os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=",
	)
}
