#!/usr/bin/env python3
"""The ECB's euro reference-rates file for a locally deployed stack.

Serves tests/fixtures/ecb/eurofxref-daily.xml, dated the day it is asked
(as the ECB's daily file is), on 127.0.0.1 at any path, until killed.
`make test-deployed` runs it so that the deployed fx-refresh (whose
FxRatesUrl `make deploy-local` points here) reads rates as it would from
the ECB; the local gateway serves the same file for `make dev` and
`make test` (tools/gateway/src/ecb.rs).

    python3 scripts/ecb_stub.py --port 8788
"""

import argparse
import datetime
import http.server
import os
import re

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "ecb", "eurofxref-daily.xml")


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
        with open(FIXTURE, encoding="utf-8") as fixture:
            body = re.sub(r'time="\d{4}-\d{2}-\d{2}"', f'time="{today}"', fixture.read(), count=1).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8788)
    port = parser.parse_args().port
    http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
