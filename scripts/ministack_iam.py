"""MiniStack with IAM enforced (AUTH=true) and one gap filled: Parameter
Store's GetParameters authorised per parameter, as AWS does.

AWS checks `ssm:GetParameters` against the ARN of every parameter named in
`Names`, so a policy granting a function its own parameters' ARNs lets it
read exactly those in one call. MiniStack 1.5.33 resolves an SSM request's
resource from `Name` only; for `Names` it checks the action on `*`, which no
least-privilege policy grants, and refuses every such call. This launcher
gives MiniStack the per-parameter check before starting it unchanged
otherwise: the resource of a GetParameters call is each named parameter's
ARN in turn, and the first refusal is the answer. Nothing is granted that
AWS would refuse.

Used by `make deploy-local` in place of the `ministack` command; it reads
the same environment (AUTH, GATEWAY_PORT, ...).
"""

import contextvars
import json

from ministack.app import main
from ministack.core import iam_actions, iam_evaluator

_names = contextvars.ContextVar("shop_get_parameters_names", default=None)
_extract = iam_actions.extract_resource_arn
_enforce = iam_evaluator.enforce


def _get_parameters_names(service, headers, body):
    if service != "ssm":
        return None
    target = next((v for k, v in headers.items() if k.lower() == "x-amz-target"), "")
    if not target.endswith(".GetParameters"):
        return None
    try:
        names = json.loads(body or b"{}").get("Names")
    except (ValueError, AttributeError):
        return None
    return [n for n in names if isinstance(n, str) and n] if isinstance(names, list) else None


def extract_resource_arn(service, method, path, headers, body, query_params, region, account_id):
    names = _get_parameters_names(service, headers, body)
    _names.set(
        [f"arn:aws:ssm:{region}:{account_id}:parameter{n if n.startswith('/') else '/' + n}" for n in names]
        if names else None
    )
    return _extract(service, method, path, headers, body, query_params, region, account_id)


def enforce(access_key, action, service, region, *args, **kwargs):
    arns = _names.get()
    if action != "ssm:GetParameters" or not arns:
        return _enforce(access_key, action, service, region, *args, **kwargs)
    _names.set(None)
    for arn in arns:
        denied = _enforce(access_key, action, service, region, *args, **{**kwargs, "resource_arn": arn})
        if denied:
            return denied
    return None


iam_actions.extract_resource_arn = extract_resource_arn
iam_evaluator.enforce = enforce

if __name__ == "__main__":
    main()
