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
- A market's settings: weight bands go up in weight, a method's code is
  used once, delivery takes `min` <= `max` days, amounts in BHD, JOD,
  KWD, OMR and TND are multiples of 10 and in MGA of 100, the currency is
  one the provider charges (not IQD or LYD), and the `default` market keeps
  its currency (`STORE_CURRENCY`, USD here) and lists no country: a
  generated body is made to fit before it is sent, where it has the shape
  to (a body generated to break the schema keeps its break).
- A product's explicit prices in BHD, JOD, KWD, OMR and TND are multiples
  of 10, in MGA of 100 (rounded down, one step at least).
- Manual exchange rates: the base currency (USD here) has none; a generated
  body naming it has it replaced by EUR's.
- An address follows its country's rules (shared/data/address-rules.json):
  a postal code where the country has a format becomes its example, a
  region one of the country's (one whose prefix fits that code), and a
  city, postal code or region the country requires is filled in, where
  the address has the shape to.
- Tax rates: a region named in `subdivisions` is one of the country's
  (its first in the address data, or the entry is dropped).
- Duty rules: the threshold is in the currency of the market that holds
  the country (read from `GET /markets`), in whole steps of it.
- An order, and a cart's `PATCH`, name no `shipping_method` (a code the
  market does not have is `400`; the markets the fuzzer makes have
  arbitrary ones); a cart's address is made to fit as an order's is.
- A promotion: limited to a market no test has (`fuzz-nowhere`), so that it
  changes no other test's prices on a stack that outlives the run (a
  `markets` generated to break the schema keeps its break); amounts and
  minimums in whole steps of their currency, and
  `ends_at` after `starts_at` (a valid generated date-time becomes a fixed
  start and a far end: the rule is the server's, tested apart).
- Cursors: only a `next_cursor` the server issued for the same listing is
  valid (it is HMAC-signed), so a generated cursor that fits the declared
  pattern is replaced by the last one the listing issued, or dropped. A
  cursor generated to break the pattern is sent as it is.
"""

import datetime
import json
import os
import re

import requests
import schemathesis
import stripe

ADMIN_OPERATIONS = [
    "createProduct",
    "updateProduct",
    "deleteProduct",
    "addShipmentEvent",
    "receiveReturn",
    "putMarket",
    "deleteMarket",
    "getFxRates",
    "putFxRates",
    "deleteFxRate",
    "listTaxRates",
    "putTaxRates",
    "listDutyRates",
    "putDutyRates",
    "createPromotion",
    "listPromotions",
    "getPromotion",
    "patchPromotion",
]
TENS = {"BHD", "JOD", "KWD", "OMR", "TND"}
# The smallest amount in minor units where it is not 1 (MGA: whole ariary).
STEPS = {**{code: 10 for code in TENS}, "MGA": 100}
# Currencies the payment provider does not charge: no market sells in them.
UNCHARGEABLE = {"IQD", "LYD"}
with open(os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "address-rules.json")) as _rules:
    ADDRESS_RULES = json.load(_rules)["countries"]
# The market fuzzed promotions are limited to: none has it, so that they
# change no other test's prices on a stack that outlives the run.
NOWHERE = "fuzz-nowhere"
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


def _number(value):
    """An integer, as the server reads one (`5` or `5.0`), or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if float(value).is_integer() else None


def _fit_market(case):
    """The rules of a market's settings that JSON Schema cannot state."""
    body = case.body
    code = body.get("currency") if isinstance(body.get("currency"), str) else None
    if code in UNCHARGEABLE:
        body["currency"] = code = "USD"
    step = STEPS.get(code, 1)
    if (case.path_parameters or {}).get("code") == "default":
        if isinstance(body.get("currency"), str):
            body["currency"] = "USD"
            step = 1
        if isinstance(body.get("countries"), list):
            body["countries"] = []
    methods = body.get("shipping_methods")
    if not isinstance(methods, list):
        return
    codes = set()
    kept = []
    for method in methods:
        if not isinstance(method, dict):
            kept.append(method)
            continue
        code = method.get("code")
        if isinstance(code, str):
            if code in codes:
                continue
            codes.add(code)
        rates = method.get("rates")
        if isinstance(rates, list) and all(
            isinstance(r, dict) and _number(r.get("max_weight_grams")) is not None for r in rates
        ):
            rates.sort(key=lambda r: r["max_weight_grams"])
            rising = []
            for rate in rates:
                if not rising or rate["max_weight_grams"] > rising[-1]["max_weight_grams"]:
                    rising.append(rate)
            method["rates"] = rising
            for rate in rising:
                if _number(rate.get("price")) is not None:
                    rate["price"] = int(rate["price"]) - int(rate["price"]) % step
        if _number(method.get("free_over")) is not None:
            method["free_over"] = int(method["free_over"]) - int(method["free_over"]) % step
        days = method.get("delivery_days")
        if isinstance(days, dict) and _number(days.get("min")) is not None and _number(days.get("max")) is not None:
            if days["min"] > days["max"]:
                days["min"], days["max"] = days["max"], days["min"]
        kept.append(method)
    body["shipping_methods"] = kept


def _fit_address(address):
    """An address made to fit its country's rules, where it has the shape."""
    if not isinstance(address, dict) or not isinstance(address.get("country"), str):
        return
    rules = ADDRESS_RULES.get(address["country"])
    if rules is None:
        return
    example = rules["postal_code_example"]
    if rules["postal_code"] and example:
        if isinstance(address.get("postal_code"), str) or "postal_code" in rules["required"]:
            address["postal_code"] = example
    regions = rules["regions"]
    if isinstance(address.get("region"), str) or "region" in rules["required"]:
        code = address.get("postal_code") if isinstance(address.get("postal_code"), str) else None
        fitting = [r for r, prefix in sorted(regions.items()) if not (prefix and code) or re.match(prefix, code.upper())]
        if fitting:
            address["region"] = fitting[0]
        elif regions:
            # No region holds the example (RU's): a region whose prefix is
            # digits, and a code of that prefix in the country's format.
            for region, prefix in sorted(regions.items()):
                candidate = (prefix or "").ljust(len(example or ""), "0")
                if prefix and prefix.isdigit() and re.fullmatch(rules["postal_code"] or ".*", candidate):
                    address["region"], address["postal_code"] = region, candidate
                    break
        else:
            address["region"] = f"{address['country']}-1"
    if "city" in rules["required"] and address.get("city") is None:
        address["city"] = "City"


def _fit_prices(body):
    """Explicit prices in the three-decimal currencies cards take in tens."""
    prices = body.get("prices")
    if not isinstance(prices, dict):
        return
    for code, price in prices.items():
        step = STEPS.get(code, 1) if isinstance(code, str) else 1
        if step > 1 and _number(price) is not None and price > 0:
            prices[code] = max(step, int(price) - int(price) % step)


def _fit_tax_rates(case):
    """Subdivisions of the country named in the path."""
    subdivisions = case.body.get("subdivisions")
    country = (case.path_parameters or {}).get("country")
    if not isinstance(subdivisions, dict) or not isinstance(country, str):
        return
    rules = ADDRESS_RULES.get(country)
    regions = sorted(rules["regions"]) if rules else []
    fitted = {}
    for region, rates in subdivisions.items():
        if not isinstance(region, str) or not re.fullmatch(r"[A-Z]{2}-[A-Z0-9]{1,3}", region):
            fitted[region] = rates
        elif region in regions or (rules and not regions and region.startswith(country + "-")):
            fitted[region] = rates
        elif regions:
            fitted.setdefault(regions[0], rates)
    case.body["subdivisions"] = fitted


def _market_currency(country):
    """The currency of the market that holds `country` now (the default's, USD, else)."""
    url = os.environ["SHOP_API_URL"].rstrip("/") + "/markets?limit=100"
    cursor = None
    while True:
        answer = requests.get(url + (f"&cursor={cursor}" if cursor else ""), timeout=10).json()
        for market in answer.get("items", []):
            if country in market.get("countries", []):
                return market.get("currency", "USD")
        cursor = answer.get("next_cursor")
        if not cursor:
            return "USD"


def _fit_duty_rates(case):
    """A threshold in the currency of the country's market, in its steps."""
    threshold = case.body.get("threshold")
    country = (case.path_parameters or {}).get("country")
    if not isinstance(threshold, dict) or not isinstance(country, str):
        return
    if not isinstance(threshold.get("currency"), str):
        return
    code = _market_currency(country)
    threshold["currency"] = code
    step = STEPS.get(code, 1)
    if _number(threshold.get("amount")) is not None and threshold["amount"] >= 0:
        threshold["amount"] = int(threshold["amount"]) - int(threshold["amount"]) % step


def _fit_amounts(amounts):
    """Amounts in the currencies cards take in tens (or hundreds), in their steps."""
    if not isinstance(amounts, dict):
        return
    for code, amount in amounts.items():
        step = STEPS.get(code, 1) if isinstance(code, str) else 1
        if step > 1 and _number(amount) is not None and amount >= 0:
            amounts[code] = int(amount) - int(amount) % step if amount >= step else (step if amount > 0 else 0)


def _fit_dates(body, fields):
    """Valid generated date-times: a fixed start, a far end (a broken one stays)."""
    for field, value in fields.items():
        text = body.get(field)
        if not isinstance(text, str):
            continue
        try:
            datetime.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            continue
        body[field] = value


def _fit_promotion(body):
    markets = body.get("markets")
    valid = isinstance(markets, list) and 0 < len(markets) <= 100 and all(
        isinstance(m, str) and re.fullmatch(r"[a-z0-9-]{1,20}", m) for m in markets
    )
    if markets is None or valid:
        body["markets"] = [NOWHERE]
    _fit_amounts(body.get("amounts"))
    _fit_amounts(body.get("min_subtotal"))
    _fit_dates(body, {"starts_at": "2026-01-01T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z"})


def _fit_rates(body):
    """The base currency's rate is 1 and cannot be set."""
    rates = body.get("rates")
    if isinstance(rates, dict) and "USD" in rates:
        rate = rates.pop("USD")
        rates.setdefault("EUR", rate)


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.operation.path == "/carrier/events":
        _sign(case, "carrier-signature", os.environ["CARRIER_WEBHOOK_SECRET"])
        return
    if case.operation.path == "/payments/webhook":
        _sign(case, "stripe-signature", os.environ["PAYMENT_WEBHOOK_SECRET"])
        return
    if case.operation.label == "PATCH /users/me" and isinstance(case.body, dict):
        _fit_address(case.body.get("address"))
        return
    if case.operation.label == "POST /orders" and isinstance(case.body, dict):
        case.body.pop("shipping_method", None)
        _fit_address(case.body.get("shipping_address"))
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
    if case.operation.label == "PATCH /cart" and isinstance(case.body, dict):
        case.body.pop("shipping_method", None)
        _fit_address(case.body.get("shipping_address"))
        return
    if case.operation.label == "PUT /markets/{code}" and isinstance(case.body, dict):
        _fit_market(case)
        return
    if case.operation.label in ("POST /products", "PATCH /products/{id}") and isinstance(case.body, dict):
        _fit_prices(case.body)
        return
    if case.operation.label == "PUT /fx-rates" and isinstance(case.body, dict):
        _fit_rates(case.body)
        return
    if case.operation.label == "PUT /tax-rates/{country}" and isinstance(case.body, dict):
        _fit_tax_rates(case)
        return
    if case.operation.label == "PUT /duty-rates/{country}" and isinstance(case.body, dict):
        _fit_duty_rates(case)
        return
    if case.operation.label == "POST /promotions" and isinstance(case.body, dict):
        _fit_promotion(case.body)
        return
    if case.operation.label == "PATCH /promotions/{id}" and isinstance(case.body, dict):
        _fit_dates(case.body, {"ends_at": "2099-01-01T00:00:00Z"})
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
