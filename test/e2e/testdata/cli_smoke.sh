#!/usr/bin/env bash
# Smoke test of privlink with the AWS CLI (v1 or v2), run by
# TestPrivilegedAWSCLI. Standalone:
#
#   PRIVLINK_ENDPOINT=http://127.0.0.1:4566 AWS_ACCESS_KEY_ID=test \
#   AWS_SECRET_ACCESS_KEY=test bash test/e2e/testdata/cli_smoke.sh
#
# Every step asserts its output through --query/--output text. It deletes what
# it creates; if it fails half-way, the Go harness deletes the rest.
set -euo pipefail

: "${PRIVLINK_ENDPOINT:?set PRIVLINK_ENDPOINT to the daemon URL}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}" AWS_PAGER=""

ec2() { aws --endpoint-url "$PRIVLINK_ENDPOINT" --output text ec2 "$@"; }

# expect WHAT WANT GOT
expect() {
  if [[ "$2" != "$3" ]]; then
    printf 'FAIL: %s\n  want: %q\n  got:  %q\n' "$1" "$2" "$3" >&2
    exit 1
  fi
  printf 'ok: %s\n' "$1"
}
tab=$'\t'

vpc=$(ec2 create-vpc --cidr-block 10.20.0.0/16 \
  --tag-specifications 'ResourceType=vpc,Tags=[{Key=Name,Value=cli-smoke}]' --query Vpc.VpcId)
[[ "$vpc" =~ ^vpc-[0-9a-f]{17}$ ]] || { echo "FAIL: create-vpc returned id '$vpc'" >&2; exit 1; }
echo "ok: create-vpc $vpc"

subnet=$(ec2 create-subnet --vpc-id "$vpc" --cidr-block 10.20.1.0/24 --availability-zone us-east-1a \
  --query 'Subnet.[SubnetId,CidrBlock,AvailabilityZone,AvailableIpAddressCount]')
expect "create-subnet" "10.20.1.0/24${tab}us-east-1a${tab}251" "$(cut -f2- <<<"$subnet")"
subnet=$(cut -f1 <<<"$subnet")

expect "describe-vpcs --filters tag:Name,cidr" "$vpc${tab}10.20.0.0/16" \
  "$(ec2 describe-vpcs --filters Name=tag:Name,Values=cli-smoke Name=cidr,Values=10.20.0.0/16 \
      --query 'Vpcs[].[VpcId,CidrBlock]')"

ec2 create-tags --resources "$vpc" "$subnet" --tags Key=team,Value=cli
expect "describe-tags --filters key" "subnet${tab}cli
vpc${tab}cli" \
  "$(ec2 describe-tags --filters Name=key,Values=team --query 'sort_by(Tags,&ResourceType)[].[ResourceType,Value]')"

sg=$(ec2 create-security-group --group-name cli-web --description "cli smoke" --vpc-id "$vpc" --query GroupId)
ec2 authorize-security-group-ingress --group-id "$sg" --protocol tcp --port 443 --cidr 10.0.0.0/8 >/dev/null
expect "describe-security-groups" "cli-web${tab}tcp${tab}443${tab}443${tab}10.0.0.0/8" \
  "$(ec2 describe-security-groups --group-ids "$sg" \
      --query 'SecurityGroups[0].[GroupName,IpPermissions[0].IpProtocol,IpPermissions[0].FromPort,IpPermissions[0].ToPort,IpPermissions[0].IpRanges[0].CidrIp]')"

acl=$(ec2 create-network-acl --vpc-id "$vpc" --query NetworkAcl.NetworkAclId)
ec2 create-network-acl-entry --network-acl-id "$acl" --ingress --rule-number 100 --protocol tcp \
  --port-range From=443,To=443 --cidr-block 0.0.0.0/0 --rule-action allow
expect "describe-network-acls --filters vpc-id,default" "$acl" \
  "$(ec2 describe-network-acls --filters Name=vpc-id,Values="$vpc" Name=default,Values=false \
      --query 'NetworkAcls[].NetworkAclId')"
expect "describe-network-acls entry" "100${tab}6${tab}allow${tab}0.0.0.0/0${tab}443" \
  "$(ec2 describe-network-acls --network-acl-ids "$acl" \
      --query 'NetworkAcls[0].Entries[?RuleNumber==`100` && !Egress].[RuleNumber,Protocol,RuleAction,CidrBlock,PortRange.From]')"

ec2 delete-network-acl --network-acl-id "$acl"
ec2 delete-security-group --group-id "$sg" >/dev/null
ec2 delete-subnet --subnet-id "$subnet"
ec2 delete-vpc --vpc-id "$vpc"
expect "describe-vpcs after delete-vpc" "0" \
  "$(ec2 describe-vpcs --filters Name=vpc-id,Values="$vpc" --query 'length(Vpcs)')"

if err=$(ec2 describe-vpcs --vpc-ids "$vpc" 2>&1); then
  echo "FAIL: describe-vpcs of the deleted $vpc succeeded: $err" >&2
  exit 1
fi
[[ "$err" == *InvalidVpcID.NotFound* ]] || { echo "FAIL: describe-vpcs of the deleted $vpc: $err" >&2; exit 1; }
echo "ok: describe-vpcs of the deleted VPC fails with InvalidVpcID.NotFound"
echo PASS
