#!/usr/bin/env python3
"""Generate botocore_vectors.json: SigV4 requests signed by botocore.

The requests are the ones the AWS CLI v1 and boto3 send (both sign through
botocore): real client calls captured just before they go on the wire, plus
SigV4Auth / SigV4QueryAuth applied by hand to an AWSRequest and a
generate_presigned_url. botocore reads the clock through
botocore.auth.get_current_datetime, which is patched to a fixed instant so
that the output is deterministic; TestBotocoreVectors verifies the vectors
with the same instant as its clock.

Headers that are not signed (User-Agent, amz-sdk-invocation-id) are replaced
with fixed values: they vary by machine and run, and do not take part in the
signature.

    python3 internal/awsapi/testdata/gen_botocore_vectors.py \
        > internal/awsapi/testdata/botocore_vectors.json
"""

import datetime
import json
import sys
from urllib.parse import parse_qsl, urlsplit

import botocore
import botocore.auth
import botocore.session
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

NOW = datetime.datetime(2025, 1, 15, 10, 0, 0)
botocore.auth.get_current_datetime = lambda remove_tzinfo=True: NOW

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"
ENDPOINT = "http://127.0.0.1:8080"
HOST = "127.0.0.1:8080"


class Captured(Exception):
    pass


def signed_header_names(req):
    auth = req.headers.get("Authorization")
    if auth is not None:
        auth = auth.decode() if isinstance(auth, bytes) else auth
        sh = auth.split("SignedHeaders=")[1].split(",")[0]
    else:
        q = dict(parse_qsl(urlsplit(req.url).query, keep_blank_values=True))
        sh = q["X-Amz-SignedHeaders"]
    return set(sh.split(";"))


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def params_of(url, body):
    ps = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    if body:
        ps += parse_qsl(body, keep_blank_values=True)
    return {k: v for k, v in ps if k not in ("Action", "Version") and not k.lower().startswith("x-amz-")}


def vector(name, service, req, body=None):
    signed = signed_header_names(req)
    headers = []
    for k, v in req.headers.items():
        lk = k.lower()
        if lk not in signed:
            if lk == "user-agent":
                v = "Botocore/" + botocore.__version__
            elif lk == "amz-sdk-invocation-id":
                v = "00000000-0000-4000-8000-000000000000"
        headers.append([k, text(v)])
    if body is None:
        body = req.body
    body = text(body) if body else ""
    parts = urlsplit(req.url)
    return {
        "name": name,
        "service": service,
        "method": req.method,
        "target": parts.path + ("?" + parts.query if parts.query else ""),
        "host": HOST,
        "headers": headers,
        "body": body,
        "action": dict(parse_qsl(parts.query + "&" + body, keep_blank_values=True)).get("Action", ""),
        "params": params_of(req.url, body),
    }


def capture(service_model_name, signing_name, op, **kwargs):
    session = botocore.session.get_session()
    client = session.create_client(
        service_model_name, region_name=REGION, endpoint_url=ENDPOINT,
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
    out = {}

    def before_send(request, **_):
        out["req"] = request
        raise Captured()

    client.meta.events.register("before-send", before_send)
    try:
        getattr(client, op)(**kwargs)
    except Captured:
        pass
    return out["req"]


def presigned_url(service_model_name, op, params):
    session = botocore.session.get_session()
    client = session.create_client(
        service_model_name, region_name=REGION, endpoint_url=ENDPOINT,
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
    return client.generate_presigned_url(op, Params=params, ExpiresIn=900)


def main():
    creds = Credentials(ACCESS_KEY, SECRET_KEY)
    vs = []

    # The AWS CLI / boto3 client pipeline: POST, form body, header signature.
    req = capture("ec2", "ec2", "describe_vpc_endpoints",
                  VpcEndpointIds=["vpce-0123456789abcdef0"],
                  Filters=[{"Name": "vpc-id", "Values": ["vpc-1", "a b/c~d*e"]}])
    vs.append(vector("client_ec2_describe_vpc_endpoints", "ec2", req))

    req = capture("elbv2", "elasticloadbalancing", "describe_tags",
                  ResourceArns=["arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/net/nlb/0123456789abcdef"])
    vs.append(vector("client_elbv2_describe_tags", "elasticloadbalancing", req))

    req = capture("ec2", "ec2", "create_tags",
                  Resources=["vpc-0a1b2c3d4e5f67890"],
                  Tags=[{"Key": "Name", "Value": "ünïcode & spaces = yes+no %"}])
    vs.append(vector("client_ec2_create_tags_unicode", "ec2", req))

    # SigV4Auth by hand on a GET with the parameters in the query string.
    req = AWSRequest(method="GET",
                     url=ENDPOINT + "/?Action=DescribeVpcs&Version=2016-11-15&Filter.1.Name=tag%3AName&Filter.1.Value.1=a%20b&VpcId.1=vpc-1",
                     headers={"Host": HOST})
    SigV4Auth(creds, "ec2", REGION).add_auth(req)
    vs.append(vector("sigv4auth_ec2_get_query", "ec2", req.prepare()))

    # With a Date header botocore signs that instead of adding X-Amz-Date.
    req = AWSRequest(method="POST", url=ENDPOINT + "/",
                     data="Action=DescribeVpcs&Version=2016-11-15",
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                              "Date": "Mon, 01 Jan 2001 00:00:00 GMT", "Host": HOST})
    SigV4Auth(creds, "ec2", REGION).add_auth(req)
    vs.append(vector("sigv4auth_ec2_date_header", "ec2", req.prepare()))

    # SigV4QueryAuth: a presigned URL. botocore moves the body into the query.
    req = AWSRequest(method="POST", url=ENDPOINT + "/",
                     data={"Action": "DescribeVpcEndpointServices", "Version": "2016-11-15",
                           "ServiceName.1": "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"},
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4QueryAuth(creds, "ec2", REGION, expires=300).add_auth(req)
    vs.append(vector("sigv4queryauth_ec2_presigned", "ec2", req.prepare()))

    req = AWSRequest(method="GET",
                     url=ENDPOINT + "/?Action=DescribeLoadBalancers&Version=2015-12-01&Names.member.1=nlb",
                     headers={})
    SigV4QueryAuth(creds, "elasticloadbalancing", REGION, expires=3600).add_auth(req)
    vs.append(vector("sigv4queryauth_elbv2_presigned", "elasticloadbalancing", req.prepare()))

    # boto3's generate_presigned_url. botocore signs it as POST (the
    # serializer's method) but the URL is fetched with GET.
    url = presigned_url("ec2", "describe_vpcs", {"VpcIds": ["vpc-0a1b2c3d4e5f67890"]})
    req = AWSRequest(method="GET", url=url, headers={})
    vs.append(vector("generate_presigned_url_ec2", "ec2", req.prepare()))

    doc = {
        "generator": "gen_botocore_vectors.py",
        "botocore": botocore.__version__,
        "now": NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "access_key": ACCESS_KEY,
        "secret_key": SECRET_KEY,
        "vectors": vs,
    }
    json.dump(doc, sys.stdout, indent=2, ensure_ascii=False, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
