"""moto's server with every DynamoDB request applied one at a time.

moto serves each request on a thread of its own and does not isolate one
TransactWriteItems from another on the same item, so concurrent conditional
transactions can both pass their conditions (a lost update: measured, 5 of 60
30-way races oversold). Real DynamoDB is linearizable per item. This launcher
wraps moto's WSGI application in one lock that DynamoDB requests hold from
the moment moto reads them until their answer is built, which makes every
DynamoDB call atomic with respect to every other. SQS requests (whose long
polls would otherwise block everything) run concurrently as before.

Used by `make test EMULATOR=moto` and `make dev EMULATOR=moto`; the default
emulator, MiniStack, serialises DynamoDB on its own.

    python scripts/moto_serialised.py --host 127.0.0.1 --port 5055
"""

import argparse
import os
import threading

from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple

DYNAMODB_TARGET = "DynamoDB_"


class SerialisedDynamoDB:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith(DYNAMODB_TARGET):
            return self.app(environ, start_response)
        with self.lock:
            # The body is built inside the lock: moto may apply the request
            # lazily while its answer is iterated.
            body = list(self.app(environ, start_response))
        return body


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    # moto builds some URLs from MOTO_PORT, as its own launcher sets it.
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        args.host,
        args.port,
        SerialisedDynamoDB(app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
