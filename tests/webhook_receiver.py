"""A webhook receiver for the webhook tests, verifying signatures with the Standard Webhooks
reference library for Python (`standardwebhooks`), an implementation independent of the portal's.

    python3 tests/webhook_receiver.py PORT SECRET

Listens on 127.0.0.1:PORT and prints "ready" once it accepts connections. Each POST is verified
with `standardwebhooks.Webhook(SECRET).verify(body, headers)` and written as one JSON line to
standard output: the webhook-id, whether the signature verified (and why not), the status answered,
and the event. A verified event is answered 204, or 500 while failures are asked for; one that does
not verify is answered 400.

`POST /_fail?count=N` makes the next N verified deliveries answer 500 (the portal must retry them).
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

PORT = int(sys.argv[1])
WEBHOOK = Webhook(sys.argv[2])
LOCK = threading.Lock()
STATE = {"fail": 0}


def report(entry):
    with LOCK:
        sys.stdout.write(json.dumps(entry) + "\n")
        sys.stdout.flush()


class Receiver(BaseHTTPRequestHandler):
    def log_message(self, format, *args):
        pass

    def answer(self, status):
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        url = urlparse(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if url.path == "/_fail":
            with LOCK:
                STATE["fail"] = int(parse_qs(url.query)["count"][0])
            self.answer(204)
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        entry = {"path": url.path, "webhook_id": headers.get("webhook-id"), "timestamp": headers.get("webhook-timestamp")}
        try:
            entry["event"] = WEBHOOK.verify(body, headers)
            entry["verified"] = True
        except (WebhookVerificationError, ValueError) as error:
            entry["verified"] = False
            entry["error"] = str(error)
            entry["answered"] = 400
            report(entry)
            self.answer(400)
            return
        with LOCK:
            failing = STATE["fail"] > 0
            if failing:
                STATE["fail"] -= 1
        entry["answered"] = 500 if failing else 204
        report(entry)
        self.answer(entry["answered"])


server = ThreadingHTTPServer(("127.0.0.1", PORT), Receiver)
report({"ready": True})
server.serve_forever()
