#!/usr/bin/env python3
"""A webhook receiver, as an operator's alerting endpoint would be. Test fixture.

  webhook_receiver.py PORT STATE_DIR

Every POST is appended to STATE_DIR/requests.jsonl as {"path", "headers" (lower-case names),
"body", "signature_ok"}: signature_ok checks X-Left4me-Signature the way a receiver should, with
Python's own HMAC: "sha256=" + hex(HMAC-SHA256(secret, "<X-Left4me-Timestamp>.<body>")), the
secret read from STATE_DIR/secret (null when that file is absent). The answer's status is the
number in STATE_DIR/status (200 when absent).
"""
import hashlib
import hmac
import http.server
import json
import os
import sys

PORT = int(sys.argv[1])
STATE = sys.argv[2]


def read(name):
    path = os.path.join(STATE, name)
    return open(path).read().strip() if os.path.exists(path) else None


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        secret = read("secret")
        signature_ok = None
        if secret is not None:
            signed = "%s.%s" % (self.headers.get("X-Left4me-Timestamp", ""), body)
            expected = "sha256=" + hmac.new(secret.encode(), signed.encode(),
                                            hashlib.sha256).hexdigest()
            signature_ok = hmac.compare_digest(expected,
                                               self.headers.get("X-Left4me-Signature", ""))
        record = {"path": self.path,
                  "headers": {k.lower(): v for k, v in self.headers.items()},
                  "body": body, "signature_ok": signature_ok}
        with open(os.path.join(STATE, "requests.jsonl"), "a") as log:
            log.write(json.dumps(record) + "\n")
        status = int(read("status") or "200")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"ok\n" if status < 300 else b"no\n")

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer.allow_reuse_address = True
server = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
print("Serving webhook receiver on", PORT, flush=True)
server.serve_forever()
