"""A real SMTP server for the e-mail tests (aiosmtpd, Debian's python3-aiosmtpd).

    python3 tests/smtp_sink.py PORT OUT_DIR [starttls|smtps CERT_PEM KEY_PEM]

Listens on 127.0.0.1:PORT, prints "ready" once it accepts connections, and writes each message it
accepts to OUT_DIR as one JSON file, decoded by Python's own e-mail parser (an independent reader of
what the portal sends): envelope, headers, and the text and HTML parts. Recipients whose local part
starts with "reject" get a permanent 550, those starting with "later" a temporary 451.

With `starttls`, the server requires STARTTLS before any mail; with `smtps`, it speaks TLS from the
first byte (implicit TLS). Either way with the given certificate and key.
"""

import email
import email.policy
import json
import os
import ssl
import sys
import time
import uuid

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, out_dir):
        self.out_dir = out_dir

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local.startswith("reject"):
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        if local.startswith("later"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        text = message.get_body(("plain",))
        html = message.get_body(("html",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "subject": str(message["subject"]),
            "from": str(message["from"]),
            "to": str(message["to"]),
            "message_id": str(message["message-id"]),
            "headers": [[k, str(v)] for k, v in message.items()],
            "text": text.get_content() if text is not None else None,
            "html": html.get_content() if html is not None else None,
            "raw": raw.decode("utf-8", "replace"),
        }
        name = "%d-%s.json" % (time.time_ns(), uuid.uuid4().hex)
        tmp = os.path.join(self.out_dir, "." + name)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.replace(tmp, os.path.join(self.out_dir, name))
        return "250 2.0.0 Ok: queued as %s" % uuid.uuid4().hex[:12]


def main():
    port = int(sys.argv[1])
    out_dir = sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    options = {}
    if len(sys.argv) > 3:
        mode, cert, key = sys.argv[3:6]
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        if mode == "starttls":
            options = {"tls_context": context, "require_starttls": True}
        elif mode == "smtps":
            options = {"ssl_context": context}
        else:
            raise SystemExit("unknown mode %r" % mode)
    controller = Controller(Sink(out_dir), hostname="127.0.0.1", port=port, **options)
    controller.start()
    print("ready", flush=True)
    try:
        # Until the test kills us (or closes stdin).
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
