"""The least-privilege report: per function, the AWS operations it performed
in a run (recorded by shared::adapters::calls under SHOP_RECORD_AWS_CALLS)
against the IAM actions template.yaml grants it.

    python scripts/least_privilege.py --calls DIR [--out FILE] [--min-exercised N]

Prints a Markdown table: function, operations performed, actions granted and
never performed, operations performed and not granted. The last column is
what would fail on AWS with AccessDenied: any entry there makes the exit
status 1. A function no run exercised is listed as such; what it never did
proves nothing about its grants.

Call files are named after the function as Lambda names it: the binary under
make test's gateway (`auth-login.calls`), the physical name in a deployed
stack (`shop-local-AuthLogin-1a2b3c.calls`); both are matched to the
template's functions.

Actions SAM adds for event sources (an SQS queue's polling, which Lambda
does, not the function's code) and for logs and tracing are not the code's
and are not listed.
"""

import argparse
import fnmatch
import os
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# SAM policy templates the template uses, as the actions they grant.
SAM_TEMPLATES = {
    "SQSSendMessagePolicy": ["sqs:SendMessage*"],
    "SQSPollerPolicy": ["sqs:ChangeMessageVisibility", "sqs:ChangeMessageVisibilityBatch",
                        "sqs:DeleteMessage", "sqs:DeleteMessageBatch", "sqs:GetQueueAttributes",
                        "sqs:ReceiveMessage"],
}


class Loader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags read as their plain values."""


def _tag(loader, _suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


Loader.add_multi_constructor("!", _tag)


def functions(template):
    """logical id -> (binary, granted actions)."""
    found = {}
    for logical, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        binary = resource.get("Metadata", {}).get("BuildProperties", {}).get("Binary", logical)
        granted = set()
        for policy in resource.get("Properties", {}).get("Policies", []) or []:
            if isinstance(policy, dict) and "Statement" in policy:
                for statement in policy["Statement"]:
                    if statement.get("Effect") == "Allow":
                        actions = statement.get("Action", [])
                        granted.update([actions] if isinstance(actions, str) else actions)
            elif isinstance(policy, dict):
                for name in policy:
                    granted.update(SAM_TEMPLATES.get(name, [f"<{name}>"]))
        found[logical] = (binary, granted)
    return found


def performed(calls_dir, logical, binary):
    """The operations recorded for one function, from any file of its name."""
    actions = set()
    for name in os.listdir(calls_dir) if os.path.isdir(calls_dir) else []:
        stem = name[: -len(".calls")] if name.endswith(".calls") else None
        if stem is None:
            continue
        # Local: the binary's name. Deployed: <stack>-<LogicalId>-<suffix>.
        if stem == binary or f"-{logical}-" in f"{stem}-":
            with open(os.path.join(calls_dir, name)) as f:
                actions.update(line.strip() for line in f if line.strip())
    return actions


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", required=True)
    parser.add_argument("--template", default=os.path.join(ROOT, "template.yaml"))
    parser.add_argument("--out")
    parser.add_argument("--min-exercised", type=int, default=0,
                        help="fail when fewer functions than this recorded anything (the recorder broke)")
    args = parser.parse_args()
    with open(args.template) as f:
        template = yaml.load(f, Loader=Loader)

    rows = []
    missing = 0
    for logical, (binary, granted) in sorted(functions(template).items(), key=lambda kv: kv[1][0]):
        done = performed(args.calls, logical, binary)
        unused = sorted(g for g in granted if not any(fnmatch.fnmatchcase(a, g) for a in done))
        denied = sorted(a for a in done if not any(fnmatch.fnmatchcase(a, g) for g in granted))
        missing += len(denied)
        if not done and granted:
            rows.append((binary, "not exercised", ", ".join(sorted(granted)), ""))
        else:
            rows.append((binary, ", ".join(sorted(done)) or "none", ", ".join(unused), ", ".join(denied)))

    lines = [
        "| function | AWS operations performed | granted, never performed | performed, NOT granted |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| {a} | {b} | {c or '-'} | {d or '-'} |" for a, b, c, d in rows]
    report = "\n".join(lines) + "\n"
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)
    print(report)
    exercised = sum(1 for row in rows if row[1] != "not exercised")
    print(f"least privilege: {exercised} of {len(rows)} functions exercised, "
          f"{missing} operation(s) performed without a grant", file=sys.stderr)
    if exercised < args.min_exercised:
        print(f"least privilege: only {exercised} functions recorded their operations "
              f"(at least {args.min_exercised} expected): is SHOP_RECORD_AWS_CALLS reaching them?",
              file=sys.stderr)
        sys.exit(1)
    sys.exit(1 if missing else 0)


if __name__ == "__main__":
    main()
