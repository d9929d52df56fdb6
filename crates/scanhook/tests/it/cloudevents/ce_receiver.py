"""A CloudEvents receiver built on the official SDK (the `cloudevents` package), for
tests/it/cloudevents.rs. It verifies the Standard Webhooks signature with the example
receiver's code (examples/receivers/python/receiver.py), parses each delivery with the
SDK in whichever mode it came (binary or structured), and prints one JSON line per event
with the attributes the SDK read. It consents to the abuse-protection handshake:
OPTIONS with WebHook-Request-Origin is answered with WebHook-Allowed-Origin.

    WEBHOOK_SECRET=whsec_... PORT=0 python ce_receiver.py
"""

import importlib.util
import json
import os
import pathlib
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cloudevents.core.bindings.http import HTTPMessage, from_http_event

# The example receiver's verifier, loaded by path (its module name would clash otherwise),
# from the workspace root: this file is crates/scanhook/tests/it/cloudevents/ce_receiver.py.
EXAMPLE = pathlib.Path(__file__).resolve().parents[5] / "examples/receivers/python/receiver.py"
spec = importlib.util.spec_from_file_location("scanhook_example_receiver", EXAMPLE)
example = importlib.util.module_from_spec(spec)
spec.loader.exec_module(example)


# Requests are served on threads: one line at a time, or two could interleave.
PRINTING = threading.Lock()


def say(line, stream=sys.stdout):
    with PRINTING:
        stream.write(line + "\n")
        stream.flush()


class Receiver(BaseHTTPRequestHandler):
    key = b""

    def do_OPTIONS(self):
        origin = self.headers.get("WebHook-Request-Origin")
        say(f"handshake from {origin}")
        self.send_response(200)
        if origin:
            self.send_header("WebHook-Allowed-Origin", origin)
            self.send_header("WebHook-Allowed-Rate", "*")
        self.send_header("Allow", "POST, OPTIONS")
        self.end_headers()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        problem = example.verify(self.key, self.headers, body)
        if problem:
            say(f"rejected: {problem}", sys.stderr)
            self.send_response(401)
            self.end_headers()
            return
        try:
            event = from_http_event(HTTPMessage(dict(self.headers.items()), body))
        except Exception as e:  # the SDK refused what was sent: the test shows why
            say(f"not a CloudEvent: {e!r}", sys.stderr)
            self.send_response(400)
            self.end_headers()
            return
        content_type = self.headers.get("Content-Type", "")
        line = {
            "mode": "structured" if content_type.startswith("application/cloudevents") else "binary",
            "content_type": content_type,
            "origin": self.headers.get("WebHook-Request-Origin"),
            "specversion": event.get_specversion(),
            "id": event.get_id(),
            "source": event.get_source(),
            "type": event.get_type(),
            "subject": event.get_subject(),
            "time": event.get_time().isoformat() if event.get_time() else None,
            "datacontenttype": event.get_datacontenttype(),
            "data": event.get_data(),
        }
        say("event " + json.dumps(line))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format, *args):
        pass  # stdout carries only the events


def main():
    Receiver.key = example.key_of(os.environ["WEBHOOK_SECRET"])
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "0"))), Receiver)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
