"""A scanhook receiver in Python, standard library only.

It verifies the Standard Webhooks signature over the raw body, exactly as it arrived,
answers 204 when the delivery is authentic and fresh, 401 when not.

    WEBHOOK_SECRET=whsec_... PORT=3000 python3 receiver.py
"""

import base64
import binascii
import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 5 * 60  # refuse replays of old deliveries


def key_of(secret):
    """A whsec_ secret is keyed by its base64 part; any other secret by its UTF-8 bytes."""
    if secret.startswith("whsec_"):
        try:
            key = base64.b64decode(secret[len("whsec_"):], validate=True)
            if key:
                return key
        except binascii.Error:
            pass
    return secret.encode()


def verify(key, headers, body):
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
    expected = hmac.new(key, signed, hashlib.sha256).digest()
    # During a secret rotation there is one "v1,<base64>" entry per secret: any may match.
    for entry in signatures.split():
        version, _, value = entry.partition(",")
        if version != "v1":
            continue
        try:
            candidate = base64.b64decode(value, validate=True)
        except binascii.Error:
            continue
        if hmac.compare_digest(candidate, expected):
            return None
    return "no signature matches"


class Receiver(BaseHTTPRequestHandler):
    key = b""

    def do_POST(self):
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            self.send_error(400, "bad Content-Length")
            return
        body = self.rfile.read(length)
        problem = verify(self.key, self.headers, body)
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
    secret = os.environ.get("WEBHOOK_SECRET")
    if not secret:
        sys.exit("set WEBHOOK_SECRET to the endpoint's signing secret")
    Receiver.key = key_of(secret)
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "3000"))), Receiver)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
