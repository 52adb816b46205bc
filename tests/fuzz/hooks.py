"""Schemathesis hooks for fuzzing the shop from openapi.yaml (scripts/fuzz.sh).

What JSON Schema cannot say about the API, said here so that the fuzzer
reaches past it:

- Authentication: admin operations carry the admin's token, every other
  operation the customer's (`SHOP_FUZZ_ADMIN_TOKEN`, `SHOP_FUZZ_CUSTOMER_TOKEN`,
  made by scripts/fuzz.sh). Schemathesis still sends requests without a
  token or with a broken one to check that they are refused.
- The payment webhook: a generated request that carries a
  `Stripe-Signature` header gets a valid signature over the exact bytes
  sent, made by Stripe's own library with `PAYMENT_WEBHOOK_SECRET`, so the
  generated events reach the parser. A request generated without the
  header keeps it missing.
- The carrier's webhook: a `Carrier-Signature` header gets a valid
  signature under `CARRIER_WEBHOOK_SECRET`, the same scheme.
- An order names a product at most once (JSON Schema's `uniqueItems`
  compares whole lines, not their `product_id`): repeated lines are
  dropped before the request is sent.
- Cursors: only a `next_cursor` the server issued for the same listing is
  valid (it is HMAC-signed), so a generated cursor that fits the declared
  pattern is replaced by the last one the listing issued, or dropped. A
  cursor generated to break the pattern is sent as it is.
"""

import json
import os
import re

import schemathesis
import stripe

ADMIN_OPERATIONS = [
    "createProduct",
    "updateProduct",
    "deleteProduct",
    "addShipmentEvent",
    "receiveReturn",
]
CURSOR = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")


class _Bearer:
    variable = ""

    def get(self, case, context):
        return os.environ[self.variable]

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


# The tokens live an hour, longer than any run; nothing to refresh, and a
# 401 (a wrong current password, say) is an answer, not an expired token.
@schemathesis.auth(refresh_interval=None).apply_to(operation_id=ADMIN_OPERATIONS)
class Admin(_Bearer):
    variable = "SHOP_FUZZ_ADMIN_TOKEN"


@schemathesis.auth(refresh_interval=None).skip_for(operation_id=ADMIN_OPERATIONS)
class Customer(_Bearer):
    variable = "SHOP_FUZZ_CUSTOMER_TOKEN"


def _listing(case):
    """Which listing a cursor belongs to: the operation, its path and its filter."""
    query = case.query or {}
    return (case.operation.label, json.dumps(case.path_parameters or {}, sort_keys=True), str(query.get("category")))


_issued = set()
_latest = {}


def _sent_bytes(case):
    """The body as `requests` will send it (its `json=` encoding)."""
    body = case.body
    if isinstance(body, bytes):
        return body
    if isinstance(body, str) and not (case.media_type or "").endswith("json"):
        return body.encode()
    return json.dumps(body, allow_nan=False).encode()


def _sign(case, header, secret):
    """A generated request that carries `header` gets a valid signature over
    the exact bytes sent (Stripe's scheme, which the carrier shares); one
    generated without the header keeps it missing."""
    headers = case.headers or {}
    name = next((k for k in headers if k.lower() == header), None)
    if name is None:
        return
    try:
        payload = _sent_bytes(case).decode()
    except (TypeError, ValueError):
        return
    headers[name] = stripe.WebhookSignature.generate_signature_header(payload, secret)
    case.headers = headers


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.operation.path == "/carrier/events":
        _sign(case, "carrier-signature", os.environ["CARRIER_WEBHOOK_SECRET"])
        return
    if case.operation.path == "/payments/webhook":
        _sign(case, "stripe-signature", os.environ["PAYMENT_WEBHOOK_SECRET"])
        return
    if case.operation.label == "POST /orders" and isinstance(case.body, dict):
        items = case.body.get("items")
        if isinstance(items, list):
            seen = set()
            unique = []
            for item in items:
                product = item.get("product_id") if isinstance(item, dict) else None
                if isinstance(product, str):
                    if product.lower() in seen:
                        continue
                    seen.add(product.lower())
                unique.append(item)
            if len(unique) != len(items):
                case.body["items"] = unique
        return
    query = case.query
    if query and isinstance(query.get("cursor"), str):
        cursor = query["cursor"]
        if cursor in _issued or not CURSOR.match(cursor):
            return
        issued = _latest.get(_listing(case))
        if issued is None:
            del query["cursor"]
        else:
            query["cursor"] = issued


@schemathesis.hook
def after_call(context, case, response):
    if response.status_code != 200 or not case.operation.label.startswith("GET "):
        return
    try:
        cursor = json.loads(response.content).get("next_cursor")
    except (ValueError, AttributeError):
        return
    if isinstance(cursor, str):
        _issued.add(cursor)
        _latest[_listing(case)] = cursor
