"""Signs webhook bodies for the tests with Stripe's own library.

Reads one JSON object per line, {"secret", "payload", "timestamp" (optional,
Unix seconds; default now)}, and writes
the `Stripe-Signature` header that Stripe would send with that body, made
by `stripe.WebhookSignature.generate_signature_header` (the official
`stripe` package, pinned in scripts/requirements-tools.txt).
"""

import json
import sys

import stripe

for line in sys.stdin:
    ask = json.loads(line)
    header = stripe.WebhookSignature.generate_signature_header(
        ask["payload"], ask["secret"], ask.get("timestamp")
    )
    print(header, flush=True)
