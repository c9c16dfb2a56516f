#!/usr/bin/env python3
"""Test vectors for the generated wire code, made with botocore itself.

Run from anywhere (needs botocore; Go tests never run this script):

    python3 internal/awsapi/gen/testdata/gen_vectors.py

1. Requests: serializes representative inputs with botocore's EC2Serializer
   and QuerySerializer and writes, per service,
   internal/awsapi/<pkg>/testdata/botocore_requests.json: the input as given
   to botocore and the flattened parameters botocore sends (without Action
   and Version). The Go tests decode the parameters and compare the result
   with the input.
2. Responses: parses every golden response internal/awsapi/<pkg>/testdata/
   golden/<Operation>[-variant].xml (written by the Go encoder with
   `go test ./internal/awsapi/<pkg> -run TestWireGolden -update`) with botocore's
   EC2QueryParser / QueryParser and writes what botocore makes of it to
   internal/awsapi/<pkg>/testdata/botocore_responses.json. The Go tests
   compare that with the values they encoded.

So after changing the generator: go test -update, run this script, go test.
"""

import datetime
import json
import os
import sys

import botocore
import botocore.parsers
import botocore.serialize
import botocore.session

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))

EC2_REQUESTS = [
    ('CreateVpc', 'tags', {
        'CidrBlock': '10.0.0.0/16',
        'AmazonProvidedIpv6CidrBlock': False,
        'InstanceTenancy': 'default',
        'DryRun': True,
        'TagSpecifications': [{
            'ResourceType': 'vpc',
            'Tags': [{'Key': 'Name', 'Value': 'main'}, {'Key': 'env', 'Value': 'dev & <test>'}],
        }],
    }),
    ('DescribeVpcs', 'filters', {
        'Filters': [
            {'Name': 'vpc-id', 'Values': ['vpc-0a1b2c3d4e5f67890', 'vpc-11111111111111111']},
            {'Name': 'tag:Name', 'Values': ['main']},
        ],
        'VpcIds': ['vpc-0a1b2c3d4e5f67890'],
        'MaxResults': 5,
        'NextToken': 'token-1',
    }),
    ('AuthorizeSecurityGroupIngress', 'permissions', {
        'GroupId': 'sg-0aaaaaaaaaaaaaaaa',
        'IpPermissions': [{
            'IpProtocol': 'tcp', 'FromPort': 22, 'ToPort': 22,
            'IpRanges': [{'CidrIp': '10.0.0.0/8', 'Description': 'ssh'}, {'CidrIp': '192.168.0.0/16'}],
            'Ipv6Ranges': [{'CidrIpv6': '::/0'}],
            'PrefixListIds': [{'PrefixListId': 'pl-12345678'}],
            'UserIdGroupPairs': [{'GroupId': 'sg-0bbbbbbbbbbbbbbbb', 'UserId': '111122223333', 'Description': 'peer'}],
        }, {
            'IpProtocol': '-1',
        }],
        'TagSpecifications': [{'ResourceType': 'security-group-rule', 'Tags': [{'Key': 'k', 'Value': 'v'}]}],
    }),
    ('CreateNetworkAclEntry', 'icmp', {
        'NetworkAclId': 'acl-0aaaaaaaaaaaaaaaa',
        'RuleNumber': 100,
        'Protocol': '1',
        'RuleAction': 'allow',
        'Egress': False,
        'CidrBlock': '0.0.0.0/0',
        'IcmpTypeCode': {'Code': -1, 'Type': 8},
        'PortRange': {'From': 80, 'To': 443},
    }),
    ('ModifyVpcAttribute', 'dnshostnames', {
        'VpcId': 'vpc-0a1b2c3d4e5f67890',
        'EnableDnsHostnames': {'Value': True},
    }),
    ('CreateVpcEndpoint', 'interface', {
        'VpcEndpointType': 'Interface',
        'VpcId': 'vpc-0a1b2c3d4e5f67890',
        'ServiceName': 'com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0',
        'SubnetIds': ['subnet-11111111111111111', 'subnet-22222222222222222'],
        'SecurityGroupIds': ['sg-0aaaaaaaaaaaaaaaa'],
        'PrivateDnsEnabled': False,
        'IpAddressType': 'ipv4',
        'DnsOptions': {'DnsRecordIpType': 'ipv4', 'PrivateDnsSpecifiedDomains': ['example.com']},
        'SubnetConfigurations': [{'SubnetId': 'subnet-11111111111111111', 'Ipv4': '10.0.1.5'}],
        'ClientToken': 'token-abc',
        'TagSpecifications': [{'ResourceType': 'vpc-endpoint', 'Tags': [{'Key': 'Name', 'Value': 'consumer-ep'}]}],
    }),
    ('RunInstances', 'eni', {
        'ImageId': 'ami-0123456789abcdef0',
        'MinCount': 1,
        'MaxCount': 2,
        'InstanceType': 't3.micro',
        'NetworkInterfaces': [{
            'DeviceIndex': 0,
            'SubnetId': 'subnet-11111111111111111',
            'Groups': ['sg-0aaaaaaaaaaaaaaaa'],
            'Ipv6Addresses': [{'Ipv6Address': '2001:db8::1'}],
            'PrivateIpAddresses': [{'PrivateIpAddress': '10.0.1.10', 'Primary': True}],
        }],
        'BlockDeviceMappings': [{'DeviceName': '/dev/xvda', 'Ebs': {'VolumeSize': 8, 'VolumeType': 'gp3'}}],
        'UserData': 'IyEvYmluL3NoCg==',
        'TagSpecifications': [{'ResourceType': 'instance', 'Tags': [{'Key': 'Name', 'Value': 'web'}]}],
    }),
    ('ModifyVpcEndpointServicePermissions', 'principals', {
        'ServiceId': 'vpce-svc-0123456789abcdef0',
        'AddAllowedPrincipals': ['arn:aws:iam::111122223333:root', '*'],
        'RemoveAllowedPrincipals': ['arn:aws:iam::444455556666:root'],
    }),
    ('CreateTags', 'resources', {
        'Resources': ['vpc-0a1b2c3d4e5f67890', 'subnet-11111111111111111'],
        'Tags': [{'Key': 'Name', 'Value': ''}],
    }),
    ('DescribeAccountAttributes', 'names', {
        'AttributeNames': ['supported-platforms', 'default-vpc'],
    }),
    ('CreateVpcEndpointConnectionNotification', 'events', {
        'ServiceId': 'vpce-svc-0123456789abcdef0',
        'ConnectionNotificationArn': 'arn:aws:sns:us-east-1:111122223333:topic',
        'ConnectionEvents': ['Accept', 'Reject'],
    }),
]

ELBV2_REQUESTS = [
    ('CreateLoadBalancer', 'network', {
        'Name': 'my-nlb',
        'Type': 'network',
        'Scheme': 'internal',
        'Subnets': ['subnet-11111111111111111', 'subnet-22222222222222222'],
        'SubnetMappings': [{'SubnetId': 'subnet-33333333333333333', 'PrivateIPv4Address': '10.0.3.10'}],
        'SecurityGroups': ['sg-0aaaaaaaaaaaaaaaa'],
        'IpAddressType': 'ipv4',
        'Tags': [{'Key': 'k', 'Value': 'v'}, {'Key': 'empty'}],
    }),
    ('ModifyTargetGroupAttributes', 'ppv2', {
        'TargetGroupArn': 'arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/tg/0123456789abcdef',
        'Attributes': [
            {'Key': 'proxy_protocol_v2.enabled', 'Value': 'true'},
            {'Key': 'deregistration_delay.timeout_seconds', 'Value': '30'},
        ],
    }),
    ('RegisterTargets', 'ips', {
        'TargetGroupArn': 'arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/tg/0123456789abcdef',
        'Targets': [
            {'Id': '10.0.1.10', 'Port': 8080},
            {'Id': '10.0.2.10', 'Port': 8081, 'AvailabilityZone': 'all'},
        ],
    }),
    ('DescribeLoadBalancers', 'emptynames', {
        'Names': [],
        'PageSize': 10,
    }),
    ('CreateListener', 'forward', {
        'LoadBalancerArn': 'arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/net/my-nlb/0123456789abcdef',
        'Protocol': 'TCP',
        'Port': 443,
        'DefaultActions': [{
            'Type': 'forward',
            'Order': 1,
            'ForwardConfig': {
                'TargetGroups': [{'TargetGroupArn': 'arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/tg/0123456789abcdef', 'Weight': 10}],
                'TargetGroupStickinessConfig': {'Enabled': False},
            },
        }, {
            'Type': 'authenticate-oidc',
            'Order': 2,
            'AuthenticateOidcConfig': {
                'Issuer': 'https://issuer', 'AuthorizationEndpoint': 'https://auth',
                'TokenEndpoint': 'https://token', 'UserInfoEndpoint': 'https://user',
                'ClientId': 'client',
                'SessionTimeout': 604800,
                'AuthenticationRequestExtraParams': {'prompt': 'login', 'display': 'page'},
            },
        }],
        'Tags': [{'Key': 'k', 'Value': 'v'}],
    }),
    ('CreateTargetGroup', 'ip', {
        'Name': 'tg',
        'Protocol': 'TCP',
        'Port': 8080,
        'VpcId': 'vpc-0a1b2c3d4e5f67890',
        'TargetType': 'ip',
        'HealthCheckEnabled': True,
        'HealthCheckIntervalSeconds': 10,
        'HealthCheckProtocol': 'HTTP',
        'HealthCheckPath': '/healthz',
        'Matcher': {'HttpCode': '200-399'},
    }),
    ('AddTags', 'two', {
        'ResourceArns': ['arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/net/my-nlb/0123456789abcdef'],
        'Tags': [{'Key': 'a', 'Value': '1'}, {'Key': 'b', 'Value': '2'}],
    }),
]


def plain(v):
    """Makes botocore's parsed values JSON-friendly (timestamps as AWS writes them)."""
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, datetime.datetime):
        v = v.astimezone(datetime.timezone.utc)
        return v.strftime('%Y-%m-%dT%H:%M:%S.') + '%03dZ' % (v.microsecond // 1000)
    if isinstance(v, bytes):
        return v.decode()
    return v


def write(path, data):
    with open(path, 'w') as f:
        json.dump(data, f, indent=2, sort_keys=True, ensure_ascii=False)
        f.write('\n')
    print('wrote', os.path.relpath(path, ROOT))


def main():
    session = botocore.session.get_session()
    for service, pkg, requests in (('ec2', 'ec2', EC2_REQUESTS), ('elbv2', 'elbv2', ELBV2_REQUESTS)):
        model = session.get_service_model(service)
        protocol = model.metadata['protocol']
        testdata = os.path.join(ROOT, 'internal', 'awsapi', pkg, 'testdata')
        os.makedirs(testdata, exist_ok=True)

        serializer = botocore.serialize.create_serializer(protocol, include_validation=True)
        vectors = []
        for op, variant, params in requests:
            body = serializer.serialize_to_request(params, model.operation_model(op))['body']
            # On the wire every value is text (botocore urlencodes ints with str()).
            body = {k: str(v) for k, v in body.items()}
            assert body.pop('Action') == op
            body.pop('Version')
            vectors.append({'name': op + '-' + variant, 'operation': op, 'input': params, 'params': body})
        write(os.path.join(testdata, 'botocore_requests.json'),
              {'botocore': botocore.__version__, 'protocol': protocol, 'vectors': vectors})

        parser = botocore.parsers.create_parser(protocol)
        golden = os.path.join(testdata, 'golden')
        parsed = {}
        for name in sorted(os.listdir(golden)) if os.path.isdir(golden) else []:
            if not name.endswith('.xml'):
                continue
            op = name[:-len('.xml')].split('-')[0]
            with open(os.path.join(golden, name), 'rb') as f:
                body = f.read()
            out = parser.parse({'body': body, 'headers': {}, 'status_code': 200},
                               model.operation_model(op).output_shape)
            meta = out.get('ResponseMetadata', {})
            out['ResponseMetadata'] = {'RequestId': meta.get('RequestId')}
            parsed[name] = plain(out)
        if not parsed:
            print('no golden responses in', os.path.relpath(golden, ROOT), file=sys.stderr)
        write(os.path.join(testdata, 'botocore_responses.json'),
              {'botocore': botocore.__version__, 'protocol': protocol, 'responses': parsed})


if __name__ == '__main__':
    main()
