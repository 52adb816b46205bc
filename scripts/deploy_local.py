"""The steps of `make deploy-local` around `sam deploy` (scripts/deploy-local.sh).

    secrets       the stack's SecureString parameters, from local.env
    after-deploy  what a LocalStack-compatible emulator leaves out, then the
                  test environment (.local/deploy/env) and the API's URL
    iam-proof     shows IAM enforced: one action out of one function's
                  policy makes its call AccessDenied, naming it (make
                  test-deployed)

MiniStack's CloudFormation creates the HTTP API but ignores the OpenAPI
`Body` the SAM transform gives it, so the API has no routes; and it ignores
`TimeToLiveSpecification`. Both are applied here from the processed template
through the service APIs, idempotently: on an emulator (or a LocalStack)
that did apply them, nothing changes.

Runs with the SAM CLI's Python (boto3), which honours AWS_ENDPOINT_URL.
"""

import argparse
import json
import os
import re
import sys

import boto3
from botocore.exceptions import ClientError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRETS = {
    "jwt-secret": "JWT_SECRET",
    "cursor-secret": "CURSOR_SECRET",
    "account-token-secret": "ACCOUNT_TOKEN_SECRET",
    "payment-webhook-secret": "PAYMENT_WEBHOOK_SECRET",
    "carrier-webhook-secret": "CARRIER_WEBHOOK_SECRET",
    # The sandbox provider never uses it; the functions still read it.
    "stripe-api-key": None,
}


def local_env():
    values = {}
    with open(os.path.join(ROOT, "local.env")) as f:
        for line in f:
            key, sep, value = line.strip().partition("=")
            if sep and re.fullmatch(r"[A-Z_][A-Z0-9_]*", key):
                values[key] = value
    return values


def secrets(stack):
    env = local_env()
    ssm = boto3.client("ssm")
    for name, variable in SECRETS.items():
        value = env[variable] if variable else "sk_test_sandbox_unused"
        ssm.put_parameter(Name=f"/{stack}/{name}", Value=value, Type="SecureString", Overwrite=True)
    # The sender, verified in SES as an operator does before the first
    # deploy (docs/operations.md, "Email and events"): the template's
    # EmailFrom default.
    ses = boto3.client("sesv2")
    try:
        ses.create_email_identity(EmailIdentity="shop@example.com")
    except ClientError as e:
        if e.response["Error"]["Code"] != "AlreadyExistsException":
            raise


def processed_template(cfn, stack):
    body = cfn.get_template(StackName=stack, TemplateStage="Processed")["TemplateBody"]
    return body if isinstance(body, dict) else json.loads(body)


def add_routes(stack, template, physical):
    """Routes and integrations from the HttpApi's OpenAPI body; returns the API id."""
    api = boto3.client("apigatewayv2")
    lam = boto3.client("lambda")
    apis = [(name, r) for name, r in template["Resources"].items() if r["Type"] == "AWS::ApiGatewayV2::Api"]
    if len(apis) != 1:
        sys.exit(f"expected one AWS::ApiGatewayV2::Api in the processed template, found {len(apis)}")
    logical, resource = apis[0]
    api_id = physical[logical]
    existing = {r["RouteKey"] for r in api.get_routes(ApiId=api_id, MaxResults="500")["Items"]}
    added = 0
    for path, operations in resource["Properties"]["Body"]["paths"].items():
        for method, operation in operations.items():
            integration = operation.get("x-amazon-apigateway-integration")
            if not integration:
                continue
            if path == "$default":
                key = "$default"
            elif method == "x-amazon-apigateway-any-method":
                key = f"ANY {path}"
            else:
                key = f"{method.upper()} {path}"
            if key in existing:
                continue
            uri = integration["uri"]
            uri = uri.get("Fn::Sub", uri) if isinstance(uri, dict) else uri
            function = re.search(r"\$\{(\w+)\.Arn\}", json.dumps(uri)).group(1)
            arn = lam.get_function(FunctionName=physical[function])["Configuration"]["FunctionArn"]
            created = api.create_integration(
                ApiId=api_id,
                IntegrationType="AWS_PROXY",
                IntegrationUri=arn,
                PayloadFormatVersion=integration.get("payloadFormatVersion", "2.0"),
            )
            api.create_route(ApiId=api_id, RouteKey=key, Target=f"integrations/{created['IntegrationId']}")
            added += 1
    if not any(s["StageName"] == "$default" for s in api.get_stages(ApiId=api_id)["Items"]):
        api.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    print(f"routes: {added} added, {len(existing)} already there", file=sys.stderr)
    return api_id


def enable_ttl(template, physical):
    dynamodb = boto3.client("dynamodb")
    for logical, resource in template["Resources"].items():
        spec = resource.get("Properties", {}).get("TimeToLiveSpecification")
        if resource["Type"] != "AWS::DynamoDB::Table" or not spec or not spec.get("Enabled"):
            continue
        table = physical[logical]
        status = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        if status.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
            continue
        dynamodb.update_time_to_live(
            TableName=table,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": spec["AttributeName"]},
        )


def after_deploy(stack, env_file):
    cfn = boto3.client("cloudformation")
    template = processed_template(cfn, stack)
    resources = cfn.describe_stack_resources(StackName=stack)["StackResources"]
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}
    outputs = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]}
    api_id = add_routes(stack, template, physical)
    enable_ttl(template, physical)

    endpoint = os.environ["AWS_ENDPOINT_URL"].rstrip("/")
    # The schedules the end-to-end tests run by hand (expiry, hand-offs,
    # the exchange-rate refresh from scripts/ecb_stub.py).
    scheduled = [
        physical[name]
        for name, r in template["Resources"].items()
        if r["Type"] == "AWS::Lambda::Function"
        and any(
            e.get("Type") == "AWS::Events::Rule" and any(t.get("Arn", {}) == {"Fn::GetAtt": [name, "Arn"]} for t in e["Properties"].get("Targets", []))
            for e in template["Resources"].values()
        )
    ]
    local = local_env()
    env = {
        "SHOP_API_URL": f"{endpoint}/_aws/execute-api/{api_id}",
        "SHOP_SCHEDULED_FUNCTIONS": ",".join(sorted(scheduled)),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": os.environ["AWS_REGION"],
        "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"],
        "TABLE_NAME": outputs["TableName"],
        "SHIPPING_QUEUE_URL": outputs["ShippingQueueUrl"],
        "REFUNDS_QUEUE_URL": outputs["RefundsQueueUrl"],
        "JWT_SECRET": local["JWT_SECRET"],
        "CURSOR_SECRET": local["CURSOR_SECRET"],
        "PAYMENT_WEBHOOK_SECRET": local["PAYMENT_WEBHOOK_SECRET"],
        "CARRIER_WEBHOOK_SECRET": local["CARRIER_WEBHOOK_SECRET"],
        "PAYMENT_PROVIDER": "sandbox",
        # What scripts/deploy-local.sh deployed with, for the tests' waits.
        "ORDER_TTL_SECONDS": "60",
        "QUEUE_VISIBILITY_TIMEOUT_SECONDS": "20",
        "SHIPPING_DELAY_SECONDS": "3",
    }
    calls = os.path.join(ROOT, ".local", "deploy", "aws-calls")
    if os.path.isdir(calls):
        env["SHOP_RECORD_AWS_CALLS"] = calls
    with open(env_file, "w") as f:
        f.write("# Written by make deploy-local: the deployed stack, for the end-to-end tests.\n")
        for key, value in env.items():
            f.write(f"{key}={value}\n")
    print(f"API: {env['SHOP_API_URL']}")
    print(f"table {env['TABLE_NAME']}; scheduled functions {env['SHOP_SCHEDULED_FUNCTIONS']}; test environment in {os.path.relpath(env_file, ROOT)}")


def api_call(base, method, path, body=None, token=None):
    """One request to the deployed API: (status, JSON body or None)."""
    import urllib.error
    import urllib.request

    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            text = response.read()
            return response.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as error:
        text = error.read()
        return error.code, (json.loads(text) if text else None)


def iam_proof(stack):
    """IAM is enforced, shown by making it fail: takes dynamodb:DeleteItem
    (a right current password clears the address's login attempts) out of
    users-change-password's policy, invokes the function with a real
    password change, expects a 500 whose log names the function and the
    denied action, puts the action back and expects the change to work."""
    import base64
    import uuid

    cfn = boto3.client("cloudformation")
    lam = boto3.client("lambda")
    iam = boto3.client("iam")
    resources = cfn.describe_stack_resources(StackName=stack)["StackResources"]
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}
    function = physical["UsersChangePassword"]
    role = lam.get_function(FunctionName=function)["Configuration"]["Role"].rsplit("/", 1)[-1]
    policies = {
        name: iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]
    }
    if isinstance(next(iter(policies.values()), None), str):
        policies = {name: json.loads(doc) for name, doc in policies.items()}
    action = "dynamodb:DeleteItem"
    holder = next(
        (name for name, doc in policies.items()
         if any(action in (st.get("Action") if isinstance(st.get("Action"), list) else [st.get("Action")])
                for st in doc["Statement"])),
        None,
    )
    if holder is None:
        sys.exit(f"iam-proof: no inline policy of {role} grants {action}")

    base = None
    with open(os.path.join(ROOT, ".local", "deploy", "env")) as f:
        for line in f:
            if line.startswith("SHOP_API_URL="):
                base = line.strip().split("=", 1)[1]
    email = f"iam-proof-{uuid.uuid4().hex}@example.com"
    status, _ = api_call(base, "POST", "/auth/register",
                         {"email": email, "password": "correct horse battery", "name": "IAM"})
    assert status == 202, f"register: {status}"
    status, session = api_call(base, "POST", "/auth/login", {"email": email, "password": "correct horse battery"})
    assert status == 200, f"login: {status}"
    with open(os.path.join(ROOT, "events", "users-change-password.json")) as f:
        event = json.load(f)
    event["headers"]["authorization"] = f"Bearer {session['access_token']}"

    def change(current, new):
        event["body"] = json.dumps({"current_password": current, "new_password": new})
        answer = lam.invoke(FunctionName=function, Payload=json.dumps(event).encode(), LogType="Tail")
        payload = json.loads(answer["Payload"].read() or b"{}")
        log = base64.b64decode(answer.get("LogResult", "")).decode(errors="replace")
        return payload.get("statusCode"), log

    original = policies[holder]
    stripped = json.loads(json.dumps(original))
    for statement in stripped["Statement"]:
        actions = statement.get("Action")
        if isinstance(actions, list) and action in actions:
            statement["Action"] = [a for a in actions if a != action]
    iam.put_role_policy(RoleName=role, PolicyName=holder, PolicyDocument=json.dumps(stripped))
    try:
        status, log = change("correct horse battery", "a password without delete")
        print(f"iam-proof: without {action}, {function} answered {status}", file=sys.stderr)
        denied = [line for line in log.splitlines() if "AccessDenied" in line or "not authorized" in line]
        for line in denied[:3]:
            print(f"iam-proof:   {line.strip()[:400]}", file=sys.stderr)
        if status != 500:
            sys.exit(f"iam-proof: expected a 500 without {action}, got {status}: IAM is not enforced")
        if not any(action in line and function in line for line in denied):
            sys.exit(f"iam-proof: the log does not show {action} denied to {function}:\n{log[-2000:]}")
    finally:
        iam.put_role_policy(RoleName=role, PolicyName=holder, PolicyDocument=json.dumps(original))
    status, log = change("correct horse battery", "a password with delete back")
    if status != 204:
        sys.exit(f"iam-proof: with {action} back, {function} answered {status}:\n{log[-2000:]}")
    print(f"iam-proof: with {action} back, {function} answered 204: IAM is enforced, per function", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("step", choices=["secrets", "after-deploy", "iam-proof"])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--env")
    args = parser.parse_args()
    try:
        if args.step == "secrets":
            secrets(args.stack)
        elif args.step == "iam-proof":
            iam_proof(args.stack)
        else:
            after_deploy(args.stack, args.env)
    except ClientError as e:
        sys.exit(f"{args.step}: {e}")


if __name__ == "__main__":
    main()
