"""A scanhook receiver in Python for endpoints with the standard-ed25519 scheme.

It verifies the Ed25519 signature over the raw body with the endpoint's public key (no
secret: the receiver could not sign), answers 204 when the delivery is authentic and
fresh, 401 when not. Python's standard library has no Ed25519: this uses the
`cryptography` package.

    pip install cryptography
    WEBHOOK_PUBLIC_KEY=whpk_... PORT=3000 python3 receiver_ed25519.py
"""

import base64
import binascii
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

TOLERANCE_SECONDS = 5 * 60  # refuse replays of old deliveries


def public_key_of(text):
    """whpk_ + base64 of the raw 32-byte key."""
    if not text.startswith("whpk_"):
        raise ValueError("not a whpk_ public key")
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(text[len("whpk_"):], validate=True))


def verify(public_key, headers, body):
    """Returns None when the delivery verifies, else the reason it does not."""
    msg_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not msg_id or not timestamp or not signatures:
        return "missing webhook-id, webhook-timestamp or webhook-signature"
    if not (timestamp.isascii() and timestamp.isdigit()):
        return "webhook-timestamp is not unix seconds"
    skew = int(time.time()) - int(timestamp)
    if abs(skew) > TOLERANCE_SECONDS:
        return f"webhook-timestamp is {skew} s off, beyond the tolerance"

    signed = f"{msg_id}.{timestamp}.".encode() + body
    # During a key rotation there is one "v1a,<base64>" entry per key: any may match.
    for entry in signatures.split():
        version, _, value = entry.partition(",")
        if version != "v1a":
            continue
        try:
            public_key.verify(base64.b64decode(value, validate=True), signed)
            return None
        except (binascii.Error, InvalidSignature):
            continue
    return "no signature matches"


class Receiver(BaseHTTPRequestHandler):
    public_key = None

    def do_POST(self):
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            self.send_error(400, "bad Content-Length")
            return
        body = self.rfile.read(length)  # the bytes as they arrived, not parsed JSON
        problem = verify(self.public_key, self.headers, body)
        if problem:
            print(f"rejected: {problem}", file=sys.stderr, flush=True)
            self.send_response(401)
            self.end_headers()
            return
        event_type = self.headers.get("X-Scanhook-Event", "unknown")
        try:
            event_type = json.loads(body).get("type", event_type)
        except (ValueError, AttributeError):
            pass  # a template may send something other than a JSON object
        # Deliveries are at-least-once: a real receiver drops repeats of webhook-id here.
        print(f"verified {event_type} {self.headers['webhook-id']}", flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, format, *args):
        pass  # stdout carries only the verified events


def main():
    try:
        Receiver.public_key = public_key_of(os.environ.get("WEBHOOK_PUBLIC_KEY", ""))
    except ValueError:
        sys.exit("set WEBHOOK_PUBLIC_KEY to the endpoint's public key (whpk_..., from GET /v1/webhooks/{id})")
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "3000"))), Receiver)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
